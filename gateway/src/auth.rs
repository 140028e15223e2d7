//! Authentication: `Authorization: Bearer <JWT>` or the `connect.sid` cookie holding the same
//! JWT. The established [`Caller`] travels to the services, which check permissions.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use enneo_common::auth::{self, Caller, Role, Routing, TokenError};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use secrecy::ExposeSecret;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "connect.sid";

/// The authenticated caller of a request.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).or_else(|| cookie(parts, SESSION_COOKIE)).ok_or_else(|| {
            ApiError::unauthenticated(
                "authentication required: send a Bearer token or the connect.sid cookie",
            )
        })?;
        let now = chrono::Utc::now().timestamp();
        let claims = auth::verify(&token, state.jwt_secret().expose_secret().as_bytes(), now)
            .map_err(|err| match err {
                TokenError::Expired => ApiError::unauthenticated("token has expired"),
                _ => ApiError::unauthenticated("token is invalid"),
            })?;
        if let Some(key_id) = &claims.kid {
            // API keys live until revoked: ask settings-svc on every use, and take the user's
            // current role and skills rather than what the key was minted with.
            let check = pb::ApiKeyRef { user_id: claims.user_id, key_id: key_id.clone() };
            let identity = state
                .identity()
                .check_api_key(request(check, &Caller::system()))
                .await
                .map_err(|status| match status.code() {
                    tonic::Code::Unauthenticated | tonic::Code::NotFound => {
                        ApiError::unauthenticated("API key is revoked or unknown")
                    }
                    _ => ApiError::from(status),
                })?
                .into_inner();
            return Ok(Self(caller_of(&identity)));
        }
        if claims.session {
            let me = Caller { user_id: claims.user_id, ..Caller::system() };
            let identity = state
                .identity()
                .resolve_identity(request(pb::ProfileRef { id: claims.user_id }, &me))
                .await
                .map_err(|status| match status.code() {
                    tonic::Code::NotFound => ApiError::unauthenticated("the user no longer exists"),
                    _ => ApiError::from(status),
                })?
                .into_inner();
            return Ok(Self(caller_of(&identity)));
        }
        let role = Role::parse(&claims.role).ok_or_else(|| {
            ApiError::forbidden(format!("role {:?} grants no access", claims.role))
        })?;
        let mut caller = Caller::from_role(claims.user_id, role);
        caller.routing = Routing::from_claims(&claims);
        // Login tokens carry their role's resolved permissions (custom roles).
        if let Some(permissions) = claims.permissions {
            caller.permissions = permissions;
        }
        Ok(Self(caller))
    }
}

/// Refuses a caller without `permission` at the gateway, before the body of a write is read,
/// so a caller who may not write gets 403 whatever they sent (the service checks again).
pub fn require(caller: &Caller, permission: &str) -> Result<(), ApiError> {
    caller.require(permission).map_err(|e| ApiError::new(e.code(), e.public_message()))
}

/// The caller an identity from settings-svc stands for.
pub fn caller_of(identity: &pb::Identity) -> Caller {
    let role = Role::parse(&identity.role).unwrap_or(Role::Agent);
    let mut caller = Caller::from_role(identity.user_id, role);
    if !identity.permissions.is_empty() {
        caller.permissions = identity.permissions.clone();
    }
    caller.routing = Routing {
        skills: identity.skills.as_ref().map(|l| l.values.clone()),
        excluded_tag_ids: identity.excluded_tag_ids.clone(),
        required_tag_ids: identity.required_tag_ids.clone(),
        channels: identity.channels.clone(),
    };
    caller
}

/// What a minted token is.
pub enum Minted {
    /// A login session, re-resolved on every use.
    Session,
    /// An API key with this id, checked on every use.
    ApiKey(String),
}

/// A token for `identity`, valid for `ttl_seconds`.
pub fn mint(secret: &str, identity: &pb::Identity, ttl_seconds: i64, kind: Minted) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = auth::Claims {
        user_id: identity.user_id,
        role: identity.role.clone(),
        iat: now,
        exp: now + ttl_seconds,
        skills: identity.skills.as_ref().map(|l| l.values.clone()),
        excluded_tag_ids: identity.excluded_tag_ids.clone(),
        required_tag_ids: identity.required_tag_ids.clone(),
        channels: identity.channels.clone(),
        permissions: (!identity.permissions.is_empty()).then(|| identity.permissions.clone()),
        session: matches!(kind, Minted::Session),
        kid: match kind {
            Minted::ApiKey(id) => Some(id),
            Minted::Session => None,
        },
    };
    auth::sign(&claims, secret.as_bytes())
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
}
