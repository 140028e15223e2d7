//! `/aiQualityCheck…` (contract §4): test cases, test runs and their review. quality-svc owns
//! the documents (TestCase, TestRun, TestTicket); the gateway authorises before it reads a
//! body, checks the body's shape and passes the documents through.

mod agreement;
mod expectations;
mod report;
mod review;
mod runs;
mod test_cases;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(runs::list_runs, runs::schedule_run))
        .routes(routes!(runs::get_run, runs::delete_run))
        .routes(routes!(runs::cancel_run))
        .routes(routes!(runs::stop_run))
        .routes(routes!(runs::rerun))
        .routes(routes!(runs::diff))
        .routes(routes!(report::run_report))
        .routes(routes!(agreement::agreement))
        .routes(routes!(review::update_expected_result))
        .routes(routes!(review::accept_expected_result))
        .routes(routes!(review::accept_all_expected_results))
        .routes(routes!(test_cases::eligible_agents, test_cases::create_test_case))
        .routes(routes!(test_cases::test_agents))
        .routes(routes!(expectations::expectations))
        .routes(routes!(expectations::restore_expectation))
        .routes(routes!(
            test_cases::agent_test_cases,
            test_cases::add_test_cases,
            test_cases::update_test_case,
            test_cases::delete_test_case
        ))
}

/// The observed or expected behaviour of the AI on a ticket (contract §4.3). Maps are keyed
/// by agent slug; an expectation may name only some fields (every field is optional), and only
/// those are scored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExpectedResult {
    #[schema(value_type = Option<String>)]
    contract_id: Value,
    /// Slugs of the agents detected.
    intent_detection: Option<Vec<String>>,
    /// `{slug: {parameter: value}}`.
    #[schema(value_type = Option<Object>)]
    input_parameters: Value,
    /// `{slug: "interaction" | ...}`.
    #[schema(value_type = Option<Object>)]
    outcome_type: Value,
    /// `{slug: [option]}`.
    #[schema(value_type = Option<Object>)]
    outcome_actions: Value,
    /// `{slug: [info message]}`.
    #[schema(value_type = Option<Object>)]
    outcome_notifications: Value,
    /// `{slug: text | null}`.
    #[schema(value_type = Option<Object>)]
    outcome_text: Value,
    sentiment: Option<String>,
    /// Tag names.
    tags: Option<Vec<String>>,
    ai_support_level: Option<String>,
    /// `{slug: [{type: ticket|faq, id, summary|title}]}`; observed, not scored.
    #[schema(value_type = Option<Object>)]
    sources: Value,
    /// Set on an observation when the replay failed; not scored.
    error: Option<String>,
}

/// A test case: a ticket snapshot bound to an AI agent, with an expected result.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TestCase {
    id: i64,
    ticket_id: i64,
    ai_agent_id: i64,
    /// The newer schema's form of `aiAgentId`.
    ai_agent_ids: Vec<i64>,
    /// The agent's slug: the key of its entries in result maps.
    ai_agent_code: String,
    ai_agent_name: String,
    channel: String,
    summary: Option<String>,
    description: Option<String>,
    /// None until one is set or accepted from a run.
    expected_result: Option<ExpectedResult>,
    /// How often the expectation was set; every version is kept.
    expectation_version: i32,
    /// The ticket changed after the snapshot (the snapshot is kept as it was).
    stale: bool,
    stale_since: Option<String>,
    /// The ticket's version in the snapshot.
    snapshot_version: i64,
    /// The ticket as replayed: subject, body, bodyPlain, channel, direction, from, createdAt,
    /// customer, contractId, customerLegitimation, languageCode, tagIds.
    #[schema(value_type = Object)]
    ticket: Value,
    created_by: i64,
    modified_by: i64,
    created_at: String,
    modified_at: String,
    /// When the ticket's message was embedded for replays, in the background after the case
    /// was made; runs of a prepared case find its vectors cached. Null until then (a run
    /// embeds it itself).
    prepared_at: Option<String>,
}

/// A test run: one replay of a set of test cases.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TestRun {
    id: i64,
    /// None: the test cases of every agent.
    ai_agent_id: Option<i64>,
    ai_agent_code: Option<String>,
    ai_agent_name: Option<String>,
    /// scheduled, processing, completed, failed (every replay failed) or cancelled.
    state: String,
    /// `{limit, reRunModels, repeats}` as scheduled.
    #[schema(value_type = Object)]
    config: Value,
    channel: Option<String>,
    description: Option<String>,
    /// The run this one re-ran.
    rerun_of: Option<i64>,
    trigger: RunTrigger,
    created_by: i64,
    /// ISO 8601.
    created_at: String,
    started_at: Option<String>,
    end_date: Option<String>,
    tickets_scheduled_for_testing: i32,
    /// Replayed (successfully or not) so far.
    tickets_tested: i32,
    /// Tested tickets whose overall score reached the pass threshold (0.9 by default).
    successful_tests: i32,
    /// Tested tickets whose replay failed.
    failed_replays: i32,
}

/// What started a test run: someone scheduling it (`manual`), an AI agent change while the
/// setting `qualityCheckOnAgentChange` is on (`agentChange`), or someone re-running an earlier
/// run (`rerun`, with `rerunOf`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub enum RunTrigger {
    Manual,
    AgentChange,
    Rerun,
}

/// One test case's replay within a run.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TestTicket {
    id: i64,
    test_run_id: i64,
    /// None once the test case was deleted.
    test_case_id: Option<i64>,
    ticket_id: i64,
    ai_agent_id: i64,
    ai_agent_code: String,
    /// scheduled, completed, failed or cancelled.
    state: String,
    #[schema(value_type = Object)]
    config: Value,
    expected_result: Option<ExpectedResult>,
    actual_result: Option<ExpectedResult>,
    /// agent-svc's whole answer, with `confidence` and the `effects` that were not applied.
    #[schema(value_type = Option<Object>)]
    raw_result: Value,
    /// `{overall, <dimension>: 0..1}` for the dimensions the expectation names.
    #[schema(value_type = Option<Object>)]
    scores: Value,
    passed: Option<bool>,
    error: Option<String>,
    tested_at: Option<String>,
}

/// A JSON document quality-svc answered with; not JSON is the service's fault.
fn document(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|_| {
        ApiError::internal_because("quality-svc answered with a document that is not JSON")
    })
}

fn documents(texts: &[String]) -> Result<Vec<Value>, ApiError> {
    texts.iter().map(|t| document(t)).collect()
}
