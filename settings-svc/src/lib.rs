//! settings-svc: the tenant's configuration — settings, subchannels, user-defined functions —
//! in schema `settings`, with every change published as `SettingChanged`.

pub mod category;
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

use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::outbox::Outbox;
use enneo_proto::settings::v1::identity_service_server::IdentityServiceServer;
use enneo_proto::settings::v1::settings_service_server::SettingsServiceServer;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "settings-svc",
    env_prefix: "SETTINGS",
    schema: "settings",
    default_grpc_port: 50054,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Serves until `shutdown`: gRPC on `listener` and the outbox relay.
pub async fn run(
    config: ServiceConfig,
    oauth: oauth::OAuthConfig,
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
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build()?;
    let settings = service::Settings { pool: pool.clone(), outbox, oauth, http };
    let router = enneo_common::grpc::server()
        .add_service(enneo_common::grpc::health())
        .add_service(SettingsServiceServer::new(settings.clone()))
        .add_service(IdentityServiceServer::new(settings));
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = relay.await;
    pool.close().await;
    Ok(served?)
}
