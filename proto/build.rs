fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A vendored protoc keeps a fresh machine free of system packages for the build;
    // an explicit PROTOC still wins.
    let mut config = tonic_prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    tonic_prost_build::configure().build_server(true).build_client(true).compile_with_config(
        config,
        &[
            "enneo/ticket/v1/ticket.proto",
            "enneo/agent/v1/agent.proto",
            "enneo/settings/v1/settings.proto",
            "enneo/quality/v1/quality.proto",
            "enneo/status/v1/status.proto",
        ],
        &["."],
    )?;
    println!("cargo:rerun-if-changed=enneo");
    Ok(())
}
