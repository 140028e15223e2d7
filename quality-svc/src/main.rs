fn main() -> anyhow::Result<()> {
    enneo_common::service::main(quality_svc::SPEC, &quality_svc::MIGRATOR, quality_svc::run)
}
