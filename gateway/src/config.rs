//! Gateway configuration from `GATEWAY_*` environment variables.

use std::net::SocketAddr;

use figment::Figment;
use figment::providers::Env;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::StartupError;

#[derive(Debug, Clone)]
pub struct Config {
    pub http_addr: SocketAddr,
    /// HS256 key for access tokens; at least 32 bytes.
    pub jwt_secret: SecretString,
    pub ticket_url: String,
    pub agent_url: String,
    pub quality_url: String,
    pub settings_url: String,
    /// Mark the session cookie `Secure` (serve over HTTPS in front of the gateway).
    pub cookie_secure: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Raw {
    http_addr: Option<SocketAddr>,
    jwt_secret: Option<String>,
    ticket_url: Option<String>,
    agent_url: Option<String>,
    quality_url: Option<String>,
    settings_url: Option<String>,
    cookie_secure: Option<bool>,
}

pub const MIN_SECRET_LEN: usize = 32;

impl Config {
    pub fn from_env() -> Result<Self, StartupError> {
        let raw: Raw = Figment::new()
            .merge(Env::prefixed("GATEWAY_"))
            .extract()
            .map_err(|e| StartupError::Config(e.to_string()))?;
        let jwt_secret = SecretString::from(raw.jwt_secret.unwrap_or_default());
        Self::check_secret(&jwt_secret)?;
        let url =
            |v: Option<String>, port: u16| v.unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        Ok(Self {
            http_addr: raw.http_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8005))),
            jwt_secret,
            ticket_url: url(raw.ticket_url, 50051),
            agent_url: url(raw.agent_url, 50052),
            quality_url: url(raw.quality_url, 50053),
            settings_url: url(raw.settings_url, 50054),
            cookie_secure: raw.cookie_secure.unwrap_or(false),
        })
    }

    pub fn check_secret(secret: &SecretString) -> Result<(), StartupError> {
        if secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(StartupError::Config(format!(
                "GATEWAY_JWT_SECRET must be set to at least {MIN_SECRET_LEN} characters"
            )));
        }
        Ok(())
    }
}
