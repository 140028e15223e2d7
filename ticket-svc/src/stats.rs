//! `GET /ticket/stats`, answered from the read model the projections keep
//! (`ticket.stats_ticket`). It lags the ticket table by the event path, by design.

use enneo_common::service_error::Result;
use enneo_proto::ticket::v1 as pb;
use sqlx::PgPool;

/// Open tickets in total and by channel, priority and tag; every status by count.
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
    let total = by_status.iter().filter(|c| c.key == "open").map(|c| c.count).sum();
    Ok(pb::GetTicketStatsResponse { total, by_status, by_channel, by_priority, by_tag })
}
