//! Test runs: list, schedule, read with scores, cancel, re-run, compare, delete.

use axum::extract::State;
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::quality::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{TestRun, TestTicket, document, documents};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody, page};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only runs of this agent.
    ai_agent_id: Option<i64>,
    /// Default 100, 1 to 1000.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunList {
    /// All matches, beyond this page.
    total: i64,
    /// Newest first.
    #[schema(value_type = Vec<TestRun>)]
    test_runs: Vec<Value>,
}

/// List test runs.
///
/// Needs `aiQualityCheckView`.
#[utoipa::path(get, path = "/aiQualityCheck/testRun", tag = "aiQualityCheck", params(ListParams),
    responses((status = 200, body = Success<RunList>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_runs(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Success<RunList>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let (limit, offset) = page(p.limit, p.offset, 100, 1000)?;
    let req = pb::ListRunsRequest { ai_agent_id: p.ai_agent_id, limit, offset };
    let found = state.quality().list_runs(request(req, &caller)).await?.into_inner();
    Ok(Success::new(RunList { total: found.total, test_runs: documents(&found.test_runs_json)? }))
}

/// What a run is to test; every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleBody {
    /// None: the test cases of every agent.
    ai_agent_id: Option<i64>,
    description: Option<String>,
    /// Only these test cases.
    test_case_ids: Option<Vec<i64>>,
    /// Only test cases of tickets on this channel.
    channel: Option<String>,
    config: Option<RunConfig>,
}

/// Any other key is refused (400).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunConfig {
    /// At most this many test cases (the newest).
    limit: Option<i64>,
    /// Recorded; every replay runs the models afresh.
    re_run_models: Option<bool>,
    /// Replays of each test case, 1 to 10 (default 1). With more than one, the run reports
    /// pass^k (every replay passed) and the flaky cases; replays differ only where a model
    /// samples (an LLM), since detection without one is deterministic.
    repeats: Option<i32>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OneRun {
    #[schema(value_type = TestRun)]
    test_run: Value,
}

fn one(test_run_json: &str) -> Result<Success<OneRun>, ApiError> {
    Ok(Success::new(OneRun { test_run: document(test_run_json)? }))
}

/// Schedule a test run.
///
/// Needs `aiQualityCheckRun`. Writes the run with one test ticket per chosen test case and
/// answers at once; the replays run in the background as dry runs (nothing is written, sent
/// or called) and the run moves from `scheduled` through `processing` to `completed`
/// (`failed` when every replay failed). 422 when no test case matches.
#[utoipa::path(post, path = "/aiQualityCheck/testRun", tag = "aiQualityCheck",
    request_body(content = Option<ScheduleBody>, description = "Optional"),
    responses((status = 200, body = Success<OneRun>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn schedule_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<OneRun>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_RUN)?;
    let body: ScheduleBody = body.parse_or_default()?;
    let config = body.config.unwrap_or_default();
    let req = pb::ScheduleRunRequest {
        ai_agent_id: body.ai_agent_id,
        description: body.description,
        test_case_ids: body.test_case_ids.unwrap_or_default(),
        channel: body.channel,
        limit: config.limit,
        re_run_models: config.re_run_models,
        repeats: config.repeats,
    };
    let run = state.quality().schedule_run(request(req, &caller)).await?.into_inner();
    one(&run.test_run_json)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `{overall, contractId, intentDetection, ...}`: per dimension the mean over the tested
    /// tickets whose expectation names it; `overall` the mean of their overall scores.
    #[schema(value_type = Object)]
    scores: Value,
    #[schema(value_type = TestRun)]
    test_run: Value,
    #[schema(value_type = Vec<TestTicket>)]
    tickets: Vec<Value>,
    /// `{slug: {precision, recall, truePositives, falsePositives, falseNegatives}}` over the
    /// tickets whose expectation names `intentDetection`.
    #[schema(value_type = Object)]
    intent_detection: Value,
    /// With `config.repeats` > 1, over the test cases whose replays all completed:
    /// `{repeats, testCases, passK, passRate, flakyTestCases}` (pass^k: the share of cases
    /// whose every replay passed; flaky: replays that disagree in verdict or observation).
    /// Null otherwise.
    #[schema(value_type = Option<Object>)]
    repeatability: Value,
}

/// Get a test run with its scores and test tickets.
///
/// Needs `aiQualityCheckView`.
#[utoipa::path(get, path = "/aiQualityCheck/testRun/{testRunId}", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path)),
    responses((status = 200, body = Success<RunReport>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<RunReport>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let r = state.quality().get_run(request(pb::RunRef { id }, &caller)).await?.into_inner();
    Ok(Success::new(RunReport {
        scores: document(&r.scores_json)?,
        test_run: document(&r.test_run_json)?,
        tickets: documents(&r.test_tickets_json)?,
        intent_detection: document(&r.intent_detection_json)?,
        repeatability: document(&r.repeatability_json)?,
    }))
}

/// Delete a test run with its test tickets.
///
/// Needs `aiQualityCheckEdit`. 409 when a replay of the run is in flight and does not end
/// within a few seconds: cancel the run or try again.
#[utoipa::path(delete, path = "/aiQualityCheck/testRun/{testRunId}", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path)),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    state.quality().delete_run(request(pb::RunRef { id }, &caller)).await?;
    Ok(Success::done())
}

async fn cancel(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    id: i64,
) -> Result<Success<OneRun>, ApiError> {
    require(caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let run = state.quality().cancel_run(request(pb::RunRef { id }, caller)).await?.into_inner();
    one(&run.test_run_json)
}

/// Cancel a test run.
///
/// Needs `aiQualityCheckEdit`. Test tickets not yet tested are cancelled; a replay in flight
/// finishes and is kept. 422 when the run has already finished.
#[utoipa::path(patch, path = "/aiQualityCheck/testRun/{testRunId}/cancel", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path)),
    responses((status = 200, body = Success<OneRun>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cancel_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<OneRun>, ApiError> {
    cancel(&state, &caller, id).await
}

/// Cancel a test run (older clients' name for `PATCH …/cancel`).
#[utoipa::path(post, path = "/aiQualityCheck/testRun/{testRunId}/stop", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path)),
    responses((status = 200, body = Success<OneRun>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stop_run(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<OneRun>, ApiError> {
    cancel(&state, &caller, id).await
}

/// Re-run a test run.
///
/// Needs `aiQualityCheckRun`. Schedules a new run of the same agent and configuration over
/// the run's test cases that still exist, with their current expectations.
#[utoipa::path(post, path = "/aiQualityCheck/testRun/{testRunId}/rerun", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path)),
    responses((status = 200, body = Success<OneRun>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rerun(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success<OneRun>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_RUN)?;
    let run = state.quality().rerun_run(request(pb::RunRef { id }, &caller)).await?.into_inner();
    one(&run.test_run_json)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The run to compare with; default: the previous completed run of the same agent.
    against: Option<i64>,
}

/// A change between two runs of one test case.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CaseDiff {
    test_case_id: i64,
    ticket_id: i64,
    ai_agent_id: i64,
    /// `{state, passed, overall}` in the other run.
    #[schema(value_type = Object)]
    before: Value,
    /// `{state, passed, overall}` in this run.
    #[schema(value_type = Object)]
    after: Value,
    /// Dimensions whose observation differs.
    changed_dimensions: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RunDiff {
    test_run_id: i64,
    against_test_run_id: i64,
    /// Passed in the other run, not in this one.
    regressed: Vec<CaseDiff>,
    /// Passed in this run, not in the other.
    fixed: Vec<CaseDiff>,
    /// Same verdict, different observation.
    changed: Vec<CaseDiff>,
    /// How many test cases behaved the same.
    unchanged: i64,
    /// Test case ids only this run tested.
    only_in_test_run: Vec<i64>,
    /// Test case ids only the other run tested.
    only_in_against: Vec<i64>,
}

/// Compare a test run with another, per test case.
///
/// Needs `aiQualityCheckView`. 404 when there is no run to compare with.
#[utoipa::path(get, path = "/aiQualityCheck/testRun/{testRunId}/diff", tag = "aiQualityCheck",
    params(("testRunId" = i64, Path), DiffParams),
    responses((status = 200, body = Success<RunDiff>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn diff(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    QueryParams(p): QueryParams<DiffParams>,
) -> Result<Success<Value>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let req = pb::DiffRunsRequest { id, against: p.against };
    let found = state.quality().diff_runs(request(req, &caller)).await?.into_inner();
    Ok(Success::new(document(&found.diff_json)?))
}
