//! The replay worker: claims test jobs (`FOR UPDATE SKIP LOCKED`, see
//! [`enneo_common::jobs`]), replays each job's snapshot through agent-svc concurrently (a dry
//! run), and in the claiming transaction stores the scored test ticket, bumps its run's
//! counters, finishes the run when it was the last, records the `TestTicketAiQuality` event
//! and deletes the job. A crash before that commit only replays again: each test ticket is
//! stored once, because only a `scheduled` ticket is ever completed. New test cases are readied
//! for fast runs by [`prepare`].

pub mod prepare;

use std::collections::HashMap;

use enneo_common::jobs::{Claimed, Outcome, Work};
use enneo_common::outbox::{NewEvent, Outbox};
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection, PgPool};

use crate::scoring;
use crate::test_cases::expectation;
use crate::upstream::Upstream;

pub const TABLE: &str = "quality.test_job";

pub struct Replays {
    pub pool: PgPool,
    pub upstream: Upstream,
    pub outbox: Outbox,
    pub pass_threshold: f64,
    pub max_attempts: u32,
    /// Results of the batch in hand by job id, from `perform` to `done`.
    results: HashMap<i64, Value>,
}

impl Replays {
    pub fn new(
        pool: PgPool,
        upstream: Upstream,
        outbox: Outbox,
        pass_threshold: f64,
        max_attempts: u32,
    ) -> Self {
        Self { pool, upstream, outbox, pass_threshold, max_attempts, results: HashMap::new() }
    }
}

#[derive(Debug, FromRow)]
pub struct Job {
    id: i64,
    attempts: i32,
    test_run_id: i64,
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

/// Failures that may pass: agent-svc down, overloaded, not deployed yet or timed out.
pub(crate) fn transient(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unavailable
            | Unimplemented
            | DeadlineExceeded
            | ResourceExhausted
            | Internal
            | Unknown
            | Cancelled
    )
}

impl Work for Replays {
    type Item = Job;

