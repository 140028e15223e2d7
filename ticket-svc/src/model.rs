//! The stored ticket and its domain vocabulary.

use chrono::{DateTime, Utc};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;

pub const DIRECTIONS: &[&str] = &["in", "out", "internal"];
pub const STATUSES: &[&str] = &["open", "pending", "closed"];
pub const PRIORITIES: &[&str] = &["low", "medium", "high", "urgent"];
pub const AI_SUPPORT_LEVELS: &[&str] = &["unprocessed", "human", "bot", "automated"];
pub const SPAM_STATUSES: &[&str] =
    &["auto_spam", "auto_programmatic", "manual_spam", "auto_clean", "manual_clean"];
pub const INTERFACES: &[&str] = &["internal"];
pub const PROCESS_MODES: &[&str] = &["realtime", "batch", "false"];

/// One row of `ticket.ticket`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub version: i64,
    pub direction: String,
    pub from_addr: Option<String>,
    pub from_name: Option<String>,
    pub to_addrs: Vec<String>,
    pub cc_emails: Vec<String>,
    pub bcc_emails: Vec<String>,
    pub reply_cc_emails: Vec<String>,
    pub subchannel_id: Option<i64>,
    pub external_ticket_id: Option<String>,
    pub sentiment: Option<String>,
    pub language: Option<String>,
    pub language_code: Option<String>,
    pub auto_execute_at: Option<DateTime<Utc>>,
    pub ai_support_level: String,
    pub spam_status: Option<String>,
    pub is_customer_active: bool,
    pub interface: String,
    pub priority: String,
    pub channel: String,
    pub channel_id: Option<String>,
    pub status: String,
    pub summary: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub body_plain: Option<String>,
    pub body_clean: Option<String>,
    pub is_escalated: bool,
    pub created_at: DateTime<Utc>,
    pub modified_at: Option<DateTime<Utc>>,
    pub first_response_due_by: Option<DateTime<Utc>>,
    pub due_by: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub last_customer_message_at: Option<DateTime<Utc>>,
    pub model_run_at: Option<DateTime<Utc>>,
    pub customer_id: Option<String>,
    pub contract_id: Option<String>,
    pub partner_id: Option<i64>,
    pub customer_legitimation: Option<i32>,
    pub responder_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub assigned_agent_ids: Vec<i64>,
    pub tag_ids: Vec<i64>,
    pub template: Option<String>,
    pub cortex_request_id: Option<String>,
    pub call_duration_seconds: Option<i32>,
    pub customer: Option<serde_json::Value>,
    pub attachments: serde_json::Value,
    pub tags: serde_json::Value,
    pub additional_data: Option<serde_json::Value>,
    pub raw_data: Option<serde_json::Value>,
    pub process: Option<String>,
}

impl TicketRow {
    /// A new ticket with the contract's defaults (direction in, status open, priority low,
    /// interface internal, aiSupportLevel unprocessed, created now).
    pub fn new(channel: String, now: DateTime<Utc>) -> Self {
        Self {
            id: 0,
            version: 1,
            direction: "in".into(),
            from_addr: None,
            from_name: None,
            to_addrs: Vec::new(),
            cc_emails: Vec::new(),
            bcc_emails: Vec::new(),
            reply_cc_emails: Vec::new(),
            subchannel_id: None,
            external_ticket_id: None,
            sentiment: None,
            language: None,
            language_code: None,
            auto_execute_at: None,
            ai_support_level: "unprocessed".into(),
            spam_status: None,
            is_customer_active: false,
            interface: "internal".into(),
            priority: "low".into(),
            channel,
            channel_id: None,
            status: "open".into(),
            summary: None,
            subject: None,
            body: None,
            body_plain: None,
            body_clean: None,
            is_escalated: false,
            created_at: now,
            modified_at: None,
            first_response_due_by: None,
            due_by: None,
            closed_at: None,
            last_message_at: None,
            last_customer_message_at: None,
            model_run_at: None,
            customer_id: None,
            contract_id: None,
            partner_id: None,
            customer_legitimation: None,
            responder_id: None,
            agent_id: None,
            assigned_agent_ids: Vec::new(),
            tag_ids: Vec::new(),
            template: None,
            cortex_request_id: None,
            call_duration_seconds: None,
            customer: None,
            attachments: serde_json::Value::Array(Vec::new()),
            tags: serde_json::Value::Array(Vec::new()),
            additional_data: None,
            raw_data: None,
            process: None,
        }
    }

    /// The compact snapshot events carry; enough for projections such as stats.
    pub fn event_snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "status": self.status,
            "channel": self.channel,
            "priority": self.priority,
            "direction": self.direction,
            "agentId": self.agent_id,
            "tagIds": self.tag_ids,
            "aiSupportLevel": self.ai_support_level,
            "spamStatus": self.spam_status,
            "customerId": self.customer_id,
            "contractId": self.contract_id,
            "process": self.process,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
        })
    }

    pub fn into_proto(self) -> pb::Ticket {
        let json = |v: serde_json::Value| v.to_string();
        pb::Ticket {
            id: self.id,
            direction: self.direction,
            from: self.from_addr,
            from_name: self.from_name,
            to: self.to_addrs,
            cc_emails: self.cc_emails,
            bcc_emails: self.bcc_emails,
            reply_cc_emails: self.reply_cc_emails,
            subchannel_id: self.subchannel_id,
            external_ticket_id: self.external_ticket_id,
            sentiment: self.sentiment,
            language: self.language,
            language_code: self.language_code,
            auto_execute_at: self.auto_execute_at.map(timestamp),
            ai_support_level: self.ai_support_level,
            spam_status: self.spam_status,
            is_customer_active: self.is_customer_active,
            interface: self.interface,
            priority: self.priority,
            channel: self.channel,
            channel_id: self.channel_id,
            status: self.status,
            summary: self.summary,
            subject: self.subject,
            body: self.body,
            body_plain: self.body_plain,
            body_clean: self.body_clean,
            is_escalated: self.is_escalated,
            created_at: Some(timestamp(self.created_at)),
            modified_at: self.modified_at.map(timestamp),
            first_response_due_by: self.first_response_due_by.map(timestamp),
            due_by: self.due_by.map(timestamp),
            closed_at: self.closed_at.map(timestamp),
            last_message_at: self.last_message_at.map(timestamp),
            last_customer_message_at: self.last_customer_message_at.map(timestamp),
            model_run_at: self.model_run_at.map(timestamp),
            customer_id: self.customer_id,
            contract_id: self.contract_id,
            partner_id: self.partner_id,
            customer_legitimation: self.customer_legitimation,
            responder_id: self.responder_id,
            agent_id: self.agent_id,
            assigned_agent_ids: self.assigned_agent_ids,
            tag_ids: self.tag_ids,
            template: self.template,
            cortex_request_id: self.cortex_request_id,
            call_duration_seconds: self.call_duration_seconds,
            customer_json: self.customer.map(json),
            attachments_json: Some(json(self.attachments)),
            tags_json: Some(json(self.tags)),
            additional_data_json: self.additional_data.map(json),
            raw_data_json: self.raw_data.map(json),
            version: self.version,
            worked_on_by: Vec::new(),
        }
    }
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

pub fn from_timestamp(field: &str, t: &prost_types::Timestamp) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .ok_or_else(|| Error::InvalidArgument(format!("{field} is out of range")))
}
