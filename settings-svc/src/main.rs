fn main() -> anyhow::Result<()> {
    enneo_common::service::main(settings_svc::SPEC, &settings_svc::MIGRATOR, settings_svc::run)
}
