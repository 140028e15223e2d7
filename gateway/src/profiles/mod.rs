//! Users (contract §6.2–6.3): profiles here; login and logout, bulk changes, routing status
//! and routing explanations, and API keys in the modules below.

pub mod api_keys;
pub mod bulk;
pub mod routing;
pub mod session;

use axum::Json;
use axum::extract::State;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
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
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(me, create_profile))
        .routes(routes!(list_profiles, bulk::bulk_update_profiles))
        .routes(routes!(routing::bulk_routing_status))
        .routes(routes!(routing::online_summary))
        .routes(routes!(get_profile, update_profile, delete_profile))
        .routes(routes!(routing::routing_status))
        .routes(routes!(routing::explain_routing))
        .routes(routes!(api_keys::create_api_key))
        .routes(routes!(api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
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

#[derive(Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    profile: ProfileView,
    /// What you may do.
    permissions: Vec<String>,
}

/// Your own profile, with your permissions.
#[utoipa::path(get, path = "/profile", tag = "profile",
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
#[utoipa::path(get, path = "/profiles", tag = "profile", params(ListParams),
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
#[utoipa::path(get, path = "/profile/{id}", tag = "profile", params(("id" = i64, Path)),
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
#[utoipa::path(post, path = "/profile", tag = "profile", request_body = ProfileWrite,
    responses((status = 200, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Json<ProfileView>, ApiError> {
    require(&caller, permission::MANAGE_USERS)?;
    let body: ProfileWrite = body.parse()?;
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
#[utoipa::path(patch, path = "/profile/{id}", tag = "profile", params(("id" = i64, Path)), request_body = ProfileWrite,
    responses((status = 200, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_profile(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Json<ProfileView>, ApiError> {
    // Whose profile it is decides before the body is read; which of their own fields a user
    // may change (role and routing need `manageUsers`) depends on the body, so settings-svc
    // decides that after parsing.
    require_self_or_manager(&caller, id)?;
    let req = update_request(id, body.parse()?)?;
    Ok(Json(state.identity().update_profile(request(req, &caller)).await?.into_inner().into()))
}

/// You may manage yourself; other users need `manageUsers` (settings-svc checks again).
pub(crate) fn require_self_or_manager(caller: &Caller, id: i64) -> Result<(), ApiError> {
    if caller.user_id == id { Ok(()) } else { require(caller, permission::MANAGE_USERS) }
}

pub(super) fn update_request(
    id: i64,
    body: ProfileWrite,
) -> Result<pb::UpdateProfileRequest, ApiError> {
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

/// Delete a user (soft; their API keys are revoked).
#[utoipa::path(delete, path = "/profile/{id}", tag = "profile", params(("id" = i64, Path)),
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
