//! A dry run of one `detectionDetails` object on a ticket (`POST /tag/{id}/detect`, contract
//! §6.1): tags carry the same object as agents, so it is judged the way agents are detected.
//!
//! In order: the `type` (an object assigned by hand is never detected); the scope (channels,
//! subchannels, `customerNeeded`, default true), outside which nothing else runs; then by
//! `type` the conditions over the object's own parameters
//! ([`conditions::evaluate`], parameters resolved from the ticket with `message` sources left
//! empty, as in the rule-based pass) and AI detection over the message's units, through the
//! embeddings provider and its vector cache. When the embeddings server is down the answer says
//! so in an alert instead of failing; the conditions still decide what they can.
//!
//! AI detection here is nearest-neighbour, not the agents' classifier: a tag has a prompt and a
//! handful of examples, too few to train a class against hundreds of background sentences (it
//! never reached the threshold). A unit counts when it is closer to one of the tag's texts than
//! to every background sentence; the margin becomes a score in 0..1 ([`MARGIN_SCALE`]).

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::classifier::cosine;
use super::lexical::Phrases;
use super::runtime::{Kind, Runtime};
use super::{AgentProfile, Detector, KEYWORD_BONUS, Message};
use crate::agents::catalogue;
use crate::engine::conditions::{self, Condition};
use crate::engine::definition::AgentSettings;
use crate::engine::params;
use crate::providers::ProviderError;
use crate::providers::embeddings::InputType;
use crate::tickets::TicketView;

/// The similarity margin (closest tag text minus closest background sentence) that scores
/// 0.73; e5 vectors all lie close together, so margins are small: +0.02 for a clear request,
/// -0.03 and below for an unrelated one (multilingual-e5-small).
const MARGIN_SCALE: f32 = 0.01;

/// Who the object applies to; empty lists mean everyone.
#[derive(Debug, Default)]
pub struct Scope {
    pub channels: Vec<String>,
    pub subchannels: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub code: &'static str,
    pub message: String,
    pub operand: Option<i64>,
}

fn alert(code: &'static str, message: impl Into<String>) -> Alert {
    Alert { code, message: message.into(), operand: None }
}

#[derive(Debug, Default, PartialEq)]
pub struct Verdict {
    pub matched: bool,
    pub alerts: Vec<Alert>,
    /// AI detection's confidence, when it ran.
    pub ai_confidence: Option<f32>,
}

/// What one half of a combined detection found.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Half {
    Holds,
    Fails,
    /// AI detection could not run; the alert says why.
    Unavailable,
}

/// Runs `details` on `ticket`. `tag_ids` replace the ticket's tags and `given` sets parameter
/// values by key, for this run only.
pub async fn evaluate(
    runtime: &Runtime,
    mut ticket: TicketView,
    details: &Value,
    scope: &Scope,
    tag_ids: Option<Vec<i64>>,
    given: Map<String, Value>,
    today: NaiveDate,
) -> Verdict {
    if let Some(ids) = tag_ids {
        ticket.inputs.ticket["tagIds"] = json!(ids);
        ticket.inputs.tag_ids = ids;
    }
    ticket.inputs.given = given;
    let mut verdict = Verdict::default();
    // Without a type nothing detects the object (a tag's default is `{}`).
    let kind =
        details.get("type").map(|_| Kind::of(&json!({"settings": {"detectionDetails": details}})));
    let (uses_conditions, uses_ai) = match kind {
        Some(Kind::Condition) => (true, false),
        Some(Kind::Ai) => (false, true),
        Some(Kind::AiAndCondition | Kind::AiOrCondition) => (true, true),
        Some(Kind::Manual) | None => {
            let why = match details.get("type").and_then(Value::as_str) {
                Some("customLogic") => "custom logic is not evaluated; assign the tag by hand",
                _ => "the tag is assigned by hand; detection never assigns it",
            };
            verdict.alerts.push(alert("notDetected", why));
            return verdict;
        }
    };
    if let Some(outside) = out_of_scope(&ticket, details, scope) {
        verdict.alerts.push(outside);
        return verdict;
    }
    let by_conditions = uses_conditions.then(|| {
        if conditions_hold(details, &ticket, today, &mut verdict.alerts) {
            Half::Holds
        } else {
            Half::Fails
        }
    });
    // The AI half of an AND is not asked when the conditions already failed.
    let by_ai =
        if uses_ai && !(kind == Some(Kind::AiAndCondition) && by_conditions == Some(Half::Fails)) {
            Some(match ai_confidence(runtime, details, &ticket, &mut verdict.alerts).await {
                Ok(Some(confidence)) => {
                    verdict.ai_confidence = Some(confidence);
                    if confidence >= runtime.threshold() {
                        Half::Holds
                    } else {
                        verdict.alerts.push(alert(
                            "aiNotMatched",
                            format!(
                                "AI detection's confidence {confidence:.2} is below {:.2}",
                                runtime.threshold()
                            ),
                        ));
                        Half::Fails
                    }
                }
                Ok(None) => Half::Fails,
                Err(e) => {
                    verdict.alerts.push(alert(
                        "aiUnavailable",
                        format!("AI detection unavailable: embeddings server down ({e})"),
                    ));
                    Half::Unavailable
                }
            })
        } else {
            None
        };
    verdict.matched = decide(kind.unwrap_or(Kind::Manual), by_conditions, by_ai);
    verdict
}

