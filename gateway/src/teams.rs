//! `/team` (contract §6.3): a tree of teams whose settings members inherit.

use axum::Json;
use axum::extract::{RawQuery, State};
use enneo_common::auth::permission;
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
use crate::json::{PathId, QueryParams, RawBody, query_pairs};
use crate::profiles::present;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_team))
        .routes(routes!(team_tree))
        .routes(routes!(list_teams))
        .routes(routes!(get_team, update_team, delete_team))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamSettingsView {
    /// Role the team gives its members (the strongest of a user's roles wins).
    role_id: Option<i32>,
    /// Null: not set on this team.
    skills: Option<Vec<i64>>,
    channels: Option<Vec<String>>,
    excluded_tag_ids: Option<Vec<i64>>,
    ticket_backlog_required_tag_ids: Option<Vec<i64>>,
    /// Unset values come from the parent team.
    inherit_parental_settings: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    id: i32,
    name: String,
    parent: Option<i32>,
    /// Names from the root down, joined with " / ".
    full_name: String,
    settings: TeamSettingsView,
    member_ids: Vec<i64>,
    members_count: usize,
    created_at: String,
    modified_at: Option<String>,
}

impl From<pb::Team> for TeamView {
    fn from(t: pb::Team) -> Self {
        let s = t.settings.unwrap_or_default();
        Self {
            id: t.id,
            name: t.name,
            parent: t.parent_id,
            full_name: t.full_name,
            settings: TeamSettingsView {
                role_id: s.role_id,
                skills: s.skills.map(|l| l.values),
                channels: s.channels.map(|l| l.values),
                excluded_tag_ids: s.excluded_tag_ids.map(|l| l.values),
                ticket_backlog_required_tag_ids: s.required_tag_ids.map(|l| l.values),
                inherit_parental_settings: s.inherit_parental_settings,
            },
            members_count: t.member_ids.len(),
            member_ids: t.member_ids,
            created_at: t.created_at,
            modified_at: t.modified_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TeamNode {
    #[serde(flatten)]
    team: TeamView,
    #[schema(no_recursion)]
    children: Vec<TeamNode>,
}

#[derive(Serialize, ToSchema)]
pub struct TeamTree {
    teams: Vec<TeamNode>,
}

#[derive(Serialize, ToSchema)]
pub struct TeamList {
    total: usize,
    teams: Vec<TeamView>,
}

fn team_id(id: i64) -> Result<i32, ApiError> {
    i32::try_from(id).map_err(|_| ApiError::bad_request("team ids are small integers"))
}

fn flag(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!("{key} must be true or false"))),
    }
}

/// Documents the query string; `list_request` parses it (`ids[]` may repeat).
#[allow(dead_code)]
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Part of the team name.
    q: Option<String>,
    /// Teams whose (inherited) role is this one.
    #[param(rename = "roleId")]
    role_id: Option<i32>,
    /// Only these teams: `ids[]=1&ids[]=2`, `ids=1,2`.
    #[param(rename = "ids[]")]
    ids: Option<Vec<i32>>,
    /// Show settings with inherited values filled in.
    #[param(rename = "forceInheritance")]
    force_inheritance: Option<bool>,
}

fn list_request(query: Option<&str>) -> Result<pb::ListTeamsRequest, ApiError> {
    let mut req = pb::ListTeamsRequest::default();
    for (key, value) in query_pairs(query.unwrap_or("")) {
        match key.as_str() {
            "q" => req.q = Some(value),
            "roleId" => {
                req.role_id = Some(
                    value.parse().map_err(|_| ApiError::bad_request("roleId must be a number"))?,
                );
            }
            "ids" | "ids[]" => {
                for id in value.split(',').filter(|v| !v.trim().is_empty()) {
                    req.ids.push(
                        id.trim().parse().map_err(|_| {
                            ApiError::bad_request(format!("{id:?} is not a team id"))
                        })?,
                    );
                }
            }
            "forceInheritance" => req.force_inheritance = flag(&key, &value)?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other}; known: q, roleId, ids[], forceInheritance"
                )));
            }
        }
    }
    Ok(req)
}

