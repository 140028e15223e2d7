//! Every side effect an agent run can have, behind one interface with two modes: live effects
//! are applied (replies and closes through ticket-svc, executors run); recording effects only
//! write down what would have happened. Preview and the quality check's replay record, so they
//! run the very code live execution runs and provably change nothing: no ticket write, no
//! mail, no request to an executor's target. Only a `sourceCode` executor that is cut off the
//! network runs while recording, since it can reach nothing.

use std::sync::{Arc, Mutex};

use enneo_common::service_error::Result;
use enneo_proto::ticket::v1 as pb;
use serde::Serialize;
use serde_json::Value;

use crate::executors::{self, Definition, Failure, Output, api_call, source_code};
use crate::llm::Llm;
use crate::providers::servers::ModelServers;
use crate::templates::Templates;
use crate::tickets::Tickets;

/// What a run did, or would have done.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Recorded {
    Reply {
        ticket_id: i64,
        text: String,
    },
    Close {
        ticket_id: i64,
    },
    /// An `apiCall` executor's request, credentials masked (`curlRequests` of a preview).
    ApiCall {
        request: Value,
    },
    /// A `sourceCode` executor that may reach the network, so it was not run.
    SourceCode {
        language: Option<String>,
    },
}

/// What a run may call besides its effects: executors (as the operator allows them, with the
/// client they call APIs with) and, when one is configured, an LLM.
pub struct Toolbox {
    pub config: executors::Config,
    pub http: reqwest::Client,
    llm: LlmSource,
}

enum LlmSource {
    Fixed(Option<Arc<Llm>>),
    /// The one the tenant's settings choose at the time of the call.
    Servers(Arc<ModelServers>),
}

impl Toolbox {
    /// With this LLM (or none), always.
    pub fn new(config: executors::Config, llm: Option<Arc<Llm>>) -> Self {
        Self::with(config, LlmSource::Fixed(llm))
    }

    /// With the LLM `servers` has in use at each call.
    pub fn with_servers(config: executors::Config, servers: Arc<ModelServers>) -> Self {
        Self::with(config, LlmSource::Servers(servers))
    }

    fn with(config: executors::Config, llm: LlmSource) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a TLS backend is compiled in");
        Self { config, http, llm }
    }

    pub fn llm(&self) -> Option<Arc<Llm>> {
        match &self.llm {
            LlmSource::Fixed(llm) => llm.clone(),
            LlmSource::Servers(servers) => servers.llm(),
        }
    }
}

enum Mode {
    Live(Box<Tickets>),
    Recording(Mutex<Vec<Recorded>>),
}

pub struct Effects {
    mode: Mode,
    toolbox: Arc<Toolbox>,
}

impl Effects {
    pub fn live(tickets: Tickets, toolbox: Arc<Toolbox>) -> Self {
        Self { mode: Mode::Live(Box::new(tickets)), toolbox }
    }

    pub fn recording(toolbox: Arc<Toolbox>) -> Self {
        Self { mode: Mode::Recording(Mutex::new(Vec::new())), toolbox }
    }

    /// The LLM runs may ask (it only reads, so recording runs use it too).
    pub fn llm(&self) -> Option<Arc<Llm>> {
        self.toolbox.llm()
    }

    fn record(&self, effect: Recorded) -> bool {
        match &self.mode {
            Mode::Live(_) => false,
            Mode::Recording(log) => {
                log.lock().unwrap_or_else(|p| p.into_inner()).push(effect);
                true
            }
        }
    }

    /// Sends the customer `text` on `ticket_id` (through ticket-svc's mail outbox).
    pub async fn reply(&self, ticket_id: i64, text: &str) -> Result<()> {
        match &self.mode {
            Mode::Live(tickets) => tickets.reply(ticket_id, text).await.map(|_| ()),
            Mode::Recording(_) => {
                self.record(Recorded::Reply { ticket_id, text: text.to_owned() });
                Ok(())
            }
        }
    }

    pub async fn close(&self, ticket_id: i64) -> Result<()> {
        match &self.mode {
            Mode::Live(tickets) => {
                let fields =
                    pb::TicketFields { status: Some("closed".into()), ..Default::default() };
                tickets.update(ticket_id, fields).await
            }
            Mode::Recording(_) => {
                self.record(Recorded::Close { ticket_id });
                Ok(())
            }
        }
    }

    /// Runs an executor; `Ok(None)` when it was only recorded.
    pub async fn execute(
        &self,
        def: &Definition,
        input: &Value,
        templates: &Templates,
    ) -> Result<Option<Output>, Failure> {
        let config = &self.toolbox.config;
        if def.is_api_call() {
            let prepared = api_call::prepare(def, input, templates)?;
            api_call::check_host(&prepared, &config.api_allowed_hosts)?;
            if self.record(Recorded::ApiCall { request: api_call::describe(&prepared) }) {
                return Ok(None);
            }
            return api_call::send(&self.toolbox.http, &prepared, config.api_timeout())
                .await
                .map(Some);
        }
        let recording = matches!(self.mode, Mode::Recording(_));
        if recording && config.source_code_network {
            self.record(Recorded::SourceCode { language: def.language.clone() });
            return Ok(None);
        }
        source_code::run(def, input, config).await.map(Some)
    }

    /// What a recording run would have done; empty for live effects.
    pub fn recorded(&self) -> Vec<Recorded> {
        match &self.mode {
            Mode::Live(_) => Vec::new(),
            Mode::Recording(log) => log.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}
