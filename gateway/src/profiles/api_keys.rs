//! API keys: long-lived tokens for integrations, listed and revoked per user.

use axum::extract::{Path, State};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::require_self_or_manager;
use crate::AppState;
use crate::auth::Auth;
use crate::auth::{Minted, mint};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, RawBody};

/// API keys carry an expiry far away; revocation is what ends them.
const API_KEY_SECONDS: i64 = 10 * 365 * 24 * 3600;

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
#[utoipa::path(post, path = "/jwt/{id}", tag = "profile", params(("id" = i64, Path)), request_body(content = Option<NewApiKey>),
    responses((status = 200, body = Success<ApiKeyCreated>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success<ApiKeyCreated>, ApiError> {
    require_self_or_manager(&caller, id)?;
    let body: NewApiKey = body.parse_or_default()?;
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
#[utoipa::path(get, path = "/jwt/{id}/keys", tag = "profile", params(("id" = i64, Path)),
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
#[utoipa::path(delete, path = "/jwt/{id}/keys/{keyId}", tag = "profile", params(("id" = i64, Path), ("keyId" = String, Path)),
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
