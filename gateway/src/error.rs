//! Every error the gateway answers with: `{"success": false, "error": "...", "code": "..."}`
//! and the HTTP status of the shared vocabulary. 5xx bodies never carry internals.
//!
//! A 5xx is logged once, by the hop that produced it: a service logs its own and marks the
//! status ([`service_error::LOGGED`]); the gateway logs the rest (a service it cannot reach,
//! a status no one logged, a failure of its own), inside the request's span with its id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use enneo_common::ErrorCode;
use enneo_common::service_error;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// What made a write unprocessable, one problem each (AI agent integrity, 422).
    pub violations: Option<Vec<String>>,
}

/// The error envelope of the contract (§0, Error schema).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false.
    pub success: bool,
    pub error: String,
    /// Stable machine-readable code, e.g. `not_found`, `invalid_argument`.
    pub code: String,
    /// On 422 from an AI agent write: every integrity problem of the definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub violations: Option<Vec<String>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), violations: None }
    }

    /// A failure that is ours, logged here; the caller learns nothing more.
    pub fn internal() -> Self {
        Self::internal_because("the gateway could not build the answer")
    }

    /// [`ApiError::internal`], saying in the log what went wrong.
    pub fn internal_because(what: &str) -> Self {
        let request_id = enneo_common::request_id::current();
        tracing::error!(request_id = request_id.as_deref(), what, "request failed");
        Self::new(ErrorCode::Internal, "internal error")
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let code = if is_broken_call(&status) {
            ErrorCode::Unavailable
        } else {
            ErrorCode::from_grpc(status.code())
        };
        if code.is_server_error() && !status.metadata().contains_key(service_error::LOGGED) {
            let (grpc_code, message) = (status.code(), status.message());
            let request_id = enneo_common::request_id::current();
            let request_id = request_id.as_deref();
            if code == ErrorCode::Internal {
                tracing::error!(request_id, ?grpc_code, message, "service failed");
            } else {
                tracing::warn!(request_id, ?grpc_code, message, "service unavailable");
            }
        }
        let message = match code {
            ErrorCode::Internal => "internal error".to_owned(),
            ErrorCode::Unavailable => "service unavailable, try again shortly".to_owned(),
            _ => status.message().to_owned(),
        };
        Self { code, message, violations: violations(&status) }
    }
}

/// What tonic says when a stream ends without the service's final status: the connection or
/// the stream was cut (a service restarting, a proxy dropping it) before the answer was whole.
const CUT_SHORT: &[&str] = &[
    "missing grpc-status trailer",
    "grpc-status header missing",
    "Unexpected EOF decoding stream",
];

/// Whether the call broke on the way rather than being answered: a connection refused, reset or
/// closed mid-call, an HTTP/2 failure, a truncated stream. tonic reports these as `Unknown` or
/// `Internal` built from the local error (which it keeps as the status's source; a status the
/// service sent has none) or, for a truncated stream, with a fixed message. Either way the
/// service is down or restarting: a 503 the client may retry, not a 500.
fn is_broken_call(status: &tonic::Status) -> bool {
    use std::error::Error as _;
    matches!(status.code(), tonic::Code::Unknown | tonic::Code::Internal)
        && (status.source().is_some() || CUT_SHORT.iter().any(|m| status.message().contains(m)))
}

/// The `{"violations": [...]}` a service puts in the details of an unprocessable status.
fn violations(status: &tonic::Status) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Details {
        violations: Vec<String>,
    }
    if status.code() != tonic::Code::FailedPrecondition || status.details().is_empty() {
        return None;
    }
    serde_json::from_slice::<Details>(status.details()).ok().map(|d| d.violations)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            success: false,
            error: self.message,
            code: self.code.as_str().into(),
            violations: self.violations,
        };
        let mut response = (status, Json(body)).into_response();
        if self.code == ErrorCode::Unavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
        }
        response
    }
}

/// Seconds a client should wait before retrying a 503: long enough for a restarting service.
const RETRY_AFTER_S: &str = "5";

