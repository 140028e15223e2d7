//! Configuration of every binary, in layers (see [`layers`]): compiled-in defaults, an
//! optional TOML file (`--config PATH` or `ENNEO_CONFIG`), then environment variables with the
//! binary's prefix (`TICKET_DATABASE_URL`, …). Defaults target a local developer machine;
//! `deploy/config/` documents every key.

pub mod effective;
pub mod layers;
pub mod secret;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use effective::Effective;
pub use layers::{ConfigError, Invalid, Layers, NoOptions, Section};

/// What distinguishes one service from another in shared plumbing.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// Binary and OpenTelemetry service name, e.g. `ticket-svc`.
    pub name: &'static str,
    /// Environment prefix without the underscore, e.g. `TICKET`.
    pub env_prefix: &'static str,
    /// Postgres schema the service owns; its role is `enneo_<schema>`.
    pub schema: &'static str,
    pub default_grpc_port: u16,
}

/// What every gRPC service reads. Settings every service shares (an outbox retention, a
/// consumer prefetch, …) are a field here, or in one of its tables, plus its default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceConfig {
    pub grpc_addr: SocketAddr,
    pub database: DatabaseConfig,
    pub amqp: AmqpConfig,
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseConfig {
    /// The service's own role; see [`ServiceConfig::default_database_url`].
    #[serde(serialize_with = "secret::serialize")]
    pub url: SecretString,
    /// Connection pool size.
    pub max_connections: NonZeroU32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AmqpConfig {
    #[serde(serialize_with = "secret::serialize")]
    pub url: SecretString,
    /// Prepended to every exchange and queue name; lets tests and tenants share a broker.
    pub prefix: String,
    /// Queue TTL when unused (`x-expires`); only for throw-away queues such as tests'.
    pub queue_expires_ms: Option<u32>,
}

impl AmqpConfig {
    pub fn local(prefix: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(DEFAULT_AMQP_URL),
            prefix: prefix.into(),
            queue_expires_ms: None,
        }
    }
}

/// The configuration file a binary reads: `--config PATH`, else `ENNEO_CONFIG`. Empty counts
/// as unset, as for every other variable, so a launcher may pass `ENNEO_CONFIG=` when it has
/// no file (clap's own `env` would refuse the empty value).
pub fn file_from(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os("ENNEO_CONFIG").map(PathBuf::from))
        .filter(|path| !path.as_os_str().is_empty())
}

pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

impl ServiceConfig {
    pub fn defaults(spec: &ServiceSpec) -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], spec.default_grpc_port)),
            database: DatabaseConfig {
                url: SecretString::from(Self::default_database_url(spec, "enneo")),
                max_connections: NonZeroU32::new(10).expect("non-zero"),
            },
            amqp: AmqpConfig::local(""),
            telemetry: TelemetryConfig::default(),
        }
    }

    /// `postgres://enneo_<schema>:enneo_<schema>@127.0.0.1:5432/<database>`: the development
    /// credentials that `migrate --bootstrap-url` provisions.
    pub fn default_database_url(spec: &ServiceSpec, database: &str) -> String {
        let role = format!("enneo_{}", spec.schema);
        format!("postgres://{role}:{role}@127.0.0.1:5432/{database}")
    }
}

impl Section for ServiceConfig {
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = TelemetryConfig::ENV_ALIASES;

    fn validate(&self) -> Result<(), Invalid> {
        self.telemetry.validate()
    }
}

/// Logging and tracing, the `telemetry` table of every binary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TelemetryConfig {
    /// Log filter in `RUST_LOG` syntax, e.g. `info,ticket_svc=debug`.
    pub log: String,
    pub log_format: LogFormat,
    /// OTLP/gRPC collector to export traces to, e.g. `http://otel-collector:4317`.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { log: "info".into(), log_format: LogFormat::Pretty, otlp_endpoint: None }
    }
}

impl TelemetryConfig {
    /// The conventional names, for a section whose `telemetry` field is this.
    pub const ENV_ALIASES: &'static [(&'static str, &'static str)] = &[
        ("RUST_LOG", "telemetry.log"),
        ("LOG_FORMAT", "telemetry.log_format"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "telemetry.otlp_endpoint"),
    ];

    pub fn validate(&self) -> Result<(), Invalid> {
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .map_err(|e| Invalid::new("telemetry.log", format!("not a log filter: {e}")))?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log shipping.
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(format!("expected pretty or json, found {value:?}")),
        }
    }
}

/// Fails unless `path`, read through `read` with only the variables `env` (for what a file
/// should not hold, such as a required secret), is a valid file that names the variable of every
/// key: the test that keeps the examples in `deploy/config/` true.
pub fn check_example(
    prefix: &str,
    path: &Path,
    env: &[(&str, &str)],
    read: impl FnOnce(&mut Layers) -> Result<(), ConfigError>,
) -> Result<(), ConfigError> {
    let env = env.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned()));
    let mut layers = Layers::new(prefix, Some(path), env)?;
    read(&mut layers)?;
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::from(e.to_string()))?;
    let missing: Vec<&str> = layers.variables().filter(|name| !text.contains(name)).collect();
    if !missing.is_empty() {
        return Err(ConfigError::from(format!(
            "{} does not document {}",
            path.display(),
            missing.join(", ")
        )));
    }
    layers.finish()
}

/// [`check_example`] for a service: `deploy/config/<name>.toml` against the shared settings
/// and the service's own `O`.
pub fn check_service_example<O: Section + Default>(spec: &ServiceSpec) -> Result<(), ConfigError> {
    let path = example_path(spec.name);
    check_example(spec.env_prefix, &path, &[], |layers| {
        layers.section(ServiceConfig::defaults(spec))?;
        layers.section(O::default())?;
        Ok(())
    })
}

/// `deploy/config/<binary>.toml` of this workspace.
pub fn example_path(binary: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config").join(format!("{binary}.toml"))
}

#[cfg(test)]
mod tests;
