//! quality-svc: the AI quality check ("CI for AI agents", contract §4), in schema `quality`.
//!
//! Test cases snapshot a ticket for an AI agent with an expected result ([`test_cases`]),
//! and their messages are embedded in the background so that runs find the vectors
//! ([`workers::prepare`]). Scheduling a run writes one test ticket and one job per case ([`runs`]); the worker
//! ([`workers`]) replays each snapshot through agent-svc's engine as a dry run, scores the
//! observation per dimension ([`scoring`]) and counts it, transactionally. Ticket events are
//! recorded and make test cases of changed tickets stale ([`ticket_events`]). Agent changes
//! can schedule runs by themselves ([`agent_events`]); people's handling of real tickets is
//! compared with the AI's detection ([`agreement`]).

pub mod agent_events;
pub mod agreement;
pub mod config;
pub mod report;
pub mod runs;
pub mod scoring;
pub mod service;
pub mod test_cases;
pub mod ticket_events;
pub mod upstream;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use enneo_common::config::{ServiceConfig, ServiceSpec};
use enneo_common::consumer::Consumer;
use enneo_common::jobs::{self, Backoff, Worker};
use enneo_common::outbox::Outbox;
use enneo_proto::quality::v1::quality_service_server::QualityServiceServer;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: "quality-svc",
    env_prefix: "QUALITY",
    schema: "quality",
    default_grpc_port: 50053,
};

pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Serves until `shutdown`: gRPC on `listener`, the outbox relay, the consumers of ticket,
/// intent and agent events, and the replay worker.
pub async fn run(
    config: ServiceConfig,
    quality: Config,
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
    let upstream = upstream::Upstream::new(
        &quality.agent_url,
        &quality.ticket_url,
        Duration::from_millis(quality.runs.replay_timeout_ms),
    )?;

    let wake = Arc::new(tokio::sync::Notify::new());
    let replays = workers::Replays::new(
        pool.clone(),
        upstream.clone(),
        outbox,
        quality.runs.pass_threshold,
        quality.runs.max_attempts,
    );
    // One batch is replayed concurrently: the batch size bounds the replays in flight.
    let options = jobs::Options {
        batch: i64::from(quality.runs.concurrency),
        poll: Duration::from_millis(500),
        retry: Backoff::new(Duration::from_secs(1), Duration::from_secs(60)),
        vacuum_after: Some(1000),
        ..jobs::Options::default()
    };
    let worker = Worker::new(pool.clone(), replays, wake.clone(), options);
    let worker = tokio::spawn(worker.run(shutdown.clone()));

    let prepare = Arc::new(tokio::sync::Notify::new());
    let preparations = workers::prepare::Preparations {
        upstream: upstream.clone(),
        max_attempts: quality.runs.max_attempts,
    };
    let options = jobs::Options { batch: workers::prepare::BATCH, ..options };
    let preparer = Worker::new(pool.clone(), preparations, prepare.clone(), options);
    let preparer = tokio::spawn(preparer.run(shutdown.clone()));

    let consumer = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: ticket_events::QUEUE,
        routing_keys: ticket_events::ROUTING_KEYS,
        handler: agreement::WithCloses(ticket_events::Recorder),
        options: Default::default(),
    };
    let consumer = tokio::spawn(consumer.run(shutdown.clone()));
    let agreement = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: agreement::QUEUE,
        routing_keys: agreement::ROUTING_KEYS,
        handler: agreement::IntentChanges,
        options: Default::default(),
    };
    let agreement = tokio::spawn(agreement.run(shutdown.clone()));

    let runs = runs::Runs { pool: pool.clone(), upstream: upstream.clone(), wake };
    let agent_changes = Consumer {
        pool: pool.clone(),
        schema: SPEC.schema,
        amqp: config.amqp.clone(),
        queue: agent_events::QUEUE,
        routing_keys: agent_events::ROUTING_KEYS,
        handler: agent_events::AgentChanges { runs: runs.clone() },
        options: Default::default(),
    };
    let agent_changes = tokio::spawn(agent_changes.run(shutdown.clone()));

    let api = service::QualityApi {
        cases: test_cases::TestCases { pool: pool.clone(), upstream, prepare },
        runs,
        pass_threshold: quality.runs.pass_threshold,
    };
    let router = enneo_common::grpc::server()
        .add_service(enneo_common::grpc::health())
        .add_service(enneo_common::status::service(pool.clone(), SPEC.schema))
        .add_service(QualityServiceServer::new(api));
    let served = enneo_common::grpc::serve(router, listener, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::join!(relay, worker, preparer, consumer, agreement, agent_changes);
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
