//! Serving and calling gRPC: health, per-request spans joined to the caller's trace, drain on
//! shutdown, and lazily connected client channels with deadlines.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::{Channel, Endpoint, Server};
use tower::layer::util::{Identity, Stack};

use crate::auth::Caller;

/// The server [`server`] builds, holding its services.
pub type ServerRouter = Router<Stack<crate::request_id::ServerLayer, Identity>>;

/// A server builder whose every request gets a span that continues the caller's trace and
/// names the gateway's request id, which is also the current one while the call is served.
pub fn server() -> Server<Stack<crate::request_id::ServerLayer, Identity>> {
    Server::builder().layer(crate::request_id::ServerLayer).trace_fn(
        |request: &http::Request<()>| {
            let headers = request.headers();
            let request_id =
                headers.get(crate::request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let span = tracing::info_span!("grpc", path = %request.uri().path(), request_id);
            crate::telemetry::set_remote_parent(&span, |key| {
                headers.get(key).and_then(|v| v.to_str().ok()).map(str::to_owned)
            });
            span
        },
    )
}

/// Serves `router` (already holding the services) plus gRPC health on `listener` until
/// `shutdown`, then drains in-flight calls.
pub async fn serve(
    router: ServerRouter,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    // Without TCP_NODELAY a response spanning several packets waits for the peer's delayed
    // ACK: ~40 ms on every larger answer.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router.serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned()).await
}

/// The gRPC health service; the overall status ("") reports SERVING while the process runs.
pub fn health()
-> tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health> {
    let (_reporter, service) = tonic_health::server::health_reporter();
    service
}

/// A channel that connects on first use, so a caller starts even while a service is down.
pub fn channel(url: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .connect_lazy())
}

/// Wraps `message` with the caller's identity, the request id, the current trace context and
/// a deadline.
pub fn request<T>(message: T, caller: &Caller) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    caller.inject(request.metadata_mut());
    if let Some(id) = crate::request_id::current()
        && let Ok(value) = tonic::metadata::MetadataValue::try_from(id)
    {
        request.metadata_mut().insert(crate::request_id::HEADER, value);
    }
    for (key, value) in crate::telemetry::current_trace_headers() {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value),
        ) {
            request.metadata_mut().insert(key, value);
        }
    }
    request.set_timeout(Duration::from_secs(10));
    request
}

/// The caller a service request carries; services are reached only through the gateway,
/// so a request without one is refused.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, tonic::Status> {
    Caller::extract(request.metadata())
        .ok_or_else(|| tonic::Status::unauthenticated("request carries no caller identity"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_made_for_an_http_request_carry_its_id() {
        let caller = Caller::system();
        let outside = request((), &caller);
        assert!(outside.metadata().get(crate::request_id::HEADER).is_none());
        let inside = crate::request_id::scope("req-7".into(), async { request((), &caller) }).await;
        assert_eq!(inside.metadata().get(crate::request_id::HEADER).unwrap(), "req-7");
    }
}
