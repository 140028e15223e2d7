//! One run of one agent on one ticket: the single code path behind live detection, execution,
//! `POST /aiAgent/{id}/preview`, `POST /aiAgent/outcome` and the quality check's replay.
//!
//! It extracts the agent's `message` parameters, resolves every parameter, runs the engine's
//! phase 1 or 2, and renders what the customer would read, in the ticket's language. It is
//! pure: what the decision does to the world is applied afterwards through
//! [`crate::effects::Effects`].

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::agents::document::{self, Violations};
use crate::engine::definition::IntentInfo;
use crate::engine::phases::{self, Decision, Effect, PhaseError};
use crate::extraction::{self, Doc, Hint, Lang};
use crate::templates::Templates;
use crate::tickets::TicketView;

#[derive(Debug, Clone)]
pub struct Run {
    pub lang: Lang,
    /// Values the built-in extractors found for `message` parameters, by key.
    pub extracted: Map<String, Value>,
    pub decision: Decision,
    /// Phase 2: the customer reply the decision sends, rendered.
    pub reply: Option<String>,
    pub closes: bool,
}

impl Run {
    /// The extracted parameters with their types applied (`"12.345,6"` → `12345.6`).
    pub fn extracted_typed(&self) -> Map<String, Value> {
        self.extracted
            .keys()
            .filter_map(|k| Some((k.clone(), self.decision.data.get(k)?.clone())))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the agent definition is invalid: {}", .0.0.join("; "))]
    Definition(Violations),
    #[error(transparent)]
    NotOffered(#[from] PhaseError),
}

/// Runs `agent` (a stored or unsaved AiAgent document) on `ticket` with `given` values.
pub fn run(
    agent: &Value,
    ticket: &TicketView,
    given: &Map<String, Value>,
    today: NaiveDate,
) -> Result<Run, RunError> {
    let settings = document::settings_of(agent).map_err(RunError::Definition)?;
    let doc = Doc::new(&extraction::Message {
        subject: &ticket.subject,
        body: &ticket.body,
        received_at: ticket.received_at,
        lang: ticket.language_code.as_deref(),
    });
    let extracted = extract(agent, &doc);
    let mut inputs = ticket.inputs.clone();
    inputs.extracted = extracted.clone();
    inputs.given = given.clone();
    let mut decision = phases::run(&settings, &inputs, today)?;
    let templates = Templates::new(today);
    let data = template_data(&decision.data, ticket);
    let case = raw_case(agent, decision.case_id.as_ref());
    localize(&mut decision, case, doc.lang, &templates, &data);
    let mut reply = None;
    let mut closes = false;
    for effect in &decision.effects {
        match effect {
            Effect::Reply { template, .. } => {
                let text = localized_text(case, doc.lang).unwrap_or(template);
                match templates.render(text, &data) {
                    Ok(rendered) => reply = Some(rendered.trim().to_owned()),
                    Err(e) => decision.infos.push(IntentInfo::new(
                        crate::engine::definition::InfoType::Danger,
                        format!("the reply template does not render: {e}"),
                    )),
                }
            }
            Effect::CloseTicket => closes = true,
        }
    }
    Ok(Run { lang: doc.lang, extracted, decision, reply, closes })
}

/// The `message` parameters of an agent extracted from a prepared message.
pub fn extract(agent: &Value, doc: &Doc) -> Map<String, Value> {
    let hints: Vec<(String, Hint)> = parameters(agent)
        .iter()
        .filter(|p| p.get("source").and_then(Value::as_str) == Some("message"))
        .filter_map(|p| {
            let key = p.get("key")?.as_str()?.to_owned();
            let hint = Hint::from_parameter(p)?.ok()?;
            Some((key, hint))
        })
        .collect();
    extraction::extract_intent(&hints, doc).into_iter().collect()
}

fn parameters(agent: &Value) -> &[Value] {
    agent.pointer("/settings/parameters").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Templates see the agent's parameters at top level and the ticket variables namespaces.
pub fn template_data(data: &Map<String, Value>, ticket: &TicketView) -> Value {
    let mut out = Map::new();
    out.insert("in".into(), ticket.inputs.ticket.clone());
    out.insert("customer".into(), ticket.inputs.customer.clone());
    out.insert("contract".into(), ticket.inputs.contract.clone());
    out.insert("subject".into(), json!(ticket.subject));
    for (k, v) in data {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

fn raw_case<'a>(agent: &'a Value, id: Option<&Value>) -> Option<&'a Value> {
    let id = id?;
    agent
        .pointer("/settings/responseCases")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("id") == Some(id))
}

/// The case's text in the message's language: `textEn` (or `texts.en`) for English.
fn localized_text(case: Option<&Value>, lang: Lang) -> Option<&str> {
    let output = case?.get("output")?;
    let code = match lang {
        Lang::En => "en",
        Lang::De => "de",
    };
    let text = if lang == Lang::En { output.get("textEn") } else { None };
    text.or_else(|| output.pointer(&format!("/texts/{code}")))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

/// Infos and options in the message's language (`messageEn`, `nameEn`, …), with their
/// templates rendered.
fn localize(
    decision: &mut Decision,
    case: Option<&Value>,
    lang: Lang,
    t: &Templates,
    data: &Value,
) {
    let raw = |kind: &str, i: usize, key: &str| -> Option<String> {
        let field = if lang == Lang::En { format!("{key}En") } else { key.to_owned() };
        case?.get("output")?.get(kind)?.get(i)?.get(&field)?.as_str().map(str::to_owned)
    };
    let render = |text: &str| t.render(text, data).unwrap_or_else(|_| text.to_owned());
    for (i, info) in decision.infos.iter_mut().enumerate() {
        if let Some(m) = raw("infos", i, "message") {
            info.message = m;
        }
        if let Some(e) = raw("infos", i, "extraInfo") {
            info.extra_info = Some(e);
        }
        info.message = render(&info.message);
        info.extra_info = info.extra_info.as_deref().map(render);
    }
    for option in decision.options.iter_mut() {
        let i = case.and_then(|c| c.pointer("/output/options")).and_then(Value::as_array).and_then(
            |os| os.iter().position(|o| o.get("type").and_then(Value::as_str) == Some(&option.ty)),
        );
        if let Some(name) = i.and_then(|i| raw("options", i, "name")) {
            option.name = name;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use serde_json::json;

    use super::*;
    use crate::engine::params::Inputs;

    pub fn ticket(subject: &str, body: &str, lang: Option<&str>) -> TicketView {
        TicketView {
            id: 7,
            channel: "email".into(),
            direction: "in".into(),
            status: "open".into(),
            subject: subject.into(),
            body: body.into(),
            sender: Some("kunde@example.com".into()),
            received_at: DateTime::parse_from_rfc3339("2026-10-20T09:00:00+02:00").unwrap(),
            language_code: lang.map(str::to_owned),
            contract_id: None,
            spam_status: None,
            customer_legitimation: None,
            inputs: Inputs {
                ticket: json!({"ticketId": 7, "channel": "email"}),
                ..Inputs::default()
            },
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 20).unwrap()
    }

    #[test]
    fn the_meter_reading_agent_extracts_offers_and_replies_in_the_messages_language() {
        let agent = crate::agents::catalogue::agent("meter_reading").unwrap();
        let t = ticket(
            "Zählerstand",
            "Mein Zählerstand ist 12345 kWh, Zählernummer 1ESY1160123456.",
            Some("de"),
        );
        let phase1 = run(&agent, &t, &Map::new(), today()).unwrap();
        assert_eq!(phase1.extracted["meterReading"], json!("12345"));
        assert_eq!(phase1.decision.data["meterReading"], json!(12345.0));
        assert_eq!(phase1.decision.options.iter().filter(|o| o.recommended).count(), 1);
        assert!(
            phase1.reply.is_none() && phase1.decision.effects.is_empty(),
            "phase 1 acts on nothing"
        );
        let recommended =
            phase1.decision.options.iter().find(|o| o.recommended).unwrap().ty.clone();

        let given = json!({"_action": recommended}).as_object().unwrap().clone();
        let phase2 = run(&agent, &t, &given, today()).unwrap();
        let reply = phase2.reply.expect("phase 2 of the recommended option replies");
        assert!(reply.contains("12345"), "{reply}");
        assert!(!reply.contains("{{"), "{reply}");

        let en = ticket(
            "Meter reading",
            "My meter reading is 12345 kWh, meter number 1ESY1160123456.",
            Some("en"),
        );
        let reply = run(&agent, &en, &given, today()).unwrap().reply.unwrap();
        assert!(reply.starts_with("Thank you"), "{reply}");
    }

    #[test]
    fn an_option_that_was_not_offered_and_a_broken_definition_are_errors() {
        let agent = crate::agents::catalogue::agent("meter_reading").unwrap();
        let t = ticket("", "Mein Zählerstand ist 12345 kWh.", None);
        let given = json!({"_action": "launch_rocket"}).as_object().unwrap().clone();
        assert!(matches!(run(&agent, &t, &given, today()), Err(RunError::NotOffered(_))));
        let broken = json!({"settings": {"parameters": 5}});
        assert!(matches!(run(&broken, &t, &Map::new(), today()), Err(RunError::Definition(_))));
    }
}
