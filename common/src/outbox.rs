//! Transactional outbox: a domain write and its event commit together, and a relay publishes
//! committed events to RabbitMQ with publisher confirms. If the broker is down, rows wait and
//! go out later; a crash between publish and "mark sent" only re-sends (consumers dedupe by
//! event id), it never loses an event.
//!
//! `<schema>.outbox` holds only events still to publish: the relay moves each confirmed event
//! into `<schema>.outbox_published`, which keeps them for a retention period. So the relay's
//! claim reads the few waiting rows, however many events went out before.
//!
//! An event the broker does not take (unroutable: no queue is bound to its routing key; or
//! refused) is tried again after a back-off that grows to five minutes, so it never holds up
//! newer ones. Its consumer may just not have declared its queue yet (it starts after us), so
//! the attempts span about 25 minutes ([`RelayOptions::default`]); after the last one the event
//! is parked: moved to `<schema>.outbox_parked` with the reason, logged once at WARN, never
//! claimed again, and kept for a retention period for an operator (its migration shows how to
//! send it again). A broker that is down as a whole costs no attempts: rows wait untouched.
//! [`backlog`] counts what waits and what was parked, for the services' status RPC.
//!
//! The owning service creates in its migrations
//! `<schema>.outbox (id bigserial, event_id uuid, event_type text, routing_key text,
//!  aggregate_id text, aggregate_version bigint, actor text, payload jsonb, traceparent text,
//!  occurred_at timestamptz, attempts integer default 0, available_at timestamptz default now(),
//!  last_error text)`, `<schema>.outbox_published` with the same event columns plus
//! `published_at timestamptz` (indexed), and `<schema>.outbox_parked` with the event columns
//! plus `attempts integer`, `parked_at timestamptz` (indexed) and `reason text`. A queue
//! table's dead rows must be vacuumed after a fixed number, not a fraction of the table: the
//! relay vacuums the outbox every [`VACUUM_AFTER`] published events, and the migrations tune
//! autovacuum to the same effect.

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
    /// How long parked events stay in `<schema>.outbox_parked`.
    pub parked_retention: Duration,
    /// How often those tables are pruned.
    pub prune_every: Duration,
    /// The wait before the next attempt at an event the broker did not take.
    pub retry: Backoff,
    /// Attempts at one event before it is parked.
    pub max_attempts: i32,
}

impl Default for RelayOptions {
    /// 12 attempts, 2 s apart doubling up to 5 minutes: the last one about 25 minutes after
    /// the first, time enough for every consumer to have started and declared its queue.
    fn default() -> Self {
        Self {
            published_retention: Duration::from_secs(7 * 24 * 3600),
            parked_retention: Duration::from_secs(30 * 24 * 3600),
            prune_every: Duration::from_secs(3600),
            retry: Backoff::new(Duration::from_secs(2), Duration::from_secs(300)),
            max_attempts: 12,
        }
    }
}

impl RelayOptions {
    /// How long after its first attempt an event that is never taken gets parked.
    pub fn parked_after(&self) -> Duration {
        (0..self.max_attempts - 1).map(|attempts| self.retry.delay(attempts)).sum()
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
/// The columns an event keeps from the outbox into its archive or the parked events.
const EVENT_COLUMNS: [&str; 10] = [
    "id",
    "event_id",
    "event_type",
    "routing_key",
    "aggregate_id",
    "aggregate_version",
    "actor",
    "payload",
    "traceparent",
    "occurred_at",
];

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
        let parked = Retention {
            table: format!("{schema}.outbox_parked"),
            column: "parked_at",
            keep: self.options.parked_retention,
            every: self.options.prune_every,
        };
        let publishing = Publishing {
            schema,
            url: self.amqp.url.clone(),
            topology: Topology::new(&self.amqp),
            table: format!("{schema}.outbox"),
            max_attempts: self.options.max_attempts,
            broker: None,
        };
        let options = jobs::Options {
            batch: BATCH,
            retry: self.options.retry,
            vacuum_after: Some(VACUUM_AFTER),
            ..Default::default()
        };
        let worker = Worker::new(self.pool.clone(), publishing, self.outbox.wake.clone(), options);
        tokio::join!(
            worker.run(shutdown.clone()),
            archive.run(self.pool.clone(), shutdown.clone()),
            parked.run(self.pool, shutdown)
        );
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
    max_attempts: i32,
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
        for (row, confirm) in rows.iter().zip(confirms) {
            outcomes.push(match confirm.await? {
                Confirmation::Ack(None) => Outcome::Done,
                // Unroutable: no queue is bound for it (yet: its consumer may not have
                // started). Tried again; it goes out once a consumer has declared its queue.
                Confirmation::Ack(Some(_)) => not_taken(
                    row.attempts,
                    self.max_attempts,
                    format!("unroutable: no queue is bound to {}", row.routing_key),
                ),
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    not_taken(row.attempts, self.max_attempts, "refused by the broker".into())
                }
            });
        }
        Ok(outcomes)
    }
}

