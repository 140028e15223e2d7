//! Test runs: scheduled with one test ticket and one job per test case in one transaction,
//! worked by [`crate::workers`], read back with their scores.
//!
//! States: `scheduled` (nothing replayed yet) → `processing` → `completed`, or `failed` when
//! every replay failed, or `cancelled`. The counters change only in the transactions that
//! change the test tickets they count.

pub mod diff;
pub mod expectations;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use enneo_common::auth::Caller;
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{CHANNELS, one_of};
use serde_json::{Map, Value, json};
use sqlx::{FromRow, PgConnection, PgPool};
use tokio::sync::Notify;

use crate::scoring::run::{self as stats, Tested};
use crate::test_cases::iso;
use crate::upstream::Upstream;

#[derive(Clone)]
pub struct Runs {
    pub pool: PgPool,
    pub upstream: Upstream,
    /// Wakes the replay workers after a commit that queued jobs.
    pub wake: Arc<Notify>,
}

#[derive(Debug, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub ai_agent_id: Option<i64>,
    pub ai_agent_code: Option<String>,
    pub ai_agent_name: Option<String>,
    pub state: String,
    pub description: Option<String>,
    pub config: Value,
    pub channel: Option<String>,
    pub rerun_of: Option<i64>,
    /// What started the run ([`Trigger`]).
    pub trigger: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub tickets_scheduled: i32,
    pub tickets_tested: i32,
    pub successful_tests: i32,
    pub failed_replays: i32,
}

const RUN_COLUMNS: &str = "id, ai_agent_id, ai_agent_code, ai_agent_name, state, description, \
    config, channel, rerun_of, trigger, created_by, created_at, started_at, end_date, \
    tickets_scheduled, tickets_tested, successful_tests, failed_replays";

impl RunRow {
    /// The TestRun of contract §4.3.
    pub fn document(&self) -> Value {
        json!({
            "id": self.id,
            "aiAgentId": self.ai_agent_id,
            "aiAgentCode": self.ai_agent_code,
            "aiAgentName": self.ai_agent_name,
            "state": self.state,
            "config": self.config,
            "channel": self.channel,
            "description": self.description,
            "rerunOf": self.rerun_of,
            "trigger": self.trigger,
            "createdBy": self.created_by,
            "createdAt": iso(self.created_at),
            "startedAt": self.started_at.map(iso),
            "endDate": self.end_date.map(iso),
            "ticketsScheduledForTesting": self.tickets_scheduled,
            "ticketsTested": self.tickets_tested,
            "successfulTests": self.successful_tests,
            "failedReplays": self.failed_replays,
        })
    }
}

#[derive(Debug, FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub test_run_id: i64,
    pub test_case_id: Option<i64>,
    pub ticket_id: i64,
    pub ai_agent_id: i64,
    pub ai_agent_code: String,
    pub state: String,
    pub expected_result: Option<Value>,
    pub actual_result: Option<Value>,
    pub raw_result: Option<Value>,
    pub scores: Option<Value>,
    pub passed: Option<bool>,
    pub error: Option<String>,
    pub tested_at: Option<DateTime<Utc>>,
    /// Which replay of its test case this is (0-based; see `config.repeats`).
    pub repeat: i16,
}

pub(crate) const TICKET_COLUMNS: &str = "id, test_run_id, test_case_id, ticket_id, ai_agent_id, \
    ai_agent_code, state, expected_result, actual_result, raw_result, scores, passed, error, \
    tested_at, repeat";

impl TicketRow {
    /// The TestTicket of contract §4.3.
    pub fn document(&self, config: &Value) -> Value {
        json!({
            "id": self.id,
            "testRunId": self.test_run_id,
            "testCaseId": self.test_case_id,
            "ticketId": self.ticket_id,
            "aiAgentId": self.ai_agent_id,
            "aiAgentCode": self.ai_agent_code,
            "state": self.state,
            "config": config,
            "expectedResult": self.expected_result,
            "actualResult": self.actual_result,
            "rawResult": self.raw_result,
            "scores": self.scores,
            "passed": self.passed,
            "error": self.error,
            "testedAt": self.tested_at.map(iso),
            "repeat": self.repeat,
        })
    }
}

