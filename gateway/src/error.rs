//! Every error the gateway answers with: `{"success": false, "error": "...", "code": "..."}`
//! and the HTTP status of the shared vocabulary. 5xx bodies never carry internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use enneo_common::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// The error envelope of the contract (§0, Error schema).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false.
    pub success: bool,
    pub error: String,
    /// Stable machine-readable code, e.g. `not_found`, `invalid_argument`.
    pub code: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// A failure that is ours; the caller learns nothing more (it is logged where it happens).
    pub fn internal() -> Self {
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
        let message = match code {
            ErrorCode::Internal => {
                tracing::error!(grpc_code = ?status.code(), message = status.message(), "service failed");
                "internal error".to_owned()
            }
            ErrorCode::Unavailable => {
                tracing::warn!(grpc_code = ?status.code(), message = status.message(), "service unavailable");
                "service unavailable, try again shortly".to_owned()
            }
            _ => status.message().to_owned(),
        };
        Self { code, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            ErrorBody { success: false, error: self.message, code: self.code.as_str().into() };
        (status, Json(body)).into_response()
    }
}

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
