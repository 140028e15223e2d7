//! Detection as durable work: ticket events become rows of `agent.detection_job` (in the same
//! transaction as their inbox row), and a [`Worker`](enneo_common::jobs::Worker) detects each
//! ticket, stores its intents and outcome, then tells ticket-svc the ticket's `aiSupportLevel`,
//! language and [`sentiment`](crate::sentiment). A crash anywhere only releases the row for another try, and every step is
//! idempotent, so no ticket is left without a result: intents, or an explicit `noDetection`.
//!
//! While the embeddings server is down a job is retried with back-off; after
//! [`AI_ATTEMPTS`] tries detection runs without AI (conditions only) and says so, in its
//! stored note and as an entry in the ticket's activity trail.

use std::sync::Arc;

use chrono::Utc;
use enneo_common::jobs::{Claimed, Outcome, Work};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use serde_json::{Map, Value};
use sqlx::{PgConnection, PgPool};

use super::runtime::{DetectError, Findings, Runtime, Vectors};
use crate::effects::{Effects, Toolbox};
use crate::extraction::Lang;
use crate::intents::decision_json;
use crate::intents::store::{self as intents, Detected, IntentRow};
use crate::runner;
use crate::tickets::{TicketView, Tickets};

pub const TABLE: &str = "agent.detection_job";
/// Tries with AI before detection settles for conditions alone.
pub const AI_ATTEMPTS: i32 = 5;

/// The activity-trail kind of a detection that ran without (part of) its AI.
pub const DEGRADED_ACTIVITY: &str = "aiDetectionDegraded";

pub const TRIGGER_CREATED: &str = "TicketCreated";
pub const TRIGGER_RESPONSE: &str = "TicketResponse";

/// Queues detection of a ticket inside the caller's transaction.
pub async fn enqueue(
    tx: &mut PgConnection,
    ticket_id: i64,
    trigger: &str,
    conversation_id: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO agent.detection_job (ticket_id, trigger, conversation_id) VALUES ($1, $2, $3)",
    )
    .bind(ticket_id)
    .bind(trigger)
    .bind(conversation_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Detection of one ticket, from reading it to writing its results.
#[derive(Clone)]
pub struct Detection {
    pub pool: PgPool,
    pub runtime: Arc<Runtime>,
    pub tickets: Tickets,
    pub toolbox: Arc<Toolbox>,
    pub outbox: enneo_common::outbox::Outbox,
}

impl Detection {
    /// Detects, stores the intents and the outcome, and updates the ticket. `message` reads an
    /// inbound conversation instead of the ticket's own message.
    pub async fn process(
        &self,
        ticket_id: i64,
        conversation_id: Option<i64>,
        ai_required: bool,
    ) -> Result<Vec<IntentRow>, DetectError> {
        let proto = self.tickets.get(ticket_id).await?;
        let mut ticket = TicketView::from_proto(&proto);
        if let Some(id) = conversation_id {
            let c = self.tickets.conversation(ticket_id, id).await?;
            let text = c
                .body_plain
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| enneo_common::html::html_to_text(&c.body));
            ticket = ticket.with_message(Some(text), c.subject, None);
        }
        let today = Utc::now().date_naive();
        let findings = self.runtime.detect(&ticket, today, ai_required, Vectors::Fresh).await?;
        let (rows, lang) = self.store(&ticket, &findings, today).await?;
        if let Some(why) = &findings.degraded {
            self.tickets.add_activity(ticket_id, DEGRADED_ACTIVITY, why).await?;
        }
        // No agent is configured: there is no AI pipeline, and the ticket stays as it came.
        if findings.live_agents == 0 {
            return Ok(rows);
        }
        let mut fields = pb::TicketFields {
            ai_support_level: Some(support_level(&rows).into()),
            sentiment: Some(crate::sentiment::classify(&ticket.subject, &ticket.body).into()),
            ..Default::default()
        };
        if proto.language_code.as_deref().is_none_or(str::is_empty) {
            let (name, code) = match lang {
                Lang::De => ("German", "de"),
                Lang::En => ("English", "en"),
            };
            fields.language = Some(name.into());
            fields.language_code = Some(code.into());
        }
        // A bot that owns the conversation keeps it.
        if proto.ai_support_level != "bot" {
            self.tickets.update(ticket_id, fields).await?;
        }
        Ok(rows)
    }

    async fn store(
        &self,
        ticket: &TicketView,
        findings: &Findings,
        today: chrono::NaiveDate,
    ) -> Result<(Vec<IntentRow>, Lang)> {
        let contract = ticket.contract_id.clone().unwrap_or_default();
        let mut lang = guess_lang(ticket);
        // Phase 1 has no side effects, executors included; it runs before the transaction.
        let effects = Effects::live(self.tickets.clone(), self.toolbox.clone());
        let mut runs = Vec::new();
        for found in &findings.found {
            let agent = found.agent.document();
            match runner::run_with(&agent, ticket, &Map::new(), today, &effects).await {
                Ok(run) => runs.push((found, run)),
                Err(e) => {
                    tracing::warn!(agent = found.agent.id, ticket = ticket.id, error = %e, "agent not run");
                }
            }
        }
        let mut tx = self.pool.begin().await?;
        let before: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT agent_id FROM agent.intent WHERE ticket_id = $1 \
             AND status IN ('preview', 'ready', 'executed')",
        )
        .bind(ticket.id)
        .fetch_all(&mut *tx)
        .await?;
        let mut rows = Vec::new();
        for (found, run) in runs {
            lang = run.lang;
            let row = intents::upsert(
                &mut tx,
                &Detected {
                    ticket_id: ticket.id,
                    agent_id: found.agent.id,
                    contract_id: contract.clone(),
                    confidence: found.confidence,
                    evidence: found.evidence.clone(),
                    data: Value::Object(run.extracted),
                    decision: decision_json(&run.decision),
                },
            )
            .await?;
            rows.push(row);
        }
        sqlx::query(
            "INSERT INTO agent.ticket_detection (ticket_id, outcome, language, note) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) DO UPDATE SET \
             outcome = excluded.outcome, language = excluded.language, note = excluded.note, \
             detected_at = now()",
        )
        .bind(ticket.id)
        .bind(if rows.is_empty() { "noDetection" } else { "intents" })
        .bind(match lang {
            Lang::De => "de",
            Lang::En => "en",
        })
        .bind(&findings.degraded)
        .execute(&mut *tx)
        .await?;
        if let Some(vector) = &findings.vector {
            sqlx::query(
                "INSERT INTO agent.ticket_vector (ticket_id, model, vector) VALUES ($1, $2, $3) \
                 ON CONFLICT (ticket_id) DO UPDATE SET model = excluded.model, \
                 vector = excluded.vector, updated_at = now()",
            )
            .bind(ticket.id)
            .bind(self.runtime.embeddings().model())
            .bind(vector)
            .execute(&mut *tx)
            .await?;
        }
        // Detection only adds intents: the set changed when an agent is new to the ticket. An
        // unchanged set publishes nothing (and keeps ticket-svc from touching the ticket).
        if rows.iter().any(|r| !before.contains(&r.agent_id)) {
            intents::publish_ticket_intents(&mut tx, &self.outbox, ticket.id, "system").await?;
        }
        tx.commit().await?;
        self.outbox.committed();
        Ok((rows, lang))
    }
}

