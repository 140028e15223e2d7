//! Users: login and logout, profiles, routing status and API keys (contract §6.2–6.3).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use enneo_common::auth::Caller;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Auth, Minted, SESSION_COOKIE, mint};
use crate::bulk::{BulkResponse, BulkResult};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{JsonBody, PathId, QueryParams};

/// A login session lasts this long.
const SESSION_SECONDS: i64 = 12 * 3600;
/// API keys carry an expiry far away; revocation is what ends them.
const API_KEY_SECONDS: i64 = 10 * 365 * 24 * 3600;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/profile", get(me).post(create_profile))
        .route("/profiles", get(list_profiles).patch(bulk_update_profiles))
        .route("/profiles/routingStatus", patch(bulk_routing_status))
        .route("/profiles/onlineSummary", get(online_summary))
        .route("/profile/{id}", get(get_profile).patch(update_profile).delete(delete_profile))
        .route("/profile/{id}/routingStatus", patch(routing_status))
        .route("/profile/{id}/routing", get(explain_routing))
        .route("/jwt/{id}", post(create_api_key))
        .route("/jwt/{id}/keys", get(list_api_keys))
        .route("/jwt/{id}/keys/{keyId}", delete(revoke_api_key))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    name_alias: Option<String>,
    external_id: Option<String>,
    phone: Option<String>,
    lang: String,
    is_sso_only: bool,
    #[schema(example = "enneo")]
    r#type: &'static str,
    last_seen: Option<String>,
    settings: ProfileSettings,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSettings {
    /// 1 Administrator, 2 Agent, or a custom role.
    role_id: i32,
    team_ids: Vec<i32>,
    /// Take skills, tags and role from the teams too (default true).
    inherit_team_settings: bool,
    /// Null: no skill restriction (or, with teams, the teams' skills).
    skills: Option<Vec<i64>>,
    excluded_tag_ids: Vec<i64>,
    /// True while `ticketBacklogRequiredTagIds` is not empty.
    limit_ticket_backlog_access: bool,
    ticket_backlog_required_tag_ids: Vec<i64>,
    call_routing_status: String,
    chat_routing_status: String,
    /// What permissions use: the strongest of the user's and their teams' roles.
    actual_role_id: i32,
    /// What routing uses: own skills joined with the teams'. Null: unrestricted.
    actual_skills: Option<Vec<i64>>,
    actual_excluded_tag_ids: Vec<i64>,
    actual_ticket_backlog_required_tag_ids: Vec<i64>,
    actual_limit_ticket_backlog_access: bool,
    /// Channels from the teams; empty: every channel.
    actual_channels: Vec<String>,
}

impl From<pb::Profile> for ProfileView {
    fn from(p: pb::Profile) -> Self {
        Self {
            id: p.id,
            email: p.email,
            first_name: p.first_name,
            last_name: p.last_name,
            name_alias: p.name_alias,
            external_id: p.external_id,
            phone: p.phone,
            lang: p.lang,
            is_sso_only: p.is_sso_only,
            r#type: "enneo",
            last_seen: p.last_seen,
            settings: {
                let actual = p.actual.unwrap_or_default();
                ProfileSettings {
                    role_id: p.role_id,
                    team_ids: p.team_ids,
                    inherit_team_settings: p.inherit_team_settings,
                    skills: p.skills.map(|l| l.values),
                    excluded_tag_ids: p.excluded_tag_ids,
                    limit_ticket_backlog_access: !p.required_tag_ids.is_empty(),
                    ticket_backlog_required_tag_ids: p.required_tag_ids,
                    call_routing_status: p.call_routing_status,
                    chat_routing_status: p.chat_routing_status,
                    actual_role_id: actual.role_id,
                    actual_skills: actual.skills.map(|l| l.values),
                    actual_excluded_tag_ids: actual.excluded_tag_ids,
                    actual_limit_ticket_backlog_access: !actual.required_tag_ids.is_empty(),
                    actual_ticket_backlog_required_tag_ids: actual.required_tag_ids,
                    actual_channels: actual.channels,
                }
            },
        }
    }
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.cookie_secure() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("a token is a valid header value")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// Also set as the `connect.sid` cookie (HttpOnly, SameSite=Lax).
    token: String,
    user_id: i64,
    expires_in: i64,
}

