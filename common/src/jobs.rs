//! One loop for durable work tables (the event outbox, the mail outbox, …): claim due rows with
//! `FOR UPDATE SKIP LOCKED`, perform their side effect, then record each row as done, failed
//! for good, or due again later under one [`Backoff`] policy.
//!
//! The claimed rows stay locked by the claiming transaction while the side effect runs, so
//! replicas never work the same row, and a crash only releases it for another try: the side
//! effect happens at least once. The loop wakes on an in-process [`Notify`] (a commit that
//! queued work) or polls (work queued by another replica, or come due after a back-off). On
//! shutdown it finishes the batch in hand before it returns.
//!
//! A work table has at least `id bigint`, `attempts integer`, `available_at timestamptz` and
//! `last_error text`; what "done" means (delete, move to an archive, set `sent_at`) is the
//! work's own.
//!
//! Every finished row leaves a dead row version that each claim steps over until the table is
//! vacuumed. With [`Options::vacuum_after`] the loop vacuums its table itself after that many
//! finished rows, so the claim stays cheap even where autovacuum is slow or switched off.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Exponential back-off: `base`, doubling per attempt, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The wait after `attempts` earlier failures.
    pub fn delay(&self, attempts: i32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(0, 30) as u32);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// What became of one claimed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Try again after the back-off; the error is kept in `last_error`.
    Retry(String),
    /// Never try again (e.g. a mail server refused the recipient).
    Failed(String),
}

/// A claimed row: what the loop needs to back it off.
pub trait Claimed {
    fn id(&self) -> i64;
    /// Failed attempts so far.
    fn attempts(&self) -> i32;
}

/// One kind of durable work.
pub trait Work: Send {
    type Item: Claimed + Send + Sync;

    /// The schema-qualified work table, e.g. `ticket.mail_outbox`.
    fn table(&self) -> &str;

    /// Readies what the side effect needs (e.g. a broker channel) before rows are claimed, so
    /// no row is locked while a connection is being set up. An error waits out the loop's
    /// back-off without touching any row.
    fn ready(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Selects up to `limit` due rows `FOR UPDATE SKIP LOCKED` in `tx`.
    fn claim(
        &mut self,
        tx: &mut PgConnection,
        limit: i64,
    ) -> impl Future<Output = sqlx::Result<Vec<Self::Item>>> + Send;

    /// Performs the side effect: one outcome per item, in order. An error means the side
    /// effect itself is unavailable (not any one item's fault): every row is left as it was.
    fn perform(
        &mut self,
        items: &[Self::Item],
    ) -> impl Future<Output = anyhow::Result<Vec<Outcome>>> + Send;

    /// Records `ids` as done, in the claiming transaction.
    fn done(
        &mut self,
        tx: &mut PgConnection,
        ids: &[i64],
    ) -> impl Future<Output = sqlx::Result<()>> + Send;

    /// Called in the claiming transaction for rows that will be tried again, before their
    /// back-off is recorded (e.g. to count failures somewhere else).
    fn retried(
        &mut self,
        _tx: &mut PgConnection,
        _ids: &[i64],
    ) -> impl Future<Output = sqlx::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Records rows that must not be tried again. By default they are parked (due never)
    /// with their error, for an operator to look at.
    fn failed(
        &mut self,
        tx: &mut PgConnection,
        failed: &[(i64, String)],
    ) -> impl Future<Output = sqlx::Result<()>> + Send {
        let sql = format!(
            "UPDATE {} AS t SET last_error = f.error, available_at = 'infinity' \
             FROM unnest($1::bigint[], $2::text[]) AS f(id, error) WHERE t.id = f.id",
            self.table()
        );
        let (ids, errors): (Vec<i64>, Vec<String>) = failed.iter().cloned().unzip();
        async move {
            sqlx::query(AssertSqlSafe(sql)).bind(ids).bind(errors).execute(tx).await?;
            Ok(())
        }
    }

    /// Called once when the loop stops.
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Rows claimed per transaction.
    pub batch: i64,
    /// How often to look for work nobody woke us for.
    pub poll: Duration,
    /// When a row's side effect failed but may succeed later.
    pub retry: Backoff,
    /// When the database or the side effect is unavailable as a whole.
    pub unavailable: Backoff,
    /// Vacuum the work table after this many finished rows (for tables rows leave quickly,
    /// where a vacuum reads little).
    pub vacuum_after: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch: 1,
            poll: Duration::from_secs(1),
            retry: Backoff::new(Duration::from_secs(2), Duration::from_secs(600)),
            unavailable: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
            vacuum_after: None,
        }
    }
}

/// Runs one [`Work`] until shutdown.
pub struct Worker<W> {
    pool: PgPool,
    work: W,
    wake: Arc<Notify>,
    options: Options,
}

