//! RabbitMQ topology and connection handling shared by the outbox relay and the consumers.
//!
//! One durable topic exchange carries every domain event (routing key `<domain>.<EventType>`);
//! a second one takes dead letters. Each consumer owns a durable queue `<service>.<purpose>`
//! with a `.dlq` sibling for messages that keep failing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::AmqpConfig;
use crate::error::Result;

/// The JSON body of every event message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub aggregate_id: String,
    /// Monotonic per aggregate, so consumers can drop stale or reordered events.
    pub aggregate_version: i64,
    /// User id, or `system`.
    pub actor: String,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    queue_expires_ms: Option<u32>,
}

impl Topology {
    pub fn new(config: &AmqpConfig) -> Self {
        Self { prefix: config.prefix.clone(), queue_expires_ms: config.queue_expires_ms }
    }

    pub fn events_exchange(&self) -> String {
        format!("{}enneo.events", self.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}enneo.events.dlx", self.prefix)
    }

    pub fn queue(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    pub async fn declare_exchanges(&self, channel: &Channel) -> Result<()> {
        let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
        for (name, kind) in [
            (self.events_exchange(), ExchangeKind::Topic),
            (self.dead_letter_exchange(), ExchangeKind::Fanout),
        ] {
            channel
                .exchange_declare(name.as_str().into(), kind, durable, FieldTable::default())
                .await?;
        }
        Ok(())
    }

    /// Declares `queue` (and its dead-letter queue) and binds it to `routing_keys`.
    pub async fn declare_queue(
        &self,
        channel: &Channel,
        queue: &str,
        routing_keys: &[&str],
    ) -> Result<()> {
        self.declare_exchanges(channel).await?;
        let durable = QueueDeclareOptions { durable: true, ..Default::default() };
        let dlq = format!("{queue}.dlq");
        channel.queue_declare(dlq.as_str().into(), durable, self.queue_arguments(None)).await?;
        channel
            .queue_bind(
                dlq.as_str().into(),
                self.dead_letter_exchange().as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let dlx = self.dead_letter_exchange();
        channel.queue_declare(queue.into(), durable, self.queue_arguments(Some(&dlx))).await?;
        for key in routing_keys {
            channel
                .queue_bind(
                    queue.into(),
                    self.events_exchange().as_str().into(),
                    (*key).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    fn queue_arguments(&self, dead_letter_exchange: Option<&str>) -> FieldTable {
        let mut args = FieldTable::default();
        if let Some(dlx) = dead_letter_exchange {
            args.insert(
                ShortString::from("x-dead-letter-exchange"),
                AMQPValue::LongString(dlx.into()),
            );
        }
        if let Some(ms) = self.queue_expires_ms {
            args.insert(ShortString::from("x-expires"), AMQPValue::LongUInt(ms));
        }
        args
    }
}

/// Connects, retrying with capped exponential back-off until it succeeds or `shutdown` fires.
/// A broker that is down delays work; it never fails the process.
pub async fn connect_with_retry(
    url: &SecretString,
    what: &str,
    shutdown: &CancellationToken,
) -> Option<Connection> {
    let mut delay = Duration::from_millis(200);
    loop {
        match Connection::connect(url.expose_secret(), ConnectionProperties::default()).await {
            Ok(conn) => return Some(conn),
            Err(err) => {
                tracing::warn!(%err, retry_in_ms = delay.as_millis() as u64, "{what}: broker unreachable");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Reads a string header of a delivery (e.g. `traceparent`).
pub fn header(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    match headers?.inner().get(key)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}
