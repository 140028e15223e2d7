//! Two runs side by side, per test case: what regressed (passed before, not now), what got
//! fixed, and what changed its observation without changing the verdict.

use std::collections::BTreeMap;

use enneo_common::service_error::{Error, Result};
use serde_json::{Value, json};

use super::{Runs, TicketRow, get_run, tickets_of};
use crate::scoring::DIMENSIONS;

impl Runs {
    /// `id` against `against`, or against the previous completed run of the same agent.
    pub async fn diff(&self, id: i64, against: Option<i64>) -> Result<Value> {
        let mut conn = self.pool.acquire().await?;
        let run = get_run(&mut conn, id).await?;
        let other = match against {
            Some(other) => get_run(&mut conn, other).await?.id,
            None => {
                let found: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM quality.test_run WHERE id < $1 AND state = 'completed' \
                       AND ai_agent_id IS NOT DISTINCT FROM $2 ORDER BY id DESC LIMIT 1",
                )
                .bind(id)
                .bind(run.ai_agent_id)
                .fetch_optional(&mut *conn)
                .await?;
                found
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "no completed test run before {id} to compare with"
                        ))
                    })?
                    .0
            }
        };
        let now = tickets_of(&mut conn, id).await?;
        let before = tickets_of(&mut conn, other).await?;
        let mut out = compare(&before, &now);
        out["testRunId"] = id.into();
        out["againstTestRunId"] = other.into();
        Ok(out)
    }
}

/// `{regressed, fixed, changed: [entry], unchanged: n, onlyInTestRun, onlyInAgainst: [case
/// ids]}`; an entry names the case, both verdicts and the dimensions whose observation
/// differs. Of a run with `config.repeats`, each case's first replay stands for it.
pub fn compare(before: &[TicketRow], now: &[TicketRow]) -> Value {
    let by_case = |rows: &[TicketRow]| -> BTreeMap<i64, usize> {
        rows.iter()
            .enumerate()
            .filter(|(_, t)| t.repeat == 0)
            .filter_map(|(i, t)| Some((t.test_case_id?, i)))
            .collect()
    };
    let (b, n) = (by_case(before), by_case(now));
    let (mut regressed, mut fixed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    let mut unchanged = 0;
    for (case, &i) in &n {
        let Some(&j) = b.get(case) else { continue };
        let (was, is) = (&before[j], &now[i]);
        let dims = changed_dimensions(was.actual_result.as_ref(), is.actual_result.as_ref());
        let entry = json!({
            "testCaseId": case,
            "ticketId": is.ticket_id,
            "aiAgentId": is.ai_agent_id,
            "before": verdict(was),
            "after": verdict(is),
            "changedDimensions": dims,
        });
        match (was.passed == Some(true), is.passed == Some(true)) {
            (true, false) => regressed.push(entry),
            (false, true) => fixed.push(entry),
            _ if !dims.is_empty() || was.state != is.state => changed.push(entry),
            _ => unchanged += 1,
        }
    }
    let only = |x: &BTreeMap<i64, usize>, y: &BTreeMap<i64, usize>| -> Vec<i64> {
        x.keys().filter(|k| !y.contains_key(k)).copied().collect()
    };
    json!({
        "regressed": regressed,
        "fixed": fixed,
        "changed": changed,
        "unchanged": unchanged,
        "onlyInTestRun": only(&n, &b),
        "onlyInAgainst": only(&b, &n),
    })
}

fn verdict(t: &TicketRow) -> Value {
    json!({
        "state": t.state,
        "passed": t.passed,
        "overall": t.scores.as_ref().and_then(|s| s.get("overall")).cloned().unwrap_or(Value::Null),
    })
}

fn changed_dimensions(a: Option<&Value>, b: Option<&Value>) -> Vec<&'static str> {
    let null = Value::Null;
    DIMENSIONS
        .iter()
        .copied()
        .filter(|d| {
            let x = a.and_then(|v| v.get(*d)).unwrap_or(&null);
            let y = b.and_then(|v| v.get(*d)).unwrap_or(&null);
            x != y
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: i64, passed: Option<bool>, sentiment: &str) -> TicketRow {
        TicketRow {
            id: case,
            test_run_id: 1,
            test_case_id: Some(case),
            ticket_id: case * 10,
            ai_agent_id: 1,
            ai_agent_code: "a".into(),
            state: "completed".into(),
            expected_result: None,
            actual_result: Some(json!({"sentiment": sentiment})),
            raw_result: None,
            scores: Some(json!({"overall": if passed == Some(true) { 1.0 } else { 0.0 }})),
            repeat: 0,
            passed,
            error: None,
            tested_at: None,
        }
    }

    #[test]
    fn regressions_fixes_and_changes_are_told_apart() {
        let before = [
            row(1, Some(true), "n"),
            row(2, Some(false), "n"),
            row(3, Some(true), "n"),
            row(4, Some(true), "n"),
            row(5, Some(true), "n"),
        ];
        let now = [
            row(1, Some(false), "n"),
            row(2, Some(true), "n"),
            row(3, Some(true), "x"),
            row(4, Some(true), "n"),
            row(6, None, "n"),
        ];
        let d = compare(&before, &now);
        assert_eq!(d["regressed"][0]["testCaseId"], 1);
        assert_eq!(d["fixed"][0]["testCaseId"], 2);
        assert_eq!(d["changed"][0]["testCaseId"], 3);
        assert_eq!(d["changed"][0]["changedDimensions"], json!(["sentiment"]));
        assert_eq!(d["unchanged"], 1);
        assert_eq!(d["onlyInTestRun"], json!([6]));
        assert_eq!(d["onlyInAgainst"], json!([5]));
    }
}
