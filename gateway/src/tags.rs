//! `/tag…` (contract §6.1). Tags change through `POST /settings` with `_tag[{id}].{prop}`.

use axum::Json;
use axum::extract::State;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{JsonBody, PathId, QueryParams};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(tag_tree))
        .routes(routes!(get_tag, delete_tag))
}

/// A tag (contract §6.1 Tag schema). `assignment` is derived, for display.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TagView {
    id: i64,
    name: String,
    /// "Second Level: Complaint".
    full_name: String,
    parent: Option<i64>,
    reference: String,
    r#type: String,
    visibility: String,
    color: String,
    properties: Vec<String>,
    complexity: Option<String>,
    /// Hours in business time; null = no SLA.
    sla: Option<i32>,
    priority: String,
    channels: Vec<String>,
    subchannels: Vec<i64>,
    #[schema(value_type = Object)]
    detection_details: Value,
    assignment: Vec<String>,
    routing_relevance: bool,
    #[schema(value_type = Object)]
    test_case: Value,
    modified_by: Option<i64>,
    modified_at: String,
}

pub(crate) fn view(t: &pb::Tag, format: &str) -> Value {
    let detection: Value = serde_json::from_str(&t.detection_details_json).unwrap_or(json!({}));
    let mut assignment = Vec::new();
    if !t.channels.is_empty() {
        assignment.push("assignByChannel");
    }
    if !t.subchannels.is_empty() {
        assignment.push("assignBySubchannel");
    }
    match detection.get("type").and_then(Value::as_str) {
        Some("aiDetection") => assignment.push("assignByAI"),
        Some("conditionDetection") => assignment.push("assignByTicketProperty"),
        Some("aiAndConditionDetection" | "aiOrConditionDetection") => {
            assignment.extend(["assignByAI", "assignByTicketProperty"]);
        }
        Some("customLogic") => assignment.push("assignByCustomLogic"),
        _ => {}
    }
    let short = json!({"id": t.id, "name": t.name, "fullName": t.full_name, "parent": t.parent,
        "type": t.r#type, "color": t.color});
    if matches!(format, "short" | "compact") {
        return short;
    }
    let mut full = json!({"id": t.id, "name": t.name, "fullName": t.full_name, "parent": t.parent,
        "reference": t.reference, "type": t.r#type, "visibility": t.visibility, "color": t.color,
        "priority": t.priority, "sla": t.sla, "channels": t.channels});
    if format == "medium" {
        return full;
    }
    let extra = json!({"properties": t.properties, "complexity": t.complexity, "subchannels": t.subchannels,
        "detectionDetails": detection, "assignment": assignment, "routingRelevance": t.routing_relevance,
        "testCase": serde_json::from_str::<Value>(&t.test_case_json).unwrap_or(json!({})),
        "modifiedBy": t.modified_by, "modifiedAt": t.modified_at});
    if let (Value::Object(full), Value::Object(extra)) = (&mut full, extra) {
        full.extend(extra);
    }
    full
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Searches name and full name.
    q: Option<String>,
    /// skill, product, brand, customerProperty, contractProperty, other.
    r#type: Option<String>,
    /// Include disabled tags (and tags under disabled parents).
    include_disabled: Option<bool>,
    /// short (= compact), medium or full (default).
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TagList {
    /// In the requested format.
    #[schema(value_type = Vec<TagView>)]
    tags: Vec<Value>,
}

pub(crate) async fn fetch(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    req: pb::ListTagsRequest,
) -> Result<Vec<pb::Tag>, ApiError> {
    Ok(state.settings().list_tags(request(req, caller)).await?.into_inner().tags)
}

pub(crate) fn format_of(format: Option<String>) -> Result<String, ApiError> {
    let format = format.unwrap_or_else(|| "full".into());
    match format.as_str() {
        "short" | "compact" | "medium" | "full" => Ok(format),
        other => Err(ApiError::bad_request(format!(
            "format must be short, medium or full, got {other:?}"
        ))),
    }
}

/// List tags.
#[utoipa::path(get, path = "/tag", tag = "tag", params(ListParams),
    responses((status = 200, body = Success<TagList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_tags(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<TagList>, ApiError> {
    let format = format_of(p.format)?;
    let req = pb::ListTagsRequest {
        q: p.q,
        r#type: p.r#type,
        include_disabled: p.include_disabled.unwrap_or(false),
        id: None,
    };
    let tags: Vec<Value> =
        fetch(&state, &caller, req).await?.iter().map(|t| view(t, &format)).collect();
    Ok(Success::new(TagList { tags }))
}

/// Tags as a tree: a bare array of roots, each with its `children`.
#[utoipa::path(get, path = "/tag/tree", tag = "tag", params(ListParams),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn tag_tree(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let format = format_of(p.format)?;
    let req = pb::ListTagsRequest {
        q: None,
        r#type: p.r#type,
        include_disabled: p.include_disabled.unwrap_or(false),
        id: None,
    };
    let tags = fetch(&state, &caller, req).await?;
    Ok(Json(forest(&tags, &|t| view(t, &format))))
}

/// The roots of `tags`, each rendered by `node` with its `children` below it.
pub(crate) fn forest(tags: &[pb::Tag], node: &dyn Fn(&pb::Tag) -> Value) -> Vec<Value> {
    fn children(
        parent: Option<i64>,
        tags: &[pb::Tag],
        node: &dyn Fn(&pb::Tag) -> Value,
        depth: usize,
    ) -> Vec<Value> {
        let present = |id: i64| tags.iter().any(|t| t.id == id);
        tags.iter()
            // A tag whose parent is filtered out becomes a root.
            .filter(|t| match parent {
                None => t.parent.is_none_or(|p| !present(p)),
                Some(p) => t.parent == Some(p),
            })
            .map(|t| {
                let mut rendered = node(t);
                let below = if depth < 32 {
                    children(Some(t.id), tags, node, depth + 1)
                } else {
                    Vec::new()
                };
                rendered["children"] = Value::Array(below);
                rendered
            })
            .collect()
    }
    children(None, tags, node, 0)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTag {
    name: String,
    /// ticket (default), contract, customer.
    reference: Option<String>,
    /// skill, product, brand, customerProperty, contractProperty, other.
    r#type: String,
    parent: Option<i64>,
    /// Default: the path of names, "Parent: Child".
    full_name: Option<String>,
    /// public (default), private, disabled.
    visibility: Option<String>,
    color: Option<String>,
    /// Hours; default 8.
    sla: Option<i32>,
    priority: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TagCreated {
    id: i64,
}

/// Create a tag (needs `updateClientSettings`).
#[utoipa::path(post, path = "/tag", tag = "tag", request_body = NewTag,
    responses((status = 200, body = Success<TagCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "Unknown parent", body = ErrorBody)))]
pub async fn create_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<NewTag>,
) -> Result<Success<TagCreated>, ApiError> {
    let req = pb::CreateTagRequest {
        name: body.name,
        reference: body.reference.unwrap_or_default(),
        r#type: body.r#type,
        parent: body.parent,
        full_name: body.full_name,
        visibility: body.visibility,
        color: body.color,
        sla: body.sla,
        priority: body.priority,
    };
    let created = state.settings().create_tag(request(req, &caller)).await?.into_inner();
    Ok(Success::new(TagCreated { id: created.id }))
}

/// One tag; 404 also for disabled ones.
#[utoipa::path(get, path = "/tag/{id}", tag = "tag", params(("id" = i64, Path)),
    responses((status = 200, body = Success<TagView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let req = pb::ListTagsRequest { id: Some(id), ..Default::default() };
    let tags = fetch(&state, &caller, req).await?;
    let mut tag = tags
        .first()
        .map(|t| view(t, "full"))
        .ok_or_else(|| ApiError::new(enneo_common::ErrorCode::NotFound, "tag not found"))?;
    // Among the tag's own keys, as the contract lists them (not first, as `Success` puts it).
    tag["success"] = Value::Bool(true);
    Ok(Json(tag))
}

/// Delete a tag without child tags (409 otherwise).
#[utoipa::path(delete, path = "/tag/{id}", tag = "tag", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.settings().delete_tag(request(pb::DeleteRequest { id }, &caller)).await?;
    Ok(Success::done())
}
