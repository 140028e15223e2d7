//! Detection of a ticket against the live agents: the classifier for agents detected by AI,
//! conditions for agents detected by ticket properties, and both for the combined types
//! (contract §2.5). The classifier is rebuilt only when the set of live agents changed
//! (any write bumps an agent's version), from cached example vectors.

use std::sync::Arc;

use chrono::NaiveDate;
use enneo_common::service_error::{Error, Result};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Mutex;

use super::{AgentProfile, Detection, Detector, Message};
use crate::agents::{catalogue, store as agents, store::AgentRow};
use crate::engine::conditions::{self, Condition};
use crate::engine::definition::AgentSettings;
use crate::engine::params::{self, Inputs};
use crate::llm::{Candidate, Llm};
use crate::providers::ProviderError;
use crate::providers::cache::VectorCache;
use crate::providers::embeddings::{EmbeddingsClient, InputType};
use crate::providers::servers::ModelServers;
use crate::tickets::TicketView;

/// How an agent is detected (`settings.detectionDetails.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Manual,
    Ai,
    Condition,
    AiAndCondition,
    AiOrCondition,
}

impl Kind {
    pub fn of(agent: &Value) -> Self {
        match agent.pointer("/settings/detectionDetails/type").and_then(Value::as_str) {
            Some("manualAssignment") | Some("customLogic") => Self::Manual,
            Some("conditionDetection") => Self::Condition,
            Some("aiAndConditionDetection") => Self::AiAndCondition,
            Some("aiOrConditionDetection") => Self::AiOrCondition,
            // aiDetection, and agents that do not say: detection by what the customer wrote.
            _ => Self::Ai,
        }
    }

    fn uses_ai(self) -> bool {
        matches!(self, Self::Ai | Self::AiAndCondition | Self::AiOrCondition)
    }
}

/// One agent found in a ticket.
#[derive(Debug, Clone)]
pub struct Found {
    pub agent: AgentRow,
    pub confidence: f32,
    pub evidence: String,
}

/// What detection found, and what it had to do without.
#[derive(Debug, Default)]
pub struct Findings {
    pub found: Vec<Found>,
    /// Set when AI detection was unavailable and only conditions were evaluated.
    pub degraded: Option<String>,
    /// The message as one unit-length vector, when it was embedded.
    pub vector: Option<Vec<f32>>,
    /// How many live agents there were to detect; none means there is no AI pipeline yet.
    pub live_agents: usize,
}

struct Built {
    generation: String,
    agents: Vec<AgentRow>,
    detector: Option<Detector>,
}

/// Where a message's vectors come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vectors {
    /// Embedded afresh: a live message is seen once, so caching it would only grow the cache.
    Fresh,
    /// Through the vector cache: a quality-check replay sees the same snapshot run after run,
    /// and only its first replay (per embeddings model) pays for embedding it.
    Cached,
}

pub struct Runtime {
    pool: PgPool,
    servers: Arc<ModelServers>,
    cache: VectorCache,
    threshold: f32,
    built: Mutex<Option<Arc<Built>>>,
}

/// With an LLM, sentences from this probability on are candidates it is asked to confirm…
pub const LLM_CANDIDATE_THRESHOLD: f32 = 0.4;
/// …and from this one on they need no confirmation.
pub const LLM_CONFIRM_BELOW: f32 = 0.9;

impl Runtime {
    pub fn new(
        pool: PgPool,
        embeddings: Arc<EmbeddingsClient>,
        cache: VectorCache,
        threshold: f32,
        llm: Option<Arc<Llm>>,
    ) -> Self {
        Self::with_servers(pool, Arc::new(ModelServers::fixed(embeddings, llm)), cache, threshold)
    }

    /// Detection with the model servers `servers` has in use at each call (the tenant may
    /// change them).
    pub fn with_servers(
        pool: PgPool,
        servers: Arc<ModelServers>,
        cache: VectorCache,
        threshold: f32,
    ) -> Self {
        Self { pool, servers, cache, threshold, built: Mutex::new(None) }
    }

    /// The embeddings server in use now.
    pub fn embeddings(&self) -> Arc<EmbeddingsClient> {
        self.servers.embeddings()
    }

    pub fn servers(&self) -> &Arc<ModelServers> {
        &self.servers
    }

    /// The vectors of example and background sentences, shared with other detections.
    pub fn cache(&self) -> &VectorCache {
        &self.cache
    }

