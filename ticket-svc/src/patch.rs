//! Applying a set of written fields to a ticket, with the contract's rules (§1.2):
//! enumerations checked, `direction` immutable, `pending` needs a future `dueBy`,
//! `manual_spam` closes, closing stamps `closedAt`, technical fields need a permission.

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{CHANNELS, one_of};
use enneo_proto::ticket::v1 as pb;

use crate::model::{self, TicketRow, from_timestamp};

/// Fields an ordinary agent may write; every other one is "technical" (contract §1.2 (6)).
const AGENT_WRITABLE: &[&str] = &[
    "status",
    "priority",
    "agentId",
    "assignedAgentIds",
    "dueBy",
    "firstResponseDueBy",
    "tagIds",
    "contractId",
    "customerId",
    "customerLegitimation",
    "aiSupportLevel",
    "spamStatus",
];

/// Which fields a write names and which of them actually changed.
#[derive(Debug, Default)]
pub struct Applied {
    pub touched: Vec<&'static str>,
    pub changed: Vec<&'static str>,
}

impl Applied {
    fn set<T: PartialEq>(&mut self, slot: &mut T, value: T, name: &'static str) {
        self.touched.push(name);
        if *slot != value {
            *slot = value;
            self.changed.push(name);
        }
    }
}

/// `Create` also covers the upsert of an existing ticket by `externalTicketId`: the creator
/// may write every field; only `Update` checks the technical-field permission.
pub enum Mode {
    Create,
    Update,
}

