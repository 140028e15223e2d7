//! The HTTP headers of ticket writes: `Idempotency-Key` on create and bulk update, `ETag` out
//! and `If-Match` back in for optimistic updates.

use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::header::{ETAG, IF_MATCH};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `Idempotency-Key` header, if sent.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| {
            v.to_str()
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v.len() <= 255)
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key must be 1 to 255 visible characters")
                })
        })
        .transpose()
}

/// `ETag: "<version>"`: send it back in `If-Match` to update only what you read.
pub(crate) fn with_etag(body: impl IntoResponse, version: i64) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request("If-Match must be an ETag this API returned, e.g. \"3\"")
        })
}
