//! Delivering hook events: a [`Work`] over `settings.hook_delivery` for the shared work loop,
//! which claims due rows, backs failures off and retries them. A delivery succeeds on a 2xx
//! answer (webhook) or a clean run (sourceCode); after `hooks.max_attempts` it is given up as
//! failed. Every failed attempt counts against its hook; `hooks.disable_after` of them in a row
//! disable the hook with the reason, and any success resets the count.
//!
//! Receivers see each event at least once (a crash after sending and before recording sends it
//! again) and possibly out of order; `webhook-id` (the event id) is for deduplication and
//! `occurredAt`/`aggregateVersion` in the body for ordering.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_common::jobs::{Claimed, Outcome, Work};
use enneo_proto::agent::v1 as agent;
use enneo_proto::agent::v1::agent_service_client::AgentServiceClient;
use enneo_proto::settings::v1 as pb;
use futures_util::future::join_all;
use serde_json::{Value, json};
use sqlx::PgConnection;
use tonic::transport::Channel;
use uuid::Uuid;

use super::signature;
use crate::config::HooksConfig;
use crate::service::Settings;

/// Bytes of a receiver's answer kept in the log of a failed attempt.
const ANSWER_KEPT: usize = 300;

#[derive(sqlx::FromRow)]
pub(crate) struct LogRow {
    id: i64,
    event_id: Uuid,
    event_type: String,
    status: String,
    attempts: i32,
    status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    available_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    pub(crate) total: i64,
}

