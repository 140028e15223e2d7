//! Tickets as agents see them, read from and written to ticket-svc over gRPC.
//!
//! agent-svc acts on its own behalf there (user 0, recorded as `system`), with exactly the
//! permissions its work needs.

use chrono::{DateTime, FixedOffset, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use enneo_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::engine::params::Inputs;

/// A ticket's message and the variables namespaces parameters resolve against.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub id: i64,
    pub channel: String,
    pub direction: String,
    pub status: String,
    pub subject: String,
    /// The message as plain text.
    pub body: String,
    pub sender: Option<String>,
    pub received_at: DateTime<FixedOffset>,
    pub language_code: Option<String>,
    pub contract_id: Option<String>,
    pub spam_status: Option<String>,
    pub customer_legitimation: Option<i32>,
    /// `ticket` (the `in` namespace), `customer`, `contract` and `tag_ids`; `extracted` and
    /// `given` are filled per run.
    pub inputs: Inputs,
}

impl TicketView {
    pub fn from_proto(t: &pb::Ticket) -> Self {
        let body = t
            .body_plain
            .clone()
            .filter(|b| !b.trim().is_empty())
            .or_else(|| t.body.as_deref().map(enneo_common::html::html_to_text))
            .unwrap_or_default();
        let created = t
            .created_at
            .as_ref()
            .and_then(|ts| DateTime::<Utc>::from_timestamp(ts.seconds, ts.nanos.max(0) as u32))
            .unwrap_or_else(Utc::now);
        let customer: Value = t
            .customer_json
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        let contract = contract_of(&customer, t.contract_id.as_deref());
        let subject = t.subject.clone().unwrap_or_default();
        let ticket = json!({
            "ticketId": t.id,
            "direction": t.direction,
            "channel": t.channel,
            "subchannelId": t.subchannel_id,
            "subject": subject,
            "message": body,
            "summary": t.summary,
            "date": crate::time::wall(created),
            "sender": t.from,
            "tagIds": t.tag_ids,
            "status": t.status,
            "priority": t.priority,
            "customerId": t.customer_id,
            "contractId": t.contract_id,
            "metadata": t.additional_data_json.as_deref()
                .and_then(|d| serde_json::from_str::<Value>(d).ok()).unwrap_or(Value::Null),
        });
        Self {
            id: t.id,
            channel: t.channel.clone(),
            direction: t.direction.clone(),
            status: t.status.clone(),
            subject,
            body,
            sender: t.from.clone(),
            received_at: created.fixed_offset(),
            language_code: t.language_code.clone(),
            contract_id: t.contract_id.clone().filter(|c| !c.is_empty()),
            spam_status: t.spam_status.clone(),
            customer_legitimation: t.customer_legitimation,
            inputs: Inputs {
                ticket,
                customer,
                contract,
                tag_ids: t.tag_ids.clone(),
                ..Inputs::default()
            },
        }
    }

    /// The same ticket with another message (preview's `message`, `subject`, `sender`).
    pub fn with_message(
        mut self,
        message: Option<String>,
        subject: Option<String>,
        sender: Option<String>,
    ) -> Self {
        if let Some(m) = message {
            self.inputs.ticket["message"] = json!(m);
            self.body = m;
        }
        if let Some(s) = subject {
            self.inputs.ticket["subject"] = json!(s);
            self.subject = s;
        }
        if let Some(s) = sender {
            self.inputs.ticket["sender"] = json!(s);
            self.sender = Some(s);
        }
        self
    }
}

/// The contract the ticket is about, from the customer record's `contracts`.
fn contract_of(customer: &Value, contract_id: Option<&str>) -> Value {
    let Some(id) = contract_id.filter(|c| !c.is_empty()) else { return json!({}) };
    customer
        .get("contracts")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter().find(|c| match c.get("id") {
                Some(Value::String(s)) => s == id,
                Some(Value::Number(n)) => n.to_string() == id,
                _ => false,
            })
        })
        .cloned()
        .unwrap_or_else(|| json!({"id": id}))
}

/// ticket-svc, called as agent-svc itself.
#[derive(Clone)]
pub struct Tickets {
    client: TicketServiceClient<Channel>,
    caller: Caller,
}

