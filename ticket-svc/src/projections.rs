//! The read side of ticket-svc, fed by events through one queue (one inbox per schema, so one
//! consumer): the stats counts, the activity trail, the settings routing needs and the AI agents
//! of each ticket's intents (from agent-svc).

use enneo_common::amqp::Envelope;
use enneo_common::consumer::Handler;
use serde::Deserialize;
use sqlx::PgConnection;

use crate::events::{
    CONVERSATION_CREATED, TICKET_CREATED, TICKET_DELETED, TICKET_FORWARDED, TICKET_RESPONSE,
    TICKET_ROUTED, TICKET_UPDATED,
};

pub const QUEUE: &str = "ticket-svc.projections";
pub const ROUTING_KEYS: &[&str] =
    &["ticket.#", "settings.SettingChanged", "agent.TicketIntentsChanged"];

/// agent-svc's event: the whole current set of a ticket's active intents.
pub const TICKET_INTENTS_CHANGED: &str = "TicketIntentsChanged";

/// Settings this service acts on; see [`crate::routing::Config::current`].
pub const CACHED_SETTINGS: &[&str] = &["autopilotTagMatchingMode", "autopilotOrderingSequence"];

pub struct Projections;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    ticket: Option<Snapshot>,
    #[serde(default)]
    changed_fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    status: String,
    channel: String,
    priority: String,
    #[serde(default)]
    tag_ids: Vec<i64>,
}

impl Handler for Projections {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.event_type == "SettingChanged" {
            return cache_setting(tx, event).await;
        }
        if event.event_type == TICKET_INTENTS_CHANGED {
            return ticket_intents(tx, event).await;
        }
        let ticket_id: i64 = event.aggregate_id.parse()?;
        let payload: Payload = serde_json::from_value(event.payload.clone())?;
        if event.event_type == TICKET_DELETED {
            // A hard delete erases what we derived from the ticket too.
            sqlx::query("DELETE FROM ticket.stats_ticket WHERE ticket_id = $1")
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM ticket.activity WHERE ticket_id = $1")
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM ticket.ticket_intent WHERE ticket_id = $1")
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM ticket.ticket_intent_version WHERE ticket_id = $1")
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            return Ok(());
        }
        if let Some(ticket) = &payload.ticket {
            stats(tx, ticket_id, event.aggregate_version, ticket).await?;
        }
        // The trail already has the message as conversationCreated.
        if event.event_type == TICKET_RESPONSE {
            return Ok(());
        }
        activity(tx, ticket_id, event, &payload.changed_fields).await
    }
}

async fn stats(
    tx: &mut PgConnection,
    ticket_id: i64,
    version: i64,
    ticket: &Snapshot,
) -> anyhow::Result<()> {
    // Only a newer version replaces what we know: late or reordered events are dropped.
    sqlx::query(
        "INSERT INTO ticket.stats_ticket (ticket_id, version, status, channel, priority, tag_ids) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version, \
           status = EXCLUDED.status, channel = EXCLUDED.channel, \
           priority = EXCLUDED.priority, tag_ids = EXCLUDED.tag_ids, updated_at = now() \
         WHERE ticket.stats_ticket.version < EXCLUDED.version",
    )
    .bind(ticket_id)
    .bind(version)
    .bind(&ticket.status)
    .bind(&ticket.channel)
    .bind(&ticket.priority)
    .bind(&ticket.tag_ids)
    .execute(tx)
    .await?;
    Ok(())
}

