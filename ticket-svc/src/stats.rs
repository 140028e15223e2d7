//! The stats read model: a projection of ticket events into `ticket.stats_ticket`, and the
//! counts `GET /ticket/stats` serves from it. It lags the ticket table by the event path, by
//! design: this is the query side, fed only by events.

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use enneo_proto::ticket::v1 as pb;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use crate::error::Result;

pub const QUEUE: &str = "ticket-svc.stats";
pub const ROUTING_KEYS: &[&str] = &["ticket.TicketCreated", "ticket.TicketUpdated"];

pub struct Projection;

#[derive(Deserialize)]
struct Payload {
    ticket: Snapshot,
}

#[derive(Deserialize)]
struct Snapshot {
    id: i64,
    status: String,
    channel: String,
    priority: String,
}

impl Handler for Projection {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let Payload { ticket } = serde_json::from_value(event.payload.clone())?;
        // Only a newer version replaces what we know: late or reordered events are dropped.
        sqlx::query(
            "INSERT INTO ticket.stats_ticket (ticket_id, version, status, channel, priority) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version, \
               status = EXCLUDED.status, channel = EXCLUDED.channel, \
               priority = EXCLUDED.priority, updated_at = now() \
             WHERE ticket.stats_ticket.version < EXCLUDED.version",
        )
        .bind(ticket.id)
        .bind(event.aggregate_version)
        .bind(&ticket.status)
        .bind(&ticket.channel)
        .bind(&ticket.priority)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// Open tickets in total and by channel/priority; every status by count.
pub async fn read(pool: &PgPool) -> Result<pb::GetTicketStatsResponse> {
    let counts = |sql: &'static str| async move {
        let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
        Ok::<_, sqlx::Error>(
            rows.into_iter().map(|(key, count)| pb::Count { key, count }).collect::<Vec<_>>(),
        )
    };
    let by_status =
        counts("SELECT status, count(*) FROM ticket.stats_ticket GROUP BY status ORDER BY status")
            .await?;
    let by_channel = counts(
        "SELECT channel, count(*) FROM ticket.stats_ticket WHERE status = 'open' \
         GROUP BY channel ORDER BY channel",
    )
    .await?;
    let by_priority = counts(
        "SELECT priority, count(*) FROM ticket.stats_ticket WHERE status = 'open' \
         GROUP BY priority ORDER BY priority",
    )
    .await?;
    let total = by_status.iter().filter(|c| c.key == "open").map(|c| c.count).sum();
    Ok(pb::GetTicketStatsResponse { total, by_status, by_channel, by_priority })
}
