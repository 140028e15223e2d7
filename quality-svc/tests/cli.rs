//! The command line as launchers call it: deploy/run.sh passes `ENNEO_CONFIG=` (empty) when it
//! has no configuration file for the binary, and the file's path otherwise.

use std::process::Command;

fn config_with(env_config: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quality-svc"))
        .arg("config")
        .env_clear()
        .env("ENNEO_CONFIG", env_config)
        .env("QUALITY_RUNS_CONCURRENCY", "3")
        .output()
        .expect("quality-svc runs")
}

#[test]
fn an_empty_enneo_config_means_no_file() {
    let out = config_with("");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("concurrency = 3"), "the environment still applies: {text}");
}

#[test]
fn enneo_config_names_the_file_and_the_environment_overrides_it() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/config/quality-svc.toml");
    let out = config_with(example);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("grpc_addr = \"127.0.0.1:50053\""), "{text}");
    assert!(text.contains("concurrency = 3"), "{text}");
    let missing = config_with("/nonexistent/quality-svc.toml");
    assert!(!missing.status.success(), "a named file that is missing is an error");
}
