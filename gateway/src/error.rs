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
        let code = ErrorCode::from_grpc(status.code());
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
    use super::*;

    async fn body_of(error: ApiError) -> (u16, serde_json::Value) {
        let response = error.into_response();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
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
