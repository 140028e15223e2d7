use enneo_common::ErrorCode;

/// Everything a ticket operation can fail with; maps onto the shared error vocabulary.
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
    /// Another service we need for this request is unreachable.
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
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::PermissionDenied(_) => ErrorCode::PermissionDenied,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Database(e) => enneo_common::db::error_code(e),
            Self::Common(_) => ErrorCode::Internal,
        }
    }

    /// The message a caller may see; internals are logged, not returned.
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal error".to_owned(),
            ErrorCode::Unavailable => match self {
                Self::Unavailable(message) => message.clone(),
                _ => "database unavailable".to_owned(),
            },
            ErrorCode::Conflict => match self {
                Self::Database(sqlx::Error::Database(e)) => {
                    format!(
                        "conflicts with existing data ({})",
                        e.constraint().unwrap_or("constraint")
                    )
                }
                other => other.to_string(),
            },
            _ => self.to_string(),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        let code = err.code();
        if matches!(code, ErrorCode::Internal | ErrorCode::Unavailable) {
            tracing::error!(error = %err, "request failed");
        }
        code.status(err.public_message())
    }
}
