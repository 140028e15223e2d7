//! The one error vocabulary every service and the gateway share.
//!
//! A service error becomes a `tonic::Status` with the matching gRPC code; the gateway turns the
//! gRPC code back into an HTTP status and a JSON body. Keeping the table in one place is what
//! makes "a 404 in ticket-svc is a 404 at the edge" true.

use tonic::Code;

/// Stable, client-visible error codes (the `code` field of error bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Malformed input: 400.
    InvalidArgument,
    /// Well-formed input that breaks a rule (e.g. `pending` without a future `dueBy`): 422.
    Unprocessable,
    /// 404.
    NotFound,
    /// A write that lost a race or collides with existing state: 409.
    Conflict,
    /// Authenticated but not allowed: 403.
    PermissionDenied,
    /// Missing or invalid credentials: 401.
    Unauthenticated,
    /// Too many attempts (e.g. failed logins): 429.
    TooManyRequests,
    /// A dependency is down or timed out: 503.
    Unavailable,
    /// Anything else; never carries details to the client: 500.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Unprocessable => "unprocessable",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PermissionDenied => "permission_denied",
            Self::Unauthenticated => "unauthenticated",
            Self::TooManyRequests => "too_many_requests",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unprocessable => 422,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PermissionDenied => 403,
            Self::Unauthenticated => 401,
            Self::TooManyRequests => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    pub fn grpc(self) -> Code {
        match self {
            Self::InvalidArgument => Code::InvalidArgument,
            Self::Unprocessable => Code::FailedPrecondition,
            Self::NotFound => Code::NotFound,
            Self::Conflict => Code::Aborted,
            Self::PermissionDenied => Code::PermissionDenied,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::TooManyRequests => Code::ResourceExhausted,
            Self::Unavailable => Code::Unavailable,
            Self::Internal => Code::Internal,
        }
    }

    pub fn from_grpc(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument,
            Code::FailedPrecondition => Self::Unprocessable,
            Code::NotFound => Self::NotFound,
            Code::Aborted | Code::AlreadyExists => Self::Conflict,
            Code::PermissionDenied => Self::PermissionDenied,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::ResourceExhausted => Self::TooManyRequests,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    /// A status whose message is safe to show to the caller.
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        tonic::Status::new(self.grpc(), message)
    }
}

/// Errors of the shared plumbing itself (configuration, database, broker, telemetry).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("message broker: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("serialisation: {0}")]
    Json(#[from] serde_json::Error),
    #[error("telemetry: {0}")]
    Telemetry(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
