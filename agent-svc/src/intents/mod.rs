//! Intents: what an agent read in a ticket (contract §3). Detection writes them; humans correct,
//! execute, archive or delete them; every read renders the vendor's Intent document.

pub mod auto;
pub mod execute;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::one_of;
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use enneo_common::outbox::Outbox;

use crate::agents::store as agents;
use crate::effects::{Effects, Toolbox};
use crate::engine::phases::Decision;
use crate::runner::{self, RunError};
use crate::tickets::{TicketView, Tickets};
use store::IntentRow;

/// The stored form of a phase-1 decision.
pub fn decision_json(decision: &Decision) -> Value {
    serde_json::to_value(decision).unwrap_or_else(|_| json!({}))
}

/// The vendor's Intent document (§3.3) of a row; `agent` is (slug, name).
pub fn document(
    row: &IntentRow,
    agent: Option<&(String, String)>,
    recipient: Option<&str>,
) -> Value {
    let decision = &row.decision;
    let (code, name) = agent.cloned().unwrap_or_default();
    json!({
        "id": row.id,
        "code": code,
        "name": name,
        "aiAgentId": row.agent_id,
        "ticketId": row.ticket_id,
        "contractId": if row.contract_id.is_empty() { Value::Null } else { json!(row.contract_id) },
        "status": row.status,
        "confidence": (f64::from(row.confidence) * 100.0).round() / 100.0,
        "confidenceColor": confidence_color(row.confidence),
        "verified": row.verified,
        "context": {"evidence": row.evidence},
        "messagePreview": decision.get("messagePreview").cloned().unwrap_or(Value::Null),
        "recipient": recipient,
        "tags": [],
        "data": decision.get("data").cloned().unwrap_or_else(|| json!({})),
        "options": decision.get("options").cloned().unwrap_or_else(|| json!([])),
        "infos": decision.get("infos").cloned().unwrap_or_else(|| json!([])),
        "extraInfo": Value::Null,
        "autoExecutable": decision.get("autoExecutable").cloned().unwrap_or(json!(false)),
        "outcome": row.outcome,
        "sources": [],
        "executedAt": row.executed_at.map(|t| t.timestamp()),
        "createdAt": crate::time::wall(row.created_at),
        "modifiedAt": crate::time::wall(row.modified_at),
    })
}

fn confidence_color(confidence: f32) -> &'static str {
    if confidence >= 0.9 {
        "green"
    } else if confidence >= 0.7 {
        "yellow"
    } else {
        "red"
    }
}

/// The ticket-level result (§3.1): `full` when an intent is certain (verified by a human, or
/// detected with confidence 1 and its recommended option may run unattended), `agentAssist`
/// with other intents, `customerDetected` with none but a known contract, `noDetection`
/// otherwise.
pub fn ai_outcome(rows: &[IntentRow], contract_known: bool) -> &'static str {
    let live: Vec<&IntentRow> = rows.iter().filter(|r| r.status != "invalidated").collect();
    let certain = |r: &IntentRow| {
        r.verified
            || (r.confidence >= 0.995
                && r.decision.get("autoExecutable") == Some(&Value::Bool(true)))
    };
    if live.iter().any(|r| certain(r)) {
        "full"
    } else if !live.is_empty() {
        "agentAssist"
    } else if contract_known {
        "customerDetected"
    } else {
        "noDetection"
    }
}

#[derive(Clone)]
pub struct Intents {
    pub pool: PgPool,
    pub tickets: Tickets,
    pub toolbox: Arc<Toolbox>,
    pub outbox: Outbox,
}

/// The actor of an event: the user, or `system`.
pub fn actor(caller: &Caller) -> String {
    if caller.user_id == 0 { "system".into() } else { caller.user_id.to_string() }
}

