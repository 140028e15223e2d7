//! The error of a service request, shared by every service.
//!
//! Each variant is one code of the [`ErrorCode`] vocabulary; [`Error::Database`] keeps the sqlx
//! error so the code follows [`crate::db::error_code`] and a violated constraint can be given a
//! domain message ([`OnConstraint`]). Turning an error into a `tonic::Status` happens in one
//! place, which is also where a 5xx is logged: once, with the gateway's request id, and marked
//! so the gateway does not log it a second time.

use std::fmt::Display;

use crate::ErrorCode;

/// Set on a status whose failure the service has already logged.
pub const LOGGED: &str = "x-enneo-logged";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// Something we depend on is unreachable. The message goes to the caller; the cause is
    /// only logged.
    #[error("{message}")]
    Unavailable { message: String, cause: Option<String> },
    /// A request this deployment can never serve; the message says why.
    #[error("{0}")]
    NotImplemented(String),
    /// Ours. Logged; the caller reads "internal error".
    #[error("{0}")]
    Internal(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable { message: message.into(), cause: None }
    }

    /// Unavailable, with the failure behind it for the log.
    pub fn unavailable_because(message: impl Into<String>, cause: impl Display) -> Self {
        Self::Unavailable { message: message.into(), cause: Some(cause.to_string()) }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::Unprocessable(_) => ErrorCode::Unprocessable,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::TooManyRequests(_) => ErrorCode::TooManyRequests,
            Self::Unavailable { .. } => ErrorCode::Unavailable,
            Self::NotImplemented(_) => ErrorCode::NotImplemented,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Database(e) => crate::db::error_code(e),
        }
    }

    /// The database constraint this error violated, if it is one.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Self::Database(sqlx::Error::Database(e)) => e.constraint(),
            _ => None,
        }
    }

    /// The message a caller may see; internals are logged, not returned.
    pub fn public_message(&self) -> String {
        match (self, self.code()) {
            (_, ErrorCode::Internal) => "internal error".to_owned(),
            (Self::Database(_), ErrorCode::Unavailable) => "database unavailable".to_owned(),
            (Self::Database(_), ErrorCode::Conflict) => format!(
                "conflicts with existing data ({})",
                self.constraint().unwrap_or("constraint")
            ),
            _ => self.to_string(),
        }
    }

    fn log(&self) {
        let code = self.code().as_str();
        let cause = match self {
            Self::Unavailable { cause, .. } => cause.as_deref(),
            _ => None,
        };
        let request_id = crate::request_id::current();
        let request_id = request_id.as_deref();
        match self.code() {
            ErrorCode::Internal => {
                tracing::error!(code, request_id, error = %self, cause, "request failed")
            }
            _ => tracing::warn!(code, request_id, error = %self, cause, "request failed"),
        }
    }
}

/// Gives a violated constraint its domain meaning, e.g. a duplicate name becomes a 409 that
/// says so. Every other error passes through unchanged.
pub trait OnConstraint<T> {
    fn on_constraint(self, constraint: &str, error: impl FnOnce() -> Error) -> Result<T>;
}

impl<T, E: Into<Error>> OnConstraint<T> for std::result::Result<T, E> {
    fn on_constraint(self, constraint: &str, error: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|e| {
            let e = e.into();
            if e.constraint() == Some(constraint) { error() } else { e }
        })
    }
}

impl From<crate::Error> for Error {
    fn from(err: crate::Error) -> Self {
        match err {
            crate::Error::Database(e) => Self::Database(e),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A protobuf message that does not decode is bad input, whoever sent it.
impl From<prost::DecodeError> for Error {
    fn from(err: prost::DecodeError) -> Self {
        Self::InvalidArgument(format!("malformed message: {err}"))
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        let code = err.code();
        let mut status = code.status(err.public_message());
        if code.is_server_error() {
            err.log();
            status.metadata_mut().insert(LOGGED, tonic::metadata::MetadataValue::from_static("1"));
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn each_variant_has_its_code_and_grpc_status() {
        let cases = [
            (Error::InvalidArgument("x".into()), ErrorCode::InvalidArgument),
            (Error::Unprocessable("x".into()), ErrorCode::Unprocessable),
            (Error::NotFound("x".into()), ErrorCode::NotFound),
            (Error::Conflict("x".into()), ErrorCode::Conflict),
            (Error::PermissionDenied("x".into()), ErrorCode::PermissionDenied),
            (Error::Unauthenticated("x".into()), ErrorCode::Unauthenticated),
            (Error::TooManyRequests("x".into()), ErrorCode::TooManyRequests),
            (Error::unavailable("x"), ErrorCode::Unavailable),
            (Error::NotImplemented("x".into()), ErrorCode::NotImplemented),
            (Error::Internal("x".into()), ErrorCode::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(tonic::Status::from(err).code(), code.grpc());
        }
    }

    #[test]
    fn messages_reach_the_caller_except_internals() {
        let status = tonic::Status::from(Error::NotFound("ticket 7 not found".into()));
        assert_eq!(status.message(), "ticket 7 not found");
        assert!(status.metadata().get(LOGGED).is_none(), "4xx are not logged");

        let status = tonic::Status::from(Error::Internal("column x does not exist".into()));
        assert_eq!(status.message(), "internal error");
        assert!(status.metadata().get(LOGGED).is_some());

        let status =
            tonic::Status::from(Error::unavailable_because("tags cannot be checked", "refused"));
        assert_eq!(status.message(), "tags cannot be checked");

        let status = tonic::Status::from(Error::Database(sqlx::Error::PoolTimedOut));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(status.message(), "database unavailable");

        let status = tonic::Status::from(Error::Database(sqlx::Error::RowNotFound));
        assert_eq!((status.code(), status.message()), (tonic::Code::Internal, "internal error"));
    }

    #[test]
    fn plumbing_errors_keep_database_failures_apart() {
        let err = Error::from(crate::Error::Database(sqlx::Error::PoolClosed));
        assert_eq!(err.code(), ErrorCode::Unavailable);
        let err = Error::from(crate::Error::Config("bad".into()));
        assert_eq!(err.code(), ErrorCode::Internal);
    }

    #[test]
    fn a_proto_that_does_not_decode_is_invalid_argument() {
        use prost::Message as _;
        let err = Error::from(String::decode(&[0xff_u8][..]).unwrap_err());
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
    }

    #[test]
    fn on_constraint_leaves_other_errors_alone() {
        let result: Result<()> = Err(Error::NotFound("gone".into()));
        let mapped = result.on_constraint("x_key", || Error::Conflict("taken".into()));
        assert!(matches!(mapped, Err(Error::NotFound(_))));
        let result: std::result::Result<(), sqlx::Error> = Err(sqlx::Error::RowNotFound);
        let mapped = result.on_constraint("x_key", || Error::Conflict("taken".into()));
        assert!(matches!(mapped, Err(Error::Database(_))));
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_while(f: impl FnOnce()) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber =
            tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[tokio::test]
    async fn a_5xx_is_logged_once_with_the_request_id() {
        let log = crate::request_id::scope("req-42".into(), async {
            logged_while(|| {
                let _ = tonic::Status::from(Error::Internal("relation missing".into()));
                let _ = tonic::Status::from(Error::NotFound("no ticket".into()));
            })
        })
        .await;
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 1, "{log}");
        assert!(lines[0].contains(r#"request_id="req-42""#), "{log}");
        assert!(lines[0].contains("relation missing"), "{log}");
    }
}