async fn activity(
    tx: &mut PgConnection,
    ticket_id: i64,
    event: &Envelope,
    changed: &[String],
) -> anyhow::Result<()> {
    let kind = match event.event_type.as_str() {
        TICKET_CREATED => "ticketCreated",
        TICKET_UPDATED => "ticketUpdated",
        TICKET_ROUTED => "ticketRouted",
        TICKET_FORWARDED => "ticketForwarded",
        CONVERSATION_CREATED => "conversationCreated",
        other => other,
    };
    sqlx::query(
        "INSERT INTO ticket.activity \
         (event_id, ticket_id, type, occurred_at, actor, changed_fields, version, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.event_id)
    .bind(ticket_id)
    .bind(kind)
    .bind(event.occurred_at)
    .bind(&event.actor)
    .bind(changed)
    .bind(event.aggregate_version)
    .bind(enneo_common::telemetry::current_traceparent())
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentsPayload {
    ai_agent_ids: Option<Vec<i64>>,
    #[serde(default)]
    intents: Vec<IntentRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentRef {
    ai_agent_id: i64,
}

/// Replaces the ticket's AI agents with the event's set, unless a newer event came first.
async fn ticket_intents(tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
    let ticket_id: i64 = event.aggregate_id.parse()?;
    let payload: IntentsPayload = serde_json::from_value(event.payload.clone())?;
    let mut agent_ids = payload
        .ai_agent_ids
        .unwrap_or_else(|| payload.intents.iter().map(|i| i.ai_agent_id).collect());
    agent_ids.sort_unstable();
    agent_ids.dedup();
    // The ticket exists before agent-svc ever hears of it, so a missing one was hard-deleted:
    // a late event must not bring its rows back. The key-share lock makes a concurrent delete
    // wait for us, so its TicketDeleted then clears what we write.
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM ticket.ticket WHERE id = $1 FOR KEY SHARE")
            .bind(ticket_id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Ok(());
    }
    // The version row also serialises concurrent events of one ticket (its row lock).
    let newer = sqlx::query(
        "INSERT INTO ticket.ticket_intent_version (ticket_id, version) VALUES ($1, $2) \
         ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version, updated_at = now() \
         WHERE ticket.ticket_intent_version.version < EXCLUDED.version",
    )
    .bind(ticket_id)
    .bind(event.aggregate_version)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if newer == 0 {
        return Ok(());
    }
    sqlx::query("DELETE FROM ticket.ticket_intent WHERE ticket_id = $1")
        .bind(ticket_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO ticket.ticket_intent (ticket_id, ai_agent_id) \
         SELECT $1, unnest($2::bigint[])",
    )
    .bind(ticket_id)
    .bind(&agent_ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Keeps the settings routing uses; newer versions only, so a late event never wins.
async fn cache_setting(tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
    if let Some(id) = event.aggregate_id.strip_prefix("tag:") {
        return cache_tag(tx, id.parse()?, event).await;
    }
    let Some(name) = event.aggregate_id.strip_prefix("setting:") else {
        return Ok(());
    };
    if !CACHED_SETTINGS.contains(&name) {
        return Ok(());
    }
    let Some(value) = event.payload.pointer("/change/value") else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO ticket.setting_cache (name, value, version) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, \
           updated_at = now() WHERE ticket.setting_cache.version < EXCLUDED.version",
    )
    .bind(name)
    .bind(value)
    .bind(event.aggregate_version)
    .execute(tx)
    .await?;
    Ok(())
}

/// Tracks whether routing should ignore a tag (not routing-relevant, disabled or deleted).
async fn cache_tag(tx: &mut PgConnection, tag_id: i64, event: &Envelope) -> anyhow::Result<()> {
    let change = event.payload.get("change").cloned().unwrap_or_default();
    let prop = change.get("prop").and_then(serde_json::Value::as_str);
    let value = change.get("value");
    let (relevant, disabled, deleted) = match prop {
        Some("routingRelevance") => (value.and_then(serde_json::Value::as_bool), None, None),
        Some("visibility") => {
            (None, value.and_then(serde_json::Value::as_str).map(|v| v == "disabled"), None)
        }
        Some(_) => return Ok(()),
        None => (
            change.get("routingRelevance").and_then(serde_json::Value::as_bool),
            change.get("visibility").and_then(serde_json::Value::as_str).map(|v| v == "disabled"),
            change.get("deleted").and_then(serde_json::Value::as_bool),
        ),
    };
    sqlx::query(
        "INSERT INTO ticket.tag_cache (tag_id, routing_relevant, disabled, deleted, version) \
         VALUES ($1, coalesce($2, true), coalesce($3, false), coalesce($4, false), $5) \
         ON CONFLICT (tag_id) DO UPDATE SET \
           routing_relevant = coalesce($2, ticket.tag_cache.routing_relevant), \
           disabled = coalesce($3, ticket.tag_cache.disabled), \
           deleted = coalesce($4, ticket.tag_cache.deleted), \
           version = EXCLUDED.version, updated_at = now() \
         WHERE ticket.tag_cache.version < EXCLUDED.version",
    )
    .bind(tag_id)
    .bind(relevant)
    .bind(disabled)
    .bind(deleted)
    .bind(event.aggregate_version)
    .execute(tx)
    .await?;
    Ok(())
}

/// Tags routing ignores: not routing-relevant, disabled or deleted.
pub async fn ignored_tags(conn: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT tag_id FROM ticket.tag_cache WHERE NOT routing_relevant OR disabled OR deleted",
    )
    .fetch_all(conn)
    .await
}
