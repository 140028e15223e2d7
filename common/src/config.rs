//! Configuration of the four gRPC services, read from environment variables with a
//! per-service prefix (`TICKET_DATABASE_URL`, …). Defaults target a local developer machine.

use std::net::SocketAddr;

use figment::Figment;
use figment::providers::Env;
use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};

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

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub grpc_addr: SocketAddr,
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub amqp: AmqpConfig,
}

#[derive(Debug, Clone)]
pub struct AmqpConfig {
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

pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[derive(Debug, Default, Deserialize)]
struct RawServiceConfig {
    grpc_addr: Option<SocketAddr>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    amqp_url: Option<String>,
    amqp_prefix: Option<String>,
    amqp_queue_expires_ms: Option<u32>,
}

impl ServiceConfig {
    /// Reads `<PREFIX>_*` variables over the compiled-in defaults.
    pub fn from_env(spec: &ServiceSpec) -> Result<Self> {
        let raw: RawServiceConfig = Figment::new()
            .merge(Env::prefixed(&format!("{}_", spec.env_prefix)))
            .extract()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self {
            grpc_addr: raw
                .grpc_addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], spec.default_grpc_port))),
            database_url: SecretString::from(
                raw.database_url.unwrap_or_else(|| Self::default_database_url(spec, "enneo")),
            ),
            database_max_connections: raw.database_max_connections.unwrap_or(10),
            amqp: AmqpConfig {
                url: SecretString::from(raw.amqp_url.unwrap_or_else(|| DEFAULT_AMQP_URL.into())),
                prefix: raw.amqp_prefix.unwrap_or_default(),
                queue_expires_ms: raw.amqp_queue_expires_ms,
            },
        })
    }

    /// `postgres://enneo_<schema>:enneo_<schema>@127.0.0.1:5432/<database>`: the development
    /// credentials that `migrate --bootstrap-url` provisions.
    pub fn default_database_url(spec: &ServiceSpec, database: &str) -> String {
        let role = format!("enneo_{}", spec.schema);
        format!("postgres://{role}:{role}@127.0.0.1:5432/{database}")
    }
}
