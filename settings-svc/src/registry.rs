//! Every setting the product knows (contract §5.3): its type, category, default and who may
//! read it. Values live in `settings.setting_value`; a setting without a stored value has its
//! default. Unknown names are refused, so a typo never creates a setting.

use serde_json::{Value, json};

/// The value type, with what validation it implies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Boolean,
    /// A number in `min..=max`; numeric strings are accepted (UIs round-trip them).
    Number {
        min: f64,
        max: f64,
    },
    Text {
        max_len: usize,
    },
    Enum(&'static [&'static str]),
    /// A list of integer ids.
    IdList,
    /// A JSON object.
    Object,
    /// A JSON list.
    List,
    /// A credential: masked unless the caller may read secrets.
    Secret,
    /// An absolute http(s) URL, or empty for none.
    Url,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Number { .. } => "number",
            Self::Text { .. } | Self::Url => "string",
            Self::Enum(_) => "enum",
            Self::IdList => "multiselect",
            Self::Object => "json",
            Self::List => "list",
            Self::Secret => "secret",
        }
    }
}

#[derive(Debug)]
pub struct Definition {
    pub name: &'static str,
    pub kind: Kind,
    pub category: &'static str,
    pub description: &'static str,
    /// Services that read it: fe, mind, cortex, acd, ioProxy, auth.
    pub used_by: &'static [&'static str],
    /// Permissions needed to read it, beyond reading settings at all.
    pub read_permissions: &'static [&'static str],
    /// Needed to write it, instead of `updateClientSettings`.
    pub write_permission: Option<&'static str>,
    default: fn() -> Value,
}

impl Definition {
    pub fn default_value(&self) -> Value {
        (self.default)()
    }

    /// The value as stored: checked against the type, numeric strings made numbers.
    pub fn validate(&self, value: Value) -> Result<Value, String> {
        let expected = |what: &str| Err(format!("{} expects {what}", self.name));
        match (self.kind, value) {
            (Kind::Boolean, v @ Value::Bool(_)) => Ok(v),
            (Kind::Boolean, _) => expected("true or false"),
            (Kind::Number { min, max }, v) => {
                let n = match &v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                match n {
                    // Whole numbers stay integers: `20` reads back as `20`, not `20.0`.
                    Some(n) if (min..=max).contains(&n) && n.fract() == 0.0 => Ok(json!(n as i64)),
                    Some(n) if (min..=max).contains(&n) => Ok(json!(n)),
                    _ => expected(&format!("a number from {min} to {max}")),
                }
            }
            (Kind::Text { max_len }, Value::String(s)) if s.chars().count() <= max_len => {
                Ok(Value::String(s))
            }
            (Kind::Text { max_len }, _) => {
                expected(&format!("a string of at most {max_len} characters"))
            }
            (Kind::Url, Value::String(s)) if s.is_empty() || is_http_url(&s) => {
                Ok(Value::String(s))
            }
            (Kind::Url, _) => expected("an http(s) URL, or an empty string for none"),
            (Kind::Secret, Value::String(s)) if s.len() <= 4096 => Ok(Value::String(s)),
            (Kind::Secret, Value::Null) => Ok(Value::Null),
            (Kind::Secret, _) => expected("a string"),
            (Kind::Enum(options), Value::String(s)) if options.contains(&s.as_str()) => {
                Ok(Value::String(s))
            }
            (Kind::Enum(options), _) => expected(&format!("one of {}", options.join(", "))),
            (Kind::IdList, Value::Array(items)) if items.iter().all(|i| i.as_i64().is_some()) => {
                Ok(Value::Array(items))
            }
            (Kind::IdList, _) => expected("a list of integer ids"),
            (Kind::Object, v @ Value::Object(_)) => self.check_object(v),
            (Kind::Object, _) => expected("a JSON object"),
            (Kind::List, v @ Value::Array(_)) => Ok(v),
            (Kind::List, _) => expected("a JSON list"),
        }
    }

