//! A tag's `detectionDetails` (contract §2.3, §6.1): the same object AI agents carry, checked
//! for its structure on every write. Whether it matches a ticket is agent-svc's to say
//! (`EvaluateDetection`): it evaluates agents' detection with the same semantics.
//!
//! Structure: `{type, customerNeeded?, aiDetection?: {detectionPrompt, detectionPromptEn,
//! examples, keywords, negativeKeywords}, conditions?: {id, operator: And|Or, operands: [...]},
//! parameters?: [{id, key, type, source, sourceKey, ...}]}`; `{}` is a tag detected by no one.
//! A malformed object is 400; an operand that names no parameter of the object is 422, as for
//! an AI agent.

use std::collections::HashSet;

use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::one_of;
use serde_json::{Map, Value};

/// Detection types (contract §0).
pub const TYPES: &[&str] = &[
    "manualAssignment",
    "aiDetection",
    "conditionDetection",
    "aiAndConditionDetection",
    "aiOrConditionDetection",
    "customLogic",
];
const KEYS: &[&str] = &["type", "customerNeeded", "aiDetection", "conditions", "parameters"];
/// Texts of `aiDetection`: a string, a list of them, or lists per language.
const AI_KEYS: &[&str] =
    &["detectionPrompt", "detectionPromptEn", "examples", "keywords", "negativeKeywords"];
const GROUP_OPERATORS: &[&str] = &["And", "Or"];
/// Operand operators (contract §2.3).
const OPERATORS: &[&str] = &[
    "Equal",
    "NotEqual",
    "Like",
    "NotLike",
    "In",
    "NotIn",
    "GreaterThan",
    "GreaterThanEqual",
    "LessThan",
    "LessThanEqual",
    "IsNull",
    "IsNotNull",
    "RegEx",
    "Executor",
];
const SOURCES: &[&str] = &[
    "ticket",
    "customer",
    "contract",
    "tag",
    "message",
    "manual",
    "executor",
    "executorResult",
    "executorNextAction",
    "aiSmartAgent",
];
const PARAMETER_TYPES: &[&str] =
    &["str", "int", "float", "bool", "date", "datetime", "enum", "list", "dict"];
/// Nesting of condition groups beyond this is refused rather than walked.
const MAX_DEPTH: usize = 16;

fn bad(message: String) -> Error {
    Error::InvalidArgument(format!("detectionDetails{message}"))
}

/// Checks a `detectionDetails` value as written by a client.
pub fn validate(details: &Value) -> Result<()> {
    let Value::Object(details) = details else {
        return Err(bad(" must be an object".into()));
    };
    if details.is_empty() {
        return Ok(());
    }
    if let Some(key) = details.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!(".{key} is not a known key (known: {})", KEYS.join(", "))));
    }
    let kind = details
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(".type is required, one of ".to_owned() + &TYPES.join(", ")))?;
    one_of("detectionDetails.type", kind, TYPES)?;
    if let Some(v) = details.get("customerNeeded").filter(|v| !v.is_boolean()) {
        return Err(bad(format!(".customerNeeded must be true or false, got {v}")));
    }
    if let Some(ai) = details.get("aiDetection").filter(|v| !v.is_null()) {
        ai_detection(ai)?;
    }
    let parameters = match details.get("parameters") {
        None | Some(Value::Null) => HashSet::new(),
        Some(p) => parameters(p)?,
    };
    if let Some(conditions) = details.get("conditions").filter(|v| !v.is_null()) {
        let mut used = Vec::new();
        group(conditions, ".conditions", 0, &mut used)?;
        if let Some(missing) = used.iter().find(|id| !parameters.contains(id)) {
            return Err(Error::Unprocessable(format!(
                "detectionDetails.conditions: operand {missing} refers to no parameter in \
                 detectionDetails.parameters"
            )));
        }
    }
    Ok(())
}

fn ai_detection(ai: &Value) -> Result<()> {
    let Value::Object(ai) = ai else {
        return Err(bad(".aiDetection must be an object".into()));
    };
    for (key, value) in ai {
        if !AI_KEYS.contains(&key.as_str()) {
            return Err(bad(format!(
                ".aiDetection.{key} is not a known key (known: {})",
                AI_KEYS.join(", ")
            )));
        }
        if !texts(value, 0) {
            return Err(bad(format!(
                ".aiDetection.{key} must be a text, a list of texts or lists per language"
            )));
        }
    }
    Ok(())
}

fn texts(value: &Value, depth: usize) -> bool {
    match value {
        Value::Null | Value::String(_) => true,
        Value::Array(items) => items.iter().all(Value::is_string),
        Value::Object(by_language) if depth == 0 => by_language.values().all(|v| texts(v, 1)),
        _ => false,
    }
}

