//! Event consumers with an idempotent inbox.
//!
//! Each delivery is handled in one database transaction that first records the event id in
//! `<schema>.inbox`; a redelivered event finds its id there and changes nothing. The message is
//! acknowledged only after that transaction commits. Malformed messages and handler errors go
//! to the queue's dead-letter queue; an unreachable database, or a handler failing with
//! [`Error::Unavailable`](crate::service_error::Error::Unavailable) (a service it calls is
//! down), puts the message back.
//!
//! Up to [`ConsumerOptions::concurrency`] deliveries are handled at once, each in its own
//! transaction and acknowledged after its own commit; with more than one, events may commit
//! out of order, so handlers then rely on `aggregateVersion` rather than arrival order.
//!
//! The owning service creates `<schema>.inbox (event_id uuid primary key, event_type text,
//! received_at timestamptz default now())`, indexed on `received_at`, in its migrations. Inbox
//! rows older than [`ConsumerOptions::inbox_retention`] are pruned: a broker redelivers within
//! minutes, not weeks.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::amqp::{self, Envelope, Topology};
use crate::config::AmqpConfig;
use crate::error::Result;
use crate::jobs::Retention;

/// What a consumer does with one event, inside the inbox transaction.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        tx: &mut PgConnection,
        event: &Envelope,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

pub struct Consumer<H> {
    pub pool: PgPool,
    pub schema: &'static str,
    pub amqp: AmqpConfig,
    /// Queue name without prefix, `<service>.<purpose>`.
    pub queue: &'static str,
    pub routing_keys: &'static [&'static str],
    pub handler: H,
    pub options: ConsumerOptions,
}

#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Deliveries the broker sends ahead of our acks.
    pub prefetch: u16,
    /// Deliveries handled at once.
    pub concurrency: usize,
    /// How long an event id stays in the inbox.
    pub inbox_retention: Duration,
    /// How often the inbox is pruned.
    pub prune_every: Duration,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            prefetch: 16,
            concurrency: 1,
            inbox_retention: Duration::from_secs(7 * 24 * 3600),
            prune_every: Duration::from_secs(3600),
        }
    }
}

enum Outcome {
    Done,
    Duplicate,
    /// Put back: the failure is ours (database down), not the message's.
    Retry,
    DeadLetter,
}

impl<H: Handler> Consumer<H> {
    pub async fn run(self, shutdown: CancellationToken) {
        let inbox = Retention {
            table: format!("{}.inbox", self.schema),
            column: "received_at",
            keep: self.options.inbox_retention,
            every: self.options.prune_every,
        };
        tokio::join!(self.consume_until(&shutdown), inbox.run(self.pool.clone(), shutdown.clone()));
    }

    async fn consume_until(&self, shutdown: &CancellationToken) {
        let topology = Topology::new(&self.amqp);
        let queue = topology.queue(self.queue);
        while !shutdown.is_cancelled() {
            let Some(conn) = amqp::connect_with_retry(&self.amqp.url, self.queue, shutdown).await
            else {
                return;
            };
            if let Err(err) = self.consume(&conn, &topology, &queue, shutdown).await {
                tracing::warn!(%err, queue, "consumer stopped, reconnecting");
            }
            let _ = conn.close(200, "reconnect".into()).await;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    async fn consume(
        &self,
        conn: &lapin::Connection,
        topology: &Topology,
        queue: &str,
        shutdown: &CancellationToken,
    ) -> Result<()> {
        let channel = conn.create_channel().await?;
        channel.basic_qos(self.options.prefetch, BasicQosOptions::default()).await?;
        topology.declare_queue(&channel, queue, self.routing_keys).await?;
        let mut deliveries = channel
            .basic_consume(
                queue.into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue, "consumer started");
        let concurrency = self.options.concurrency.max(1);
        let mut in_flight = FuturesUnordered::new();
        let stopped = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
                Some(handled) = in_flight.next() => {
                    if let Err(err) = handled {
                        break Err(err);
                    }
                }
                next = deliveries.next(), if in_flight.len() < concurrency => match next {
                    Some(Ok(delivery)) => in_flight.push(self.handle(queue, delivery)),
                    Some(Err(err)) => break Err(err.into()),
                    None => break Ok(()),
                },
            }
        };
        // Finish (and acknowledge) what is in hand before the channel closes.
        while let Some(handled) = in_flight.next().await {
            if let Err(err) = handled {
                tracing::warn!(%err, queue, "acknowledgement failed");
            }
        }
        stopped
    }

