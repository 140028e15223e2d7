//! `/roles` (contract §6.3): base roles and custom roles with a permission matrix.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
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
use crate::json::{PathId, QueryParams, RawBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_roles, create_role)).routes(routes!(
        get_role,
        update_role,
        delete_role
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSummary {
    id: i32,
    name: String,
    /// 1 Administrator, 2 Agent.
    base_role_id: i32,
    members_count: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleDetail {
    id: i32,
    name: String,
    base_role_id: i32,
    members_count: i64,
    /// Every permission and whether this role has it.
    permissions: BTreeMap<String, bool>,
}

fn detail(r: pb::RoleInfo) -> Success<RoleDetail> {
    let permissions =
        r.all_permissions.iter().map(|p| (p.clone(), r.permissions.contains(p))).collect();
    Success::new(RoleDetail {
        id: r.id,
        name: r.name,
        base_role_id: r.base_role_id,
        members_count: r.members_count,
        permissions,
    })
}

fn role_id(id: i64) -> Result<i32, ApiError> {
    i32::try_from(id).map_err(|_| ApiError::bad_request("role ids are small integers"))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    q: Option<String>,
    base_role_id: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct RoleList {
    roles: Vec<RoleSummary>,
}

/// List roles.
#[utoipa::path(get, path = "/roles", tag = "profile", params(ListParams),
    responses((status = 200, body = Success<RoleList>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_roles(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<RoleList>, ApiError> {
    let listed = state
        .identity()
        .list_roles(request(pb::ListRolesRequest { q: p.q, base_role_id: p.base_role_id }, &caller))
        .await?
        .into_inner();
    let roles = listed
        .roles
        .into_iter()
        .map(|r| RoleSummary {
            id: r.id,
            name: r.name,
            base_role_id: r.base_role_id,
            members_count: r.members_count,
        })
        .collect();
    Ok(Success::new(RoleList { roles }))
}

/// A role with its permission matrix.
#[utoipa::path(get, path = "/roles/{id}", tag = "profile", params(("id" = i32, Path)),
    responses((status = 200, body = Success<RoleDetail>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<RoleDetail>, ApiError> {
    let role = state
        .identity()
        .get_role(request(pb::RoleRef { id: role_id(id)? }, &caller))
        .await?
        .into_inner();
    Ok(detail(role))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleWrite {
    name: Option<String>,
    /// 1 Administrator or 2 Agent (default): what the role starts from.
    base_role_id: Option<i32>,
    /// `{permission: true|false}`: where the role differs from its base.
    #[serde(default)]
    permissions: HashMap<String, bool>,
}

/// Create a custom role (needs `manageUsers`).
#[utoipa::path(post, path = "/roles", tag = "profile", request_body = RoleWrite,
    responses((status = 200, body = Success<RoleDetail>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<RoleDetail>, ApiError> {
    require(&caller, permission::MANAGE_USERS)?;
    let body: RoleWrite = body.parse()?;
    let write = pb::RoleWrite {
        id: 0,
        name: body.name,
        base_role_id: body.base_role_id,
        permissions: body.permissions,
    };
    Ok(detail(state.identity().create_role(request(write, &caller)).await?.into_inner()))
}

/// Change a custom role; the matrix given replaces its differences from the base.
#[utoipa::path(patch, path = "/roles/{id}", tag = "profile", params(("id" = i32, Path)), request_body = RoleWrite,
    responses((status = 200, body = Success<RoleDetail>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success<RoleDetail>, ApiError> {
    require(&caller, permission::MANAGE_USERS)?;
    let body: RoleWrite = body.parse()?;
    let write = pb::RoleWrite {
        id: role_id(id)?,
        name: body.name,
        base_role_id: body.base_role_id,
        permissions: body.permissions,
    };
    Ok(detail(state.identity().update_role(request(write, &caller)).await?.into_inner()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Where the role's members move; required while it has members.
    assign_role_id: Option<i32>,
}

/// Delete a custom role.
#[utoipa::path(delete, path = "/roles/{id}", tag = "profile", params(("id" = i32, Path), DeleteParams),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(p): QueryParams<DeleteParams>,
) -> Result<Success, ApiError> {
    state
        .identity()
        .delete_role(request(
            pb::DeleteRoleRequest { id: role_id(id)?, assign_role_id: p.assign_role_id },
            &caller,
        ))
        .await?;
    Ok(Success::done())
}
