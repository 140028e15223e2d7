//! `PATCH /profiles` and the item loop every bulk profile endpoint shares.

use axum::Json;
use axum::extract::State;
use enneo_common::grpc::request;
use serde_json::Value;

use super::{ProfileWrite, update_request};
use crate::AppState;
use crate::auth::Auth;
use crate::bulk::{BulkResponse, BulkResult};
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;

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
pub(super) async fn each_item<T, F, Fut>(body: &Value, apply: F) -> Result<BulkResponse, ApiError>
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
#[utoipa::path(patch, path = "/profiles", tag = "profile",
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
