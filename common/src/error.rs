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
    /// A request this deployment can never serve (e.g. running an agent locally that has no
    /// local form): 501.
    NotImplemented,
    /// Anything else; never carries details to the client: 500.
    Internal,
}

impl ErrorCode {
    pub const ALL: [Self; 10] = [
        Self::InvalidArgument,
        Self::Unprocessable,
        Self::NotFound,
        Self::Conflict,
        Self::PermissionDenied,
        Self::Unauthenticated,
        Self::TooManyRequests,
        Self::Unavailable,
        Self::NotImplemented,
        Self::Internal,
    ];

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
            Self::NotImplemented => "not_implemented",
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
            Self::NotImplemented => 501,
            Self::Internal => 500,
        }
    }

    /// 5xx: our failure or a dependency's, logged by the hop that produced it.
    pub fn is_server_error(self) -> bool {
        matches!(self, Self::Unavailable | Self::NotImplemented | Self::Internal)
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
            Self::NotImplemented => Code::Unimplemented,
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
            Code::Unimplemented => Self::NotImplemented,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_survives_the_grpc_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_grpc(code.grpc()), code, "{code:?}");
        }
    }

    #[test]
    fn http_statuses_follow_the_contract() {
        let table: Vec<(&str, u16)> =
            ErrorCode::ALL.iter().map(|c| (c.as_str(), c.http_status())).collect();
        assert_eq!(
            table,
            [
                ("invalid_argument", 400),
                ("unprocessable", 422),
                ("not_found", 404),
                ("conflict", 409),
                ("permission_denied", 403),
                ("unauthenticated", 401),
                ("too_many_requests", 429),
                ("unavailable", 503),
                ("not_implemented", 501),
                ("internal", 500),
            ]
        );
        for code in ErrorCode::ALL {
            assert_eq!(code.is_server_error(), code.http_status() >= 500, "{code:?}");
        }
    }

    #[test]
    fn grpc_codes_without_a_peer_fold_into_the_vocabulary() {
        let folded = [
            (Code::OutOfRange, ErrorCode::InvalidArgument),
            (Code::AlreadyExists, ErrorCode::Conflict),
            (Code::DeadlineExceeded, ErrorCode::Unavailable),
            (Code::Cancelled, ErrorCode::Unavailable),
            (Code::Unknown, ErrorCode::Internal),
            (Code::DataLoss, ErrorCode::Internal),
        ];
        for (grpc, code) in folded {
            assert_eq!(ErrorCode::from_grpc(grpc), code, "{grpc:?}");
        }
    }
}
