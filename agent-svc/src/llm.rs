//! What agent-svc asks an LLM, when one is configured: to confirm which candidate agents a
//! message really asks for, and to extract the `message` parameters the patterns did not find.
//! Both answers are constrained by a JSON schema; an answer that does not fit is an error the
//! caller falls back from (the embeddings' verdict, the patterns' values), never data.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::engine::definition::Parameter;
use crate::engine::value::ParamType;
use crate::providers::chat::ChatClient;
use crate::providers::{Endpoint, ProviderError};

/// Longest message text sent: the ask is near the top, and small models have small contexts.
const MAX_CHARS: usize = 3000;

pub struct Llm {
    client: ChatClient,
}

/// An agent as the LLM is told about it.
pub struct Candidate<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub prompt: &'a str,
}

impl Llm {
    pub fn new(endpoint: Endpoint) -> Self {
        Self { client: ChatClient::new(endpoint) }
    }

    /// The slugs of `candidates` the message asks for.
    pub async fn confirm(
        &self,
        message: &str,
        candidates: &[Candidate<'_>],
    ) -> Result<Vec<String>, ProviderError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let slugs: Vec<&str> = candidates.iter().map(|c| c.slug).collect();
        let list: Vec<String> =
            candidates.iter().map(|c| format!("- {}: {}. {}", c.slug, c.name, c.prompt)).collect();
        let user = format!(
            "Customer message:\n\"\"\"\n{}\n\"\"\"\n\nProcesses:\n{}\n\nWhich of these processes does the customer \
             ask for in this message? Only requests the customer makes count, not questions about them, \
             refusals (\"I do not want to cancel\") or details in a signature. Answer true for each \
             process the customer asks for, false for the others.",
            clip(message),
            list.join("\n")
        );
        // One boolean per candidate rather than a list of ids: the answer has a fixed shape, so a
        // grammar-constrained model cannot repeat an id until it runs out of tokens.
        let properties: Map<String, Value> =
            slugs.iter().map(|s| ((*s).to_owned(), json!({"type": "boolean"}))).collect();
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": slugs,
            "additionalProperties": false
        });
        let system = "You route the messages customers send an energy utility to the processes that handle them. \
                      Answer only with JSON.";
        let budget = 16 + 24 * slugs.len() as u32;
        let answer = self.client.json(system, &user, "confirm_agents", &schema, budget).await?;
        Ok(slugs
            .iter()
            .filter(|s| answer.get(**s).and_then(Value::as_bool) == Some(true))
            .map(|s| (*s).to_owned())
            .collect())
    }

    /// Values for `parameters` (scalar `message` parameters) the message states, by key.
    pub async fn extract(
        &self,
        message: &str,
        parameters: &[&Parameter],
        descriptions: &[String],
        today: NaiveDate,
    ) -> Result<Map<String, Value>, ProviderError> {
        let scalar: Vec<(&Parameter, &String)> = parameters
            .iter()
            .copied()
            .zip(descriptions)
            .filter(|(p, _)| json_type(p.ty).is_some())
            .collect();
        if scalar.is_empty() {
            return Ok(Map::new());
        }
        let mut properties = Map::new();
        let mut fields = Vec::new();
        for (p, description) in &scalar {
            let ty = json_type(p.ty).unwrap_or("string");
            // Strings are bounded so a constrained answer always closes within its token budget.
            let field = if ty == "string" {
                json!({"type": [ty, "null"], "maxLength": 120})
            } else {
                json!({"type": [ty, "null"]})
            };
            properties.insert(p.key.clone(), field);
            fields.push(format!(
                "- {} ({ty}{}): {description}",
                p.key,
                if p.ty == ParamType::Date { ", YYYY-MM-DD" } else { "" }
            ));
        }
        let keys: Vec<&str> = scalar.iter().map(|(p, _)| p.key.as_str()).collect();
        let schema = json!({"type": "object", "properties": properties, "required": keys, "additionalProperties": false});
        let user = format!(
            "Today is {today}. Customer message:\n\"\"\"\n{}\n\"\"\"\n\nFields:\n{}\n\nFill each field with what the \
             message states, null when it does not state it.",
            clip(message),
            fields.join("\n")
        );
        let system = "You extract data from customer messages. Answer only with JSON; never guess.";
        let answer = self
            .client
            .json(system, &user, "extract_parameters", &schema, 60 + 60 * keys.len() as u32)
            .await?;
        Ok(keys
            .iter()
            .filter_map(|k| {
                answer.get(*k).filter(|v| !v.is_null()).map(|v| ((*k).to_owned(), v.clone()))
            })
            .collect())
    }
}

impl Llm {
    /// The reply to the customer an `llm` response case asks for: `brief` says what to write,
    /// `data` holds the agent's parameters.
    pub async fn write_reply(
        &self,
        message: &str,
        brief: &str,
        data: &Map<String, Value>,
        lang: crate::extraction::Lang,
    ) -> Result<String, ProviderError> {
        let language = match lang {
            crate::extraction::Lang::De => "German",
            crate::extraction::Lang::En => "English",
        };
        let known: Map<String, Value> = data
            .iter()
            .filter(|(k, v)| !k.starts_with('_') && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let user = format!(
            "Customer message:\n\"\"\"\n{}\n\"\"\"\n\nWhat to answer: {brief}\nKnown data: {}\n\nWrite the reply \
             to the customer in {language}, polite and short, without a subject line. State only facts \
             from the known data; put the text in \"reply\".",
            clip(message),
            Value::Object(known)
        );
        let schema = json!({"type": "object", "properties": {"reply": {"type": "string"}},
                            "required": ["reply"], "additionalProperties": false});
        let system =
            "You write customer service replies for an energy utility. Answer only with JSON.";
        let answer = self.client.json(system, &user, "write_reply", &schema, 400).await?;
        let reply = answer["reply"].as_str().map(str::trim).unwrap_or_default();
        if reply.is_empty() {
            return Err(ProviderError::Protocol {
                url: "chat/completions".into(),
                message: "an empty reply".into(),
            });
        }
        Ok(reply.to_owned())
    }
}

/// The JSON type an LLM can fill for a parameter; structured ones are left to the patterns.
pub fn json_type(ty: ParamType) -> Option<&'static str> {
    match ty {
        ParamType::Int | ParamType::Float => Some("number"),
        ParamType::Bool => Some("boolean"),
        ParamType::Str | ParamType::Date | ParamType::Datetime | ParamType::Enum => Some("string"),
        ParamType::List | ParamType::Dict => None,
    }
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_CHARS).collect()
}
