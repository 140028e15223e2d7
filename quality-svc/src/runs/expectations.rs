//! Reviewing a run: set or accept the expected result of its test tickets. Each change is
//! written to the test case too (a new expectation version with who and when), so later runs
//! use it, and the run's tickets are scored again and its successes recounted — all in one
//! transaction.

use enneo_common::auth::Caller;
use enneo_common::service_error::{Error, Result};
use serde_json::Value;
use sqlx::PgConnection;

use super::{Runs, TICKET_COLUMNS, TicketRow, get_run, recount};
use crate::scoring;
use crate::test_cases::{expectation, set_expectation};

/// Which of a run's tickets a review applies to.
enum Target {
    /// By the ticket's id (the contract's path parameter), every test ticket of it.
    Ticket(i64),
    All,
}

/// Where the new expectation comes from.
enum Source {
    Given(Option<Value>),
    Observed,
}

impl Runs {
    pub async fn update_expected(
        &self,
        caller: &Caller,
        run_id: i64,
        ticket_id: i64,
        expected: Option<Value>,
        threshold: f64,
    ) -> Result<Vec<TicketRow>> {
        let source = Source::Given(expected);
        self.review(
            caller,
            run_id,
            Target::Ticket(ticket_id),
            source,
            "updateExpectedResult",
            threshold,
        )
        .await
    }

    pub async fn accept(
        &self,
        caller: &Caller,
        run_id: i64,
        ticket_id: Option<i64>,
        threshold: f64,
    ) -> Result<Vec<TicketRow>> {
        let (target, reason) = match ticket_id {
            Some(t) => (Target::Ticket(t), "accept"),
            None => (Target::All, "acceptAll"),
        };
        self.review(caller, run_id, target, Source::Observed, reason, threshold).await
    }

    async fn review(
        &self,
        caller: &Caller,
        run_id: i64,
        target: Target,
        source: Source,
        reason: &str,
        threshold: f64,
    ) -> Result<Vec<TicketRow>> {
        let mut tx = self.pool.begin().await?;
        get_run(&mut tx, run_id).await?;
        let ticket = match target {
            Target::Ticket(t) => Some(t),
            Target::All => None,
        };
        let tickets = lock(&mut tx, run_id, ticket).await?;
        if let Some(t) = ticket
            && tickets.is_empty()
        {
            return Err(Error::NotFound(format!("ticket {t} is not in test run {run_id}")));
        }
        let mut ids = Vec::new();
        for t in &tickets {
            let expected = match &source {
                Source::Given(e) => e.clone(),
                Source::Observed => match (&t.state[..], &t.actual_result) {
                    ("completed", Some(actual)) => Some(expectation::from_actual(actual)),
                    // Accept-all passes over what has no observation; accept-one says why.
                    _ if ticket.is_none() => continue,
                    _ => {
                        return Err(Error::Unprocessable(format!(
                            "ticket {} has no result in test run {run_id} yet ({})",
                            t.ticket_id, t.state
                        )));
                    }
                },
            };
            rescore(&mut tx, t, expected.as_ref(), threshold).await?;
            if let Some(case) = t.test_case_id {
                set_expectation(
                    &mut tx,
                    case,
                    expected.as_ref(),
                    reason,
                    Some(run_id),
                    caller.user_id,
                )
                .await?;
            }
            ids.push(t.id);
        }
        recount(&mut tx, run_id).await?;
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM quality.test_ticket WHERE id = ANY($1) ORDER BY id"
        );
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&ids).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}

async fn lock(
    tx: &mut PgConnection,
    run_id: i64,
    ticket_id: Option<i64>,
) -> Result<Vec<TicketRow>> {
    let sql = format!(
        "SELECT {TICKET_COLUMNS} FROM quality.test_ticket \
         WHERE test_run_id = $1 AND ($2::bigint IS NULL OR ticket_id = $2) ORDER BY id FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(run_id).bind(ticket_id).fetch_all(tx).await?)
}

/// Stores the new expectation on the test ticket and, when it has an observation, its new
/// scores and verdict.
async fn rescore(
    tx: &mut PgConnection,
    t: &TicketRow,
    expected: Option<&Value>,
    threshold: f64,
) -> Result<()> {
    let (scores, passed) = match (&t.state[..], &t.actual_result) {
        ("completed", Some(actual)) => {
            let s = scoring::score(expected.unwrap_or(&Value::Null), actual);
            (Some(s.to_json()), Some(s.passed(threshold)))
        }
        _ => (t.scores.clone(), t.passed),
    };
    sqlx::query(
        "UPDATE quality.test_ticket SET expected_result = $2, scores = $3, passed = $4 WHERE id = $1",
    )
    .bind(t.id)
    .bind(expected)
    .bind(scores)
    .bind(passed)
    .execute(tx)
    .await?;
    Ok(())
}
