//! User-defined functions: code that AI agents call as tools.

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::json_of;
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody};

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
#[utoipa::path(get, path = "/settings/user-defined-function", tag = "settings", params(UdfFilter),
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
#[utoipa::path(post, path = "/settings/user-defined-function", tag = "settings", request_body = NewUdf,
    responses((status = 200, body = Success<UdfCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_udf(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<UdfCreated>, ApiError> {
    require(&caller, permission::UPDATE_AI_AGENT)?;
    let body: NewUdf = body.parse()?;
    let req = pb::AddUdfRequest { name: body.name, udf_type: body.udf_type.unwrap_or_default() };
    let created = state.settings().add_udf(request(req, &caller)).await?.into_inner();
    Ok(Success::new(UdfCreated { user_defined_function: created.into() }))
}

/// Delete a user-defined function.
#[utoipa::path(delete, path = "/settings/user-defined-function/{id}", tag = "settings", params(("id" = i64, Path)),
    responses((status = 200, body = Success), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_udf(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    state.settings().delete_udf(request(pb::DeleteRequest { id }, &caller)).await?;
    Ok(Success::done())
}
