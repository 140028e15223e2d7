//! A test case replays its ticket as it was. When the ticket changes afterwards the case is
//! marked stale (visible as `stale` and `staleSince`) so a reviewer can decide whether to
//! re-snapshot it; the snapshot itself is never rewritten behind their back.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Marks the cases of `ticket_id` whose snapshot predates `version`, in the consumer's
/// transaction. Events older than a snapshot (redelivered or reordered) change nothing.
pub async fn ticket_changed(
    tx: &mut PgConnection,
    ticket_id: i64,
    version: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE quality.test_case SET stale = true, stale_since = $3 \
         WHERE ticket_id = $1 AND snapshot_version < $2 AND NOT stale",
    )
    .bind(ticket_id)
    .bind(version)
    .bind(at)
    .execute(tx)
    .await?
    .rows_affected())
}
