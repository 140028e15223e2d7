//! A written ticket (create body, PATCH body, bulk item) turned into proto `TicketFields`.
//!
//! Parsed by hand rather than with a derived struct so that (a) every problem of a body is
//! reported at once, (b) `null` means "set to null" and absence means "leave as is", and
//! (c) the read-only fields the contract's own samples send back are accepted and ignored.
//! The accepted names are exactly the properties of [`super::docs::TicketWrite`]; a test keeps
//! the two in step.

use enneo_proto::ticket::v1 as pb;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::time;

/// Fields that are derived or read-only: accepted and ignored (contract §10). `modifiedAt` is
/// not written, but the update handlers read it as a precondition.
pub const IGNORED: &[&str] = &[
    "id",
    "agent",
    "assignedAgents",
    "workedOnBy",
    "workedOnByIds",
    "agentSkillsMatch",
    "modifiedAt",
    "replyRecipients",
    "emailSubchannelId",
    "contentTranslation",
    "workitem",
    "intents",
    "customerLegitimationMessage",
    "success",
];

/// Documented fields whose behaviour is not served yet; refused rather than ignored.
const NOT_YET: &[&str] =
    &["templateId", "templateData", "refreshMode", "intentId", "intentIds", "isSync"];

#[derive(Debug)]
pub struct Written {
    pub fields: pb::TicketFields,
    /// `process` given inside a create body (`"process": "false"`).
    pub process: Option<String>,
}

struct Reader<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<String>,
    seen: Vec<&'static str>,
    clear: Vec<String>,
}

impl<'a> Reader<'a> {
    /// The non-null value of `key`; a null is recorded as "set to null".
    fn take(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        match self.obj.get(key)? {
            Value::Null => {
                self.clear.push(key.to_owned());
                None
            }
            value => Some(value),
        }
    }

    fn fail<T>(&mut self, key: &str, expected: &str) -> Option<T> {
        self.errors.push(format!("{key} must be {expected}"));
        None
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        match self.take(key)? {
            Value::String(s) => Some(s.clone()),
            _ => self.fail(key, "a string"),
        }
    }

    /// Ids the contract spells as strings or numbers (`customerId`, `contractId`).
    fn id_string(&mut self, key: &'static str) -> Option<String> {
        match self.take(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            _ => self.fail(key, "a string or an integer"),
        }
    }

    fn int(&mut self, key: &'static str) -> Option<i64> {
        match self.take(key)? {
            Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            _ => self.fail(key, "an integer"),
        }
    }

