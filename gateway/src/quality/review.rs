//! Reviewing a run's observations: set or accept the expected result of its test tickets.
//! Every change also becomes the test case's expectation (a new version, the old one kept
//! with who and when) and the run's tickets are scored and counted again.

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::quality::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{ExpectedResult, TestTicket, document, documents};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, PathIds, RawBody};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reviewed {
    message: String,
    #[schema(value_type = TestTicket)]
    test_ticket: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllReviewed {
    message: String,
    #[schema(value_type = Vec<TestTicket>)]
    test_tickets: Vec<Value>,
}

fn reviewed(found: pb::TestTicketsResponse, message: &str) -> Result<Success<Reviewed>, ApiError> {
    let first = found
        .test_tickets_json
        .first()
        .ok_or_else(|| ApiError::internal_because("quality-svc answered no test ticket"))?;
    Ok(Success::new(Reviewed { message: message.into(), test_ticket: document(first)? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedBody {
    /// A (partial) expected result; null removes the expectation.
    #[schema(value_type = Option<ExpectedResult>)]
    expected_result: Value,
}

/// Update the expected result of a test ticket.
///
/// Needs `aiQualityCheckEdit`. `ticketId` is the ticket's id, not the test ticket's. The
/// expectation also becomes the test case's, for later runs.
#[utoipa::path(patch, path = "/aiQualityCheck/testRun/{testRunId}/updateExpectedResult/{ticketId}",
    tag = "aiQualityCheck", params(("testRunId" = i64, Path), ("ticketId" = i64, Path)),
    request_body = ExpectedBody,
    responses((status = 200, body = Success<Reviewed>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_expected_result(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(test_run_id, ticket_id): PathIds,
    body: RawBody,
) -> Result<Success<Reviewed>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let body: ExpectedBody = body.parse()?;
    let req = pb::UpdateExpectedResultRequest {
        test_run_id,
        ticket_id,
        expected_result_json: body.expected_result.to_string(),
    };
    let found = state.quality().update_expected_result(request(req, &caller)).await?.into_inner();
    reviewed(found, "Test ticket expected result updated successfully")
}

/// Accept the observed result of a test ticket as expected.
///
/// Needs `aiQualityCheckEdit`. Also rewrites the test case's expectation for later runs
/// (the previous one is kept as a version) and recomputes the run's statistics. 422 when the
/// ticket has not been tested yet.
#[utoipa::path(patch, path = "/aiQualityCheck/testRun/{testRunId}/acceptExpectedResult/{ticketId}",
    tag = "aiQualityCheck", params(("testRunId" = i64, Path), ("ticketId" = i64, Path)),
    responses((status = 200, body = Success<Reviewed>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn accept_expected_result(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathIds(test_run_id, ticket_id): PathIds,
) -> Result<Success<Reviewed>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let req = pb::AcceptExpectedResultRequest { test_run_id, ticket_id };
    let found = state.quality().accept_expected_result(request(req, &caller)).await?.into_inner();
    reviewed(found, "Test ticket expected result accepted successfully")
}

/// Accept every observed result of a run as expected.
///
/// Needs `aiQualityCheckEdit`. As accepting one, for each tested ticket of the run.
#[utoipa::path(post, path = "/aiQualityCheck/testRun/{testRunId}/acceptAllExpectedResults",
    tag = "aiQualityCheck", params(("testRunId" = i64, Path)),
    responses((status = 200, body = Success<AllReviewed>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn accept_all_expected_results(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<AllReviewed>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let found =
        state.quality().accept_all_expected_results(request(pb::RunRef { id }, &caller)).await?;
    Ok(Success::new(AllReviewed {
        message: "All test ticket expected results accepted successfully".into(),
        test_tickets: documents(&found.into_inner().test_tickets_json)?,
    }))
}