impl<W: Work> Worker<W> {
    pub fn new(pool: PgPool, work: W, wake: Arc<Notify>, options: Options) -> Self {
        Self { pool, work, wake, options }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut failures = 0;
        let mut finished = 0;
        while !shutdown.is_cancelled() {
            // Not raced against `shutdown`: the batch in hand is finished and recorded.
            let wait = match self.step().await {
                Ok(claimed) => {
                    failures = 0;
                    finished += claimed as u64;
                    if self.options.vacuum_after.is_some_and(|after| finished >= after) {
                        finished = 0;
                        self.vacuum().await;
                    }
                    if claimed as i64 >= self.options.batch {
                        continue;
                    }
                    self.options.poll
                }
                Err(err) => {
                    let delay = self.options.unavailable.delay(failures);
                    failures = failures.saturating_add(1);
                    tracing::warn!(table = self.work.table(), error = %err,
                        retry_in_ms = delay.as_millis() as u64, "work loop: unavailable");
                    delay
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.work.close().await;
    }

    async fn vacuum(&self) {
        // SKIP_LOCKED: another replica (or autovacuum) at it already is just as good.
        let sql = format!("VACUUM (SKIP_LOCKED) {}", self.work.table());
        if let Err(err) = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&self.pool).await {
            tracing::warn!(table = self.work.table(), %err, "work table not vacuumed");
        }
    }

    /// Claims, performs and records one batch; returns how many rows it claimed.
    async fn step(&mut self) -> anyhow::Result<usize> {
        self.work.ready().await?;
        let mut tx = self.pool.begin().await?;
        let items = self.work.claim(&mut tx, self.options.batch).await?;
        if items.is_empty() {
            return Ok(0);
        }
        let outcomes = self.work.perform(&items).await?;
        anyhow::ensure!(outcomes.len() == items.len(), "one outcome per claimed row");
        let mut done = Vec::new();
        let mut retry = Vec::new();
        let mut failed = Vec::new();
        for (item, outcome) in items.iter().zip(outcomes) {
            match outcome {
                Outcome::Done => done.push(item.id()),
                Outcome::Retry(error) => retry.push((item, error)),
                Outcome::Failed(error) => failed.push((item.id(), error)),
            }
        }
        if !done.is_empty() {
            self.work.done(&mut tx, &done).await?;
        }
        if !retry.is_empty() {
            let ids: Vec<i64> = retry.iter().map(|(item, _)| item.id()).collect();
            self.work.retried(&mut tx, &ids).await?;
            back_off(&mut tx, self.work.table(), &retry, self.options.retry).await?;
        }
        if !failed.is_empty() {
            for (id, error) in &failed {
                tracing::warn!(table = self.work.table(), id, error, "work failed for good");
            }
            self.work.failed(&mut tx, &failed).await?;
        }
        tx.commit().await?;
        Ok(items.len())
    }
}

/// Makes each row due again the policy's delay after now (not after the claim: the side
/// effect may have taken a while), by its attempt count.
async fn back_off<I: Claimed>(
    tx: &mut PgConnection,
    table: &str,
    rows: &[(&I, String)],
    policy: Backoff,
) -> sqlx::Result<()> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut errors = Vec::with_capacity(rows.len());
    let mut delays = Vec::with_capacity(rows.len());
    for (item, error) in rows {
        let delay = policy.delay(item.attempts());
        tracing::warn!(
            table,
            id = item.id(),
            error,
            retry_in_ms = delay.as_millis() as u64,
            "work not done; will retry"
        );
        ids.push(item.id());
        errors.push(error.clone());
        delays.push(delay.as_secs_f64());
    }
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {table} AS t SET attempts = t.attempts + 1, last_error = r.error, \
         available_at = clock_timestamp() + make_interval(secs => r.delay) \
         FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS r(id, error, delay) \
         WHERE t.id = r.id"
    )))
    .bind(ids)
    .bind(errors)
    .bind(delays)
    .execute(tx)
    .await?;
    Ok(())
}

/// Rows of a history table (an inbox, an archive of published events) older than `keep`.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Schema-qualified table.
    pub table: String,
    /// An indexed `timestamptz` column.
    pub column: &'static str,
    pub keep: Duration,
    /// How often to prune.
    pub every: Duration,
}

/// Rows deleted per statement, so a prune never holds many locks or one long transaction.
const PRUNE_BATCH: i64 = 10_000;

impl Retention {
    /// Prunes now and then every `every` until shutdown.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) {
        loop {
            match self.prune(&pool).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(table = %self.table, deleted, "history pruned"),
                Err(err) => tracing::warn!(table = %self.table, %err, "history prune failed"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
            }
        }
    }

    /// Deletes every row past retention; returns how many.
    pub async fn prune(&self, pool: &PgPool) -> sqlx::Result<u64> {
        let sql = format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} \
             WHERE {column} < now() - make_interval(secs => $1) LIMIT $2))",
            table = self.table,
            column = self.column
        );
        let mut total = 0;
        loop {
            let deleted = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(self.keep.as_secs_f64())
                .bind(PRUNE_BATCH)
                .execute(pool)
                .await?
                .rows_affected();
            total += deleted;
            if deleted < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_caps() {
        let policy = Backoff::new(Duration::from_secs(2), Duration::from_secs(600));
        assert_eq!(policy.delay(0), Duration::from_secs(2));
        assert_eq!(policy.delay(3), Duration::from_secs(16));
        assert_eq!(policy.delay(40), Duration::from_secs(600));
        assert_eq!(policy.delay(-1), Duration::from_secs(2));
    }
}
