//! The services quality-svc calls: agent-svc (agents, the replay) and ticket-svc (snapshots).
//! It calls as itself (user 0, `system`) with exactly the permissions its work needs.

use std::time::Duration;

use enneo_common::ErrorCode;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_common::service_error::{Error, Result};
use enneo_proto::agent::v1 as agent;
use enneo_proto::agent::v1::agent_service_client::AgentServiceClient;
use enneo_proto::ticket::v1 as ticket;
use enneo_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};

/// An AI agent as test cases and runs name it.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub document: Value,
}

impl Agent {
    fn from_document(document: Value) -> Result<Self> {
        let id = document["id"].as_i64().ok_or_else(|| bad_answer("an agent without id"))?;
        let slug = document["slug"].as_str().unwrap_or_default().to_owned();
        let name = document["name"].as_str().unwrap_or(&slug).to_owned();
        Ok(Self { id, slug, name, document })
    }
}

#[derive(Clone)]
pub struct Upstream {
    agents: AgentServiceClient<Channel>,
    tickets: TicketServiceClient<Channel>,
    replay_timeout: Duration,
}

fn bad_answer(what: &str) -> Error {
    Error::Internal(format!("agent-svc answered {what}"))
}

/// A downstream failure in our vocabulary: its 404 is ours, its outage is ours as 503, and
/// anything else it refuses is a fault of this service.
pub fn failure(what: &str, status: &tonic::Status) -> Error {
    match ErrorCode::from_grpc(status.code()) {
        ErrorCode::NotFound => Error::NotFound(format!("{what} not found")),
        ErrorCode::Unavailable => {
            Error::unavailable_because(format!("{what} cannot be read now"), status.message())
        }
        ErrorCode::InvalidArgument | ErrorCode::Unprocessable => {
            Error::Unprocessable(format!("{what}: {}", status.message()))
        }
        _ => Error::Internal(format!("{what}: {status}")),
    }
}

impl Upstream {
    pub fn new(
        agent_url: &str,
        ticket_url: &str,
        replay_timeout: Duration,
    ) -> anyhow::Result<Self> {
        // Replays run the whole engine and may take longer than the default call deadline.
        let agent = Endpoint::from_shared(agent_url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(replay_timeout)
            .connect_lazy();
        Ok(Self {
            agents: AgentServiceClient::new(agent),
            tickets: TicketServiceClient::new(enneo_common::grpc::channel(ticket_url)?),
            replay_timeout,
        })
    }

    pub async fn agent(&self, id: i64) -> Result<Agent> {
        let caller = Caller::service(&[permission::READ_TICKETS]);
        let found = self
            .agents
            .clone()
            .get_agent(request(agent::AgentRef { id }, &caller))
            .await
            .map_err(|s| failure(&format!("AI agent {id}"), &s))?;
        Agent::from_document(parse(&found.into_inner().agent_json)?)
    }

    /// Every active agent (those agent-svc lists), oldest first.
    pub async fn agents(&self, channel: Option<String>) -> Result<Vec<Agent>> {
        let caller = Caller::service(&[permission::READ_TICKETS]);
        let mut out = Vec::new();
        loop {
            let req = agent::ListAgentsRequest {
                channel: channel.clone(),
                limit: 1000,
                offset: out.len() as i64,
                ..Default::default()
            };
            let page = self
                .agents
                .clone()
                .list_agents(request(req, &caller))
                .await
                .map_err(|s| failure("AI agents", &s))?
                .into_inner();
            let n = page.agents_json.len();
            for doc in &page.agents_json {
                out.push(Agent::from_document(parse(doc)?)?);
            }
            if n == 0 || out.len() as i64 >= page.total {
                return Ok(out);
            }
        }
    }

    pub async fn ticket(&self, id: i64) -> Result<ticket::Ticket> {
        let caller = Caller::service(&[permission::READ_TICKETS]);
        let req = ticket::GetTicketRequest { id, viewing: false };
        self.tickets
            .clone()
            .get_ticket(request(req, &caller))
            .await
            .map_err(|s| failure(&format!("ticket {id}"), &s))?
            .into_inner()
            .ticket
            .ok_or_else(|| Error::Internal("ticket-svc answered without a ticket".into()))
    }

    /// Replays a snapshot through agent-svc's engine with recording effects (a dry run):
    /// detection decides which agents run, as it would live.
    pub async fn replay(&self, snapshot: &Value) -> Result<Value, tonic::Status> {
        let caller = Caller::service(&[permission::AI_QUALITY_CHECK_RUN, permission::READ_TICKETS]);
        let req =
            agent::ReplayTicketRequest { ticket_json: snapshot.to_string(), ..Default::default() };
        let mut req = request(req, &caller);
        req.set_timeout(self.replay_timeout);
        let answer = self.agents.clone().replay_ticket(req).await?.into_inner();
        serde_json::from_str(&answer.result_json)
            .map_err(|_| tonic::Status::internal("agent-svc answered a replay that is not JSON"))
    }

    /// Has agent-svc embed what replaying the snapshots embeds, so that a run finds it cached.
    pub async fn prepare(&self, snapshots: &[&Value]) -> Result<(), tonic::Status> {
        let caller = Caller::service(&[permission::AI_QUALITY_CHECK_RUN]);
        let tickets_json = snapshots.iter().map(|s| s.to_string()).collect();
        let req = agent::PrepareReplayRequest { tickets_json };
        let mut req = request(req, &caller);
        req.set_timeout(self.replay_timeout);
        self.agents.clone().prepare_replay(req).await?;
        Ok(())
    }
}

fn parse(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|_| bad_answer("a document that is not JSON"))
}
