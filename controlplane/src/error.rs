//! API errors: a stable code, a message naming the offending value, the right HTTP status.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::wire::{ErrorBody, ErrorDetail};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An `Idempotency-Key` reused with another method, path or body (the message says which).
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// A request body larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A request body whose `Content-Type` is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests for this API key; retry after a second")]
    RateLimited,
    #[error("storage error: {0}")]
    Storage(#[from] sqlx::Error),
}

impl ApiError {
    /// 400 with a code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// 409 with a code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Status and stable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            ApiError::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::IdempotencyKeyReused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            ApiError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            ApiError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }
}

/// Longest error message, in characters; the field checks shorten the values they quote well below this.
pub const MAX_MESSAGE: usize = 600;

/// A message cut to [`MAX_MESSAGE`] characters, keeping its start (which names the field) and its end (which
/// says what is wrong), so no error echoes a huge value back.
///
/// ```
/// use controlplane::error::shorten_message;
/// let long = format!("name: \"{}\" is too long", "x".repeat(10_000));
/// let short = shorten_message(long);
/// assert!(short.chars().count() <= 600 && short.starts_with("name: ") && short.ends_with("is too long"));
/// ```
pub fn shorten_message(message: String) -> String {
    let count = message.chars().count();
    if count <= MAX_MESSAGE {
        return message;
    }
    let head: String = message.chars().take(360).collect();
    let tail: String = message.chars().skip(count - 200).collect();
    format!("{head} … [{} characters left out] … {tail}", count - 560)
}

/// The JSON error response for a status, code and message.
pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: shorten_message(message.into()),
            },
        }),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "storage error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        error_response(status, code, message)
    }
}
