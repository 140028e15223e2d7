//! The customer's timeline seen from one ticket (contract §1.2 (8)) and the live-chat queue
//! (§1.2 (14)).

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;

use crate::model::timestamp;
use crate::service::Tickets;
use crate::store;

#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: i64,
    channel: String,
    status: String,
    subject: Option<String>,
    created_at: DateTime<Utc>,
}

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

impl Tickets {
    pub(crate) async fn history(
        &self,
        caller: &Caller,
        req: pb::TicketHistoryRequest,
    ) -> Result<pb::TicketHistoryResponse> {
        caller.require(permission::READ_TICKETS)?;
        let limit = match req.limit {
            0 => DEFAULT_LIMIT,
            l if l < 0 => return Err(Error::InvalidArgument("limit must be positive".into())),
            l => l.min(MAX_LIMIT),
        };
        if req.offset < 0 {
            return Err(Error::InvalidArgument("offset must not be negative".into()));
        }
        let mut conn = self.pool.acquire().await?;
        let ticket = store::get(&mut conn, req.id, false).await?;
        if ticket.customer_id.is_none() && ticket.contract_id.is_none() {
            return Ok(pb::TicketHistoryResponse::default());
        }
        // Same customer or same contract; NULL never matches, so an unknown side is ignored.
        const SAME_PARTY: &str = "id <> $1 AND (customer_id = $2 OR contract_id = $3)";
        let (total, total_opened): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), count(*) FILTER (WHERE status = 'open') FROM ticket.ticket WHERE {SAME_PARTY}"
        )))
        .bind(ticket.id)
        .bind(&ticket.customer_id)
        .bind(&ticket.contract_id)
        .fetch_one(&mut *conn)
        .await?;
        let rows: Vec<HistoryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, channel, status, subject, created_at FROM ticket.ticket \
                 WHERE {SAME_PARTY} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(ticket.id)
        .bind(&ticket.customer_id)
        .bind(&ticket.contract_id)
        .bind(limit)
        .bind(req.offset)
        .fetch_all(&mut *conn)
        .await?;
        let items = rows
            .into_iter()
            .map(|r| pb::HistoryItem {
                id: r.id,
                channel: r.channel,
                status: r.status,
                subject: r.subject,
                created_at: Some(timestamp(r.created_at)),
            })
            .collect();
        Ok(pb::TicketHistoryResponse { items, total, total_opened })
    }

    pub(crate) async fn agent_queue(&self, caller: &Caller) -> Result<pb::AgentQueueResponse> {
        caller.require(permission::READ_TICKETS)?;
        let (agents_available, chats_waiting, typical): (i64, i64, Option<f64>) = sqlx::query_as(
            "SELECT \
               (SELECT count(DISTINCT user_id) FROM ticket.presence WHERE expires_at > now()), \
               (SELECT count(*) FROM ticket.ticket t WHERE t.channel = 'chat' \
                  AND t.status = 'open' AND t.agent_id IS NULL \
                  AND NOT EXISTS (SELECT 1 FROM ticket.presence p \
                                  WHERE p.ticket_id = t.id AND p.expires_at > now())), \
               (SELECT percentile_cont(0.5) WITHIN GROUP \
                  (ORDER BY extract(epoch FROM closed_at - created_at)) \
                FROM ticket.ticket WHERE channel = 'chat' AND closed_at IS NOT NULL \
                  AND closed_at > now() - interval '30 days' AND closed_at >= created_at)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(pb::AgentQueueResponse {
            agents_available,
            chats_waiting,
            typical_chat_seconds: typical.map(|s| s.round() as i64),
        })
    }
}
