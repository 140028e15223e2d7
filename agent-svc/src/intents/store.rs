//! Intents in `agent.intent`: at most one active (preview, ready, executed) per ticket, agent
//! and contract.

use chrono::{DateTime, Utc};
use enneo_common::service_error::{Error, Result};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

pub const STATUSES: &[&str] =
    &["preview", "ready", "executed", "invalidated", "deleted", "archived"];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntentRow {
    pub id: i64,
    pub ticket_id: i64,
    pub agent_id: i64,
    pub contract_id: String,
    pub status: String,
    pub confidence: f32,
    pub verified: bool,
    pub evidence: String,
    pub data: Value,
    pub corrections: Value,
    pub decision: Value,
    pub outcome: Option<Value>,
    pub executed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, ticket_id, agent_id, contract_id, status, confidence, verified, \
    evidence, data, corrections, decision, outcome, executed_at, created_at, modified_at";

/// What detection (or an on-the-fly execute) found.
#[derive(Debug, Clone)]
pub struct Detected {
    pub ticket_id: i64,
    pub agent_id: i64,
    pub contract_id: String,
    pub confidence: f32,
    pub evidence: String,
    pub data: Value,
    pub decision: Value,
}

/// Writes a detection: a new active intent, or an update of the active one unless it was
/// executed already (what happened stays as it happened).
pub async fn upsert(tx: &mut PgConnection, d: &Detected) -> Result<IntentRow> {
    let sql = format!(
        "INSERT INTO agent.intent (ticket_id, agent_id, contract_id, confidence, evidence, data, decision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (ticket_id, agent_id, contract_id) WHERE status IN ('preview', 'ready', 'executed') \
         DO UPDATE SET confidence = excluded.confidence, evidence = excluded.evidence, \
             data = excluded.data, decision = excluded.decision, modified_at = now() \
           WHERE agent.intent.status <> 'executed' \
         RETURNING {COLUMNS}"
    );
    let row: Option<IntentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(d.ticket_id)
        .bind(d.agent_id)
        .bind(&d.contract_id)
        .bind(d.confidence.clamp(0.0, 1.0))
        .bind(&d.evidence)
        .bind(&d.data)
        .bind(&d.decision)
        .fetch_optional(&mut *tx)
        .await?;
    match row {
        Some(row) => Ok(row),
        None => active(tx, d.ticket_id, d.agent_id, &d.contract_id)
            .await?
            .ok_or_else(|| Error::Internal("active intent vanished".into())),
    }
}

pub async fn active(
    conn: &mut PgConnection,
    ticket_id: i64,
    agent_id: i64,
    contract_id: &str,
) -> Result<Option<IntentRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM agent.intent WHERE ticket_id = $1 AND agent_id = $2 \
         AND contract_id = $3 AND status IN ('preview', 'ready', 'executed')"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ticket_id)
        .bind(agent_id)
        .bind(contract_id)
        .fetch_optional(conn)
        .await?)
}

/// The visible intents of tickets (not deleted or archived), by ticket then confidence.
pub async fn of_tickets(pool: &PgPool, ticket_ids: &[i64]) -> Result<Vec<IntentRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM agent.intent WHERE ticket_id = ANY($1) \
         AND status IN ('preview', 'ready', 'executed', 'invalidated') \
         ORDER BY ticket_id, confidence DESC, id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ticket_ids).fetch_all(pool).await?)
}

pub async fn get(conn: &mut PgConnection, id: i64) -> Result<IntentRow> {
    let sql = format!("SELECT {COLUMNS} FROM agent.intent WHERE id = $1 AND status <> 'deleted'");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("intent {id} not found")))
}

pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<IntentRow> {
    let sql = format!(
        "SELECT {COLUMNS} FROM agent.intent WHERE id = $1 AND status <> 'deleted' FOR UPDATE"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("intent {id} not found")))
}

