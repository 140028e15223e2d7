//! settings-svc: the tenant's configuration — settings, subchannels, user-defined functions,
//! event hooks — in schema `settings`, with every change published as `SettingChanged`; and
//! the delivery of events to the tenant's hooks.

pub mod category;
pub mod config;
pub mod hooks;
pub mod identity;
pub mod oauth;
pub mod registry;
pub mod roles;
pub mod service;
pub mod subchannels;
pub mod tags;
pub mod teams;
pub mod udfs;
pub mod values;

use std::sync::Arc;
use std::time::Duration;

use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::consumer::Consumer;
use enneo_common::jobs::{self, Backoff, Retention, Worker};
use enneo_common::outbox::Outbox;
use enneo_proto::settings::v1::identity_service_server::IdentityServiceServer;
use enneo_proto::settings::v1::settings_service_server::SettingsServiceServer;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "settings-svc",
    env_prefix: "SETTINGS",
    schema: "settings",
    default_grpc_port: 50054,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Serves until `shutdown`: gRPC on `listener`, the outbox relay, and event hooks (the consumer
/// that queues their deliveries and the loop that delivers them).
pub async fn run(
    config: ServiceConfig,
    options: config::Config,
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
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    let hooks_wake = Arc::new(Notify::new());
    let settings = service::Settings {
        pool: pool.clone(),
        outbox,
        oauth: options.oauth,
        http,
        hooks: options.hooks.clone(),
        hooks_wake: hooks_wake.clone(),
    };

    let intake = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: hooks::intake::QUEUE,
        routing_keys: hooks::intake::ROUTING_KEYS,
        handler: hooks::intake::Intake { wake: hooks_wake.clone() },
        options: Default::default(),
    };
    let intake = tokio::spawn(intake.run(shutdown.clone()));
    let deliveries = hooks::delivery::Deliveries::new(settings.clone(), &options.agent_url)?;
    let delivery_options = jobs::Options {
        // One batch is delivered concurrently: the batch size bounds the requests in flight.
        batch: i64::from(options.hooks.concurrency),
        poll: Duration::from_millis(500),
        retry: Backoff::new(
            Duration::from_millis(options.hooks.retry_base_ms),
            Duration::from_millis(options.hooks.retry_max_ms),
        ),
        vacuum_after: Some(1000),
        ..jobs::Options::default()
    };
    let delivery = Worker::new(pool.clone(), deliveries, hooks_wake, delivery_options);
    let delivery = tokio::spawn(delivery.run(shutdown.clone()));
    // The log of a hook goes back a month.
    let log = Retention {
        table: "settings.hook_delivery".into(),
        column: "created_at",
        keep: Duration::from_secs(30 * 24 * 3600),
        every: Duration::from_secs(3600),
    };
    let log = tokio::spawn(log.run(pool.clone(), shutdown.clone()));

    let router = enneo_common::grpc::server()
        .add_service(enneo_common::grpc::health())
        .add_service(enneo_common::status::service(pool.clone(), SPEC.schema))
        .add_service(SettingsServiceServer::new(settings.clone()))
        .add_service(IdentityServiceServer::new(settings));
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::join!(relay, intake, delivery, log);
    pool.close().await;
    Ok(served?)
}
