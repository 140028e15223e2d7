//! Connecting a mailbox to Microsoft 365 (contract §5.1, 13–14): the browser goes to the
//! authorize URL with a signed, expiring `state`; the callback checks that state, exchanges
//! the code at the token endpoint and stores the tokens encrypted on the mailbox.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use enneo_common::auth::{Caller, permission};
use enneo_common::config::{Invalid, Section, secret};
use enneo_common::service_error::{Error, Result};
use enneo_proto::settings::v1 as pb;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::service::Settings;

/// settings-svc's own configuration: the Microsoft app that connects mailboxes
/// (`microsoft_*`) and the key that protects its tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthConfig {
    #[serde(rename = "microsoft_client_id")]
    pub client_id: Option<String>,
    /// Falls back to the `microsoftOAuthClientSecret` setting.
    #[serde(rename = "microsoft_client_secret", serialize_with = "secret::serialize_option")]
    pub client_secret: Option<SecretString>,
    #[serde(rename = "microsoft_authorize_url")]
    pub authorize_url: String,
    #[serde(rename = "microsoft_token_url")]
    pub token_url: String,
    #[serde(rename = "microsoft_redirect_uri")]
    pub redirect_uri: String,
    #[serde(rename = "microsoft_scopes")]
    pub scopes: String,
    /// Encrypts tokens at rest and signs `state`; `None` leaves mailbox OAuth unavailable.
    #[serde(serialize_with = "secret::serialize_option")]
    pub secret_key: Option<SecretString>,
    /// How long a `state` stays valid.
    #[serde(skip, default = "default_state_ttl")]
    pub state_ttl: Duration,
}

fn default_state_ttl() -> Duration {
    Duration::from_secs(600)
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            authorize_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize".into(),
            token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token".into(),
            redirect_uri: "http://127.0.0.1:8005/api/mind/settings/mailbox/microsoft/callback"
                .into(),
            scopes: "offline_access https://outlook.office.com/IMAP.AccessAsUser.All \
                     https://outlook.office.com/SMTP.Send"
                .into(),
            secret_key: None,
            state_ttl: default_state_ttl(),
        }
    }
}

impl Section for OAuthConfig {
    fn validate(&self) -> std::result::Result<(), Invalid> {
        if self.secret_key.as_ref().is_some_and(|key| key.expose_secret().len() < 32) {
            return Err(Invalid::new("secret_key", "needs at least 32 characters"));
        }
        Ok(())
    }
}

impl OAuthConfig {
    fn key(&self) -> Result<[u8; 32]> {
        let key = self.secret_key.as_ref().ok_or_else(|| {
            Error::Unprocessable("mailbox OAuth is not configured (SETTINGS_SECRET_KEY)".into())
        })?;
        Ok(Sha256::digest(key.expose_secret().as_bytes()).into())
    }
}

/// What `state` carries through the browser, signed.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct State {
    /// Subchannel.
    s: i64,
    /// User who started the dance.
    u: i64,
    /// Expiry, unix seconds.
    e: i64,
    /// Nonce: two states never look alike.
    n: String,
}

/// The MAC over a state payload, domain-separated from other uses of the key.
fn state_mac(key: &[u8; 32], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(b"mailbox-oauth-state:");
    mac.update(payload);
    mac
}

fn encode_state(key: &[u8; 32], state: &State) -> String {
    let payload = serde_json::to_vec(state).expect("state serialises");
    format!(
        "{}.{}",
        B64.encode(&payload),
        B64.encode(state_mac(key, &payload).finalize().into_bytes())
    )
}

fn decode_state(key: &[u8; 32], text: &str, now: i64) -> Result<State> {
    let refused = || {
        Error::InvalidArgument("state is invalid or has expired; start the connection again".into())
    };
    let (payload, signature) = text.split_once('.').ok_or_else(refused)?;
    let payload = B64.decode(payload).map_err(|_| refused())?;
    let signature = B64.decode(signature).map_err(|_| refused())?;
    // Constant-time comparison.
    state_mac(key, &payload).verify_slice(&signature).map_err(|_| refused())?;
    let state: State = serde_json::from_slice(&payload).map_err(|_| refused())?;
    if state.e <= now {
        return Err(refused());
    }
    Ok(state)
}

