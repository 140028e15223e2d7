//! Event hooks: which events leave the system, and where to (a signed webhook or a sourceCode
//! handler), with each hook's delivery log.

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{SecretsParam, json_of};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventHookView {
    id: i64,
    /// The event type the hook was created for.
    name: String,
    /// The event types it is called on (contract §7).
    events: Vec<String>,
    description: Option<String>,
    /// `{type: "webhook", url, secret}` or `{type: "sourceCode", language: "python311", code}`.
    /// The secret is masked unless `showSecrets=true` and the caller has `readSecretSettings`
    /// (and in the answer to the hook's creation, which shows it once in clear).
    #[schema(value_type = Option<Object>)]
    event_hook_executor: Option<Value>,
    /// False once switched off, or disabled for failing (`disabledReason` says why).
    enabled: bool,
    disabled_reason: Option<String>,
    /// Failed attempts in a row; a success resets it.
    consecutive_failures: i32,
    created_at: String,
    modified_at: Option<String>,
}

impl From<pb::EventHook> for EventHookView {
    fn from(h: pb::EventHook) -> Self {
        Self {
            event_hook_executor: h.executor_json.as_deref().map(json_of),
            id: h.id,
            name: h.name,
            events: h.events,
            description: h.description,
            enabled: h.enabled,
            disabled_reason: h.disabled_reason,
            consecutive_failures: h.consecutive_failures,
            created_at: h.created_at,
            modified_at: h.modified_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventHookList {
    event_hooks: Vec<EventHookView>,
}

/// List event hooks (needs `eventHooks`).
#[utoipa::path(get, path = "/settings/event-hook", tag = "settings", params(SecretsParam),
    responses((status = 200, body = Success<EventHookList>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_event_hooks(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<SecretsParam>,
) -> Result<Success<EventHookList>, ApiError> {
    require(&caller, permission::EVENT_HOOKS)?;
    let req = pb::ListEventHooksRequest { id: None, show_secrets: p.show_secrets.unwrap_or(false) };
    let listed = state.settings().list_event_hooks(request(req, &caller)).await?.into_inner();
    Ok(Success::new(EventHookList {
        event_hooks: listed.event_hooks.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEventHook {
    /// An event type of contract §7, e.g. `TicketCreated`; unknown names are refused.
    name: String,
    /// The event types to call it on; default `[name]`.
    events: Option<Vec<String>>,
    description: Option<String>,
    /// `{type: "webhook", url}` (a `secret` `whsec_…` is made when none is given) or
    /// `{type: "sourceCode", language: "python311", code}`; may also be set later with
    /// `POST /settings` `{"_event-hook[{id}].eventHookExecutor": …}`.
    #[schema(value_type = Option<Object>)]
    event_hook_executor: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventHookCreated {
    id: i64,
    event_hook: EventHookView,
}

/// Add an event hook (needs `eventHooks`).
///
/// A webhook receives each event as `POST` of its envelope (`eventId`, `type`, `occurredAt`,
/// `aggregateId`, `aggregateVersion`, `actor`, `payload`), signed as the Standard Webhooks
/// specification defines: `webhook-id` (the event id, the same on retries), `webhook-timestamp`
/// and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the
/// secret's base64 after `whsec_`. Any 2xx answer is a success; anything else is retried with
/// back-off, and a hook that keeps failing is disabled with the reason. Properties change with
/// `POST /settings` `_event-hook[{id}].{name|events|description|eventHookExecutor|enabled}`.
#[utoipa::path(post, path = "/settings/event-hook", tag = "settings", request_body = NewEventHook,
    responses((status = 200, body = Success<EventHookCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_event_hook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<EventHookCreated>, ApiError> {
    require(&caller, permission::EVENT_HOOKS)?;
    let body: NewEventHook = body.parse()?;
    let req = pb::AddEventHookRequest {
        name: body.name,
        events: body.events.unwrap_or_default(),
        description: body.description,
        executor_json: body.event_hook_executor.map(|e| e.to_string()),
    };
    let created = state.settings().add_event_hook(request(req, &caller)).await?.into_inner();
    Ok(Success::new(EventHookCreated { id: created.id, event_hook: created.into() }))
}

/// Delete an event hook and its delivery log.
#[utoipa::path(delete, path = "/settings/event-hook/{id}", tag = "settings", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_event_hook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    require(&caller, permission::EVENT_HOOKS)?;
    state.settings().delete_event_hook(request(pb::DeleteRequest { id }, &caller)).await?;
    Ok(Success::done())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilter {
    /// pending, delivered or failed.
    status: Option<String>,
    /// At most 500; default 50.
    limit: Option<u32>,
    offset: Option<u32>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    id: i64,
    event_id: String,
    event_type: String,
    /// pending (due again at `nextAttemptAt`), delivered, or failed (gave up).
    status: String,
    attempts: i32,
    /// The receiver's HTTP status in the last attempt.
    status_code: Option<i32>,
    /// Why the last attempt failed.
    error: Option<String>,
    created_at: String,
    last_attempt_at: Option<String>,
    next_attempt_at: Option<String>,
    delivered_at: Option<String>,
}

impl From<pb::HookDelivery> for DeliveryView {
    fn from(d: pb::HookDelivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            status_code: d.status_code,
            error: d.error,
            created_at: d.created_at,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryLog {
    total: i64,
    deliveries: Vec<DeliveryView>,
}

/// A hook's delivery log, newest first (kept for 30 days).
#[utoipa::path(get, path = "/settings/event-hook/{id}/deliveries", tag = "settings",
    params(("id" = i64, Path), DeliveryFilter),
    responses((status = 200, body = Success<DeliveryLog>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn hook_deliveries(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(p): QueryParams<DeliveryFilter>,
) -> Result<Success<DeliveryLog>, ApiError> {
    require(&caller, permission::EVENT_HOOKS)?;
    let req = pb::ListHookDeliveriesRequest {
        hook_id: id,
        status: p.status,
        limit: p.limit.unwrap_or(0),
        offset: p.offset.unwrap_or(0),
    };
    let log = state.settings().list_hook_deliveries(request(req, &caller)).await?.into_inner();
    Ok(Success::new(DeliveryLog {
        total: log.total,
        deliveries: log.deliveries.into_iter().map(Into::into).collect(),
    }))
}
