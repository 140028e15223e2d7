//! `GET /ticket/stats`, answered from the read models the projections keep
//! (`ticket.stats_ticket`, `ticket.ticket_intent`). It lags the ticket table by the event path,
//! by design.

use enneo_common::service_error::Result;
use enneo_proto::ticket::v1 as pb;
use sqlx::PgPool;

/// Open tickets in total and by channel, priority, tag and AI agent; every status by count.
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
    let by_tag = counts(
        "SELECT tag_id::text, count(*) FROM ticket.stats_ticket, unnest(tag_ids) AS tag_id \
         WHERE status = 'open' GROUP BY tag_id ORDER BY count(*) DESC, tag_id",
    )
    .await?;
    // From agent-svc's events, joined to this model's open tickets.
    let by_ai_agent = counts(
        "SELECT i.ai_agent_id::text, count(*) FROM ticket.ticket_intent i \
         JOIN ticket.stats_ticket s USING (ticket_id) WHERE s.status = 'open' \
         GROUP BY i.ai_agent_id ORDER BY count(*) DESC, i.ai_agent_id",
    )
    .await?;
    let total = by_status.iter().filter(|c| c.key == "open").map(|c| c.count).sum();
    Ok(pb::GetTicketStatsResponse {
        total,
        by_status,
        by_channel,
        by_priority,
        by_tag,
        by_ai_agent,
    })
}
