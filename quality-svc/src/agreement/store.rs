//! Keeps `quality.agreement` from agent-svc's `TicketIntentsChanged` (whole current set of a
//! ticket's active intents, with who changed it) and ticket-svc's `TicketUpdated` (closes).
//! Each event is applied once (inbox); an intents event older than the last one applied to the
//! ticket is dropped.

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use serde::Deserialize;
use sqlx::PgConnection;

pub const QUEUE: &str = "quality-svc.agreement";
pub const ROUTING_KEYS: &[&str] = &["agent.TicketIntentsChanged"];

const TICKET_INTENTS_CHANGED: &str = "TicketIntentsChanged";
const TICKET_UPDATED: &str = "TicketUpdated";
const TICKET_DELETED: &str = "TicketDeleted";

/// The actor of events nobody in particular caused.
const SYSTEM: &str = "system";

pub struct IntentChanges;

impl Handler for IntentChanges {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.event_type == TICKET_INTENTS_CHANGED {
            intents_changed(tx, event).await?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentsPayload {
    ai_agent_ids: Vec<i64>,
    /// `user` or `detection`; events without it are judged by their actor.
    source: Option<String>,
}

async fn intents_changed(tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
    let ticket_id: i64 = event.aggregate_id.parse()?;
    let payload: IntentsPayload = serde_json::from_value(event.payload.clone())?;
    let by_user = match payload.source.as_deref() {
        Some(source) => source == "user",
        None => event.actor != SYSTEM,
    };
    // The row lock also serialises concurrent events of one ticket.
    let newer = sqlx::query(
        "INSERT INTO quality.agreement_ticket (ticket_id, intents_version) VALUES ($1, $2) \
         ON CONFLICT (ticket_id) DO UPDATE SET intents_version = EXCLUDED.intents_version \
         WHERE quality.agreement_ticket.intents_version < EXCLUDED.intents_version",
    )
    .bind(ticket_id)
    .bind(event.aggregate_version)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if newer == 0 {
        return Ok(());
    }
    if by_user {
        user_changed(tx, ticket_id, &payload.ai_agent_ids, event).await
    } else {
        detected(tx, ticket_id, &payload.ai_agent_ids, event).await
    }
}

/// Detection (or the system) changed the set: what it added is detected and undecided; what it
/// dropped no longer counts at a close.
async fn detected(
    tx: &mut PgConnection,
    ticket_id: i64,
    agents: &[i64],
    event: &Envelope,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE quality.agreement SET present = false, event_id = $3 \
         WHERE ticket_id = $1 AND present AND NOT (ai_agent_id = ANY($2))",
    )
    .bind(ticket_id)
    .bind(agents)
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO quality.agreement (ticket_id, ai_agent_id, detected, present, event_id) \
         SELECT $1, agent, true, true, $3 FROM unnest($2::bigint[]) AS agent \
         ON CONFLICT (ticket_id, ai_agent_id) DO UPDATE SET present = true, \
           event_id = EXCLUDED.event_id \
         WHERE NOT quality.agreement.present",
    )
    .bind(ticket_id)
    .bind(agents)
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A person changed the set: a detected agent removed is a false positive (an added one the
/// person had added withdraws that miss); an agent added is a miss unless the AI had detected
/// it, then it is agreed.
async fn user_changed(
    tx: &mut PgConnection,
    ticket_id: i64,
    agents: &[i64],
    event: &Envelope,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE quality.agreement SET present = false, \
           verdict = CASE WHEN detected THEN 'falsePositive' END, \
           decided_at = CASE WHEN detected THEN $3 END, \
           decided_by = CASE WHEN detected THEN $4 END, event_id = $5 \
         WHERE ticket_id = $1 AND present AND NOT (ai_agent_id = ANY($2))",
    )
    .bind(ticket_id)
    .bind(agents)
    .bind(event.occurred_at)
    .bind(&event.actor)
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO quality.agreement \
           (ticket_id, ai_agent_id, detected, present, verdict, decided_at, decided_by, event_id) \
         SELECT $1, agent, false, true, 'miss', $3, $4, $5 FROM unnest($2::bigint[]) AS agent \
         ON CONFLICT (ticket_id, ai_agent_id) DO UPDATE SET present = true, \
           verdict = CASE WHEN quality.agreement.detected THEN 'agreed' ELSE 'miss' END, \
           decided_at = EXCLUDED.decided_at, decided_by = EXCLUDED.decided_by, \
           event_id = EXCLUDED.event_id \
         WHERE NOT quality.agreement.present",
    )
    .bind(ticket_id)
    .bind(agents)
    .bind(event.occurred_at)
    .bind(&event.actor)
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TicketPayload {
    ticket: Option<TicketSnapshot>,
    #[serde(default)]
    changed_fields: Vec<String>,
}

#[derive(Deserialize)]
struct TicketSnapshot {
    status: String,
}

/// A ticket event: a person closing the ticket agrees with the AI intents still on it and not
/// yet decided; a deleted ticket takes its agreement along.
pub async fn ticket_event(tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
    let ticket_id: i64 = event.aggregate_id.parse()?;
    if event.event_type == TICKET_DELETED {
        sqlx::query("DELETE FROM quality.agreement WHERE ticket_id = $1")
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
        return Ok(());
    }
    if event.event_type != TICKET_UPDATED || event.actor == SYSTEM {
        return Ok(());
    }
    let payload: TicketPayload = serde_json::from_value(event.payload.clone())?;
    let closed = payload.ticket.is_some_and(|t| t.status == "closed")
        && payload.changed_fields.iter().any(|f| f == "status");
    if !closed {
        return Ok(());
    }
    sqlx::query(
        "UPDATE quality.agreement SET verdict = 'agreed', decided_at = $2, decided_by = $3, \
           event_id = $4 \
         WHERE ticket_id = $1 AND detected AND present AND verdict IS NULL",
    )
    .bind(ticket_id)
    .bind(event.occurred_at)
    .bind(&event.actor)
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