/// Failures that stop the gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("service address: {0}")]
    Transport(#[from] tonic::transport::Error),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn body_of(error: ApiError) -> (u16, serde_json::Value) {
        let response = error.into_response();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Calls gRPC health on a server that takes the call and then drops the connection before
    /// answering: abortively (a TCP reset, as from a killed process) or with a plain close.
    async fn call_cut_mid_way(reset: bool) -> tonic::Status {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            // Take everything the client sends (preface, settings, the call) until it waits.
            let mut buf = [0u8; 4096];
            let mut received = 0;
            while let Ok(Ok(n @ 1..)) =
                tokio::time::timeout(Duration::from_millis(300), socket.read(&mut buf)).await
            {
                received += n;
            }
            if reset {
                socket.set_zero_linger().unwrap();
            }
            drop(socket);
            received
        });
        let channel = enneo_common::grpc::channel(&format!("http://{addr}")).unwrap();
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
        let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
        let status = client.check(request).await.expect_err("the call cannot succeed");
        let received = server.await.unwrap();
        assert!(received > 24, "the call never reached the server ({received} bytes)");
        status
    }

    async fn assert_retryable_503(status: tonic::Status) {
        let described = format!("{status:?}");
        let response = ApiError::from(status).into_response();
        assert_eq!(response.status(), 503, "{described}");
        assert_eq!(response.headers()[header::RETRY_AFTER], RETRY_AFTER_S, "{described}");
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"success": false, "code": "unavailable",
                "error": "service unavailable, try again shortly"}),
            "{described}"
        );
    }

    #[tokio::test]
    async fn a_connection_reset_in_the_middle_of_a_call_is_a_503_to_retry() {
        let status = call_cut_mid_way(true).await;
        // tonic does not call this unavailable itself; the shared mapping alone would say 500.
        assert!(
            matches!(status.code(), tonic::Code::Unknown | tonic::Code::Internal),
            "{status:?}"
        );
        assert_retryable_503(status).await;
    }

    #[tokio::test]
    async fn a_connection_closed_in_the_middle_of_a_call_is_a_503_to_retry() {
        assert_retryable_503(call_cut_mid_way(false).await).await;
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_503_to_retry() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let channel = enneo_common::grpc::channel(&format!("http://127.0.0.1:{port}")).unwrap();
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
        let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
        assert_retryable_503(client.check(request).await.unwrap_err()).await;
    }

    #[tokio::test]
    async fn a_stream_cut_before_its_final_status_is_a_503_to_retry() {
        // What tonic reports when the stream ends without grpc-status (RST_STREAM NO_ERROR).
        let cut = tonic::Status::unknown(
            "protocol error: missing grpc-status trailer, stream was terminated without a final status",
        );
        assert_retryable_503(cut).await;
        assert_retryable_503(tonic::Status::internal("Unexpected EOF decoding stream.")).await;
    }

    #[tokio::test]
    async fn a_failure_the_service_reports_stays_a_500() {
        for status in [tonic::Status::internal("database down"), tonic::Status::unknown("panic")] {
            let (code, body) = body_of(ApiError::from(status)).await;
            assert_eq!(code, 500);
            assert_eq!(body["code"], "internal");
            assert_eq!(body["error"], "internal error");
        }
        let response = ApiError::from(tonic::Status::internal("x")).into_response();
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[tokio::test]
    async fn an_unprocessable_status_carries_its_violations_to_the_body() {
        let details =
            br#"{"violations": ["response case 1: operand refers to unknown parameter 9"]}"#;
        let status = tonic::Status::with_details(
            tonic::Code::FailedPrecondition,
            "the AI agent breaks referential integrity",
            details.to_vec().into(),
        );
        let (code, body) = body_of(ApiError::from(status)).await;
        assert_eq!(code, 422);
        assert_eq!(
            body,
            serde_json::json!({"success": false, "error": "the AI agent breaks referential integrity",
                "code": "unprocessable",
                "violations": ["response case 1: operand refers to unknown parameter 9"]})
        );
        let plain = tonic::Status::failed_precondition("pending needs a future dueBy");
        let (_, body) = body_of(ApiError::from(plain)).await;
        assert!(body.get("violations").is_none(), "{body}");
    }
}