    fn check_object(&self, value: Value) -> Result<Value, String> {
        if self.name == FEATURE_FLAGS {
            let Value::Object(flags) = &value else { unreachable!("checked by the caller") };
            for (flag, on) in flags {
                if !FEATURE_FLAG_NAMES.contains(&flag.as_str()) {
                    return Err(format!("unknown feature flag {flag}"));
                }
                if !on.is_boolean() {
                    return Err(format!("feature flag {flag} must be true or false"));
                }
            }
        }
        Ok(value)
    }
}

pub const FEATURE_FLAGS: &str = "featureFlags";
const FEATURE_FLAG_NAMES: &[&str] = &[
    "security",
    "rbac",
    "quality",
    "marketpartner",
    "analytics",
    "apps",
    "acd",
    "email",
    "chat",
    "letter",
    "portal",
    "system",
    "walkIn",
];

/// Reading credentials in clear.
pub const READ_SECRETS: &str = "readSecretSettings";

macro_rules! setting {
    ($name:literal, $kind:expr, $category:literal, $default:expr, $used_by:expr, $description:literal) => {
        Definition {
            name: $name,
            kind: $kind,
            category: $category,
            description: $description,
            used_by: $used_by,
            read_permissions: &[],
            write_permission: None,
            default: || $default,
        }
    };
}

const NUMBER_HOURS: Kind = Kind::Number { min: 0.0, max: 8760.0 };
const SHORT_TEXT: Kind = Kind::Text { max_len: 200 };