/// Applies `fields` onto `row`. On update, `caller` must hold
/// `updateTechnicalTicketFields` for anything beyond the agent-writable set.
pub fn apply(
    row: &mut TicketRow,
    fields: pb::TicketFields,
    mode: Mode,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Applied> {
    let mut a = Applied::default();
    let previous_status = row.status.clone();
    let f = fields;

    if let Some(direction) = f.direction {
        one_of("direction", &direction, model::DIRECTIONS)?;
        if row.id != 0 && direction != row.direction {
            return Err(Error::Unprocessable("direction cannot be changed".into()));
        }
        a.set(&mut row.direction, direction, "direction");
    }
    if let Some(v) = f.from {
        a.set(&mut row.from_addr, Some(v), "from");
    }
    if let Some(v) = f.from_name {
        a.set(&mut row.from_name, Some(v), "fromName");
    }
    if let Some(v) = f.to {
        a.set(&mut row.to_addrs, v.values, "to");
    }
    if let Some(v) = f.cc_emails {
        a.set(&mut row.cc_emails, v.values, "ccEmails");
    }
    if let Some(v) = f.bcc_emails {
        a.set(&mut row.bcc_emails, v.values, "bccEmails");
    }
    if let Some(v) = f.reply_cc_emails {
        a.set(&mut row.reply_cc_emails, v.values, "replyCcEmails");
    }
    if let Some(v) = f.subchannel_id {
        a.set(&mut row.subchannel_id, Some(v), "subchannelId");
    }
    if let Some(v) = f.external_ticket_id {
        if v.trim().is_empty() {
            return Err(Error::InvalidArgument("externalTicketId must not be empty".into()));
        }
        a.set(&mut row.external_ticket_id, Some(v), "externalTicketId");
    }
    if let Some(v) = f.sentiment {
        a.set(&mut row.sentiment, Some(v), "sentiment");
    }
    if let Some(v) = f.language {
        a.set(&mut row.language, Some(v), "language");
    }
    if let Some(v) = f.language_code {
        a.set(&mut row.language_code, Some(v), "languageCode");
    }
    if let Some(v) = &f.auto_execute_at {
        a.set(&mut row.auto_execute_at, Some(from_timestamp("autoExecuteAt", v)?), "autoExecuteAt");
    }
    if let Some(v) = f.ai_support_level {
        one_of("aiSupportLevel", &v, model::AI_SUPPORT_LEVELS)?;
        a.set(&mut row.ai_support_level, v, "aiSupportLevel");
    }
    if let Some(v) = f.spam_status {
        one_of("spamStatus", &v, model::SPAM_STATUSES)?;
        a.set(&mut row.spam_status, Some(v), "spamStatus");
    }
    if let Some(v) = f.is_customer_active {
        a.set(&mut row.is_customer_active, v, "isCustomerActive");
    }
    if let Some(v) = f.interface {
        one_of("interface", &v, model::INTERFACES)?;
        a.set(&mut row.interface, v, "interface");
    }
    if let Some(v) = f.priority {
        one_of("priority", &v, model::PRIORITIES)?;
        a.set(&mut row.priority, v, "priority");
    }
    if let Some(v) = f.channel {
        one_of("channel", &v, CHANNELS)?;
        a.set(&mut row.channel, v, "channel");
    }
    if let Some(v) = f.channel_id {
        a.set(&mut row.channel_id, Some(v), "channelId");
    }
    if let Some(v) = f.status {
        one_of("status", &v, model::STATUSES)?;
        a.set(&mut row.status, v, "status");
    }
    for (value, slot, name) in [
        (f.summary, &mut row.summary, "summary"),
        (f.subject, &mut row.subject, "subject"),
        (f.body, &mut row.body, "body"),
        (f.body_plain, &mut row.body_plain, "bodyPlain"),
        (f.body_clean, &mut row.body_clean, "bodyClean"),
        (f.customer_id, &mut row.customer_id, "customerId"),
        (f.contract_id, &mut row.contract_id, "contractId"),
        (f.template, &mut row.template, "template"),
        (f.cortex_request_id, &mut row.cortex_request_id, "cortexRequestId"),
    ] {
        if let Some(v) = value {
            a.set(slot, Some(v), name);
        }
    }
    if let Some(v) = f.is_escalated {
        a.set(&mut row.is_escalated, v, "isEscalated");
    }
    if let Some(v) = &f.created_at {
        a.set(&mut row.created_at, from_timestamp("createdAt", v)?, "createdAt");
    }
    for (value, slot, name) in [
        (&f.first_response_due_by, &mut row.first_response_due_by, "firstResponseDueBy"),
        (&f.due_by, &mut row.due_by, "dueBy"),
        (&f.closed_at, &mut row.closed_at, "closedAt"),
        (&f.last_message_at, &mut row.last_message_at, "lastMessageAt"),
        (&f.last_customer_message_at, &mut row.last_customer_message_at, "lastCustomerMessageAt"),
        (&f.model_run_at, &mut row.model_run_at, "modelRunAt"),
    ] {
        if let Some(v) = value {
            a.set(slot, Some(from_timestamp(name, v)?), name);
        }
    }
    if let Some(v) = f.partner_id {
        a.set(&mut row.partner_id, Some(v), "partnerId");
    }
    if let Some(v) = f.customer_legitimation {
        if !(0..=100).contains(&v) {
            return Err(Error::InvalidArgument("customerLegitimation must be 0..100".into()));
        }
        a.set(&mut row.customer_legitimation, Some(v), "customerLegitimation");
    }
    if let Some(v) = f.responder_id {
        a.set(&mut row.responder_id, Some(v), "responderId");
    }
    if let Some(v) = f.agent_id {
        a.set(&mut row.agent_id, Some(v), "agentId");
    }
    if let Some(v) = f.assigned_agent_ids {
        a.set(&mut row.assigned_agent_ids, v.values, "assignedAgentIds");
    }
    if let Some(v) = f.call_duration_seconds {
        a.set(&mut row.call_duration_seconds, Some(v), "callDurationSeconds");
    }
    if let Some(v) = f.customer_json {
        a.set(&mut row.customer, Some(parse_json("customer", &v)?), "customer");
    }
    if let Some(v) = f.attachments_json {
        a.set(&mut row.attachments, parse_json("attachments", &v)?, "attachments");
    }
    if let Some(v) = f.additional_data_json {
        a.set(&mut row.additional_data, Some(parse_json("additionalData", &v)?), "additionalData");
    }
    if let Some(v) = f.raw_data_json {
        a.set(&mut row.raw_data, Some(parse_json("rawData", &v)?), "rawData");
    }
    let tag_ids_given = f.tag_ids.is_some();
    let tag_delta = !f.add_tag_ids.is_empty() || !f.remove_tag_ids.is_empty();
    if tag_ids_given && tag_delta {
        return Err(Error::InvalidArgument(
            "tagIds replaces the tags; it cannot be combined with addTagIds/removeTagIds".into(),
        ));
    }
    if let Some(v) = f.tag_ids {
        a.set(&mut row.tag_ids, v.values, "tagIds");
    }
    if tag_delta {
        let mut tags: Vec<i64> =
            row.tag_ids.iter().copied().filter(|t| !f.remove_tag_ids.contains(t)).collect();
        for tag in f.add_tag_ids {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        a.set(&mut row.tag_ids, tags, "tagIds");
    }
    if let Some(v) = f.tags_json {
        let tags = parse_json("tags", &v)?;
        if !tag_ids_given {
            // Tag objects given without tagIds: their ids are the ticket's tags.
            let ids = tag_ids_of(&tags)?;
            a.set(&mut row.tag_ids, ids, "tagIds");
        }
        a.set(&mut row.tags, tags, "tags");
    }
    for name in &f.clear {
        clear(row, name, &mut a)?;
    }

    if matches!(mode, Mode::Update) && !caller.has(permission::UPDATE_TECHNICAL_TICKET_FIELDS) {
        let technical: Vec<&str> =
            a.touched.iter().copied().filter(|n| !AGENT_WRITABLE.contains(n)).collect();
        if !technical.is_empty() {
            return Err(Error::PermissionDenied(format!(
                "writing {} needs the permission {}",
                technical.join(", "),
                permission::UPDATE_TECHNICAL_TICKET_FIELDS
            )));
        }
    }

    enforce_invariants(row, &previous_status, &mut a, now)?;
    Ok(a)
}

fn enforce_invariants(
    row: &mut TicketRow,
    previous_status: &str,
    a: &mut Applied,
    now: DateTime<Utc>,
) -> Result<()> {
    if row.spam_status.as_deref() == Some("manual_spam")
        && a.changed.contains(&"spamStatus")
        && row.status != "closed"
    {
        // Marking spam by hand force-closes the ticket.
        row.status = "closed".into();
        a.changed.push("status");
    }
    if row.status == "pending" && (previous_status != "pending" || a.touched.contains(&"dueBy")) {
        match row.due_by {
            Some(due) if due > now => {}
            _ => {
                return Err(Error::Unprocessable(
                    "status pending needs a dueBy in the future".into(),
                ));
            }
        }
    }
    if row.status == "closed" && previous_status != "closed" && row.closed_at.is_none() {
        row.closed_at = Some(now);
        a.changed.push("closedAt");
    }
    if row.status != "closed" && previous_status == "closed" && !a.touched.contains(&"closedAt") {
        row.closed_at = None;
        a.changed.push("closedAt");
    }
    a.changed.sort_unstable();
    a.changed.dedup();
    Ok(())
}

fn clear(row: &mut TicketRow, name: &str, a: &mut Applied) -> Result<()> {
    macro_rules! null {
        ($field:ident, $name:literal) => {{
            a.set(&mut row.$field, None, $name);
        }};
    }
    match name {
        "from" => null!(from_addr, "from"),
        "fromName" => null!(from_name, "fromName"),
        "subchannelId" => null!(subchannel_id, "subchannelId"),
        "externalTicketId" => null!(external_ticket_id, "externalTicketId"),
        "sentiment" => null!(sentiment, "sentiment"),
        "language" => null!(language, "language"),
        "languageCode" => null!(language_code, "languageCode"),
        "autoExecuteAt" => null!(auto_execute_at, "autoExecuteAt"),
        "spamStatus" => null!(spam_status, "spamStatus"),
        "channelId" => null!(channel_id, "channelId"),
        "summary" => null!(summary, "summary"),
        "subject" => null!(subject, "subject"),
        "body" => null!(body, "body"),
        "bodyPlain" => null!(body_plain, "bodyPlain"),
        "bodyClean" => null!(body_clean, "bodyClean"),
        "firstResponseDueBy" => null!(first_response_due_by, "firstResponseDueBy"),
        "dueBy" => null!(due_by, "dueBy"),
        "closedAt" => null!(closed_at, "closedAt"),
        "lastMessageAt" => null!(last_message_at, "lastMessageAt"),
        "lastCustomerMessageAt" => null!(last_customer_message_at, "lastCustomerMessageAt"),
        "modelRunAt" => null!(model_run_at, "modelRunAt"),
        "customerId" => null!(customer_id, "customerId"),
        "contractId" => null!(contract_id, "contractId"),
        "partnerId" => null!(partner_id, "partnerId"),
        "customerLegitimation" => null!(customer_legitimation, "customerLegitimation"),
        "responderId" => null!(responder_id, "responderId"),
        "agentId" => null!(agent_id, "agentId"),
        "template" => null!(template, "template"),
        "cortexRequestId" => null!(cortex_request_id, "cortexRequestId"),
        "callDurationSeconds" => null!(call_duration_seconds, "callDurationSeconds"),
        "customer" => null!(customer, "customer"),
        "additionalData" => null!(additional_data, "additionalData"),
        "rawData" => null!(raw_data, "rawData"),
        other => {
            return Err(Error::InvalidArgument(format!("{other} cannot be set to null")));
        }
    }
    Ok(())
}

fn parse_json(field: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("{field} is not valid JSON: {e}")))
}

