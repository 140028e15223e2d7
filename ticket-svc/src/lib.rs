//! ticket-svc: tickets in schema `ticket`, their events through the outbox, and the
//! event-fed read side (stats, activity trail).

pub mod activity;
pub mod config;
pub mod conversation;
pub mod customers;
pub mod events;
pub mod exports;
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

pub use config::Config;

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Serves until `shutdown`: gRPC on `listener`, the outbox relay, the projections and the
/// mailer.
pub async fn run(
    config: ServiceConfig,
    ticket: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = enneo_common::db::pool(
        &config.database.url,
        SPEC.schema,
        config.database.max_connections.get(),
    )?;
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
        settings: ticket.mail.clone(),
        wake: mail_queued.clone(),
    };
    let mailer = tokio::spawn(mailer.run(shutdown.clone()));
    let tags = tags::TagCheck::new(&ticket.settings_url)?;
    let tickets =
        service::Tickets { pool: pool.clone(), outbox, config: ticket, mail_queued, tags };
    let router = enneo_common::grpc::server()
        .add_service(enneo_common::grpc::health())
        .add_service(enneo_common::status::service(pool.clone(), SPEC.schema))
        .add_service(TicketServiceServer::new(tickets));
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::join!(relay, projection, mailer);
    pool.close().await;
    Ok(served?)
}