    /// Score from which AI detection counts.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The live agents and their classifier, rebuilt when an agent changed.
    async fn current(&self) -> Result<Arc<Built>, DetectError> {
        let embeddings = self.servers.embeddings();
        // Another embeddings model means other vectors: the classifier is rebuilt for it.
        let generation =
            format!("{}/{}", agents::generation(&self.pool).await?, embeddings.model());
        let mut built = self.built.lock().await;
        if let Some(b) = built.as_ref().filter(|b| b.generation == generation) {
            return Ok(b.clone());
        }
        let live = agents::all_live(&self.pool).await?;
        let profiles: Vec<AgentProfile> = live
            .iter()
            .filter(|a| Kind::of(&a.definition).uses_ai())
            .map(|a| AgentProfile::from_definition(a.id, &a.definition))
            .collect();
        let detector = if profiles.is_empty() {
            None
        } else {
            // Every example and background sentence in one fill: calls as large as the
            // embeddings client takes them, not one per agent.
            let mut texts: Vec<String> =
                profiles.iter().flat_map(|p| p.examples.iter().cloned()).collect();
            texts.extend(catalogue::background());
            let embedded = self.cache.embed(&embeddings, &texts, InputType::Query).await?;
            let mut embedded = embedded.into_iter();
            let vectors: Vec<Vec<Vec<f32>>> = profiles
                .iter()
                .map(|p| embedded.by_ref().take(p.examples.len()).collect())
                .collect();
            let background: Vec<Vec<f32>> = embedded.collect();
            let mut detector = Detector::from_vectors(profiles, vectors, background);
            detector.threshold = match self.servers.llm() {
                Some(_) => self.threshold.min(LLM_CANDIDATE_THRESHOLD),
                None => self.threshold,
            };
            Some(detector)
        };
        let b = Arc::new(Built { generation, agents: live, detector });
        *built = Some(b.clone());
        Ok(b)
    }

