//! Event hooks (contract §5, §7): on the events it names, a hook hands the event envelope to
//! its handler (`eventHookExecutor`): a webhook (`{type: webhook, url, secret}`, a signed POST,
//! see [`signature`]) or tenant code (`{type: sourceCode, language, code}`, run by agent-svc).
//!
//! [`intake`] turns each consumed event into one delivery row per matching hook; [`delivery`]
//! works those rows off with retries and back-off, keeps the log a hook's owner reads, and
//! disables a hook that keeps failing, saying why. Re-enabling it (`enabled: true`) resumes
//! its pending deliveries.

pub mod delivery;
pub mod intake;
pub mod signature;

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{EVENT_TYPES, one_of};
use enneo_proto::settings::v1 as pb;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;

use crate::service::Settings;

const EXECUTOR_TYPES: &[&str] = &["webhook", "sourceCode"];
const LANGUAGES: &[&str] = &["python311"];
const DELIVERY_STATUSES: &[&str] = &["pending", "delivered", "failed"];
const MASK: &str = "********";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    events: Vec<String>,
    description: Option<String>,
    executor: Option<Value>,
    enabled: bool,
    disabled_reason: Option<String>,
    consecutive_failures: i32,
    created_at: DateTime<Utc>,
    modified_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, events, description, executor, enabled, disabled_reason, \
                       consecutive_failures, created_at, modified_at";

impl Row {
    fn into_proto(self, show_secret: bool) -> pb::EventHook {
        let executor = self.executor.map(|e| if show_secret { e } else { masked(e) });
        pb::EventHook {
            id: self.id,
            name: self.name,
            events: self.events,
            description: self.description,
            executor_json: executor.map(|e| e.to_string()),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            consecutive_failures: self.consecutive_failures,
            created_at: self.created_at.to_rfc3339(),
            modified_at: self.modified_at.map(|t| t.to_rfc3339()),
        }
    }
}

fn masked(mut executor: Value) -> Value {
    if let Some(secret) = executor.get_mut("secret").filter(|s| !s.is_null()) {
        *secret = json!(MASK);
    }
    executor
}

/// The event list of a hook: known names only, each once, in the order given.
fn events_of(value: &Value) -> Result<Vec<String>> {
    let list = value
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Error::InvalidArgument("events must be a non-empty list".into()))?;
    let mut events: Vec<String> = Vec::with_capacity(list.len());
    for event in list {
        let name = one_of("event", event.as_str().unwrap_or_default(), EVENT_TYPES)?;
        if !events.iter().any(|e| e == name) {
            events.push(name.to_owned());
        }
    }
    Ok(events)
}

fn description_of(value: &Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(d) if d.len() <= 2000 => Ok(Some(d.clone())),
        _ => Err(Error::InvalidArgument("description must be text of at most 2000 bytes".into())),
    }
}

/// A handler as stored: checked, with a webhook's secret generated when none is given and
/// the previous one kept when the masked value comes back.
fn executor_of(value: &Value, previous: Option<&Value>, allow_http: bool) -> Result<Value> {
    let bad = |what: String| Error::InvalidArgument(format!("eventHookExecutor {what}"));
    let Value::Object(given) = value else {
        return Err(bad("must be an object {type, …}".into()));
    };
    let text = |key: &str| given.get(key).and_then(Value::as_str);
    let kind = one_of("eventHookExecutor type", text("type").unwrap_or_default(), EXECUTOR_TYPES)?;
    let allowed: &[&str] = match kind {
        "webhook" => &["type", "url", "secret"],
        _ => &["type", "language", "code"],
    };
    if let Some(unknown) = given.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(format!("{kind} takes {}, not {unknown}", allowed.join(", "))));
    }
    let mut stored = Map::new();
    stored.insert("type".into(), json!(kind));
    if kind == "webhook" {
        let url = text("url").ok_or_else(|| bad("needs its url".into()))?;
        check_url(url, allow_http).map_err(bad)?;
        stored.insert("url".into(), json!(url));
        let kept = previous.filter(|p| p["type"] == "webhook").and_then(|p| p["secret"].as_str());
        let secret = match given.get("secret") {
            None | Some(Value::Null) => {
                kept.map(str::to_owned).unwrap_or_else(signature::new_secret)
            }
            Some(Value::String(s)) if s == MASK => kept
                .map(str::to_owned)
                .ok_or_else(|| bad("secret: the masked value names no stored secret".into()))?,
            Some(Value::String(s)) if signature::key_of(s).is_some() => s.clone(),
            Some(_) => {
                return Err(bad(format!(
                    "secret must be {}<base64 of at least 16 bytes>, or left out to have one made",
                    signature::PREFIX
                )));
            }
        };
        stored.insert("secret".into(), json!(secret));
    } else {
        let language =
            one_of("eventHookExecutor language", text("language").unwrap_or_default(), LANGUAGES)?;
        let code = text("code").filter(|c| !c.trim().is_empty());
        let code = code.ok_or_else(|| bad("needs its code as text".into()))?;
        stored.insert("language".into(), json!(language));
        stored.insert("code".into(), json!(code));
    }
    Ok(Value::Object(stored))
}

