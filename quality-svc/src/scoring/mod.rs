//! Scoring a replay against its expectation (contract §4.3): one score in 0..1 per dimension
//! the expectation names, their mean as `overall`, and the verdict.
//!
//! Pure functions over the ExpectedResult/actualResult JSON; no I/O. An expectation may be
//! partial (`{contractId, sentiment}` is legal): only the dimensions it names are scored.

pub mod normalise;
pub mod run;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// A test passes when its `overall` score reaches this: every named dimension right but a
/// small slip in one of ten (a differently worded answer text, one extra tag).
pub const DEFAULT_PASS_THRESHOLD: f64 = 0.9;

/// The dimensions of contract §4.3 in their contract order. `sources` and `error` are
/// observed but not scored: sources are evidence, not behaviour.
pub const DIMENSIONS: [&str; 10] = [
    "contractId",
    "intentDetection",
    "inputParameters",
    "outcomeType",
    "outcomeActions",
    "outcomeNotifications",
    "outcomeText",
    "sentiment",
    "tags",
    "aiSupportLevel",
];

/// The scores of one test ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Dimension → score, for each dimension the expectation names.
    pub dimensions: Vec<(&'static str, f64)>,
    /// Mean of `dimensions`; `None` when the expectation names none.
    pub overall: Option<f64>,
}

impl Scores {
    pub fn passed(&self, threshold: f64) -> bool {
        self.overall.is_some_and(|o| o >= threshold - 1e-9)
    }

    /// `{overall, contractId, ...}`, the shape stored per test ticket.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("overall".into(), self.overall.map(Value::from).unwrap_or(Value::Null));
        for (name, score) in &self.dimensions {
            out.insert((*name).into(), Value::from(round(*score)));
        }
        Value::Object(out)
    }
}

