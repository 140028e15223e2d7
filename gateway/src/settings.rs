//! `/settings…` (contract §5): the tenant's settings, subchannels and user-defined functions.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{delete, get};
use enneo_common::auth::Caller;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{JsonBody, PathId, QueryParams, query_pairs};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/settings", get(list_settings).post(update_settings))
        .route("/settings/compact", get(compact_settings))
        .route("/settings/search", get(search_settings))
        .route("/settings/category/{category}", get(category_settings))
        .route("/settings/subchannel", get(list_subchannels).post(add_subchannel))
        .route("/settings/subchannel/{id}", delete(delete_subchannel))
        .route("/settings/user-defined-function", get(list_udfs).post(add_udf))
        .route("/settings/user-defined-function/{id}", delete(delete_udf))
        .route("/settings/{name}", get(get_setting).put(put_setting))
}

/// A setting with its definition.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    name: String,
    /// Credentials read `********` unless `showSecrets=true` and you hold `readSecretSettings`.
    #[schema(value_type = Object)]
    value: Value,
    category: String,
    /// boolean, number, string, enum, multiselect, json, list, secret.
    r#type: String,
    description: String,
    used_by: Vec<String>,
    read_permissions: Vec<String>,
    is_secret: bool,
    #[schema(value_type = Object)]
    default: Value,
    /// The values an enum setting accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    options: Vec<String>,
    /// True while no value was ever set.
    is_default: bool,
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl From<pb::Setting> for SettingView {
    fn from(s: pb::Setting) -> Self {
        Self {
            value: json_of(&s.value_json),
            default: json_of(&s.default_json),
            name: s.name,
            category: s.category,
            r#type: s.r#type,
            description: s.description,
            used_by: s.used_by,
            read_permissions: s.read_permissions,
            is_secret: s.secret,
            options: s.options,
            is_default: s.is_default,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    filter_by_name: Option<String>,
    filter_by_category: Option<String>,
    /// fe, mind, cortex, acd, ioProxy, auth.
    filter_by_used_by: Option<String>,
    /// Credentials in clear; honoured only with `readSecretSettings`.
    show_secrets: Option<bool>,
}

async fn list(
    state: &AppState,
    caller: &Caller,
    req: pb::ListSettingsRequest,
) -> Result<Vec<SettingView>, ApiError> {
    let listed = state.settings().list_settings(request(req, caller)).await?.into_inner();
    Ok(listed.settings.into_iter().map(Into::into).collect())
}

/// Get settings of a client.
#[utoipa::path(get, path = "/api/mind/settings", tag = "settings", params(ListParams),
    responses((status = 200, body = Vec<SettingView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Json<Vec<SettingView>>, ApiError> {
    let req = pb::ListSettingsRequest {
        name: p.filter_by_name,
        category: p.filter_by_category,
        used_by: p.filter_by_used_by,
        query: None,
        show_secrets: p.show_secrets.unwrap_or(false),
    };
    Ok(Json(list(&state, &caller, req).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SecretsParam {
    show_secrets: Option<bool>,
}

/// Get settings of a client in a compact form: `{name: value}`.
#[utoipa::path(get, path = "/api/mind/settings/compact", tag = "settings", params(SecretsParam),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody)))]
pub async fn compact_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<SecretsParam>,
) -> Result<Json<BTreeMap<String, Value>>, ApiError> {
    let req = pb::ListSettingsRequest {
        show_secrets: p.show_secrets.unwrap_or(false),
        ..Default::default()
    };
    Ok(Json(list(&state, &caller, req).await?.into_iter().map(|s| (s.name, s.value)).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Matches name, description and category.
    q: String,
}

/// Search settings.
#[utoipa::path(get, path = "/api/mind/settings/search", tag = "settings", params(SearchParams),
    responses((status = 200, body = Vec<SettingView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn search_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<SearchParams>,
) -> Result<Json<Vec<SettingView>>, ApiError> {
    let q = p.q.trim();
    if q.is_empty() {
        return Err(ApiError::bad_request("q is required"));
    }
    let req = pb::ListSettingsRequest { query: Some(q.to_owned()), ..Default::default() };
    Ok(Json(list(&state, &caller, req).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Group {
    name: String,
    /// Settings, or for an object category its properties as `_kind[id].prop` pseudo-settings.
    #[schema(value_type = Vec<Object>)]
    settings: Vec<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    groups: Vec<Group>,
}

/// An object's properties as pseudo-settings named like the keys that write them.
fn properties(kind: &str, id: i64, props: Vec<(&str, Value)>) -> Vec<Value> {
    props
        .into_iter()
        .map(|(prop, value)| serde_json::json!({"name": format!("_{kind}[{id}].{prop}"), "value": value}))
        .collect()
}

/// Get settings of a client, grouped, for a category.
///
/// Plain categories (`routing`, `ai-agents`, …) or one object: `mailbox_{id}`, `chatbot_{id}`,
/// `phonebot_{id}`, `letter_{id}` (subchannels), `tag_{id}` and `user-defined-function_{id}`.
#[utoipa::path(get, path = "/api/mind/settings/category/{category}", tag = "settings",
    params(("category" = String, Path), SecretsParam),
    responses((status = 200, body = Success<CategoryResponse>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn category_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(category): Path<String>,
    QueryParams(p): QueryParams<SecretsParam>,
) -> Result<Success<CategoryResponse>, ApiError> {
    let show_secrets = p.show_secrets.unwrap_or(false);
    let not_found = || {
        ApiError::new(enneo_common::ErrorCode::NotFound, format!("category {category} not found"))
    };
    let object =
        category.rsplit_once('_').and_then(|(kind, id)| Some((kind, id.parse::<i64>().ok()?)));
    let settings = match object {
        Some((kind @ ("mailbox" | "chatbot" | "phonebot" | "letter"), id)) => {
            let channel = match kind {
                "mailbox" => "email",
                "chatbot" => "chat",
                "phonebot" => "phone",
                _ => "letter",
            };
            let listed = state
                .settings()
                .list_subchannels(request(
                    pb::ListSubchannelsRequest {
                        channels: vec![channel.into()],
                        id: Some(id),
                        show_secrets,
                    },
                    &caller,
                ))
                .await?
                .into_inner();
            let s = listed.subchannels.into_iter().next().ok_or_else(not_found)?;
            let mut props =
                vec![("name", Value::String(s.name)), ("status", Value::String(s.status))];
            let config = json_of(&s.config_json);
            if let Value::Object(config) = &config {
                props.extend(config.iter().map(|(k, v)| (k.as_str(), v.clone())));
            }
            properties("subchannel", id, props)
        }
        Some(("tag", id)) => {
            let req = pb::ListTagsRequest { id: Some(id), ..Default::default() };
            let listed = state.settings().list_tags(request(req, &caller)).await?.into_inner();
            let tag = listed.tags.first().ok_or_else(not_found)?;
            let Value::Object(fields) = crate::tags::view(tag, "full") else {
                return Err(not_found());
            };
            // The writable properties, named like the `_tag[id].prop` keys that change them.
            let writable = [
                "name",
                "fullName",
                "parent",
                "type",
                "visibility",
                "color",
                "priority",
                "sla",
                "complexity",
                "channels",
                "subchannels",
                "properties",
                "routingRelevance",
                "detectionDetails",
                "testCase",
            ];
            let props = writable
                .iter()
                .map(|k| (*k, fields.get(*k).cloned().unwrap_or(Value::Null)))
                .collect();
            properties("tag", id, props)
        }
        Some(("user-defined-function", id)) => {
            let listed = state
                .settings()
                .list_udfs(request(pb::ListUdfsRequest { filter: None }, &caller))
                .await?
                .into_inner();
            let u = listed.udfs.into_iter().find(|u| u.id == id).ok_or_else(not_found)?;
            properties(
                "user-defined-function",
                id,
                vec![
                    ("name", Value::String(u.name)),
                    ("slug", Value::String(u.slug)),
                    ("description", u.description.map(Value::String).unwrap_or(Value::Null)),
                    ("parameters", json_of(&u.parameters_json)),
                    ("udfExecutor", u.executor_json.as_deref().map(json_of).unwrap_or(Value::Null)),
                    ("isPrivate", Value::Bool(u.is_private)),
                    ("async", Value::Bool(u.r#async)),
                ],
            )
        }
        _ => {
            let req = pb::ListSettingsRequest {
                category: Some(category.clone()),
                show_secrets,
                ..Default::default()
            };
            let settings = list(&state, &caller, req).await?;
            if settings.is_empty() {
                return Err(not_found());
            }
            settings
                .into_iter()
                .map(|s| serde_json::to_value(s).expect("a setting serialises"))
                .collect()
        }
    };
    Ok(Success::new(CategoryResponse { groups: vec![Group { name: category, settings }] }))
}

/// One setting (404 if unknown).
#[utoipa::path(get, path = "/api/mind/settings/{name}", tag = "settings", params(("name" = String, Path), SecretsParam),
    responses((status = 200, body = SettingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_setting(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    QueryParams(p): QueryParams<SecretsParam>,
) -> Result<Json<SettingView>, ApiError> {
    let req = pb::GetSettingRequest { name, show_secrets: p.show_secrets.unwrap_or(false) };
    let found = state.settings().get_setting(request(req, &caller)).await?.into_inner();
    Ok(Json(found.setting.map(Into::into).ok_or_else(ApiError::internal)?))
}

/// Update a setting. The body is the raw JSON value (`"text"`, `42`, `{…}`), not `{value}`.
#[utoipa::path(put, path = "/api/mind/settings/{name}", tag = "settings", params(("name" = String, Path)),
    request_body(content = Object, description = "The new value"),
    responses((status = 200, body = SettingView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_setting(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<SettingView>, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body must be a JSON value: {e}")))?;
    let req = pb::PutSettingRequest { name, value_json: value.to_string() };
    let saved = state.settings().put_setting(request(req, &caller)).await?.into_inner();
    Ok(Json(saved.setting.map(Into::into).ok_or_else(ApiError::internal)?))
}

#[derive(Serialize, ToSchema)]
pub struct KeyResult {
    key: String,
    applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `success` means accepted; `results` says per key what was applied and why not.
#[derive(Serialize, ToSchema)]
pub struct UpdateResponse {
    results: Vec<KeyResult>,
}

/// Update multiple settings at once.
///
/// `{name: value, …}`; keys may also address objects: `_subchannel[{id}].{prop}`,
/// `_user-defined-function[{id}].{prop}`. Each key is checked (permission, type) and applied
/// on its own, so a batch may partly apply.
#[utoipa::path(post, path = "/api/mind/settings", tag = "settings",
    request_body(content = Object, description = "{settingName: value}"),
    responses((status = 200, body = Success<UpdateResponse>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn update_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<Success<UpdateResponse>, ApiError> {
    let Value::Object(values) = body else {
        return Err(ApiError::bad_request("the body must be an object {settingName: value}"));
    };
    if values.is_empty() {
        return Err(ApiError::bad_request("name at least one setting"));
    }
    let values: HashMap<String, String> =
        values.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    let outcome = state
        .settings()
        .update_settings(request(pb::UpdateSettingsRequest { values }, &caller))
        .await?
        .into_inner();
    let results = outcome
        .outcomes
        .into_iter()
        .map(|o| KeyResult {
            key: o.key,
            applied: o.applied,
            code: (!o.applied).then_some(o.code),
            error: (!o.applied).then_some(o.error),
        })
        .collect();
    Ok(Success::new(UpdateResponse { results }))
}

#[derive(Serialize, ToSchema)]
pub struct SubchannelView {
    id: i64,
    name: String,
    /// email, chat, phone, letter, portal.
    channel: String,
    /// active or inactive.
    status: String,
    /// Channel configuration; credentials masked unless `showSecrets=true` with permission.
    #[schema(value_type = Object)]
    config: Value,
}

impl From<pb::Subchannel> for SubchannelView {
    fn from(s: pb::Subchannel) -> Self {
        Self {
            config: json_of(&s.config_json),
            id: s.id,
            name: s.name,
            channel: s.channel,
            status: s.status,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubchannelList {
    subchannels: Vec<SubchannelView>,
}

/// Query: `channels[]=email&channels[]=chat` (or `channels=email,chat`), `id`, `showSecrets`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SubchannelParams {
    channels: Option<Vec<String>>,
    id: Option<i64>,
    show_secrets: Option<bool>,
}

/// Get subchannels.
#[utoipa::path(get, path = "/api/mind/settings/subchannel", tag = "settings", params(SubchannelParams),
    responses((status = 200, body = Success<SubchannelList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_subchannels(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(query): RawQuery,
) -> Result<Success<SubchannelList>, ApiError> {
    let mut req = pb::ListSubchannelsRequest::default();
    for (key, value) in query_pairs(query.as_deref().unwrap_or("")) {
        match key.trim_end_matches("[]") {
            "channels" | "channel" => {
                req.channels.extend(value.split(',').filter(|c| !c.is_empty()).map(str::to_owned))
            }
            "id" => {
                req.id = Some(
                    value.parse().map_err(|_| ApiError::bad_request("id must be an integer"))?,
                )
            }
            "showSecrets" => req.show_secrets = value == "true",
            other => return Err(ApiError::bad_request(format!("unknown query parameter {other}"))),
        }
    }
    let listed = state.settings().list_subchannels(request(req, &caller)).await?.into_inner();
    Ok(Success::new(SubchannelList {
        subchannels: listed.subchannels.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubchannel {
    name: String,
    /// email, chat, phone (or voice), letter, portal.
    channel: String,
    /// active (default) or inactive.
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubchannelCreated {
    subchannel: SubchannelView,
}

/// Add a new subchannel (needs `updateClientSettings`).
#[utoipa::path(post, path = "/api/mind/settings/subchannel", tag = "settings", request_body = NewSubchannel,
    responses((status = 200, body = Success<SubchannelCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_subchannel(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<NewSubchannel>,
) -> Result<Success<SubchannelCreated>, ApiError> {
    let req = pb::AddSubchannelRequest {
        name: body.name,
        channel: body.channel,
        status: body.status.unwrap_or_default(),
    };
    let created = state.settings().add_subchannel(request(req, &caller)).await?.into_inner();
    Ok(Success::new(SubchannelCreated { subchannel: created.into() }))
}

/// Delete a subchannel.
#[utoipa::path(delete, path = "/api/mind/settings/subchannel/{id}", tag = "settings", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_subchannel(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.settings().delete_subchannel(request(pb::DeleteRequest { id }, &caller)).await?;
    Ok(Success::done())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UdfView {
    id: i64,
    name: String,
    /// The name a smart agent calls a `tool` by.
    slug: String,
    /// udf or tool.
    udf_type: String,
    description: Option<String>,
    #[schema(value_type = Vec<Object>)]
    parameters: Value,
    /// `{type, language, code, packages?}`; left out without `updateAiAgent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    udf_executor: Option<Value>,
    /// New functions are private: callable by administrators only.
    is_private: bool,
    r#async: bool,
}

impl From<pb::Udf> for UdfView {
    fn from(u: pb::Udf) -> Self {
        Self {
            parameters: json_of(&u.parameters_json),
            udf_executor: u.executor_json.as_deref().map(json_of),
            id: u.id,
            name: u.name,
            slug: u.slug,
            udf_type: u.udf_type,
            description: u.description,
            is_private: u.is_private,
            r#async: u.r#async,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UdfList {
    user_defined_functions: Vec<UdfView>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UdfFilter {
    /// tool or udf.
    filter: Option<String>,
}

/// Get user-defined functions.
#[utoipa::path(get, path = "/api/mind/settings/user-defined-function", tag = "settings", params(UdfFilter),
    responses((status = 200, body = Success<UdfList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_udfs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<UdfFilter>,
) -> Result<Success<UdfList>, ApiError> {
    let listed = state
        .settings()
        .list_udfs(request(pb::ListUdfsRequest { filter: p.filter }, &caller))
        .await?
        .into_inner();
    Ok(Success::new(UdfList {
        user_defined_functions: listed.udfs.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUdf {
    name: String,
    /// udf (default) or tool.
    udf_type: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UdfCreated {
    user_defined_function: UdfView,
}

/// Add a new user-defined function (needs `updateAiAgent`). Attach its code with
/// `POST /settings` `{"_user-defined-function[{id}].udfExecutor": {type, language, code}}`.
#[utoipa::path(post, path = "/api/mind/settings/user-defined-function", tag = "settings", request_body = NewUdf,
    responses((status = 200, body = Success<UdfCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_udf(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<NewUdf>,
) -> Result<Success<UdfCreated>, ApiError> {
    let req = pb::AddUdfRequest { name: body.name, udf_type: body.udf_type.unwrap_or_default() };
    let created = state.settings().add_udf(request(req, &caller)).await?.into_inner();
    Ok(Success::new(UdfCreated { user_defined_function: created.into() }))
}

/// Delete a user-defined function.
#[utoipa::path(delete, path = "/api/mind/settings/user-defined-function/{id}", tag = "settings", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_udf(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.settings().delete_udf(request(pb::DeleteRequest { id }, &caller)).await?;
    Ok(Success::done())
}