pub static SETTINGS: &[Definition] = &[
    setting!(
        "enableAiAgents",
        Kind::Boolean,
        "ai-agents",
        json!(true),
        &["mind", "fe"],
        "Detect intents with AI agents on incoming tickets."
    ),
    setting!(
        "enableAiAutoProcessing",
        Kind::Boolean,
        "ai-agents",
        json!(false),
        &["mind"],
        "Let AI agents execute without a human (dark processing)."
    ),
    setting!(
        "immediateAiAgents",
        Kind::IdList,
        "ai-agents",
        json!([]),
        &["mind"],
        "AI agents that auto-execute without approval."
    ),
    setting!(
        "_manualAiAgents",
        Kind::IdList,
        "ai-agents",
        json!([]),
        &["mind", "fe"],
        "AI agents that auto-execute after one-click approval."
    ),
    setting!(
        "autoProcessingDelayEnabled",
        Kind::Boolean,
        "ai-agents",
        json!(false),
        &["mind"],
        "Wait before auto-processing, so a customer's follow-up can still arrive."
    ),
    setting!(
        "autoProcessingDelay",
        NUMBER_HOURS,
        "ai-agents",
        json!(0),
        &["mind"],
        "Hours after the last message before auto-processing."
    ),
    setting!(
        "aiBotName",
        SHORT_TEXT,
        "ai-agents",
        json!("Enneo"),
        &["fe", "cortex"],
        "Name the AI uses towards customers."
    ),
    setting!(
        "summaryOptions",
        Kind::Object,
        "ai-agents",
        json!({}),
        &["cortex"],
        "How ticket summaries are written."
    ),
    setting!(
        "qualityCheckOnAgentChange",
        Kind::Boolean,
        "ai-agents",
        json!(false),
        &["mind"],
        "Run an AI agent's quality check test cases whenever the agent is changed."
    ),
    setting!(
        "sourceCodeExecutorTimeout",
        Kind::Number { min: 1.0, max: 300.0 },
        "ai-agents",
        json!(45),
        &["mind"],
        "Seconds a source-code executor may run."
    ),
    setting!(
        "lastAgentRouting",
        Kind::Boolean,
        "routing",
        json!(false),
        &["mind"],
        "Route a customer's follow-up back to the agent who last handled them."
    ),
    setting!(
        "autopilotTagMatchingMode",
        Kind::Enum(&["matchAny", "matchAll"]),
        "routing",
        json!("matchAny"),
        &["mind"],
        "matchAny: a ticket needs one tag among the agent's skills; matchAll: all of its tags."
    ),
    setting!(
        "autopilotOrderingSequence",
        Kind::Enum(&["dueDate", "priorityThenDueDate", "priorityThenNewest", "priorityThenOldest"]),
        "routing",
        json!("dueDate"),
        &["mind"],
        "Order in which the next ticket is picked."
    ),
    setting!(
        "flexibleAutopilotOrderingSequence",
        Kind::Boolean,
        "routing",
        json!(false),
        &["mind", "fe"],
        "Let agents choose their own ordering."
    ),
    setting!(
        "limitTicketBacklogAccess",
        Kind::Boolean,
        "routing",
        json!(false),
        &["mind"],
        "Agents see only tickets their skills allow."
    ),
    setting!(
        "customerIdentificationParams",
        Kind::Object,
        "customers",
        json!({}),
        &["cortex"],
        "Which fields identify a customer in messages."
    ),
    setting!(
        "customerLegitimationEnabled",
        Kind::Boolean,
        "customers",
        json!(true),
        &["mind"],
        "Check that a sender is who they claim before acting on a contract."
    ),
    setting!(
        "customerLegitimationRuleAsyncChannels",
        Kind::Object,
        "customers",
        json!({}),
        &["mind"],
        "Legitimation rules for e-mail, letter and portal."
    ),
    setting!(
        "customerLegitimationRuleSyncChannels",
        Kind::Object,
        "customers",
        json!({}),
        &["mind"],
        "Legitimation rules for chat and phone."
    ),
    setting!(
        "customerLegitimationThreshold",
        Kind::Number { min: 0.0, max: 100.0 },
        "customers",
        json!(20),
        &["mind"],
        "Minimum legitimation score for automated actions."
    ),
    setting!(
        "spamDetection",
        Kind::Boolean,
        "spam",
        json!(true),
        &["mind", "cortex"],
        "Detect spam on incoming tickets."
    ),
    setting!(
        "spamDetectionTagIds",
        Kind::IdList,
        "spam",
        json!([]),
        &["mind"],
        "Tags given to detected spam."
    ),
    setting!(
        "reportingPrivacyLevel",
        Kind::Enum(&["full", "pseudonymized", "partiallyPseudonymized", "none"]),
        "reporting",
        json!("full"),
        &["mind"],
        "How personal data appears in exports and reports."
    ),
    setting!(
        "defaultDateExportFormat",
        Kind::Enum(&["xlsx", "csv", "json"]),
        "reporting",
        json!("xlsx"),
        &["mind", "fe"],
        "Export format when none is asked for."
    ),
    setting!(
        "timeTrackingStatusOptions",
        Kind::List,
        "time-tracking",
        json!(["active", "busy", "offwork", "away", "absent"]),
        &["fe", "mind"],
        "Time-tracking statuses agents can pick."
    ),
    setting!(
        "locale",
        Kind::Text { max_len: 20 },
        "general",
        json!("de-DE"),
        &["fe", "mind", "cortex"],
        "Language and formats of the instance."
    ),
    setting!(
        "timeZone",
        Kind::Text { max_len: 64 },
        "general",
        json!("Europe/Berlin"),
        &["fe", "mind"],
        "Time zone for business hours and dates."
    ),
    setting!(
        "templateData",
        Kind::Object,
        "general",
        json!({}),
        &["mind"],
        "Values every template sees at top level."
    ),
    setting!(
        "aiReplyTemplate",
        Kind::Text { max_len: 20_000 },
        "general",
        json!("%MESSAGE%"),
        &["mind"],
        "Wrapper of AI agent replies (greeting, signature): HTML with %MESSAGE% where the reply goes."
    ),
    Definition {
        name: FEATURE_FLAGS,
        kind: Kind::Object,
        category: "advanced-general",
        description: "Product areas switched on or off; a missing flag is on.",
        used_by: &["fe", "mind"],
        read_permissions: &[],
        write_permission: Some("enneoAdmin"),
        default: || json!({}),
    },
    setting!(
        "aiEmbeddingsUrl",
        Kind::Url,
        "ai-providers",
        json!(""),
        &["mind"],
        "OpenAI-compatible embeddings server for AI detection (base URL with /v1); empty: the deployment's."
    ),
    setting!(
        "aiEmbeddingsModel",
        SHORT_TEXT,
        "ai-providers",
        json!(""),
        &["mind"],
        "Model of that embeddings server; empty: the deployment's."
    ),
    Definition {
        name: "aiEmbeddingsApiKey",
        kind: Kind::Secret,
        category: "ai-providers",
        description: "API key of that embeddings server; empty: the deployment's.",
        used_by: &["mind"],
        read_permissions: &[],
        write_permission: None,
        default: || Value::Null,
    },
    setting!(
        "llmUrl",
        Kind::Url,
        "ai-providers",
        json!(""),
        &["mind"],
        "OpenAI-compatible chat server that confirms detections and extracts parameters (base URL with /v1); empty: the deployment's, if any."
    ),
    setting!(
        "llmModel",
        SHORT_TEXT,
        "ai-providers",
        json!(""),
        &["mind"],
        "Model of that chat server; empty: the deployment's."
    ),
    Definition {
        name: "llmApiKey",
        kind: Kind::Secret,
        category: "advanced-general",
        description: "API key of the language-model provider (llmUrl); empty: the deployment's.",
        used_by: &["mind", "cortex"],
        read_permissions: &[],
        write_permission: None,
        default: || Value::Null,
    },
    Definition {
        name: "microsoftOAuthClientSecret",
        kind: Kind::Secret,
        category: "mailbox",
        description: "Client secret of the Microsoft app that connects mailboxes.",
        used_by: &["mind"],
        read_permissions: &[READ_SECRETS],
        write_permission: None,
        default: || Value::Null,
    },
];

