//! The gRPC face of quality-svc (`enneo.quality.v1.QualityService`): checks the caller's
//! permission, decodes, and hands over to test cases and runs.

use enneo_common::auth::{Caller, permission};
use enneo_common::grpc;
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{CHANNELS, one_of};
use enneo_proto::quality::v1 as pb;
use enneo_proto::quality::v1::quality_service_server::QualityService;
use serde_json::{Value, json};
use tonic::{Request, Response, Status};

use crate::agreement;
use crate::report;
use crate::runs::{RunRow, Runs, Schedule, TicketRow, Trigger};
use crate::test_cases::{self, CaseRow, Filter, TestCases, expectation};

#[derive(Clone)]
pub struct QualityApi {
    pub cases: TestCases,
    pub runs: Runs,
    pub pass_threshold: f64,
}

type Reply<T> = Result<Response<T>, Status>;

fn caller<T>(request: &Request<T>, permission: &str) -> Result<Caller, Status> {
    let caller = grpc::caller(request)?;
    caller.require(permission)?;
    Ok(caller)
}

fn run_reply(run: RunRow) -> Reply<pb::RunResponse> {
    Ok(Response::new(pb::RunResponse { test_run_json: run.document().to_string() }))
}

fn case_reply(case: CaseRow) -> Reply<pb::TestCaseResponse> {
    Ok(Response::new(pb::TestCaseResponse { test_case_json: case.document().to_string() }))
}

fn cases_reply(cases: &[CaseRow]) -> Reply<pb::TestCasesResponse> {
    let test_cases_json = cases.iter().map(|c| c.document().to_string()).collect();
    Ok(Response::new(pb::TestCasesResponse { test_cases_json }))
}

fn filter(r: pb::ListTestCasesRequest) -> Result<Filter> {
    if let Some(c) = &r.channel {
        one_of("channel", c, CHANNELS)?;
    }
    let q = r.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    Ok(Filter { ai_agent_id: r.ai_agent_id, channel: r.channel, q })
}

fn positive(field: &str, id: i64) -> Result<i64> {
    if id > 0 {
        Ok(id)
    } else {
        Err(Error::InvalidArgument(format!("{field} must be a positive id")))
    }
}

impl QualityApi {
    async fn tickets_reply(
        &self,
        run_id: i64,
        rows: Vec<TicketRow>,
    ) -> Reply<pb::TestTicketsResponse> {
        let mut conn = self.runs.pool.acquire().await.map_err(Error::from)?;
        let run = crate::runs::get_run(&mut conn, run_id).await?;
        let test_tickets_json = rows.iter().map(|t| t.document(&run.config).to_string()).collect();
        Ok(Response::new(pb::TestTicketsResponse { test_tickets_json }))
    }
}

