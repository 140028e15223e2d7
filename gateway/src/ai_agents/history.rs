//! `/aiAgent/{id}/history…` and `/restore/{version}`: every write of an agent is a version.

use axum::extract::State;
use enneo_common::ErrorCode;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{AgentWritten, AiAgent, document, written};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, PathIds};
use crate::time::format_sql;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentVersion {
    version: i64,
    /// create, update, restore, loadDefaults, import or delete.
    action: String,
    /// The user who wrote it; 0 = the system.
    created_by: i64,
    /// `YYYY-MM-DD HH:MM:SS`.
    created_at: Option<String>,
    /// The agent as this version left it.
    #[schema(value_type = AiAgent)]
    ai_agent: Value,
}

impl AgentVersion {
    fn new(v: pb::AgentVersion) -> Result<Self, ApiError> {
        Ok(Self {
            version: v.version,
            ai_agent: document(&v.agent_json)?,
            action: v.action,
            created_by: v.created_by,
            created_at: v.created_at.as_ref().and_then(format_sql),
        })
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentHistory {
    /// Newest first.
    history: Vec<AgentVersion>,
    current_version: i64,
}

async fn fetch(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    id: i64,
) -> Result<pb::AgentHistoryResponse, ApiError> {
    Ok(state.agents().agent_history(request(pb::AgentRef { id }, caller)).await?.into_inner())
}

/// The versions of an AI agent.
#[utoipa::path(get, path = "/aiAgent/{id}/history", tag = "aiAgent", params(("id" = i64, Path)),
    responses((status = 200, body = Success<AgentHistory>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn agent_history(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<AgentHistory>, ApiError> {
    let found = fetch(&state, &caller, id).await?;
    let history = found.versions.into_iter().map(AgentVersion::new).collect::<Result<_, _>>()?;
    Ok(Success::new(AgentHistory { history, current_version: found.current_version }))
}

/// One version of an AI agent.
#[utoipa::path(get, path = "/aiAgent/{id}/history/{version}", tag = "aiAgent",
    params(("id" = i64, Path), ("version" = i64, Path)),
    responses((status = 200, body = Success<AgentVersion>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn agent_version(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(id, version): PathIds,
) -> Result<Success<AgentVersion>, ApiError> {
    let found = fetch(&state, &caller, id).await?;
    let chosen = found.versions.into_iter().find(|v| v.version == version).ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound, format!("AI agent {id} has no version {version}"))
    })?;
    Ok(Success::new(AgentVersion::new(chosen)?))
}

/// Restore a version of an AI agent.
///
/// Needs `updateAiAgent`. Writes the version's definition as a new version; the history stays.
#[utoipa::path(post, path = "/aiAgent/{id}/restore/{version}", tag = "aiAgent",
    params(("id" = i64, Path), ("version" = i64, Path)),
    responses((status = 200, body = Success<AgentWritten>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn restore_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(id, version): PathIds,
) -> Result<Success<AgentWritten>, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    let req = pb::RestoreAgentRequest { id, version };
    let restored = state.agents().restore_agent(request(req, &caller)).await?.into_inner();
    written(&restored.agent_json)
}
