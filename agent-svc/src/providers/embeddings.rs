//! `POST {url}/embeddings` of an OpenAI-compatible server. e5 models embed a search query and
//! the passages it is compared with differently, so each call says which it is (`input_type`,
//! which OpenAI itself ignores); the model name stays whatever the operator configured.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::breaker::Breaker;
use super::{Endpoint, ProviderError, http_client, post_json, with_retries};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// What a customer wrote, to be matched.
    Query,
    /// What it is matched against.
    Passage,
}

#[derive(Debug)]
pub struct EmbeddingsClient {
    endpoint: Endpoint,
    http: reqwest::Client,
    breaker: Breaker,
}

#[derive(Serialize)]
struct Request<'a> {
    input: &'a [String],
    model: &'a str,
    input_type: InputType,
    encoding_format: &'static str,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

impl EmbeddingsClient {
    pub fn new(endpoint: Endpoint) -> Self {
        let http = http_client(&endpoint);
        Self { endpoint, http, breaker: Breaker::new(3, Duration::from_secs(10)) }
    }

    /// The model name sent with each request.
    pub fn model(&self) -> &str {
        &self.endpoint.model
    }

    /// One vector per text, in order. An empty input costs no call.
    pub async fn embed(
        &self,
        texts: &[String],
        input_type: InputType,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let url = format!("{}/embeddings", self.endpoint.url.trim_end_matches('/'));
        with_retries(&self.endpoint, &self.breaker, &url, || self.call(&url, texts, input_type))
            .await
    }

    async fn call(
        &self,
        url: &str,
        texts: &[String],
        input_type: InputType,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let body = Request {
            input: texts,
            model: &self.endpoint.model,
            input_type,
            encoding_format: "float",
        };
        let parsed: Response = post_json(&self.http, &self.endpoint, url, &body).await?;
        let mut vectors = vec![Vec::new(); texts.len()];
        for item in parsed.data {
            let slot = vectors.get_mut(item.index).ok_or_else(|| ProviderError::Protocol {
                url: url.to_owned(),
                message: format!("index {} out of range", item.index),
            })?;
            *slot = item.embedding;
        }
        if let Some(missing) = vectors.iter().position(Vec::is_empty) {
            return Err(ProviderError::Protocol {
                url: url.to_owned(),
                message: format!("no embedding for input {missing}"),
            });
        }
        Ok(vectors)
    }
}
