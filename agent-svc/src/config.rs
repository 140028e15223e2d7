//! agent-svc's own configuration, read after the shared [`ServiceConfig`] from the same file
//! and `AGENT_*` variables.
//!
//! [`ServiceConfig`]: enneo_common::config::ServiceConfig

use std::path::PathBuf;
use std::time::Duration;

use enneo_common::config::{Invalid, Section};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::providers::Endpoint;

/// What agent-svc reads beyond the shared settings: `ticket_url`, `settings_url`,
/// `settings_refresh_ms`, `[embeddings]`, `[llm]`, `[detection]`, `[executors]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// ticket-svc's gRPC address: tickets are read there, and detection results and replies
    /// are written there.
    pub ticket_url: String,
    /// settings-svc's gRPC address: the tenant's model server settings are read there.
    pub settings_url: String,
    /// How often those settings are read again.
    pub settings_refresh_ms: u64,
    pub embeddings: EmbeddingsConfig,
    pub llm: LlmConfig,
    pub detection: DetectionConfig,
    pub executors: crate::executors::Config,
}

/// The OpenAI-compatible `/v1/embeddings` server; by default the local one `deploy/run.sh`
/// starts (multilingual-e5-small), so detection works offline without a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmbeddingsConfig {
    /// Base URL including the API version.
    pub url: String,
    pub model: String,
    #[serde(default, serialize_with = "enneo_common::config::secret::serialize_option")]
    pub api_key: Option<SecretString>,
    pub timeout_ms: u64,
    pub retries: u32,
    /// Vectors of agent examples are kept here between restarts (keyed by model and text), so
    /// a restart does not embed the whole catalogue again. None: kept in memory only.
    pub cache_dir: Option<PathBuf>,
}

/// An optional OpenAI-compatible `/v1/chat/completions` server. Without one, detection and
/// extraction run on embeddings and patterns alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LlmConfig {
    pub url: Option<String>,
    pub model: String,
    #[serde(default, serialize_with = "enneo_common::config::secret::serialize_option")]
    pub api_key: Option<SecretString>,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectionConfig {
    /// Probability a sentence must reach for its agent to count as detected.
    pub threshold: f32,
    /// Tickets detected per claim of the detection queue.
    pub batch: u32,
}

pub const DEFAULT_TICKET_URL: &str = "http://127.0.0.1:50051";
pub const DEFAULT_SETTINGS_URL: &str = "http://127.0.0.1:50054";
pub const DEFAULT_EMBEDDINGS_URL: &str = "http://127.0.0.1:8089/v1";

impl Default for Config {
    fn default() -> Self {
        Self {
            ticket_url: DEFAULT_TICKET_URL.into(),
            settings_url: DEFAULT_SETTINGS_URL.into(),
            settings_refresh_ms: 30_000,
            embeddings: EmbeddingsConfig {
                url: DEFAULT_EMBEDDINGS_URL.into(),
                model: "multilingual-e5-small".into(),
                api_key: None,
                timeout_ms: 60_000,
                retries: 2,
                cache_dir: None,
            },
            llm: LlmConfig {
                url: None,
                model: "gpt-4o-mini".into(),
                api_key: None,
                timeout_ms: 30_000,
            },
            detection: DetectionConfig { threshold: crate::detection::DEFAULT_THRESHOLD, batch: 4 },
            executors: crate::executors::Config::default(),
        }
    }
}

impl EmbeddingsConfig {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.url.clone(),
            model: self.model.clone(),
            api_key: self.api_key.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
            retries: self.retries,
        }
    }
}

impl LlmConfig {
    /// The chat server's endpoint; `None` when no LLM is configured.
    pub fn endpoint(&self) -> Option<Endpoint> {
        let url = self.url.as_deref().filter(|u| !u.trim().is_empty())?;
        Some(Endpoint {
            url: url.to_owned(),
            model: self.model.clone(),
            api_key: self.api_key.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
            retries: 1,
        })
    }
}

impl Section for Config {
    fn validate(&self) -> Result<(), Invalid> {
        let url = |key: &str, value: &str| {
            reqwest::Url::parse(value).map(|_| ()).map_err(|e| Invalid::new(key, e))
        };
        url("ticket_url", &self.ticket_url)?;
        url("settings_url", &self.settings_url)?;
        if self.settings_refresh_ms == 0 {
            return Err(Invalid::new("settings_refresh_ms", "must be at least 1"));
        }
        url("embeddings.url", &self.embeddings.url)?;
        if let Some(llm) = &self.llm.url {
            url("llm.url", llm)?;
        }
        if !(0.0..=1.0).contains(&self.detection.threshold) {
            return Err(Invalid::new("detection.threshold", "must be between 0 and 1"));
        }
        if self.executors.source_code_memory_mb < 32 {
            return Err(Invalid::new("executors.source_code_memory_mb", "must be at least 32"));
        }
        if self.detection.batch == 0 {
            return Err(Invalid::new("detection.batch", "must be at least 1"));
        }
        Ok(())
    }
}
