//! `/aiAgent…` and `/aiAgents…` (contract §2). Agents are the vendor's AiAgent documents:
//! agent-svc stores, merges and checks them; the gateway authorises writes, shapes lists and
//! passes the documents through otherwise untouched.

mod catalogue;
mod executor;
mod history;
mod list;
mod portable;
mod preview;
mod similar;

use axum::Json;
use axum::extract::State;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, RawBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_agents))
        .routes(routes!(list::agent_tree))
        .routes(routes!(catalogue::available_defaults))
        .routes(routes!(catalogue::load_defaults))
        .routes(routes!(catalogue::samples))
        .routes(routes!(catalogue::sample))
        .routes(routes!(create_agent))
        .routes(routes!(get_agent, update_agent, delete_agent))
        .routes(routes!(similar::similar_tickets))
        .routes(routes!(preview::preview_agent))
        .routes(routes!(preview::agent_outcome))
        .routes(routes!(portable::export_agent))
        .routes(routes!(portable::import_agent))
        .routes(routes!(history::agent_history))
        .routes(routes!(history::agent_version))
        .routes(routes!(history::restore_agent))
        .routes(routes!(executor::local_execution_command))
}

/// An AI agent (contract §2.3). Open: fields not listed here are stored and returned as sent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AiAgent {
    id: i64,
    /// Portable identity: export, import and the default agents match on it.
    slug: String,
    name: String,
    description: Option<String>,
    /// The agent's topic tag.
    tag_id: Option<i64>,
    /// Ticket channels; `["all"]` is stored as every channel.
    channels: Vec<String>,
    /// rulebased, smart (neo, neo-capability are internal).
    intelligence: String,
    #[schema(value_type = Option<Object>)]
    appearance: Option<Value>,
    /// Tickets that show what the agent handles; absent until someone names some.
    example_ticket_ids: Option<Vec<i64>>,
    /// parameters, responseCases, executor, detectionDetails, personality, …
    #[schema(value_type = Object)]
    settings: Value,
    /// 1 when created, one more on every write.
    version: i64,
    created_at: String,
    modified_at: String,
}

/// A write's answer: the agent as stored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentWritten {
    #[schema(value_type = AiAgent)]
    ai_agent: Value,
}

/// A JSON document agent-svc answered with; not JSON is the service's fault, not the caller's.
pub(crate) fn document(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|_| {
        ApiError::internal_because("agent-svc answered with a document that is not JSON")
    })
}

/// The AiAgent object of a write, read once the caller may write agents.
fn agent_body(caller: &Caller, body: &RawBody) -> Result<Map<String, Value>, ApiError> {
    require(caller, permission::UPDATE_AI_AGENT)?;
    body.parse()
}

fn written(agent_json: &str) -> Result<Success<AgentWritten>, ApiError> {
    Ok(Success::new(AgentWritten { ai_agent: document(agent_json)? }))
}

/// Create an AI agent.
///
/// Needs `updateAiAgent`. `name` is required; a definition whose response cases refer to
/// parameters it lacks is refused with 422 and its `violations`; a taken `slug` is 409.
#[utoipa::path(post, path = "/aiAgent", tag = "aiAgent", request_body = AiAgent,
    responses((status = 200, body = Success<AgentWritten>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, description = "The definition breaks referential integrity", body = ErrorBody)))]
pub async fn create_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<AgentWritten>, ApiError> {
    let agent_json = Value::Object(agent_body(&caller, &body)?).to_string();
    let created = state
        .agents()
        .create_agent(request(pb::CreateAgentRequest { agent_json }, &caller))
        .await?
        .into_inner();
    written(&created.agent_json)
}

/// Get an AI agent: the document itself, without an envelope (contract §2.2 (5)).
#[utoipa::path(get, path = "/aiAgent/{id}", tag = "aiAgent", params(("id" = i64, Path)),
    responses((status = 200, body = AiAgent), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(document(&fetch(&state, &caller, id).await?)?))
}

/// The stored document of agent `id`.
async fn fetch(state: &AppState, caller: &Caller, id: i64) -> Result<String, ApiError> {
    Ok(state
        .agents()
        .get_agent(request(pb::AgentRef { id }, caller))
        .await?
        .into_inner()
        .agent_json)
}

/// Update an AI agent.
///
/// Needs `updateAiAgent`. The body is merged deeply into the stored agent: objects key by key,
/// arrays replaced whole, dotted keys taken literally. The result must keep referential
/// integrity (422 with `violations` otherwise).
#[utoipa::path(patch, path = "/aiAgent/{id}", tag = "aiAgent", params(("id" = i64, Path)),
    request_body(content = Object, description = "A partial AiAgent"),
    responses((status = 200, body = Success<AgentWritten>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, description = "The merged definition breaks referential integrity", body = ErrorBody)))]
pub async fn update_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success<AgentWritten>, ApiError> {
    let patch_json = Value::Object(agent_body(&caller, &body)?).to_string();
    let updated = state
        .agents()
        .update_agent(request(pb::UpdateAgentRequest { id, patch_json }, &caller))
        .await?
        .into_inner();
    written(&updated.agent_json)
}

/// Delete an AI agent.
///
/// Needs `updateAiAgent`. Soft: the agent stops detecting and disappears from lists; its
/// history and the intents it produced stay.
#[utoipa::path(delete, path = "/aiAgent/{id}", tag = "aiAgent", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    state.agents().delete_agent(request(pb::AgentRef { id }, &caller)).await?;
    Ok(Success::done())
}