    fn int32(&mut self, key: &'static str) -> Option<i32> {
        let value = self.int(key)?;
        i32::try_from(value).ok().or_else(|| self.fail(key, "a 32-bit integer"))
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        match self.take(key)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) if n.as_i64() == Some(0) => Some(false),
            Value::Number(n) if n.as_i64() == Some(1) => Some(true),
            _ => self.fail(key, "a boolean"),
        }
    }

    /// A list of strings; a single string is taken as a list of one.
    fn strings(&mut self, key: &'static str) -> Option<pb::StringList> {
        match self.take(key)? {
            Value::String(s) => Some(pb::StringList { values: vec![s.clone()] }),
            Value::Array(items) => {
                let values: Option<Vec<String>> =
                    items.iter().map(|v| v.as_str().map(str::to_owned)).collect();
                match values {
                    Some(values) => Some(pb::StringList { values }),
                    None => self.fail(key, "a list of strings"),
                }
            }
            _ => self.fail(key, "a list of strings"),
        }
    }

    fn ids(&mut self, key: &'static str) -> Option<pb::IdList> {
        match self.take(key)? {
            Value::Array(items) => {
                let values: Option<Vec<i64>> = items
                    .iter()
                    .map(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                    .collect();
                match values {
                    Some(values) => Some(pb::IdList { values }),
                    None => self.fail(key, "a list of integer ids"),
                }
            }
            _ => self.fail(key, "a list of integer ids"),
        }
    }

    fn time(&mut self, key: &'static str) -> Option<prost_types::Timestamp> {
        let value = self.take(key)?;
        time::parse(value)
            .or_else(|| self.fail(key, "a date (YYYY-MM-DD HH:MM:SS, ISO 8601 or unix seconds)"))
    }

    /// Any JSON document, kept as text.
    fn json(&mut self, key: &'static str) -> Option<String> {
        self.take(key).map(Value::to_string)
    }

    /// `template` is a string in the contract's samples; other JSON is kept as its text.
    fn text_or_json(&mut self, key: &'static str) -> Option<String> {
        match self.take(key)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// Reads one written ticket. `allow_process` admits the create-only `process` field.
pub fn read(value: &Value, allow_process: bool) -> Result<Written, ApiError> {
    let Value::Object(obj) = value else {
        return Err(ApiError::bad_request("a ticket must be a JSON object"));
    };
    let mut r = Reader { obj, errors: Vec::new(), seen: Vec::new(), clear: Vec::new() };
    let cc = r.strings("cc");
    let bcc = r.strings("bcc");
    let fields = pb::TicketFields {
        direction: r.string("direction"),
        from: r.string("from"),
        from_name: r.string("fromName"),
        to: r.strings("to"),
        cc_emails: r.strings("ccEmails").or(cc),
        bcc_emails: r.strings("bccEmails").or(bcc),
        reply_cc_emails: r.strings("replyCcEmails"),
        subchannel_id: r.int("subchannelId"),
        external_ticket_id: r.id_string("externalTicketId"),
        sentiment: r.string("sentiment"),
        language: r.string("language"),
        language_code: r.string("languageCode"),
        auto_execute_at: r.time("autoExecuteAt"),
        ai_support_level: r.string("aiSupportLevel"),
        spam_status: r.string("spamStatus"),
        is_customer_active: r.boolean("isCustomerActive"),
        interface: r.string("interface"),
        priority: r.string("priority"),
        channel: r.string("channel"),
        channel_id: r.string("channelId"),
        status: r.string("status"),
        summary: r.string("summary"),
        subject: r.string("subject"),
        body: r.string("body"),
        body_plain: r.string("bodyPlain"),
        body_clean: r.string("bodyClean"),
        is_escalated: r.boolean("isEscalated"),
        created_at: r.time("createdAt"),
        first_response_due_by: r.time("firstResponseDueBy"),
        due_by: r.time("dueBy"),
        closed_at: r.time("closedAt"),
        last_message_at: r.time("lastMessageAt"),
        last_customer_message_at: r.time("lastCustomerMessageAt"),
        model_run_at: r.time("modelRunAt"),
        customer_id: r.id_string("customerId"),
        contract_id: r.id_string("contractId"),
        partner_id: r.int("partnerId"),
        customer_legitimation: r.int32("customerLegitimation"),
        responder_id: r.int("responderId"),
        agent_id: r.int("agentId"),
        assigned_agent_ids: r.ids("assignedAgentIds"),
        tag_ids: r.ids("tagIds"),
        template: r.text_or_json("template"),
        cortex_request_id: r.string("cortexRequestId"),
        call_duration_seconds: r.int32("callDurationSeconds"),
        customer_json: r.json("customer"),
        attachments_json: r.json("attachments"),
        tags_json: r.json("tags"),
        additional_data_json: r.json("additionalData"),
        raw_data_json: r.json("rawData"),
        clear: Vec::new(),
        add_tag_ids: r.ids("addTagIds").map(|l| l.values).unwrap_or_default(),
        remove_tag_ids: r.ids("removeTagIds").map(|l| l.values).unwrap_or_default(),
    };
    let process = if allow_process {
        match r.take("process") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Bool(false)) => Some("false".into()),
            Some(_) => r.fail("process", "realtime, batch or false"),
            None => None,
        }
    } else {
        None
    };
    for key in obj.keys() {
        if r.seen.contains(&key.as_str()) || IGNORED.contains(&key.as_str()) {
            continue;
        }
        if NOT_YET.contains(&key.as_str()) {
            r.errors.push(format!("{key} is not supported yet"));
        } else {
            r.errors.push(format!("unknown field {key}"));
        }
    }
    if !r.errors.is_empty() {
        return Err(ApiError::bad_request(r.errors.join("; ")));
    }
    // `cc`/`bcc` are create-body aliases; clearing them clears the real fields.
    let clear = r
        .clear
        .into_iter()
        .map(|k| match k.as_str() {
            "cc" => "ccEmails".to_owned(),
            "bcc" => "bccEmails".to_owned(),
            _ => k,
        })
        .collect();
    Ok(Written { fields: pb::TicketFields { clear, ..fields }, process })
}

