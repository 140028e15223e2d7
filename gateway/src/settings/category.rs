//! `GET /settings/category/{category}`: one category's settings, or one object's properties,
//! grouped for display; settings-svc assembles it (`GetCategory`).

use axum::extract::{Path, State};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use pb::get_category_response::Content;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::values::SettingView;
use super::{SecretsParam, json_of};
use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::QueryParams;

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

/// Get settings of a client, grouped, for a category.
///
/// Plain categories (`routing`, `ai-agents`, …) or one object: `mailbox_{id}`, `chatbot_{id}`,
/// `phonebot_{id}`, `letter_{id}` (subchannels), `tag_{id}`, `user-defined-function_{id}` and
/// `event-hook_{id}`.
#[utoipa::path(get, path = "/settings/category/{category}", tag = "settings",
    params(("category" = String, Path), SecretsParam),
    responses((status = 200, body = Success<CategoryResponse>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn category_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(category): Path<String>,
    QueryParams(p): QueryParams<SecretsParam>,
) -> Result<Success<CategoryResponse>, ApiError> {
    let req = pb::GetCategoryRequest {
        category: category.clone(),
        show_secrets: p.show_secrets.unwrap_or(false),
    };
    let found = state.settings().get_category(request(req, &caller)).await?.into_inner();
    let settings = match found.content.ok_or_else(ApiError::internal)? {
        Content::Settings(listed) => listed
            .settings
            .into_iter()
            .map(|s| serde_json::to_value(SettingView::from(s)).expect("a setting serialises"))
            .collect(),
        Content::Properties(object) => object
            .properties
            .into_iter()
            .map(|p| json!({"name": p.name, "value": json_of(&p.value_json)}))
            .collect(),
    };
    Ok(Success::new(CategoryResponse { groups: vec![Group { name: category, settings }] }))
}
