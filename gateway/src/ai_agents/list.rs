//! `GET /aiAgents` and `GET /aiAgents/tree`: the agents in a chosen format, flat or under the
//! tag tree.

use enneo_common::auth::Caller;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as pb;
use enneo_proto::settings::v1 as settings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{AiAgent, document};
use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{QueryParams, page};
use crate::tags;
use axum::extract::State;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Default 100, 1 to 1000.
    limit: Option<i64>,
    offset: Option<i64>,
    /// short (`{id, name, tagId}`), medium (adds description, appearance, channels, slug,
    /// intelligence and the timestamps) or full (the whole document, default).
    format: Option<String>,
    /// Full text over name and description.
    q: Option<String>,
    /// rulebased or smart; neo and neo-capability only when asked for.
    intelligence: Option<String>,
    /// Only agents serving this ticket channel.
    channel: Option<String>,
    /// Accepted and ignored, as by Enneo.
    #[allow(dead_code)]
    category_filter: Option<String>,
    /// Accepted and ignored, as by Enneo.
    #[allow(dead_code)]
    type_filter: Option<String>,
    /// Accepted and ignored, as by Enneo.
    #[allow(dead_code)]
    assignment_filter: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentList {
    /// In the requested format.
    #[schema(value_type = Vec<AiAgent>)]
    ai_agents: Vec<Value>,
    /// All matches, beyond this page.
    total: i64,
}

/// The keys of an agent in each format but `full` (the whole document).
const SHORT: &[&str] = &["id", "name", "tagId"];
const MEDIUM: &[&str] = &[
    "id",
    "name",
    "tagId",
    "description",
    "appearance",
    "channels",
    "createdAt",
    "modifiedAt",
    "slug",
    "intelligence",
];

/// An agent in `format` (already validated).
fn view(agent: Value, format: &str) -> Value {
    let keys = match format {
        "short" | "compact" => SHORT,
        "medium" => MEDIUM,
        _ => return agent,
    };
    let picked: Map<String, Value> = keys
        .iter()
        .map(|k| ((*k).to_owned(), agent.get(*k).cloned().unwrap_or(Value::Null)))
        .collect();
    Value::Object(picked)
}

/// One page of agent documents and the number of all matches.
async fn fetch(
    state: &AppState,
    caller: &Caller,
    p: ListParams,
) -> Result<(Vec<Value>, i64), ApiError> {
    let (limit, offset) = page(p.limit, p.offset, 100, 1000)?;
    let req = pb::ListAgentsRequest {
        q: p.q.filter(|q| !q.trim().is_empty()),
        intelligence: p.intelligence,
        channel: p.channel,
        limit,
        offset,
    };
    let found = state.agents().list_agents(request(req, caller)).await?.into_inner();
    let agents = found.agents_json.iter().map(|a| document(a)).collect::<Result<_, _>>()?;
    Ok((agents, found.total))
}

/// List AI agents.
///
/// Agents bound to a tag the caller cannot see are left out.
#[utoipa::path(get, path = "/aiAgents", tag = "aiAgent", params(ListParams),
    responses((status = 200, body = Success<AgentList>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_agents(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<AgentList>, ApiError> {
    let format = tags::format_of(p.format.clone())?;
    let (agents, total) = fetch(&state, &caller, p).await?;
    let ai_agents = agents.into_iter().map(|a| view(a, &format)).collect();
    Ok(Success::new(AgentList { ai_agents, total }))
}

/// A node of the agent tree: a tag (short form) with its agents and child tags. The root is
/// `{id: null, name: "root"}` and holds the agents of no (visible) tag.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgentTagNode {
    id: Option<i64>,
    name: String,
    #[schema(value_type = Vec<AiAgent>)]
    ai_agents: Vec<Value>,
    /// Nodes of the child tags, alike.
    #[schema(value_type = Vec<Object>)]
    children: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentTree {
    #[schema(value_type = AgentTagNode)]
    ai_agents_tree: Value,
}

/// AI agents under the tag tree.
#[utoipa::path(get, path = "/aiAgents/tree", tag = "aiAgent", params(ListParams),
    responses((status = 200, body = Success<AgentTree>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn agent_tree(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<AgentTree>, ApiError> {
    let format = tags::format_of(p.format.clone())?;
    let (agents, _) = fetch(&state, &caller, p).await?;
    let tags = tags::fetch(&state, &caller, settings::ListTagsRequest::default()).await?;
    let tag_of = |agent: &Value| agent.get("tagId").and_then(Value::as_i64);
    let agents_of = |tag: Option<i64>| -> Vec<Value> {
        agents
            .iter()
            .filter(|a| match tag {
                Some(tag) => tag_of(a) == Some(tag),
                None => tag_of(a).is_none_or(|t| !tags.iter().any(|tag| tag.id == t)),
            })
            .map(|a| view(a.clone(), &format))
            .collect()
    };
    let children = tags::forest(&tags, &|t| {
        let mut node = tags::view(t, "short");
        node["aiAgents"] = Value::Array(agents_of(Some(t.id)));
        node
    });
    let root =
        json!({"id": null, "name": "root", "aiAgents": agents_of(None), "children": children});
    Ok(Success::new(AgentTree { ai_agents_tree: root }))
}
