//! Transactional outbox: a domain write and its event commit together, and a relay publishes
//! committed events to RabbitMQ with publisher confirms. If the broker is down, rows wait and
//! go out later; a crash between publish and "mark sent" only re-sends (consumers dedupe by
//! event id), it never loses an event.
//!
//! The owning service creates `<schema>.outbox` in its migrations:
//! `id bigserial, event_id uuid, event_type text, routing_key text, aggregate_id text,
//!  aggregate_version bigint, actor text, payload jsonb, traceparent text,
//!  occurred_at timestamptz, published_at timestamptz, attempts integer default 0,
//!  available_at timestamptz default now()`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::amqp::{self, Envelope, Topology};
use crate::config::AmqpConfig;
use crate::error::Result;

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `ticket`, `settings`, … — the first part of the routing key.
    pub domain: &'static str,
    /// Contract §7 name, e.g. `TicketCreated`.
    pub event_type: &'static str,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    pub actor: String,
    pub payload: serde_json::Value,
}

/// Writes into one schema's outbox and wakes that process's relay.
#[derive(Clone)]
pub struct Outbox {
    schema: &'static str,
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn new(schema: &'static str) -> Self {
        Self { schema, wake: Arc::new(Notify::new()) }
    }

    /// Records `event` inside the caller's transaction. Call [`Outbox::committed`] after the
    /// commit so the relay publishes at once instead of at its next poll.
    pub async fn record(&self, tx: &mut PgConnection, event: NewEvent) -> Result<Uuid> {
        let event_id = Uuid::new_v4();
        let sql = format!(
            "INSERT INTO {}.outbox (event_id, event_type, routing_key, aggregate_id, \
             aggregate_version, actor, payload, traceparent, occurred_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())",
            self.schema
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(event_id)
            .bind(event.event_type)
            .bind(format!("{}.{}", event.domain, event.event_type))
            .bind(&event.aggregate_id)
            .bind(event.aggregate_version)
            .bind(&event.actor)
            .bind(&event.payload)
            .bind(crate::telemetry::current_traceparent())
            .execute(tx)
            .await?;
        Ok(event_id)
    }

    pub fn committed(&self) {
        self.wake.notify_one();
    }

    pub fn relay(&self, pool: PgPool, amqp: AmqpConfig) -> Relay {
        Relay { outbox: self.clone(), pool, amqp }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    event_id: Uuid,
    event_type: String,
    routing_key: String,
    aggregate_id: String,
    aggregate_version: i64,
    actor: String,
    payload: serde_json::Value,
    traceparent: Option<String>,
    occurred_at: DateTime<Utc>,
}

/// Publishes committed outbox rows. Several replicas may run: rows are claimed with
/// `FOR UPDATE SKIP LOCKED`.
pub struct Relay {
    outbox: Outbox,
    pool: PgPool,
    amqp: AmqpConfig,
}

const BATCH: i64 = 100;
const IDLE_POLL: Duration = Duration::from_secs(1);

impl Relay {
    pub async fn run(self, shutdown: CancellationToken) {
        let topology = Topology::new(&self.amqp);
        while !shutdown.is_cancelled() {
            let Some(conn) =
                amqp::connect_with_retry(&self.amqp.url, "outbox relay", &shutdown).await
            else {
                return;
            };
            let channel = match self.open_channel(&conn, &topology).await {
                Ok(channel) => channel,
                Err(err) => {
                    tracing::warn!(%err, "outbox relay: channel setup failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            tracing::info!(schema = self.outbox.schema, "outbox relay connected");
            loop {
                match self.publish_batch(&channel, &topology).await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(%err, "outbox relay: publish failed, reconnecting");
                        break;
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => { let _ = conn.close(200, "shutdown".into()).await; return; }
                    _ = self.outbox.wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            let _ = conn.close(200, "reconnect".into()).await;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    async fn open_channel(&self, conn: &lapin::Connection, topology: &Topology) -> Result<Channel> {
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        topology.declare_exchanges(&channel).await?;
        Ok(channel)
    }

    /// Claims up to one batch, publishes it, waits for every confirm, then marks the
    /// confirmed rows sent. Returns how many rows went out.
    async fn publish_batch(&self, channel: &Channel, topology: &Topology) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, event_id, event_type, routing_key, aggregate_id, aggregate_version, \
             actor, payload, traceparent, occurred_at FROM {}.outbox \
             WHERE published_at IS NULL AND available_at <= now() \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            self.outbox.schema
        )))
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let exchange = topology.events_exchange();
        let mut confirms = Vec::with_capacity(rows.len());
        for row in &rows {
            let envelope = Envelope {
                event_id: row.event_id,
                event_type: row.event_type.clone(),
                occurred_at: row.occurred_at,
                aggregate_id: row.aggregate_id.clone(),
                aggregate_version: row.aggregate_version,
                actor: row.actor.clone(),
                payload: row.payload.clone(),
            };
            let body = serde_json::to_vec(&envelope)?;
            let mut headers = FieldTable::default();
            if let Some(tp) = &row.traceparent {
                headers.insert(
                    ShortString::from("traceparent"),
                    AMQPValue::LongString(tp.as_str().into()),
                );
            }
            let properties = BasicProperties::default()
                .with_message_id(row.event_id.to_string().into())
                .with_content_type("application/json".into())
                .with_type(row.event_type.as_str().into())
                .with_delivery_mode(2)
                .with_headers(headers);
            let confirm = channel
                .basic_publish(
                    exchange.as_str().into(),
                    row.routing_key.as_str().into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    &body,
                    properties,
                )
                .await?;
            confirms.push(confirm);
        }
        let mut sent = Vec::with_capacity(rows.len());
        let mut later = Vec::new();
        for (row, confirm) in rows.iter().zip(confirms) {
            match confirm.await? {
                Confirmation::Ack(None) => sent.push(row.id),
                Confirmation::Ack(Some(_)) => {
                    // Unroutable: no queue is bound for it yet (e.g. its consumer has never
                    // started). Keep it; it goes out once a consumer has declared its queue.
                    tracing::warn!(routing_key = %row.routing_key, "event unroutable; will retry");
                    later.push(row.id);
                }
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    tracing::warn!(event_id = %row.event_id, "broker refused event; will retry");
                    later.push(row.id);
                }
            }
        }
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {}.outbox SET published_at = now() WHERE id = ANY($1)",
            self.outbox.schema
        )))
        .bind(&sent)
        .execute(&mut *tx)
        .await?;
        // Exponential back-off, 2 s doubling up to 5 minutes.
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {}.outbox SET attempts = attempts + 1, \
             available_at = now() + least(interval '2 seconds' * power(2, attempts), interval '5 minutes') \
             WHERE id = ANY($1)",
            self.outbox.schema
        )))
        .bind(&later)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::debug!(sent = sent.len(), claimed = rows.len(), "outbox batch published");
        Ok(sent.len())
    }
}
