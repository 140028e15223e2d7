//! quality-svc's own configuration, read after the shared [`ServiceConfig`] from the same file
//! and `QUALITY_*` variables.
//!
//! [`ServiceConfig`]: enneo_common::config::ServiceConfig

use enneo_common::config::{Invalid, Section};
use serde::{Deserialize, Serialize};

/// What quality-svc reads beyond the shared settings: `agent_url`, `ticket_url`, `[runs]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// agent-svc's gRPC address: agents are listed and tickets replayed there.
    pub agent_url: String,
    /// ticket-svc's gRPC address: test cases snapshot tickets from there.
    pub ticket_url: String,
    pub runs: RunsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunsConfig {
    /// Replays in flight at once, over all runs (each holds a database connection).
    pub concurrency: u32,
    /// Attempts of a replay whose failure may pass (agent-svc down) before its test ticket is
    /// recorded as failed.
    pub max_attempts: u32,
    /// The overall score a test ticket needs to count as successful.
    pub pass_threshold: f64,
    /// How long one replay may take.
    pub replay_timeout_ms: u64,
}

pub const DEFAULT_AGENT_URL: &str = "http://127.0.0.1:50052";
pub const DEFAULT_TICKET_URL: &str = "http://127.0.0.1:50051";

impl Default for Config {
    fn default() -> Self {
        Self {
            agent_url: DEFAULT_AGENT_URL.into(),
            ticket_url: DEFAULT_TICKET_URL.into(),
            runs: RunsConfig {
                concurrency: 4,
                max_attempts: 5,
                pass_threshold: crate::scoring::DEFAULT_PASS_THRESHOLD,
                replay_timeout_ms: 120_000,
            },
        }
    }
}

impl Section for Config {
    fn validate(&self) -> Result<(), Invalid> {
        let url = |key: &str, value: &str| {
            reqwest::Url::parse(value).map(|_| ()).map_err(|e| Invalid::new(key, e))
        };
        url("agent_url", &self.agent_url)?;
        url("ticket_url", &self.ticket_url)?;
        if self.runs.concurrency == 0 {
            return Err(Invalid::new("runs.concurrency", "must be at least 1"));
        }
        if self.runs.max_attempts == 0 {
            return Err(Invalid::new("runs.max_attempts", "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.runs.pass_threshold) {
            return Err(Invalid::new("runs.pass_threshold", "must be between 0 and 1"));
        }
        if self.runs.replay_timeout_ms == 0 {
            return Err(Invalid::new("runs.replay_timeout_ms", "must be at least 1"));
        }
        Ok(())
    }
}
