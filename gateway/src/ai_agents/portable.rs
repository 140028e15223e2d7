//! Moving an agent between tenants: `GET /aiAgent/{id}/export` leaves out what is local to
//! this one, `POST /aiAgent/import` upserts by `slug`.

use axum::Json;
use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{AiAgent, agent_body, document, fetch};
use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, RawBody};

/// What identifies an agent in this tenant only.
const LOCAL: &[&str] = &["id", "createdAt", "modifiedAt", "version", "deletedAt"];

/// Export an AI agent.
///
/// The document without id, timestamps and version, ready for `POST /aiAgent/import`.
#[utoipa::path(get, path = "/aiAgent/{id}/export", tag = "aiAgent", params(("id" = i64, Path)),
    responses((status = 200, description = "An AiAgent without id, createdAt, modifiedAt, version", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn export_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let mut agent = document(&fetch(&state, &caller, id).await?)?;
    if let Value::Object(map) = &mut agent {
        map.retain(|key, _| !LOCAL.contains(&key.as_str()));
    }
    Ok(Json(agent))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Imported {
    #[schema(value_type = AiAgent)]
    ai_agent: Value,
    /// created or updated.
    action: String,
}

/// Import an AI agent.
///
/// Needs `updateAiAgent`. Updates the agent with the document's `slug`, or creates one.
#[utoipa::path(post, path = "/aiAgent/import", tag = "aiAgent",
    request_body(content = Object, description = "An exported AiAgent"),
    responses((status = 200, body = Success<Imported>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "The definition breaks referential integrity", body = ErrorBody)))]
pub async fn import_agent(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<Imported>, ApiError> {
    let agent_json = Value::Object(agent_body(&caller, &body)?).to_string();
    let imported = state
        .agents()
        .import_agent(request(pb::ImportAgentRequest { agent_json }, &caller))
        .await?
        .into_inner();
    Ok(Success::new(Imported {
        ai_agent: document(&imported.agent_json)?,
        action: imported.action,
    }))
}
