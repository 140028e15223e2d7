use enneo_common::ErrorCode;

/// Everything a settings operation can fail with; maps onto the shared error vocabulary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A system we depend on (e.g. an OAuth provider) is unreachable.
    #[error("{0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Common(#[from] enneo_common::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::Unprocessable(_) => ErrorCode::Unprocessable,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::TooManyRequests(_) => ErrorCode::TooManyRequests,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Database(e) => enneo_common::db::error_code(e),
            Self::Common(_) => ErrorCode::Internal,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        let code = err.code();
        let message = match code {
            ErrorCode::Internal => {
                tracing::error!(error = %err, "request failed");
                "internal error".to_owned()
            }
            ErrorCode::Unavailable => match &err {
                Error::Unavailable(message) => message.clone(),
                _ => "database unavailable".to_owned(),
            },
            ErrorCode::Conflict => match &err {
                Error::Conflict(message) => message.clone(),
                _ => "conflicts with existing data".to_owned(),
            },
            _ => err.to_string(),
        };
        code.status(message)
    }
}
