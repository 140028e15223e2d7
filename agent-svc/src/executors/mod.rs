//! Executors (`settings.executor[]`): code or an HTTP call an agent runs to look things up or
//! act, fed the agent's parameters as JSON and answering an Interaction (`infos`, `options`,
//! `data`; contract §2.3 and the vendor's executor contract).
//!
//! - `apiCall` ([`api_call`]): a templated HTTP request to a host on the allow-list, with a
//!   timeout; the JSON answer is the result.
//! - `sourceCode` ([`source_code`]): Python in a subprocess with wall-time and memory limits and
//!   no network unless allowed; off unless the operator enables it.
//!
//! A failing executor never fails the request: the run continues without its data and the
//! failure is a `danger` info.

pub mod api_call;
pub mod source_code;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::engine::definition::{IntentInfo, IntentOption};

/// What the operator allows executors to do (`[executors]` in agent-svc's configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Hosts `apiCall` executors may call: exact names, or `*.example.com` for subdomains.
    /// Empty: no API calls.
    pub api_allowed_hosts: Vec<String>,
    pub api_timeout_ms: u64,
    /// `sourceCode` executors run only when this is on: they execute tenant-written code.
    pub source_code_enabled: bool,
    /// Wall time of one run (the vendor's `sourceCodeExecutorTimeout`, 45 s).
    pub source_code_timeout_ms: u64,
    /// Address-space limit of one run.
    pub source_code_memory_mb: u64,
    /// Let code reach the network (off: it runs in a network namespace of its own).
    pub source_code_network: bool,
    /// The Python 3 interpreter.
    pub python: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_allowed_hosts: Vec::new(),
            api_timeout_ms: 10_000,
            source_code_enabled: false,
            source_code_timeout_ms: 45_000,
            source_code_memory_mb: 512,
            source_code_network: false,
            python: "python3".into(),
        }
    }
}

impl Config {
    pub fn api_timeout(&self) -> Duration {
        Duration::from_millis(self.api_timeout_ms)
    }
}

/// One executor of an agent definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    #[serde(default)]
    pub id: Value,
    #[serde(default, rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub code: String,
    /// Ids of the parameters passed in; empty: all of them.
    #[serde(default)]
    pub parameters: Vec<i64>,
    /// `apiCall`: `{method, url, headers, body}`, each a Handlebars template over the input.
    #[serde(default)]
    pub request: Option<ApiRequest>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRequest {
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(default)]
    pub body: Option<Value>,
}

fn default_method() -> String {
    "POST".into()
}

impl Definition {
    /// The agent's executor: the first one (anything but `apiCall` runs as `sourceCode`).
    pub fn of(agent: &Value) -> Option<Result<Self, String>> {
        let first = agent.pointer("/settings/executor").and_then(Value::as_array)?.first()?;
        Some(serde_json::from_value(first.clone()).map_err(|e| format!("executor: {e}")))
    }

    pub fn is_api_call(&self) -> bool {
        self.ty == "apiCall"
    }
}

/// What an executor answered (the Interaction).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    #[serde(default)]
    pub infos: Vec<IntentInfo>,
    #[serde(default)]
    pub options: Vec<IntentOption>,
    #[serde(default)]
    pub data: Map<String, Value>,
}

impl Output {
    /// An Interaction from an executor's JSON; a bare object without the Interaction keys is
    /// taken as its `data` (a plain API answer).
    pub fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err("the executor did not answer a JSON object".into());
        };
        if ["infos", "options", "data"].iter().any(|k| map.contains_key(*k)) {
            serde_json::from_value(Value::Object(map))
                .map_err(|e| format!("not an Interaction: {e}"))
        } else {
            Ok(Self { data: map, ..Self::default() })
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// The executor's input (the vendor's shape): `_action`, `_metadata`, `date`, and each passed
/// parameter by key.
pub fn input(
    def: &Definition,
    parameters: &[crate::engine::definition::Parameter],
    values: &Map<String, Value>,
    metadata: Value,
    today: chrono::NaiveDate,
) -> Value {
    let mut input = Map::new();
    let action = values.get(crate::engine::definition::ACTION_KEY).cloned().unwrap_or(Value::Null);
    input.insert("_action".into(), action);
    let passed: Vec<&crate::engine::definition::Parameter> = parameters
        .iter()
        .filter(|p| def.parameters.is_empty() || def.parameters.contains(&p.id))
        .filter(|p| p.key != crate::engine::definition::ACTION_KEY)
        .collect();
    let mut metadata = metadata;
    metadata["inputParameters"] = json!(
        passed
            .iter()
            .map(|p| json!({"id": p.id, "key": p.key, "type": p.ty, "visibility": p.visibility}))
            .collect::<Vec<_>>()
    );
    input.insert("_metadata".into(), metadata);
    input.insert("date".into(), json!(today.format("%Y-%m-%d").to_string()));
    for p in passed {
        input.insert(p.key.clone(), values.get(&p.key).cloned().unwrap_or(Value::Null));
    }
    Value::Object(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_answer_is_data_and_an_interaction_is_read_as_one() {
        let plain = Output::from_json(json!({"plausible": true})).unwrap();
        assert_eq!(plain.data["plausible"], json!(true));
        let interaction = Output::from_json(json!({"infos": [{"type": "danger", "message": "x"}],
            "options": [{"type": "ok", "name": "OK", "recommended": true}], "data": {"a": 1}}))
        .unwrap();
        assert_eq!(interaction.infos.len(), 1);
        assert_eq!(interaction.options[0].ty, "ok");
        assert_eq!(interaction.data["a"], json!(1));
        assert!(Output::from_json(json!([1])).is_err());
        assert!(Output::from_json(json!({"infos": "no"})).is_err());
    }

    #[test]
    fn the_input_carries_the_passed_parameters_action_metadata_and_date() {
        let params: Vec<crate::engine::definition::Parameter> = serde_json::from_value(json!([
            {"id": 1, "key": "_action", "source": "manual"},
            {"id": 2, "key": "newIban", "type": "str", "source": "message", "visibility": "visible"},
            {"id": 3, "key": "secret", "type": "str", "source": "manual"}]))
        .unwrap();
        let def: Definition =
            serde_json::from_value(json!({"type": "sourceCode", "parameters": [1, 2]})).unwrap();
        let values =
            json!({"_action": null, "newIban": "DE89", "secret": "x"}).as_object().unwrap().clone();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let input = input(&def, &params, &values, json!({"ticketId": "7"}), today);
        assert_eq!(input["newIban"], "DE89");
        assert!(input.get("secret").is_none(), "only the listed parameters are passed");
        assert_eq!(input["_action"], Value::Null);
        assert_eq!(input["date"], "2026-12-07");
        assert_eq!(input["_metadata"]["ticketId"], "7");
        assert_eq!(input["_metadata"]["inputParameters"][0]["key"], "newIban");
    }
}
