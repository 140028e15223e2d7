//! Transactional outbox: a domain write and its event commit together, and a relay publishes
//! committed events to RabbitMQ with publisher confirms. If the broker is down, rows wait and
//! go out later; a crash between publish and "mark sent" only re-sends (consumers dedupe by
//! event id), it never loses an event.
//!
//! `<schema>.outbox` holds only events still to publish: the relay moves each confirmed event
//! into `<schema>.outbox_published`, which keeps them for a retention period. So the relay's
//! claim reads the few waiting rows, however many events went out before.
//!
//! The owning service creates in its migrations
//! `<schema>.outbox (id bigserial, event_id uuid, event_type text, routing_key text,
//!  aggregate_id text, aggregate_version bigint, actor text, payload jsonb, traceparent text,
//!  occurred_at timestamptz, attempts integer default 0, available_at timestamptz default now(),
//!  last_error text)` and `<schema>.outbox_published` with the same event columns plus
//! `published_at timestamptz` (indexed). A queue table's dead rows must be vacuumed after a
//! fixed number, not a fraction of the table: the relay vacuums the outbox every
//! [`VACUUM_AFTER`] published events, and the migrations tune autovacuum to the same effect.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use secrecy::ExposeSecret;
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::amqp::{Envelope, Topology};
use crate::config::AmqpConfig;
use crate::error::Result;
use crate::jobs::{self, Backoff, Claimed, Outcome, Retention, Work, Worker};

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
        Relay { outbox: self.clone(), pool, amqp, options: RelayOptions::default() }
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
    attempts: i32,
}

impl Claimed for Row {
    fn id(&self) -> i64 {
        self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }
}

#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// How long published events stay in `<schema>.outbox_published`.
    pub published_retention: Duration,
    /// How often that archive is pruned.
    pub prune_every: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            published_retention: Duration::from_secs(7 * 24 * 3600),
            prune_every: Duration::from_secs(3600),
        }
    }
}

/// Publishes committed outbox rows. Several replicas may run: rows are claimed with
/// `FOR UPDATE SKIP LOCKED`.
pub struct Relay {
    outbox: Outbox,
    pool: PgPool,
    amqp: AmqpConfig,
    options: RelayOptions,
}

const BATCH: i64 = 100;
/// Published (deleted) rows between two vacuums of the outbox; each vacuum reads only the
/// few pages of waiting rows.
pub const VACUUM_AFTER: u64 = 1000;
/// An unroutable or refused event: 2 s doubling up to 5 minutes, so it never blocks newer ones.
const RETRY: Backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(300));

impl Relay {
    pub fn options(self, options: RelayOptions) -> Self {
        Self { options, ..self }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let schema = self.outbox.schema;
        let archive = Retention {
            table: format!("{schema}.outbox_published"),
            column: "published_at",
            keep: self.options.published_retention,
            every: self.options.prune_every,
        };
        let publishing = Publishing {
            schema,
            url: self.amqp.url.clone(),
            topology: Topology::new(&self.amqp),
            table: format!("{schema}.outbox"),
            broker: None,
        };
        let options = jobs::Options {
            batch: BATCH,
            retry: RETRY,
            vacuum_after: Some(VACUUM_AFTER),
            ..Default::default()
        };
        let worker = Worker::new(self.pool.clone(), publishing, self.outbox.wake.clone(), options);
        tokio::join!(worker.run(shutdown.clone()), archive.run(self.pool, shutdown));
    }
}

/// The relay's claim of up to `$1` due events; in id order, so events of one aggregate go out
/// in the order they were recorded.
pub fn claim_sql(schema: &str) -> String {
    format!(
        "SELECT id, event_id, event_type, routing_key, aggregate_id, aggregate_version, actor, \
         payload, traceparent, occurred_at, attempts FROM {schema}.outbox \
         WHERE available_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
    )
}

/// The relay's side of [`Work`]: one broker connection, opened when needed.
struct Publishing {
    schema: &'static str,
    url: secrecy::SecretString,
    topology: Topology,
    table: String,
    broker: Option<(Connection, Channel)>,
}

impl Publishing {
    async fn connect(&self) -> Result<(Connection, Channel)> {
        let conn =
            Connection::connect(self.url.expose_secret(), ConnectionProperties::default()).await?;
        let channel = conn.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        self.topology.declare_exchanges(&channel).await?;
        Ok((conn, channel))
    }

    /// Publishes every row, then waits for every confirm.
    async fn publish(&self, channel: &Channel, rows: &[Row]) -> Result<Vec<Outcome>> {
        let exchange = self.topology.events_exchange();
        let mut confirms = Vec::with_capacity(rows.len());
        for row in rows {
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
        let mut outcomes = Vec::with_capacity(rows.len());
        for confirm in confirms {
            outcomes.push(match confirm.await? {
                Confirmation::Ack(None) => Outcome::Done,
                // Unroutable: no queue is bound for it yet (e.g. its consumer has never
                // started). Keep it; it goes out once a consumer has declared its queue.
                Confirmation::Ack(Some(_)) => Outcome::Retry("unroutable".into()),
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    Outcome::Retry("refused by the broker".into())
                }
            });
        }
        Ok(outcomes)
    }
}

impl Work for Publishing {
    type Item = Row;

    fn table(&self) -> &str {
        &self.table
    }

    async fn ready(&mut self) -> anyhow::Result<()> {
        if self.broker.as_ref().is_some_and(|(_, channel)| channel.status().connected()) {
            return Ok(());
        }
        self.close().await;
        self.broker = Some(self.connect().await?);
        tracing::info!(schema = self.schema, "outbox relay connected");
        Ok(())
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Row>> {
        sqlx::query_as(AssertSqlSafe(claim_sql(self.schema))).bind(limit).fetch_all(tx).await
    }

    async fn perform(&mut self, rows: &[Row]) -> anyhow::Result<Vec<Outcome>> {
        let Some((_, channel)) = &self.broker else {
            anyhow::bail!("no broker channel");
        };
        match self.publish(channel, rows).await {
            Ok(outcomes) => {
                let sent = outcomes.iter().filter(|o| **o == Outcome::Done).count();
                tracing::debug!(sent, claimed = rows.len(), "outbox batch published");
                Ok(outcomes)
            }
            Err(err) => {
                // Reconnect before the next batch; these rows go out again then.
                self.close().await;
                Err(anyhow::Error::from(err).context("publish failed"))
            }
        }
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        let schema = self.schema;
        let columns = "id, event_id, event_type, routing_key, aggregate_id, aggregate_version, \
                       actor, payload, traceparent, occurred_at";
        sqlx::query(AssertSqlSafe(format!(
            "WITH sent AS (DELETE FROM {schema}.outbox WHERE id = ANY($1) RETURNING {columns}) \
             INSERT INTO {schema}.outbox_published ({columns}) SELECT {columns} FROM sent"
        )))
        .bind(ids)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn close(&mut self) {
        if let Some((conn, _)) = self.broker.take() {
            let _ = conn.close(200, "closing".into()).await;
        }
    }
}
