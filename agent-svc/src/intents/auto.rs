//! `POST /ticket/{id}/autoexecute`: dark processing through the gates of contract §8.3, in
//! order, stopping at the first that fails; passing runs the recommended option of each ready
//! intent with `informCustomer` and marks the ticket `automated`.
//!
//! Gate 6 (the tenant setting `enableAiAutoProcessing`) is the caller's: the gateway route is
//! the explicit trigger, allowed by the `executeAutoProcessing` permission, which implies
//! executing the intents it runs.

use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use serde_json::{Map, Value, json};

use super::Intents;
use super::execute::Request;
use super::store;
use crate::agents::store as agents;
use crate::engine::definition::ACTION_KEY;
use crate::tickets::TicketView;

/// The §8.3 hardcoded minimum legitimation for tickets with a contract.
const MIN_LEGITIMATION: i32 = 20;

pub struct Verdict {
    pub executed: bool,
    pub message: String,
    pub failed_gate: Option<String>,
}

fn refused(gate: &str, message: impl Into<String>) -> Verdict {
    Verdict { executed: false, message: message.into(), failed_gate: Some(gate.into()) }
}

pub struct Options {
    pub agent_id: Option<i64>,
    pub allow_multiple_intents: bool,
    pub allow_with_replies: bool,
    /// The tenant's reply wrapper (`aiReplyTemplate`), as for a manual execution.
    pub reply_template: Option<String>,
}

impl Intents {
    pub async fn auto_execute(
        &self,
        caller: &Caller,
        ticket_id: i64,
        options: Options,
    ) -> Result<Verdict> {
        caller.require(permission::EXECUTE_AUTO_PROCESSING)?;
        if let Some(id) = options.agent_id {
            agents::get(&mut *self.pool.acquire().await?, id).await?;
        }
        let proto = self.tickets.get(ticket_id).await?;
        let ticket = TicketView::from_proto(&proto);
        let rows: Vec<store::IntentRow> = store::of_tickets(&self.pool, &[ticket_id])
            .await?
            .into_iter()
            .filter(|r| r.status == "ready")
            .filter(|r| options.agent_id.is_none_or(|a| a == r.agent_id))
            .collect();
        if rows.is_empty() {
            return Ok(refused("intents", "the ticket has no ready intent"));
        }
        if ticket.status != "open" {
            return Ok(refused("status", format!("the ticket is {}, not open", ticket.status)));
        }
        if matches!(ticket.spam_status.as_deref(), Some("auto_spam" | "manual_spam")) {
            return Ok(refused("spam", "the ticket is spam"));
        }
        if matches!(ticket.channel.as_str(), "chat" | "phone") {
            return Ok(refused(
                "channel",
                format!("{} tickets are not auto-processed", ticket.channel),
            ));
        }
        if ticket.direction != "in" {
            return Ok(refused(
                "direction",
                format!("{} tickets are not auto-processed", ticket.direction),
            ));
        }
        let mut runnable = Vec::new();
        for row in &rows {
            if row.decision.get("autoExecutable") != Some(&Value::Bool(true)) {
                return Ok(refused(
                    "autoExecutable",
                    format!("intent {} has no recommended option that may run unattended", row.id),
                ));
            }
            let action = row
                .decision
                .get("options")
                .and_then(Value::as_array)
                .and_then(|os| os.iter().find(|o| o.get("recommended") == Some(&Value::Bool(true))))
                .and_then(|o| o.get("type"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::Internal(format!("intent {} has no recommended option", row.id))
                })?;
            runnable.push((row.id, action.to_owned()));
        }
        if runnable.len() > 1 && !options.allow_multiple_intents {
            return Ok(refused(
                "multipleIntents",
                format!("{} intents are ready; one at most", runnable.len()),
            ));
        }
        if !options.allow_with_replies && self.tickets.inbound_messages(ticket_id).await? > 0 {
            return Ok(refused("replies", "the customer has replied since"));
        }
        if ticket.contract_id.is_some()
            && ticket.customer_legitimation.unwrap_or(0) < MIN_LEGITIMATION
        {
            return Ok(refused(
                "legitimation",
                format!("customer legitimation is below {MIN_LEGITIMATION}"),
            ));
        }
        let fields =
            pb::TicketFields { ai_support_level: Some("automated".into()), ..Default::default() };
        self.tickets.update(ticket_id, fields).await?;
        let mut messages = Vec::new();
        for (intent_id, action) in runnable {
            let mut data = Map::new();
            data.insert(ACTION_KEY.into(), json!(action));
            let executed = self
                .execute_checked(
                    caller,
                    Request {
                        intent_id: Some(intent_id),
                        inform_customer: true,
                        data,
                        reply_template: options.reply_template.clone(),
                        ..Request::default()
                    },
                )
                .await?;
            if executed.outcome.get("success") != Some(&Value::Bool(true)) {
                return Ok(refused(
                    "execution",
                    executed
                        .outcome
                        .get("messageLocalized")
                        .and_then(Value::as_str)
                        .unwrap_or("failed")
                        .to_owned(),
                ));
            }
            messages.push(format!("intent {intent_id}: {action}"));
        }
        Ok(Verdict {
            executed: true,
            message: format!("executed {}", messages.join(", ")),
            failed_gate: None,
        })
    }
}
