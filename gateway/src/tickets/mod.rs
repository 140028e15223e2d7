//! `/ticket` routes: REST in the contract's shapes, translated to `enneo.ticket.v1` calls.

pub mod activity;
pub mod autoexecute;
pub mod bulk;
pub mod context;
pub mod conversations;
pub mod docs;
pub mod forward;
mod headers;
pub mod input;
pub mod queue;
pub mod search;
pub mod view;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as agent;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody};
use docs::TicketWrite;
use headers::{idempotency_key, if_match, with_etag};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use view::{TicketView, ViewOptions};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(conversations::routes())
        .merge(context::routes())
        .merge(autoexecute::routes())
        .routes(routes!(create_ticket, bulk::bulk_update_tickets))
        .routes(routes!(search::search_tickets))
        .routes(routes!(queue::get_latest_ticket))
        .routes(routes!(queue::ticket_stats))
        .routes(routes!(get_ticket, update_ticket, delete_ticket))
        .routes(routes!(ping_ticket))
        .routes(routes!(activity::ticket_activity))
        .routes(routes!(forward::forward_ticket))
}

/// A non-null `modifiedAt` in an update is a precondition on the ticket's last change.
pub(crate) fn expected_modified_at(
    body: &Value,
) -> Result<Option<prost_types::Timestamp>, ApiError> {
    match body.get("modifiedAt") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => crate::time::parse(value)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("modifiedAt must be a date")),
    }
}

