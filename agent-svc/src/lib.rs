//! agent-svc: AI agents and intents. Its domain arrives in later releases; today it owns its schema and
//! migrations and reports gRPC health, so the topology is complete from day one.

use enneo_common::config::{ServiceConfig, ServiceSpec};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "agent-svc",
    env_prefix: "AGENT",
    schema: "agent",
    default_grpc_port: 50052,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

pub async fn run(
    _config: ServiceConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let router = enneo_common::grpc::server().add_service(enneo_common::grpc::health());
    Ok(enneo_common::grpc::serve(router, listener, shutdown).await?)
}
