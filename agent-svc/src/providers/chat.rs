//! `POST {url}/chat/completions` of an OpenAI-compatible server, asking for an answer that
//! follows a JSON schema (`response_format: json_schema`). The answer is parsed and checked
//! against the schema's required keys here too: a small or careless model that ignores the
//! format is a protocol error the caller falls back from, not data.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::breaker::Breaker;
use super::{Endpoint, ProviderError, http_client, post_json, with_retries};

pub struct ChatClient {
    endpoint: Endpoint,
    http: reqwest::Client,
    breaker: Breaker,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    temperature: f32,
    max_tokens: u32,
    response_format: Value,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Response {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Content,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    content: Option<String>,
}

impl ChatClient {
    pub fn new(endpoint: Endpoint) -> Self {
        let http = http_client(&endpoint);
        Self { endpoint, http, breaker: Breaker::new(3, Duration::from_secs(30)) }
    }

    /// The model's answer to `user` (after `system`) as a JSON object following `schema`.
    pub async fn json(
        &self,
        system: &str,
        user: &str,
        name: &str,
        schema: &Value,
        max_tokens: u32,
    ) -> Result<Value, ProviderError> {
        let url = format!("{}/chat/completions", self.endpoint.url.trim_end_matches('/'));
        let body = Request {
            model: &self.endpoint.model,
            messages: [
                Message { role: "system", content: system },
                Message { role: "user", content: user },
            ],
            temperature: 0.0,
            max_tokens,
            response_format: json!({"type": "json_schema",
                "json_schema": {"name": name, "strict": true, "schema": schema}}),
        };
        with_retries(&self.endpoint, &self.breaker, &url, || async {
            let response: Response = post_json(&self.http, &self.endpoint, &url, &body).await?;
            let text = response
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.message.content)
                .unwrap_or_default();
            parse(&url, &text, schema)
        })
        .await
    }
}

/// The first JSON object in `text` (models wrap answers in prose or code fences), with every
/// key the schema requires.
fn parse(url: &str, text: &str, schema: &Value) -> Result<Value, ProviderError> {
    let protocol = |message: String| ProviderError::Protocol { url: url.to_owned(), message };
    let start = text.find('{').ok_or_else(|| protocol("the answer holds no JSON object".into()))?;
    let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    let value = match stream.next() {
        Some(Ok(v @ Value::Object(_))) => v,
        _ => return Err(protocol(format!("not a JSON object: {}", excerpt(text)))),
    };
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if value.get(key).is_none() {
                return Err(protocol(format!("the answer lacks {key:?}: {}", excerpt(text))));
            }
        }
    }
    Ok(value)
}

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_from_prose_and_fences_and_must_have_the_required_keys() {
        let schema = json!({"type": "object", "required": ["agents"]});
        let fenced = "Sure!\n```json\n{\"agents\": [\"meter_reading\"]}\n```";
        assert_eq!(parse("u", fenced, &schema).unwrap(), json!({"agents": ["meter_reading"]}));
        assert!(parse("u", "{\"other\": 1}", &schema).is_err());
        assert!(parse("u", "no json here", &schema).is_err());
        assert!(parse("u", "[1, 2]", &schema).is_err());
    }
}
