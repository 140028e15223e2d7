//! `POST {url}/embeddings` of an OpenAI-compatible server. e5 models embed a search query and
//! the passages it is compared with differently, so each call says which it is (`input_type`,
//! which OpenAI itself ignores); the model name stays whatever the operator configured.
//! Concurrent requests are coalesced into shared calls ([`super::batch`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::batch::{Batcher, Batching, Direct, Embedded};
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

pub struct EmbeddingsClient {
    http: Arc<Http>,
    batcher: Batcher<Http>,
}

/// What went over the wire so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Texts in them.
    pub inputs: u64,
}

/// The calls themselves: one request per call, with retries and a breaker.
struct Http {
    endpoint: Endpoint,
    client: reqwest::Client,
    breaker: Breaker,
    requests: AtomicU64,
    inputs: AtomicU64,
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

impl std::fmt::Debug for EmbeddingsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingsClient").field("endpoint", &self.http.endpoint).finish()
    }
}

impl EmbeddingsClient {
    /// A client whose concurrent requests share calls ([`Batching::default`]).
    pub fn new(endpoint: Endpoint) -> Self {
        Self::with_batching(endpoint, Batching::default())
    }

    pub fn with_batching(endpoint: Endpoint, batching: Batching) -> Self {
        let http = Arc::new(Http {
            client: http_client(&endpoint),
            endpoint,
            breaker: Breaker::new(3, Duration::from_secs(10)),
            requests: AtomicU64::new(0),
            inputs: AtomicU64::new(0),
        });
        Self { batcher: Batcher::new(http.clone(), batching), http }
    }

    /// The model name sent with each request.
    pub fn model(&self) -> &str {
        &self.http.endpoint.model
    }

    /// The requests sent so far and the texts in them.
    pub fn calls(&self) -> Calls {
        Calls {
            requests: self.http.requests.load(Ordering::Relaxed),
            inputs: self.http.inputs.load(Ordering::Relaxed),
        }
    }

    /// One vector per text, in order. An empty input costs no call.
    pub async fn embed(
        &self,
        texts: &[String],
        input_type: InputType,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        self.batcher.embed(texts, input_type).await
    }
}

impl Direct for Http {
    fn call(
        &self,
        texts: Vec<String>,
        input_type: InputType,
    ) -> Pin<Box<dyn Future<Output = Embedded> + Send + '_>> {
        Box::pin(async move {
            let url = format!("{}/embeddings", self.endpoint.url.trim_end_matches('/'));
            let started = std::time::Instant::now();
            let embedded = with_retries(&self.endpoint, &self.breaker, &url, || {
                self.attempt(&url, &texts, input_type)
            })
            .await;
            tracing::debug!(
                inputs = texts.len(),
                ms = started.elapsed().as_millis() as u64,
                ok = embedded.is_ok(),
                "embeddings call"
            );
            embedded
        })
    }
}

impl Http {
    async fn attempt(
        &self,
        url: &str,
        texts: &[String],
        input_type: InputType,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inputs.fetch_add(texts.len() as u64, Ordering::Relaxed);
        let body = Request {
            input: texts,
            model: &self.endpoint.model,
            input_type,
            encoding_format: "float",
        };
        let parsed: Response = post_json(&self.client, &self.endpoint, url, &body).await?;
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
