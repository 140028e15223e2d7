//! The success envelope of the contract: `{"success": true, ...fields}`. Errors have their own
//! (`crate::error::ErrorBody`).

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A successful answer: `success: true`, then the fields of `T` at the same level.
#[derive(Serialize, ToSchema)]
pub struct Success<T = Nothing> {
    /// Always true.
    success: bool,
    #[serde(flatten)]
    body: T,
}

impl<T> Success<T> {
    pub fn new(body: T) -> Self {
        Self { success: true, body }
    }
}

impl Success {
    /// `{"success": true}` and nothing else.
    pub fn done() -> Self {
        Self::new(Nothing {})
    }
}

/// No fields: `Success<Nothing>` is the bare `{"success": true}`.
#[derive(Serialize, ToSchema)]
pub struct Nothing {}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        total: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_id: Option<i64>,
        items: Vec<&'static str>,
    }

    #[test]
    fn success_comes_first_and_the_fields_follow_in_order() {
        let page = Page { total: 2, next_id: None, items: vec!["a", "b"] };
        assert_eq!(
            serde_json::to_string(&Success::new(page)).unwrap(),
            r#"{"success":true,"total":2,"items":["a","b"]}"#
        );
        assert_eq!(serde_json::to_string(&Success::done()).unwrap(), r#"{"success":true}"#);
    }
}