/// An event the broker did not take, after `attempts` earlier failures: another attempt
/// later, or parked when this was the last one.
fn not_taken(attempts: i32, max_attempts: i32, error: String) -> Outcome {
    let attempts = attempts.saturating_add(1);
    if attempts >= max_attempts {
        Outcome::Failed(format!("{error}; parked after {attempts} attempts"))
    } else {
        Outcome::Retry(error)
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
        let columns = EVENT_COLUMNS.join(", ");
        sqlx::query(AssertSqlSafe(format!(
            "WITH sent AS (DELETE FROM {schema}.outbox WHERE id = ANY($1) RETURNING {columns}) \
             INSERT INTO {schema}.outbox_published ({columns}) SELECT {columns} FROM sent"
        )))
        .bind(ids)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Parks events out of the outbox (the loop has logged each one), so no claim reads them
    /// again however many pile up. An event sent again by copying it back from the parked
    /// ones and parked once more replaces its earlier record.
    async fn failed(
        &mut self,
        tx: &mut PgConnection,
        failed: &[(i64, String)],
    ) -> sqlx::Result<()> {
        let schema = self.schema;
        let columns = EVENT_COLUMNS.join(", ");
        let returned = EVENT_COLUMNS.map(|c| format!("o.{c}")).join(", ");
        let (ids, reasons): (Vec<i64>, Vec<String>) = failed.iter().cloned().unzip();
        sqlx::query(AssertSqlSafe(format!(
            "WITH parked AS (DELETE FROM {schema}.outbox o \
               USING unnest($1::bigint[], $2::text[]) AS f(id, reason) WHERE o.id = f.id \
               RETURNING {returned}, o.attempts + 1 AS attempts, f.reason) \
             INSERT INTO {schema}.outbox_parked ({columns}, attempts, reason) \
             SELECT {columns}, attempts, reason FROM parked \
             ON CONFLICT (id) DO UPDATE SET attempts = excluded.attempts, \
               parked_at = now(), reason = excluded.reason"
        )))
        .bind(ids)
        .bind(reasons)
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

/// How far one schema's relay is behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Events not published yet: due now or backing off.
    pub pending: i64,
    /// Seconds since the oldest pending event (the first recorded) was recorded; `None` when
    /// none is pending.
    pub oldest_pending_age_seconds: Option<i64>,
    /// Events given up on, still in `<schema>.outbox_parked`.
    pub parked: i64,
}

/// The backlog of `schema`'s outbox. Cheap while the relay keeps up: the outbox holds only
/// waiting rows, its oldest is found through the primary key, and parked rows are few.
pub async fn backlog(pool: &PgPool, schema: &'static str) -> sqlx::Result<Backlog> {
    let sql = format!(
        "SELECT (SELECT count(*) FROM {schema}.outbox), \
         (SELECT greatest(0, floor(extract(epoch FROM now() - occurred_at)))::bigint \
            FROM {schema}.outbox ORDER BY id LIMIT 1), \
         (SELECT count(*) FROM {schema}.outbox_parked)"
    );
    let (pending, oldest_pending_age_seconds, parked) =
        sqlx::query_as(AssertSqlSafe(sql)).fetch_one(pool).await?;
    Ok(Backlog { pending, oldest_pending_age_seconds, parked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_no_queue_takes_is_tried_for_minutes_before_it_is_parked() {
        let options = RelayOptions::default();
        let span = options.parked_after();
        assert!(span >= Duration::from_secs(20 * 60), "parked after only {span:?}");
        assert!(span <= Duration::from_secs(30 * 60), "parked only after {span:?}");
        let short = RelayOptions {
            retry: Backoff::new(Duration::from_secs(1), Duration::from_secs(1)),
            max_attempts: 3,
            ..options
        };
        assert_eq!(short.parked_after(), Duration::from_secs(2), "two waits between 3 attempts");
    }

    #[test]
    fn the_last_attempt_parks_and_earlier_ones_retry() {
        let error = || "unroutable: no queue is bound to ticket.X".to_owned();
        assert_eq!(not_taken(0, 12, error()), Outcome::Retry(error()));
        assert_eq!(not_taken(10, 12, error()), Outcome::Retry(error()));
        assert_eq!(
            not_taken(11, 12, error()),
            Outcome::Failed(format!("{}; parked after 12 attempts", error()))
        );
        // Rows from before a lower limit are parked at their next failure.
        assert!(matches!(not_taken(40, 12, error()), Outcome::Failed(_)));
    }
}
