//! The parts of an agent definition (`settings` of the AiAgent JSON) the engine reads. The
//! stored document keeps every other field as it was written; these types only borrow a view.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::{self, Condition, Operator, Term};
use super::value::{EnumOption, ParamType};

/// The key of the mandatory hidden parameter that carries the chosen option in phase 2.
pub const ACTION_KEY: &str = "_action";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgentSettings {
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub response_cases: Vec<ResponseCase>,
    #[serde(default)]
    pub executor: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    Ticket,
    Customer,
    Contract,
    Tag,
    Message,
    #[default]
    Manual,
    Executor,
    ExecutorResult,
    ExecutorNextAction,
    AiSmartAgent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub id: i64,
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub ty: ParamType,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub source_key: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub options: Vec<EnumOption>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputType {
    Interaction,
    TextTemplate,
    Llm,
    TextTemplateAndClose,
    CloseTicket,
}

impl OutputType {
    /// Interactions wait for a human; everything else may run unattended.
    pub fn auto_executable(self) -> bool {
        self != Self::Interaction
    }
    pub fn closes(self) -> bool {
        matches!(self, Self::TextTemplateAndClose | Self::CloseTicket)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseCase {
    pub id: Value,
    #[serde(default)]
    pub condition: Condition,
    pub output: Output,
    #[serde(default)]
    pub auto_execute: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    #[serde(rename = "type")]
    pub ty: OutputType,
    #[serde(default)]
    pub parameters: Vec<i64>,
    #[serde(default)]
    pub text: String,
    /// Texts per language code (`de`, `en`); `text` is used where a language has none.
    #[serde(default)]
    pub texts: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub template_id: Option<i64>,
    /// For `interaction`: the buttons offered (phase 1) and the boxes shown.
    #[serde(default)]
    pub options: Vec<IntentOption>,
    #[serde(default)]
    pub infos: Vec<IntentInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentOption {
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub recommended: bool,
    #[serde(default)]
    pub order: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentInfo {
    #[serde(rename = "type")]
    pub ty: InfoType,
    pub message: String,
    #[serde(default)]
    pub extra_info: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InfoType {
    Success,
    Warning,
    Danger,
    Neutral,
}

impl IntentInfo {
    pub fn new(ty: InfoType, message: impl Into<String>) -> Self {
        Self { ty, message: message.into(), extra_info: None, code: None }
    }
}

impl AgentSettings {
    pub fn parameter(&self, id: i64) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.id == id)
    }

    pub fn action_parameter(&self) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.key == ACTION_KEY)
    }

    /// Referential integrity and the rules a definition must meet before it is stored; each
    /// problem is one human-readable violation.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in &self.parameters {
            if !seen.insert(p.id) {
                out.push(format!("parameter id {} is used twice", p.id));
            }
        }
        if self.action_parameter().is_none() {
            out.push(format!("the hidden manual parameter {ACTION_KEY:?} is missing"));
        }
        for case in &self.response_cases {
            let mut ids = Vec::new();
            conditions::parameter_ids(&case.condition, &mut ids);
            for id in ids {
                if self.parameter(id).is_none() {
                    out.push(format!(
                        "response case {}: operand refers to unknown parameter {id}",
                        case.id
                    ));
                }
            }
            for id in &case.output.parameters {
                if self.parameter(*id).is_none() {
                    out.push(format!(
                        "response case {}: output refers to unknown parameter {id}",
                        case.id
                    ));
                }
            }
            let mut problems = Vec::new();
            conditions::validate(&case.condition, &mut problems);
            out.extend(problems.into_iter().map(|p| format!("response case {}: {p}", case.id)));
        }
        out
    }

    /// The `_action` values a case is restricted to when every operand of its condition tests
    /// `_action` with `Equal` or `In`; `None` when the case looks at anything else.
    pub fn action_values(&self, case: &ResponseCase) -> Option<Vec<String>> {
        let action_id = self.action_parameter()?.id;
        let mut values = Vec::new();
        if case.condition.operands.is_empty() {
            return None;
        }
        for term in &case.condition.operands {
            let Term::Operand(op) = term else { return None };
            if op.operand != action_id {
                return None;
            }
            match (op.operator, &op.value) {
                (Operator::Equal, v) => values.extend(super::value::scalar_text(v)),
                (Operator::In, Value::Array(items)) => {
                    values.extend(items.iter().filter_map(super::value::scalar_text))
                }
                (Operator::In, Value::String(s)) => {
                    values.extend(s.split(',').map(|p| p.trim().to_owned()))
                }
                _ => return None,
            }
        }
        Some(values)
    }

    /// The actions that may run unattended: cases with `autoExecute` whose condition tests only
    /// `_action` with `Equal`/`In`, and whose output is not an interaction.
    pub fn auto_executable_actions(&self) -> Vec<String> {
        self.response_cases
            .iter()
            .filter(|c| c.auto_execute && c.output.ty.auto_executable())
            .filter_map(|c| self.action_values(c))
            .flatten()
            .collect()
    }
}
