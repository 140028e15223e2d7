//! `POST /intent/{id}/execute` and `POST /ticket/{id}/autoexecute`.
//!
//! Without `_action` in the data, execution is phase 1: the intent's infos and options for the
//! current data, nothing applied. With `_action` it is phase 2: the chosen option's response
//! case runs and its effects are applied, once per intent and action: a retried request finds
//! the first answer (the claim is committed before any effect, so a crash in between means the
//! effect happens at most once, never twice — a customer is not mailed twice).
//!
//! Effects follow the contract: a reply is sent and the ticket closed only with
//! `informCustomer` (otherwise the text comes back as `message` for a human to send); an output
//! that closes (`closeTicket`, `textTemplateAndClose`) closes either way. `dryRun` records the
//! effects instead of applying them.
//!
//! A sent reply is the tenant's wrapper (`aiReplyTemplate`, read by the caller) with the reply
//! at its `%MESSAGE%`; the outcome carries both, as `template` and `message`.

use chrono::Utc;
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use serde_json::{Map, Value, json};

use super::store::{self, Detected, IntentRow};
use super::{Intents, corrections_without_action, decision_json, run_error};
use crate::agents::store as agents;
use crate::effects::Effects;
use crate::engine::definition::ACTION_KEY;
use crate::tickets::TicketView;
use crate::{runner, templates};

#[derive(Debug, Default)]
pub struct Request {
    pub intent_id: Option<i64>,
    pub code: Option<String>,
    pub ticket_id: Option<i64>,
    pub inform_customer: bool,
    pub dry_run: bool,
    pub data: Map<String, Value>,
    pub contract_id: Option<String>,
    /// The tenant's reply wrapper (greeting, signature) with `%MESSAGE%`; none: the reply alone.
    pub reply_template: Option<String>,
}

/// The outcome document (§3.2) and the intent after the run.
pub struct Executed {
    pub outcome: Value,
    pub intent: Value,
}

impl Intents {
    pub async fn execute(&self, caller: &Caller, req: Request) -> Result<Executed> {
        caller.require(permission::EXECUTE_INTENT)?;
        self.execute_checked(caller, req).await
    }

    /// [`Intents::execute`] for a caller whose right to execute was established otherwise
    /// (auto-processing).
    pub(super) async fn execute_checked(&self, caller: &Caller, req: Request) -> Result<Executed> {
        let row = self.intent_for(caller, &req).await?;
        if let Some(contract) = req.contract_id.as_deref().filter(|c| !c.is_empty())
            && contract != row.contract_id
        {
            return Err(Error::Unprocessable(format!(
                "contract {contract} is not the intent's contract ({})",
                if row.contract_id.is_empty() { "none" } else { &row.contract_id }
            )));
        }
        let mut given = corrections_without_action(&row.corrections);
        given.extend(req.data.clone());
        let action = given.get(ACTION_KEY).and_then(Value::as_str).map(str::to_owned);
        let idempotent = action.is_some() && !req.dry_run;
        if idempotent {
            let action = action.as_deref().unwrap_or_default();
            let mut conn = self.pool.acquire().await?;
            if let Some(first) = store::execution(&mut conn, row.id, action).await? {
                let intent =
                    self.documents(&[store::get(&mut conn, row.id).await?], None).await?.remove(0);
                return Ok(Executed { outcome: first, intent });
            }
        }
        let agent = agents::get_any(&mut *self.pool.acquire().await?, row.agent_id).await?;
        let ticket_proto = self.tickets.get(row.ticket_id).await?;
        let ticket = TicketView::from_proto(&ticket_proto);
        let effects = if req.dry_run {
            Effects::recording(self.toolbox.clone())
        } else {
            Effects::live(self.tickets.clone(), self.toolbox.clone())
        };
        let today = Utc::now().date_naive();
        let run = runner::run_with(&agent.document(), &ticket, &given, today, &effects)
            .await
            .map_err(run_error)?;
        let mut outcome = json!({
            "responseCode": 200,
            "aiAgentId": row.agent_id,
            "success": true,
            "messageLocalized": Value::Null,
            "internalData": {"requestEndpoint": Value::Null, "requestParams": run.decision.data},
            "executedAt": Utc::now().timestamp(),
            "userId": caller.user_id,
            "sent": false,
            "ticketClosed": false,
            "recipient": ticket.sender,
            "message": run.reply,
            "template": run.reply.as_ref().and(req.reply_template.as_ref()),
            "sources": [],
            "txId": uuid::Uuid::new_v4().to_string(),
            "action": action,
            "dryRun": req.dry_run,
            "infos": run.decision.infos,
            "options": run.decision.options,
        });
        let Some(action) = action else {
            return Ok(Executed {
                outcome,
                intent: self.documents(&[row], ticket.sender.as_deref()).await?.remove(0),
            });
        };
        if idempotent {
            let mut tx = self.pool.begin().await?;
            let claimed = store::claim_execution(&mut tx, row.id, &action, &outcome).await?;
            tx.commit().await?;
            if !claimed {
                // A concurrent request with the same action got there first.
                let mut conn = self.pool.acquire().await?;
                let first = store::execution(&mut conn, row.id, &action).await?.unwrap_or(outcome);
                let intent =
                    self.documents(&[store::get(&mut conn, row.id).await?], None).await?.remove(0);
                return Ok(Executed { outcome: first, intent });
            }
        }
        let wrapper = req.reply_template.as_deref();
        let applied = apply(&effects, &ticket, &run, wrapper, req.inform_customer).await;
        match applied {
            Ok((sent, closed)) => {
                outcome["sent"] = json!(sent);
                outcome["ticketClosed"] = json!(closed);
                outcome["messageLocalized"] =
                    json!(if sent { "The reply was sent." } else { "Done." });
            }
            Err(e) => {
                outcome["success"] = json!(false);
                outcome["responseCode"] = json!(503);
                outcome["messageLocalized"] = json!(e.public_message());
            }
        }
        if req.dry_run {
            outcome["effects"] = json!(effects.recorded());
            let intent = self.documents(&[row], ticket.sender.as_deref()).await?.remove(0);
            return Ok(Executed { outcome, intent });
        }
        let mut tx = self.pool.begin().await?;
        store::finish_execution(&mut tx, row.id, &action, &outcome).await?;
        let mut row = store::lock(&mut tx, row.id).await?;
        if outcome["success"] == json!(true) {
            row.status = "executed".into();
            row.executed_at = Some(Utc::now());
        }
        row.outcome = Some(outcome.clone());
        let row = store::save(&mut tx, &row).await?;
        tx.commit().await?;
        let intent = self.documents(&[row], ticket.sender.as_deref()).await?.remove(0);
        Ok(Executed { outcome, intent })
    }