/// `PATCH /ticket/{ticketId}` nests the ticket (GET and POST return it at top level).
#[derive(Serialize, ToSchema)]
pub struct UpdatedTicket {
    ticket: TicketView,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CreateParams {
    /// `realtime` (the answer waits for intent detection and carries the `intents`), `batch`
    /// (default: detection follows asynchronously) or `false` (no AI; the ticket is `human`).
    process: Option<String>,
}

/// Create a ticket.
///
/// Only `channel` is required. Defaults: direction `in`, status `open`, priority `low`,
/// interface `internal`, aiSupportLevel `unprocessed`, createdAt now. An existing
/// `externalTicketId` updates that ticket instead of creating a duplicate.
#[utoipa::path(post, path = "/ticket", tag = "ticket",
    params(CreateParams, ("Idempotency-Key" = Option<String>, Header,
        description = "A retry with the same key returns the first result and creates nothing")),
    request_body = TicketWrite,
    responses((status = 200, description = "The created (or matched) ticket", body = Success<TicketView>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(params): QueryParams<CreateParams>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    require(&caller, permission::CREATE_TICKETS)?;
    let body: Value = body.parse()?;
    let written = input::read(&body, true)?;
    let process = params.process.or(written.process);
    let idempotency_key = idempotency_key(&headers)?;
    let create = pb::CreateTicketRequest { fields: Some(written.fields), process, idempotency_key };
    let realtime = create.process.as_deref() == Some("realtime");
    let created = state.tickets().create_ticket(request(create, &caller)).await?.into_inner();
    let mut ticket = created.ticket.ok_or_else(missing_ticket)?;
    let mut intents = None;
    if realtime {
        (ticket, intents) = detect_now(&state, &caller, ticket).await?;
    }
    let version = ticket.version;
    let mut view = TicketView::new(ticket, ViewOptions::default());
    view.intents = intents;
    Ok(with_etag(Success::new(view), version))
}

/// `process=realtime`: detection runs before the answer, which then carries the detected
/// ticket and its intents. When agent-svc cannot detect now, the ticket is answered as created;
/// its `TicketCreated` event still queues detection, so nothing is lost.
async fn detect_now(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    ticket: pb::Ticket,
) -> Result<(pb::Ticket, Option<Vec<Value>>), ApiError> {
    let detect = agent::DetectTicketRequest { ticket_id: ticket.id };
    let detected = match state.agents().detect_ticket(request(detect, caller)).await {
        Ok(detected) => detected.into_inner(),
        Err(status) => {
            tracing::warn!(ticket = ticket.id, error = %status.message(), "realtime detection failed; left to the queue");
            return Ok((ticket, None));
        }
    };
    let intents =
        detected.intents_json.iter().filter_map(|i| serde_json::from_str(i).ok()).collect();
    let get = pb::GetTicketRequest { id: ticket.id, viewing: false };
    let ticket = state.tickets().get_ticket(request(get, caller)).await?.into_inner().ticket;
    Ok((ticket.ok_or_else(missing_ticket)?, Some(intents)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct GetParams {
    /// Return the whole stored customer instead of `{tagIds, tags}`.
    include_customer: Option<bool>,
    /// Include the opaque source payload `rawData`.
    include_raw_data: Option<bool>,
    /// Default true: a human opens the ticket, which registers the caller's presence
    /// (`workedOnBy`) like a ping.
    viewing: Option<bool>,
    /// Wipe and re-run the AI pipeline; not served yet, so `true` is refused.
    refresh: Option<bool>,
    /// Add the ticket's AI `intents`.
    include_intents: Option<bool>,
}

/// Get a ticket.
#[utoipa::path(get, path = "/ticket/{ticketId}", tag = "ticket",
    params(("ticketId" = i64, Path), GetParams),
    responses((status = 200, description = "The ticket, fields at top level", body = Success<TicketView>,
            headers(("ETag" = String, description = "Version for If-Match"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(params): QueryParams<GetParams>,
) -> Result<Response, ApiError> {
    if params.refresh == Some(true) {
        return Err(ApiError::bad_request("refresh=true is not supported yet"));
    }
    let viewing = params.viewing.unwrap_or(true);
    let ticket = state
        .tickets()
        .get_ticket(request(pb::GetTicketRequest { id, viewing }, &caller))
        .await?
        .into_inner()
        .ticket
        .ok_or_else(missing_ticket)?;
    let options = ViewOptions {
        include_customer: params.include_customer.unwrap_or(false),
        include_raw_data: params.include_raw_data.unwrap_or(false),
    };
    let version = ticket.version;
    let mut view = TicketView::new(ticket, options);
    if params.include_intents == Some(true) {
        let mut found = crate::intents::of_tickets(&state, &caller, vec![id]).await?;
        view.intents = Some(found.remove(&id).unwrap_or_default());
    }
    Ok(with_etag(Success::new(view), version))
}

/// Update a ticket.
///
/// Agents may write status, priority, agentId, assignedAgentIds, dueBy, firstResponseDueBy,
/// tagIds, contractId, customerId, customerLegitimation, aiSupportLevel and spamStatus; other
/// fields need `updateTechnicalTicketFields`. `pending` needs a future `dueBy`; `direction`
/// cannot change; `manual_spam` closes the ticket. With `If-Match: "<version>"` (from the
/// `ETag`) a ticket changed meanwhile answers 409 and nothing is written.
#[utoipa::path(patch, path = "/ticket/{ticketId}", tag = "ticket",
    params(("ticketId" = i64, Path), UpdateParams, ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = TicketWrite,
    responses((status = 200, body = Success<UpdatedTicket>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(_flags): QueryParams<UpdateParams>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    // Technical fields also need `updateTechnicalTicketFields`: which fields are written is in
    // the body, so ticket-svc checks that after parsing.
    require(&caller, permission::UPDATE_TICKETS)?;
    let body: Value = body.parse()?;
    if let Some(body_id) = body.get("id").filter(|v| !v.is_null())
        && body_id.as_i64() != Some(id)
    {
        return Err(ApiError::bad_request("the body's id differs from the path's"));
    }
    let written = input::read(&body, false)?;
    let update = pb::UpdateTicketRequest {
        id,
        fields: Some(written.fields),
        expected_version: if_match(&headers)?,
        expected_modified_at: expected_modified_at(&body)?,
    };
    let ticket = state
        .tickets()
        .update_ticket(request(update, &caller))
        .await?
        .into_inner()
        .ticket
        .ok_or_else(missing_ticket)?;
    let version = ticket.version;
    let body =
        Success::new(UpdatedTicket { ticket: TicketView::new(ticket, ViewOptions::default()) });
    Ok(with_etag(body, version))
}

/// Flags of single and bulk updates. They are validated; their effects (worklog time
/// tracking, forced reassignment) arrive with time tracking and profiles.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "validated today; read once worklogs and profiles exist")]
pub struct UpdateParams {
    /// Whether the change counts in the worklog (time tracking).
    include_in_worklog: Option<bool>,
    force_agent_reassignment: Option<bool>,
}

/// Delete a ticket (hard, GDPR).
///
/// Needs `deleteTicket`. Removes the ticket with its presence; its activity trail and
/// statistics follow through the `TicketDeleted` event.
#[utoipa::path(delete, path = "/ticket/{ticketId}", tag = "ticket", params(("ticketId" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.tickets().delete_ticket(request(pb::DeleteTicketRequest { id }, &caller)).await?;
    Ok(Success::done())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingResponse {
    /// Everyone whose presence is alive, the caller included.
    worked_on_by: Vec<view::UserRef>,
}

/// Ping a ticket.
///
/// Call every 30 s while the ticket is open: keeps the caller's presence alive (90 s) and lists
/// every agent working on it, so two agents see each other.
#[utoipa::path(get, path = "/ticket/{ticketId}/ping", tag = "ticket", params(("ticketId" = i64, Path)),
    responses((status = 200, body = Success<PingResponse>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn ping_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<PingResponse>, ApiError> {
    let present = state
        .tickets()
        .ping_ticket(request(pb::PingTicketRequest { id }, &caller))
        .await?
        .into_inner();
    Ok(Success::new(PingResponse {
        worked_on_by: present.worked_on_by.iter().map(view::UserRef::present).collect(),
    }))
}

/// One address or several.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Addresses {
    One(String),
    Many(Vec<String>),
}

impl Addresses {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(address) => vec![address],
            Self::Many(addresses) => addresses,
        }
    }
}

fn missing_ticket() -> ApiError {
    ApiError::internal_because("ticket-svc answered without a ticket")
}
