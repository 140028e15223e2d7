//! The model servers in use: the deployment's (`[embeddings]`, `[llm]`), or the tenant's where
//! its settings name others (`aiEmbeddingsUrl`, `aiEmbeddingsModel`, `aiEmbeddingsApiKey`,
//! `llmUrl`, `llmModel`, `llmApiKey`; an empty setting keeps the deployment's value).
//!
//! The settings are read from settings-svc every `refresh` (and at start); a change builds new
//! clients, which the next detection picks up. Vectors are cached per model, so a new
//! embeddings model re-embeds the agents' examples once. While settings-svc cannot be reached
//! the servers in use stay as they are.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as settings;
use enneo_proto::settings::v1::settings_service_client::SettingsServiceClient;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use super::Endpoint;
use super::embeddings::EmbeddingsClient;
use crate::llm::Llm;

/// The settings that override the deployment's servers.
pub const SETTINGS: &[&str] = &[
    "aiEmbeddingsUrl",
    "aiEmbeddingsModel",
    "aiEmbeddingsApiKey",
    "llmUrl",
    "llmModel",
    "llmApiKey",
];

/// What the tenant's settings say; `None` where a setting is empty.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    values: HashMap<&'static str, String>,
}

impl Overrides {
    /// From setting name → value (JSON, as settings-svc serves it).
    pub fn from_values(values: &HashMap<String, Value>) -> Self {
        let values = SETTINGS
            .iter()
            .filter_map(|name| {
                let text = values.get(*name)?.as_str()?.trim();
                (!text.is_empty()).then(|| (*name, text.to_owned()))
            })
            .collect();
        Self { values }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The deployment's endpoints with the tenant's values put over them. A tenant LLM URL
    /// brings an LLM where the deployment has none (with the deployment's timeout defaults).
    pub fn apply(&self, embeddings: &Endpoint, llm: Option<&Endpoint>) -> Chosen {
        let secret = |name| self.get(name).map(|k| SecretString::from(k.to_owned()));
        let embeddings = Endpoint {
            url: self.get("aiEmbeddingsUrl").map_or_else(|| embeddings.url.clone(), Into::into),
            model: self
                .get("aiEmbeddingsModel")
                .map_or_else(|| embeddings.model.clone(), Into::into),
            api_key: secret("aiEmbeddingsApiKey").or_else(|| embeddings.api_key.clone()),
            ..embeddings.clone()
        };
        let llm = match (self.get("llmUrl"), llm) {
            (None, None) => None,
            (url, base) => {
                let base = base.cloned().unwrap_or_else(|| Endpoint {
                    url: String::new(),
                    model: "gpt-4o-mini".into(),
                    api_key: None,
                    timeout: Duration::from_secs(30),
                    retries: 1,
                });
                Some(Endpoint {
                    url: url.map_or_else(|| base.url.clone(), Into::into),
                    model: self.get("llmModel").map_or_else(|| base.model.clone(), Into::into),
                    api_key: secret("llmApiKey").or_else(|| base.api_key.clone()),
                    ..base
                })
            }
        };
        Chosen { embeddings, llm }
    }
}

/// The endpoints to use.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub embeddings: Endpoint,
    pub llm: Option<Endpoint>,
}

impl Chosen {
    /// Equal when the servers are: a change of any part (the key included) builds new clients.
    fn fingerprint(&self) -> String {
        let part = |e: &Endpoint| {
            let key = e.api_key.as_ref().map(|k| k.expose_secret().to_owned()).unwrap_or_default();
            format!("{}\u{1f}{}\u{1f}{key}", e.url, e.model)
        };
        format!(
            "{}\u{1e}{}",
            part(&self.embeddings),
            self.llm.as_ref().map(part).unwrap_or_default()
        )
    }
}

/// Clients for the servers in use.
pub struct InUse {
    pub embeddings: Arc<EmbeddingsClient>,
    pub llm: Option<Arc<Llm>>,
    fingerprint: String,
}

pub struct ModelServers {
    /// The deployment's servers; `None` for fixed clients.
    deployment: Option<(Endpoint, Option<Endpoint>)>,
    in_use: RwLock<Arc<InUse>>,
}

impl ModelServers {
    /// The deployment's servers, until a refresh finds the tenant's.
    pub fn new(embeddings: Endpoint, llm: Option<Endpoint>) -> Self {
        let chosen = Overrides::default().apply(&embeddings, llm.as_ref());
        let in_use = RwLock::new(Arc::new(build(&chosen)));
        Self { deployment: Some((embeddings, llm)), in_use }
    }

    /// These clients, whatever the settings say (evaluation, tests).
    pub fn fixed(embeddings: Arc<EmbeddingsClient>, llm: Option<Arc<Llm>>) -> Self {
        let in_use = InUse { embeddings, llm, fingerprint: String::new() };
        Self { deployment: None, in_use: RwLock::new(Arc::new(in_use)) }
    }

    pub fn current(&self) -> Arc<InUse> {
        self.in_use.read().expect("not poisoned").clone()
    }

    pub fn embeddings(&self) -> Arc<EmbeddingsClient> {
        self.current().embeddings.clone()
    }

    pub fn llm(&self) -> Option<Arc<Llm>> {
        self.current().llm.clone()
    }

