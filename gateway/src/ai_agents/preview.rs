//! Running an agent without effects: `POST /aiAgent/{id}/preview` on a ticket and
//! `POST /aiAgent/outcome` for given parameter values.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::{AiAgent, document};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::error::{ApiError, ErrorBody};
use crate::intents::Outcome;
use crate::json::{QueryParams, RawBody};

/// The `{id}` of a preview: a saved agent, or `0` / `new` for a definition not saved yet.
pub struct PreviewTarget(Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for PreviewTarget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        match raw.as_str() {
            "0" | "new" => Ok(Self(None)),
            _ => raw.parse::<i64>().ok().filter(|id| *id > 0).map(|id| Self(Some(id))).ok_or_else(
                || ApiError::bad_request(format!("{raw:?} is not a valid id, 0 or new")),
            ),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// The ticket to run on, when the body does not name it.
    ticket_id: Option<i64>,
}

/// The body of a preview: AiAgent fields to preview (merged over the saved agent, or a whole
/// unsaved definition) beside the fields below.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PreviewBody {
    /// Required here or in the query.
    ticket_id: Option<i64>,
    /// Replaces the ticket's message for this preview only.
    message: Option<String>,
    subject: Option<String>,
    sender: Option<String>,
    /// Parameter values by key; `_action` runs phase 2.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// The preview (contract §2.2 (9)).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Preview {
    success: bool,
    error: Option<String>,
    #[schema(value_type = Object)]
    data_outcome: Value,
    data_outcome_info: String,
    #[schema(value_type = Object)]
    customer_outcome: Value,
    customer_outcome_type: String,
    customer_outcome_info: String,
    #[schema(value_type = Option<Vec<Object>>)]
    curl_requests: Option<Value>,
    /// Parameter values found in the message, by key.
    #[schema(value_type = Object)]
    detected_input_parameters: Value,
    #[schema(value_type = Option<Object>)]
    executor_output: Option<Value>,
}

/// Preview an AI agent on a ticket.
///
/// Needs `updateAiAgent`. Runs the agent (saved, with the body's changes, or `0`/`new` with an
/// unsaved definition in the body) on the ticket and answers what it would do; nothing is
/// written, sent or changed.
#[utoipa::path(post, path = "/aiAgent/{id}/preview", tag = "aiAgent",
    params(("id" = String, Path, description = "An agent id, or 0 / new for an unsaved definition"), PreviewParams),
    request_body(content = Option<PreviewBody>, description = "Plus any AiAgent fields"),
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "The definition breaks referential integrity", body = ErrorBody)))]
pub async fn preview_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PreviewTarget(id): PreviewTarget,
    QueryParams(params): QueryParams<PreviewParams>,
    body: RawBody,
) -> Result<Json<Value>, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    let mut body: Map<String, Value> = body.parse_or_default()?;
    let ticket_id = match (body.remove("ticketId"), params.ticket_id) {
        (Some(given), query) => {
            let id = positive(&given)
                .ok_or_else(|| ApiError::bad_request("ticketId must be a ticket id"))?;
            if query.is_some_and(|q| q != id) {
                return Err(ApiError::bad_request("ticketId differs between query and body"));
            }
            id
        }
        (None, Some(id)) if id > 0 => id,
        (None, Some(_)) => return Err(ApiError::bad_request("ticketId must be a ticket id")),
        (None, None) => return Err(ApiError::bad_request("ticketId is required")),
    };
    let mut text = |key: &str| match body.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("{key} must be a string"))),
    };
    let (message, subject, sender) = (text("message")?, text("subject")?, text("sender")?);
    let data_json = match body.remove("data") {
        None | Some(Value::Null) => None,
        Some(data @ Value::Object(_)) => Some(data.to_string()),
        Some(_) => return Err(ApiError::bad_request("data must be an object")),
    };
    let agent_json = (!body.is_empty()).then(|| Value::Object(body).to_string());
    if id.is_none() && agent_json.is_none() {
        return Err(ApiError::bad_request("an unsaved agent (0 or new) needs its definition"));
    }
    let req =
        pb::PreviewAgentRequest { id, agent_json, ticket_id, message, subject, sender, data_json };
    let preview = state.agents().preview_agent(request(req, &caller)).await?.into_inner();
    Ok(Json(document(&preview.preview_json)?))
}

/// A positive id given as a number or a numeric string.
fn positive(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutcomeBody {
    /// A saved agent …
    ai_agent_id: Option<i64>,
    /// … or a definition (over the saved one when both are given).
    #[schema(value_type = Option<AiAgent>)]
    ai_agent: Option<Map<String, Value>>,
    /// Parameter values by key.
    #[schema(value_type = Object)]
    data: Map<String, Value>,
    /// The ticket whose variables fill the templates.
    ticket_id: Option<i64>,
}

/// Get the outcome of an AI agent.
///
/// Needs `updateAiAgent`. Evaluates the agent's response cases for the given parameter values
/// and answers the outcome they lead to; nothing is executed.
#[utoipa::path(post, path = "/aiAgent/outcome", tag = "aiAgent", request_body = OutcomeBody,
    responses((status = 200, body = Outcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "The definition breaks referential integrity", body = ErrorBody)))]
pub async fn agent_outcome(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Json<Value>, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    let body: OutcomeBody = body.parse()?;
    if body.ai_agent_id.is_none() && body.ai_agent.is_none() {
        return Err(ApiError::bad_request("aiAgentId or aiAgent is required"));
    }
    if body.ai_agent_id.is_some_and(|id| id < 1) || body.ticket_id.is_some_and(|id| id < 1) {
        return Err(ApiError::bad_request("ids must be positive"));
    }
    let req = pb::AgentOutcomeRequest {
        id: body.ai_agent_id,
        agent_json: body.ai_agent.map(|a| Value::Object(a).to_string()),
        data_json: Value::Object(body.data).to_string(),
        ticket_id: body.ticket_id,
    };
    let outcome = state.agents().agent_outcome(request(req, &caller)).await?.into_inner();
    Ok(Json(document(&outcome.outcome_json)?))
}
