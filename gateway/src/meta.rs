//! `GET /api/mind/version`, `GET /health` and `GET /api/mind/health/cron`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Success;
use crate::error::ErrorBody;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    version: &'static str,
    commit: &'static str,
    build_date: &'static str,
}

/// Version of this build.
#[utoipa::path(get, path = "/version", tag = "meta",
    responses((status = 200, body = Success<Version>), (status = 401, body = ErrorBody)))]
pub async fn version(_auth: Auth) -> Success<Version> {
    Success::new(Version {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("ENNEO_GIT_COMMIT"),
        build_date: env!("ENNEO_BUILD_DATE"),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when every service serves, else `degraded`.
    status: &'static str,
    /// Per service: `serving`, `not_serving` or `unreachable`.
    services: std::collections::BTreeMap<&'static str, &'static str>,
}

/// Health of the gateway and every service behind it (public), under the API's base path too:
/// clients and the vendor's troubleshooting call `${BASE}/health` with `BASE` ending in
/// `/api/mind`.
#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn api_health(state: State<AppState>) -> (StatusCode, Json<Health>) {
    health(state).await
}

/// Health of the background work (public): outbox relays, job workers and event consumers.
///
/// They run inside their service's process and stop with it, so each service's health stands
/// for its background work: `serving` while it runs.
#[utoipa::path(get, path = "/health/cron", tag = "meta", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn cron_health(state: State<AppState>) -> (StatusCode, Json<Health>) {
    // No service reports a backlog (pending jobs, oldest unpublished event) over gRPC yet;
    // until one does, the process's health is what can be told.
    health(state).await
}

/// Health of the gateway and every service behind it (public).
#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let checks = state.health_clients().into_iter().map(|(name, mut client)| async move {
        let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
        request.set_timeout(Duration::from_secs(2));
        let status = match client.check(request).await {
            Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => "serving",
            Ok(_) => "not_serving",
            Err(_) => "unreachable",
        };
        (name, status)
    });
    let services: std::collections::BTreeMap<_, _> =
        futures_util::future::join_all(checks).await.into_iter().collect();
    let healthy = services.values().all(|s| *s == "serving");
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Health { status: if healthy { "ok" } else { "degraded" }, services }))
}
