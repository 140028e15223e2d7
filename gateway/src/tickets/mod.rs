//! `/ticket` routes: REST in the contract's shapes, translated to `enneo.ticket.v1` calls.

pub mod autoexecute;
pub mod context;
pub mod conversations;
pub mod docs;
pub mod input;
pub mod view;

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use enneo_common::grpc::request;
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::bulk::{BulkResponse, BulkResult};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{JsonBody, OptionalJsonBody, PathId, QueryParams};
use docs::TicketWrite;
use view::{TicketView, ViewOptions};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .merge(conversations::routes())
        .merge(context::routes())
        .merge(autoexecute::routes())
        .route("/ticket", post(create_ticket).patch(bulk_update_tickets))
        .route("/ticket/search", post(search_tickets))
        .route("/ticket/getLatest", post(get_latest_ticket))
        .route("/ticket/stats", get(ticket_stats))
        .route("/ticket/{ticketId}", get(get_ticket).patch(update_ticket).delete(delete_ticket))
        .route("/ticket/{ticketId}/ping", get(ping_ticket))
        .route("/ticket/{ticketId}/activity", get(ticket_activity))
        .route("/ticket/{ticketId}/forward", post(forward_ticket))
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `Idempotency-Key` header, if sent.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| {
            v.to_str()
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.len() <= 255)
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key must be 1 to 255 visible characters")
                })
        })
        .transpose()
}

/// A non-null `modifiedAt` in an update is a precondition on the ticket's last change.
fn expected_modified_at(body: &Value) -> Result<Option<prost_types::Timestamp>, ApiError> {
    match body.get("modifiedAt") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => crate::time::parse(value)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("modifiedAt must be a date")),
    }
}

/// The most items one bulk update may carry.
pub const MAX_BULK_ITEMS: usize = 500;

/// `PATCH /ticket/{ticketId}` nests the ticket (GET and POST return it at top level).
#[derive(Serialize, ToSchema)]
pub struct UpdatedTicket {
    ticket: TicketView,
}

/// `ETag: "<version>"`: send it back in `If-Match` to update only what you read.
fn with_etag(body: impl IntoResponse, version: i64) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CreateParams {
    /// `realtime`, `batch` or `false`: when the AI pipeline runs.
    process: Option<String>,
}

/// Create a ticket.
///
/// Only `channel` is required. Defaults: direction `in`, status `open`, priority `low`,
/// interface `internal`, aiSupportLevel `unprocessed`, createdAt now. An existing
/// `externalTicketId` updates that ticket instead of creating a duplicate.
#[utoipa::path(post, path = "/api/mind/ticket", tag = "ticket",
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
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let written = input::read(&body, true)?;
    let process = params.process.or(written.process);
    let idempotency_key = idempotency_key(&headers)?;
    let create = pb::CreateTicketRequest { fields: Some(written.fields), process, idempotency_key };
    let created = state.tickets().create_ticket(request(create, &caller)).await?.into_inner();
    let ticket = created.ticket.ok_or_else(missing_ticket)?;
    let version = ticket.version;
    let body = Success::new(TicketView::new(ticket, ViewOptions::default()));
    Ok(with_etag(body, version))
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
}

/// Get a ticket.
#[utoipa::path(get, path = "/api/mind/ticket/{ticketId}", tag = "ticket",
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
    Ok(with_etag(Success::new(TicketView::new(ticket, options)), version))
}

/// Update a ticket.
///
/// Agents may write status, priority, agentId, assignedAgentIds, dueBy, firstResponseDueBy,
/// tagIds, contractId, customerId, customerLegitimation, aiSupportLevel and spamStatus; other
/// fields need `updateTechnicalTicketFields`. `pending` needs a future `dueBy`; `direction`
/// cannot change; `manual_spam` closes the ticket. With `If-Match: "<version>"` (from the
/// `ETag`) a ticket changed meanwhile answers 409 and nothing is written.
#[utoipa::path(patch, path = "/api/mind/ticket/{ticketId}", tag = "ticket",
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
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
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
    let body = Success::new(UpdatedTicket { ticket: TicketView::new(ticket, ViewOptions::default()) });
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

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request("If-Match must be an ETag this API returned, e.g. \"3\"")
        })
}