    /// The intent to execute: by id, or the active one of agent `code` on the ticket, created
    /// on the fly when the agent has not been detected there (by the caller, not by detection).
    async fn intent_for(&self, caller: &Caller, req: &Request) -> Result<IntentRow> {
        let mut conn = self.pool.acquire().await?;
        if let Some(id) = req.intent_id {
            return store::get(&mut conn, id).await;
        }
        let (Some(code), Some(ticket_id)) = (req.code.as_deref(), req.ticket_id) else {
            return Err(Error::InvalidArgument(
                "intentId, or code and ticketId, are required".into(),
            ));
        };
        let agent = agents::by_slug(&mut conn, code)
            .await?
            .ok_or_else(|| Error::NotFound(format!("AI agent {code:?} not found")))?;
        let ticket = TicketView::from_proto(&self.tickets.get(ticket_id).await?);
        let contract = ticket.contract_id.clone().unwrap_or_default();
        if let Some(row) = store::active(&mut conn, ticket_id, agent.id, &contract).await? {
            return Ok(row);
        }
        let effects = Effects::live(self.tickets.clone(), self.toolbox.clone());
        let today = Utc::now().date_naive();
        let run = runner::run_with(&agent.document(), &ticket, &Map::new(), today, &effects)
            .await
            .map_err(run_error)?;
        let mut tx = self.pool.begin().await?;
        let row = store::upsert(
            &mut tx,
            &Detected {
                ticket_id,
                agent_id: agent.id,
                contract_id: contract,
                confidence: 1.0,
                evidence: "assigned by request".into(),
                data: Value::Object(run.extracted),
                decision: decision_json(&run.decision),
            },
        )
        .await?;
        store::publish_ticket_intents(&mut tx, &self.outbox, ticket_id, &super::actor(caller))
            .await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(row)
    }
}

/// Applies a phase-2 run: (reply sent, ticket closed).
async fn apply(
    effects: &Effects,
    ticket: &TicketView,
    run: &runner::Run,
    wrapper: Option<&str>,
    inform_customer: bool,
) -> Result<(bool, bool)> {
    let mut sent = false;
    if inform_customer && let Some(text) = run.reply.as_deref().filter(|t| !t.is_empty()) {
        effects.reply(ticket.id, &templates::wrap(wrapper, text)).await?;
        sent = true;
    }
    let close = run.closes || (inform_customer && sent);
    if close && ticket.status != "closed" {
        effects.close(ticket.id).await?;
    }
    Ok((sent, close))
}
