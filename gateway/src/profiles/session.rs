//! Login sessions: `POST /auth/login` mints a token (also the session cookie), `POST
//! /auth/logout` clears the cookie.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use enneo_common::auth::Caller;
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Minted, SESSION_COOKIE, mint};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;

/// A login session lasts this long.
const SESSION_SECONDS: i64 = 12 * 3600;

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
    /// Also set as the `connect.sid` cookie (HttpOnly, SameSite=Lax).
    token: String,
    user_id: i64,
    expires_in: i64,
}

/// Log in with e-mail and password.
///
/// Five failed attempts in a row lock the account for 15 minutes (429 meanwhile).
#[utoipa::path(post, path = "/auth/login", tag = "profile", request_body = Credentials, security(()),
    responses((status = 200, body = Success<LoginResponse>), (status = 400, body = ErrorBody),
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
    let token =
        mint(state.jwt_secret().expose_secret(), &identity, SESSION_SECONDS, Minted::Session);
    let set_cookie = cookie(&state, &token, SESSION_SECONDS);
    let body = LoginResponse { token, user_id: identity.user_id, expires_in: SESSION_SECONDS };
    Ok(([(SET_COOKIE, set_cookie)], Success::new(body)).into_response())
}

/// Log out: clears the session cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "profile", security(()),
    responses((status = 200, body = Success)))]
pub async fn logout(State(state): State<AppState>) -> Response {
    ([(SET_COOKIE, cookie(&state, "", 0))], Success::done()).into_response()
}
