//! settings-svc's own configuration, read after the shared settings from the same file and
//! `SETTINGS_*` variables: the mailbox OAuth app (top-level `microsoft_*`, `secret_key`),
//! agent-svc's address and how event hooks are delivered (`[hooks]`).

use std::time::Duration;

use enneo_common::config::{Invalid, Section};
use serde::{Deserialize, Serialize};

use crate::oauth::OAuthConfig;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub oauth: OAuthConfig,
    /// agent-svc's gRPC address: event hooks with a sourceCode handler run there.
    pub agent_url: String,
    pub hooks: HooksConfig,
}

/// How event hooks deliver (settings-svc's `[hooks]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HooksConfig {
    /// Let webhooks use plain `http://` URLs (receivers on a private network); off, only
    /// `https://` is accepted.
    pub allow_http: bool,
    /// How long a receiver may take to answer one delivery.
    pub timeout_ms: u64,
    /// Attempts of one delivery before it is given up as failed.
    pub max_attempts: u32,
    /// The wait before the first retry; each further retry waits twice as long.
    pub retry_base_ms: u64,
    /// The longest wait between two attempts.
    pub retry_max_ms: u64,
    /// Failed attempts in a row (over all its deliveries) after which a hook is disabled.
    pub disable_after: u32,
    /// Deliveries in flight at once.
    pub concurrency: u32,
}

pub const DEFAULT_AGENT_URL: &str = "http://127.0.0.1:50052";

impl Default for Config {
    fn default() -> Self {
        Self {
            oauth: OAuthConfig::default(),
            agent_url: DEFAULT_AGENT_URL.into(),
            hooks: HooksConfig::default(),
        }
    }
}

impl Default for HooksConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            timeout_ms: 10_000,
            max_attempts: 10,
            retry_base_ms: 30_000,
            retry_max_ms: 3_600_000,
            disable_after: 50,
            concurrency: 8,
        }
    }
}

impl HooksConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The wait after failed attempt number `attempt` (1-based): doubling from the base, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(30);
        Duration::from_millis(self.retry_base_ms.saturating_mul(factor).min(self.retry_max_ms))
    }
}

impl Section for Config {
    fn validate(&self) -> Result<(), Invalid> {
        self.oauth.validate()?;
        reqwest::Url::parse(&self.agent_url).map_err(|e| Invalid::new("agent_url", e))?;
        let at_least_one = |key: &str, value: u64| {
            if value == 0 { Err(Invalid::new(key, "must be at least 1")) } else { Ok(()) }
        };
        at_least_one("hooks.timeout_ms", self.hooks.timeout_ms)?;
        at_least_one("hooks.max_attempts", self.hooks.max_attempts.into())?;
        at_least_one("hooks.retry_base_ms", self.hooks.retry_base_ms)?;
        at_least_one("hooks.disable_after", self.hooks.disable_after.into())?;
        at_least_one("hooks.concurrency", self.hooks.concurrency.into())?;
        if self.hooks.retry_max_ms < self.hooks.retry_base_ms {
            return Err(Invalid::new("hooks.retry_max_ms", "must not be below retry_base_ms"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use enneo_common::config::{ConfigError, Layers};
    use secrecy::ExposeSecret as _;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Layers::new("SETTINGS", None, env)?.section(Config::default())
    }

    #[test]
    fn the_example_file_documents_every_key() {
        enneo_common::config::check_service_example::<Config>(&crate::SPEC).unwrap();
    }

    #[test]
    fn variables_set_oauth_at_the_top_and_hooks_in_their_table() {
        let config = load(&[
            ("SETTINGS_MICROSOFT_CLIENT_ID", "app"),
            ("SETTINGS_SECRET_KEY", "a-key-that-is-long-enough-for-the-check"),
            ("SETTINGS_AGENT_URL", "http://10.0.0.2:50052"),
            ("SETTINGS_HOOKS_ALLOW_HTTP", "true"),
            ("SETTINGS_HOOKS_MAX_ATTEMPTS", "3"),
        ])
        .unwrap();
        assert_eq!(config.oauth.client_id.as_deref(), Some("app"));
        assert!(config.oauth.secret_key.as_ref().unwrap().expose_secret().starts_with("a-key"));
        assert_eq!(config.agent_url, "http://10.0.0.2:50052");
        assert!(config.hooks.allow_http);
        assert_eq!(config.hooks.max_attempts, 3);
        assert_eq!(config.hooks.timeout_ms, 10_000);
        let err = load(&[("SETTINGS_HOOKS_CONCURRENCY", "0")]).unwrap_err().to_string();
        assert_eq!(err, "SETTINGS_HOOKS_CONCURRENCY: must be at least 1");
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_cap() {
        let hooks = HooksConfig { retry_base_ms: 1_000, retry_max_ms: 5_000, ..Default::default() };
        let waits: Vec<u64> = (1..=5).map(|a| hooks.backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 5_000, 5_000]);
        assert_eq!(hooks.backoff(200), Duration::from_millis(5_000));
    }
}