/// Update a few tickets at once.
///
/// A JSON array of partial tickets, each with its `id`. Every item is validated and applied on
/// its own: one bad item never blocks the others. Read-only fields sent back (as the
/// contract's sample does) are ignored.
#[utoipa::path(patch, path = "/api/mind/ticket", tag = "ticket",
    params(UpdateParams, ("Idempotency-Key" = Option<String>, Header,
        description = "A retry with the same key returns the first result and writes nothing")),
    request_body(content = Vec<TicketWrite>, description = "Partial tickets, each with `id`"),
    responses((status = 200, body = BulkResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn bulk_update_tickets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(_flags): QueryParams<UpdateParams>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<BulkResponse>, ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let Value::Array(items) = body else {
        return Err(ApiError::bad_request("the body must be a JSON array of tickets"));
    };
    if items.len() > MAX_BULK_ITEMS {
        return Err(ApiError::bad_request(format!("at most {MAX_BULK_ITEMS} tickets per request")));
    }
    // Parse every item first; only the valid ones travel to ticket-svc.
    let mut results: Vec<Option<BulkResult>> = Vec::with_capacity(items.len());
    let mut valid = Vec::new();
    for item in &items {
        let id = item.get("id").and_then(Value::as_i64).filter(|id| *id > 0);
        let parsed = match id {
            None => Err(ApiError::bad_request("each item needs a positive integer id")),
            Some(id) => {
                input::read(item, false).and_then(|w| Ok((id, w, expected_modified_at(item)?)))
            }
        };
        match parsed {
            Ok((id, written, expected_modified_at)) => {
                valid.push(pb::UpdateTicketRequest {
                    id,
                    fields: Some(written.fields),
                    expected_version: None,
                    expected_modified_at,
                });
                results.push(None);
            }
            Err(err) => results.push(Some(BulkResult::of(id, Err(err)))),
        }
    }
    let mut applied = if valid.is_empty() {
        Vec::new()
    } else {
        state
            .tickets()
            .bulk_update_tickets(request(
                pb::BulkUpdateTicketsRequest { items: valid, idempotency_key },
                &caller,
            ))
            .await?
            .into_inner()
            .results
    }
    .into_iter();
    let results = results.into_iter().map(|slot| {
        slot.unwrap_or_else(|| match applied.next().unwrap_or_default() {
            r if r.success => BulkResult::applied(Some(r.id)),
            r => BulkResult::failed(Some(r.id), r.code, r.error),
        })
    });
    Ok(Json(results.collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchBody {
    /// Default 100, at most 500.
    limit: Option<i64>,
    offset: Option<i64>,
    /// Default `t.id`; one of the sortable keys of the contract (§10), else 400.
    order_by_field: Option<String>,
    /// `asc` or `desc` (default).
    order_by_direction: Option<String>,
    #[serde(default)]
    filters: Vec<FilterBody>,
    /// `all` (default) or `skills`: the routing view, without spam.
    ticket_scope: Option<String>,
}

/// `{key, comparator, value | values | from+to}`. `"null"` in `values` matches NULL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    #[schema(example = "t.status")]
    key: String,
    /// `in`, `not in`, `=`, `!=`, `>`, `<`, `>=`, `<=`, `between`, `not between`.
    #[schema(example = "in")]
    comparator: String,
    #[schema(value_type = Option<Object>)]
    value: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    values: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    from: Option<Value>,
    #[schema(value_type = Option<Object>)]
    to: Option<Value>,
}

fn filters(body: Vec<FilterBody>) -> Result<Vec<pb::Filter>, ApiError> {
    body.into_iter()
        .map(|f| {
            Ok(pb::Filter {
                key: f.key,
                comparator: f.comparator,
                values: f
                    .values
                    .unwrap_or_default()
                    .iter()
                    .map(scalar)
                    .collect::<Result<_, _>>()?,
                value: f.value.as_ref().map(scalar).transpose()?,
                from: f.from.as_ref().map(scalar).transpose()?,
                to: f.to.as_ref().map(scalar).transpose()?,
            })
        })
        .collect()
}

/// A filter value as the service's text form; the service types it by key.
fn scalar(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok("null".into()),
        _ => Err(ApiError::bad_request("filter values must be strings, numbers, booleans or null")),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    /// Compact rows: no body, bodyPlain, bodyClean, attachments, template, workitem;
    /// `customer` is `{tagIds, tags}`.
    #[schema(value_type = Vec<TicketView>)]
    tickets: Vec<Value>,
    total: i64,
    offset: i64,
    limit: i64,
}

/// Get a list of tickets.
#[utoipa::path(post, path = "/api/mind/ticket/search", tag = "ticket", request_body = SearchBody,
    responses((status = 200, body = Success<SearchResponse>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn search_tickets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<SearchBody>,
) -> Result<Success<SearchResponse>, ApiError> {
    let limit = body.limit.unwrap_or(0);
    if body.limit.is_some() && limit < 1 {
        return Err(ApiError::bad_request("limit must be at least 1"));
    }
    let filters = filters(body.filters)?;
    let page = state
        .tickets()
        .search_tickets(request(
            pb::SearchTicketsRequest {
                limit,
                offset: body.offset.unwrap_or(0),
                order_by_field: body.order_by_field.unwrap_or_default(),
                order_by_direction: body.order_by_direction.unwrap_or_default(),
                filters,
                ticket_scope: body.ticket_scope.unwrap_or_default(),
            },
            &caller,
        ))
        .await?
        .into_inner();
    Ok(Success::new(SearchResponse {
        tickets: page.tickets.into_iter().map(TicketView::compact).collect(),
        total: page.total,
        offset: page.offset,
        limit: page.limit,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLatestBody {
    /// `earliest` (default), `previous` or `next`, relative to `ticketId` in your queue.
    preferred_direction: Option<String>,
    /// The ticket currently open; needed for `previous`/`next`.
    ticket_id: Option<i64>,
    /// Same shape as search filters; narrows the queue.
    #[serde(default)]
    filters: Vec<FilterBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetLatestResponse {
    /// Null when your queue is empty.
    ticket_id: Option<i64>,
}

/// Get next ticket id to work on.
///
/// Your queue: open, non-spam tickets your skills allow (untagged tickets always; tickets
/// assigned to you first), ordered by the configured distribution sequence (default: SLA due
/// date). The ticket returned is claimed through your presence: nobody else gets it while you
/// keep pinging it.
#[utoipa::path(post, path = "/api/mind/ticket/getLatest", tag = "ticket",
    request_body(content = Option<GetLatestBody>, description = "Optional"),
    responses((status = 200, body = Success<GetLatestResponse>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_latest_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    OptionalJsonBody(body): OptionalJsonBody<GetLatestBody>,
) -> Result<Success<GetLatestResponse>, ApiError> {
    let next = pb::GetNextTicketRequest {
        preferred_direction: body.preferred_direction.unwrap_or_default(),
        ticket_id: body.ticket_id,
        filters: filters(body.filters)?,
    };
    let found = state.tickets().get_next_ticket(request(next, &caller)).await?.into_inner();
    Ok(Success::new(GetLatestResponse { ticket_id: found.ticket_id }))
}

/// Counts of the event-fed read model.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsResponse {
    /// Open tickets.
    total: i64,
    by_status: BTreeMap<String, i64>,
    /// Open tickets per channel.
    by_channel: BTreeMap<String, i64>,
    /// Open tickets per priority.
    by_priority: BTreeMap<String, i64>,
    /// Open tickets per tag, most frequent first.
    tags: Vec<TagCount>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagCount {
    tag_id: i64,
    count: i64,
}

/// Get ticket stats.
///
/// Served from a read model that ticket events keep up to date, so a change shows here a
/// moment after it is made.
#[utoipa::path(get, path = "/api/mind/ticket/stats", tag = "ticket",
    responses((status = 200, body = Success<StatsResponse>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn ticket_stats(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<StatsResponse>, ApiError> {
    let stats = state
        .tickets()
        .get_ticket_stats(request(pb::GetTicketStatsRequest {}, &caller))
        .await?
        .into_inner();
    let map = |counts: Vec<pb::Count>| counts.into_iter().map(|c| (c.key, c.count)).collect();
    Ok(Success::new(StatsResponse {
        total: stats.total,
        by_status: map(stats.by_status),
        by_channel: map(stats.by_channel),
        by_priority: map(stats.by_priority),
        tags: stats
            .by_tag
            .into_iter()
            .filter_map(|c| Some(TagCount { tag_id: c.key.parse().ok()?, count: c.count }))
            .collect(),
    }))
}

/// Delete a ticket (hard, GDPR).
///
/// Needs `deleteTicket`. Removes the ticket with its presence; its activity trail and
/// statistics follow through the `TicketDeleted` event.
#[utoipa::path(delete, path = "/api/mind/ticket/{ticketId}", tag = "ticket", params(("ticketId" = i64, Path)),
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
#[utoipa::path(get, path = "/api/mind/ticket/{ticketId}/ping", tag = "ticket", params(("ticketId" = i64, Path)),
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

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Default 20, at most 100.
    limit: Option<i64>,
    offset: Option<i64>,
    /// Adds event ids, versions and trace ids; needs `accessTechnicalEvents`.
    show_technical_information: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    id: i64,
    /// `ticketCreated`, `ticketUpdated`, …
    r#type: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    created_at: Option<String>,
    /// Null for the system.
    user_id: Option<i64>,
    message: String,
    data: ActivityData,
    #[serde(skip_serializing_if = "Option::is_none")]
    technical: Option<Technical>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityData {
    changed_fields: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Technical {
    event_id: String,
    version: i64,
    traceparent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityResponse {
    total: i64,
    activities: Vec<ActivityView>,
}

/// Get ticket activity.
///
/// The ticket's audit trail, newest first: created, updated (with the changed fields and who
/// changed them), … It is built from the ticket's events, a moment after each change.
#[utoipa::path(get, path = "/api/mind/ticket/{ticketId}/activity", tag = "ticket",
    params(("ticketId" = i64, Path), ActivityParams),
    responses((status = 200, body = Success<ActivityResponse>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn ticket_activity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(params): QueryParams<ActivityParams>,
) -> Result<Success<ActivityResponse>, ApiError> {
    let technical = params.show_technical_information.unwrap_or(false);
    let listed = state
        .tickets()
        .list_ticket_activity(request(
            pb::ListTicketActivityRequest {
                id,
                limit: params.limit.unwrap_or(0),
                offset: params.offset.unwrap_or(0),
                technical,
            },
            &caller,
        ))
        .await?
        .into_inner();
    let activities = listed
        .activities
        .into_iter()
        .map(|a| ActivityView {
            id: a.id,
            created_at: a.created_at.as_ref().and_then(crate::time::format_sql),
            user_id: a.user_id,
            message: a.message,
            data: ActivityData { changed_fields: a.changed_fields },
            technical: technical.then_some(Technical {
                event_id: a.event_id,
                version: a.version,
                traceparent: a.traceparent,
            }),
            r#type: a.kind,
        })
        .collect();
    Ok(Success::new(ActivityResponse { total: listed.total, activities }))
}

/// One address or several.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Addresses {
    One(String),
    Many(Vec<String>),
}

impl Addresses {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(address) => vec![address],
            Self::Many(addresses) => addresses,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardBody {
    /// Recipient(s).
    to_email: Addresses,
    /// Default `Fwd: <ticket subject>`.
    subject: Option<String>,
    /// HTML placed above the forwarded ticket.
    body: Option<String>,
    cc: Option<Addresses>,
    bcc: Option<Addresses>,
    /// Sending mailbox. Until mailboxes are configurable, mail goes out from the configured
    /// sender (`TICKET_MAIL_FROM`) whatever this says.
    subchannel_id: Option<i64>,
}

/// Forward a ticket.
///
/// Sends the ticket by e-mail (needs `forwardTicket`). The mail is queued with the request
/// and sent by the mailer; while the mail server is unreachable it waits and is retried.
#[utoipa::path(post, path = "/api/mind/ticket/{ticketId}/forward", tag = "ticket",
    params(("ticketId" = i64, Path)), request_body = ForwardBody,
    responses((status = 200, body = Success), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn forward_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    JsonBody(body): JsonBody<ForwardBody>,
) -> Result<Success, ApiError> {
    let _ = body.subchannel_id;
    let forward = pb::ForwardTicketRequest {
        id,
        to: body.to_email.into_vec(),
        cc: body.cc.map(Addresses::into_vec).unwrap_or_default(),
        bcc: body.bcc.map(Addresses::into_vec).unwrap_or_default(),
        subject: body.subject,
        body: body.body,
    };
    state.tickets().forward_ticket(request(forward, &caller)).await?;
    Ok(Success::done())
}

fn missing_ticket() -> ApiError {
    tracing::error!("ticket-svc answered without a ticket");
    ApiError::internal()
}
