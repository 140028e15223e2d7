//! The gRPC face of agent-svc (`enneo.agent.v1.AgentService`): decodes requests, checks the
//! caller's permission, and hands over to agents, intents, preview and detection.

use std::sync::Arc;

use enneo_common::auth::{Caller, permission};
use enneo_common::grpc;
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{CHANNELS, one_of};
use enneo_proto::agent::v1 as pb;
use enneo_proto::agent::v1::agent_service_server::AgentService;
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

use crate::agents::document::{self, Invalid, Violations};
use crate::agents::{Agents, catalogue, merge, store as agents};
use crate::detection::dry_run;
use crate::detection::queue::Detection;
use crate::detection::runtime::{DetectError, Runtime};
use crate::intents::{Intents, auto, execute, page_limit, store as intents};
use crate::tickets::TicketView;
use crate::{preview, replay};

#[derive(Clone)]
pub struct AgentApi {
    pub agents: Agents,
    pub intents: Intents,
    pub detection: Detection,
    pub runtime: Arc<Runtime>,
}

type Reply<T> = Result<Response<T>, Status>;

fn json(field: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("{field} is not JSON: {e}")))
}

fn object(field: &str, text: Option<&str>) -> Result<Map<String, Value>> {
    match text.filter(|t| !t.trim().is_empty()) {
        None => Ok(Map::new()),
        Some(t) => match json(field, t)? {
            Value::Object(m) => Ok(m),
            Value::Null => Ok(Map::new()),
            _ => Err(Error::InvalidArgument(format!("{field} must be a JSON object"))),
        },
    }
}

/// A refused write: bad input as its code; integrity as 422 carrying `{"violations": [...]}`
/// in the status details, for the gateway to pass on.
fn refused(invalid: Invalid) -> Status {
    match invalid {
        Invalid::Input(e) => e.into(),
        Invalid::Integrity(v) => violations(v),
    }
}

fn violations(Violations(list): Violations) -> Status {
    let message = format!("the AI agent definition is inconsistent: {}", list.join("; "));
    let details =
        serde_json::to_vec(&serde_json::json!({ "violations": list })).unwrap_or_default();
    Status::with_details(tonic::Code::FailedPrecondition, message, details.into())
}

fn detect_error(e: DetectError) -> Status {
    match e {
        DetectError::Provider(p) => {
            Error::unavailable_because("the embeddings server is unavailable", p).into()
        }
        DetectError::Store(e) => e.into(),
    }
}

impl AgentApi {
    /// The definition to run: a saved agent, an unsaved one, or a saved one with unsaved
    /// changes merged over it; checked like a write.
    async fn definition(&self, id: Option<i64>, agent_json: Option<&str>) -> Result<Value, Status> {
        let changes = match agent_json.filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(json("agent", t)?),
            None => None,
        };
        let doc = match (id.filter(|id| *id > 0), changes) {
            (Some(id), changes) => {
                let row =
                    agents::get(&mut *self.agents.pool.acquire().await.map_err(Error::from)?, id)
                        .await?;
                let mut doc = row.definition.clone();
                doc["slug"] = Value::String(row.slug.clone());
                if let Some(changes) = changes {
                    if !changes.is_object() {
                        return Err(
                            Error::InvalidArgument("agent must be a JSON object".into()).into()
                        );
                    }
                    merge::deep_merge(&mut doc, &changes);
                }
                doc
            }
            (None, Some(doc)) => doc,
            (None, None) => {
                return Err(Error::InvalidArgument(
                    "an AI agent id or definition is required".into(),
                )
                .into());
            }
        };
        document::prepare(doc).map_err(refused)
    }

    async fn ticket(&self, id: i64) -> Result<TicketView> {
        Ok(TicketView::from_proto(&self.intents.tickets.get(id).await?))
    }
}

