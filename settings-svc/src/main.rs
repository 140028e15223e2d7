fn main() -> anyhow::Result<()> {
    enneo_common::service::main_with(settings_svc::SPEC, &settings_svc::MIGRATOR, settings_svc::run)
}