/// Log in with e-mail and password.
///
/// Five failed attempts in a row lock the account for 15 minutes (429 meanwhile).
#[utoipa::path(post, path = "/api/mind/auth/login", tag = "profile", request_body = Credentials, security(()),
    responses((status = 200, body = Success<LoginResponse>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let identity = state
        .identity()
        .login(request(
            pb::LoginRequest { email: body.email, password: body.password },
            &Caller::system(),
        ))
        .await?
        .into_inner();
    let token =
        mint(state.jwt_secret().expose_secret(), &identity, SESSION_SECONDS, Minted::Session);
    let set_cookie = cookie(&state, &token, SESSION_SECONDS);
    let body = LoginResponse { token, user_id: identity.user_id, expires_in: SESSION_SECONDS };
    Ok(([(SET_COOKIE, set_cookie)], Success::new(body)).into_response())
}

/// Log out: clears the session cookie.
#[utoipa::path(post, path = "/api/mind/auth/logout", tag = "profile", security(()),
    responses((status = 200, body = Success)))]
pub async fn logout(State(state): State<AppState>) -> Response {
    ([(SET_COOKIE, cookie(&state, "", 0))], Success::done()).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    profile: ProfileView,
    /// What you may do.
    permissions: Vec<String>,
}

/// Your own profile, with your permissions.
#[utoipa::path(get, path = "/api/mind/profile", tag = "profile",
    responses((status = 200, body = Success<Me>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<Me>, ApiError> {
    let profile = state
        .identity()
        .get_profile(request(pb::ProfileRef { id: caller.user_id }, &caller))
        .await?
        .into_inner();
    Ok(Success::new(Me { profile: profile.into(), permissions: caller.permissions }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Default 1000.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileList {
    total: i64,
    profiles: Vec<ProfileView>,
}

/// List users.
#[utoipa::path(get, path = "/api/mind/profiles", tag = "profile", params(ListParams),
    responses((status = 200, body = Success<ProfileList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_profiles(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<ProfileList>, ApiError> {
    let req =
        pb::ListProfilesRequest { limit: p.limit.unwrap_or(0), offset: p.offset.unwrap_or(0) };
    let listed = state.identity().list_profiles(request(req, &caller)).await?.into_inner();
    Ok(Success::new(ProfileList {
        total: listed.total,
        profiles: listed.profiles.into_iter().map(Into::into).collect(),
    }))
}

/// One user.
#[utoipa::path(get, path = "/api/mind/profile/{id}", tag = "profile", params(("id" = i64, Path)),
    responses((status = 200, body = ProfileView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<ProfileView>, ApiError> {
    Ok(Json(
        state
            .identity()
            .get_profile(request(pb::ProfileRef { id }, &caller))
            .await?
            .into_inner()
            .into(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileSettingsWrite {
    role_id: Option<i32>,
    /// Null lifts the skill restriction.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>)]
    skills: Option<Option<Vec<i64>>>,
    excluded_tag_ids: Option<Vec<i64>>,
    ticket_backlog_required_tag_ids: Option<Vec<i64>>,
    team_ids: Option<Vec<i32>>,
    inherit_team_settings: Option<bool>,
}

/// A present field, `null` included: `Some(None)` is "set to null", absence stays `None`.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileWrite {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    lang: Option<String>,
    /// At least 10 characters; stored as an argon2id hash.
    password: Option<String>,
    is_sso_only: Option<bool>,
    #[serde(default)]
    settings: ProfileSettingsWrite,
}

/// Create a user (needs `manageUsers`).
#[utoipa::path(post, path = "/api/mind/profile", tag = "profile", request_body = ProfileWrite,
    responses((status = 200, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ProfileWrite>,
) -> Result<Json<ProfileView>, ApiError> {
    let email = body.email.ok_or_else(|| ApiError::bad_request("email is required"))?;
    let req = pb::CreateProfileRequest {
        email,
        first_name: body.first_name,
        last_name: body.last_name,
        phone: body.phone,
        lang: body.lang,
        password: body.password,
        role_id: body.settings.role_id.unwrap_or(0),
        skills: body.settings.skills.flatten().map(|values| pb::IdList { values }),
        excluded_tag_ids: body.settings.excluded_tag_ids.unwrap_or_default(),
        required_tag_ids: body.settings.ticket_backlog_required_tag_ids.unwrap_or_default(),
        is_sso_only: body.is_sso_only.unwrap_or(false),
        team_ids: body.settings.team_ids.unwrap_or_default(),
        inherit_team_settings: body.settings.inherit_team_settings,
    };
    Ok(Json(state.identity().create_profile(request(req, &caller)).await?.into_inner().into()))
}

/// Update a user. Yourself: names, contact, password; role and routing: `manageUsers`.
#[utoipa::path(patch, path = "/api/mind/profile/{id}", tag = "profile", params(("id" = i64, Path)), request_body = ProfileWrite,
    responses((status = 200, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    JsonBody(body): JsonBody<ProfileWrite>,
) -> Result<Json<ProfileView>, ApiError> {
    let req = update_request(id, body)?;
    Ok(Json(state.identity().update_profile(request(req, &caller)).await?.into_inner().into()))
}

fn update_request(id: i64, body: ProfileWrite) -> Result<pb::UpdateProfileRequest, ApiError> {
    if body.is_sso_only.is_some() {
        return Err(ApiError::bad_request("isSsoOnly is set when a user is created"));
    }
    let skills = body.settings.skills;
    let list = |ids: Option<Vec<i64>>| ids.map(|values| pb::IdList { values });
    Ok(pb::UpdateProfileRequest {
        id,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        phone: body.phone,
        lang: body.lang,
        password: body.password,
        role_id: body.settings.role_id,
        clear_skills: matches!(skills, Some(None)),
        skills: skills.flatten().map(|values| pb::IdList { values }),
        excluded_tag_ids: list(body.settings.excluded_tag_ids),
        required_tag_ids: list(body.settings.ticket_backlog_required_tag_ids),
        team_ids: body.settings.team_ids.map(|values| pb::TeamIds { values }),
        inherit_team_settings: body.settings.inherit_team_settings,
    })
}

/// At most this many users per bulk request.
const MAX_BULK_PROFILES: usize = 100;

fn bulk_items(body: &Value, key: &str) -> Result<Vec<(Option<i64>, Value)>, ApiError> {
    let items = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request(format!("the body must be {{\"{key}\": [...]}}")))?;
    if items.len() > MAX_BULK_PROFILES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_BULK_PROFILES} items per request"
        )));
    }
    Ok(items
        .iter()
        .map(|item| {
            let id = item.get("id").and_then(Value::as_i64).filter(|id| *id > 0);
            let mut fields = item.clone();
            if let Some(map) = fields.as_object_mut() {
                map.remove("id");
            }
            (id, fields)
        })
        .collect())
}

fn parse_item<T: serde::de::DeserializeOwned>(
    id: Option<i64>,
    fields: Value,
) -> Result<(i64, T), ApiError> {
    let id = id.ok_or_else(|| ApiError::bad_request("each item needs a positive integer id"))?;
    let parsed = serde_json::from_value(fields)
        .map_err(|e| ApiError::bad_request(format!("invalid item: {e}")))?;
    Ok((id, parsed))
}

/// Applies `apply` to each item of `{"profiles": [...]}` on its own, in order.
async fn each_item<T, F, Fut>(body: &Value, apply: F) -> Result<BulkResponse, ApiError>
where
    T: serde::de::DeserializeOwned,
    F: Fn(i64, T) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>>,
{
    let mut results = Vec::new();
    for (id, fields) in bulk_items(body, "profiles")? {
        let outcome = match parse_item::<T>(id, fields) {
            Ok((id, item)) => apply(id, item).await,
            Err(e) => Err(e),
        };
        results.push(BulkResult::of(id, outcome));
    }
    Ok(results.into_iter().collect())
}

/// Update several users at once: `{"profiles": [{"id": 3, ...fields of PATCH /profile/{id}}]}`.
/// Each item succeeds or fails on its own; `results` says how, in order.
#[utoipa::path(patch, path = "/api/mind/profiles", tag = "profile",
    request_body(content = Value, description = "`{profiles: [{id, ...ProfileWrite}]}`"),
    responses((status = 200, body = BulkResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn bulk_update_profiles(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<BulkResponse>, ApiError> {
    let applied = each_item(&body, |id, write: ProfileWrite| {
        let (state, caller) = (state.clone(), caller.clone());
        async move {
            let req = update_request(id, write)?;
            state.identity().update_profile(request(req, &caller)).await?;
            Ok(())
        }
    })
    .await?;
    Ok(Json(applied))
}

/// Delete a user (soft; their API keys are revoked).
#[utoipa::path(delete, path = "/api/mind/profile/{id}", tag = "profile", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.identity().delete_profile(request(pb::ProfileRef { id }, &caller)).await?;
    Ok(Success::done())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingStatuses {
    call_routing_status: Option<String>,
    chat_routing_status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingStatusWrite {
    /// idle, beingConnected, interacting, acw, notResponding, unavailable, offline.
    call_routing_status: Option<String>,
    chat_routing_status: Option<String>,
    /// Apply only while the statuses are still these (else 409).
    if_current: Option<RoutingStatuses>,
}

/// Change a user's routing status, optionally only if it still is what you saw.
#[utoipa::path(patch, path = "/api/mind/profile/{id}/routingStatus", tag = "profile", params(("id" = i64, Path)),
    request_body = RoutingStatusWrite,
    responses((status = 200, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn routing_status(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    JsonBody(body): JsonBody<RoutingStatusWrite>,
) -> Result<Json<ProfileView>, ApiError> {
    let req = body.into_proto(id);
    Ok(Json(
        state.identity().update_routing_status(request(req, &caller)).await?.into_inner().into(),
    ))
}

impl RoutingStatusWrite {
    fn into_proto(self, id: i64) -> pb::UpdateRoutingStatusRequest {
        let current = self.if_current.unwrap_or_default();
        pb::UpdateRoutingStatusRequest {
            id,
            call_routing_status: self.call_routing_status,
            chat_routing_status: self.chat_routing_status,
            if_current_call: current.call_routing_status,
            if_current_chat: current.chat_routing_status,
        }
    }
}

/// Change several users' routing statuses: `{"profiles": [{"id": 3, "chatRoutingStatus": "idle",
/// "ifCurrent": {...}}]}`. Each item succeeds or fails (409 on `ifCurrent`) on its own.
#[utoipa::path(patch, path = "/api/mind/profiles/routingStatus", tag = "profile",
    request_body(content = Value, description = "`{profiles: [{id, ...RoutingStatusWrite}]}`"),
    responses((status = 200, body = BulkResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn bulk_routing_status(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<BulkResponse>, ApiError> {
    let applied = each_item(&body, |id, write: RoutingStatusWrite| {
        let (state, caller) = (state.clone(), caller.clone());
        async move {
            state.identity().update_routing_status(request(write.into_proto(id), &caller)).await?;
            Ok(())
        }
    })
    .await?;
    Ok(Json(applied))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnlineUser {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    call_routing_status: String,
    chat_routing_status: String,
    last_seen: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCount {
    /// Users in this status on the phone line.
    call: i64,
    /// Users in this status in chat.
    chat: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OnlineSummary {
    /// Users whose call or chat routing status is not `offline`.
    online: Vec<OnlineUser>,
    /// Per routing status, how many users are in it.
    counts: BTreeMap<String, StatusCount>,
}

/// Who is online, and how many users are in each routing status.
#[utoipa::path(get, path = "/api/mind/profiles/onlineSummary", tag = "profile",
    responses((status = 200, body = Success<OnlineSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn online_summary(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<OnlineSummary>, ApiError> {
    let summary = state
        .identity()
        .online_summary(request(pb::OnlineSummaryRequest {}, &caller))
        .await?
        .into_inner();
    Ok(Success::new(OnlineSummary {
        online: summary
            .online
            .into_iter()
            .map(|u| OnlineUser {
                id: u.id,
                first_name: u.first_name,
                last_name: u.last_name,
                call_routing_status: u.call_routing_status,
                chat_routing_status: u.chat_routing_status,
                last_seen: u.last_seen,
            })
            .collect(),
        counts: summary
            .counts
            .into_iter()
            .map(|c| (c.status, StatusCount { call: c.call, chat: c.chat }))
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    key_id: String,
    /// The key itself: shown once, use it as a Bearer token.
    token: String,
}

/// Create an API key for user `id` (yourself, or anyone with `manageUsers`).
#[utoipa::path(post, path = "/api/mind/jwt/{id}", tag = "profile", params(("id" = i64, Path)), request_body(content = Option<NewApiKey>),
    responses((status = 200, body = Success<ApiKeyCreated>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    crate::json::OptionalJsonBody(body): crate::json::OptionalJsonBody<NewApiKey>,
) -> Result<Success<ApiKeyCreated>, ApiError> {
    let key = state
        .identity()
        .create_api_key(request(
            pb::CreateApiKeyRequest { user_id: id, name: body.name.unwrap_or_default() },
            &caller,
        ))
        .await?
        .into_inner();
    // The key's claims are only a hint: every use re-reads the identity behind the key.
    let identity = state
        .identity()
        .resolve_identity(request(pb::ProfileRef { id }, &caller))
        .await?
        .into_inner();
    let token = mint(
        state.jwt_secret().expose_secret(),
        &identity,
        API_KEY_SECONDS,
        Minted::ApiKey(key.id.clone()),
    );
    Ok(Success::new(ApiKeyCreated { key_id: key.id, token }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    id: String,
    name: String,
    created_at: String,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    keys: Vec<ApiKeyView>,
}

/// A user's API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/mind/jwt/{id}/keys", tag = "profile", params(("id" = i64, Path)),
    responses((status = 200, body = Success<ApiKeyList>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<ApiKeyList>, ApiError> {
    let listed =
        state.identity().list_api_keys(request(pb::ProfileRef { id }, &caller)).await?.into_inner();
    let keys = listed
        .keys
        .into_iter()
        .map(|k| ApiKeyView {
            id: k.id,
            name: k.name,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        })
        .collect();
    Ok(Success::new(ApiKeyList { keys }))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/mind/jwt/{id}/keys/{keyId}", tag = "profile", params(("id" = i64, Path), ("keyId" = String, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((id, key_id)): Path<(i64, String)>,
) -> Result<Success, ApiError> {
    state
        .identity()
        .revoke_api_key(request(pb::ApiKeyRef { user_id: id, key_id }, &caller))
        .await?;
    Ok(Success::done())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoutingParams {
    /// Also say whether, and why (not), this ticket would be routed to the user.
    ticket_id: Option<i64>,
    /// Full-text filter on the queue.
    q: Option<String>,
    /// Default 20, at most 100.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutedTicket {
    ticket_id: i64,
    /// 0-based place in the user's queue.
    position: i64,
    reason: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingVerdict {
    ticket_id: i64,
    routable: bool,
    position: Option<i64>,
    reasons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingUsed {
    /// Null: no skill restriction.
    skills: Option<Vec<i64>>,
    excluded_tag_ids: Vec<i64>,
    ticket_backlog_required_tag_ids: Vec<i64>,
    /// Empty: every channel.
    channels: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingExplained {
    user_id: i64,
    /// `autopilotTagMatchingMode` in effect.
    matching: String,
    /// `autopilotOrderingSequence` in effect.
    ordering: String,
    /// The user's actual routing settings (their own merged with their teams').
    settings: RoutingUsed,
    /// Tickets in the user's queue (routing looks at the first 1000).
    total: i64,
    limit: i64,
    offset: i64,
    tickets: Vec<RoutedTicket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<RoutingVerdict>,
}

/// What routing would give a user, in order, and why; with `ticketId`, whether and why (not)
/// that ticket would reach them. Nothing is claimed. Yourself, or anyone with `manageUsers`.
#[utoipa::path(get, path = "/api/mind/profile/{id}/routing", tag = "profile", params(("id" = i64, Path), RoutingParams),
    responses((status = 200, body = Success<RoutingExplained>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explain_routing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(p): QueryParams<RoutingParams>,
) -> Result<Success<RoutingExplained>, ApiError> {
    let user = state
        .identity()
        .resolve_identity(request(pb::ProfileRef { id }, &caller))
        .await?
        .into_inner();
    let req = enneo_proto::ticket::v1::ExplainRoutingRequest {
        user_id: id,
        restrict_skills: user.skills.is_some(),
        skills: user.skills.clone().map(|l| l.values).unwrap_or_default(),
        excluded_tag_ids: user.excluded_tag_ids.clone(),
        required_tag_ids: user.required_tag_ids.clone(),
        channels: user.channels.clone(),
        ticket_id: p.ticket_id,
        q: p.q,
        limit: p.limit.unwrap_or(0),
        offset: p.offset.unwrap_or(0),
    };
    let offset = req.offset;
    let explained = state.tickets().explain_routing(request(req, &caller)).await?.into_inner();
    Ok(Success::new(RoutingExplained {
        user_id: id,
        matching: explained.matching,
        ordering: explained.ordering,
        settings: RoutingUsed {
            skills: user.skills.map(|l| l.values),
            excluded_tag_ids: user.excluded_tag_ids,
            ticket_backlog_required_tag_ids: user.required_tag_ids,
            channels: user.channels,
        },
        total: explained.total,
        limit: explained.limit,
        offset,
        tickets: explained
            .tickets
            .into_iter()
            .map(|t| RoutedTicket {
                ticket_id: t.ticket_id,
                position: t.position,
                reason: t.reason,
            })
            .collect(),
        ticket: explained.ticket.map(|v| RoutingVerdict {
            ticket_id: v.ticket_id,
            routable: v.routable,
            position: v.position,
            reasons: v.reasons,
        }),
    }))
}
