//! ticket-svc: tickets in schema `ticket`, their events through the outbox, and the
//! event-fed read side (stats, activity trail).

pub mod activity;
pub mod conversation;
pub mod customers;
pub mod error;
pub mod events;
pub mod history;
pub mod idempotency;
pub mod mail;
pub mod model;
pub mod patch;
pub mod presence;
pub mod projections;
pub mod routing;
pub mod search;
pub mod service;
pub mod stats;
pub mod store;
pub mod tags;

use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::consumer::Consumer;
use enneo_common::outbox::Outbox;
use enneo_proto::ticket::v1::ticket_service_server::TicketServiceServer;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "ticket-svc",
    env_prefix: "TICKET",
    schema: "ticket",
    default_grpc_port: 50051,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// What ticket-svc needs beyond the shared service configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub routing: routing::Settings,
    pub mail: mail::Settings,
    /// settings-svc's gRPC address, where ticket tags are checked (`TICKET_SETTINGS_URL`).
    pub settings_url: String,
}

/// Where settings-svc listens by default (its default gRPC port on this host).
pub const DEFAULT_SETTINGS_URL: &str = "http://127.0.0.1:50054";

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            routing: routing::Settings::from_env()?,
            mail: mail::Settings::from_env()?,
            settings_url: std::env::var("TICKET_SETTINGS_URL")
                .unwrap_or_else(|_| DEFAULT_SETTINGS_URL.into()),
        })
    }
}

/// Serves with settings from the environment (`TICKET_ROUTING_*`, `TICKET_SMTP_URL`, …).
pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with(config, Settings::from_env()?, listener, shutdown).await
}

/// Serves until `shutdown`: gRPC on `listener`, the outbox relay, the projections and the
/// mailer.
pub async fn run_with(
    config: ServiceConfig,
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool =
        enneo_common::db::pool(&config.database_url, SPEC.schema, config.database_max_connections)?;
    let outbox = Outbox::new(SPEC.schema);
    let relay = tokio::spawn(outbox.relay(pool.clone(), config.amqp.clone()).run(shutdown.clone()));
    let projection = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: projections::QUEUE,
        routing_keys: projections::ROUTING_KEYS,
        handler: projections::Projections,
        options: Default::default(),
    };
    let projection = tokio::spawn(projection.run(shutdown.clone()));
    let mail_queued = std::sync::Arc::new(tokio::sync::Notify::new());
    let mailer = mail::Mailer {
        pool: pool.clone(),
        settings: settings.mail.clone(),
        wake: mail_queued.clone(),
    };
    let mailer = tokio::spawn(mailer.run(shutdown.clone()));
    let tags = tags::TagCheck::new(&settings.settings_url)?;
    let tickets = service::Tickets { pool: pool.clone(), outbox, settings, mail_queued, tags };
    let router = enneo_common::grpc::server()
        .add_service(enneo_common::grpc::health())
        .add_service(TicketServiceServer::new(tickets));
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::join!(relay, projection, mailer);
    pool.close().await;
    Ok(served?)
}