    /// Processes one delivery and acknowledges it after its transaction committed.
    async fn handle(&self, queue: &str, delivery: Delivery) -> Result<()> {
        let span = tracing::info_span!("consume", queue, routing_key = %delivery.routing_key);
        amqp_parent(&span, &delivery);
        let outcome = self.process(&delivery).instrument(span).await;
        match outcome {
            Outcome::Done | Outcome::Duplicate => {
                delivery.acker.ack(BasicAckOptions::default()).await?;
            }
            Outcome::Retry => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                delivery
                    .acker
                    .nack(BasicNackOptions { requeue: true, ..Default::default() })
                    .await?;
            }
            Outcome::DeadLetter => {
                delivery
                    .acker
                    .nack(BasicNackOptions { requeue: false, ..Default::default() })
                    .await?;
            }
        }
        Ok(())
    }

    async fn process(&self, delivery: &Delivery) -> Outcome {
        let event: Envelope = match serde_json::from_slice(&delivery.data) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(%err, "malformed event, dead-lettered");
                return Outcome::DeadLetter;
            }
        };
        match self.apply(&event).await {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Duplicate,
            Err(err) => {
                let transient = may_pass(&err);
                tracing::warn!(error = %err, event_id = %event.event_id, transient, "event handling failed");
                if transient { Outcome::Retry } else { Outcome::DeadLetter }
            }
        }
    }

    /// Returns false when the event had been handled before.
    async fn apply(&self, event: &Envelope) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {}.inbox (event_id, event_type) VALUES ($1, $2) \
             ON CONFLICT (event_id) DO NOTHING",
            self.schema
        )))
        .bind(event.event_id)
        .bind(&event.event_type)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        self.handler.handle(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Whether a handler's failure may pass by itself: the database or a service it calls is
/// unreachable or restarting. Such a delivery is put back; any other failure is dead-lettered.
fn may_pass(err: &anyhow::Error) -> bool {
    use crate::service_error::Error;
    err.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<sqlx::Error>() {
            return crate::db::is_transient(e);
        }
        match cause.downcast_ref::<Error>() {
            Some(Error::Unavailable { .. }) => true,
            Some(Error::Database(e)) => crate::db::is_transient(e),
            _ => false,
        }
    })
}

fn amqp_parent(span: &tracing::Span, delivery: &Delivery) {
    let headers = delivery.properties.headers().as_ref();
    crate::telemetry::set_remote_parent(span, |key| amqp::header(headers, key));
}

#[cfg(test)]
mod tests {
    use super::may_pass;
    use crate::service_error::Error;

    #[test]
    fn an_unavailable_dependency_puts_the_delivery_back_other_failures_do_not() {
        let down = anyhow::Error::new(Error::unavailable("agent-svc cannot be reached"));
        assert!(may_pass(&down));
        assert!(may_pass(&down.context("scheduling a run")), "found behind context too");
        assert!(may_pass(&anyhow::Error::new(sqlx::Error::PoolTimedOut)));
        assert!(may_pass(&anyhow::Error::new(Error::Database(sqlx::Error::PoolTimedOut))));
        assert!(!may_pass(&anyhow::Error::new(Error::NotFound("agent 7".into()))));
        assert!(!may_pass(&anyhow::anyhow!("a bug")));
    }
}
