//! Test cases: tickets snapshotted for an AI agent with an expected result, and the agents
//! eligible for test runs.

use axum::extract::{Path, State};
use enneo_common::auth::permission;
use enneo_common::grpc::request;
use enneo_proto::quality::v1 as pb;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::{ExpectedResult, TestCase, document, documents};
use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{PathId, QueryParams, RawBody};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    ai_agent_id: Option<i64>,
    /// Agents serving this channel, test cases of tickets on it.
    channel: Option<String>,
    /// Words in the agent's name or description, or a test case's summary or description.
    q: Option<String>,
}

/// An AI agent eligible for test runs (every active agent).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TestAgent {
    id: i64,
    slug: String,
    name: String,
    description: Option<String>,
    channels: Vec<String>,
    intelligence: String,
    /// All of the agent's test cases, whatever `q` matched.
    test_case_count: i64,
    test_cases: Vec<TestCase>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestAgents {
    #[schema(value_type = Vec<TestAgent>)]
    ai_agents: Vec<Value>,
}

async fn agents(
    state: &AppState,
    caller: &enneo_common::auth::Caller,
    f: CaseFilter,
) -> Result<Success<TestAgents>, ApiError> {
    require(caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let req = pb::ListTestCasesRequest { ai_agent_id: f.ai_agent_id, channel: f.channel, q: f.q };
    let found = state.quality().list_test_agents(request(req, caller)).await?.into_inner();
    Ok(Success::new(TestAgents { ai_agents: documents(&found.ai_agents_json)? }))
}

/// AI agents eligible for test runs, with their test cases.
///
/// Needs `aiQualityCheckView`.
#[utoipa::path(get, path = "/aiQualityCheck/testCase", tag = "aiQualityCheck", params(CaseFilter),
    responses((status = 200, body = Success<TestAgents>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn eligible_agents(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(f): QueryParams<CaseFilter>,
) -> Result<Success<TestAgents>, ApiError> {
    agents(&state, &caller, f).await
}

/// AI agents eligible for test runs (the same list as `GET /aiQualityCheck/testCase`).
#[utoipa::path(get, path = "/aiQualityCheck/testAiAgent", tag = "aiQualityCheck", params(CaseFilter),
    responses((status = 200, body = Success<TestAgents>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn test_agents(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(f): QueryParams<CaseFilter>,
) -> Result<Success<TestAgents>, ApiError> {
    agents(&state, &caller, f).await
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseList {
    #[schema(value_type = Vec<TestCase>)]
    test_cases: Vec<Value>,
}

/// The test cases of an agent, or of every agent (`all`).
///
/// Needs `aiQualityCheckView`.
#[utoipa::path(get, path = "/aiQualityCheck/testCase/{id}", tag = "aiQualityCheck",
    params(("id" = String, Path, description = "An AI agent's id, or `all`")),
    responses((status = 200, body = Success<CaseList>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn agent_test_cases(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Success<CaseList>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_VIEW)?;
    let ai_agent_id =
        match id.as_str() {
            "all" => None,
            raw => Some(raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                ApiError::bad_request(format!("{raw:?} is neither an id nor all"))
            })?),
        };
    let req = pb::ListTestCasesRequest { ai_agent_id, ..Default::default() };
    let found = state.quality().list_test_cases(request(req, &caller)).await?.into_inner();
    Ok(Success::new(CaseList { test_cases: documents(&found.test_cases_json)? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddBody {
    ticket_ids: Vec<i64>,
}

/// Add tickets as test cases of an agent.
///
/// Needs `aiQualityCheckEdit`. Each ticket is snapshotted now; a ticket that already is a
/// test case of the agent keeps its case. The new cases have no expectation until one is
/// set or a run's observation accepted.
#[utoipa::path(post, path = "/aiQualityCheck/testCase/{id}", tag = "aiQualityCheck",
    params(("id" = i64, Path, description = "The AI agent's id")), request_body = AddBody,
    responses((status = 200, body = Success<CaseList>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_test_cases(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(ai_agent_id): PathId,
    body: RawBody,
) -> Result<Success<CaseList>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let body: AddBody = body.parse()?;
    let req = pb::AddTestCasesRequest { ai_agent_id, ticket_ids: body.ticket_ids };
    let found = state.quality().add_test_cases(request(req, &caller)).await?.into_inner();
    Ok(Success::new(CaseList { test_cases: documents(&found.test_cases_json)? }))
}

/// Present means set, even to null (which removes the expectation).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseChange {
    description: Option<String>,
    /// A new expectation (kept as a new version); null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ExpectedResult>)]
    expected_result: Option<Value>,
}

/// Update a test case.
///
/// Needs `aiQualityCheckEdit`. Answers the test case beside `success`.
#[utoipa::path(patch, path = "/aiQualityCheck/testCase/{id}", tag = "aiQualityCheck",
    params(("id" = i64, Path, description = "The test case's id")), request_body = CaseChange,
    responses((status = 200, body = Success<TestCase>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_test_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
    body: RawBody,
) -> Result<Success<Value>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let change: CaseChange = body.parse()?;
    let req = pb::UpdateTestCaseRequest {
        id,
        description: change.description,
        expected_result_json: change.expected_result.map(|e| e.to_string()),
    };
    let found = state.quality().update_test_case(request(req, &caller)).await?.into_inner();
    Ok(Success::new(document(&found.test_case_json)?))
}

/// Delete a test case.
///
/// Needs `aiQualityCheckEdit`. Test tickets of past runs keep their observation.
#[utoipa::path(delete, path = "/aiQualityCheck/testCase/{id}", tag = "aiQualityCheck",
    params(("id" = i64, Path, description = "The test case's id")),
    responses((status = 200, body = Success), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_test_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathId(id): PathId,
) -> Result<Success, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    state.quality().delete_test_case(request(pb::TestCaseRef { id }, &caller)).await?;
    Ok(Success::done())
}

/// A ticket-based test case. (The conversational variant, a simulated chat or phone
/// customer, is not supported: 422.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    ticket_id: i64,
    ai_agent_id: i64,
    #[schema(value_type = Option<ExpectedResult>)]
    expected_result: Option<Value>,
    description: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OneCase {
    #[schema(value_type = TestCase)]
    test_case: Value,
}

/// Keys only the conversational variant has.
const CONVERSATIONAL: [&str; 6] =
    ["instructionPrompt", "expectedCriteria", "aiAgentIds", "objective", "context", "constraints"];

/// Create a test case from a ticket.
///
/// Needs `aiQualityCheckEdit`. Body `{ticketId, aiAgentId, expectedResult?, description?}`;
/// 409 when the ticket already is a test case of the agent. Conversational test cases
/// (`instructionPrompt`, `expectedCriteria`, `aiAgentIds`, …) are not supported yet: 422.
#[utoipa::path(post, path = "/aiQualityCheck/testCase", tag = "aiQualityCheck", request_body = CreateBody,
    responses((status = 200, body = Success<OneCase>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, description = "A conversational test case, which is not supported", body = ErrorBody)))]
pub async fn create_test_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: RawBody,
) -> Result<Success<OneCase>, ApiError> {
    require(&caller, permission::AI_QUALITY_CHECK_EDIT)?;
    let raw: Map<String, Value> = body.parse()?;
    if CONVERSATIONAL.iter().any(|k| raw.contains_key(*k)) && !raw.contains_key("ticketId") {
        return Err(ApiError::new(
            enneo_common::ErrorCode::Unprocessable,
            "conversational test cases are not supported; create one from a ticket",
        ));
    }
    let body: CreateBody = serde_json::from_value(Value::Object(raw))
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let req = pb::CreateTestCaseRequest {
        ticket_id: body.ticket_id,
        ai_agent_id: body.ai_agent_id,
        expected_result_json: body.expected_result.map(|e| e.to_string()),
        description: body.description,
    };
    let found = state.quality().create_test_case(request(req, &caller)).await?.into_inner();
    Ok(Success::new(OneCase { test_case: document(&found.test_case_json)? }))
}
