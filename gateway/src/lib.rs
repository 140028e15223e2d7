//! The Enneo Mind gateway: authenticates every request, translates REST into gRPC calls to
//! the services, and serves the OpenAPI document of what it exposes.

pub mod agents;
pub mod ai_agents;
pub mod auth;
pub mod bulk;
pub mod config;
pub mod customers;
pub mod docs;
pub mod envelope;
pub mod error;
pub mod exports;
pub mod intents;
pub mod json;
pub mod mailbox;
pub mod meta;
pub mod profiles;
pub mod quality;
pub mod roles;
pub mod settings;
pub mod tags;
pub mod teams;
pub mod tickets;
pub mod time;

/// The build script's stamp checks, run with the unit tests.
#[cfg(test)]
#[path = "../build.rs"]
#[allow(dead_code)]
mod build_script;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use enneo_proto::agent::v1::agent_service_client::AgentServiceClient;
use enneo_proto::quality::v1::quality_service_client::QualityServiceClient;
use enneo_proto::settings::v1::identity_service_client::IdentityServiceClient;
use enneo_proto::settings::v1::settings_service_client::SettingsServiceClient;
use enneo_proto::status::v1::status_service_client::StatusServiceClient;
use enneo_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::Config;
use error::{ApiError, StartupError};

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    jwt_secret: SecretString,
    ticket: TicketServiceClient<Channel>,
    agent: AgentServiceClient<Channel>,
    quality: QualityServiceClient<Channel>,
    settings: SettingsServiceClient<Channel>,
    identity: IdentityServiceClient<Channel>,
    cookie_secure: bool,
    services: Vec<(&'static str, Channel)>,
}

impl AppState {
    pub fn new(config: &Config) -> Result<Self, StartupError> {
        let channel = enneo_common::grpc::channel;
        let ticket = channel(&config.ticket_url)?;
        let agent = channel(&config.agent_url)?;
        let settings = channel(&config.settings_url)?;
        let quality = channel(&config.quality_url)?;
        let services = vec![
            ("ticket-svc", ticket.clone()),
            ("agent-svc", agent.clone()),
            ("quality-svc", quality.clone()),
            ("settings-svc", settings.clone()),
        ];
        Ok(Self {
            inner: Arc::new(Inner {
                jwt_secret: config.jwt_secret.clone(),
                ticket: TicketServiceClient::new(ticket),
                agent: AgentServiceClient::new(agent),
                quality: QualityServiceClient::new(quality),
                settings: SettingsServiceClient::new(settings.clone()),
                identity: IdentityServiceClient::new(settings),
                cookie_secure: config.cookie_secure,
                services,
            }),
        })
    }

    pub fn tickets(&self) -> TicketServiceClient<Channel> {
        self.inner.ticket.clone()
    }

    pub fn agents(&self) -> AgentServiceClient<Channel> {
        self.inner.agent.clone()
    }

    pub fn quality(&self) -> QualityServiceClient<Channel> {
        self.inner.quality.clone()
    }

    pub fn settings(&self) -> SettingsServiceClient<Channel> {
        self.inner.settings.clone()
    }

    pub fn identity(&self) -> IdentityServiceClient<Channel> {
        self.inner.identity.clone()
    }

    pub(crate) fn cookie_secure(&self) -> bool {
        self.inner.cookie_secure
    }

    pub(crate) fn jwt_secret(&self) -> &SecretString {
        &self.inner.jwt_secret
    }

    fn health_clients(&self) -> Vec<(&'static str, HealthClient<Channel>)> {
        self.inner
            .services
            .iter()
            .map(|(name, ch)| (*name, HealthClient::new(ch.clone())))
            .collect()
    }

    /// Each service's status service: the backlog of its background work.
    fn status_clients(&self) -> Vec<(&'static str, StatusServiceClient<Channel>)> {
        self.inner
            .services
            .iter()
            .map(|(name, ch)| (*name, StatusServiceClient::new(ch.clone())))
            .collect()
    }
}

/// Every route, each declared once (`routes!`) for both the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(tickets::routes())
        .merge(customers::routes())
        .merge(agents::routes())
        .merge(ai_agents::routes())
        .merge(intents::routes())
        .merge(quality::routes())
        .merge(settings::routes())
        .merge(mailbox::routes())
        .merge(tags::routes())
        .merge(profiles::routes())
        .merge(roles::routes())
        .merge(teams::routes())
        .merge(exports::routes())
        .routes(routes!(meta::version))
        .routes(routes!(meta::api_health))
        .routes(routes!(meta::cron_health))
        .routes(routes!(docs::page))
        .routes(routes!(docs::asset))
        .routes(routes!(docs::yaml))
        .routes(routes!(docs::json));
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .nest("/api/mind", api)
        .routes(routes!(meta::health))
}

/// The OpenAPI document of everything [`routes`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(with_request_id))
        .layer(PropagateRequestIdLayer::x_request_id())
        // 5xx are logged once, where they arise (see `error`), not again for the response.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// One span per request, joined to the caller's trace (W3C `traceparent`).
fn request_span(request: &Request) -> tracing::Span {
    let request_id =
        request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let span = tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id);
    let headers = request.headers();
    enneo_common::telemetry::set_remote_parent(&span, |key| {
        headers.get(key).and_then(|v| v.to_str().ok()).map(str::to_owned)
    });
    span
}

/// Hands the request id to the gRPC calls the request makes (see `grpc::request`).
async fn with_request_id(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let id = request
        .headers()
        .get(enneo_common::request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    enneo_common::request_id::scope(id, next.run(request)).await
}

async fn not_found() -> ApiError {
    ApiError::new(enneo_common::ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let body = error::ErrorBody {
        success: false,
        error: "method not allowed on this route".into(),
        code: "method_not_allowed".into(),
        violations: None,
    };
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Serves HTTP on `listener` until `shutdown`, then drains in-flight requests.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartupError> {
    let app = router(AppState::new(&config)?);
    // TCP_NODELAY: larger responses must not wait for the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(%err, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(())
}