    /// Puts the tenant's overrides in use; true when that changed the servers.
    pub fn apply(&self, overrides: &Overrides) -> bool {
        let Some((embeddings, llm)) = &self.deployment else { return false };
        let chosen = overrides.apply(embeddings, llm.as_ref());
        if chosen.fingerprint() == self.current().fingerprint {
            return false;
        }
        let built = Arc::new(build(&chosen));
        *self.in_use.write().expect("not poisoned") = built;
        tracing::info!(
            embeddings = %chosen.embeddings.url,
            model = %chosen.embeddings.model,
            llm = chosen.llm.as_ref().map(|l| l.url.as_str()),
            "model servers changed"
        );
        true
    }

    /// Reads the settings every `every` until shutdown.
    pub async fn refresh_until(
        self: Arc<Self>,
        mut settings: SettingsServiceClient<Channel>,
        every: Duration,
        shutdown: CancellationToken,
    ) {
        loop {
            match read(&mut settings).await {
                Ok(overrides) => {
                    self.apply(&overrides);
                }
                Err(status) => {
                    tracing::debug!(%status, "model server settings not read; keeping the servers")
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}

fn build(chosen: &Chosen) -> InUse {
    InUse {
        embeddings: Arc::new(EmbeddingsClient::new(chosen.embeddings.clone())),
        llm: chosen.llm.clone().map(|e| Arc::new(Llm::new(e))),
        fingerprint: chosen.fingerprint(),
    }
}

/// The override settings, keys in clear (agent-svc uses them; it never shows them).
async fn read(settings: &mut SettingsServiceClient<Channel>) -> Result<Overrides, tonic::Status> {
    let caller = Caller::service(&[permission::READ_SETTINGS, permission::READ_SECRET_SETTINGS]);
    // One call for all of them: the settings agent-svc uses, keys in clear.
    let req = settings::ListSettingsRequest {
        used_by: Some("mind".into()),
        show_secrets: true,
        ..Default::default()
    };
    let listed = settings.list_settings(request(req, &caller)).await?.into_inner();
    let values: HashMap<String, Value> = listed
        .settings
        .into_iter()
        .filter(|s| SETTINGS.contains(&s.name.as_str()))
        .map(|s| (s.name, serde_json::from_str(&s.value_json).unwrap_or(Value::Null)))
        .collect();
    Ok(Overrides::from_values(&values))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn endpoint(url: &str, model: &str) -> Endpoint {
        Endpoint {
            url: url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(5),
            retries: 2,
        }
    }

    fn overrides(pairs: &[(&str, Value)]) -> Overrides {
        Overrides::from_values(&pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn empty_settings_keep_the_deployments_servers() {
        let base = endpoint("http://127.0.0.1:8089/v1", "e5");
        let chosen = overrides(&[("aiEmbeddingsUrl", json!("")), ("llmUrl", json!("  "))])
            .apply(&base, None);
        assert_eq!(
            (chosen.embeddings.url.as_str(), chosen.embeddings.model.as_str()),
            ("http://127.0.0.1:8089/v1", "e5")
        );
        assert!(chosen.llm.is_none());
    }

    #[test]
    fn a_tenants_values_replace_only_what_they_name() {
        let base = endpoint("http://127.0.0.1:8089/v1", "e5");
        let llm = endpoint("http://127.0.0.1:8090/v1", "smollm2");
        let chosen = overrides(&[
            ("aiEmbeddingsUrl", json!("https://models.example.com/v1")),
            ("aiEmbeddingsApiKey", json!("sk-tenant")),
            ("llmModel", json!("bigger")),
        ])
        .apply(&base, Some(&llm));
        assert_eq!(chosen.embeddings.url, "https://models.example.com/v1");
        assert_eq!(chosen.embeddings.model, "e5", "the model setting is empty");
        assert_eq!(chosen.embeddings.api_key.as_ref().unwrap().expose_secret(), "sk-tenant");
        assert_eq!(chosen.embeddings.retries, 2, "timeouts and retries stay the deployment's");
        let llm = chosen.llm.unwrap();
        assert_eq!((llm.url.as_str(), llm.model.as_str()), ("http://127.0.0.1:8090/v1", "bigger"));
    }

    #[test]
    fn a_tenant_llm_url_brings_an_llm_the_deployment_does_not_have() {
        let base = endpoint("http://127.0.0.1:8089/v1", "e5");
        let chosen =
            overrides(&[("llmUrl", json!("https://llm.example.com/v1"))]).apply(&base, None);
        assert_eq!(chosen.llm.unwrap().url, "https://llm.example.com/v1");
    }

    #[tokio::test]
    async fn new_clients_are_built_only_when_something_changed() {
        let servers = ModelServers::new(endpoint("http://127.0.0.1:8089/v1", "e5"), None);
        let first = servers.current();
        assert!(!servers.apply(&Overrides::default()));
        assert!(Arc::ptr_eq(&first, &servers.current()));
        let key = overrides(&[("aiEmbeddingsApiKey", json!("sk-1"))]);
        assert!(servers.apply(&key), "a new key is a change");
        assert!(!servers.apply(&key));
        assert_eq!(servers.embeddings().model(), "e5");
        assert!(servers.llm().is_none());
    }
}