/// A webhook URL: absolute, https (http only where the operator allows it), no credentials in
/// it (they would show in every log line and listing).
fn check_url(url: &str, allow_http: bool) -> std::result::Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("url is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err("url must be https (hooks.allow_http is off)".into()),
        other => return Err(format!("url must be https, not {other}")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("url needs a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url must not carry credentials; the signature authenticates us".into());
    }
    Ok(())
}

impl Settings {
    pub(crate) async fn event_hooks(
        &self,
        caller: &Caller,
        req: pb::ListEventHooksRequest,
    ) -> Result<Vec<pb::EventHook>> {
        caller.require(permission::EVENT_HOOKS)?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM settings.event_hook WHERE ($1::bigint IS NULL OR id = $1) \
             ORDER BY id"
        )))
        .bind(req.id)
        .fetch_all(&self.pool)
        .await?;
        let clear = req.show_secrets && caller.has(permission::READ_SECRET_SETTINGS);
        Ok(rows.into_iter().map(|r| r.into_proto(clear)).collect())
    }

    /// A new hook, answered with its secret in clear: its creator configures the receiver.
    pub(crate) async fn add_event_hook(
        &self,
        caller: &Caller,
        req: pb::AddEventHookRequest,
    ) -> Result<pb::EventHook> {
        caller.require(permission::EVENT_HOOKS)?;
        let name = one_of("name", &req.name, EVENT_TYPES)?;
        let events = if req.events.is_empty() {
            vec![name.to_owned()]
        } else {
            events_of(&json!(req.events))?
        };
        let description = description_of(&json!(req.description))?;
        let executor = match req.executor_json.as_deref() {
            None => None,
            Some(text) => {
                let value: Value = serde_json::from_str(text).map_err(|e| {
                    Error::InvalidArgument(format!("eventHookExecutor is not JSON: {e}"))
                })?;
                Some(executor_of(&value, None, self.hooks.allow_http)?)
            }
        };
        let mut tx = self.pool.begin().await?;
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO settings.event_hook (name, events, description, executor) \
             VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        )))
        .bind(name)
        .bind(&events)
        .bind(&description)
        .bind(&executor)
        .fetch_one(&mut *tx)
        .await?;
        self.object_changed(&mut tx, caller, "event-hook", row.id, json!("created")).await?;
        self.commit(tx).await?;
        Ok(row.into_proto(true))
    }

    pub(crate) async fn delete_event_hook(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::EVENT_HOOKS)?;
        self.delete_object(caller, "event_hook", "event-hook", id).await
    }

    /// `_event-hook[{id}].{prop}`: `name`, `events`, `description`, `eventHookExecutor`,
    /// `enabled` (turning a hook on again clears its failure count and resumes its deliveries).
    pub(crate) async fn write_event_hook(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        id: i64,
        prop: &str,
        value: Value,
    ) -> Result<()> {
        caller.require(permission::EVENT_HOOKS)?;
        let previous: Option<Option<Value>> =
            sqlx::query_scalar("SELECT executor FROM settings.event_hook WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let previous =
            previous.ok_or_else(|| Error::NotFound(format!("event hook {id} not found")))?;
        let query = match prop {
            "name" => {
                let name = one_of("name", value.as_str().unwrap_or_default(), EVENT_TYPES)?;
                sqlx::query("UPDATE settings.event_hook SET name = $2, modified_at = now() WHERE id = $1")
                    .bind(id)
                    .bind(name)
            }
            "events" => sqlx::query(
                "UPDATE settings.event_hook SET events = $2, modified_at = now() WHERE id = $1",
            )
            .bind(id)
            .bind(events_of(&value)?),
            "description" => sqlx::query(
                "UPDATE settings.event_hook SET description = $2, modified_at = now() WHERE id = $1",
            )
            .bind(id)
            .bind(description_of(&value)?),
            "eventHookExecutor" => {
                let executor = executor_of(&value, previous.as_ref(), self.hooks.allow_http)?;
                sqlx::query(
                    "UPDATE settings.event_hook SET executor = $2, modified_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(executor)
            }
            "enabled" => {
                let enabled = value
                    .as_bool()
                    .ok_or_else(|| Error::InvalidArgument("enabled must be true or false".into()))?;
                sqlx::query(
                    "UPDATE settings.event_hook SET enabled = $2, modified_at = now(), \
                     disabled_reason = CASE WHEN $2 THEN NULL ELSE disabled_reason END, \
                     consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures END \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(enabled)
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown property {other} of an event hook (name, events, description, \
                     eventHookExecutor, enabled)"
                )));
            }
        };
        query.execute(&mut *tx).await?;
        // The handler holds a secret or code: the event says only that it changed.
        let change = if prop == "eventHookExecutor" {
            json!({"prop": prop})
        } else {
            json!({"prop": prop, "value": value})
        };
        self.object_changed(tx, caller, "event-hook", id, change).await?;
        if prop == "enabled" && value == json!(true) {
            self.hooks_wake.notify_one();
        }
        Ok(())
    }

    /// A hook's delivery log, newest first.
    pub(crate) async fn hook_deliveries(
        &self,
        caller: &Caller,
        req: pb::ListHookDeliveriesRequest,
    ) -> Result<pb::ListHookDeliveriesResponse> {
        caller.require(permission::EVENT_HOOKS)?;
        if let Some(status) = req.status.as_deref() {
            one_of("status", status, DELIVERY_STATUSES)?;
        }
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM settings.event_hook WHERE id = $1)")
                .bind(req.hook_id)
                .fetch_one(&self.pool)
                .await?;
        if !exists {
            return Err(Error::NotFound(format!("event hook {} not found", req.hook_id)));
        }
        let limit = match req.limit {
            0 => 50,
            n if n > 500 => {
                return Err(Error::InvalidArgument("limit must be at most 500".into()));
            }
            n => n,
        };
        let rows: Vec<delivery::LogRow> = sqlx::query_as(
            "SELECT id, event_id, event_type, status, attempts, status_code, last_error, \
                    created_at, last_attempt_at, available_at, delivered_at, \
                    count(*) OVER () AS total \
             FROM settings.hook_delivery \
             WHERE hook_id = $1 AND ($2::text IS NULL OR status = $2) \
             ORDER BY id DESC LIMIT $3 OFFSET $4",
        )
        .bind(req.hook_id)
        .bind(req.status.as_deref())
        .bind(i64::from(limit))
        .bind(i64::from(req.offset))
        .fetch_all(&self.pool)
        .await?;
        let total = match rows.first() {
            Some(row) => row.total,
            // Past the end: the window function saw no row, so count on its own.
            None => {
                sqlx::query_scalar(
                    "SELECT count(*) FROM settings.hook_delivery \
                     WHERE hook_id = $1 AND ($2::text IS NULL OR status = $2)",
                )
                .bind(req.hook_id)
                .bind(req.status.as_deref())
                .fetch_one(&self.pool)
                .await?
            }
        };
        let deliveries = rows.into_iter().map(delivery::LogRow::into_proto).collect();
        Ok(pb::ListHookDeliveriesResponse { deliveries, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_need_https_a_host_and_no_credentials() {
        assert!(check_url("https://hooks.example.com/in?x=1", false).is_ok());
        assert!(check_url("http://10.0.0.5:8080/in", false).unwrap_err().contains("https"));
        assert!(check_url("http://10.0.0.5:8080/in", true).is_ok());
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(
            check_url("https://user:pw@example.com/", false).unwrap_err().contains("credentials")
        );
        assert!(check_url("not a url", false).is_err());
    }

    #[test]
    fn a_webhook_gets_a_secret_and_keeps_it_when_the_mask_comes_back() {
        let made =
            executor_of(&json!({"type": "webhook", "url": "https://a.example"}), None, false)
                .unwrap();
        let secret = made["secret"].as_str().unwrap().to_owned();
        assert!(signature::key_of(&secret).is_some(), "{secret}");

        let again = json!({"type": "webhook", "url": "https://b.example", "secret": MASK});
        let kept = executor_of(&again, Some(&made), false).unwrap();
        assert_eq!(kept["secret"], json!(secret));
        assert_eq!(kept["url"], json!("https://b.example"));
        assert!(executor_of(&again, None, false).is_err(), "a mask with nothing stored");

        let bad = json!({"type": "webhook", "url": "https://a.example", "secret": "hunter2"});
        assert!(executor_of(&bad, None, false).is_err());
        let extra = json!({"type": "webhook", "url": "https://a.example", "code": "x"});
        assert!(executor_of(&extra, None, false).unwrap_err().to_string().contains("code"));
        assert_eq!(masked(made)["secret"], json!(MASK));
    }

    #[test]
    fn source_code_handlers_need_python_and_code() {
        let ok = json!({"type": "sourceCode", "language": "python311", "code": "print(1)"});
        assert_eq!(executor_of(&ok, None, false).unwrap(), ok);
        let node = json!({"type": "sourceCode", "language": "node20", "code": "x"});
        assert!(executor_of(&node, None, false).is_err());
        let empty = json!({"type": "sourceCode", "language": "python311", "code": " "});
        assert!(executor_of(&empty, None, false).is_err());
        assert!(executor_of(&json!({"type": "apiCall"}), None, false).is_err());
        assert!(executor_of(&json!("webhook"), None, false).is_err());
    }

    #[test]
    fn event_lists_hold_known_names_once() {
        assert_eq!(
            events_of(&json!(["TicketCreated", "TicketUpdated", "TicketCreated"])).unwrap(),
            ["TicketCreated", "TicketUpdated"]
        );
        let err = events_of(&json!(["TicketCreated", "TicketExploded"])).unwrap_err();
        assert!(err.to_string().contains("TicketExploded"), "{err}");
        assert!(events_of(&json!([])).is_err());
        assert!(events_of(&json!("TicketCreated")).is_err());
    }
}
