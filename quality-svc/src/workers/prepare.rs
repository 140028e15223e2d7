//! The preparation worker: once a test case is made, its snapshot's message is embedded in the
//! background (agent-svc's `PrepareReplay`), so that the replays of a run find its vectors in
//! agent-svc's cache instead of embedding while the run waits. Jobs are claimed in batches,
//! and a batch is one request, so agent-svc embeds their messages in shared calls. A case that
//! could not be prepared is run all the same: its replays embed it themselves.

use enneo_common::jobs::{Claimed, Outcome, Work};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};

use super::transient;
use crate::upstream::Upstream;

pub const TABLE: &str = "quality.prepare_job";

/// Cases prepared in one request. Preparing only embeds, so more are in flight than replays
/// are: the more messages share a call of the embeddings server, the more it embeds per second.
pub const BATCH: i64 = 32;

pub struct Preparations {
    pub upstream: Upstream,
    pub max_attempts: u32,
}

#[derive(Debug, FromRow)]
pub struct Job {
    id: i64,
    attempts: i32,
    snapshot: Value,
}

impl Claimed for Job {
    fn id(&self) -> i64 {
        self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }
}

impl Work for Preparations {
    type Item = Job;

    fn table(&self) -> &str {
        TABLE
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Job>> {
        sqlx::query_as(
            "SELECT j.id, j.attempts, c.snapshot \
             FROM quality.prepare_job j JOIN quality.test_case c ON c.id = j.test_case_id \
             WHERE j.available_at <= now() ORDER BY j.available_at, j.id LIMIT $1 \
             FOR UPDATE OF j SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(tx)
        .await
    }

    async fn perform(&mut self, jobs: &[Job]) -> anyhow::Result<Vec<Outcome>> {
        let snapshots: Vec<&Value> = jobs.iter().map(|j| &j.snapshot).collect();
        let answer = self.upstream.prepare(&snapshots).await;
        Ok(jobs
            .iter()
            .map(|job| match &answer {
                Ok(()) => Outcome::Done,
                Err(status)
                    if transient(status.code())
                        && (job.attempts as u32).saturating_add(1) < self.max_attempts =>
                {
                    Outcome::Retry(format!("prepare: {status}"))
                }
                Err(status) => Outcome::Failed(format!("prepare failed: {}", status.message())),
            })
            .collect())
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        sqlx::query(
            "WITH j AS (DELETE FROM quality.prepare_job WHERE id = ANY($1) \
               RETURNING test_case_id) \
             UPDATE quality.test_case SET prepared_at = now() \
             WHERE id IN (SELECT test_case_id FROM j)",
        )
        .bind(ids)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// A case that cannot be prepared is left unprepared (its runs embed it): the job goes.
    async fn failed(
        &mut self,
        tx: &mut PgConnection,
        failed: &[(i64, String)],
    ) -> sqlx::Result<()> {
        for (_, error) in failed {
            tracing::warn!(%error, "a test case stays unprepared");
        }
        let ids: Vec<i64> = failed.iter().map(|(id, _)| *id).collect();
        sqlx::query("DELETE FROM quality.prepare_job WHERE id = ANY($1)")
            .bind(ids)
            .execute(tx)
            .await?;
        Ok(())
    }
}
