//! `/intent…` (contract §3): what AI agents found on a ticket, corrected by humans and
//! executed. Intents are agent-svc's documents, passed through as they are.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use enneo_proto::settings::v1 as settings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::ai_agents::document;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody, page};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(by_ticket))
        .routes(routes!(list_intents))
        .routes(routes!(get_intent, update_intent, delete_intent))
        .routes(routes!(execute_intent))
        .routes(routes!(execute_new_intent))
}

/// An intent (contract §3.3): one agent's result on a ticket.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Intent {
    id: i64,
    ticket_id: i64,
    ai_agent_id: i64,
    /// The agent's slug.
    code: String,
    name: String,
    contract_id: Option<String>,
    /// 0 to 1.
    confidence: f64,
    confidence_color: String,
    verified: bool,
    /// preview, ready, executed, invalidated, deleted or archived.
    status: String,
    #[schema(value_type = Object)]
    context: Value,
    message_preview: Option<String>,
    recipient: Option<String>,
    #[schema(value_type = Vec<Object>)]
    tags: Value,
    /// Parameter values by key.
    #[schema(value_type = Object)]
    data: Value,
    /// `{type, name, icon, recommended, order}`.
    #[schema(value_type = Vec<Object>)]
    options: Value,
    /// `{type (success|warning|danger|neutral), message, extraInfo}`.
    #[schema(value_type = Vec<Object>)]
    infos: Value,
    extra_info: Option<String>,
    outcome: Option<Outcome>,
    #[schema(value_type = Vec<Object>)]
    sources: Value,
}

/// The Outcome of running an intent (contract §3.2).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Outcome {
    response_code: i32,
    ai_agent_id: Option<i64>,
    success: bool,
    message_localized: Option<String>,
    /// `{requestEndpoint, requestParams}`.
    #[schema(value_type = Object)]
    internal_data: Value,
    /// Unix seconds.
    executed_at: Option<i64>,
    /// 0 = the system.
    user_id: i64,
    sent: bool,
    ticket_closed: bool,
    recipient: Option<String>,
    message: Option<String>,
    /// Contains `%MESSAGE%`.
    template: Option<String>,
    #[schema(value_type = Vec<Object>)]
    sources: Vec<Value>,
    tx_id: Option<String>,
}

fn documents(texts: &[String]) -> Result<Vec<Value>, ApiError> {
    texts.iter().map(|t| document(t)).collect()
}

