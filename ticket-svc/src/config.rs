//! ticket-svc's own configuration, read after the shared [`ServiceConfig`] from the same file
//! and `TICKET_*` variables.
//!
//! [`ServiceConfig`]: enneo_common::config::ServiceConfig

use enneo_common::config::{Invalid, Section};
use serde::{Deserialize, Serialize};

use crate::{mail, routing};

/// What ticket-svc reads beyond the shared [`ServiceConfig`]: `settings_url`, `[routing]`,
/// `[mail]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// settings-svc's gRPC address, where ticket tags are checked.
    pub settings_url: String,
    pub routing: routing::Config,
    pub mail: mail::Config,
}

/// Where settings-svc listens by default (its default gRPC port on this host).
pub const DEFAULT_SETTINGS_URL: &str = "http://127.0.0.1:50054";

impl Default for Config {
    fn default() -> Self {
        Self {
            settings_url: DEFAULT_SETTINGS_URL.into(),
            routing: routing::Config::default(),
            mail: mail::Config::default(),
        }
    }
}

impl Section for Config {
    const ENV_ALIASES: &'static [(&'static str, &'static str)] =
        &[("TICKET_SMTP_URL", "mail.smtp_url")];

    fn validate(&self) -> Result<(), Invalid> {
        self.mail.validate()
    }
}

#[cfg(test)]
mod tests {
    use enneo_common::config::{ConfigError, Layers};
    use secrecy::ExposeSecret as _;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Layers::new("TICKET", None, env)?.section(Config::default())
    }

    #[test]
    fn the_example_file_documents_every_key() {
        enneo_common::config::check_service_example::<Config>(&crate::SPEC).unwrap();
    }

    #[test]
    fn todays_variables_still_apply() {
        let config = load(&[
            ("TICKET_SETTINGS_URL", "http://settings-svc:50054"),
            ("TICKET_SMTP_URL", "smtp://mail:2525"),
            ("TICKET_MAIL_FROM", "Support <support@example.com>"),
            ("TICKET_ROUTING_MATCHING", "matchAll"),
            ("TICKET_ROUTING_ORDER", "priorityThenOldest"),
        ])
        .unwrap();
        assert_eq!(config.settings_url, "http://settings-svc:50054");
        assert_eq!(config.mail.url.expose_secret(), "smtp://mail:2525");
        assert_eq!(config.mail.from, "Support <support@example.com>");
        assert_eq!(config.routing.matching, routing::Matching::All);
        assert_eq!(config.routing.ordering, routing::Ordering::PriorityThenOldest);
        // The name that follows the key wins over the older one.
        let config = load(&[
            ("TICKET_SMTP_URL", "smtp://old:25"),
            ("TICKET_MAIL_SMTP_URL", "smtp://new:25"),
        ])
        .unwrap();
        assert_eq!(config.mail.url.expose_secret(), "smtp://new:25");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let message = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
        assert_eq!(
            message(&[("TICKET_ROUTING_ORDER", "random")]),
            "TICKET_ROUTING_ORDER: expected one of dueDate, priorityThenDueDate, \
             priorityThenNewest, priorityThenOldest, found \"random\""
        );
        assert!(
            message(&[("TICKET_MAIL_FROM", "not an address")]).starts_with("TICKET_MAIL_FROM: ")
        );
        assert!(message(&[("TICKET_SMTP_URL", "ftp://x")]).starts_with("TICKET_SMTP_URL: "));
    }
}
