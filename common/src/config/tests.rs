use std::path::PathBuf;

use secrecy::ExposeSecret as _;

use super::*;

const SPEC: ServiceSpec =
    ServiceSpec { name: "test-svc", env_prefix: "TICKET", schema: "ticket", default_grpc_port: 1 };

/// A TOML file that lives as long as the test.
struct TempToml(PathBuf);

impl TempToml {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "enneo-config-{}-{name}-{}.toml",
            std::process::id(),
            line!()
        ));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for TempToml {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn load(file: Option<&TempToml>, vars: &[(&str, &str)]) -> Result<ServiceConfig, ConfigError> {
    let mut layers = Layers::new("TICKET", file.map(|f| f.0.as_path()), env(vars))?;
    let config = layers.section(ServiceConfig::defaults(&SPEC))?;
    layers.finish()?;
    Ok(config)
}

#[test]
fn defaults_then_file_then_environment() {
    let file = TempToml::new(
        "layers",
        r#"
grpc_addr = "0.0.0.0:6000"
[database]
max_connections = 20
url = "postgres://from-file/enneo"
[amqp]
prefix = "file."
[telemetry]
log = "debug"
"#,
    );
    let config = load(
        Some(&file),
        &[
            ("TICKET_DATABASE_MAX_CONNECTIONS", "30"),
            ("TICKET_AMQP_PREFIX", ""),
            ("RUST_LOG", "warn"),
            ("TICKET_TELEMETRY_LOG_FORMAT", "JSON"),
            ("LOG_FORMAT", "pretty"),
            ("UNRELATED_DATABASE_URL", "postgres://elsewhere/x"),
        ],
    )
    .unwrap();
    // The file over the defaults…
    assert_eq!(config.grpc_addr.to_string(), "0.0.0.0:6000");
    assert_eq!(config.database.url.expose_secret(), "postgres://from-file/enneo");
    // …an empty variable leaves the file's value…
    assert_eq!(config.amqp.prefix, "file.");
    // …and the environment over the file, the prefixed name over the conventional one.
    assert_eq!(config.database.max_connections.get(), 30);
    assert_eq!(config.telemetry.log, "warn");
    assert_eq!(config.telemetry.log_format, LogFormat::Json);
    // Untouched keys keep their defaults.
    assert_eq!(config.amqp.url.expose_secret(), DEFAULT_AMQP_URL);
    assert_eq!(config.amqp.queue_expires_ms, None);
}

#[test]
fn a_bad_value_names_its_variable_or_key() {
    let message = |vars: &[(&str, &str)]| load(None, vars).unwrap_err().to_string();
    assert_eq!(
        message(&[("TICKET_DATABASE_MAX_CONNECTIONS", "0")]),
        "TICKET_DATABASE_MAX_CONNECTIONS: expected a positive integer, found unsigned int `0`"
    );
    assert!(
        message(&[("TICKET_DATABASE_MAX_CONNECTIONS", "ten")])
            .starts_with("TICKET_DATABASE_MAX_CONNECTIONS: expected a positive integer"),
    );
    assert!(message(&[("TICKET_GRPC_ADDR", "nowhere")]).starts_with("TICKET_GRPC_ADDR: "));
    assert_eq!(
        message(&[("LOG_FORMAT", "xml")]),
        r#"LOG_FORMAT: expected pretty or json, found "xml""#
    );
    assert!(message(&[("RUST_LOG", "info,=[")]).starts_with("RUST_LOG: not a log filter"));

    let file = TempToml::new("bad", "[database]\nmax_connections = -1\n");
    let message = load(Some(&file), &[]).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("database.max_connections in {}: ", file.0.display())),
        "{message}"
    );
}

#[test]
fn an_unknown_key_in_the_file_is_refused() {
    let file = TempToml::new("unknown", "[database]\nmax_conections = 5\n");
    let message = load(Some(&file), &[]).unwrap_err().to_string();
    assert!(message.ends_with("unknown key(s) database.max_conections"), "{message}");
}

#[test]
fn a_missing_file_is_refused() {
    let missing = std::env::temp_dir().join("enneo-config-does-not-exist.toml");
    let error = Layers::new("TICKET", Some(&missing), env(&[])).err().unwrap();
    assert!(error.to_string().starts_with(&missing.display().to_string()));
}

#[test]
fn printed_configuration_masks_secrets_and_reads_back() {
    let config = load(
        None,
        &[
            ("TICKET_DATABASE_URL", "postgres://user:hunter2@db/enneo"),
            ("TICKET_AMQP_PREFIX", "p."),
        ],
    )
    .unwrap();
    let effective = Effective::default().with(&config).unwrap();
    let toml = effective.to_toml().unwrap();
    let json = effective.to_json();
    for printed in [&toml, &json] {
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("guest:guest"), "{printed}");
        assert!(printed.contains(secret::MASK), "{printed}");
        assert!(printed.contains("p."), "{printed}");
    }
    assert!(json.contains(r#""otlp_endpoint": null"#), "{json}");

    // What `config` prints is a valid file: every key known, the values the same.
    let file = TempToml::new("printed", &toml);
    let reread = load(Some(&file), &[]).unwrap();
    assert_eq!(reread.amqp.prefix, "p.");
    assert_eq!(reread.database.url.expose_secret(), secret::MASK);
}

#[test]
fn two_keys_that_would_share_a_variable_are_refused() {
    #[derive(serde::Serialize, serde::Deserialize, Default)]
    struct Clash {
        grpc_addr: String,
    }
    impl Section for Clash {}
    let mut layers = Layers::new("TICKET", None, env(&[])).unwrap();
    layers.section(ServiceConfig::defaults(&SPEC)).unwrap();
    let message = layers.section(Clash::default()).err().unwrap().to_string();
    assert_eq!(message, "TICKET_GRPC_ADDR would set both grpc_addr and grpc_addr");
}