    fn table(&self) -> &str {
        TABLE
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Job>> {
        sqlx::query_as(
            "SELECT j.id, j.attempts, t.test_run_id, t.snapshot \
             FROM quality.test_job j JOIN quality.test_ticket t ON t.id = j.test_ticket_id \
             WHERE j.available_at <= now() ORDER BY j.available_at, j.id LIMIT $1 \
             FOR UPDATE OF j SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(tx)
        .await
    }

    async fn perform(&mut self, jobs: &[Job]) -> anyhow::Result<Vec<Outcome>> {
        let runs: Vec<i64> = jobs.iter().map(|j| j.test_run_id).collect();
        // Outside the claim: visible at once, while the replays run.
        sqlx::query(
            "UPDATE quality.test_run SET state = 'processing', started_at = now() \
             WHERE id = ANY($1) AND state = 'scheduled'",
        )
        .bind(&runs)
        .execute(&self.pool)
        .await?;
        let replays = jobs.iter().map(|j| self.upstream.replay(&j.snapshot));
        let answers = futures_util::future::join_all(replays).await;
        self.results.clear();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for (job, answer) in jobs.iter().zip(answers) {
            outcomes.push(match answer {
                Ok(result) => {
                    self.results.insert(job.id, result);
                    Outcome::Done
                }
                Err(status)
                    if transient(status.code())
                        && (job.attempts as u32).saturating_add(1) < self.max_attempts =>
                {
                    Outcome::Retry(format!("replay: {status}"))
                }
                Err(status) => Outcome::Failed(format!("replay failed: {}", status.message())),
            });
        }
        Ok(outcomes)
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        for id in ids {
            let Some(result) = self.results.remove(id) else { continue };
            let outcome = Recorded::Result(result);
            record(tx, &self.outbox, *id, outcome, self.pass_threshold).await?;
        }
        Ok(())
    }

    async fn failed(
        &mut self,
        tx: &mut PgConnection,
        failed: &[(i64, String)],
    ) -> sqlx::Result<()> {
        for (id, error) in failed {
            record(tx, &self.outbox, *id, Recorded::Failure(error.clone()), self.pass_threshold)
                .await?;
        }
        Ok(())
    }
}

/// The test ticket of a job, while still scheduled.
#[derive(FromRow)]
struct Scheduled {
    id: i64,
    test_run_id: i64,
    test_case_id: Option<i64>,
    ticket_id: i64,
    ai_agent_id: i64,
    expected_result: Option<Value>,
}

enum Recorded {
    Result(Value),
    Failure(String),
}

/// Stores what became of job `job_id`'s test ticket and deletes the job, in the claiming
/// transaction.
async fn record(
    tx: &mut PgConnection,
    outbox: &Outbox,
    job_id: i64,
    outcome: Recorded,
    threshold: f64,
) -> sqlx::Result<()> {
    // The job goes in any case; its ticket is recorded only while still scheduled (a cancel
    // may have taken it while this replay ran).
    let ticket: Option<Scheduled> = sqlx::query_as(
        "WITH j AS (DELETE FROM quality.test_job WHERE id = $1 RETURNING test_ticket_id) \
         SELECT t.id, t.test_run_id, t.test_case_id, t.ticket_id, t.ai_agent_id, t.expected_result \
         FROM quality.test_ticket t JOIN j ON t.id = j.test_ticket_id \
         WHERE t.state = 'scheduled' FOR UPDATE OF t",
    )
    .bind(job_id)
    .fetch_optional(&mut *tx)
    .await?;
    // Cancelled or deleted meanwhile: nothing to record.
    let Some(Scheduled {
        id,
        test_run_id: run_id,
        test_case_id: case_id,
        ticket_id,
        ai_agent_id: agent_id,
        expected_result: expected,
    }) = ticket
    else {
        return Ok(());
    };
    let (state, passed, overall) = match outcome {
        Recorded::Result(raw) => {
            let actual = actual_of(&raw);
            let scores = scoring::score(expected.as_ref().unwrap_or(&Value::Null), &actual);
            let passed = scores.passed(threshold);
            sqlx::query(
                "UPDATE quality.test_ticket SET state = 'completed', actual_result = $2, \
                   raw_result = $3, scores = $4, passed = $5, tested_at = now() WHERE id = $1",
            )
            .bind(id)
            .bind(&actual)
            .bind(&raw)
            .bind(scores.to_json())
            .bind(passed)
            .execute(&mut *tx)
            .await?;
            ("completed", Some(passed), scores.overall)
        }
        Recorded::Failure(error) => {
            sqlx::query(
                "UPDATE quality.test_ticket SET state = 'failed', error = $2, tested_at = now() \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .execute(&mut *tx)
            .await?;
            ("failed", None, None)
        }
    };
    sqlx::query(
        "UPDATE quality.test_run SET tickets_tested = tickets_tested + 1, \
           successful_tests = successful_tests + $2, failed_replays = failed_replays + $3, \
           state = CASE WHEN tickets_tested + 1 < tickets_scheduled THEN 'processing' \
                        WHEN failed_replays + $3 = tickets_scheduled THEN 'failed' \
                        ELSE 'completed' END, \
           started_at = coalesce(started_at, now()), \
           end_date = CASE WHEN tickets_tested + 1 = tickets_scheduled THEN now() END \
         WHERE id = $1 AND state IN ('scheduled', 'processing')",
    )
    .bind(run_id)
    .bind(i32::from(passed == Some(true)))
    .bind(i32::from(state == "failed"))
    .execute(&mut *tx)
    .await?;
    let event = NewEvent {
        domain: "quality",
        event_type: "TestTicketAiQuality",
        aggregate_id: id.to_string(),
        aggregate_version: 1,
        actor: "system".into(),
        payload: json!({
            "testTicketId": id, "testRunId": run_id, "testCaseId": case_id, "ticketId": ticket_id,
            "aiAgentId": agent_id, "state": state, "passed": passed, "overall": overall,
        }),
    };
    outbox.record(tx, event).await.map_err(|e| match e {
        enneo_common::Error::Database(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    })?;
    Ok(())
}

/// The actualResult of contract §4.3 from agent-svc's answer: its ExpectedResult keys plus
/// `error` (confidence and effects stay in rawResult).
fn actual_of(raw: &Value) -> Value {
    let mut actual = expectation::from_actual(raw);
    actual["error"] = raw.get("error").cloned().unwrap_or(Value::Null);
    actual
}
