//! Clients for OpenAI-compatible model servers: `/v1/embeddings` (the embedded default is a local
//! multilingual-e5-small server) and, optionally, `/v1/chat/completions`. Every call has a
//! timeout, a bounded number of retries and a circuit breaker; a failure is an error the caller
//! falls back from, never a panic or a lost message.

pub mod batch;
pub mod breaker;
pub mod cache;
pub mod chat;
pub mod embeddings;
pub mod servers;

use std::time::Duration;

/// Where a model server is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL including the API version, e.g. `http://127.0.0.1:8089/v1`.
    pub url: String,
    pub model: String,
    pub api_key: Option<secrecy::SecretString>,
    pub timeout: Duration,
    /// Retries after the first attempt, for connection errors, 429 and 5xx.
    pub retries: u32,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("{0} is not answering (circuit open)")]
    CircuitOpen(String),
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: status {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url}: unexpected response: {message}")]
    Protocol { url: String, message: String },
}

impl ProviderError {
    fn retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// The server refused the request itself (4xx other than 429): another request may pass.
    pub fn refused(&self) -> bool {
        matches!(self, Self::Status { status, .. } if (400..500).contains(status) && *status != 429)
    }
}

/// Backs off 100 ms, 200 ms, 400 ms ... between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(5))
}

/// Calls `attempt` until it succeeds, fails for good, or the endpoint's retries are used up,
/// backing off between attempts; the breaker fails calls at once while the server is down.
async fn with_retries<T, F, Fut>(
    endpoint: &Endpoint,
    breaker: &breaker::Breaker,
    url: &str,
    mut attempt: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let mut tries = 0;
    loop {
        if !breaker.allow() {
            return Err(ProviderError::CircuitOpen(url.to_owned()));
        }
        match attempt().await {
            Ok(value) => {
                breaker.success();
                return Ok(value);
            }
            Err(e) => {
                breaker.failure();
                if !e.retryable() || tries >= endpoint.retries {
                    return Err(e);
                }
                tokio::time::sleep(backoff(tries)).await;
                tries += 1;
            }
        }
    }
}

/// An HTTP client for a model server: the endpoint's timeout, a short connect timeout.
fn http_client(endpoint: &Endpoint) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(endpoint.timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("a TLS backend is compiled in")
}

/// Sends a JSON request (with the endpoint's key, if any) and reads a JSON answer.
async fn post_json<B: serde::Serialize, R: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    url: &str,
    body: &B,
) -> Result<R, ProviderError> {
    use secrecy::ExposeSecret as _;
    let mut request = http.post(url).json(body);
    if let Some(key) = &endpoint.api_key {
        request = request.bearer_auth(key.expose_secret());
    }
    let transport = |e: reqwest::Error| ProviderError::Transport {
        url: url.to_owned(),
        message: e.to_string(),
    };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        let body: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        return Err(ProviderError::Status { url: url.to_owned(), status: status.as_u16(), body });
    }
    response
        .json()
        .await
        .map_err(|e| ProviderError::Protocol { url: url.to_owned(), message: e.to_string() })
}