/// The intents of these tickets by ticket id, in one call; none asked, none called for.
pub(crate) async fn of_tickets(
    state: &AppState,
    caller: &Caller,
    ticket_ids: Vec<i64>,
) -> Result<HashMap<i64, Vec<Value>>, ApiError> {
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let req = pb::IntentsForTicketsRequest { ticket_ids };
    let found = state.agents().intents_for_tickets(request(req, caller)).await?.into_inner();
    found.tickets.iter().map(|t| Ok((t.ticket_id, documents(&t.intents_json)?))).collect()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketIntents {
    ticket_id: i64,
    /// full (an intent with confidence 1), agentAssist, customerDetected or noDetection.
    ai_outcome: String,
    /// The number of `intents`.
    intents_found: usize,
    #[schema(value_type = Vec<Intent>)]
    intents: Vec<Value>,
}

/// The intents of a ticket.
///
/// Invalidated intents are processed again first.
#[utoipa::path(get, path = "/intent/byTicketId/{ticketId}", tag = "intent", params(("ticketId" = i64, Path)),
    responses((status = 200, body = Success<TicketIntents>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn by_ticket(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(ticket_id): PathId,
) -> Result<Success<TicketIntents>, ApiError> {
    let req = pb::IntentsByTicketRequest { ticket_id };
    let found = state.agents().intents_by_ticket(request(req, &caller)).await?.into_inner();
    let intents = documents(&found.intents_json)?;
    Ok(Success::new(TicketIntents {
        ticket_id,
        ai_outcome: found.ai_outcome,
        intents_found: intents.len(),
        intents,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    ticket_id: Option<i64>,
    ai_agent_id: Option<i64>,
    /// preview, ready, executed, invalidated, deleted or archived.
    status: Option<String>,
    /// Default 100, 1 to 1000.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct IntentList {
    #[schema(value_type = Vec<Intent>)]
    intents: Vec<Value>,
    /// All matches, beyond this page.
    total: i64,
}

/// List intents.
#[utoipa::path(get, path = "/intent/list", tag = "intent", params(ListParams),
    responses((status = 200, body = Success<IntentList>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_intents(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<IntentList>, ApiError> {
    let (limit, offset) = page(p.limit, p.offset, 100, 1000)?;
    let req = pb::ListIntentsRequest {
        ticket_id: p.ticket_id,
        ai_agent_id: p.ai_agent_id,
        status: p.status,
        limit,
        offset,
    };
    let found = state.agents().list_intents(request(req, &caller)).await?.into_inner();
    Ok(Success::new(IntentList { intents: documents(&found.intents_json)?, total: found.total }))
}

#[derive(Serialize, ToSchema)]
pub struct OneIntent {
    #[schema(value_type = Intent)]
    intent: Value,
}

fn one(intent_json: &str) -> Result<Success<OneIntent>, ApiError> {
    Ok(Success::new(OneIntent { intent: document(intent_json)? }))
}

/// Get an intent.
#[utoipa::path(get, path = "/intent/{intentId}", tag = "intent", params(("intentId" = i64, Path)),
    responses((status = 200, body = Success<OneIntent>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_intent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<OneIntent>, ApiError> {
    let found = state.agents().get_intent(request(pb::IntentRef { id }, &caller)).await?;
    one(&found.into_inner().intent_json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntentChange {
    /// Parameter values by key, merged into the intent's data (a human's corrections).
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
    /// ready, invalidated or archived.
    status: Option<String>,
    verified: Option<bool>,
}

/// Update an intent.
///
/// Needs `updateIntent`.
#[utoipa::path(put, path = "/intent/{intentId}", tag = "intent", params(("intentId" = i64, Path)),
    request_body = IntentChange,
    responses((status = 200, body = Success<OneIntent>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_intent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success<OneIntent>, ApiError> {
    require(&caller, permission::UPDATE_INTENT)?;
    let change: IntentChange = body.parse()?;
    let req = pb::UpdateIntentRequest {
        id,
        data_json: change.data.map(|d| Value::Object(d).to_string()),
        status: change.status,
        verified: change.verified,
    };
    let updated = state.agents().update_intent(request(req, &caller)).await?.into_inner();
    one(&updated.intent_json)
}

/// Delete an intent.
///
/// Needs `updateIntent`.
#[utoipa::path(delete, path = "/intent/{intentId}", tag = "intent", params(("intentId" = i64, Path)),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_intent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    require(&caller, permission::UPDATE_INTENT)?;
    state.agents().delete_intent(request(pb::IntentRef { id }, &caller)).await?;
    Ok(Success::done())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteBody {
    /// The intent, when the path does not name it.
    intent_id: Option<i64>,
    /// An agent's slug: with `ticketId`, creates the intent on the fly.
    code: Option<String>,
    ticket_id: Option<i64>,
    /// E-mail the outcome to the customer and close the ticket on success (default false).
    inform_customer: Option<bool>,
    /// Record the effects instead of applying them (default false).
    dry_run: Option<bool>,
    /// `_action` (the chosen option) and corrected parameter values.
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
    /// When given, must be the intent's contract.
    contract_id: Option<String>,
}

/// The outcome with the intent after the run beside its fields.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Executed {
    #[serde(flatten)]
    outcome: Outcome,
    intent: Intent,
}

/// Execute an intent.
///
/// Needs `executeIntent`. Without `_action` in `data` this computes the options (phase 1); with
/// it, runs the chosen one (phase 2). Running the same action of an intent twice does it once.
#[utoipa::path(post, path = "/intent/{intentId}/execute", tag = "intent", params(("intentId" = i64, Path)),
    request_body(content = Option<ExecuteBody>, description = "Optional"),
    responses((status = 200, body = Executed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn execute_intent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Json<Value>, ApiError> {
    execute(&state, &caller, Some(id), &body).await
}

/// Execute an intent named in the body.
///
/// As `POST /intent/{intentId}/execute`, with `intentId` in the body, or `code` and `ticketId`
/// to create the intent of that agent on that ticket first.
#[utoipa::path(post, path = "/intent/execute", tag = "intent", request_body = ExecuteBody,
    responses((status = 200, body = Executed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn execute_new_intent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Json<Value>, ApiError> {
    execute(&state, &caller, None, &body).await
}

async fn execute(
    state: &AppState,
    caller: &Caller,
    path_id: Option<i64>,
    body: &RawBody,
) -> Result<Json<Value>, ApiError> {
    require(caller, permission::EXECUTE_INTENT)?;
    let body: ExecuteBody = body.parse_or_default()?;
    let intent_id = match (path_id, body.intent_id) {
        (Some(path), Some(given)) if path != given => {
            return Err(ApiError::bad_request("intentId differs between path and body"));
        }
        (path, given) => path.or(given),
    };
    if intent_id.is_none() && (body.code.is_none() || body.ticket_id.is_none()) {
        return Err(ApiError::bad_request("intentId, or code with ticketId, is required"));
    }
    let req = pb::ExecuteIntentRequest {
        intent_id,
        code: body.code,
        ticket_id: body.ticket_id,
        inform_customer: body.inform_customer.unwrap_or(false),
        dry_run: body.dry_run.unwrap_or(false),
        data_json: body.data.map(|d| Value::Object(d).to_string()),
        contract_id: body.contract_id,
        reply_template: Some(reply_template(state).await?),
    };
    let ran = state.agents().execute_intent(request(req, caller)).await?.into_inner();
    let Value::Object(mut outcome) = document(&ran.outcome_json)? else {
        return Err(ApiError::internal_because("agent-svc answered an outcome that is no object"));
    };
    outcome.insert("intent".into(), document(&ran.intent_json)?);
    Ok(Json(Value::Object(outcome)))
}

/// The tenant's reply wrapper (setting `aiReplyTemplate`), read as the gateway itself: whoever
/// may execute an intent sends replies in it, whether or not they may read settings.
pub(crate) async fn reply_template(state: &AppState) -> Result<String, ApiError> {
    let caller = Caller::service(&[permission::READ_SETTINGS]);
    let req = settings::GetSettingRequest { name: "aiReplyTemplate".into(), show_secrets: false };
    let found = state.settings().get_setting(request(req, &caller)).await?.into_inner();
    let value = found.setting.map(|s| s.value_json).unwrap_or_default();
    match serde_json::from_str(&value) {
        Ok(Value::String(wrapper)) => Ok(wrapper),
        _ => Ok(MESSAGE_MARKER.into()),
    }
}

/// Where a reply goes in the wrapper (the setting's default is this alone).
const MESSAGE_MARKER: &str = "%MESSAGE%";