/// What started a run (`test_run.trigger`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Someone scheduled it (`POST /aiQualityCheck/testRun`).
    #[default]
    Manual,
    /// An AI agent changed with the setting `qualityCheckOnAgentChange` on.
    AgentChange,
    /// Someone re-ran an earlier run.
    Rerun,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::AgentChange => "agentChange",
            Self::Rerun => "rerun",
        }
    }
}

/// What `POST /aiQualityCheck/testRun` may ask for; everything optional.
#[derive(Debug, Default, Clone)]
pub struct Schedule {
    pub ai_agent_id: Option<i64>,
    pub description: Option<String>,
    pub test_case_ids: Vec<i64>,
    pub channel: Option<String>,
    pub limit: Option<i64>,
    pub re_run_models: Option<bool>,
    /// Replays of each test case ([`MAX_REPEATS`] at most); none: one.
    pub repeats: Option<i32>,
    pub rerun_of: Option<i64>,
    pub trigger: Trigger,
}

/// Replays of one test case a run may ask for: enough to see flakiness, bounded so one run
/// cannot queue an unbounded amount of work.
pub const MAX_REPEATS: i32 = 10;

/// PostgreSQL's `lock_not_available`: a `lock_timeout` ran out.
const LOCK_NOT_AVAILABLE: &str = "55P03";

pub async fn get_run(conn: &mut PgConnection, id: i64) -> Result<RunRow> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM quality.test_run WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("test run {id} not found")))
}

pub async fn tickets_of(conn: &mut PgConnection, run_id: i64) -> Result<Vec<TicketRow>> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM quality.test_ticket WHERE test_run_id = $1 ORDER BY id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(run_id).fetch_all(conn).await?)
}

/// A run with its statistics (`GET /aiQualityCheck/testRun/{id}`).
pub struct RunReport {
    pub run: RunRow,
    pub tickets: Vec<TicketRow>,
    pub scores: Value,
    pub intent_detection: Value,
    /// With `config.repeats` > 1: pass^k and the flaky cases; null otherwise.
    pub repeatability: Value,
}

