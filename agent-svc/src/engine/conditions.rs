//! Conditions of response cases and of condition detection: `{operator: And|Or, operands: [...]}`
//! where each operand compares one parameter (by id) with a value.
//!
//! Semantics, chosen so that a missing value never makes an agent act:
//! - An empty operand (absent, null, blank, `[]`, `{}`) is evaluated, not skipped. Asserting
//!   operators (`Equal`, `Like`, `In`, the four comparisons, `RegEx`, `Executor`) fail on it;
//!   negating ones (`NotEqual`, `NotLike`, `NotIn`) match. Only `IsNull`/`IsNotNull` test
//!   presence, and `NotEqual "null"` is an ordinary comparison with the text "null".
//! - A parameter whose source is an executor and whose field the executor did not return is a
//!   failed call: it satisfies no operator at all, negating ones included.
//! - Text comparisons ignore case and surrounding white space. Two values that both read as
//!   numbers ("85", "85,0", 85) compare as numbers.
//! - `Like`: `%` matches any run of characters; a pattern without `%` matches as a substring.
//! - `In`/`NotIn`: the value is a JSON array or a comma-separated string; a list-valued
//!   parameter is `In` when any element is.
//! - Comparisons compare numbers, else dates (`YYYY-MM-DD`, `DD.MM.YYYY`, RFC 3339; `today`);
//!   values that are neither fail (and raise an alert) rather than compare as text.
//! - `RegEx`: Rust `regex` syntax (linear time, so a pattern cannot hang the engine), searched
//!   anywhere in the text, case-sensitive unless the pattern says `(?i)`. Anchor with `^...$`.
//! - `Executor`: the parameter (normally `source: executor`) is truthy: `true`, a non-zero
//!   number, or a non-empty text other than "false"/"0".
//! - A group with no operands matches: a case without conditions is the default case.

use chrono::NaiveDate;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::value::{self, is_empty};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GroupOperator {
    #[default]
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    Equal,
    NotEqual,
    Like,
    NotLike,
    In,
    NotIn,
    GreaterThan,
    GreaterThanEqual,
    LessThan,
    LessThanEqual,
    IsNull,
    IsNotNull,
    RegEx,
    Executor,
}

impl Operator {
    pub const ALL: [Operator; 14] = [
        Self::Equal,
        Self::NotEqual,
        Self::Like,
        Self::NotLike,
        Self::In,
        Self::NotIn,
        Self::GreaterThan,
        Self::GreaterThanEqual,
        Self::LessThan,
        Self::LessThanEqual,
        Self::IsNull,
        Self::IsNotNull,
        Self::RegEx,
        Self::Executor,
    ];

    /// Negating operators match an empty value.
    pub fn is_negating(self) -> bool {
        matches!(self, Self::NotEqual | Self::NotLike | Self::NotIn)
    }
}

/// A condition group; operands may themselves be groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Condition {
    #[serde(default)]
    pub id: Value,
    #[serde(default)]
    pub operator: GroupOperator,
    #[serde(default)]
    pub operands: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Term {
    Operand(Operand),
    Group(Condition),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operand {
    #[serde(default)]
    pub id: Value,
    /// The id of the parameter compared.
    pub operand: i64,
    pub operator: Operator,
    #[serde(default)]
    pub value: Value,
}

/// What an operand sees of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// The parameter's typed value (`Null` when empty).
    Value(Value),
    /// An executor-sourced parameter the executor did not return.
    FailedCall,
}

/// Why a condition did not match, for alerts and previews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub code: &'static str,
    pub operand: i64,
    pub message: String,
}

/// Evaluates a condition against parameter values looked up by id. `None` from `params` means
/// the agent has no such parameter (an integrity error caught at write time; here it fails).
pub fn evaluate(
    condition: &Condition,
    params: &dyn Fn(i64) -> Option<Resolved>,
    today: NaiveDate,
    alerts: &mut Vec<Alert>,
) -> bool {
    let mut results = condition.operands.iter().map(|term| match term {
        Term::Operand(operand) => evaluate_operand(operand, params, today, alerts),
        Term::Group(group) => evaluate(group, params, today, alerts),
    });
    // Evaluate every operand (no short circuit) so the alerts name each failing one.
    match condition.operator {
        GroupOperator::And => results.by_ref().fold(true, |acc, r| acc & r),
        GroupOperator::Or => {
            condition.operands.is_empty() || results.by_ref().fold(false, |acc, r| acc | r)
        }
    }
}

