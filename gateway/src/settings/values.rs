//! The tenant's settings: list, compact, search, one, put one, update many.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{SecretsParam, json_of};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{QueryParams, RawBody};

/// A setting with its definition.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingView {
    name: String,
    /// Any JSON value, as `type` says: boolean, number, string, array, object or null.
    /// Credentials read `********` unless `showSecrets=true` and you hold `readSecretSettings`.
    value: Value,
    category: String,
    /// boolean, number, string, enum, multiselect, json, list, secret.
    r#type: String,
    description: String,
    used_by: Vec<String>,
    read_permissions: Vec<String>,
    is_secret: bool,
    /// Any JSON value, like `value`.
    default: Value,
    /// The values an enum setting accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    options: Vec<String>,
    /// True while no value was ever set.
    is_default: bool,
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
#[utoipa::path(get, path = "/settings", tag = "settings", params(ListParams),
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

/// Get settings of a client in a compact form: `{name: value}`.
#[utoipa::path(get, path = "/settings/compact", tag = "settings", params(SecretsParam),
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
#[utoipa::path(get, path = "/settings/search", tag = "settings", params(SearchParams),
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

/// One setting (404 if unknown).
#[utoipa::path(get, path = "/settings/{name}", tag = "settings", params(("name" = String, Path), SecretsParam),
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
#[utoipa::path(put, path = "/settings/{name}", tag = "settings", params(("name" = String, Path)),
    request_body(content = Object, description = "The new value"),
    responses((status = 200, body = SettingView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_setting(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    body: RawBody,
) -> Result<Json<SettingView>, ApiError> {
    require_settings_writer(&caller)?;
    let value: Value = body.parse()?;
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
/// `_user-defined-function[{id}].{prop}`, `_tag[{id}].{prop}`, `_event-hook[{id}].{prop}`. Each key is checked (permission, type) and applied
/// on its own, so a batch may partly apply.
#[utoipa::path(post, path = "/settings", tag = "settings",
    request_body(content = Object, description = "{settingName: value}"),
    responses((status = 200, body = Success<UpdateResponse>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn update_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<UpdateResponse>, ApiError> {
    require_settings_writer(&caller)?;
    let Value::Object(values) = body.parse()? else {
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

/// Which permission a setting needs is settings-svc's to say (per setting, and per key of a
/// batch): every setting needs `updateClientSettings` but the few reserved for Enneo's
/// operators (`enneoAdmin`). A caller with neither may write no setting, so is refused before
/// the body is read.
fn require_settings_writer(caller: &Caller) -> Result<(), ApiError> {
    if caller.has(ENNEO_ADMIN) {
        Ok(())
    } else {
        require(caller, permission::UPDATE_CLIENT_SETTINGS)
    }
}

/// The permission of settings only Enneo's operators write (`featureFlags`).
const ENNEO_ADMIN: &str = "enneoAdmin";
