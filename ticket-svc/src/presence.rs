//! Who is working on a ticket (contract §8.2): every ping (and every `viewing` open) keeps the
//! caller's row alive for [`TTL`]; the answer lists everyone whose row is still alive. There
//! is no lock: when an agent stops pinging, their row simply expires.

use chrono::{DateTime, Duration, Utc};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use sqlx::PgConnection;

use crate::model::timestamp;

/// Clients ping every 30 s; three missed pings end a presence.
pub const TTL: Duration = Duration::seconds(90);

/// Registers `user_id` on the ticket and returns everyone present, the caller included.
pub async fn ping(
    conn: &mut PgConnection,
    ticket_id: i64,
    user_id: i64,
) -> Result<Vec<pb::Presence>> {
    let inserted = sqlx::query(
        "INSERT INTO ticket.presence (ticket_id, user_id, last_seen, expires_at) \
         SELECT id, $2, now(), now() + $3 FROM ticket.ticket WHERE id = $1 \
         ON CONFLICT (ticket_id, user_id) DO UPDATE \
         SET last_seen = EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at",
    )
    .bind(ticket_id)
    .bind(user_id)
    .bind(TTL)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::NotFound(format!("ticket {ticket_id} not found")));
    }
    alive(conn, ticket_id).await
}

pub async fn alive(conn: &mut PgConnection, ticket_id: i64) -> Result<Vec<pb::Presence>> {
    let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT user_id, last_seen FROM ticket.presence \
         WHERE ticket_id = $1 AND expires_at > now() ORDER BY last_seen DESC, user_id",
    )
    .bind(ticket_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, seen)| pb::Presence { user_id, last_seen: Some(timestamp(seen)) })
        .collect())
}