impl LogRow {
    pub(crate) fn into_proto(self) -> pb::HookDelivery {
        pb::HookDelivery {
            id: self.id,
            event_id: self.event_id.to_string(),
            event_type: self.event_type,
            next_attempt_at: (self.status == "pending").then(|| self.available_at.to_rfc3339()),
            status: self.status,
            attempts: self.attempts,
            status_code: self.status_code,
            error: self.last_error,
            created_at: self.created_at.to_rfc3339(),
            last_attempt_at: self.last_attempt_at.map(|t| t.to_rfc3339()),
            delivered_at: self.delivered_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct Due {
    id: i64,
    hook_id: i64,
    event_id: Uuid,
    envelope: Value,
    attempts: i32,
    executor: Option<Value>,
}

impl Claimed for Due {
    fn id(&self) -> i64 {
        self.id
    }

    fn attempts(&self) -> i32 {
        self.attempts
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
struct Attempt {
    status_code: Option<i32>,
    error: Option<String>,
}

pub struct Deliveries {
    settings: Settings,
    http: reqwest::Client,
    agent: AgentServiceClient<Channel>,
    config: HooksConfig,
    /// The attempts of the batch in hand, by delivery id, for the recording steps.
    attempts: HashMap<i64, (i64, Attempt)>,
}

impl Deliveries {
    pub fn new(settings: Settings, agent_url: &str) -> anyhow::Result<Self> {
        let config = settings.hooks.clone();
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            // A redirect could lead a signed event anywhere; receivers answer where they are.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("enneo-mind-hooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let agent = AgentServiceClient::new(enneo_common::grpc::channel(agent_url)?);
        Ok(Self { settings, http, agent, config, attempts: HashMap::new() })
    }

    async fn attempt(&self, due: &Due) -> Attempt {
        let failed = |error: String| Attempt { status_code: None, error: Some(error) };
        let Some(executor) = &due.executor else {
            return failed("the hook has no eventHookExecutor".into());
        };
        match executor["type"].as_str() {
            Some("webhook") => self.post(due, executor).await,
            Some("sourceCode") => {
                let caller = Caller::service(&[permission::EVENT_HOOKS]);
                let run = agent::RunEventHookRequest {
                    executor_json: executor.to_string(),
                    event_json: due.envelope.to_string(),
                };
                match self.agent.clone().run_event_hook(request(run, &caller)).await {
                    Ok(_) => Attempt { status_code: None, error: None },
                    Err(status) => failed(format!("sourceCode handler: {}", status.message())),
                }
            }
            other => failed(format!("unknown eventHookExecutor type {other:?}")),
        }
    }

    async fn post(&self, due: &Due, executor: &Value) -> Attempt {
        let failed = |status_code, error: String| Attempt { status_code, error: Some(error) };
        let (Some(url), Some(key)) =
            (executor["url"].as_str(), executor["secret"].as_str().and_then(signature::key_of))
        else {
            return failed(None, "the webhook has no valid url and secret".into());
        };
        let body = due.envelope.to_string();
        let id = due.event_id.to_string();
        let timestamp = Utc::now().timestamp();
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature::sign(&key, &id, timestamp, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match sent {
            // The URL may carry a token in its query: errors leave it out.
            Err(err) => failed(None, err.without_url().to_string()),
            Ok(answer) => {
                let status = answer.status();
                let code = Some(i32::from(status.as_u16()));
                if status.is_success() {
                    return Attempt { status_code: code, error: None };
                }
                let text = answer.text().await.unwrap_or_default();
                let kept: String = text.chars().take(ANSWER_KEPT).collect();
                failed(code, format!("the receiver answered {status}: {kept}"))
            }
        }
    }

    /// Counts failed attempts against their hooks and disables those that reached the limit.
    async fn count_failures(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        let failures: Vec<(i64, String)> = ids
            .iter()
            .filter_map(|id| self.attempts.get(id))
            .map(|(hook, a)| (*hook, a.error.clone().unwrap_or_default()))
            .collect();
        for (hook, error) in failures {
            let reason = format!(
                "disabled on {} after {} failed attempts in a row; the last: {error}",
                Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
                self.config.disable_after
            );
            let disabled: Option<bool> = sqlx::query_scalar(
                "UPDATE settings.event_hook SET consecutive_failures = consecutive_failures + 1, \
                   enabled = enabled AND consecutive_failures + 1 < $2, \
                   disabled_reason = CASE WHEN enabled AND consecutive_failures + 1 >= $2 \
                                          THEN $3 ELSE disabled_reason END \
                 WHERE id = $1 \
                 RETURNING disabled_reason IS NOT DISTINCT FROM $3",
            )
            .bind(hook)
            .bind(self.config.disable_after as i32)
            .bind(&reason)
            .fetch_optional(&mut *tx)
            .await?;
            if disabled == Some(true) {
                tracing::warn!(hook, "event hook disabled after repeated failures");
                let change = json!({"prop": "enabled", "value": false, "reason": reason});
                self.settings
                    .object_changed(tx, &Caller::system(), "event-hook", hook, change)
                    .await
                    .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Writes each attempt's status code and error on its row.
    async fn record(&self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        let (mut rows, mut codes, mut errors) = (Vec::new(), Vec::new(), Vec::new());
        for id in ids {
            if let Some((_, a)) = self.attempts.get(id) {
                rows.push(*id);
                codes.push(a.status_code);
                errors.push(a.error.clone());
            }
        }
        sqlx::query(
            "UPDATE settings.hook_delivery AS d SET status_code = a.code, last_error = a.error, \
               last_attempt_at = now() \
             FROM unnest($1::bigint[], $2::int[], $3::text[]) AS a(id, code, error) \
             WHERE d.id = a.id",
        )
        .bind(rows)
        .bind(codes)
        .bind(errors)
        .execute(tx)
        .await?;
        Ok(())
    }
}

impl Work for Deliveries {
    type Item = Due;

    fn table(&self) -> &str {
        "settings.hook_delivery"
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Due>> {
        self.attempts.clear();
        sqlx::query_as(
            "SELECT d.id, d.hook_id, d.event_id, d.envelope, d.attempts, h.executor \
             FROM settings.hook_delivery d JOIN settings.event_hook h ON h.id = d.hook_id \
             WHERE d.status = 'pending' AND d.available_at <= now() AND h.enabled \
             ORDER BY d.available_at, d.id LIMIT $1 \
             FOR UPDATE OF d SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(tx)
        .await
    }

    async fn perform(&mut self, items: &[Due]) -> anyhow::Result<Vec<Outcome>> {
        let attempts = join_all(items.iter().map(|due| self.attempt(due))).await;
        let mut outcomes = Vec::with_capacity(items.len());
        for (due, attempt) in items.iter().zip(attempts) {
            outcomes.push(match &attempt.error {
                None => Outcome::Done,
                Some(error) if due.attempts + 1 >= self.config.max_attempts as i32 => {
                    Outcome::Failed(error.clone())
                }
                Some(error) => Outcome::Retry(error.clone()),
            });
            tracing::debug!(delivery = due.id, hook = due.hook_id, ?attempt, "hook attempt");
            self.attempts.insert(due.id, (due.hook_id, attempt));
        }
        Ok(outcomes)
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        self.record(tx, ids).await?;
        sqlx::query(
            "UPDATE settings.hook_delivery SET status = 'delivered', attempts = attempts + 1, \
               delivered_at = now(), last_error = NULL WHERE id = ANY($1)",
        )
        .bind(ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE settings.event_hook SET consecutive_failures = 0 \
             WHERE consecutive_failures > 0 AND id IN \
               (SELECT hook_id FROM settings.hook_delivery WHERE id = ANY($1))",
        )
        .bind(ids)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn retried(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        self.record(tx, ids).await?;
        self.count_failures(tx, ids).await
    }

    async fn failed(
        &mut self,
        tx: &mut PgConnection,
        failed: &[(i64, String)],
    ) -> sqlx::Result<()> {
        let ids: Vec<i64> = failed.iter().map(|(id, _)| *id).collect();
        self.record(tx, &ids).await?;
        sqlx::query(
            "UPDATE settings.hook_delivery SET status = 'failed', attempts = attempts + 1 \
             WHERE id = ANY($1)",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        self.count_failures(tx, &ids).await
    }
}