/// Teams as a list, sorted by full name. Without `viewAllTeams` only your teams and the teams
/// below them.
#[utoipa::path(get, path = "/team/list", tag = "team", params(ListParams),
    responses((status = 200, body = Success<TeamList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_teams(
    State(state): State<AppState>,
    Auth(caller): Auth,
    RawQuery(query): RawQuery,
) -> Result<Success<TeamList>, ApiError> {
    let req = list_request(query.as_deref())?;
    let teams = state.identity().list_teams(request(req, &caller)).await?.into_inner().teams;
    Ok(Success::new(TeamList {
        total: teams.len(),
        teams: teams.into_iter().map(Into::into).collect(),
    }))
}

/// Teams as a tree. Without `viewAllTeams` the subtrees of your own teams.
#[utoipa::path(get, path = "/team/tree", tag = "team",
    responses((status = 200, body = Success<TeamTree>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn team_tree(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Success<TeamTree>, ApiError> {
    let teams = state
        .identity()
        .list_teams(request(pb::ListTeamsRequest::default(), &caller))
        .await?
        .into_inner()
        .teams;
    let visible: Vec<i32> = teams.iter().map(|t| t.id).collect();
    // A visible team whose parent is hidden is a root for this caller.
    let (roots, mut rest): (Vec<_>, Vec<_>) =
        teams.into_iter().partition(|t| t.parent_id.is_none_or(|p| !visible.contains(&p)));
    fn grow(team: pb::Team, rest: &mut Vec<pb::Team>) -> TeamNode {
        let (children, others): (Vec<_>, Vec<_>) =
            std::mem::take(rest).into_iter().partition(|t| t.parent_id == Some(team.id));
        *rest = others;
        let children = children.into_iter().map(|c| grow(c, rest)).collect();
        TeamNode { team: team.into(), children }
    }
    let teams = roots.into_iter().map(|r| grow(r, &mut rest)).collect();
    Ok(Success::new(TeamTree { teams }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GetParams {
    /// Show settings with inherited values filled in.
    force_inheritance: Option<bool>,
}

/// One team.
#[utoipa::path(get, path = "/team/{id}", tag = "team", params(("id" = i32, Path), GetParams),
    responses((status = 200, body = TeamView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(p): QueryParams<GetParams>,
) -> Result<Json<TeamView>, ApiError> {
    let req = pb::GetTeamRequest {
        id: team_id(id)?,
        force_inheritance: p.force_inheritance.unwrap_or(false),
    };
    Ok(Json(state.identity().get_team(request(req, &caller)).await?.into_inner().into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamSettingsWrite {
    /// Null unsets (then inherited from the parent).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    role_id: Option<Option<i32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>)]
    skills: Option<Option<Vec<i64>>>,
    /// email, chat, phone, letter, portal.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    channels: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>)]
    excluded_tag_ids: Option<Option<Vec<i64>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>)]
    ticket_backlog_required_tag_ids: Option<Option<Vec<i64>>>,
    /// Default true.
    inherit_parental_settings: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamWrite {
    name: Option<String>,
    /// Parent team; null makes a root team (needs `viewAllTeams`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    parent: Option<Option<i32>>,
    #[serde(default)]
    settings: TeamSettingsWrite,
}

/// Present and `null`.
fn unset<T>(value: &Option<Option<T>>) -> bool {
    matches!(value, Some(None))
}

impl TeamWrite {
    fn into_proto(self, id: i32) -> pb::TeamWrite {
        let s = self.settings;
        let clear = [
            ("roleId", unset(&s.role_id)),
            ("skills", unset(&s.skills)),
            ("channels", unset(&s.channels)),
            ("excludedTagIds", unset(&s.excluded_tag_ids)),
            ("ticketBacklogRequiredTagIds", unset(&s.ticket_backlog_required_tag_ids)),
        ]
        .into_iter()
        .filter(|(_, unset)| *unset)
        .map(|(name, _)| name.to_owned())
        .collect();
        let ids = |v: Option<Option<Vec<i64>>>| v.flatten().map(|values| pb::IdList { values });
        pb::TeamWrite {
            id,
            name: self.name,
            parent_id: self.parent.flatten(),
            clear_parent: matches!(self.parent, Some(None)),
            settings: Some(pb::TeamSettings {
                role_id: s.role_id.flatten(),
                skills: ids(s.skills),
                channels: s.channels.flatten().map(|values| pb::StringList { values }),
                excluded_tag_ids: ids(s.excluded_tag_ids),
                required_tag_ids: ids(s.ticket_backlog_required_tag_ids),
                inherit_parental_settings: s.inherit_parental_settings.unwrap_or(true),
            }),
            set_inherit: s.inherit_parental_settings.is_some(),
            clear,
        }
    }
}

/// Create a team (needs `manageTeams`).
#[utoipa::path(post, path = "/team", tag = "team", request_body = TeamWrite,
    responses((status = 200, body = TeamView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Json<TeamView>, ApiError> {
    require(&caller, permission::MANAGE_TEAMS)?;
    let body: TeamWrite = body.parse()?;
    if body.name.is_none() {
        return Err(ApiError::bad_request("name is required"));
    }
    let req = body.into_proto(0);
    Ok(Json(state.identity().create_team(request(req, &caller)).await?.into_inner().into()))
}

/// Change a team: present fields are set, `null` settings are unset (needs `manageTeams`).
#[utoipa::path(patch, path = "/team/{id}", tag = "team", params(("id" = i32, Path)), request_body = TeamWrite,
    responses((status = 200, body = TeamView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_team(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Json<TeamView>, ApiError> {
    require(&caller, permission::MANAGE_TEAMS)?;
    let body: TeamWrite = body.parse()?;
    let req = body.into_proto(team_id(id)?);
    Ok(Json(state.identity().update_team(request(req, &caller)).await?.into_inner().into()))
}

/// Delete a team (soft). Refused with 400 while it has child teams or members.
#[utoipa::path(delete, path = "/team/{id}", tag = "team", params(("id" = i32, Path)),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_team(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.identity().delete_team(request(pb::TeamRef { id: team_id(id)? }, &caller)).await?;
    Ok(Success::done())
}
