//! Records every ticket event once in `quality.ticket_event`, and marks the test cases whose
//! ticket changed after their snapshot as stale.

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use sqlx::PgConnection;

use crate::test_cases::staleness;

pub const QUEUE: &str = "quality-svc.ticket-events";
pub const ROUTING_KEYS: &[&str] = &["ticket.#"];

pub struct Recorder;

impl Handler for Recorder {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let ticket_id: i64 = event.aggregate_id.parse()?;
        sqlx::query(
            "INSERT INTO quality.ticket_event \
             (event_id, ticket_id, event_type, aggregate_version, occurred_at, actor, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(event.event_id)
        .bind(ticket_id)
        .bind(&event.event_type)
        .bind(event.aggregate_version)
        .bind(event.occurred_at)
        .bind(&event.actor)
        .bind(&event.payload)
        .execute(&mut *tx)
        .await?;
        staleness::ticket_changed(tx, ticket_id, event.aggregate_version, event.occurred_at)
            .await?;
        Ok(())
    }
}
