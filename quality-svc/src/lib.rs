//! quality-svc: AI quality checks. For now it consumes ticket events into its own schema,
//! the history quality checks will replay tickets from.

pub mod ticket_events;

use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::consumer::Consumer;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "quality-svc",
    env_prefix: "QUALITY",
    schema: "quality",
    default_grpc_port: 50053,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

pub async fn run(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = enneo_common::db::pool(
        &config.database.url,
        SPEC.schema,
        config.database.max_connections.get(),
    )?;
    let consumer = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: ticket_events::QUEUE,
        routing_keys: ticket_events::ROUTING_KEYS,
        handler: ticket_events::Recorder,
        options: Default::default(),
    };
    let consumer = tokio::spawn(consumer.run(shutdown.clone()));
    let router = enneo_common::grpc::server().add_service(enneo_common::grpc::health());
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = consumer.await;
    pool.close().await;
    Ok(served?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_file_documents_every_key() {
        use enneo_common::config::{NoOptions, check_service_example};
        check_service_example::<NoOptions>(&super::SPEC).unwrap();
    }
}
