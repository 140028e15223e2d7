fn main() -> anyhow::Result<()> {
    enneo_common::service::main(agent_svc::SPEC, &agent_svc::MIGRATOR, agent_svc::run)
}
