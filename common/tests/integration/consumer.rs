//! The consumer against real RabbitMQ and PostgreSQL: bounded concurrency, one commit and one
//! ack per message, duplicates dropped by the inbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use enneo_common::amqp::Envelope;
use enneo_common::config::AmqpConfig;
use enneo_common::consumer::{Consumer, ConsumerOptions, Handler};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use secrecy::SecretString;
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::TestDb;

const QUEUE: &str = "test.slow";

fn amqp_url() -> String {
    std::env::var("ENNEO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Takes a while per event and tracks how many run at once.
#[derive(Clone, Default)]
struct Slow {
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Handler for Slow {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(150)).await;
        sqlx::query("INSERT INTO c.handled (event_id) VALUES ($1)")
            .bind(event.event_id)
            .execute(tx)
            .await?;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn queue_depth(conn: &Connection, queue: &str) -> Option<u32> {
    let channel = conn.create_channel().await.unwrap();
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .ok()
        .map(|q| q.message_count())
}

#[tokio::test]
async fn deliveries_are_handled_concurrently_up_to_the_bound_and_once_each() {
    let db = TestDb::new().await;
    for sql in [
        "CREATE SCHEMA c",
        "CREATE TABLE c.inbox (event_id uuid PRIMARY KEY, event_type text NOT NULL, \
         received_at timestamptz NOT NULL DEFAULT now())",
        // No natural key: a duplicate that got past the inbox would show as a second row.
        "CREATE TABLE c.handled (event_id uuid NOT NULL)",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    let prefix = format!("{}.", db.name);
    let slow = Slow::default();
    let consumer = Consumer {
        pool: db.pool.clone(),
        schema: "c",
        amqp: AmqpConfig {
            url: SecretString::from(amqp_url()),
            prefix: prefix.clone(),
            queue_expires_ms: Some(60_000),
        },
        queue: QUEUE,
        routing_keys: &["test.#"],
        handler: slow.clone(),
        options: ConsumerOptions { prefetch: 8, concurrency: 3, ..Default::default() },
    };
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(consumer.run(shutdown.clone()));

    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default()).await.unwrap();
    let queue = format!("{prefix}{QUEUE}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue_depth(&conn, &queue).await.is_none() {
        assert!(Instant::now() < deadline, "the consumer never declared its queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let channel = conn.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let ids: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
    // The first event twice, as after a lost ack.
    for id in ids.iter().chain(&ids[..1]) {
        let envelope = Envelope {
            event_id: *id,
            event_type: "Thing".into(),
            occurred_at: chrono::Utc::now(),
            aggregate_id: "1".into(),
            aggregate_version: 1,
            actor: "test".into(),
            payload: serde_json::json!({}),
        };
        channel
            .basic_publish(
                format!("{prefix}enneo.events").as_str().into(),
                "test.Thing".into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(&envelope).unwrap(),
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let inbox: i64 =
            sqlx::query_scalar("SELECT count(*) FROM c.inbox").fetch_one(&db.pool).await.unwrap();
        let waiting = queue_depth(&conn, &queue).await.unwrap();
        if inbox == 12 && waiting == 0 && slow.running.load(Ordering::SeqCst) == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{inbox} of 12 events handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    run.await.unwrap();

    let handled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM c.handled").fetch_one(&db.pool).await.unwrap();
    assert_eq!(handled, 12, "each event handled once, the duplicate dropped");
    assert_eq!(slow.most.load(Ordering::SeqCst), 3, "three at a time, never more");
    // Unacknowledged deliveries went back to the queue when the consumer closed.
    assert_eq!(queue_depth(&conn, &queue).await, Some(0), "all 13 deliveries acknowledged");
    assert_eq!(queue_depth(&conn, &format!("{queue}.dlq")).await, Some(0));
    let _ = conn.close(200, "".into()).await;
    db.drop().await;
}