fn evaluate_operand(
    operand: &Operand,
    params: &dyn Fn(i64) -> Option<Resolved>,
    today: NaiveDate,
    alerts: &mut Vec<Alert>,
) -> bool {
    let mut alert = |code: &'static str, message: String| {
        alerts.push(Alert { code, operand: operand.operand, message });
    };
    let value = match params(operand.operand) {
        None => {
            alert("unknownParameter", format!("parameter {} does not exist", operand.operand));
            return false;
        }
        Some(Resolved::FailedCall) => {
            alert(
                "executorFieldMissing",
                format!("parameter {} was not returned by the executor", operand.operand),
            );
            return false;
        }
        Some(Resolved::Value(v)) => v,
    };
    let matched = match operand.operator {
        Operator::IsNull => is_empty(&value),
        Operator::IsNotNull => !is_empty(&value),
        op if is_empty(&value) => op.is_negating(),
        Operator::Equal => equal(&value, &operand.value),
        Operator::NotEqual => !equal(&value, &operand.value),
        Operator::Like => like(&value, &operand.value),
        Operator::NotLike => !like(&value, &operand.value),
        Operator::In => within(&value, &operand.value),
        Operator::NotIn => !within(&value, &operand.value),
        op @ (Operator::GreaterThan
        | Operator::GreaterThanEqual
        | Operator::LessThan
        | Operator::LessThanEqual) => match compare(&value, &operand.value, today) {
            Some(ordering) => match op {
                Operator::GreaterThan => ordering.is_gt(),
                Operator::GreaterThanEqual => ordering.is_ge(),
                Operator::LessThan => ordering.is_lt(),
                _ => ordering.is_le(),
            },
            None => {
                alert(
                    "notComparable",
                    format!("{} and {} are neither numbers nor dates", value, operand.value),
                );
                false
            }
        },
        Operator::RegEx => match operand.value.as_str().map(Regex::new) {
            Some(Ok(re)) => texts(&value).iter().any(|t| re.is_match(t)),
            _ => {
                alert(
                    "invalidRegex",
                    format!("{} is not a valid regular expression", operand.value),
                );
                false
            }
        },
        Operator::Executor => truthy(&value),
    };
    if !matched {
        alert(
            "notMatched",
            format!("parameter {} {:?} {}", operand.operand, operand.operator, operand.value),
        );
    }
    matched
}

/// Checks a condition's own values once, at write time: regular expressions compile.
pub fn validate(condition: &Condition, problems: &mut Vec<String>) {
    for term in &condition.operands {
        match term {
            Term::Group(group) => validate(group, problems),
            Term::Operand(op) if op.operator == Operator::RegEx => {
                if let Err(e) = op
                    .value
                    .as_str()
                    .ok_or("not a string".to_owned())
                    .and_then(|p| Regex::new(p).map(|_| ()).map_err(|e| e.to_string()))
                {
                    problems.push(format!("operand {}: invalid regular expression: {e}", op.id));
                }
            }
            Term::Operand(_) => {}
        }
    }
}

/// Every parameter id a condition refers to (for referential integrity).
pub fn parameter_ids(condition: &Condition, out: &mut Vec<i64>) {
    for term in &condition.operands {
        match term {
            Term::Operand(op) => out.push(op.operand),
            Term::Group(group) => parameter_ids(group, out),
        }
    }
}

fn normalised(value: &Value) -> Option<String> {
    value::scalar_text(value).map(|t| t.to_lowercase())
}

fn equal(left: &Value, right: &Value) -> bool {
    if let (Some(a), Some(b)) = (value::number(left), value::number(right)) {
        return a == b;
    }
    match left {
        Value::Array(items) => items.iter().any(|item| equal(item, right)),
        _ => matches!((normalised(left), normalised(right)), (Some(a), Some(b)) if a == b),
    }
}

fn like(value: &Value, pattern: &Value) -> bool {
    let Some(pattern) = normalised(pattern) else { return false };
    texts(value).iter().any(|text| {
        let text = text.to_lowercase();
        if !pattern.contains('%') {
            return text.contains(&pattern);
        }
        wildcard(&text, &pattern)
    })
}