fn require_read(caller: &Caller) -> Result<()> {
    caller.require(permission::READ_TICKETS)
}

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Reply<pb::ListAgentsResponse> {
        let caller = grpc::caller(&request)?;
        require_read(&caller)?;
        let r = request.into_inner();
        if let Some(i) = &r.intelligence {
            one_of("intelligence", i, document::INTELLIGENCES)?;
        }
        if let Some(c) = &r.channel {
            one_of("channel", c, CHANNELS)?;
        }
        if r.offset < 0 {
            return Err(Error::InvalidArgument("offset must not be negative".into()).into());
        }
        let filter = agents::Filter {
            q: r.q.filter(|q| !q.trim().is_empty()),
            intelligence: r.intelligence,
            channel: r.channel,
            limit: page_limit(r.limit)?,
            offset: r.offset,
        };
        let (rows, total) = agents::list(&self.agents.pool, &filter).await?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents_json: rows.iter().map(|r| r.document().to_string()).collect(),
            total,
        }))
    }

    async fn get_agent(&self, request: Request<pb::AgentRef>) -> Reply<pb::AgentResponse> {
        let caller = grpc::caller(&request)?;
        require_read(&caller)?;
        let mut conn = self.agents.pool.acquire().await.map_err(Error::from)?;
        let row = agents::get(&mut conn, request.get_ref().id).await?;
        Ok(Response::new(pb::AgentResponse { agent_json: row.document().to_string() }))
    }

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Reply<pb::AgentResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_AI_AGENT)?;
        let doc = json("agent", &request.get_ref().agent_json)?;
        let row = self.agents.create(&caller, doc).await.map_err(refused)?;
        Ok(Response::new(pb::AgentResponse { agent_json: row.document().to_string() }))
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Reply<pb::AgentResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_AI_AGENT)?;
        let r = request.into_inner();
        let patch = json("patch", &r.patch_json)?;
        let row = self.agents.update(&caller, r.id, patch).await.map_err(refused)?;
        Ok(Response::new(pb::AgentResponse { agent_json: row.document().to_string() }))
    }

    async fn delete_agent(&self, request: Request<pb::AgentRef>) -> Reply<pb::DeleteAgentResponse> {
        let caller = grpc::caller(&request)?;
        self.agents.delete(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteAgentResponse {}))
    }

    async fn available_defaults(
        &self,
        request: Request<pb::AvailableDefaultsRequest>,
    ) -> Reply<pb::AvailableDefaultsResponse> {
        let caller = grpc::caller(&request)?;
        require_read(&caller)?;
        let text =
            |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let agents = catalogue::available()
            .iter()
            .map(|a| pb::DefaultAgent {
                slug: text(a, "slug"),
                name: text(a, "name"),
                description: text(a, "description"),
                intelligence: text(a, "intelligence"),
            })
            .collect();
        Ok(Response::new(pb::AvailableDefaultsResponse { agents }))
    }

    async fn load_defaults(
        &self,
        request: Request<pb::LoadDefaultsRequest>,
    ) -> Reply<pb::LoadDefaultsResponse> {
        let caller = grpc::caller(&request)?;
        let (rows, created, updated) =
            self.agents.load_defaults(&caller, &request.get_ref().slugs).await.map_err(refused)?;
        Ok(Response::new(pb::LoadDefaultsResponse {
            agents_json: rows.iter().map(|r| r.document().to_string()).collect(),
            created,
            updated,
        }))
    }

    async fn list_samples(
        &self,
        request: Request<pb::ListSamplesRequest>,
    ) -> Reply<pb::ListSamplesResponse> {
        let caller = grpc::caller(&request)?;
        require_read(&caller)?;
        let samples = catalogue::samples();
        let samples: Vec<Value> = match &request.get_ref().id {
            None => samples,
            Some(id) => {
                let found: Vec<Value> = samples
                    .into_iter()
                    .filter(|s| {
                        s.get("id").map(|v| v.to_string().trim_matches('"') == id) == Some(true)
                    })
                    .collect();
                if found.is_empty() {
                    return Err(Error::NotFound(format!("sample {id} not found")).into());
                }
                found
            }
        };
        Ok(Response::new(pb::ListSamplesResponse {
            samples_json: samples.iter().map(Value::to_string).collect(),
        }))
    }

    async fn import_agent(
        &self,
        request: Request<pb::ImportAgentRequest>,
    ) -> Reply<pb::ImportAgentResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_AI_AGENT)?;
        let doc = json("agent", &request.get_ref().agent_json)?;
        let (row, created) = self.agents.import(&caller, doc).await.map_err(refused)?;
        Ok(Response::new(pb::ImportAgentResponse {
            agent_json: row.document().to_string(),
            action: if created { "created" } else { "updated" }.into(),
        }))
    }

    async fn agent_history(
        &self,
        request: Request<pb::AgentRef>,
    ) -> Reply<pb::AgentHistoryResponse> {
        let caller = grpc::caller(&request)?;
        require_read(&caller)?;
        let (rows, current_version) =
            agents::history(&self.agents.pool, request.get_ref().id).await?;
        let versions = rows
            .into_iter()
            .map(|v| pb::AgentVersion {
                version: v.version,
                agent_json: v.definition.to_string(),
                action: v.action,
                created_by: v.created_by,
                created_at: Some(prost_types::Timestamp {
                    seconds: v.created_at.timestamp(),
                    nanos: 0,
                }),
            })
            .collect();
        Ok(Response::new(pb::AgentHistoryResponse { versions, current_version }))
    }

    async fn restore_agent(
        &self,
        request: Request<pb::RestoreAgentRequest>,
    ) -> Reply<pb::AgentResponse> {
        let caller = grpc::caller(&request)?;
        let r = request.get_ref();
        let row = self.agents.restore(&caller, r.id, r.version).await.map_err(refused)?;
        Ok(Response::new(pb::AgentResponse { agent_json: row.document().to_string() }))
    }

    async fn similar_tickets(
        &self,
        request: Request<pb::SimilarTicketsRequest>,
    ) -> Reply<pb::SimilarTicketsResponse> {
        let caller = grpc::caller(&request)?;
        require_read(&caller)?;
        let r = request.into_inner();
        let limit = match r.limit {
            0 => 10,
            1..=100 => r.limit,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "limit must be between 1 and 100, got {other}"
                ))
                .into());
            }
        };
        let row =
            agents::get(&mut *self.agents.pool.acquire().await.map_err(Error::from)?, r.id).await?;
        let Some(centre) =
            self.runtime.agent_vector(&row.definition).await.map_err(detect_error)?
        else {
            return Ok(Response::new(pb::SimilarTicketsResponse { tickets: vec![] }));
        };
        let rows: Vec<(i64, f32)> = sqlx::query_as(
            "SELECT ticket_id, (SELECT sum(a * b) FROM unnest(vector, $1::real[]) AS t(a, b))::real AS similarity \
             FROM agent.ticket_vector WHERE model = $2 ORDER BY similarity DESC NULLS LAST, ticket_id LIMIT $3",
        )
        .bind(&centre)
        .bind(self.runtime.embeddings().model())
        .bind(i64::from(limit))
        .fetch_all(&self.agents.pool)
        .await
        .map_err(Error::from)?;
        Ok(Response::new(pb::SimilarTicketsResponse {
            tickets: rows
                .into_iter()
                .map(|(ticket_id, similarity)| pb::SimilarTicket { ticket_id, similarity })
                .collect(),
        }))
    }

    async fn preview_agent(
        &self,
        request: Request<pb::PreviewAgentRequest>,
    ) -> Reply<pb::PreviewAgentResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_AI_AGENT)?;
        let r = request.into_inner();
        if r.ticket_id <= 0 {
            return Err(Error::InvalidArgument("ticketId is required".into()).into());
        }
        let given = object("data", r.data_json.as_deref())?;
        let agent = self.definition(r.id, r.agent_json.as_deref()).await?;
        let ticket = self.ticket(r.ticket_id).await?.with_message(r.message, r.subject, r.sender);
        let doc = preview::preview(&agent, &ticket, &given, self.intents.toolbox.clone()).await;
        Ok(Response::new(pb::PreviewAgentResponse { preview_json: doc.to_string() }))
    }

    async fn agent_outcome(
        &self,
        request: Request<pb::AgentOutcomeRequest>,
    ) -> Reply<pb::AgentOutcomeResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_AI_AGENT)?;
        let r = request.into_inner();
        let given = object("data", Some(&r.data_json))?;
        let agent = self.definition(r.id, r.agent_json.as_deref()).await?;
        let ticket = match r.ticket_id {
            Some(id) => self.ticket(id).await?,
            None => TicketView::empty(),
        };
        let doc = preview::outcome(&agent, &ticket, &given, self.intents.toolbox.clone()).await;
        Ok(Response::new(pb::AgentOutcomeResponse { outcome_json: doc.to_string() }))
    }

    async fn evaluate_detection(
        &self,
        request: Request<pb::EvaluateDetectionRequest>,
    ) -> Reply<pb::EvaluateDetectionResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_AI_AGENT)?;
        let r = request.into_inner();
        if r.ticket_id <= 0 {
            return Err(Error::InvalidArgument("ticketId is required".into()).into());
        }
        let details = Value::Object(object("detectionDetails", Some(&r.detection_details_json))?);
        let given = object("data", r.data_json.as_deref())?;
        let ticket = self.ticket(r.ticket_id).await?;
        let scope = dry_run::Scope { channels: r.channels, subchannels: r.subchannels };
        let test_tags = r.test_tags.map(|t| t.ids);
        let today = chrono::Utc::now().date_naive();
        let verdict =
            dry_run::evaluate(&self.runtime, ticket, &details, &scope, test_tags, given, today)
                .await;
        Ok(Response::new(pb::EvaluateDetectionResponse {
            matched: verdict.matched,
            alerts: verdict
                .alerts
                .into_iter()
                .map(|a| pb::DetectionAlert {
                    code: a.code.into(),
                    message: a.message,
                    operand: a.operand,
                })
                .collect(),
            ai_confidence: verdict.ai_confidence,
        }))
    }

    async fn intents_by_ticket(
        &self,
        request: Request<pb::IntentsByTicketRequest>,
    ) -> Reply<pb::IntentsByTicketResponse> {
        let caller = grpc::caller(&request)?;
        let (outcome, docs) = self.intents.by_ticket(&caller, request.get_ref().ticket_id).await?;
        Ok(Response::new(pb::IntentsByTicketResponse {
            ai_outcome: outcome.into(),
            intents_json: docs.iter().map(Value::to_string).collect(),
        }))
    }

    async fn intents_for_tickets(
        &self,
        request: Request<pb::IntentsForTicketsRequest>,
    ) -> Reply<pb::IntentsForTicketsResponse> {
        let caller = grpc::caller(&request)?;
        let ids = &request.get_ref().ticket_ids;
        let mut by_ticket = self.intents.for_tickets(&caller, ids).await?;
        let tickets = ids
            .iter()
            .map(|id| pb::TicketIntents {
                ticket_id: *id,
                intents_json: by_ticket
                    .remove(id)
                    .unwrap_or_default()
                    .iter()
                    .map(Value::to_string)
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::IntentsForTicketsResponse { tickets }))
    }

    async fn list_intents(
        &self,
        request: Request<pb::ListIntentsRequest>,
    ) -> Reply<pb::ListIntentsResponse> {
        let caller = grpc::caller(&request)?;
        let r = request.into_inner();
        let filter = intents::Filter {
            ticket_id: r.ticket_id,
            agent_id: r.ai_agent_id,
            status: r.status,
            limit: r.limit,
            offset: r.offset,
        };
        let (docs, total) = self.intents.list(&caller, filter).await?;
        Ok(Response::new(pb::ListIntentsResponse {
            intents_json: docs.iter().map(Value::to_string).collect(),
            total,
        }))
    }

    async fn get_intent(&self, request: Request<pb::IntentRef>) -> Reply<pb::IntentResponse> {
        let caller = grpc::caller(&request)?;
        let doc = self.intents.get(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::IntentResponse { intent_json: doc.to_string() }))
    }

    async fn update_intent(
        &self,
        request: Request<pb::UpdateIntentRequest>,
    ) -> Reply<pb::IntentResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::UPDATE_INTENT)?;
        let r = request.into_inner();
        let data = match r.data_json.as_deref() {
            Some(t) => Some(object("data", Some(t))?),
            None => None,
        };
        let doc = self.intents.update(&caller, r.id, data, r.status, r.verified).await?;
        Ok(Response::new(pb::IntentResponse { intent_json: doc.to_string() }))
    }

    async fn delete_intent(
        &self,
        request: Request<pb::IntentRef>,
    ) -> Reply<pb::DeleteIntentResponse> {
        let caller = grpc::caller(&request)?;
        self.intents.delete(&caller, request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteIntentResponse {}))
    }

    async fn execute_intent(
        &self,
        request: Request<pb::ExecuteIntentRequest>,
    ) -> Reply<pb::ExecuteIntentResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::EXECUTE_INTENT)?;
        let r = request.into_inner();
        let req = execute::Request {
            intent_id: r.intent_id,
            code: r.code,
            ticket_id: r.ticket_id,
            inform_customer: r.inform_customer,
            dry_run: r.dry_run,
            data: object("data", r.data_json.as_deref())?,
            contract_id: r.contract_id,
            reply_template: r.reply_template,
        };
        let done = self.intents.execute(&caller, req).await?;
        Ok(Response::new(pb::ExecuteIntentResponse {
            outcome_json: done.outcome.to_string(),
            intent_json: done.intent.to_string(),
        }))
    }

    async fn detect_ticket(
        &self,
        request: Request<pb::DetectTicketRequest>,
    ) -> Reply<pb::DetectTicketResponse> {
        let caller = grpc::caller(&request)?;
        if !caller.has(permission::CREATE_TICKETS) && !caller.has(permission::UPDATE_TICKETS) {
            return Err(Error::PermissionDenied(format!(
                "missing permission {}",
                permission::UPDATE_TICKETS
            ))
            .into());
        }
        let ticket_id = request.get_ref().ticket_id;
        // Without AI when the embeddings server is down: the caller is waiting.
        let rows = self.detection.process(ticket_id, None, false).await.map_err(detect_error)?;
        let docs = self.intents.documents(&rows, None).await?;
        Ok(Response::new(pb::DetectTicketResponse {
            intents_json: docs.iter().map(Value::to_string).collect(),
        }))
    }

    async fn replay_ticket(
        &self,
        request: Request<pb::ReplayTicketRequest>,
    ) -> Reply<pb::ReplayTicketResponse> {
        let caller = grpc::caller(&request)?;
        if !caller.has(permission::AI_QUALITY_CHECK_RUN) && !caller.has(permission::UPDATE_AI_AGENT)
        {
            let missing = format!("missing permission {}", permission::AI_QUALITY_CHECK_RUN);
            return Err(Error::PermissionDenied(missing).into());
        }
        let r = request.into_inner();
        let ticket = replay::ticket_from_snapshot(&json("ticket", &r.ticket_json)?)?;
        let data = object("data", r.data_json.as_deref())?;
        let replay = replay::Replay {
            pool: &self.agents.pool,
            runtime: &self.runtime,
            toolbox: self.intents.toolbox.clone(),
        };
        let result = replay.run(&ticket, &r.ai_agent_ids, &data).await?;
        Ok(Response::new(pb::ReplayTicketResponse { result_json: result.to_string() }))
    }

    async fn prepare_replay(
        &self,
        request: Request<pb::PrepareReplayRequest>,
    ) -> Reply<pb::PrepareReplayResponse> {
        replay::may_replay(&grpc::caller(&request)?)?;
        let tickets = request
            .get_ref()
            .tickets_json
            .iter()
            .map(|t| replay::ticket_from_snapshot(&json("ticket", t)?))
            .collect::<Result<Vec<_>>>()?;
        let units = replay::prepare(&self.runtime, &tickets).await?;
        Ok(Response::new(pb::PrepareReplayResponse { units: units as i32 }))
    }

    async fn auto_execute(
        &self,
        request: Request<pb::AutoExecuteRequest>,
    ) -> Reply<pb::AutoExecuteResponse> {
        let caller = grpc::caller(&request)?;
        let r = request.into_inner();
        let options = auto::Options {
            agent_id: r.execute_agent_id,
            allow_multiple_intents: r.allow_multiple_intents,
            allow_with_replies: r.allow_with_replies,
            reply_template: r.reply_template,
        };
        let verdict = self.intents.auto_execute(&caller, r.ticket_id, options).await?;
        Ok(Response::new(pb::AutoExecuteResponse {
            executed: verdict.executed,
            message: verdict.message,
            failed_gate: verdict.failed_gate,
        }))
    }

    async fn local_execution_command(
        &self,
        request: Request<pb::LocalExecutionCommandRequest>,
    ) -> Reply<pb::LocalExecutionCommandResponse> {
        let caller = grpc::caller(&request)?;
        let r = request.into_inner();
        let local = crate::local_command::LocalCommand {
            pool: &self.agents.pool,
            tickets: &self.intents.tickets,
        };
        Ok(Response::new(local.build(&caller, r.ai_agent_id, r.ticket_id).await?))
    }

    async fn run_event_hook(
        &self,
        request: Request<pb::RunEventHookRequest>,
    ) -> Reply<pb::RunEventHookResponse> {
        let caller = grpc::caller(&request)?;
        caller.require(permission::EVENT_HOOKS)?;
        let r = request.into_inner();
        let output =
            crate::hooks::run(&self.intents.toolbox.config, &r.executor_json, &r.event_json)
                .await?;
        Ok(Response::new(pb::RunEventHookResponse { output_json: output.to_string() }))
    }
}
