//! A ticket frozen for replay, in the contract's Ticket JSON: what detection and the agents
//! read, nothing a later edit of the ticket could change under a test case.

use chrono::{DateTime, Utc};
use enneo_proto::ticket::v1::Ticket;
use serde_json::{Value, json};

pub fn of(t: &Ticket) -> Value {
    let created = t
        .created_at
        .as_ref()
        .and_then(|ts| DateTime::<Utc>::from_timestamp(ts.seconds, ts.nanos.max(0) as u32))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
    let customer = t
        .customer_json
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .unwrap_or(Value::Null);
    json!({
        "id": t.id,
        "subject": t.subject,
        "body": t.body,
        "bodyPlain": t.body_plain,
        "summary": t.summary,
        "channel": t.channel,
        "direction": t.direction,
        "from": t.from,
        "createdAt": created,
        "customer": customer,
        "customerId": t.customer_id,
        "contractId": t.contract_id,
        "customerLegitimation": t.customer_legitimation,
        "languageCode": t.language_code,
        "subchannelId": t.subchannel_id,
        "tagIds": t.tag_ids,
    })
}

/// What lists show of the ticket: its summary, else its subject.
pub fn summary(t: &Ticket) -> Option<String> {
    t.summary.clone().filter(|s| !s.trim().is_empty()).or_else(|| t.subject.clone())
}