fn tag_ids_of(tags: &serde_json::Value) -> Result<Vec<i64>> {
    let items = tags
        .as_array()
        .ok_or_else(|| Error::InvalidArgument("tags must be an array of tag objects".into()))?;
    items
        .iter()
        .map(|tag| {
            tag.get("id")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| Error::InvalidArgument("every tag object needs a numeric id".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use enneo_common::auth::Role;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn admin() -> Caller {
        Caller::from_role(1, Role::Admin)
    }

    fn ts(secs: i64) -> prost_types::Timestamp {
        prost_types::Timestamp { seconds: secs, nanos: 0 }
    }

    #[test]
    fn pending_needs_future_due_by() {
        let mut row = TicketRow::new("email".into(), now());
        let fields = pb::TicketFields { status: Some("pending".into()), ..Default::default() };
        let err = apply(&mut row, fields, Mode::Update, &admin(), now()).unwrap_err();
        assert!(matches!(err, Error::Unprocessable(_)), "{err:?}");

        let mut row = TicketRow::new("email".into(), now());
        let fields = pb::TicketFields {
            status: Some("pending".into()),
            due_by: Some(ts(1_700_000_000 + 3600)),
            ..Default::default()
        };
        apply(&mut row, fields, Mode::Update, &admin(), now()).unwrap();
        assert_eq!(row.status, "pending");
    }

    #[test]
    fn manual_spam_closes_and_closing_stamps_closed_at() {
        let mut row = TicketRow::new("email".into(), now());
        let fields =
            pb::TicketFields { spam_status: Some("manual_spam".into()), ..Default::default() };
        let applied = apply(&mut row, fields, Mode::Update, &admin(), now()).unwrap();
        assert_eq!(row.status, "closed");
        assert_eq!(row.closed_at, Some(now()));
        assert!(applied.changed.contains(&"status"));
    }

    #[test]
    fn direction_is_immutable_and_enums_are_checked() {
        let mut row = TicketRow::new("email".into(), now());
        row.id = 1;
        let fields = pb::TicketFields { direction: Some("out".into()), ..Default::default() };
        assert!(matches!(
            apply(&mut row, fields, Mode::Update, &admin(), now()),
            Err(Error::Unprocessable(_))
        ));
        let fields = pb::TicketFields { priority: Some("asap".into()), ..Default::default() };
        assert!(matches!(
            apply(&mut row, fields, Mode::Update, &admin(), now()),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn tags_are_added_and_removed_but_not_mixed_with_replacement() {
        let mut row = TicketRow::new("email".into(), now());
        row.tag_ids = vec![1, 2];
        let fields = pb::TicketFields {
            add_tag_ids: vec![3, 2],
            remove_tag_ids: vec![1],
            ..Default::default()
        };
        apply(&mut row, fields, Mode::Update, &admin(), now()).unwrap();
        assert_eq!(row.tag_ids, vec![2, 3]);
        let fields = pb::TicketFields {
            tag_ids: Some(pb::IdList { values: vec![9] }),
            add_tag_ids: vec![3],
            ..Default::default()
        };
        assert!(matches!(
            apply(&mut row, fields, Mode::Update, &admin(), now()),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn agents_cannot_write_technical_fields() {
        let agent = Caller::from_role(2, Role::Agent);
        let mut row = TicketRow::new("email".into(), now());
        let fields = pb::TicketFields { subject: Some("x".into()), ..Default::default() };
        assert!(matches!(
            apply(&mut row, fields, Mode::Update, &agent, now()),
            Err(Error::PermissionDenied(_))
        ));
        let fields = pb::TicketFields { priority: Some("high".into()), ..Default::default() };
        let applied = apply(&mut row, fields, Mode::Update, &agent, now()).unwrap();
        assert_eq!(applied.changed, vec!["priority"]);
    }
}
