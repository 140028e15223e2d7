//! Clients for OpenAI-compatible model servers: `/v1/embeddings` (the embedded default is a local
//! multilingual-e5-small server) and, optionally, `/v1/chat/completions`. Every call has a
//! timeout, a bounded number of retries and a circuit breaker; a failure is an error the caller
//! falls back from, never a panic or a lost message.

pub mod breaker;
pub mod cache;
pub mod embeddings;

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

#[derive(Debug, thiserror::Error)]
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
}

/// Backs off 100 ms, 200 ms, 400 ms ... between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(5))
}
