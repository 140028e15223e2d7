fn main() -> anyhow::Result<()> {
    enneo_common::service::main_with(ticket_svc::SPEC, &ticket_svc::MIGRATOR, ticket_svc::run)
}
