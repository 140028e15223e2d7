//! Resolving an agent's parameters from their sources (§2.2 of the agent JSON): the ticket, the
//! customer and contract records, the ticket's tags, values extracted from the message, literals,
//! and executor results. Values given explicitly (the `data` of an execute request, a human's
//! edit of an intent) win over every source.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::conditions::Resolved;
use super::definition::{ACTION_KEY, AgentSettings, IntentInfo, IntentOption, Parameter, Source};
use super::value::{self, ConversionError};

/// Everything parameters can be resolved against; the shapes of the ticket variables
/// namespaces (`in`, `customer`, `contract`).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The ticket as the `in` namespace: `ticketId, channel, subject, message, sender, tagIds, ...`.
    pub ticket: Value,
    pub customer: Value,
    pub contract: Value,
    pub tag_ids: Vec<i64>,
    /// Values extracted from the message, by parameter key.
    pub extracted: Map<String, Value>,
    /// The executor's result (`data` of its Interaction), once it ran.
    pub executor: Option<Value>,
    /// The infos and options of the executor's Interaction: an interaction case that has no
    /// options of its own shows the executor's.
    pub executor_infos: Vec<IntentInfo>,
    pub executor_options: Vec<IntentOption>,
    /// Explicit values by parameter key, `_action` among them.
    pub given: Map<String, Value>,
}

/// The resolved parameters of one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    pub by_id: BTreeMap<i64, Resolved>,
    /// Parameter key → typed value (`Null` when empty or failed), as executors and templates see them.
    pub by_key: Map<String, Value>,
    pub errors: Vec<ConversionError>,
    /// Keys of required parameters without a value.
    pub missing: Vec<String>,
}

impl Resolution {
    pub fn get(&self, id: i64) -> Option<Resolved> {
        self.by_id.get(&id).cloned()
    }

    /// `_action`, as text; `None` in phase 1.
    pub fn action(&self) -> Option<String> {
        self.by_key.get(ACTION_KEY).and_then(value::scalar_text).filter(|a| !a.is_empty())
    }
}

pub fn resolve(settings: &AgentSettings, inputs: &Inputs) -> Resolution {
    let mut out = Resolution::default();
    for parameter in &settings.parameters {
        let resolved = match inputs.given.get(&parameter.key) {
            Some(given) => Some(given.clone()),
            None => raw(parameter, inputs),
        };
        let resolved = match resolved {
            None => Resolved::FailedCall,
            Some(raw) => {
                match value::convert(&parameter.key, parameter.ty, &raw, &parameter.options) {
                    Ok(v) => Resolved::Value(v),
                    Err(e) => {
                        out.errors.push(e);
                        Resolved::Value(Value::Null)
                    }
                }
            }
        };
        let typed = match &resolved {
            Resolved::Value(v) => v.clone(),
            Resolved::FailedCall => Value::Null,
        };
        if parameter.required && parameter.key != ACTION_KEY && value::is_empty(&typed) {
            out.missing.push(parameter.key.clone());
        }
        out.by_key.insert(parameter.key.clone(), typed);
        out.by_id.insert(parameter.id, resolved);
    }
    out
}

/// The raw value of a parameter from its source; `None` only for an executor field the executor
/// did not return (a failed call, which satisfies no condition).
fn raw(parameter: &Parameter, inputs: &Inputs) -> Option<Value> {
    let key = parameter.source_key.as_deref().filter(|k| !k.is_empty()).unwrap_or(&parameter.key);
    let from = |doc: &Value| value::lookup(doc, key).cloned().unwrap_or(Value::Null);
    Some(match parameter.source {
        Source::Ticket => from(&inputs.ticket),
        Source::Customer => from(&inputs.customer),
        Source::Contract => from(&inputs.contract),
        Source::Tag => Value::Array(inputs.tag_ids.iter().map(|&t| Value::from(t)).collect()),
        Source::Message => inputs.extracted.get(&parameter.key).cloned().unwrap_or(Value::Null),
        // The vendor's `_action` default is the text "null": phase 1 sees a real null.
        Source::Manual => match &parameter.value {
            Value::String(s) if s == "null" => Value::Null,
            other => other.clone(),
        },
        Source::Executor => {
            return inputs.executor.as_ref().and_then(|r| value::lookup(r, key).cloned());
        }
        Source::ExecutorResult | Source::ExecutorNextAction | Source::AiSmartAgent => Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> AgentSettings {
        serde_json::from_value(json!({
            "parameters": [
                {"id": 1, "key": "_action", "type": "str", "value": "null", "source": "manual", "visibility": "hidden"},
                {"id": 2, "key": "channel", "type": "str", "source": "ticket"},
                {"id": 3, "key": "city", "type": "str", "source": "customer", "sourceKey": "address.city"},
                {"id": 4, "key": "deposit", "type": "float", "source": "contract", "sourceKey": "deposit"},
                {"id": 5, "key": "tags", "type": "list", "source": "tag"},
                {"id": 6, "key": "meterReading", "type": "float", "source": "message", "required": true},
                {"id": 7, "key": "plausible", "type": "bool", "source": "executor"},
                {"id": 8, "key": "limit", "type": "int", "source": "manual", "value": "250"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn every_source_resolves_through_its_namespace() {
        let inputs = Inputs {
            ticket: json!({"channel": "email"}),
            customer: json!({"address": {"city": "Köln"}}),
            contract: json!({"deposit": "85,50"}),
            tag_ids: vec![3, 9],
            extracted: json!({"meterReading": "1.234,5"}).as_object().unwrap().clone(),
            executor: Some(json!({"plausible": "ja"})),
            given: Map::new(),
            ..Inputs::default()
        };
        let r = resolve(&settings(), &inputs);
        assert_eq!(r.errors, vec![]);
        assert_eq!(r.action(), None, "the text \"null\" is phase 1");
        assert_eq!(r.by_key["channel"], json!("email"));
        assert_eq!(r.by_key["city"], json!("Köln"));
        assert_eq!(r.by_key["deposit"], json!(85.5));
        assert_eq!(r.by_key["tags"], json!([3, 9]));
        assert_eq!(r.by_key["meterReading"], json!(1234.5));
        assert_eq!(r.by_key["plausible"], json!(true));
        assert_eq!(r.by_key["limit"], json!(250));
        assert!(r.missing.is_empty());
    }

    #[test]
    fn missing_values_conversion_errors_and_failed_calls_are_reported() {
        let inputs = Inputs {
            contract: json!({"deposit": "viel"}),
            executor: Some(json!({})),
            given: json!({"_action": "enter_into_system"}).as_object().unwrap().clone(),
            ..Inputs::default()
        };
        let r = resolve(&settings(), &inputs);
        assert_eq!(r.action().as_deref(), Some("enter_into_system"));
        assert_eq!(r.missing, vec!["meterReading".to_owned()]);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].key, "deposit");
        assert_eq!(r.get(7), Some(Resolved::FailedCall));
        assert_eq!(r.get(4), Some(Resolved::Value(Value::Null)));
        assert_eq!(r.get(99), None);
    }

    #[test]
    fn given_values_win_over_sources() {
        let inputs = Inputs {
            extracted: json!({"meterReading": "100"}).as_object().unwrap().clone(),
            given: json!({"meterReading": 120}).as_object().unwrap().clone(),
            ..Inputs::default()
        };
        assert_eq!(resolve(&settings(), &inputs).by_key["meterReading"], json!(120.0));
    }
}
