fn main() -> anyhow::Result<()> {
    enneo_common::service::main_with(agent_svc::SPEC, &agent_svc::MIGRATOR, agent_svc::run)
}
