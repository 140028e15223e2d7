//! `GET /settings/category/{category}`: one category's settings, or one object's properties,
//! grouped for display.

use axum::extract::{Path, State};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::values::list;
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
#[utoipa::path(get, path = "/settings/category/{category}", tag = "settings",
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