fn guess_lang(ticket: &TicketView) -> Lang {
    let doc = crate::extraction::Doc::new(&crate::extraction::Message {
        subject: &ticket.subject,
        body: &ticket.body,
        received_at: ticket.received_at,
        lang: ticket.language_code.as_deref(),
    });
    doc.lang
}

/// `automated` when an intent's recommended option may run unattended (contract §8.4), else
/// `human`.
fn support_level(rows: &[IntentRow]) -> &'static str {
    support_level_of(
        rows.iter().map(|r| r.decision.get("autoExecutable") == Some(&Value::Bool(true))),
    )
}

/// [`support_level`] from whether each intent may run unattended.
pub fn support_level_of(mut auto_executable: impl Iterator<Item = bool>) -> &'static str {
    if auto_executable.any(|a| a) { "automated" } else { "human" }
}

/// Whether detection of the ticket has a stored result.
pub async fn detected(pool: &PgPool, ticket_id: i64) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT ticket_id FROM agent.ticket_detection WHERE ticket_id = $1")
            .bind(ticket_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.is_some())
}

#[derive(Debug, sqlx::FromRow)]
pub struct Job {
    id: i64,
    ticket_id: i64,
    trigger: String,
    conversation_id: Option<i64>,
    attempts: i32,
}

impl Claimed for Job {
    fn id(&self) -> i64 {
        self.id
    }
    fn attempts(&self) -> i32 {
        self.attempts
    }
}

impl Work for Detection {
    type Item = Job;

    fn table(&self) -> &str {
        TABLE
    }

    async fn claim(&mut self, tx: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Job>> {
        sqlx::query_as(
            "SELECT id, ticket_id, trigger, conversation_id, attempts FROM agent.detection_job \
             WHERE available_at <= now() ORDER BY available_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .fetch_all(tx)
        .await
    }

    async fn perform(&mut self, jobs: &[Job]) -> anyhow::Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            // Detected already (a realtime create): the event has nothing left to do.
            if job.trigger == TRIGGER_CREATED && detected(&self.pool, job.ticket_id).await? {
                outcomes.push(Outcome::Done);
                continue;
            }
            let ai_required = job.attempts < AI_ATTEMPTS;
            outcomes.push(
                match self.process(job.ticket_id, job.conversation_id, ai_required).await {
                    Ok(rows) => {
                        tracing::info!(
                            ticket = job.ticket_id,
                            intents = rows.len(),
                            "ticket detected"
                        );
                        Outcome::Done
                    }
                    // Deleted meanwhile: nothing to detect.
                    Err(DetectError::Store(Error::NotFound(_))) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                },
            );
        }
        Ok(outcomes)
    }

    async fn done(&mut self, tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM agent.detection_job WHERE id = ANY($1)")
            .bind(ids)
            .execute(tx)
            .await?;
        Ok(())
    }
}