/// nonce || ciphertext
fn encrypt(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(&nonce, plaintext).expect("encryption of a small buffer succeeds"));
    out
}

pub fn decrypt(key: &[u8; 32], stored: &[u8]) -> Option<Vec<u8>> {
    if stored.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = stored.split_at(12);
    ChaCha20Poly1305::new(Key::from_slice(key)).decrypt(Nonce::from_slice(nonce), ciphertext).ok()
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

impl Settings {
    async fn email_subchannel(&self, id: i64) -> Result<()> {
        let channel: Option<String> =
            sqlx::query_scalar("SELECT channel FROM settings.subchannel WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match channel.as_deref() {
            None => Err(Error::NotFound(format!("subchannel {id} not found"))),
            Some("email") => Ok(()),
            Some(other) => Err(Error::InvalidArgument(format!(
                "subchannel {id} is a {other} subchannel, not a mailbox"
            ))),
        }
    }

    pub(crate) async fn microsoft_authorization(
        &self,
        caller: &Caller,
        subchannel_id: i64,
    ) -> Result<String> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        let key = self.oauth.key()?;
        let client_id = self.oauth.client_id.as_deref().ok_or_else(|| {
            Error::Unprocessable(
                "mailbox OAuth is not configured (SETTINGS_MICROSOFT_CLIENT_ID)".into(),
            )
        })?;
        self.email_subchannel(subchannel_id).await?;
        let state = State {
            s: subchannel_id,
            u: caller.user_id,
            e: chrono::Utc::now().timestamp() + self.oauth.state_ttl.as_secs() as i64,
            n: uuid::Uuid::new_v4().simple().to_string(),
        };
        let mut url = reqwest::Url::parse(&self.oauth.authorize_url)
            .map_err(|e| Error::Unprocessable(format!("the authorize URL is invalid: {e}")))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.oauth.redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", &self.oauth.scopes)
            .append_pair("state", &encode_state(&key, &state));
        Ok(url.into())
    }

    pub(crate) async fn microsoft_callback(
        &self,
        caller: &Caller,
        req: pb::MicrosoftCallbackRequest,
    ) -> Result<i64> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        let key = self.oauth.key()?;
        let state = decode_state(&key, &req.state, chrono::Utc::now().timestamp())?;
        if state.u != caller.user_id {
            return Err(Error::InvalidArgument(
                "this connection was started by another user".into(),
            ));
        }
        if req.code.is_empty() {
            return Err(Error::InvalidArgument("code is required".into()));
        }
        self.email_subchannel(state.s).await?;
        let client_secret = match &self.oauth.client_secret {
            Some(secret) => secret.expose_secret().to_owned(),
            None => self.secret_setting("microsoftOAuthClientSecret").await?.ok_or_else(|| {
                Error::Unprocessable(
                    "set microsoftOAuthClientSecret before connecting mailboxes".into(),
                )
            })?,
        };
        let form = [
            ("client_id", self.oauth.client_id.clone().unwrap_or_default()),
            ("client_secret", client_secret),
            ("grant_type", "authorization_code".into()),
            ("code", req.code),
            ("redirect_uri", self.oauth.redirect_uri.clone()),
            ("scope", self.oauth.scopes.clone()),
        ];
        let response =
            self.http.post(&self.oauth.token_url).form(&form).send().await.map_err(|e| {
                Error::unavailable(format!("the token endpoint is unreachable: {e}"))
            })?;
        if !response.status().is_success() {
            // The provider's refusal (bad or used code) is the caller's to fix; no secrets in it.
            let status = response.status();
            let detail: serde_json::Value = response.json().await.unwrap_or_default();
            let reason = detail["error_description"]
                .as_str()
                .or(detail["error"].as_str())
                .unwrap_or("refused");
            return Err(Error::Unprocessable(format!(
                "the token endpoint answered {status}: {reason}"
            )));
        }
        let tokens: TokenResponse = response.json().await.map_err(|e| {
            Error::unavailable(format!("the token endpoint answered nonsense: {e}"))
        })?;
        let now = chrono::Utc::now();
        let sealed = encrypt(
            &key,
            &serde_json::to_vec(
                &json!({"accessToken": tokens.access_token, "refreshToken": tokens.refresh_token}),
            )
            .expect("tokens serialise"),
        );
        let status = json!({
            "connected": true,
            "connectedAt": now.to_rfc3339(),
            "expiresAt": tokens.expires_in.map(|s| (now + chrono::Duration::seconds(s)).to_rfc3339()),
            "scopes": tokens.scope,
            "connectedBy": caller.user_id,
        });
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE settings.subchannel SET oauth_tokens = $2, \
             config = jsonb_set(config, '{microsoftOAuth}', $3), modified_at = now() WHERE id = $1",
        )
        .bind(state.s)
        .bind(&sealed)
        .bind(&status)
        .execute(&mut *tx)
        .await?;
        let change = json!({"prop": "microsoftOAuth", "secret": true});
        self.object_changed(&mut tx, caller, "subchannel", state.s, change).await?;
        self.commit(tx).await?;
        Ok(state.s)
    }

    async fn secret_setting(&self, name: &str) -> Result<Option<String>> {
        let value: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT value FROM settings.setting_value WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(value.and_then(|v| v.as_str().map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use enneo_common::config::{ConfigError, Layers};

    use super::*;

    #[test]
    fn state_is_signed_and_expires() {
        let key = [7u8; 32];
        let state = State { s: 3, u: 1, e: 1_000, n: "x".into() };
        let text = encode_state(&key, &state);
        assert_eq!(decode_state(&key, &text, 999).unwrap(), state);
        assert!(decode_state(&key, &text, 1_000).is_err(), "expired");
        assert!(decode_state(&[8u8; 32], &text, 999).is_err(), "other key");
        let (_, signature) = text.split_once('.').unwrap();
        let forged = format!("{}.{signature}", B64.encode(br#"{"s":4,"u":1,"e":9999,"n":"x"}"#));
        assert!(decode_state(&key, &forged, 999).is_err(), "forged payload");
    }

    #[test]
    fn tokens_round_trip_encrypted() {
        let key = [1u8; 32];
        let sealed = encrypt(&key, b"secret-token");
        assert!(!sealed.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(decrypt(&key, &sealed).unwrap(), b"secret-token");
        assert_eq!(decrypt(&[2u8; 32], &sealed), None);
    }

    fn load(vars: &[(&str, &str)]) -> std::result::Result<OAuthConfig, ConfigError> {
        let env = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Layers::new("SETTINGS", None, env)?.section(OAuthConfig::default())
    }

    #[test]
    fn configuration_reads_todays_variables() {
        let config = load(&[
            ("SETTINGS_MICROSOFT_CLIENT_ID", "app"),
            ("SETTINGS_MICROSOFT_CLIENT_SECRET", "shh"),
            ("SETTINGS_MICROSOFT_TOKEN_URL", "http://127.0.0.1:9/token"),
            ("SETTINGS_SECRET_KEY", ""),
        ])
        .unwrap();
        assert_eq!(config.client_id.as_deref(), Some("app"));
        assert_eq!(config.client_secret.as_ref().map(|s| s.expose_secret()), Some("shh"));
        assert_eq!(config.token_url, "http://127.0.0.1:9/token");
        assert!(config.authorize_url.starts_with("https://login.microsoftonline.com/"));
        assert!(config.secret_key.is_none(), "an empty variable is unset");
        let short = load(&[("SETTINGS_SECRET_KEY", "short")]).unwrap_err().to_string();
        assert_eq!(short, "SETTINGS_SECRET_KEY: needs at least 32 characters");
    }
}