    /// Detects the agents a ticket asks for. With `ai_required`, an unavailable embeddings
    /// server is an error (the caller retries later); otherwise condition detection still runs
    /// and the findings say what was missing.
    pub async fn detect(
        &self,
        ticket: &TicketView,
        today: NaiveDate,
        ai_required: bool,
        vectors: Vectors,
    ) -> Result<Findings, DetectError> {
        let built = match self.current().await {
            Ok(b) => Some(b),
            Err(DetectError::Provider(e)) if !ai_required => {
                return self.without_ai(ticket, today, e.to_string()).await;
            }
            Err(e) => return Err(e),
        };
        let built = built.expect("set above");
        let mut ticket_vector = None;
        let ai = match &built.detector {
            None => Vec::new(),
            Some(detector) => {
                let units = units_of(ticket);
                let embeddings = self.servers.embeddings();
                let embedded = match vectors {
                    Vectors::Fresh => embeddings.embed(&units, InputType::Query).await,
                    Vectors::Cached => {
                        self.cache.embed_unlocked(&embeddings, &units, InputType::Query).await
                    }
                };
                match embedded {
                    Ok(vectors) => {
                        ticket_vector = mean(&vectors);
                        detector.classify(&units, &vectors)
                    }
                    Err(e) if !ai_required => {
                        return self.without_ai(ticket, today, e.to_string()).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let mut findings = Findings::default();
        let ai = self.confirmed(ai, &built.agents, ticket, &mut findings).await;
        for agent in built.agents.iter().filter(|a| serves(a, &ticket.channel)) {
            let kind = Kind::of(&agent.definition);
            let by_ai = ai.iter().find(|d| d.agent_id == agent.id);
            let by_condition = || conditions_hold(&agent.definition, ticket, today);
            let hit = match kind {
                Kind::Manual => None,
                Kind::Ai => by_ai.map(|d| (d.confidence, d.evidence.clone())),
                Kind::Condition => by_condition().then(|| (1.0, "conditions hold".to_owned())),
                Kind::AiAndCondition => {
                    by_ai.filter(|_| by_condition()).map(|d| (d.confidence, d.evidence.clone()))
                }
                Kind::AiOrCondition => by_ai
                    .map(|d| (d.confidence, d.evidence.clone()))
                    .or_else(|| by_condition().then(|| (1.0, "conditions hold".to_owned()))),
            };
            if let Some((confidence, evidence)) = hit {
                findings.found.push(Found { agent: agent.clone(), confidence, evidence });
            }
        }
        findings.found.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        findings.vector = ticket_vector;
        findings.live_agents = built.agents.len();
        Ok(findings)
    }

    /// Readies what replaying tickets needs: the live agents' classifier, and the tickets'
    /// units embedded through the vector cache as [`detect`](Self::detect) with
    /// [`Vectors::Cached`] embeds them (all in one request). How many units there are.
    pub async fn prepare(&self, tickets: &[TicketView]) -> Result<usize, DetectError> {
        self.current().await?;
        let units: Vec<String> = tickets.iter().flat_map(units_of).collect();
        self.cache.embed_unlocked(&self.servers.embeddings(), &units, InputType::Query).await?;
        Ok(units.len())
    }

    /// The AI detections that count: with an LLM, candidates below [`LLM_CONFIRM_BELOW`] stay
    /// only when it confirms them (and when it cannot answer, the plain threshold decides);
    /// without one, the threshold the detector already applied.
    pub async fn confirmed(
        &self,
        ai: Vec<Detection>,
        agents: &[AgentRow],
        ticket: &TicketView,
        findings: &mut Findings,
    ) -> Vec<Detection> {
        let Some(llm) = self.servers.llm() else { return ai };
        let (sure, unsure): (Vec<Detection>, Vec<Detection>) =
            ai.into_iter().partition(|d| d.confidence >= LLM_CONFIRM_BELOW);
        if unsure.is_empty() {
            return sure;
        }
        let en = ticket.language_code.as_deref().is_some_and(|l| l.starts_with("en"));
        let described: Vec<(&AgentRow, &Detection)> = unsure
            .iter()
            .filter_map(|d| agents.iter().find(|a| a.id == d.agent_id).map(|a| (a, d)))
            .collect();
        let candidates: Vec<Candidate<'_>> = described
            .iter()
            .map(|(a, _)| {
                let text = |key: &str| a.definition.get(key).and_then(Value::as_str);
                let prompt = |key: &str| {
                    a.definition
                        .pointer(&format!("/settings/detectionDetails/aiDetection/{key}"))
                        .and_then(Value::as_str)
                };
                Candidate {
                    slug: &a.slug,
                    name: (if en { text("nameEn") } else { None })
                        .or(text("name"))
                        .unwrap_or(&a.slug),
                    prompt: (if en { prompt("detectionPromptEn") } else { None })
                        .or(prompt("detectionPrompt"))
                        .unwrap_or_default(),
                }
            })
            .collect();
        let message = format!("{}\n\n{}", ticket.subject, crate::text::newest_part(&ticket.body));
        let mut kept = sure;
        match llm.confirm(&message, &candidates).await {
            Ok(slugs) => kept.extend(
                described
                    .iter()
                    .filter(|(a, _)| slugs.contains(&a.slug))
                    .map(|(_, d)| (*d).clone()),
            ),
            Err(e) => {
                findings.degraded = Some(format!("LLM confirmation unavailable: {e}"));
                kept.extend(unsure.into_iter().filter(|d| d.confidence >= self.threshold));
            }
        }
        kept
    }

    /// The centre of an agent's examples (unit length), what similar tickets are near.
    pub async fn agent_vector(&self, agent: &Value) -> Result<Option<Vec<f32>>, DetectError> {
        let profile = AgentProfile::from_definition(0, agent);
        let vectors = self
            .cache
            .embed(&self.servers.embeddings(), &profile.examples, InputType::Query)
            .await?;
        Ok(mean(&vectors))
    }

    async fn without_ai(
        &self,
        ticket: &TicketView,
        today: NaiveDate,
        why: String,
    ) -> Result<Findings, DetectError> {
        let live = agents::all_live(&self.pool).await?;
        let live_agents = live.len();
        let found = live
            .into_iter()
            .filter(|a| serves(a, &ticket.channel))
            .filter(|a| {
                matches!(Kind::of(&a.definition), Kind::Condition | Kind::AiOrCondition)
                    && conditions_hold(&a.definition, ticket, today)
            })
            .map(|agent| Found { agent, confidence: 1.0, evidence: "conditions hold".into() })
            .collect();
        Ok(Findings {
            found,
            degraded: Some(format!("AI detection unavailable: {why}")),
            vector: None,
            live_agents,
        })
    }
}

/// What detection embeds of a ticket.
fn units_of(ticket: &TicketView) -> Vec<String> {
    Detector::units(&Message { subject: &ticket.subject, body: &ticket.body })
}

/// The unit-length mean of vectors; `None` without any.
pub fn mean(vectors: &[Vec<f32>]) -> Option<Vec<f32>> {
    let first = vectors.first()?;
    let dims = first.len();
    let mut sum = vec![0.0f32; dims];
    for v in vectors.iter().filter(|v| v.len() == dims) {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0).then(|| sum.into_iter().map(|x| x / norm).collect())
}

fn serves(agent: &AgentRow, channel: &str) -> bool {
    let channels = agent.channels();
    channels.is_empty() || channels.contains(&channel)
}

/// `detectionDetails.conditions` over `detectionDetails.parameters`, resolved from the ticket.
/// An agent without conditions has none that hold.
pub fn conditions_hold(agent: &Value, ticket: &TicketView, today: NaiveDate) -> bool {
    let Some(details) = agent.pointer("/settings/detectionDetails") else { return false };
    let Some(condition) =
        details.get("conditions").and_then(|c| serde_json::from_value::<Condition>(c.clone()).ok())
    else {
        return false;
    };
    if condition.operands.is_empty() {
        return false;
    }
    let parameters = details.get("parameters").cloned().unwrap_or(Value::Array(Vec::new()));
    let Ok(settings) =
        serde_json::from_value::<AgentSettings>(serde_json::json!({"parameters": parameters}))
    else {
        return false;
    };
    let inputs = Inputs { ..ticket.inputs.clone() };
    let resolution = params::resolve(&settings, &inputs);
    let lookup = |id: i64| resolution.get(id);
    conditions::evaluate(&condition, &lookup, today, &mut Vec::new())
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for DetectError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}
