//! `GET /api/mind/version`, `GET /health` and `GET /api/mind/health/cron`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use enneo_common::auth::Caller;
use enneo_common::grpc::request;
use enneo_proto::status::v1::GetBacklogRequest;
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
    services: BTreeMap<&'static str, &'static str>,
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
/// for its background work: `serving` while it runs, and `status`/the HTTP status follow only
/// that. Whether the work keeps up is in `backlog`, per service that answered: its event
/// outbox's `pending` events (stays near 0 while the relay keeps up), the age of the oldest
/// (`oldestPendingAgeSeconds`, `null` when none; one that keeps growing means events are not
/// going out: the broker is down, or no queue takes that event yet) and `parked` events (no
/// queue took them during about 25 minutes of attempts; kept 30 days in the service's
/// `<schema>.outbox_parked`). Alert on the numbers; they never make the answer 503.
#[utoipa::path(get, path = "/health/cron", tag = "meta", security(()),
    responses((status = 200, body = CronHealth), (status = 503, body = CronHealth)))]
pub async fn cron_health(State(state): State<AppState>) -> (StatusCode, Json<CronHealth>) {
    let (services, backlog) = tokio::join!(service_health(&state), backlogs(&state));
    let (code, status) = overall(&services);
    (code, Json(CronHealth { status, services, backlog }))
}

#[derive(Serialize, ToSchema)]
pub struct CronHealth {
    /// `ok` when every service serves, else `degraded`.
    status: &'static str,
    /// Per service: `serving`, `not_serving` or `unreachable`.
    services: BTreeMap<&'static str, &'static str>,
    /// Per service that answered: how far its background work is behind.
    backlog: BTreeMap<&'static str, ServiceBacklog>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceBacklog {
    /// The service's event outbox: events on their way to RabbitMQ.
    outbox: OutboxBacklog,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxBacklog {
    /// Events not published yet: due now, or backing off after the broker did not take them.
    pending: i64,
    /// Seconds since the oldest pending event was recorded; `null` when none is pending.
    oldest_pending_age_seconds: Option<i64>,
    /// Events given up on after their attempts, kept for an operator.
    parked: i64,
}

/// The backlog of every service that answers within the health checks' deadline.
async fn backlogs(state: &AppState) -> BTreeMap<&'static str, ServiceBacklog> {
    let asks = state.status_clients().into_iter().map(|(name, mut client)| async move {
        let mut request = request(GetBacklogRequest {}, &Caller::system());
        request.set_timeout(Duration::from_secs(2));
        match client.get_backlog(request).await {
            Ok(answer) => answer.into_inner().outbox.map(|outbox| {
                let outbox = OutboxBacklog {
                    pending: outbox.pending,
                    oldest_pending_age_seconds: outbox.oldest_pending_age_seconds,
                    parked: outbox.parked,
                };
                (name, ServiceBacklog { outbox })
            }),
            Err(status) => {
                // An unreachable service shows as such in `services` already.
                tracing::debug!(service = name, code = ?status.code(), "no backlog");
                None
            }
        }
    });
    futures_util::future::join_all(asks).await.into_iter().flatten().collect()
}

/// Health of the gateway and every service behind it (public).
#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let services = service_health(&state).await;
    let (code, status) = overall(&services);
    (code, Json(Health { status, services }))
}

/// Every service's gRPC health.
async fn service_health(state: &AppState) -> BTreeMap<&'static str, &'static str> {
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
    futures_util::future::join_all(checks).await.into_iter().collect()
}

fn overall(services: &BTreeMap<&'static str, &'static str>) -> (StatusCode, &'static str) {
    if services.values().all(|s| *s == "serving") {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    }
}
