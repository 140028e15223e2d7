//! Connecting a mailbox to Microsoft 365 with OAuth (contract §5.1, 13–14).

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::QueryParams;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(authorization)).routes(routes!(callback))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuthorizationParams {
    /// The mailbox (an e-mail subchannel) to connect.
    subchannel_id: i64,
}

/// Redirect to the Microsoft authorization page.
///
/// Answers 302 to the configured authorize URL with client id, scopes, redirect URI and a
/// signed `state` that expires after ten minutes. Needs `updateClientSettings`.
#[utoipa::path(get, path = "/settings/mailbox/microsoft/authorization", tag = "settings",
    params(AuthorizationParams),
    responses((status = 302, description = "To the Microsoft consent page"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "Mailbox OAuth is not configured", body = ErrorBody)))]
pub async fn authorization(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<AuthorizationParams>,
) -> Result<Response, ApiError> {
    let req = pb::MicrosoftAuthorizationRequest { subchannel_id: p.subchannel_id };
    let url =
        state.settings().microsoft_authorization(request(req, &caller)).await?.into_inner().url;
    let location = HeaderValue::from_str(&url).map_err(|_| ApiError::internal())?;
    Ok((StatusCode::FOUND, [(LOCATION, location)]).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    /// Set by Microsoft when the user declined or the request was wrong.
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    subchannel_id: i64,
}

/// Callback for Microsoft authorization.
///
/// Where Microsoft sends the browser back (the session cookie authenticates it). Checks the
/// `state`, exchanges the code for tokens and stores them encrypted on the mailbox.
#[utoipa::path(get, path = "/settings/mailbox/microsoft/callback", tag = "settings",
    params(CallbackParams),
    responses((status = 200, body = Success<Connected>), (status = 400, description = "Declined, or a forged/expired state", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 422, description = "The token endpoint refused the code", body = ErrorBody),
        (status = 503, description = "The token endpoint is unreachable", body = ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<CallbackParams>,
) -> Result<Success<Connected>, ApiError> {
    if let Some(error) = p.error {
        let detail = p.error_description.unwrap_or_default();
        return Err(ApiError::bad_request(
            format!("Microsoft refused the connection: {error} {detail}").trim().to_owned(),
        ));
    }
    let (Some(code), Some(oauth_state)) = (p.code, p.state) else {
        return Err(ApiError::bad_request("code and state are required"));
    };
    let req = pb::MicrosoftCallbackRequest { code, state: oauth_state };
    let done = state.settings().microsoft_callback(request(req, &caller)).await?.into_inner();
    Ok(Success::new(Connected { subchannel_id: done.subchannel_id }))
}