impl Intents {
    /// Documents of `rows`, with agent names and the ticket's sender as recipient.
    pub async fn documents(
        &self,
        rows: &[IntentRow],
        recipient: Option<&str>,
    ) -> Result<Vec<Value>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.agent_id).collect();
        let names = agents::names(&self.pool, &ids).await?;
        Ok(rows.iter().map(|r| document(r, names.get(&r.agent_id), recipient)).collect())
    }

    pub async fn by_ticket(
        &self,
        caller: &Caller,
        ticket_id: i64,
    ) -> Result<(&'static str, Vec<Value>)> {
        caller.require(permission::READ_TICKETS)?;
        let ticket = self.tickets.get(ticket_id).await?;
        let rows = store::of_tickets(&self.pool, &[ticket_id]).await?;
        let outcome =
            ai_outcome(&rows, ticket.contract_id.as_deref().is_some_and(|c| !c.is_empty()));
        Ok((outcome, self.documents(&rows, ticket.from.as_deref()).await?))
    }

    pub async fn for_tickets(
        &self,
        caller: &Caller,
        ticket_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<Value>>> {
        caller.require(permission::READ_TICKETS)?;
        if ticket_ids.len() > 1000 {
            return Err(Error::InvalidArgument("at most 1000 tickets at once".into()));
        }
        let rows = store::of_tickets(&self.pool, ticket_ids).await?;
        let docs = self.documents(&rows, None).await?;
        let mut out: HashMap<i64, Vec<Value>> = HashMap::new();
        for (row, doc) in rows.iter().zip(docs) {
            out.entry(row.ticket_id).or_default().push(doc);
        }
        Ok(out)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        mut filter: store::Filter,
    ) -> Result<(Vec<Value>, i64)> {
        caller.require(permission::READ_TICKETS)?;
        if let Some(status) = &filter.status {
            one_of("status", status, store::STATUSES)?;
        }
        filter.limit = page_limit(filter.limit)?;
        if filter.offset < 0 {
            return Err(Error::InvalidArgument("offset must not be negative".into()));
        }
        let (rows, total) = store::list(&self.pool, &filter).await?;
        Ok((self.documents(&rows, None).await?, total))
    }

    pub async fn get(&self, caller: &Caller, id: i64) -> Result<Value> {
        caller.require(permission::READ_TICKETS)?;
        let row = store::get(&mut *self.pool.acquire().await?, id).await?;
        Ok(self.documents(&[row], None).await?.remove(0))
    }

    /// A human's corrections (merged into the data), status or verification; the decision is
    /// recomputed with the corrected values.
    pub async fn update(
        &self,
        caller: &Caller,
        id: i64,
        data: Option<Map<String, Value>>,
        status: Option<String>,
        verified: Option<bool>,
    ) -> Result<Value> {
        caller.require(permission::UPDATE_INTENT)?;
        if let Some(s) = &status {
            one_of("status", s, &["ready", "invalidated", "archived"])?;
        }
        let mut tx = self.pool.begin().await?;
        let mut row = store::lock(&mut tx, id).await?;
        if let Some(data) = data {
            if let Value::Object(c) = &mut row.corrections {
                c.extend(data);
            }
            let agent = agents::get_any(&mut tx, row.agent_id).await?;
            let ticket = TicketView::from_proto(&self.tickets.get(row.ticket_id).await?);
            let given = corrections_without_action(&row.corrections);
            let effects = Effects::live(self.tickets.clone(), self.toolbox.clone());
            let today = Utc::now().date_naive();
            let run = runner::run_with(&agent.document(), &ticket, &given, today, &effects)
                .await
                .map_err(run_error)?;
            row.decision = decision_json(&run.decision);
        }
        if let Some(s) = status {
            row.status = s;
        }
        if let Some(v) = verified {
            row.verified = v;
        }
        let row = store::save(&mut tx, &row).await?;
        store::publish_ticket_intents(&mut tx, &self.outbox, row.ticket_id, &actor(caller)).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(self.documents(&[row], None).await?.remove(0))
    }

    pub async fn delete(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::UPDATE_INTENT)?;
        let mut tx = self.pool.begin().await?;
        let mut row = store::lock(&mut tx, id).await?;
        row.status = "deleted".into();
        store::save(&mut tx, &row).await?;
        store::publish_ticket_intents(&mut tx, &self.outbox, row.ticket_id, &actor(caller)).await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }
}

/// Corrections are parameter values; `_action` is chosen per execution, never stored.
pub fn corrections_without_action(corrections: &Value) -> Map<String, Value> {
    let mut given = corrections.as_object().cloned().unwrap_or_default();
    given.remove(crate::engine::definition::ACTION_KEY);
    given
}

pub fn page_limit(limit: i64) -> Result<i64> {
    match limit {
        0 => Ok(100),
        1..=1000 => Ok(limit),
        _ => Err(Error::InvalidArgument(format!("limit must be between 1 and 1000, got {limit}"))),
    }
}

/// A run that cannot happen is the caller's problem: a definition that does not hold, or an
/// option that was not offered.
pub fn run_error(e: RunError) -> Error {
    match e {
        RunError::Definition(_) => Error::Unprocessable(e.to_string()),
        RunError::NotOffered(_) => Error::Unprocessable(e.to_string()),
    }
}