impl Runs {
    pub async fn list(
        &self,
        ai_agent_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<RunRow>, i64)> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM quality.test_run WHERE ($1::bigint IS NULL OR ai_agent_id = $1) \
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ai_agent_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM quality.test_run WHERE ($1::bigint IS NULL OR ai_agent_id = $1)",
        )
        .bind(ai_agent_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((rows, total))
    }

    /// Writes the run, one test ticket per chosen test case and one job per test ticket in
    /// one transaction, then wakes the workers.
    pub async fn schedule(&self, caller: &Caller, s: Schedule) -> Result<RunRow> {
        if let Some(channel) = &s.channel {
            one_of("channel", channel, CHANNELS)?;
        }
        if s.limit.is_some_and(|l| l < 1) {
            return Err(Error::InvalidArgument("config.limit must be at least 1".into()));
        }
        let repeats = s.repeats.unwrap_or(1);
        if !(1..=MAX_REPEATS).contains(&repeats) {
            return Err(Error::InvalidArgument(format!(
                "config.repeats must be between 1 and {MAX_REPEATS}"
            )));
        }
        let agent = match s.ai_agent_id {
            Some(id) => Some(self.upstream.agent(id).await?),
            None => None,
        };
        let mut config = Map::new();
        if let Some(limit) = s.limit {
            config.insert("limit".into(), limit.into());
        }
        if let Some(re_run) = s.re_run_models {
            config.insert("reRunModels".into(), re_run.into());
        }
        if s.repeats.is_some() {
            config.insert("repeats".into(), repeats.into());
        }

        let mut tx = self.pool.begin().await?;
        let cases: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM quality.test_case \
             WHERE ($1::bigint IS NULL OR ai_agent_id = $1) \
               AND (cardinality($2::bigint[]) = 0 OR id = ANY($2)) \
               AND ($3::text IS NULL OR channel = $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(s.ai_agent_id)
        .bind(&s.test_case_ids)
        .bind(&s.channel)
        .bind(s.limit.unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        let chosen: Vec<i64> = cases.into_iter().map(|(id,)| id).collect();
        let missing: Vec<String> =
            s.test_case_ids.iter().filter(|id| !chosen.contains(id)).map(i64::to_string).collect();
        if !missing.is_empty() && s.limit.is_none() {
            return Err(Error::NotFound(format!(
                "test cases not found (for this agent and channel): {}",
                missing.join(", ")
            )));
        }
        if chosen.is_empty() {
            return Err(Error::Unprocessable("there are no test cases to run".into()));
        }
        let (run_id,): (i64,) = sqlx::query_as(
            "INSERT INTO quality.test_run (ai_agent_id, ai_agent_code, ai_agent_name, description, \
               config, channel, rerun_of, trigger, created_by, tickets_scheduled) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(agent.as_ref().map(|a| a.id))
        .bind(agent.as_ref().map(|a| a.slug.clone()))
        .bind(agent.as_ref().map(|a| a.name.clone()))
        .bind(s.description.filter(|d| !d.is_empty()))
        .bind(Value::Object(config))
        .bind(&s.channel)
        .bind(s.rerun_of)
        .bind(s.trigger.name())
        .bind(caller.user_id)
        .bind(chosen.len() as i32 * repeats)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "WITH t AS (INSERT INTO quality.test_ticket (test_run_id, test_case_id, ticket_id, \
                 ai_agent_id, ai_agent_code, snapshot, expected_result, repeat) \
               SELECT $1, c.id, ticket_id, ai_agent_id, ai_agent_code, snapshot, expected_result, r \
               FROM quality.test_case c CROSS JOIN generate_series(0, $3 - 1) r \
               WHERE c.id = ANY($2) ORDER BY r, c.id RETURNING id) \
             INSERT INTO quality.test_job (test_ticket_id) SELECT id FROM t",
        )
        .bind(run_id)
        .bind(&chosen)
        .bind(repeats)
        .execute(&mut *tx)
        .await?;
        let run = get_run(&mut tx, run_id).await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(run)
    }

    pub async fn report(&self, id: i64) -> Result<RunReport> {
        let mut tx = self.pool.begin().await?;
        let run = get_run(&mut tx, id).await?;
        let tickets = tickets_of(&mut tx, id).await?;
        tx.commit().await?;
        let null = Value::Null;
        let tested: Vec<Tested<'_>> = tickets
            .iter()
            .filter(|t| t.state == "completed")
            .map(|t| Tested {
                expected: t.expected_result.as_ref().unwrap_or(&null),
                actual: t.actual_result.as_ref().unwrap_or(&null),
                scores: t.scores.as_ref().unwrap_or(&null),
            })
            .collect();
        let scores = stats::scores(&tested);
        let intent_detection = stats::intent_detection(&tested);
        let repeatability = match run.config.get("repeats").and_then(Value::as_i64) {
            Some(k) if k > 1 => {
                let repeats: Vec<stats::Repeat<'_>> = tickets
                    .iter()
                    .filter_map(|t| {
                        Some(stats::Repeat {
                            test_case_id: t.test_case_id?,
                            passed: (t.state == "completed").then_some(t.passed).flatten(),
                            actual: t.actual_result.as_ref().unwrap_or(&null),
                        })
                    })
                    .collect();
                stats::repeatability(&repeats, k as usize)
            }
            _ => Value::Null,
        };
        Ok(RunReport { run, tickets, scores, intent_detection, repeatability })
    }

    pub async fn delete(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // A replay in flight holds its job until it has recorded its result; waiting for it is
        // bounded, so a slow replay makes the delete a 409 to retry, not a hanging request.
        sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
        // Jobs, then tickets, then the run: the order a worker's commit locks them in (the
        // cascade from the run would lock the other way round and deadlock with it).
        let removed = async {
            sqlx::query(
                "DELETE FROM quality.test_job j USING quality.test_ticket t \
                 WHERE j.test_ticket_id = t.id AND t.test_run_id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM quality.test_ticket WHERE test_run_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM quality.test_run WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
        }
        .await;
        let deleted = match removed {
            Ok(done) => done.rows_affected(),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
                return Err(Error::Conflict(format!(
                    "test run {id} is being replayed right now; cancel it or try again shortly"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if deleted == 0 {
            return Err(Error::NotFound(format!("test run {id} not found")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Cancels a run that has not finished: its waiting jobs are dropped and its untested
    /// tickets cancelled at once; a replay in flight finds its ticket cancelled and records
    /// nothing.
    pub async fn cancel(&self, id: i64) -> Result<RunRow> {
        let mut tx = self.pool.begin().await?;
        let run = get_run(&mut tx, id).await?;
        if !matches!(run.state.as_str(), "scheduled" | "processing") {
            return Err(Error::Unprocessable(format!("test run {id} is already {}", run.state)));
        }
        // Jobs first, then tickets, then the run: the order a worker's commit locks them in.
        // Jobs a worker holds are skipped: it deletes them itself when its replay ends.
        sqlx::query(
            "DELETE FROM quality.test_job WHERE id IN (SELECT j.id FROM quality.test_job j \
               JOIN quality.test_ticket t ON t.id = j.test_ticket_id \
               WHERE t.test_run_id = $1 FOR UPDATE OF j SKIP LOCKED)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE quality.test_ticket SET state = 'cancelled' \
             WHERE test_run_id = $1 AND state = 'scheduled'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let cancelled = sqlx::query(
            "UPDATE quality.test_run SET state = 'cancelled', end_date = now() \
             WHERE id = $1 AND state IN ('scheduled', 'processing')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let run = get_run(&mut tx, id).await?;
        // The last worker finished the run meanwhile: nothing is left to cancel, and dropping
        // the transaction keeps its tickets as they were.
        if cancelled.rows_affected() == 0 {
            return Err(Error::Unprocessable(format!("test run {id} is already {}", run.state)));
        }
        tx.commit().await?;
        Ok(run)
    }

    /// A new run of the same agent over the run's test cases that still exist.
    pub async fn rerun(&self, caller: &Caller, id: i64) -> Result<RunRow> {
        let mut conn = self.pool.acquire().await?;
        let run = get_run(&mut conn, id).await?;
        let cases: Vec<(i64,)> = sqlx::query_as(
            "SELECT t.test_case_id FROM quality.test_ticket t \
             JOIN quality.test_case c ON c.id = t.test_case_id WHERE t.test_run_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        drop(conn);
        if cases.is_empty() {
            return Err(Error::Unprocessable(format!(
                "none of the test cases of test run {id} exists any more"
            )));
        }
        let schedule = Schedule {
            ai_agent_id: run.ai_agent_id,
            description: run.description.clone(),
            test_case_ids: cases.into_iter().map(|(c,)| c).collect(),
            channel: None,
            limit: None,
            re_run_models: run.config.get("reRunModels").and_then(Value::as_bool),
            repeats: run.config.get("repeats").and_then(Value::as_i64).map(|k| k as i32),
            rerun_of: Some(id),
            trigger: Trigger::Rerun,
        };
        self.schedule(caller, schedule).await
    }
}

/// Recounts a run's successes from its test tickets, after their verdicts changed.
pub async fn recount(tx: &mut PgConnection, run_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE quality.test_run SET successful_tests = (SELECT count(*) FROM quality.test_ticket \
           WHERE test_run_id = $1 AND state = 'completed' AND passed) WHERE id = $1",
    )
    .bind(run_id)
    .execute(tx)
    .await?;
    Ok(())
}
