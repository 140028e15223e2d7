fn main() -> anyhow::Result<()> {
    enneo_common::service::main_with(quality_svc::SPEC, &quality_svc::MIGRATOR, quality_svc::run)
}
