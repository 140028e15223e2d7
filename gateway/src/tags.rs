//! `/tag…` (contract §6.1). Tags change through `POST /settings` with `_tag[{id}].{prop}`;
//! `POST /tag/{id}/detect` runs a tag's detection on a ticket in agent-svc, which judges agents'
//! detection the same way.

use axum::Json;
use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::agent::v1 as agent_pb;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(tag_tree))
        .routes(routes!(get_tag, delete_tag))
        .routes(routes!(detect_tag))
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
    if format == "detection" {
        return json!({"id": t.id, "name": t.name, "fullName": t.full_name, "parent": t.parent,
            "type": t.r#type, "visibility": t.visibility, "channels": t.channels,
            "subchannels": t.subchannels, "customerNeeded": detection.get("customerNeeded")
                .and_then(Value::as_bool).unwrap_or(true),
            "detectionDetails": detection, "assignment": assignment});
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
    /// short (= compact), medium, full (default), or detection: what decides whether the
    /// tag is detected (scope and `detectionDetails`).
    format: Option<String>,
    /// Not supported (400): list with `format=detection` and filter on
    /// `detectionDetails.type`.
    detection_filter: Option<String>,
}

impl ListParams {
    /// The format asked for; refuses what the list does not support.
    fn format(&self) -> Result<String, ApiError> {
        if self.detection_filter.is_some() {
            return Err(ApiError::bad_request(
                "detectionFilter is not supported; list with format=detection and filter on \
                 detectionDetails.type",
            ));
        }
        match self.format.as_deref() {
            Some("detection") => Ok("detection".into()),
            _ => format_of(self.format.clone()),
        }
    }
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
            "format must be short, medium, full or (tags only) detection, got {other:?}"
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
    let format = p.format()?;
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
    let format = p.format()?;
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
    /// How the tag is detected (the newer docs require it; default `{}`, assigned by hand):
    /// `{type, customerNeeded, aiDetection: {detectionPrompt, examples, ...}, conditions,
    /// parameters}` as for AI agents. Malformed: 400; an operand naming no parameter: 422.
    #[schema(value_type = Option<Object>)]
    detection_details: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct TagCreated {
    id: i64,
}

/// Create a tag (needs `updateClientSettings`, checked before the body).
#[utoipa::path(post, path = "/tag", tag = "tag", request_body = NewTag,
    responses((status = 200, body = Success<TagCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "Unknown parent", body = ErrorBody),
        (status = 422, description = "detectionDetails refers to parameters it lacks", body = ErrorBody)))]
pub async fn create_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<TagCreated>, ApiError> {
    require(&caller, permission::UPDATE_CLIENT_SETTINGS)?;
    let body: NewTag = body.parse()?;
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
        detection_details_json: body.detection_details.map(|d| d.to_string()),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DetectRequest {
    ticket_id: i64,
    /// Tag ids the ticket is evaluated as carrying instead of its own (conditions on tags).
    test_tags: Option<Vec<i64>>,
    /// Parameter values by key; they win over what the ticket says.
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct DetectionAlert {
    /// notMatched, unknownParameter, channelNotServed, subchannelNotServed, customerNeeded,
    /// notDetected, noConditions, noDetectionPrompt, aiNotMatched, aiUnavailable, ...
    code: String,
    message: String,
    /// The parameter a failing operand compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    operand: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Detected {
    /// Whether detection would assign the tag to the ticket.
    r#match: bool,
    /// Why it did not, and what it had to do without (e.g. the embeddings server).
    alerts: Vec<DetectionAlert>,
    /// AI detection's confidence (0 to 1), when it ran.
    ai_confidence: Option<f32>,
}

/// Dry-run a tag's detection on a ticket (needs `updateAiAgent`, checked before the body).
///
/// The tag's channels and subchannels scope it, then `customerNeeded` (default true), then its
/// `detectionDetails.type`: conditions over its parameters, AI detection against its prompt and
/// examples, or both. Nothing is written. When AI detection cannot run, an alert says so.
#[utoipa::path(post, path = "/tag/{id}/detect", tag = "tag", params(("id" = i64, Path)),
    request_body = DetectRequest,
    responses((status = 200, body = Success<Detected>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "Unknown tag or ticket", body = ErrorBody)))]
pub async fn detect_tag(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success<Detected>, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    let body: DetectRequest = body.parse()?;
    if body.ticket_id <= 0 {
        return Err(ApiError::bad_request("ticketId must be a ticket id"));
    }
    if body.test_tags.as_ref().is_some_and(|t| t.iter().any(|id| *id <= 0)) {
        return Err(ApiError::bad_request("testTags must be tag ids"));
    }
    // A disabled tag is still detected (it is only hidden), so it can be tried too.
    let req = pb::ListTagsRequest { id: Some(id), include_disabled: true, ..Default::default() };
    let tag = fetch(&state, &caller, req)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::new(enneo_common::ErrorCode::NotFound, "tag not found"))?;
    let req = agent_pb::EvaluateDetectionRequest {
        ticket_id: body.ticket_id,
        detection_details_json: tag.detection_details_json,
        channels: tag.channels,
        subchannels: tag.subchannels,
        test_tags: body.test_tags.map(|ids| agent_pb::TestTags { ids }),
        data_json: body.data.map(|d| Value::Object(d).to_string()),
    };
    let verdict = state.agents().evaluate_detection(request(req, &caller)).await?.into_inner();
    Ok(Success::new(Detected {
        r#match: verdict.matched,
        alerts: verdict
            .alerts
            .into_iter()
            .map(|a| DetectionAlert { code: a.code, message: a.message, operand: a.operand })
            .collect(),
        ai_confidence: verdict.ai_confidence,
    }))
}