/// `%` wildcard match over the whole text, without building a regex from user input.
fn wildcard(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

fn within(value: &Value, list: &Value) -> bool {
    let candidates: Vec<Value> = match list {
        Value::Array(items) => items.clone(),
        Value::String(s) => s.split(',').map(|p| Value::String(p.trim().to_owned())).collect(),
        other => vec![other.clone()],
    };
    candidates.iter().any(|candidate| equal(value, candidate))
}

fn compare(left: &Value, right: &Value, today: NaiveDate) -> Option<std::cmp::Ordering> {
    if let (Some(a), Some(b)) = (value::number(left), value::number(right)) {
        return a.partial_cmp(&b);
    }
    let as_date = |v: &Value| match v.as_str().map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("today") => Some(today),
        _ => value::date(v),
    };
    Some(as_date(left)?.cmp(&as_date(right)?))
}

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(value::scalar_text).collect(),
        Value::Object(_) => vec![value.to_string()],
        other => value::scalar_text(other).into_iter().collect(),
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !matches!(s.trim().to_lowercase().as_str(), "" | "false" | "0"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 15).unwrap()
    }

    /// One operand on parameter 1 holding `value`.
    fn check(operator: Operator, value: Value, target: Value) -> bool {
        let condition = Condition {
            operands: vec![Term::Operand(Operand {
                id: json!(1),
                operand: 1,
                operator,
                value: target,
            })],
            ..Condition::default()
        };
        let params = move |id: i64| (id == 1).then(|| Resolved::Value(value.clone()));
        evaluate(&condition, &params, today(), &mut Vec::new())
    }

    const EMPTIES: [fn() -> Value; 5] =
        [|| Value::Null, || json!(""), || json!("   "), || json!([]), || json!({})];

    #[test]
    fn every_operator_has_its_documented_answer_on_an_empty_value() {
        for empty in EMPTIES {
            for op in Operator::ALL {
                let expected = match op {
                    Operator::IsNull => true,
                    Operator::IsNotNull => false,
                    other => other.is_negating(),
                };
                // Even a target that "looks" empty does not make an asserting operator match.
                for target in [json!("x"), json!(""), json!("null"), json!(["x"])] {
                    assert_eq!(
                        check(op, empty(), target.clone()),
                        expected,
                        "{op:?} on {:?} vs {target}",
                        empty()
                    );
                }
            }
        }
    }

    #[test]
    fn equal_ignores_case_and_compares_numbers_as_numbers() {
        assert!(check(Operator::Equal, json!("Need_Confirmation "), json!("need_confirmation")));
        assert!(check(Operator::Equal, json!("85,0"), json!(85)));
        assert!(check(Operator::Equal, json!(true), json!("TRUE")));
        assert!(!check(Operator::Equal, json!("85.1"), json!(85)));
        assert!(check(Operator::NotEqual, json!("a"), json!("b")));
        assert!(!check(Operator::NotEqual, json!("A"), json!("a")));
        assert!(check(Operator::NotEqual, json!("x"), json!("null")), "\"null\" is plain text");
        assert!(check(Operator::Equal, json!(["gas", "power"]), json!("power")), "any element");
    }

    #[test]
    fn like_is_a_substring_or_a_percent_pattern() {
        assert!(check(Operator::Like, json!("Kündigung zum Monatsende"), json!("KÜNDIGUNG")));
        assert!(check(Operator::Like, json!("DE89370400440532013000"), json!("DE%000")));
        assert!(check(Operator::Like, json!("abc"), json!("%")));
        assert!(check(Operator::Like, json!("a_b_c"), json!("a%c")));
        assert!(!check(Operator::Like, json!("DE89"), json!("AT%")));
        assert!(!check(Operator::Like, json!("ab"), json!("a%b%b")), "parts may not overlap");
        assert!(check(Operator::NotLike, json!("Strom"), json!("gas")));
        assert!(!check(Operator::NotLike, json!("Erdgas"), json!("gas")));
    }

    #[test]
    fn in_takes_arrays_and_comma_lists() {
        assert!(check(Operator::In, json!("chat"), json!(["email", "chat"])));
        assert!(check(Operator::In, json!("Chat"), json!("email, chat")));
        assert!(check(Operator::In, json!(3), json!([1, 2, 3])));
        assert!(check(Operator::In, json!([5, 3]), json!("3,4")));
        assert!(!check(Operator::In, json!("phone"), json!(["email", "chat"])));
        assert!(check(Operator::NotIn, json!("phone"), json!(["email", "chat"])));
        assert!(!check(Operator::NotIn, json!("email"), json!("email,chat")));
    }

    #[test]
    fn comparisons_use_numbers_then_dates_and_refuse_text() {
        assert!(check(Operator::GreaterThan, json!("1.234,5"), json!(1000)));
        assert!(check(Operator::GreaterThanEqual, json!(10), json!("10")));
        assert!(check(Operator::LessThan, json!("2026-11-01"), json!("today")));
        assert!(check(Operator::LessThanEqual, json!("15.11.2026"), json!("today")));
        assert!(!check(Operator::LessThan, json!("2026-12-01"), json!("2026-11-30")));
        let condition = Condition {
            operands: vec![Term::Operand(Operand {
                id: json!(7),
                operand: 1,
                operator: Operator::GreaterThan,
                value: json!("b"),
            })],
            ..Condition::default()
        };
        let mut alerts = Vec::new();
        let params = |_: i64| Some(Resolved::Value(json!("a")));
        assert!(!evaluate(&condition, &params, today(), &mut alerts));
        assert!(alerts.iter().any(|a| a.code == "notComparable"), "{alerts:?}");
    }

    #[test]
    fn regex_searches_and_rejects_invalid_patterns() {
        assert!(check(Operator::RegEx, json!("Zähler 1ESY1160612345"), json!(r"\b1ESY\d{10}\b")));
        assert!(!check(Operator::RegEx, json!("abc"), json!("^b")));
        assert!(!check(Operator::RegEx, json!("ABC"), json!("abc")));
        assert!(check(Operator::RegEx, json!("ABC"), json!("(?i)abc")));
        assert!(!check(Operator::RegEx, json!("abc"), json!("(unclosed")));
        let mut problems = Vec::new();
        let condition: Condition = serde_json::from_value(json!({
            "operator": "And",
            "operands": [{"id": 9, "operand": 1, "operator": "RegEx", "value": "(x"}]
        }))
        .unwrap();
        validate(&condition, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn executor_is_a_truthiness_test_and_a_missing_executor_field_satisfies_nothing() {
        assert!(check(Operator::Executor, json!(true), Value::Null));
        assert!(check(Operator::Executor, json!("ok"), Value::Null));
        assert!(!check(Operator::Executor, json!("false"), Value::Null));
        assert!(!check(Operator::Executor, json!(0), Value::Null));
        for op in Operator::ALL {
            let condition = Condition {
                operands: vec![Term::Operand(Operand {
                    id: json!(1),
                    operand: 1,
                    operator: op,
                    value: json!("x"),
                })],
                ..Condition::default()
            };
            let params = |_: i64| Some(Resolved::FailedCall);
            assert!(!evaluate(&condition, &params, today(), &mut Vec::new()), "{op:?}");
        }
    }

    #[test]
    fn groups_combine_nest_and_default_when_empty() {
        let condition: Condition = serde_json::from_value(json!({
            "operator": "Or",
            "operands": [
                {"id": 1, "operand": 1, "operator": "Equal", "value": "a"},
                {"operator": "And", "operands": [
                    {"id": 2, "operand": 2, "operator": "IsNotNull"},
                    {"id": 3, "operand": 1, "operator": "NotEqual", "value": "c"}
                ]}
            ]
        }))
        .unwrap();
        let run = |one: Value, two: Value| {
            let params = move |id: i64| match id {
                1 => Some(Resolved::Value(one.clone())),
                2 => Some(Resolved::Value(two.clone())),
                _ => None,
            };
            evaluate(&condition, &params, today(), &mut Vec::new())
        };
        assert!(run(json!("a"), Value::Null));
        assert!(run(json!("b"), json!(1)));
        assert!(!run(json!("c"), json!(1)));
        assert!(!run(json!("b"), Value::Null));
        let mut ids = Vec::new();
        parameter_ids(&condition, &mut ids);
        assert_eq!(ids, vec![1, 2, 1]);

        let nothing = |_: i64| None;
        for operator in [GroupOperator::And, GroupOperator::Or] {
            let empty = Condition { operator, ..Condition::default() };
            assert!(evaluate(&empty, &nothing, today(), &mut Vec::new()));
        }
    }

    #[test]
    fn an_unknown_parameter_fails_with_an_alert() {
        let condition: Condition = serde_json::from_value(json!({
            "operator": "And",
            "operands": [{"id": 1, "operand": 42, "operator": "NotEqual", "value": "x"}]
        }))
        .unwrap();
        let mut alerts = Vec::new();
        assert!(!evaluate(&condition, &|_| None, today(), &mut alerts));
        assert_eq!(alerts[0].code, "unknownParameter");
    }
}