/// The writable names [`read`] takes; the documented schema must list exactly these.
pub const WRITABLE: &[&str] = &[
    "cc",
    "bcc",
    "direction",
    "from",
    "fromName",
    "to",
    "ccEmails",
    "bccEmails",
    "replyCcEmails",
    "subchannelId",
    "externalTicketId",
    "sentiment",
    "language",
    "languageCode",
    "autoExecuteAt",
    "aiSupportLevel",
    "spamStatus",
    "isCustomerActive",
    "interface",
    "priority",
    "channel",
    "channelId",
    "status",
    "summary",
    "subject",
    "body",
    "bodyPlain",
    "bodyClean",
    "isEscalated",
    "createdAt",
    "firstResponseDueBy",
    "dueBy",
    "closedAt",
    "lastMessageAt",
    "lastCustomerMessageAt",
    "modelRunAt",
    "customerId",
    "contractId",
    "partnerId",
    "customerLegitimation",
    "responderId",
    "agentId",
    "assignedAgentIds",
    "tagIds",
    "template",
    "cortexRequestId",
    "callDurationSeconds",
    "customer",
    "attachments",
    "tags",
    "additionalData",
    "rawData",
    "addTagIds",
    "removeTagIds",
    "process",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;

    #[test]
    fn writable_names_match_the_documented_schema() {
        let RefOr::T(Schema::Object(schema)) = super::super::docs::TicketWrite::schema() else {
            panic!("TicketWrite is an object schema");
        };
        let documented: BTreeSet<&str> = schema.properties.keys().map(String::as_str).collect();
        let writable: BTreeSet<&str> = WRITABLE.iter().copied().collect();
        assert_eq!(documented, writable);
        for key in WRITABLE {
            let one = json!({ *key: null });
            assert!(read(&one, true).is_ok(), "{key} is documented but refused");
        }
    }

    #[test]
    fn nulls_clear_and_bad_values_are_all_reported() {
        let written =
            read(&json!({"dueBy": null, "priority": "high", "agent": {"id": 1}}), false).unwrap();
        assert_eq!(written.fields.clear, vec!["dueBy".to_owned()]);
        assert_eq!(written.fields.priority.as_deref(), Some("high"));

        let err =
            read(&json!({"dueBy": "soon", "agentId": "x", "stauts": "open"}), false).unwrap_err();
        assert!(err.message.contains("dueBy"), "{}", err.message);
        assert!(err.message.contains("agentId"), "{}", err.message);
        assert!(err.message.contains("unknown field stauts"), "{}", err.message);
        assert!(read(&json!({"process": "batch"}), false).is_err());
        assert!(read(&json!([1]), false).is_err());
    }

    #[test]
    fn ids_accept_strings_and_numbers() {
        let written = read(&json!({"customerId": 83771, "contractId": "746839"}), false).unwrap();
        assert_eq!(written.fields.customer_id.as_deref(), Some("83771"));
        assert_eq!(written.fields.contract_id.as_deref(), Some("746839"));
    }
}
