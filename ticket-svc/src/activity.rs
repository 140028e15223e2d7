//! `GET /ticket/{id}/activity`: the ticket's audit trail, newest first. Most entries are
//! projected from the ticket's events; services add their own (AI detection that ran without
//! its AI) through [`add`], with the message they give.

use chrono::{DateTime, Utc};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::model::timestamp;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    event_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    occurred_at: DateTime<Utc>,
    actor: String,
    changed_fields: Vec<String>,
    version: i64,
    traceparent: Option<String>,
    note: Option<String>,
}

pub async fn list(
    conn: &mut PgConnection,
    req: &pb::ListTicketActivityRequest,
) -> Result<pb::ListTicketActivityResponse> {
    let limit = match req.limit {
        0 => DEFAULT_LIMIT,
        l if l < 0 => return Err(Error::InvalidArgument("limit must be positive".into())),
        l => l.min(MAX_LIMIT),
    };
    if req.offset < 0 {
        return Err(Error::InvalidArgument("offset must not be negative".into()));
    }
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.activity WHERE ticket_id = $1")
            .bind(req.id)
            .fetch_one(&mut *conn)
            .await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, event_id, type, occurred_at, actor, changed_fields, version, traceparent, note \
         FROM ticket.activity WHERE ticket_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(req.id)
    .bind(limit)
    .bind(req.offset)
    .fetch_all(conn)
    .await?;
    let activities = rows.into_iter().map(|r| to_proto(r, req.technical)).collect();
    Ok(pb::ListTicketActivityResponse { activities, total })
}

fn to_proto(r: Row, technical: bool) -> pb::Activity {
    pb::Activity {
        id: r.id,
        message: r.note.unwrap_or_else(|| message(&r.kind, &r.changed_fields)),
        user_id: r.actor.parse().ok().filter(|id| *id > 0),
        created_at: Some(timestamp(r.occurred_at)),
        changed_fields: r.changed_fields,
        event_id: if technical { r.event_id.to_string() } else { String::new() },
        version: if technical { r.version } else { 0 },
        traceparent: r.traceparent.filter(|_| technical),
        kind: r.kind,
    }
}

/// A service's own entry on ticket `ticket_id` (at `version`), recorded as `system`.
pub async fn add(
    conn: &mut PgConnection,
    ticket_id: i64,
    version: i64,
    req: &pb::AddTicketActivityRequest,
) -> Result<pb::Activity> {
    let kind = req.kind.trim();
    if kind.is_empty() || kind.len() > 64 || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidArgument("kind must be 1 to 64 letters or digits".into()));
    }
    let note = req.message.trim();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(Error::InvalidArgument("message must be 1 to 2000 characters".into()));
    }
    let row: Row = sqlx::query_as(
        "INSERT INTO ticket.activity \
         (event_id, ticket_id, type, occurred_at, actor, version, traceparent, note) \
         VALUES ($1, $2, $3, now(), 'system', $4, $5, $6) \
         RETURNING id, event_id, type, occurred_at, actor, changed_fields, version, traceparent, note",
    )
    .bind(Uuid::new_v4())
    .bind(ticket_id)
    .bind(kind)
    .bind(version)
    .bind(enneo_common::telemetry::current_traceparent())
    .bind(note)
    .fetch_one(conn)
    .await?;
    Ok(to_proto(row, false))
}

fn message(kind: &str, changed: &[String]) -> String {
    match kind {
        "ticketCreated" => "Ticket created".into(),
        "ticketUpdated" if changed.is_empty() => "Ticket updated".into(),
        "ticketUpdated" => format!("Ticket updated: {}", changed.join(", ")),
        "ticketRouted" => "Ticket routed to an agent".into(),
        "ticketForwarded" => "Ticket forwarded by e-mail".into(),
        "conversationCreated" => "Message added".into(),
        other => other.to_owned(),
    }
}
