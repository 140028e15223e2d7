//! A run's statistics from its test tickets: the mean of each dimension over the tickets that
//! scored it, and per agent how precisely and completely intent detection found it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{DIMENSIONS, round};

/// One tested ticket as the statistics see it.
pub struct Tested<'a> {
    pub expected: &'a Value,
    pub actual: &'a Value,
    /// The stored `{overall, dimension: score}`.
    pub scores: &'a Value,
}

/// `{overall, contractId, ...}`: per dimension the mean over the tickets that scored it;
/// `overall` the mean of the tickets' overall scores. Dimensions no ticket scored are left out.
pub fn scores(tickets: &[Tested<'_>]) -> Value {
    let mut out = Map::new();
    let mean = |key: &str| {
        let values: Vec<f64> = tickets.iter().filter_map(|t| t.scores.get(key)?.as_f64()).collect();
        (!values.is_empty()).then(|| round(values.iter().sum::<f64>() / values.len() as f64))
    };
    out.insert("overall".into(), mean("overall").map(Value::from).unwrap_or(Value::Null));
    for name in DIMENSIONS {
        if let Some(m) = mean(name) {
            out.insert(name.into(), Value::from(m));
        }
    }
    Value::Object(out)
}

#[derive(Default)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

/// `{slug: {precision, recall, truePositives, falsePositives, falseNegatives}}` over the
/// tickets whose expectation names `intentDetection`. A ratio with nothing to divide is null.
pub fn intent_detection(tickets: &[Tested<'_>]) -> Value {
    let slugs = |v: &Value| -> Vec<String> {
        v.get("intentDetection")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut by_agent: BTreeMap<String, Counts> = BTreeMap::new();
    for t in tickets.iter().filter(|t| t.expected.get("intentDetection").is_some()) {
        let (want, got) = (slugs(t.expected), slugs(t.actual));
        for s in &got {
            let c = by_agent.entry(s.clone()).or_default();
            if want.contains(s) { c.tp += 1 } else { c.fp += 1 }
        }
        for s in want.iter().filter(|s| !got.contains(s)) {
            by_agent.entry(s.clone()).or_default().fn_ += 1;
        }
    }
    let ratio = |n: u32, d: u32| {
        if d == 0 { Value::Null } else { Value::from(round(f64::from(n) / f64::from(d))) }
    };
    let out: Map<String, Value> = by_agent
        .into_iter()
        .map(|(slug, c)| {
            let v = json!({
                "precision": ratio(c.tp, c.tp + c.fp),
                "recall": ratio(c.tp, c.tp + c.fn_),
                "truePositives": c.tp,
                "falsePositives": c.fp,
                "falseNegatives": c.fn_,
            });
            (slug, v)
        })
        .collect();
    Value::Object(out)
}

/// One replay of a test case in a run with `config.repeats`.
pub struct Repeat<'a> {
    pub test_case_id: i64,
    /// The verdict of a completed replay; none while scheduled, or when it failed.
    pub passed: Option<bool>,
    pub actual: &'a Value,
}

/// `{repeats, testCases, passK, passRate, flakyTestCases}` over the test cases whose `k`
/// replays all completed: `passK` (pass^k) the share whose every replay passed, `passRate` the
/// share of passing replays, and flaky the cases whose replays disagree in verdict or in what
/// was observed. pass^k is at most passRate; the gap is what flakiness costs.
pub fn repeatability(replays: &[Repeat<'_>], k: usize) -> Value {
    let mut by_case: BTreeMap<i64, Vec<&Repeat<'_>>> = BTreeMap::new();
    for r in replays {
        by_case.entry(r.test_case_id).or_default().push(r);
    }
    let complete: Vec<(&i64, &Vec<&Repeat<'_>>)> = by_case
        .iter()
        .filter(|(_, rs)| rs.len() == k && rs.iter().all(|r| r.passed.is_some()))
        .collect();
    let all_passed =
        complete.iter().filter(|(_, rs)| rs.iter().all(|r| r.passed == Some(true))).count();
    let passing_replays: usize =
        complete.iter().map(|(_, rs)| rs.iter().filter(|r| r.passed == Some(true)).count()).sum();
    let flaky: Vec<i64> = complete
        .iter()
        .filter(|(_, rs)| rs.iter().any(|r| r.passed != rs[0].passed || r.actual != rs[0].actual))
        .map(|(id, _)| **id)
        .collect();
    let share = |n: usize, d: usize| {
        if d == 0 { Value::Null } else { Value::from(round(n as f64 / d as f64)) }
    };
    json!({
        "repeats": k,
        "testCases": complete.len(),
        "passK": share(all_passed, complete.len()),
        "passRate": share(passing_replays, complete.len() * k),
        "flakyTestCases": flaky,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_k_counts_cases_whose_every_replay_passed_and_names_the_flaky_ones() {
        let (a, b) = (json!({"intentDetection": ["x"]}), json!({"intentDetection": []}));
        let r = |id, passed, actual| Repeat { test_case_id: id, passed, actual };
        let replays = [
            // Case 1: passes every time, same observation.
            r(1, Some(true), &a),
            r(1, Some(true), &a),
            r(1, Some(true), &a),
            // Case 2: one replay fails: flaky, not pass^k.
            r(2, Some(true), &a),
            r(2, Some(false), &b),
            r(2, Some(true), &a),
            // Case 3: passes every time, but observed different things: flaky.
            r(3, Some(true), &a),
            r(3, Some(true), &b),
            r(3, Some(true), &a),
            // Case 4: a replay still scheduled: not counted yet.
            r(4, Some(true), &a),
            r(4, None, &a),
            r(4, Some(true), &a),
        ];
        let got = repeatability(&replays, 3);
        assert_eq!(got["repeats"], 3);
        assert_eq!(got["testCases"], 3);
        assert_eq!(got["passK"], json!(0.6667));
        assert_eq!(got["passRate"], json!(round(8.0 / 9.0)));
        assert_eq!(got["flakyTestCases"], json!([2, 3]));
        let none = repeatability(&[], 2);
        assert_eq!(none["passK"], Value::Null);
        assert_eq!(none["flakyTestCases"], json!([]));
    }

    #[test]
    fn run_scores_are_means_over_the_tickets_that_scored_a_dimension() {
        let (e, a) = (json!({}), json!({}));
        let s1 = json!({"overall": 1.0, "sentiment": 1.0, "tags": 1.0});
        let s2 = json!({"overall": 0.5, "sentiment": 0.0});
        let none = json!({"overall": null});
        let t = |s| Tested { expected: &e, actual: &a, scores: s };
        let got = scores(&[t(&s1), t(&s2), t(&none)]);
        assert_eq!(got, json!({"overall": 0.75, "sentiment": 0.5, "tags": 1.0}));
        assert_eq!(scores(&[]), json!({"overall": null}));
    }

    #[test]
    fn precision_and_recall_per_agent() {
        let s = json!({});
        let cases = [
            (json!({"intentDetection": ["a"]}), json!({"intentDetection": ["a"]})),
            (json!({"intentDetection": ["a"]}), json!({"intentDetection": ["b"]})),
            (json!({"intentDetection": []}), json!({"intentDetection": ["a"]})),
            // No expectation of detection: not counted.
            (json!({"sentiment": "x"}), json!({"intentDetection": ["a"]})),
        ];
        let tickets: Vec<Tested<'_>> =
            cases.iter().map(|(e, a)| Tested { expected: e, actual: a, scores: &s }).collect();
        let got = intent_detection(&tickets);
        assert_eq!(got["a"]["precision"], json!(0.5));
        assert_eq!(got["a"]["recall"], json!(0.5));
        assert_eq!(got["b"]["precision"], json!(0.0));
        assert_eq!(got["b"]["recall"], Value::Null);
    }
}
