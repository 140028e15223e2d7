//! agent-svc: AI agents and the intents they detect in tickets, in schema `agent`.
//!
//! Agents are documents (the vendor's AiAgent JSON) with an append-only history. Ticket events
//! queue detection durably; detection embeds the message (an OpenAI-compatible embeddings
//! server, by default a local one), classifies its sentences against the agents' examples,
//! extracts each agent's parameters and stores one intent per agent found. Every run of an
//! agent — detection, preview, execution, the quality check's replay — goes through
//! [`runner`], and every side effect through [`effects`].

pub mod agents;
pub mod config;
pub mod consumers;
pub mod detection;
pub mod effects;
pub mod engine;
pub mod executors;
pub mod extraction;
pub mod hooks;
pub mod intents;
pub mod llm;
pub mod local_command;
pub mod preview;
pub mod providers;
pub mod replay;
pub mod runner;
pub mod sentiment;
pub mod service;
pub mod templates;
pub mod text;
pub mod tickets;
pub mod time;

use std::sync::Arc;
use std::time::Duration;

use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::consumer::Consumer;
use enneo_common::jobs::{self, Backoff, Worker};
use enneo_common::outbox::Outbox;
use enneo_proto::agent::v1::agent_service_server::AgentServiceServer;
use enneo_proto::settings::v1::settings_service_client::SettingsServiceClient;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "agent-svc",
    env_prefix: "AGENT",
    schema: "agent",
    default_grpc_port: 50052,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Serves until `shutdown`: gRPC on `listener`, the outbox relay, the consumer of ticket
/// events and the detection worker.
pub async fn run(
    config: ServiceConfig,
    agent: Config,
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

    let tickets = tickets::Tickets::new(enneo_common::grpc::channel(&agent.ticket_url)?);
    // The deployment's model servers, or the tenant's where its settings name others.
    let servers = Arc::new(providers::servers::ModelServers::new(
        agent.embeddings.endpoint(),
        agent.llm.endpoint(),
    ));
    let settings = SettingsServiceClient::new(enneo_common::grpc::channel(&agent.settings_url)?);
    let refresh = tokio::spawn(servers.clone().refresh_until(
        settings,
        Duration::from_millis(agent.settings_refresh_ms),
        shutdown.clone(),
    ));
    let cache = providers::cache::VectorCache::new(agent.embeddings.cache_dir.clone());
    let runtime = Arc::new(detection::runtime::Runtime::with_servers(
        pool.clone(),
        servers.clone(),
        cache,
        agent.detection.threshold,
    ));
    let toolbox = Arc::new(effects::Toolbox::with_servers(agent.executors.clone(), servers));
    let detection = detection::queue::Detection {
        pool: pool.clone(),
        runtime: runtime.clone(),
        tickets: tickets.clone(),
        toolbox: toolbox.clone(),
        outbox: outbox.clone(),
    };

    let wake = Arc::new(tokio::sync::Notify::new());
    let options = jobs::Options {
        batch: i64::from(agent.detection.batch),
        poll: Duration::from_millis(500),
        retry: Backoff::new(Duration::from_secs(2), Duration::from_secs(120)),
        vacuum_after: Some(1000),
        ..jobs::Options::default()
    };
    let worker = Worker::new(pool.clone(), detection.clone(), wake.clone(), options);
    let worker = tokio::spawn(worker.run(shutdown.clone()));
    let consumer = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: consumers::QUEUE,
        routing_keys: consumers::ROUTING_KEYS,
        handler: consumers::DetectionRequests { wake },
        options: Default::default(),
    };
    let consumer = tokio::spawn(consumer.run(shutdown.clone()));

    let api = service::AgentApi {
        agents: agents::Agents { pool: pool.clone(), outbox: outbox.clone() },
        intents: intents::Intents { pool: pool.clone(), tickets, toolbox, outbox },
        detection,
        runtime,
    };
    let router = enneo_common::grpc::server()
        .add_service(enneo_common::grpc::health())
        .add_service(enneo_common::status::service(pool.clone(), SPEC.schema))
        .add_service(AgentServiceServer::new(api));
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::join!(relay, worker, consumer, refresh);
    pool.close().await;
    Ok(served?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_file_documents_every_key() {
        enneo_common::config::check_service_example::<super::Config>(&super::SPEC).unwrap();
    }
}
