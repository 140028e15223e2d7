//! Users: login and logout, profiles, routing status and API keys (contract §6.2–6.3).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use enneo_common::auth::{Caller, Role};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{Auth, SESSION_COOKIE, mint};
use crate::error::{ApiError, ErrorBody};
use crate::json::{JsonBody, PathId, QueryParams};
use crate::tickets::Success;

/// A login session lasts this long.
const SESSION_SECONDS: i64 = 12 * 3600;
/// API keys carry an expiry far away; revocation is what ends them.
const API_KEY_SECONDS: i64 = 10 * 365 * 24 * 3600;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/profile", get(me).post(create_profile))
        .route("/profiles", get(list_profiles))
        .route("/profile/{id}", get(get_profile).patch(update_profile).delete(delete_profile))
        .route("/profile/{id}/routingStatus", patch(routing_status))
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
    /// 1 Administrator, 2 Agent.
    role_id: i32,
    /// Null: no skill restriction.
    skills: Option<Vec<i64>>,
    excluded_tag_ids: Vec<i64>,
    ticket_backlog_required_tag_ids: Vec<i64>,
    call_routing_status: String,
    chat_routing_status: String,
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
            settings: ProfileSettings {
                role_id: p.role_id,
                skills: p.skills.map(|l| l.values),
                excluded_tag_ids: p.excluded_tag_ids,
                ticket_backlog_required_tag_ids: p.required_tag_ids,
                call_routing_status: p.call_routing_status,
                chat_routing_status: p.chat_routing_status,
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
    success: bool,
    /// Also set as the `connect.sid` cookie (HttpOnly, SameSite=Lax).
    token: String,
    user_id: i64,
    expires_in: i64,
}

/// Log in with e-mail and password.
///
/// Five failed attempts in a row lock the account for 15 minutes (429 meanwhile).
#[utoipa::path(post, path = "/api/mind/auth/login", tag = "profile", request_body = Credentials, security(()),
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
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
    let token = mint(state.jwt_secret().expose_secret(), &identity, SESSION_SECONDS, None);
    let set_cookie = cookie(&state, &token, SESSION_SECONDS);
    let body = LoginResponse {
        success: true,
        token,
        user_id: identity.user_id,
        expires_in: SESSION_SECONDS,
    };
    Ok(([(SET_COOKIE, set_cookie)], Json(body)).into_response())
}

/// Log out: clears the session cookie.
#[utoipa::path(post, path = "/api/mind/auth/logout", tag = "profile", security(()),
    responses((status = 200, body = Success)))]
pub async fn logout(State(state): State<AppState>) -> Response {
    ([(SET_COOKIE, cookie(&state, "", 0))], Json(Success::yes())).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    success: bool,
    #[serde(flatten)]
    profile: ProfileView,
    /// What you may do.
    permissions: Vec<String>,
}

/// Your own profile, with your permissions.
#[utoipa::path(get, path = "/api/mind/profile", tag = "profile",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Me>, ApiError> {
    let profile = state
        .identity()
        .get_profile(request(pb::ProfileRef { id: caller.user_id }, &caller))
        .await?
        .into_inner();
    Ok(Json(Me { success: true, profile: profile.into(), permissions: caller.permissions }))
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
    success: bool,
    total: i64,
    profiles: Vec<ProfileView>,
}

/// List users.
#[utoipa::path(get, path = "/api/mind/profiles", tag = "profile", params(ListParams),
    responses((status = 200, body = ProfileList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_profiles(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Json<ProfileList>, ApiError> {
    let req =
        pb::ListProfilesRequest { limit: p.limit.unwrap_or(0), offset: p.offset.unwrap_or(0) };
    let listed = state.identity().list_profiles(request(req, &caller)).await?.into_inner();
    Ok(Json(ProfileList {
        success: true,
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
}

/// A present field, `null` included: `Some(None)` is "set to null", absence stays `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
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
    if body.is_sso_only.is_some() {
        return Err(ApiError::bad_request("isSsoOnly is set when a user is created"));
    }
    let skills = body.settings.skills;
    let list = |ids: Option<Vec<i64>>| ids.map(|values| pb::IdList { values });
    let req = pb::UpdateProfileRequest {
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
    };
    Ok(Json(state.identity().update_profile(request(req, &caller)).await?.into_inner().into()))
}

/// Delete a user (soft; their API keys are revoked).
#[utoipa::path(delete, path = "/api/mind/profile/{id}", tag = "profile", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<Success>, ApiError> {
    state.identity().delete_profile(request(pb::ProfileRef { id }, &caller)).await?;
    Ok(Json(Success::yes()))
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
    let current = body.if_current.unwrap_or_default();
    let req = pb::UpdateRoutingStatusRequest {
        id,
        call_routing_status: body.call_routing_status,
        chat_routing_status: body.chat_routing_status,
        if_current_call: current.call_routing_status,
        if_current_chat: current.chat_routing_status,
    };
    Ok(Json(
        state.identity().update_routing_status(request(req, &caller)).await?.into_inner().into(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    success: bool,
    key_id: String,
    /// The key itself: shown once, use it as a Bearer token.
    token: String,
}

/// Create an API key for user `id` (yourself, or anyone with `manageUsers`).
#[utoipa::path(post, path = "/api/mind/jwt/{id}", tag = "profile", params(("id" = i64, Path)), request_body(content = Option<NewApiKey>),
    responses((status = 200, body = ApiKeyCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    crate::json::OptionalJsonBody(body): crate::json::OptionalJsonBody<NewApiKey>,
) -> Result<Json<ApiKeyCreated>, ApiError> {
    let key = state
        .identity()
        .create_api_key(request(
            pb::CreateApiKeyRequest { user_id: id, name: body.name.unwrap_or_default() },
            &caller,
        ))
        .await?
        .into_inner();
    let profile =
        state.identity().get_profile(request(pb::ProfileRef { id }, &caller)).await?.into_inner();
    let identity = pb::Identity {
        user_id: id,
        role: if profile.role_id == 1 { Role::Admin } else { Role::Agent }.as_str().into(),
        role_id: profile.role_id,
        ..Default::default()
    };
    let token =
        mint(state.jwt_secret().expose_secret(), &identity, API_KEY_SECONDS, Some(key.id.clone()));
    Ok(Json(ApiKeyCreated { success: true, key_id: key.id, token }))
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
    success: bool,
    keys: Vec<ApiKeyView>,
}

/// A user's API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/mind/jwt/{id}/keys", tag = "profile", params(("id" = i64, Path)),
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Json<ApiKeyList>, ApiError> {
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
    Ok(Json(ApiKeyList { success: true, keys }))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/mind/jwt/{id}/keys/{keyId}", tag = "profile", params(("id" = i64, Path), ("keyId" = String, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path((id, key_id)): Path<(i64, String)>,
) -> Result<Json<Success>, ApiError> {
    state
        .identity()
        .revoke_api_key(request(pb::ApiKeyRef { user_id: id, key_id }, &caller))
        .await?;
    Ok(Json(Success::yes()))
}
