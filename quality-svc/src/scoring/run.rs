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

#[cfg(test)]
mod tests {
    use super::*;

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
