//! Gateway configuration: compiled-in defaults, an optional TOML file, then `GATEWAY_*`
//! variables (see `enneo_common::config::layers`).

use std::net::SocketAddr;
use std::path::Path;

use enneo_common::config::{ConfigError, Invalid, Layers, Section, TelemetryConfig, secret};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http_addr: SocketAddr,
    /// HS256 key for access tokens; at least 32 bytes.
    #[serde(serialize_with = "secret::serialize")]
    pub jwt_secret: SecretString,
    pub ticket_url: String,
    pub agent_url: String,
    pub quality_url: String,
    pub settings_url: String,
    /// Mark the session cookie `Secure` (serve over HTTPS in front of the gateway).
    pub cookie_secure: bool,
    pub telemetry: TelemetryConfig,
}

pub const MIN_SECRET_LEN: usize = 32;

impl Default for Config {
    fn default() -> Self {
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8005)),
            jwt_secret: SecretString::from(""),
            ticket_url: url(50051),
            agent_url: url(50052),
            quality_url: url(50053),
            settings_url: url(50054),
            cookie_secure: false,
            telemetry: TelemetryConfig::default(),
        }
    }
}

impl Section for Config {
    const ENV_ALIASES: &'static [(&'static str, &'static str)] = TelemetryConfig::ENV_ALIASES;

    fn validate(&self) -> Result<(), Invalid> {
        if self.jwt_secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(Invalid::new(
                "jwt_secret",
                format!("must be set to at least {MIN_SECRET_LEN} characters"),
            ));
        }
        self.telemetry.validate()
    }
}

impl Config {
    /// This process's configuration, over `file` when given.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut layers = Layers::from_process("GATEWAY", file)?;
        let config = layers.section(Self::default())?;
        layers.finish()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Layers::new("GATEWAY", None, env)?.section(Config::default())
    }

    #[test]
    fn the_jwt_secret_is_required_and_named() {
        let error = load(&[]).unwrap_err().to_string();
        assert_eq!(error, "GATEWAY_JWT_SECRET: must be set to at least 32 characters");
        let short = load(&[("GATEWAY_JWT_SECRET", "short")]).unwrap_err().to_string();
        assert!(short.starts_with("GATEWAY_JWT_SECRET: "), "{short}");
    }

    #[test]
    fn the_example_file_documents_every_key() {
        let path = enneo_common::config::example_path("gateway");
        let secret = "s".repeat(MIN_SECRET_LEN);
        let env = [("GATEWAY_JWT_SECRET", secret.as_str())];
        enneo_common::config::check_example("GATEWAY", &path, &env, |layers| {
            layers.section(Config::default()).map(drop)
        })
        .unwrap();
    }

    #[test]
    fn todays_variables_still_apply() {
        let config = load(&[
            ("GATEWAY_JWT_SECRET", &"s".repeat(32)),
            ("GATEWAY_HTTP_ADDR", "0.0.0.0:9000"),
            ("GATEWAY_TICKET_URL", "http://ticket-svc:50051"),
            ("GATEWAY_COOKIE_SECURE", "true"),
            ("LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(config.http_addr.to_string(), "0.0.0.0:9000");
        assert_eq!(config.ticket_url, "http://ticket-svc:50051");
        assert_eq!(config.agent_url, "http://127.0.0.1:50052");
        assert!(config.cookie_secure);
        assert_eq!(config.telemetry.log_format, enneo_common::config::LogFormat::Json);
    }
}
