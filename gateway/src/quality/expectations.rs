//! A test case's expectation history, and rolling back to an earlier expectation.

use axum::extract::State;
use enneo_common::ErrorCode;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::quality::v1 as pb;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{ExpectedResult, TestCase, document, documents};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, PathIds};

/// One expectation a test case had.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExpectationVersion {
    /// 1 for the first expectation, one more for every change.
    version: i32,
    #[schema(value_type = Option<ExpectedResult>)]
    expected_result: Value,
    /// create | update | accept | acceptAll | updateExpectedResult | rollback
    reason: String,
    /// The run whose observation was accepted, if any.
    test_run_id: Option<i64>,
    set_by: i64,
    set_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expectations {
    /// Newest first.
    #[schema(value_type = Vec<ExpectationVersion>)]
    expectations: Vec<Value>,
}

/// List a test case's expectation versions.
///
/// Needs `aiQualityCheckView`. Every expectation the case has had, newest first, with who set
/// it, when and how (created, updated, accepted from a run, rolled back).
#[utoipa::path(get, path = "/aiQualityCheck/testCase/{id}/expectations", tag = "aiQualityCheck",
    params(("id" = i64, Path, description = "The test case's id")),
    responses((status = 200, body = Success<Expectations>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn expectations(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<Expectations>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let found = state.quality().list_expectations(request(pb::TestCaseRef { id }, &caller)).await?;
    Ok(Success::new(Expectations {
        expectations: documents(&found.into_inner().expectations_json)?,
    }))
}

/// Roll a test case back to an earlier expectation.
///
/// Needs `aiQualityCheckEdit`. The old expectation becomes current again as a new version
/// (reason `rollback`); nothing in the history is rewritten. 404 for an unknown case or
/// version, 422 for the version that is already current.
#[utoipa::path(post, path = "/aiQualityCheck/testCase/{id}/expectations/{version}/restore",
    tag = "aiQualityCheck",
    params(("id" = i64, Path, description = "The test case's id"), ("version" = i64, Path)),
    responses((status = 200, body = Success<TestCase>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn restore_expectation(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(id, version): PathIds,
) -> Result<Success<Value>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let version = i32::try_from(version).map_err(|_| {
        ApiError::new(ErrorCode::NotFound, format!("test case {id} has no version {version}"))
    })?;
    let req = pb::RollBackExpectationRequest { test_case_id: id, version };
    let found = state.quality().roll_back_expectation(request(req, &caller)).await?.into_inner();
    Ok(Success::new(document(&found.test_case_json)?))
}
