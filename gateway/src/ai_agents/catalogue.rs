//! What Enneo ships: the default agents (`/aiAgents/availableDefaults`, `/loadDefaults`) and
//! the sample library (`/aiAgents/samples`).

use axum::Json;
use axum::extract::{Path, State};
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{AiAgent, document};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::RawBody;

#[derive(Serialize, ToSchema)]
pub struct DefaultAgent {
    name: String,
    slug: String,
    description: String,
    intelligence: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailableDefaults {
    available_ai_agents: Vec<DefaultAgent>,
}

/// The default agents Enneo ships, to load with `POST /aiAgents/loadDefaults`.
#[utoipa::path(get, path = "/aiAgents/availableDefaults", tag = "aiAgent",
    responses((status = 200, body = Success<AvailableDefaults>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn available_defaults(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<AvailableDefaults>, ApiError> {
    let defaults = state
        .agents()
        .available_defaults(request(pb::AvailableDefaultsRequest {}, &caller))
        .await?
        .into_inner();
    let available_ai_agents = defaults
        .agents
        .into_iter()
        .map(|a| DefaultAgent {
            name: a.name,
            slug: a.slug,
            description: a.description,
            intelligence: a.intelligence,
        })
        .collect();
    Ok(Success::new(AvailableDefaults { available_ai_agents }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadDefaults {
    /// Only these; absent or empty: every default agent.
    #[serde(default)]
    slugs: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadedDefaults {
    /// The loaded agents as now stored.
    #[schema(value_type = Vec<AiAgent>)]
    ai_agents: Vec<Value>,
    created: i32,
    /// Existing agents with a default's slug, overwritten.
    updated: i32,
}

/// Load the default agents.
///
/// Needs `updateAiAgent`. Upserts by `slug`: an agent with a default's slug is overwritten
/// (keeping its id), the others are created.
#[utoipa::path(post, path = "/aiAgents/loadDefaults", tag = "aiAgent",
    request_body(content = Option<LoadDefaults>, description = "Optional"),
    responses((status = 200, body = Success<LoadedDefaults>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn load_defaults(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<LoadedDefaults>, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    let LoadDefaults { slugs } = body.parse_or_default()?;
    let loaded = state
        .agents()
        .load_defaults(request(pb::LoadDefaultsRequest { slugs }, &caller))
        .await?
        .into_inner();
    Ok(Success::new(LoadedDefaults {
        ai_agents: loaded.agents_json.iter().map(|a| document(a)).collect::<Result<_, _>>()?,
        created: loaded.created,
        updated: loaded.updated,
    }))
}

/// A sample agent: `{id, name, description, category, includedInSeeds, definition}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Sample {
    id: i64,
    name: String,
    description: String,
    category: String,
    /// Whether the default agents include it.
    included_in_seeds: bool,
    /// An AiAgent without id, ready for `POST /aiAgent`.
    #[schema(value_type = Object)]
    definition: Value,
}

async fn fetch_samples(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    id: Option<String>,
) -> Result<Vec<Value>, ApiError> {
    let found = state.agents().list_samples(request(pb::ListSamplesRequest { id }, caller)).await?;
    found.into_inner().samples_json.iter().map(|s| document(s)).collect()
}

/// The sample agent library: a bare array.
#[utoipa::path(get, path = "/aiAgents/samples", tag = "aiAgent",
    responses((status = 200, body = Vec<Sample>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn samples(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<Value>>, ApiError> {
    Ok(Json(fetch_samples(&state, &caller, None).await?))
}

/// One sample agent.
#[utoipa::path(get, path = "/aiAgents/samples/{id}", tag = "aiAgent", params(("id" = String, Path)),
    responses((status = 200, body = Sample), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn sample(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::new(enneo_common::ErrorCode::NotFound, "sample not found");
    fetch_samples(&state, &caller, Some(id))
        .await?
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(not_found)
}
