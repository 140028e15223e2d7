//! The AI quality check's replay (`ReplayTicket`): a ticket snapshot goes through detection and
//! every agent found, phase 1 and then phase 2 of the recommended option, exactly as live
//! processing would run them but with recording effects. The answer is the actualResult of
//! contract §4.3, keyed by agent slug.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use serde_json::{Map, Value, json};
use std::sync::Arc;

use crate::agents::store::{self as agents, AgentRow};
use crate::detection::queue::support_level_of;
use crate::detection::runtime::{DetectError, Runtime, Vectors};
use crate::effects::{Effects, Toolbox};
use crate::engine::definition::ACTION_KEY;
use crate::runner;
use crate::tickets::TicketView;

/// A ticket as a test case snapshotted it (the contract's Ticket JSON).
pub fn ticket_from_snapshot(snapshot: &Value) -> Result<TicketView> {
    let Value::Object(t) = snapshot else {
        return Err(Error::InvalidArgument("the ticket snapshot must be a JSON object".into()));
    };
    let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
    let id_text = |k: &str| match t.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let created = t.get("createdAt").and_then(timestamp).unwrap_or_else(Utc::now);
    let proto = pb::Ticket {
        id: t.get("id").and_then(Value::as_i64).unwrap_or(0),
        direction: text("direction").unwrap_or_else(|| "in".into()),
        channel: text("channel").unwrap_or_else(|| "email".into()),
        status: text("status").unwrap_or_else(|| "open".into()),
        from: text("from"),
        subject: text("subject"),
        body: text("body"),
        body_plain: text("bodyPlain"),
        language_code: text("languageCode"),
        contract_id: id_text("contractId"),
        customer_id: id_text("customerId"),
        customer_legitimation: t
            .get("customerLegitimation")
            .and_then(Value::as_i64)
            .map(|l| l as i32),
        customer_json: t.get("customer").filter(|c| c.is_object()).map(Value::to_string),
        tag_ids: t
            .get("tagIds")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default(),
        created_at: Some(prost_types::Timestamp { seconds: created.timestamp(), nanos: 0 }),
        ..Default::default()
    };
    Ok(TicketView::from_proto(&proto))
}

/// `createdAt` as the contract writes it: `YYYY-MM-DD HH:MM:SS`, RFC 3339 or unix seconds.
fn timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => DateTime::from_timestamp(n.as_i64()?, 0),
        Value::String(s) => {
            DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).ok().or_else(|| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok().map(|d| d.and_utc())
            })
        }
        _ => None,
    }
}

/// Replays (and their preparation) are for those who run quality checks or edit agents.
pub fn may_replay(caller: &Caller) -> Result<()> {
    if caller.has(permission::AI_QUALITY_CHECK_RUN) || caller.has(permission::UPDATE_AI_AGENT) {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!("missing permission {}", permission::AI_QUALITY_CHECK_RUN)))
}

/// Embeds into the vector cache what replaying `tickets` embeds, so that the replays of a later
/// run find the vectors instead of embedding while the run waits; the number of sentences.
pub async fn prepare(runtime: &Runtime, tickets: &[TicketView]) -> Result<usize> {
    match runtime.prepare(tickets).await {
        Ok(units) => Ok(units),
        Err(DetectError::Provider(e)) => {
            Err(Error::unavailable_because("the embeddings server is unavailable", e))
        }
        Err(DetectError::Store(e)) => Err(e),
    }
}

pub struct Replay<'a> {
    pub pool: &'a sqlx::PgPool,
    pub runtime: &'a Runtime,
    pub toolbox: Arc<Toolbox>,
}

impl Replay<'_> {
    /// The actualResult of the snapshot; `data` holds given values per agent slug.
    pub async fn run(
        &self,
        ticket: &TicketView,
        agent_ids: &[i64],
        data: &Map<String, Value>,
    ) -> Result<Value> {
        let today = Utc::now().date_naive();
        let found: Vec<(AgentRow, f32)> = if agent_ids.is_empty() {
            match self.runtime.detect(ticket, today, true, Vectors::Cached).await {
                Ok(f) => f.found.into_iter().map(|f| (f.agent, f.confidence)).collect(),
                Err(DetectError::Provider(e)) => {
                    return Err(Error::unavailable_because(
                        "the embeddings server is unavailable",
                        e,
                    ));
                }
                Err(DetectError::Store(e)) => return Err(e),
            }
        } else {
            let mut conn = self.pool.acquire().await?;
            let mut rows = Vec::new();
            for id in agent_ids {
                rows.push((agents::get(&mut conn, *id).await?, 1.0));
            }
            rows
        };
        let effects = Effects::recording(self.toolbox.clone());
        let mut result = ResultBuilder::default();
        for (agent, confidence) in &found {
            let doc = agent.document();
            let given =
                data.get(&agent.slug).and_then(Value::as_object).cloned().unwrap_or_default();
            result.agent(
                &agent.slug,
                *confidence,
                run_both(&doc, ticket, given, today, &effects).await,
            );
        }
        Ok(result.finish(ticket, &effects))
    }
}

