fn main() -> anyhow::Result<()> {
    enneo_common::service::main(ticket_svc::SPEC, &ticket_svc::MIGRATOR, ticket_svc::run)
}