#[tonic::async_trait]
impl QualityService for QualityApi {
    async fn list_runs(
        &self,
        request: Request<pb::ListRunsRequest>,
    ) -> Reply<pb::ListRunsResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let r = request.into_inner();
        let limit = match r.limit {
            0 => 100,
            1..=1000 => r.limit,
            _ => {
                return Err(
                    Error::InvalidArgument("limit must be between 1 and 1000".into()).into()
                );
            }
        };
        if r.offset < 0 {
            return Err(Error::InvalidArgument("offset must not be negative".into()).into());
        }
        let (rows, total) = self.runs.list(r.ai_agent_id, limit, r.offset).await?;
        let test_runs_json = rows.iter().map(|r| r.document().to_string()).collect();
        Ok(Response::new(pb::ListRunsResponse { test_runs_json, total }))
    }

    async fn schedule_run(
        &self,
        request: Request<pb::ScheduleRunRequest>,
    ) -> Reply<pb::RunResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_RUN)?;
        let r = request.into_inner();
        let schedule = Schedule {
            ai_agent_id: r.ai_agent_id,
            description: r.description,
            test_case_ids: r.test_case_ids,
            channel: r.channel,
            limit: r.limit,
            re_run_models: r.re_run_models,
            repeats: r.repeats,
            rerun_of: None,
            trigger: Trigger::Manual,
        };
        run_reply(self.runs.schedule(&caller, schedule).await?)
    }

    async fn get_run(&self, request: Request<pb::RunRef>) -> Reply<pb::GetRunResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let report = self.runs.report(request.get_ref().id).await?;
        let config = &report.run.config;
        Ok(Response::new(pb::GetRunResponse {
            test_run_json: report.run.document().to_string(),
            scores_json: report.scores.to_string(),
            test_tickets_json: report
                .tickets
                .iter()
                .map(|t| t.document(config).to_string())
                .collect(),
            intent_detection_json: report.intent_detection.to_string(),
            repeatability_json: report.repeatability.to_string(),
        }))
    }

    async fn delete_run(&self, request: Request<pb::RunRef>) -> Reply<pb::Empty> {
        caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        self.runs.delete(request.get_ref().id).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn cancel_run(&self, request: Request<pb::RunRef>) -> Reply<pb::RunResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        run_reply(self.runs.cancel(request.get_ref().id).await?)
    }

    async fn rerun_run(&self, request: Request<pb::RunRef>) -> Reply<pb::RunResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_RUN)?;
        run_reply(self.runs.rerun(&caller, request.get_ref().id).await?)
    }

    async fn diff_runs(
        &self,
        request: Request<pb::DiffRunsRequest>,
    ) -> Reply<pb::DiffRunsResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let r = request.into_inner();
        let diff = self.runs.diff(r.id, r.against).await?;
        Ok(Response::new(pb::DiffRunsResponse { diff_json: diff.to_string() }))
    }

    async fn run_report(&self, request: Request<pb::RunRef>) -> Reply<pb::RunReportResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let report = report::load(&self.runs, request.get_ref().id, self.pass_threshold).await?;
        Ok(Response::new(pb::RunReportResponse { html: report::render(&report) }))
    }

    async fn update_expected_result(
        &self,
        request: Request<pb::UpdateExpectedResultRequest>,
    ) -> Reply<pb::TestTicketsResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let r = request.into_inner();
        let expected = expectation::parse(Some(&r.expected_result_json))?;
        let rows = self
            .runs
            .update_expected(&caller, r.test_run_id, r.ticket_id, expected, self.pass_threshold)
            .await?;
        self.tickets_reply(r.test_run_id, rows).await
    }

    async fn accept_expected_result(
        &self,
        request: Request<pb::AcceptExpectedResultRequest>,
    ) -> Reply<pb::TestTicketsResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let r = request.into_inner();
        let rows = self
            .runs
            .accept(&caller, r.test_run_id, Some(r.ticket_id), self.pass_threshold)
            .await?;
        self.tickets_reply(r.test_run_id, rows).await
    }

    async fn accept_all_expected_results(
        &self,
        request: Request<pb::RunRef>,
    ) -> Reply<pb::TestTicketsResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let id = request.get_ref().id;
        let rows = self.runs.accept(&caller, id, None, self.pass_threshold).await?;
        self.tickets_reply(id, rows).await
    }

    async fn list_test_cases(
        &self,
        request: Request<pb::ListTestCasesRequest>,
    ) -> Reply<pb::TestCasesResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let f = filter(request.into_inner())?;
        cases_reply(&test_cases::list(&self.cases.pool, &f).await?)
    }

    async fn list_test_agents(
        &self,
        request: Request<pb::ListTestCasesRequest>,
    ) -> Reply<pb::ListTestAgentsResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let f = filter(request.into_inner())?;
        let agents = self.cases.upstream.agents(f.channel.clone()).await?;
        // `q` matches the agent's name or description, or one of its cases.
        let cases = test_cases::list(&self.cases.pool, &Filter { q: None, ..f.clone() }).await?;
        let q = f.q.as_deref().map(str::to_lowercase);
        let mut out = Vec::new();
        for agent in agents.iter().filter(|a| f.ai_agent_id.is_none_or(|id| id == a.id)) {
            let own: Vec<&CaseRow> = cases.iter().filter(|c| c.ai_agent_id == agent.id).collect();
            let text = |v: &Value| v.as_str().unwrap_or_default().to_lowercase();
            let matches_case = |c: &&CaseRow| {
                q.as_deref().is_none_or(|q| {
                    let t = format!(
                        "{} {}",
                        c.summary.as_deref().unwrap_or(""),
                        c.description.as_deref().unwrap_or("")
                    );
                    t.to_lowercase().contains(q)
                })
            };
            let agent_matches = q.as_deref().is_none_or(|q| {
                text(&agent.document["name"]).contains(q)
                    || text(&agent.document["description"]).contains(q)
            });
            let shown: Vec<Value> = own
                .iter()
                .filter(|c| agent_matches || matches_case(c))
                .map(|c| c.document())
                .collect();
            if !agent_matches && shown.is_empty() {
                continue;
            }
            out.push(
                json!({
                    "id": agent.id,
                    "slug": agent.slug,
                    "name": agent.name,
                    "description": agent.document["description"],
                    "channels": agent.document["channels"],
                    "intelligence": agent.document["intelligence"],
                    "testCaseCount": own.len(),
                    "testCases": shown,
                })
                .to_string(),
            );
        }
        Ok(Response::new(pb::ListTestAgentsResponse { ai_agents_json: out }))
    }

    async fn add_test_cases(
        &self,
        request: Request<pb::AddTestCasesRequest>,
    ) -> Reply<pb::TestCasesResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let r = request.into_inner();
        let agent = positive("aiAgentId", r.ai_agent_id)?;
        cases_reply(&self.cases.add(&caller, agent, &r.ticket_ids).await?)
    }

    async fn create_test_case(
        &self,
        request: Request<pb::CreateTestCaseRequest>,
    ) -> Reply<pb::TestCaseResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let r = request.into_inner();
        let ticket = positive("ticketId", r.ticket_id)?;
        let agent = positive("aiAgentId", r.ai_agent_id)?;
        let expected = expectation::parse(r.expected_result_json.as_deref())?;
        case_reply(self.cases.create(&caller, ticket, agent, expected, r.description).await?)
    }

    async fn update_test_case(
        &self,
        request: Request<pb::UpdateTestCaseRequest>,
    ) -> Reply<pb::TestCaseResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let r = request.into_inner();
        let expected = match r.expected_result_json.as_deref() {
            Some(text) => Some(expectation::parse(Some(text))?),
            None => None,
        };
        case_reply(self.cases.update(&caller, r.id, r.description, expected).await?)
    }

    async fn list_expectations(
        &self,
        request: Request<pb::TestCaseRef>,
    ) -> Reply<pb::ExpectationsResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let versions = self.cases.expectations(request.get_ref().id).await?;
        let expectations_json = versions.iter().map(|v| v.document().to_string()).collect();
        Ok(Response::new(pb::ExpectationsResponse { expectations_json }))
    }

    async fn roll_back_expectation(
        &self,
        request: Request<pb::RollBackExpectationRequest>,
    ) -> Reply<pb::TestCaseResponse> {
        let caller = caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        let r = request.into_inner();
        case_reply(self.cases.roll_back(&caller, r.test_case_id, r.version).await?)
    }

    async fn delete_test_case(&self, request: Request<pb::TestCaseRef>) -> Reply<pb::Empty> {
        caller(&request, permission::AI_QUALITY_CHECK_EDIT)?;
        self.cases.delete(request.get_ref().id).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn get_agreement(
        &self,
        request: Request<pb::GetAgreementRequest>,
    ) -> Reply<pb::GetAgreementResponse> {
        caller(&request, permission::AI_QUALITY_CHECK_VIEW)?;
        let r = request.into_inner();
        let now = chrono::Utc::now();
        let range = agreement::Range::parse(r.ai_agent_id, &r.from, &r.to, &r.interval, now)?;
        let trend = agreement::trend(&self.runs.pool, &range).await?;
        Ok(Response::new(pb::GetAgreementResponse { agreement_json: trend.to_string() }))
    }
}