/// Phase 1, then phase 2 of the recommended option (what a human's one click would send).
async fn run_both(
    agent: &Value,
    ticket: &TicketView,
    given: Map<String, Value>,
    today: NaiveDate,
    effects: &Effects,
) -> Result<(runner::Run, Option<runner::Run>), String> {
    let first =
        runner::run_with(agent, ticket, &given, today, effects).await.map_err(|e| e.to_string())?;
    if given.contains_key(ACTION_KEY) {
        return Ok((first, None));
    }
    let Some(option) = first.decision.options.iter().find(|o| o.recommended) else {
        return Ok((first, None));
    };
    let mut chosen = given;
    chosen.insert(ACTION_KEY.into(), json!(option.ty));
    let second = runner::run_with(agent, ticket, &chosen, today, effects).await.ok();
    Ok((first, second))
}

#[derive(Default)]
struct ResultBuilder {
    detected: Vec<String>,
    parameters: Map<String, Value>,
    types: Map<String, Value>,
    actions: Map<String, Value>,
    notifications: Map<String, Value>,
    texts: Map<String, Value>,
    confidence: Map<String, Value>,
    auto: Vec<bool>,
    errors: Vec<String>,
}

impl ResultBuilder {
    fn agent(
        &mut self,
        slug: &str,
        confidence: f32,
        runs: Result<(runner::Run, Option<runner::Run>), String>,
    ) {
        self.detected.push(slug.to_owned());
        self.confidence.insert(slug.into(), json!((f64::from(confidence) * 100.0).round() / 100.0));
        let (first, second) = match runs {
            Ok(runs) => runs,
            Err(e) => {
                self.errors.push(format!("{slug}: {e}"));
                return;
            }
        };
        let values: Map<String, Value> = first
            .decision
            .data
            .iter()
            .filter(|(k, v)| k.as_str() != ACTION_KEY && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.parameters.insert(slug.into(), Value::Object(values));
        self.types.insert(slug.into(), json!(first.decision.output_type));
        let mut options: Vec<&crate::engine::definition::IntentOption> =
            first.decision.options.iter().collect();
        options.sort_by_key(|o| !o.recommended);
        self.actions
            .insert(slug.into(), json!(options.iter().map(|o| o.ty.as_str()).collect::<Vec<_>>()));
        self.notifications.insert(
            slug.into(),
            json!(first.decision.infos.iter().map(|i| i.message.as_str()).collect::<Vec<_>>()),
        );
        let text = second.as_ref().and_then(|s| s.reply.clone()).or(first.reply.clone());
        self.texts.insert(slug.into(), json!(text));
        self.auto.push(first.decision.auto_executable);
    }

    fn finish(self, ticket: &TicketView, effects: &Effects) -> Value {
        json!({
            "contractId": ticket.contract_id,
            "intentDetection": self.detected,
            "inputParameters": self.parameters,
            "outcomeType": self.types,
            "outcomeActions": self.actions,
            "outcomeNotifications": self.notifications,
            "outcomeText": self.texts,
            "sentiment": crate::sentiment::classify(&ticket.subject, &ticket.body),
            "tags": [],
            "aiSupportLevel": if self.detected.is_empty() { "human" } else { support_level_of(self.auto.into_iter()) },
            "sources": {},
            "confidence": self.confidence,
            "effects": effects.recorded(),
            "error": if self.errors.is_empty() { Value::Null } else { json!(self.errors.join("; ")) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_in_the_contracts_shapes_becomes_a_ticket() {
        let t = ticket_from_snapshot(&json!({"id": 7, "channel": "letter", "subject": "Umzug",
            "bodyPlain": "Ich ziehe um.", "from": "a@example.com", "createdAt": "2026-10-20 09:00:00",
            "contractId": 746839, "customerLegitimation": 30, "tagIds": [2],
            "customer": {"contracts": [{"id": 746839, "productName": "Öko"}]}}))
        .unwrap();
        assert_eq!((t.id, t.channel.as_str(), t.body.as_str()), (7, "letter", "Ich ziehe um."));
        assert_eq!(t.contract_id.as_deref(), Some("746839"));
        assert_eq!(t.inputs.contract["productName"], "Öko");
        assert_eq!(t.received_at.date_naive(), NaiveDate::from_ymd_opt(2026, 10, 20).unwrap());
        assert_eq!(t.inputs.tag_ids, vec![2]);
        assert!(ticket_from_snapshot(&json!([1])).is_err());
        let html = ticket_from_snapshot(
            &json!({"body": "<p>Hallo &amp; tschüss</p>", "createdAt": 1_700_000_000}),
        )
        .unwrap();
        assert_eq!(html.body, "Hallo & tschüss");
    }
}
