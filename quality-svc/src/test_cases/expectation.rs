//! ExpectedResult objects as callers send them: checked before they are stored, so scoring
//! never meets a shape it cannot read.

use enneo_common::service_error::{Error, Result};
use serde_json::{Map, Value};

use crate::scoring::DIMENSIONS;

/// Keys an ExpectedResult may carry beyond the scored dimensions.
const OBSERVED: [&str; 2] = ["sources", "error"];

/// Parses an expectation; `null` (or nothing) is "no expectation".
pub fn parse(text: Option<&str>) -> Result<Option<Value>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else { return Ok(None) };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("expectedResult is not JSON: {e}")))?;
    check(value)
}

pub fn check(value: Value) -> Result<Option<Value>> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(invalid("expectedResult must be an object or null")),
    };
    for (key, v) in &map {
        if !DIMENSIONS.contains(&key.as_str()) && !OBSERVED.contains(&key.as_str()) {
            return Err(invalid(format!("expectedResult has an unknown key {key:?}")));
        }
        let ok = match key.as_str() {
            "intentDetection" | "tags" => v.is_null() || strings(v),
            "inputParameters" | "sources" | "outcomeActions" | "outcomeNotifications" => {
                per_agent(v, |x| x.is_object() || x.is_array() || x.is_null())
            }
            "outcomeType" | "outcomeText" => per_agent(v, |x| x.is_string() || x.is_null()),
            _ => !v.is_object() && !v.is_array(),
        };
        if !ok {
            return Err(invalid(format!("expectedResult.{key} has the wrong shape")));
        }
    }
    Ok(Some(Value::Object(map)))
}

/// The part of an observation that is an ExpectedResult (what accepting it stores).
pub fn from_actual(actual: &Value) -> Value {
    let mut out = Map::new();
    for key in DIMENSIONS.iter().chain(OBSERVED[..1].iter()) {
        if let Some(v) = actual.get(*key) {
            out.insert((*key).into(), v.clone());
        }
    }
    Value::Object(out)
}

fn strings(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
}

fn per_agent(v: &Value, each: impl Fn(&Value) -> bool) -> bool {
    v.is_null() || v.as_object().is_some_and(|m| m.values().all(each))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn partial_expectations_are_accepted_and_bad_shapes_refused() {
        assert!(
            check(json!({"contractId": 715382, "sentiment": "disappointed"})).unwrap().is_some()
        );
        assert_eq!(check(Value::Null).unwrap(), None);
        assert!(check(json!({"colour": "red"})).is_err());
        assert!(check(json!({"intentDetection": "a"})).is_err());
        assert!(check(json!({"outcomeText": {"a": 1}})).is_err());
        assert!(check(json!([1])).is_err());
        assert!(parse(Some("{")).is_err());
    }

    #[test]
    fn accepting_keeps_only_the_expected_result_keys() {
        let actual =
            json!({"sentiment": "neutral", "confidence": {"a": 1}, "effects": [], "error": null});
        assert_eq!(from_actual(&actual), json!({"sentiment": "neutral"}));
    }
}