pub fn find(name: &str) -> Option<&'static Definition> {
    SETTINGS.iter().find(|d| d.name == name)
}

fn is_http_url(text: &str) -> bool {
    text.len() <= 2000
        && reqwest::Url::parse(text).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}

/// What a caller who may not read secrets sees of one.
pub fn mask(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        _ => Value::String("********".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_are_valid() {
        let mut names: Vec<&str> = SETTINGS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate setting names");
        for definition in SETTINGS {
            let default = definition.default_value();
            assert_eq!(definition.validate(default.clone()), Ok(default), "{}", definition.name);
        }
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let mode = find("autopilotTagMatchingMode").unwrap();
        assert!(
            mode.validate(json!("matchSome")).unwrap_err().contains("one of matchAny, matchAll")
        );
        let threshold = find("customerLegitimationThreshold").unwrap();
        assert_eq!(threshold.validate(json!("30")), Ok(json!(30)));
        assert_eq!(threshold.validate(json!(20.5)), Ok(json!(20.5)));
        assert!(threshold.validate(json!(101)).is_err());
        assert!(find("enableAiAgents").unwrap().validate(json!("yes")).is_err());
        assert!(find("spamDetectionTagIds").unwrap().validate(json!([1, "x"])).is_err());
        let flags = find(FEATURE_FLAGS).unwrap();
        assert!(flags.validate(json!({"chat": false})).is_ok());
        assert!(flags.validate(json!({"teleport": true})).is_err());
        assert_eq!(mask(&json!("sk-123")), json!("********"));
        let url = find("aiEmbeddingsUrl").unwrap();
        assert_eq!(url.validate(json!("")), Ok(json!("")));
        assert!(url.validate(json!("https://models.example.com/v1")).is_ok());
        for bad in [json!("ftp://x/v1"), json!("models.example.com"), json!(3)] {
            assert!(url.validate(bad.clone()).is_err(), "{bad}");
        }
    }
}