#[derive(Debug, Default)]
pub struct Filter {
    pub ticket_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub status: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn list(pool: &PgPool, f: &Filter) -> Result<(Vec<IntentRow>, i64)> {
    let filter = "($1::bigint IS NULL OR ticket_id = $1) AND ($2::bigint IS NULL OR agent_id = $2) \
         AND (CASE WHEN $3::text IS NULL THEN status <> 'deleted' ELSE status = $3 END)";
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM agent.intent WHERE {filter}"
    )))
    .bind(f.ticket_id)
    .bind(f.agent_id)
    .bind(&f.status)
    .fetch_one(pool)
    .await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM agent.intent WHERE {filter} ORDER BY id DESC LIMIT $4 OFFSET $5"
    );
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(f.ticket_id)
        .bind(f.agent_id)
        .bind(&f.status)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(pool)
        .await?;
    Ok((rows, total))
}

/// Saves a human's corrections, status or verification and the recomputed decision.
pub async fn save(conn: &mut PgConnection, row: &IntentRow) -> Result<IntentRow> {
    let sql = format!(
        "UPDATE agent.intent SET status = $2, verified = $3, corrections = $4, decision = $5, \
         outcome = $6, executed_at = $7, modified_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(row.id)
        .bind(&row.status)
        .bind(row.verified)
        .bind(&row.corrections)
        .bind(&row.decision)
        .bind(&row.outcome)
        .bind(row.executed_at)
        .fetch_one(conn)
        .await?)
}

/// The outcome an earlier execution of `action` on this intent answered, if any.
pub async fn execution(
    conn: &mut PgConnection,
    intent_id: i64,
    action: &str,
) -> Result<Option<Value>> {
    let row: Option<(Value,)> =
        sqlx::query_as("SELECT outcome FROM agent.execution WHERE intent_id = $1 AND action = $2")
            .bind(intent_id)
            .bind(action)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(o,)| o))
}

/// Claims `action` on the intent; false when it was claimed before (a retried request).
pub async fn claim_execution(
    conn: &mut PgConnection,
    intent_id: i64,
    action: &str,
    outcome: &Value,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO agent.execution (intent_id, action, outcome) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(intent_id)
    .bind(action)
    .bind(outcome)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn finish_execution(
    conn: &mut PgConnection,
    intent_id: i64,
    action: &str,
    outcome: &Value,
) -> Result<()> {
    sqlx::query("UPDATE agent.execution SET outcome = $3 WHERE intent_id = $1 AND action = $2")
        .bind(intent_id)
        .bind(action)
        .bind(outcome)
        .execute(conn)
        .await?;
    Ok(())
}

pub const TICKET_INTENTS_CHANGED: &str = "TicketIntentsChanged";

/// Records `TicketIntentsChanged` with the ticket's active intents, in the caller's
/// transaction: ticket-svc keeps them for the `i.aiAgentId` search filter and the per-agent
/// stats. The payload is the whole current set, so a consumer replaces, never patches.
/// `source` is `user` when a person changed the set (`actor` is a user id), `detection` when
/// the system did: quality-svc compares the two to measure how often people agree with the AI.
pub async fn publish_ticket_intents(
    tx: &mut PgConnection,
    outbox: &enneo_common::outbox::Outbox,
    ticket_id: i64,
    actor: &str,
) -> Result<()> {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, agent_id, status FROM agent.intent WHERE ticket_id = $1 \
         AND status IN ('preview', 'ready', 'executed') ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(&mut *tx)
    .await?;
    let (version,): (i64,) =
        sqlx::query_as("SELECT nextval('agent.intent_change_seq')").fetch_one(&mut *tx).await?;
    let mut agent_ids: Vec<i64> = rows.iter().map(|r| r.1).collect();
    agent_ids.sort_unstable();
    agent_ids.dedup();
    let intents: Vec<Value> = rows
        .iter()
        .map(|(id, agent, status)| serde_json::json!({"id": id, "aiAgentId": agent, "status": status}))
        .collect();
    outbox
        .record(
            tx,
            enneo_common::outbox::NewEvent {
                domain: "agent",
                event_type: TICKET_INTENTS_CHANGED,
                aggregate_id: ticket_id.to_string(),
                aggregate_version: version,
                actor: actor.to_owned(),
                payload: serde_json::json!({"ticketId": ticket_id, "aiAgentIds": agent_ids,
                                            "intents": intents,
                                            "source": if actor == "system" { "detection" } else { "user" }}),
            },
        )
        .await?;
    Ok(())
}