impl Tickets {
    pub fn new(channel: Channel) -> Self {
        let caller = Caller::service(&[
            permission::READ_TICKETS,
            permission::UPDATE_TICKETS,
            permission::UPDATE_TECHNICAL_TICKET_FIELDS,
            permission::SEND_REPLIES,
        ]);
        Self { client: TicketServiceClient::new(channel), caller }
    }

    pub async fn get(&self, id: i64) -> Result<pb::Ticket> {
        let response = self
            .client
            .clone()
            .get_ticket(request(pb::GetTicketRequest { id, viewing: false }, &self.caller))
            .await
            .map_err(status_error)?;
        response
            .into_inner()
            .ticket
            .ok_or_else(|| Error::Internal("ticket-svc sent no ticket".into()))
    }

    /// Writes fields detection decides (aiSupportLevel, language, sentiment).
    pub async fn update(&self, id: i64, fields: pb::TicketFields) -> Result<()> {
        self.client
            .clone()
            .update_ticket(request(
                pb::UpdateTicketRequest {
                    id,
                    fields: Some(fields),
                    expected_version: None,
                    expected_modified_at: None,
                },
                &self.caller,
            ))
            .await
            .map_err(status_error)?;
        Ok(())
    }

    /// Adds an entry to the ticket's activity trail, as agent-svc (`system`).
    pub async fn add_activity(&self, id: i64, kind: &str, message: &str) -> Result<()> {
        self.client
            .clone()
            .add_ticket_activity(request(
                pb::AddTicketActivityRequest {
                    ticket_id: id,
                    kind: kind.to_owned(),
                    message: message.to_owned(),
                },
                &self.caller,
            ))
            .await
            .map_err(status_error)?;
        Ok(())
    }

    /// Sends the customer a reply through ticket-svc's mail outbox.
    pub async fn reply(&self, id: i64, text: &str) -> Result<i64> {
        let response = self
            .client
            .clone()
            .reply_conversation(request(
                pb::ReplyRequest {
                    ticket_id: id,
                    message: text.to_owned(),
                    r#type: "text".into(),
                    direction: "out".into(),
                    include_quoted_history: true,
                    ..Default::default()
                },
                &self.caller,
            ))
            .await
            .map_err(status_error)?;
        Ok(response.into_inner().conversation.map(|c| c.id).unwrap_or_default())
    }
}

/// A downstream status as this service's error: its code and message carry over.
pub fn status_error(status: tonic::Status) -> Error {
    use enneo_common::ErrorCode;
    let message = status.message().to_owned();
    match ErrorCode::from_grpc(status.code()) {
        ErrorCode::NotFound => Error::NotFound(message),
        ErrorCode::InvalidArgument => Error::InvalidArgument(message),
        ErrorCode::Unprocessable => Error::Unprocessable(message),
        ErrorCode::Conflict => Error::Conflict(message),
        ErrorCode::PermissionDenied => Error::PermissionDenied(message),
        ErrorCode::Unavailable => Error::unavailable_because("ticket-svc is unavailable", message),
        _ => Error::Internal(format!("ticket-svc: {:?}: {message}", status.code())),
    }
}

impl Tickets {
    pub async fn conversation(&self, ticket_id: i64, id: i64) -> Result<pb::Conversation> {
        let response = self
            .client
            .clone()
            .get_conversation(request(pb::ConversationRef { ticket_id, id }, &self.caller))
            .await
            .map_err(status_error)?;
        response
            .into_inner()
            .conversation
            .ok_or_else(|| Error::Internal("ticket-svc sent no conversation".into()))
    }
}

impl TicketView {
    /// A ticket with nothing in it, for evaluating an agent without one (`/aiAgent/outcome`).
    pub fn empty() -> Self {
        Self::from_proto(&pb::Ticket {
            direction: "in".into(),
            channel: "email".into(),
            status: "open".into(),
            ..Default::default()
        })
    }
}

impl Tickets {
    /// How many inbound messages (customer replies) the ticket has.
    pub async fn inbound_messages(&self, ticket_id: i64) -> Result<usize> {
        let response = self
            .client
            .clone()
            .list_conversations(request(
                pb::ListConversationsRequest {
                    ticket_id,
                    directions: vec!["in".into()],
                    ..Default::default()
                },
                &self.caller,
            ))
            .await
            .map_err(status_error)?;
        Ok(response.into_inner().conversations.len())
    }
}