/// The parameter ids, each checked.
fn parameters(value: &Value) -> Result<HashSet<i64>> {
    let Value::Array(list) = value else {
        return Err(bad(".parameters must be a list".into()));
    };
    let mut ids = HashSet::new();
    for (i, p) in list.iter().enumerate() {
        let at = format!(".parameters[{i}]");
        let Value::Object(p) = p else { return Err(bad(format!("{at} must be an object"))) };
        let id = p
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad(format!("{at}.id must be a number")))?;
        if !ids.insert(id) {
            return Err(bad(format!("{at}.id {id} is used twice")));
        }
        if p.get("key").and_then(Value::as_str).is_none_or(|k| k.trim().is_empty()) {
            return Err(bad(format!("{at}.key must be a non-empty text")));
        }
        text_of(p, "source", SOURCES, &at)?;
        text_of(p, "type", PARAMETER_TYPES, &at)?;
        if p.get("sourceKey").is_some_and(|k| !k.is_string() && !k.is_null()) {
            return Err(bad(format!("{at}.sourceKey must be a text")));
        }
    }
    Ok(ids)
}

/// An optional text field that must be one of `allowed`.
fn text_of(p: &Map<String, Value>, field: &str, allowed: &[&'static str], at: &str) -> Result<()> {
    match p.get(field) {
        None => Ok(()),
        Some(Value::String(v)) => {
            one_of(&format!("detectionDetails{at}.{field}"), v, allowed).map(|_| ())
        }
        Some(v) => Err(bad(format!("{at}.{field} must be a text, got {v}"))),
    }
}

/// A condition group; collects the parameter ids its operands compare.
fn group(value: &Value, at: &str, depth: usize, used: &mut Vec<i64>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(bad(format!("{at}: groups nest deeper than {MAX_DEPTH}")));
    }
    let Value::Object(g) = value else { return Err(bad(format!("{at} must be an object"))) };
    text_of(g, "operator", GROUP_OPERATORS, at)?;
    let operands = match g.get("operands") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad(format!("{at}.operands must be a list"))),
    };
    for (i, term) in operands.iter().enumerate() {
        let at = format!("{at}.operands[{i}]");
        let Value::Object(o) = term else { return Err(bad(format!("{at} must be an object"))) };
        if o.contains_key("operands") {
            group(term, &at, depth + 1, used)?;
            continue;
        }
        let parameter = o
            .get("operand")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad(format!("{at}.operand must be a parameter id")))?;
        match o.get("operator") {
            Some(Value::String(op)) => {
                one_of(&format!("detectionDetails{at}.operator"), op, OPERATORS)?;
            }
            _ => return Err(bad(format!("{at}.operator is required"))),
        }
        used.push(parameter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(details: Value) -> Option<&'static str> {
        validate(&details).err().map(|e| e.code().as_str())
    }

    #[test]
    fn the_vendor_shapes_pass() {
        assert_eq!(code(json!({})), None);
        assert_eq!(
            code(json!({"type": "aiDetection", "customerNeeded": true,
                "aiDetection": {"detectionPrompt": "The customer wants to terminate their contract"},
                "conditions": {"id": 1, "operands": [], "operator": "And"}, "parameters": []})),
            None
        );
        assert_eq!(
            code(json!({"type": "aiOrConditionDetection",
                "aiDetection": {"examples": {"de": ["Ich kündige"], "en": ["I cancel"]}},
                "conditions": {"operator": "Or", "operands": [
                    {"operand": 1, "operator": "Like", "value": "%@example.com"},
                    {"operator": "And", "operands": [{"id": 3, "operand": 2, "operator": "IsNull"}]}]},
                "parameters": [{"id": 1, "key": "sender", "type": "str", "source": "ticket"},
                    {"id": 2, "key": "contract", "source": "contract", "sourceKey": null}]})),
            None
        );
    }

    #[test]
    fn malformed_objects_are_invalid_and_dangling_operands_unprocessable() {
        let invalid = Some("invalid_argument");
        assert_eq!(code(json!([])), invalid);
        assert_eq!(code(json!({"customerNeeded": false})), invalid, "type is required");
        assert_eq!(code(json!({"type": "aiDetection", "customerNeeded": "yes"})), invalid);
        assert_eq!(code(json!({"type": "aiDetection", "aiDetection": {"prompt": "x"}})), invalid);
        assert_eq!(code(json!({"type": "aiDetection", "aiDetection": {"examples": [1]}})), invalid);
        let nested = json!({"type": "conditionDetection", "parameters": [{"id": 1, "key": "a"}],
            "conditions": {"operands": [{"operands": [{"operand": 1, "operator": "Near"}]}]}});
        assert_eq!(code(nested), invalid);
        let twice = json!({"type": "conditionDetection",
            "parameters": [{"id": 1, "key": "a"}, {"id": 1, "key": "b"}]});
        assert_eq!(code(twice), invalid);
        let dangling = json!({"type": "conditionDetection", "parameters": [{"id": 1, "key": "a"}],
            "conditions": {"operands": [{"operand": 2, "operator": "IsNull"}]}});
        assert_eq!(code(dangling), Some("unprocessable"));
        let mut deep = json!({"operand": 1, "operator": "IsNull"});
        for _ in 0..40 {
            deep = json!({"operands": [deep]});
        }
        let deep = json!({"type": "conditionDetection", "conditions": deep,
            "parameters": [{"id": 1, "key": "a"}]});
        assert_eq!(code(deep), invalid);
    }
}
