//! The answer of every bulk endpoint (`PATCH /ticket`, `PATCH /profiles`, …): each item applies
//! or fails on its own, and the answer says how each one went, in the order sent.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// How one item went.
#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    /// Null when the item had no valid id.
    id: Option<i64>,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl BulkResult {
    pub fn applied(id: Option<i64>) -> Self {
        Self { id, success: true, code: None, error: None }
    }

    /// Failed with a code of the shared vocabulary (`not_found`, `conflict`, …).
    pub fn failed(id: Option<i64>, code: impl Into<String>, error: impl Into<String>) -> Self {
        Self { id, success: false, code: Some(code.into()), error: Some(error.into()) }
    }

    pub fn of(id: Option<i64>, outcome: Result<(), ApiError>) -> Self {
        match outcome {
            Ok(()) => Self::applied(id),
            Err(e) => Self::failed(id, e.code.as_str(), e.message),
        }
    }
}

/// `success` is true when every item applied; `results` says how each one went, in order.
#[derive(Serialize, ToSchema)]
pub struct BulkResponse {
    success: bool,
    results: Vec<BulkResult>,
}

impl FromIterator<BulkResult> for BulkResponse {
    fn from_iter<I: IntoIterator<Item = BulkResult>>(items: I) -> Self {
        let results: Vec<BulkResult> = items.into_iter().collect();
        Self { success: results.iter().all(|r| r.success), results }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failed_item_makes_the_whole_answer_unsuccessful() {
        let all: BulkResponse =
            [BulkResult::applied(Some(1)), BulkResult::applied(Some(2))].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&all).unwrap(),
            r#"{"success":true,"results":[{"id":1,"success":true},{"id":2,"success":true}]}"#
        );
        let mixed: BulkResponse = [
            BulkResult::applied(Some(1)),
            BulkResult::of(None, Err(ApiError::bad_request("each item needs an id"))),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            serde_json::to_string(&mixed).unwrap(),
            r#"{"success":false,"results":[{"id":1,"success":true},{"id":null,"success":false,"code":"invalid_argument","error":"each item needs an id"}]}"#
        );
    }
}
