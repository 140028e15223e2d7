//! A ticket as the contract returns it (§1.3 plus the seed sample's fields).

use enneo_proto::ticket::v1 as pb;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::time::{format_iso, format_sql};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    pub id: i64,
    pub direction: String,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc_emails: Vec<String>,
    pub bcc_emails: Vec<String>,
    pub reply_cc_emails: Vec<String>,
    /// Suggested reply recipients; null for system tickets.
    pub reply_recipients: Option<ReplyRecipients>,
    pub subchannel_id: Option<i64>,
    pub email_subchannel_id: Option<i64>,
    pub external_ticket_id: Option<String>,
    pub sentiment: Option<String>,
    pub language: Option<String>,
    pub language_code: Option<String>,
    /// ISO 8601.
    pub auto_execute_at: Option<String>,
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
    /// `YYYY-MM-DD HH:MM:SS`, UTC, like every date below.
    #[schema(example = "2022-12-13 22:18:06")]
    pub created_at: String,
    pub modified_at: Option<String>,
    pub first_response_due_by: Option<String>,
    pub due_by: Option<String>,
    pub closed_at: Option<String>,
    pub last_message_at: Option<String>,
    pub last_customer_message_at: Option<String>,
    pub model_run_at: Option<String>,
    /// `{tagIds, tags}` unless `includeCustomer=true` asks for the whole customer.
    #[schema(value_type = Option<Object>)]
    pub customer: Option<Value>,
    pub customer_id: Option<String>,
    pub contract_id: Option<String>,
    pub partner_id: Option<i64>,
    pub customer_legitimation: Option<i32>,
    pub responder_id: Option<i64>,
    pub agent_id: Option<i64>,
    /// The assigned user; filled once user profiles are served.
    #[schema(value_type = Option<Object>)]
    pub agent: Option<Value>,
    pub assigned_agent_ids: Vec<i64>,
    #[schema(value_type = Vec<Object>)]
    pub assigned_agents: Vec<Value>,
    /// Agents currently working on the ticket (presence).
    pub worked_on_by_ids: Vec<i64>,
    pub worked_on_by: Vec<UserRef>,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Value,
    #[schema(value_type = Option<Object>)]
    pub additional_data: Option<Value>,
    /// Only with `includeRawData=true`.
    #[schema(value_type = Option<Object>)]
    pub raw_data: Option<Value>,
    pub template: Option<String>,
    pub tag_ids: Vec<i64>,
    #[schema(value_type = Vec<Object>)]
    pub tags: Value,
    pub agent_skills_match: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub content_translation: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub workitem: Option<Value>,
    pub cortex_request_id: Option<String>,
    pub call_duration_seconds: Option<i32>,
    /// The ticket's AI intents: in search rows, and with `includeIntents=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::intents::Intent>>)]
    pub intents: Option<Vec<Value>>,
}

/// A user as tickets show them (contract §1.2 (11)). Names and contact fields are filled once
/// user profiles are served; until then they are null.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub last_seen: Option<String>,
    #[schema(example = "enneo")]
    pub r#type: &'static str,
    pub is_sso_only: bool,
    pub lang: Option<String>,
    pub name_alias: Option<String>,
    pub external_id: Option<String>,
}