pub(crate) fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Scores `actual` against `expected` (an ExpectedResult object; anything else names no
/// dimension).
pub fn score(expected: &Value, actual: &Value) -> Scores {
    let Some(expected) = expected.as_object() else {
        return Scores { dimensions: Vec::new(), overall: None };
    };
    let empty = Map::new();
    let actual = actual.as_object().unwrap_or(&empty);
    let null = Value::Null;
    let mut dimensions = Vec::new();
    for name in DIMENSIONS {
        let Some(want) = expected.get(name) else { continue };
        let got = actual.get(name).unwrap_or(&null);
        dimensions.push((name, dimension(name, want, got)));
    }
    let overall = (!dimensions.is_empty())
        .then(|| round(dimensions.iter().map(|(_, s)| s).sum::<f64>() / dimensions.len() as f64));
    Scores { dimensions, overall }
}

/// One dimension's score.
pub fn dimension(name: &str, expected: &Value, actual: &Value) -> f64 {
    match name {
        "intentDetection" | "tags" => jaccard(&strings(expected), &strings(actual)),
        "inputParameters" => parameters(expected, actual),
        "outcomeType" => per_agent(expected, actual, |e, a| bool_score(normalise::same(e, a))),
        "outcomeActions" | "outcomeNotifications" => {
            per_agent(expected, actual, |e, a| jaccard(&strings(e), &strings(a)))
        }
        "outcomeText" => per_agent(expected, actual, text),
        _ => bool_score(normalise::same(expected, actual)),
    }
}

fn bool_score(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// A JSON list as a set of normalised strings; a lone string is a one-element set.
fn strings(v: &Value) -> BTreeSet<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(normalise::text(s)),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    match v {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// |A ∩ B| / |A ∪ B|; two empty sets agree.
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// A map keyed by agent slug: the mean over the slugs either side names of `each` (a slug only
/// one side names scores 0). Two empty maps agree.
fn per_agent(expected: &Value, actual: &Value, each: impl Fn(&Value, &Value) -> f64) -> f64 {
    let empty = Map::new();
    let e = expected.as_object().unwrap_or(&empty);
    let a = actual.as_object().unwrap_or(&empty);
    let slugs: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
    if slugs.is_empty() {
        return 1.0;
    }
    let null = Value::Null;
    let total: f64 = slugs
        .iter()
        .map(|slug| match (e.get(*slug), a.get(*slug)) {
            (Some(x), Some(y)) => each(x, y),
            // An agent expected to answer nothing may be absent from the other side.
            (Some(x), None) | (None, Some(x)) => each(x, &null),
            (None, None) => 1.0,
        })
        .sum();
    total / slugs.len() as f64
}

/// Field by field: the share of (agent, parameter) pairs with a value on either side whose
/// values agree. A value extracted where none was expected counts against, as a missed one.
fn parameters(expected: &Value, actual: &Value) -> f64 {
    let pairs = |v: &Value| -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (slug, params) in v.as_object().into_iter().flatten() {
            for (key, value) in params.as_object().into_iter().flatten() {
                if normalise::value(value) != normalise::Normal::Null {
                    out.push((slug.clone(), key.clone(), value.clone()));
                }
            }
        }
        out
    };
    let e = pairs(expected);
    let a = pairs(actual);
    let keys: BTreeSet<(&String, &String)> =
        e.iter().chain(a.iter()).map(|(s, k, _)| (s, k)).collect();
    if keys.is_empty() {
        return 1.0;
    }
    let find = |side: &[(String, String, Value)], slug: &String, key: &String| {
        side.iter().find(|(s, k, _)| s == slug && k == key).map(|(_, _, v)| v.clone())
    };
    let agreed = keys
        .iter()
        .filter(|(slug, key)| match (find(&e, slug, key), find(&a, slug, key)) {
            (Some(x), Some(y)) => normalise::same(&x, &y),
            _ => false,
        })
        .count();
    agreed as f64 / keys.len() as f64
}

/// Equal after normalisation: 1; otherwise how alike the texts are (Dice coefficient of
/// their word bigrams, falling back to words for short texts), so a reworded answer scores
/// between 0 and 1.
pub fn text(expected: &Value, actual: &Value) -> f64 {
    let as_text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => normalise::text(s),
        other => normalise::text(&other.to_string()),
    };
    let (e, a) = (as_text(expected), as_text(actual));
    if e == a {
        return 1.0;
    }
    if e.is_empty() || a.is_empty() {
        return 0.0;
    }
    similarity(&e, &a)
}

fn similarity(a: &str, b: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let grams = |w: &[String]| -> Vec<String> {
        if w.len() < 2 { w.to_vec() } else { w.windows(2).map(|p| p.join(" ")).collect() }
    };
    let (wa, wb) = (words(a), words(b));
    let (ga, gb) = (grams(&wa), grams(&wb));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let mut rest = gb.clone();
    let mut common = 0;
    for g in &ga {
        if let Some(i) = rest.iter().position(|x| x == g) {
            rest.swap_remove(i);
            common += 1;
        }
    }
    2.0 * common as f64 / (ga.len() + gb.len()) as f64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn dim(name: &str, e: Value, a: Value) -> f64 {
        dimension(name, &e, &a)
    }

    #[test]
    fn contract_id_compares_normalised_values() {
        assert_eq!(dim("contractId", json!(715382), json!("715382")), 1.0);
        assert_eq!(dim("contractId", json!("715382"), json!("715383")), 0.0);
        assert_eq!(dim("contractId", json!(null), json!(null)), 1.0);
    }

    #[test]
    fn intent_detection_is_the_jaccard_of_the_slugs() {
        assert_eq!(dim("intentDetection", json!(["a", "b"]), json!(["a", "b"])), 1.0);
        assert_eq!(dim("intentDetection", json!(["a", "b"]), json!(["a"])), 0.5);
        assert_eq!(dim("intentDetection", json!(["a"]), json!(["b"])), 0.0);
        assert_eq!(dim("intentDetection", json!([]), json!([])), 1.0);
    }

    #[test]
    fn input_parameters_compare_field_by_field_with_normalisation() {
        let e = json!({"meter_reading": {"reading": 12345, "date": "2024-03-01", "_action": null}});
        let a = json!({"meter_reading": {"reading": "12.345", "date": "01.03.2024"}});
        assert_eq!(dim("inputParameters", e.clone(), a), 1.0);
        let a = json!({"meter_reading": {"reading": "12346", "date": "01.03.2024"}});
        assert_eq!(dim("inputParameters", e.clone(), a), 0.5);
        // A value extracted where none was expected counts against.
        let a = json!({"meter_reading": {"reading": 12345, "date": "2024-03-01", "meter": "X1"}});
        assert!((dim("inputParameters", e, a) - 2.0 / 3.0).abs() < 1e-9);
        let iban = json!({"bank_data_agent": {"iban": "DE89 3704 0044 0532 0130 00"}});
        let got = json!({"bank_data_agent": {"iban": "DE89370400440532013000"}});
        assert_eq!(dim("inputParameters", iban, got), 1.0);
    }

    #[test]
    fn outcome_type_is_per_agent_equality() {
        let e = json!({"a": "interaction", "b": "info"});
        assert_eq!(dim("outcomeType", e.clone(), json!({"a": "Interaction", "b": "info"})), 1.0);
        assert_eq!(dim("outcomeType", e, json!({"a": "interaction"})), 0.5);
    }

    #[test]
    fn outcome_actions_and_notifications_are_per_agent_jaccard() {
        let e = json!({"a": ["Update ERP", "Inform customer"]});
        assert_eq!(
            dim("outcomeActions", e.clone(), json!({"a": ["inform customer", "update erp"]})),
            1.0
        );
        assert_eq!(dim("outcomeActions", e, json!({"a": ["Update ERP"]})), 0.5);
        assert_eq!(dim("outcomeNotifications", json!({"a": ["x"]}), json!({})), 0.0);
        assert_eq!(dim("outcomeNotifications", json!({}), json!({})), 1.0);
    }

    #[test]
    fn outcome_text_is_equal_when_normalised_and_similar_otherwise() {
        let e = json!({"a": "Vielen Dank, wir haben Ihren Zählerstand erhalten."});
        assert_eq!(
            dim(
                "outcomeText",
                e.clone(),
                json!({"a": "vielen  dank, wir haben ihren zählerstand erhalten."})
            ),
            1.0
        );
        let close = dim(
            "outcomeText",
            e.clone(),
            json!({"a": "Vielen Dank, wir haben Ihren Zählerstand gespeichert."}),
        );
        assert!(close > 0.5 && close < 1.0, "{close}");
        assert_eq!(dim("outcomeText", e, json!({"a": null})), 0.0);
        assert_eq!(dim("outcomeText", json!({"a": null}), json!({"a": null})), 1.0);
    }

    #[test]
    fn sentiment_and_ai_support_level_are_equality() {
        assert_eq!(dim("sentiment", json!("disappointed"), json!("Disappointed")), 1.0);
        assert_eq!(dim("sentiment", json!("negative"), json!("neutral")), 0.0);
        assert_eq!(dim("aiSupportLevel", json!("human"), json!("human")), 1.0);
        assert_eq!(dim("aiSupportLevel", json!("human"), json!("bot")), 0.0);
    }

    #[test]
    fn tags_are_jaccard_ignoring_case() {
        assert_eq!(dim("tags", json!(["Sales", "marketing"]), json!(["sales", "Marketing"])), 1.0);
        assert!((dim("tags", json!(["a", "b", "c"]), json!(["a", "b"])) - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn only_named_dimensions_count_and_overall_is_their_mean() {
        let expected = json!({"contractId": 715382, "sentiment": "disappointed"});
        let actual = json!({"contractId": "715382", "sentiment": "neutral", "tags": ["x"]});
        let scores = score(&expected, &actual);
        assert_eq!(scores.dimensions, vec![("contractId", 1.0), ("sentiment", 0.0)]);
        assert_eq!(scores.overall, Some(0.5));
        assert!(!scores.passed(DEFAULT_PASS_THRESHOLD));
        assert_eq!(scores.to_json(), json!({"overall": 0.5, "contractId": 1.0, "sentiment": 0.0}));
    }

    #[test]
    fn no_expectation_scores_nothing_and_never_passes() {
        let scores = score(&Value::Null, &json!({"sentiment": "neutral"}));
        assert_eq!(scores.overall, None);
        assert!(!scores.passed(0.0));
    }

    #[test]
    fn an_identical_result_passes() {
        let r = json!({"contractId": null, "intentDetection": ["meter_reading"],
            "inputParameters": {"meter_reading": {"reading": 12345}},
            "outcomeType": {"meter_reading": "interaction"}, "outcomeActions": {"meter_reading": ["a"]},
            "outcomeNotifications": {"meter_reading": []}, "outcomeText": {"meter_reading": "Danke"},
            "sentiment": "neutral", "tags": [], "aiSupportLevel": "bot"});
        let scores = score(&r, &r);
        assert_eq!(scores.dimensions.len(), 10);
        assert_eq!(scores.overall, Some(1.0));
        assert!(scores.passed(DEFAULT_PASS_THRESHOLD));
    }
}