/// Whether the halves that ran make a match.
fn decide(kind: Kind, by_conditions: Option<Half>, by_ai: Option<Half>) -> bool {
    let holds = |h: Option<Half>| h == Some(Half::Holds);
    match kind {
        Kind::Condition => holds(by_conditions),
        Kind::Ai => holds(by_ai),
        Kind::AiAndCondition => holds(by_conditions) && holds(by_ai),
        Kind::AiOrCondition => holds(by_conditions) || holds(by_ai),
        Kind::Manual => false,
    }
}

fn out_of_scope(ticket: &TicketView, details: &Value, scope: &Scope) -> Option<Alert> {
    if !scope.channels.is_empty() && !scope.channels.contains(&ticket.channel) {
        return Some(alert(
            "channelNotServed",
            format!(
                "the ticket's channel {} is not among {}",
                ticket.channel,
                scope.channels.join(", ")
            ),
        ));
    }
    let subchannel = ticket.inputs.ticket.get("subchannelId").and_then(Value::as_i64);
    if !scope.subchannels.is_empty() && subchannel.is_none_or(|s| !scope.subchannels.contains(&s)) {
        return Some(alert(
            "subchannelNotServed",
            format!("the ticket's subchannel {subchannel:?} is not among {:?}", scope.subchannels),
        ));
    }
    let customer_needed = details.get("customerNeeded").and_then(Value::as_bool).unwrap_or(true);
    let customer_known = ticket.inputs.ticket.get("customerId").is_some_and(|c| !c.is_null())
        || ticket.inputs.customer.as_object().is_some_and(|c| !c.is_empty());
    if customer_needed && !customer_known {
        return Some(alert(
            "customerNeeded",
            "the ticket has no identified customer and the detection needs one (customerNeeded)",
        ));
    }
    None
}

/// `conditions` over `parameters`; every operand that fails adds its alert.
fn conditions_hold(
    details: &Value,
    ticket: &TicketView,
    today: NaiveDate,
    alerts: &mut Vec<Alert>,
) -> bool {
    let condition = match details
        .get("conditions")
        .cloned()
        .map(serde_json::from_value::<Condition>)
    {
        None => Condition::default(),
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            alerts.push(alert("invalidConditions", format!("the conditions cannot be read: {e}")));
            return false;
        }
    };
    if condition.operands.is_empty() {
        alerts.push(alert("noConditions", "the detection has no conditions"));
        return false;
    }
    let parameters = details.get("parameters").cloned().unwrap_or_else(|| json!([]));
    let settings = match serde_json::from_value::<AgentSettings>(json!({"parameters": parameters}))
    {
        Ok(s) => s,
        Err(e) => {
            alerts.push(alert("invalidParameters", format!("the parameters cannot be read: {e}")));
            return false;
        }
    };
    let resolution = params::resolve(&settings, &ticket.inputs);
    for e in &resolution.errors {
        alerts.push(alert("conversion", format!("{}: {}", e.key, e.message)));
    }
    let mut failed = Vec::new();
    let holds = conditions::evaluate(&condition, &|id| resolution.get(id), today, &mut failed);
    alerts.extend(failed.into_iter().map(|a| Alert {
        code: a.code,
        message: a.message,
        operand: Some(a.operand),
    }));
    holds
}

/// The best score of the message's units for the object's prompt and examples; `None` (with an
/// alert) when it has neither.
async fn ai_confidence(
    runtime: &Runtime,
    details: &Value,
    ticket: &TicketView,
    alerts: &mut Vec<Alert>,
) -> Result<Option<f32>, ProviderError> {
    let profile =
        AgentProfile::from_definition(0, &json!({"settings": {"detectionDetails": details}}));
    if profile.examples.is_empty() {
        alerts.push(alert(
            "noDetectionPrompt",
            "AI detection needs aiDetection.detectionPrompt or examples",
        ));
        return Ok(None);
    }
    if details.pointer("/aiDetection/examples").is_none() {
        alerts.push(alert(
            "promptOnly",
            "AI detection compares with the prompt alone; aiDetection.examples (what customers \
             write) make it reliable",
        ));
    }
    let (cache, embeddings) = (runtime.cache(), runtime.embeddings());
    let embeddings = &*embeddings;
    let examples = cache.embed(embeddings, &profile.examples, InputType::Query).await?;
    let background = cache.embed(embeddings, &catalogue::background(), InputType::Query).await?;
    let units = Detector::units(&Message { subject: &ticket.subject, body: &ticket.body });
    if units.is_empty() {
        alerts.push(alert("noMessage", "the ticket has no text to compare"));
        return Ok(Some(0.0));
    }
    let vectors = embeddings.embed(&units, InputType::Query).await?;
    let (keywords, negative) = (Phrases::new(&profile.keywords), Phrases::new(&profile.negative));
    let best = units
        .iter()
        .zip(&vectors)
        .filter_map(|(unit, vector)| {
            let folded = crate::text::fold(unit);
            if negative.any_in(&folded) {
                return None;
            }
            let bonus = if keywords.any_in(&folded) { KEYWORD_BONUS } else { 0.0 };
            Some(score(vector, &examples, &background) + bonus)
        })
        .fold(0.0f32, f32::max);
    Ok(Some((best.min(1.0) * 100.0).round() / 100.0))
}

