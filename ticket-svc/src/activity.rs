//! `GET /ticket/{id}/activity`: the ticket's audit trail, newest first.

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
        "SELECT id, event_id, type, occurred_at, actor, changed_fields, version, traceparent \
         FROM ticket.activity WHERE ticket_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(req.id)
    .bind(limit)
    .bind(req.offset)
    .fetch_all(conn)
    .await?;
    let activities = rows
        .into_iter()
        .map(|r| pb::Activity {
            id: r.id,
            message: message(&r.kind, &r.changed_fields),
            user_id: r.actor.parse().ok().filter(|id| *id > 0),
            created_at: Some(timestamp(r.occurred_at)),
            changed_fields: r.changed_fields,
            event_id: if req.technical { r.event_id.to_string() } else { String::new() },
            version: if req.technical { r.version } else { 0 },
            traceparent: r.traceparent.filter(|_| req.technical),
            kind: r.kind,
        })
        .collect();
    Ok(pb::ListTicketActivityResponse { activities, total })
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