impl UserRef {
    pub fn present(p: &pb::Presence) -> Self {
        Self {
            id: p.user_id,
            first_name: None,
            last_name: None,
            email: None,
            phone: None,
            last_seen: p.last_seen.as_ref().and_then(format_sql),
            r#type: "enneo",
            is_sso_only: false,
            lang: None,
            name_alias: None,
            external_id: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyRecipients {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct ViewOptions {
    pub include_customer: bool,
    pub include_raw_data: bool,
}

/// Fields search rows leave out (contract §1.2 (2)).
const COMPACT_OMITS: &[&str] =
    &["body", "bodyPlain", "bodyClean", "attachments", "template", "workitem"];

/// A search row as served: [`TicketView`] without [`COMPACT_OMITS`], always with `intents`.
/// Its schema is derived from `TicketView`'s, so the row and the ticket cannot drift apart.
pub struct TicketRow;

impl utoipa::PartialSchema for TicketRow {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(mut row)) = <TicketView as utoipa::PartialSchema>::schema()
        else {
            unreachable!("a derived struct schema is an inline object")
        };
        for key in COMPACT_OMITS {
            row.properties.shift_remove(*key);
            row.required.retain(|r| r != key);
        }
        row.properties.insert(
            "intents".into(),
            <Vec<crate::intents::Intent> as utoipa::PartialSchema>::schema(),
        );
        row.required.push("intents".into());
        row.description = Some(
            "A compact ticket: no body, bodyPlain, bodyClean, attachments, template or workitem; \
             `customer` is `{tagIds, tags}`; `intents` are the ticket's AI intents."
                .into(),
        );
        RefOr::T(Schema::Object(row))
    }
}

impl ToSchema for TicketRow {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <TicketView as ToSchema>::schemas(schemas);
    }
}

fn parse(json: Option<&String>) -> Option<Value> {
    json.and_then(|s| serde_json::from_str(s).ok())
}

/// `{tagIds, tags}` of a stored customer document.
fn customer_tags(customer: Option<&Value>) -> Value {
    let tags = customer.and_then(|c| c.get("tags")).cloned().unwrap_or_else(|| json!([]));
    let ids: Vec<Value> = tags
        .as_array()
        .map(|tags| tags.iter().filter_map(|t| t.get("id").cloned()).collect())
        .unwrap_or_default();
    json!({ "tagIds": ids, "tags": tags })
}

impl TicketView {
    pub fn new(t: pb::Ticket, options: ViewOptions) -> Self {
        let sql = |v: &Option<prost_types::Timestamp>| v.as_ref().and_then(format_sql);
        let customer = parse(t.customer_json.as_ref());
        let reply_recipients = (t.channel != "system").then(|| ReplyRecipients {
            to: match (t.direction.as_str(), &t.from) {
                ("in", Some(from)) => vec![from.clone()],
                _ => t.to.clone(),
            },
            cc: t.reply_cc_emails.clone(),
            bcc: Vec::new(),
        });
        Self {
            id: t.id,
            from: t.from,
            from_name: t.from_name,
            to: t.to,
            cc_emails: t.cc_emails,
            bcc_emails: t.bcc_emails,
            reply_cc_emails: t.reply_cc_emails,
            reply_recipients,
            email_subchannel_id: t.subchannel_id.filter(|_| t.channel == "email"),
            subchannel_id: t.subchannel_id,
            external_ticket_id: t.external_ticket_id,
            sentiment: t.sentiment,
            language: t.language,
            language_code: t.language_code,
            auto_execute_at: t.auto_execute_at.as_ref().and_then(format_iso),
            ai_support_level: t.ai_support_level,
            spam_status: t.spam_status,
            is_customer_active: t.is_customer_active,
            interface: t.interface,
            priority: t.priority,
            channel_id: t.channel_id,
            status: t.status,
            summary: t.summary,
            subject: t.subject,
            body: t.body,
            body_plain: t.body_plain,
            body_clean: t.body_clean,
            is_escalated: t.is_escalated,
            created_at: sql(&t.created_at).unwrap_or_default(),
            modified_at: sql(&t.modified_at),
            first_response_due_by: sql(&t.first_response_due_by),
            due_by: sql(&t.due_by),
            closed_at: sql(&t.closed_at),
            last_message_at: sql(&t.last_message_at),
            last_customer_message_at: sql(&t.last_customer_message_at),
            model_run_at: sql(&t.model_run_at),
            customer: Some(if options.include_customer {
                customer.unwrap_or(Value::Null)
            } else {
                customer_tags(customer.as_ref())
            }),
            customer_id: t.customer_id,
            contract_id: t.contract_id,
            partner_id: t.partner_id,
            customer_legitimation: t.customer_legitimation,
            responder_id: t.responder_id,
            agent_id: t.agent_id,
            agent: None,
            assigned_agent_ids: t.assigned_agent_ids,
            assigned_agents: Vec::new(),
            worked_on_by_ids: t.worked_on_by.iter().map(|p| p.user_id).collect(),
            worked_on_by: t.worked_on_by.iter().map(UserRef::present).collect(),
            attachments: parse(t.attachments_json.as_ref()).unwrap_or_else(|| json!([])),
            additional_data: parse(t.additional_data_json.as_ref()),
            raw_data: if options.include_raw_data { parse(t.raw_data_json.as_ref()) } else { None },
            template: t.template,
            tag_ids: t.tag_ids,
            tags: parse(t.tags_json.as_ref()).unwrap_or_else(|| json!([])),
            agent_skills_match: None,
            content_translation: None,
            workitem: None,
            cortex_request_id: t.cortex_request_id,
            call_duration_seconds: t.call_duration_seconds,
            intents: None,
            direction: t.direction,
            channel: t.channel,
        }
    }

    /// The search-row form: heavy documents left out.
    pub fn compact(t: pb::Ticket) -> Value {
        let mut value = serde_json::to_value(Self::new(t, ViewOptions::default()))
            .expect("a ticket view serialises");
        if let Value::Object(map) = &mut value {
            for key in COMPACT_OMITS {
                map.remove(*key);
            }
        }
        value
    }
}