/// How much closer `unit` is to the nearest of `texts` than to the nearest background sentence.
fn score(unit: &[f32], texts: &[Vec<f32>], background: &[Vec<f32>]) -> f32 {
    let nearest = |set: &[Vec<f32>]| set.iter().map(|v| cosine(unit, v)).fold(-1.0f32, f32::max);
    let margin = nearest(texts) - nearest(background);
    1.0 / (1.0 + (-margin / MARGIN_SCALE).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_score_by_which_side_is_nearer() {
        let tag = vec![vec![1.0, 0.0, 0.0]];
        let background = vec![vec![0.0, 1.0, 0.0]];
        assert!(score(&[0.9, 0.1, 0.0], &tag, &background) > 0.99);
        assert!(score(&[0.1, 0.9, 0.0], &tag, &background) < 0.01);
        let between = score(&[1.0, 1.0, 0.0], &tag, &background);
        assert!((between - 0.5).abs() < 1e-3, "{between}");
    }

    #[test]
    fn combined_types_need_their_halves() {
        use Half::*;
        assert!(decide(Kind::Condition, Some(Holds), None));
        assert!(!decide(Kind::Ai, None, Some(Unavailable)));
        assert!(!decide(Kind::AiAndCondition, Some(Holds), Some(Unavailable)));
        assert!(!decide(Kind::AiAndCondition, Some(Fails), None));
        assert!(decide(Kind::AiAndCondition, Some(Holds), Some(Holds)));
        // An unavailable AI half leaves the decision to the conditions.
        assert!(decide(Kind::AiOrCondition, Some(Holds), Some(Unavailable)));
        assert!(!decide(Kind::AiOrCondition, Some(Fails), Some(Unavailable)));
        assert!(!decide(Kind::Manual, Some(Holds), Some(Holds)));
    }

    fn ticket(channel: &str, customer: Option<i64>) -> TicketView {
        let mut t = TicketView::empty();
        t.channel = channel.into();
        t.inputs.ticket["channel"] = json!(channel);
        t.inputs.ticket["customerId"] = json!(customer);
        t
    }

    #[test]
    fn the_scope_comes_first() {
        let none = json!({"type": "conditionDetection"});
        let chat = Scope { channels: vec!["chat".into()], subchannels: vec![] };
        let out = out_of_scope(&ticket("email", Some(1)), &none, &chat).unwrap();
        assert_eq!(out.code, "channelNotServed");
        assert_eq!(out_of_scope(&ticket("chat", Some(1)), &none, &chat), None);
        let out = out_of_scope(&ticket("chat", None), &none, &chat).unwrap();
        assert_eq!(out.code, "customerNeeded");
        let anyone = json!({"type": "conditionDetection", "customerNeeded": false});
        assert_eq!(out_of_scope(&ticket("chat", None), &anyone, &chat), None);
        let mailbox = Scope { channels: vec![], subchannels: vec![7] };
        assert_eq!(
            out_of_scope(&ticket("chat", Some(1)), &anyone, &mailbox).unwrap().code,
            "subchannelNotServed"
        );
    }

    #[test]
    fn failing_operands_name_their_parameter() {
        let details = json!({"type": "conditionDetection",
            "conditions": {"operator": "And", "operands": [
                {"operand": 1, "operator": "Equal", "value": "chat"}]},
            "parameters": [{"id": 1, "key": "channel", "source": "ticket", "sourceKey": "channel"}]});
        let today = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let mut alerts = Vec::new();
        assert!(conditions_hold(&details, &ticket("chat", None), today, &mut alerts));
        assert!(alerts.is_empty(), "{alerts:?}");
        assert!(!conditions_hold(&details, &ticket("email", None), today, &mut alerts));
        assert_eq!(
            alerts.iter().map(|a| (a.code, a.operand)).collect::<Vec<_>>(),
            [("notMatched", Some(1))]
        );
        let mut alerts = Vec::new();
        assert!(!conditions_hold(
            &json!({"type": "conditionDetection"}),
            &ticket("chat", None),
            today,
            &mut alerts
        ));
        assert_eq!(alerts[0].code, "noConditions");
    }
}
