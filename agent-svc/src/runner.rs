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
use crate::effects::Effects;
use crate::engine::definition::{
    ACTION_KEY, AgentSettings, InfoType, IntentInfo, OutputType, Source,
};
use crate::engine::params::{self, Inputs};
use crate::engine::phases::{self, Decision, Effect, PhaseError};
use crate::executors;
use crate::extraction::{self, Doc, Hint, Lang};
use crate::llm::Llm;
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
    /// Phase 2 of an `llm` case: the brief an LLM writes the reply from. Without an LLM there is
    /// no reply: the brief is for the model, never for the customer.
    pub llm_brief: Option<String>,
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

/// Runs `agent` (a stored or unsaved AiAgent document) on `ticket` with `given` values,
/// without its executor.
pub fn run(
    agent: &Value,
    ticket: &TicketView,
    given: &Map<String, Value>,
    today: NaiveDate,
) -> Result<Run, RunError> {
    let prepared = Prepared::new(agent, ticket, given)?;
    evaluate(agent, ticket, prepared, today)
}

/// [`run`] with what lies outside the engine: the LLM fills `message` parameters the patterns
/// missed (when one is configured), and the agent's executor runs through `effects` (live, or
/// recorded for a preview) — its data feeds `executor` parameters, its infos and options the
/// interaction.
pub async fn run_with(
    agent: &Value,
    ticket: &TicketView,
    given: &Map<String, Value>,
    today: NaiveDate,
    effects: &Effects,
) -> Result<Run, RunError> {
    let mut prepared = Prepared::new(agent, ticket, given)?;
    let mut notes = Vec::new();
    if let Some(llm) = effects.llm() {
        fill_from_llm(&llm, agent, ticket, &mut prepared, today, &mut notes).await;
    }
    if let Some(definition) = executors::Definition::of(agent) {
        run_executor(definition, ticket, &mut prepared, today, effects, &mut notes).await;
    }
    let message = format!("{}\n\n{}", ticket.subject, prepared.doc.text);
    let mut run = evaluate(agent, ticket, prepared, today)?;
    if let (Some(brief), Some(llm)) = (&run.llm_brief, effects.llm()) {
        match llm.write_reply(&message, brief, &run.decision.data, run.lang).await {
            Ok(text) => {
                run.reply = Some(text);
                run.decision.infos.retain(|i| i.code.as_deref() != Some("llmRequired"));
            }
            Err(e) => notes.push(IntentInfo {
                code: Some("llmUnavailable".into()),
                ..IntentInfo::new(
                    InfoType::Warning,
                    format!("the LLM could not write the reply: {e}"),
                )
            }),
        }
    }
    run.decision.infos.extend(notes);
    Ok(run)
}

/// What the agent's executor is given on `ticket` in phase 1 (`POST
/// /executor/localExecutionCommand`): the parameters the patterns find, no LLM, no `_action`.
/// `None` when the agent has no executor.
pub fn executor_input_for(
    agent: &Value,
    ticket: &TicketView,
    today: NaiveDate,
) -> Result<Option<(executors::Definition, Value)>, RunError> {
    let prepared = Prepared::new(agent, ticket, &Map::new())?;
    let Some(definition) = executors::Definition::of(agent) else { return Ok(None) };
    let def = definition.map_err(|e| RunError::Definition(Violations(vec![e])))?;
    let input = executor_input(&def, &prepared.settings, &prepared.inputs, ticket, today);
    Ok(Some((def, input)))
}

/// The `message` parameters the patterns did not find, asked of the LLM. A failing LLM leaves
/// them empty and says so.
async fn fill_from_llm(
    llm: &Llm,
    agent: &Value,
    ticket: &TicketView,
    prepared: &mut Prepared,
    today: NaiveDate,
    notes: &mut Vec<IntentInfo>,
) {
    let missing: Vec<&crate::engine::definition::Parameter> = prepared
        .settings
        .parameters
        .iter()
        .filter(|p| p.source == Source::Message && !prepared.extracted.contains_key(&p.key))
        .collect();
    if missing.is_empty() {
        return;
    }
    let description_key =
        if prepared.doc.lang == Lang::En { "descriptionEn" } else { "description" };
    let descriptions: Vec<String> = missing
        .iter()
        .map(|p| {
            parameters(agent)
                .iter()
                .find(|raw| raw.get("key").and_then(Value::as_str) == Some(p.key.as_str()))
                .and_then(|raw| raw.get(description_key).or_else(|| raw.get("description")))
                .and_then(Value::as_str)
                .unwrap_or(&p.name)
                .to_owned()
        })
        .collect();
    let text = format!("{}\n\n{}", ticket.subject, prepared.doc.text);
    match llm.extract(&text, &missing, &descriptions, today).await {
        Ok(values) => {
            for (key, value) in values {
                prepared.inputs.extracted.insert(key.clone(), value.clone());
                prepared.extracted.insert(key, value);
            }
        }
        Err(e) => notes.push(IntentInfo {
            code: Some("llmUnavailable".into()),
            ..IntentInfo::new(InfoType::Neutral, format!("LLM extraction unavailable: {e}"))
        }),
    }
}

/// Runs the agent's executor through `effects` and feeds its answer into the run. In phase 2
/// it runs twice: without `_action`, for the options phase 1 offered, and with it.
async fn run_executor(
    definition: Result<executors::Definition, String>,
    ticket: &TicketView,
    prepared: &mut Prepared,
    today: NaiveDate,
    effects: &Effects,
    notes: &mut Vec<IntentInfo>,
) {
    let def = match definition {
        Ok(def) => def,
        Err(e) => return notes.push(IntentInfo::new(InfoType::Danger, e)),
    };
    let templates = Templates::new(today);
    let phase_two = prepared.inputs.given.get(ACTION_KEY).is_some_and(|a| !a.is_null());
    if phase_two {
        let mut first = prepared.inputs.clone();
        first.given.remove(ACTION_KEY);
        let input = executor_input(&def, &prepared.settings, &first, ticket, today);
        if let Ok(Some(out)) = effects.execute(&def, &input, &templates).await {
            prepared.inputs.executor_options = out.options;
        }
    }
    let input = executor_input(&def, &prepared.settings, &prepared.inputs, ticket, today);
    match effects.execute(&def, &input, &templates).await {
        Ok(Some(out)) => {
            prepared.inputs.executor = Some(Value::Object(out.data));
            prepared.inputs.executor_infos = out.infos;
            if !phase_two {
                prepared.inputs.executor_options = out.options;
            }
        }
        Ok(None) => notes.push(IntentInfo::new(
            InfoType::Neutral,
            "the executor was not run (preview); its request is listed in the effects",
        )),
        Err(e) => notes.push(IntentInfo {
            code: Some("executorFailed".into()),
            ..IntentInfo::new(InfoType::Danger, format!("executor: {e}"))
        }),
    }
}

/// What one run resolves parameters from.
struct Prepared {
    settings: AgentSettings,
    doc: Doc,
    extracted: Map<String, Value>,
    inputs: Inputs,
}

impl Prepared {
    fn new(
        agent: &Value,
        ticket: &TicketView,
        given: &Map<String, Value>,
    ) -> Result<Self, RunError> {
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
        Ok(Self { settings, doc, extracted, inputs })
    }
}

fn executor_input(
    def: &executors::Definition,
    settings: &AgentSettings,
    inputs: &Inputs,
    ticket: &TicketView,
    today: NaiveDate,
) -> Value {
    let resolution = params::resolve(settings, inputs);
    let metadata = json!({
        "ticketId": ticket.id.to_string(),
        "contractId": ticket.contract_id,
        "channel": ticket.channel,
        "aiSupportLevel": ticket.inputs.ticket.get("aiSupportLevel").cloned().unwrap_or(Value::Null),
        "userIdOfRequester": "0",
    });
    executors::input(def, &settings.parameters, &resolution.by_key, metadata, today)
}

fn evaluate(
    agent: &Value,
    ticket: &TicketView,
    prepared: Prepared,
    today: NaiveDate,
) -> Result<Run, RunError> {
    let Prepared { settings, doc, extracted, inputs } = prepared;
    let mut decision = phases::run(&settings, &inputs, today)?;
    // Phase 2 of a case that is not an interaction: the executor's infos still say what it did.
    if decision.output_type != Some(OutputType::Interaction) {
        decision.infos.extend(inputs.executor_infos.iter().cloned());
    }
    let templates = Templates::new(today);
    let data = template_data(&decision.data, ticket);
    let case = raw_case(agent, decision.case_id.as_ref());
    localize(&mut decision, case, doc.lang, &templates, &data);
    let mut reply = None;
    let mut llm_brief = None;
    let mut closes = false;
    for effect in &decision.effects {
        match effect {
            Effect::Reply { template, by_llm: true } => {
                let brief = case
                    .filter(|_| doc.lang == Lang::En)
                    .and_then(|c| c.get("descriptionEn"))
                    .and_then(Value::as_str)
                    .unwrap_or(template);
                llm_brief =
                    Some(templates.render(brief, &data).unwrap_or_else(|_| brief.to_owned()));
            }
            Effect::Reply { template, .. } => {
                let text = localized_text(case, doc.lang).unwrap_or(template);
                match templates.render(text, &data) {
                    Ok(rendered) => reply = Some(rendered.trim().to_owned()),
                    Err(e) => decision.infos.push(IntentInfo::new(
                        InfoType::Danger,
                        format!("the reply template does not render: {e}"),
                    )),
                }
            }
            Effect::CloseTicket => closes = true,
        }
    }
    if llm_brief.is_some() {
        // Replaced by the LLM's reply when run_with has one.
        decision.infos.push(IntentInfo {
            code: Some("llmRequired".into()),
            ..IntentInfo::new(
                InfoType::Warning,
                "an LLM writes this reply and none is configured: nothing is sent",
            )
        });
    }
    Ok(Run { lang: doc.lang, extracted, decision, reply, llm_brief, closes })
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
        out.insert(k.clone(), for_text(v));
    }
    Value::Object(out)
}

/// A value as a customer reads it: a whole float prints without `.0` ("12345 kWh").
fn for_text(value: &Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(for_text).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), for_text(v))).collect())
        }
        other => other.clone(),
    }
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
        assert!(reply.contains("12345") && !reply.contains("12345.0"), "{reply}");
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

    /// An agent whose one option is answered by an LLM from a brief.
    fn llm_agent() -> Value {
        json!({"name": "Advice", "settings": {"parameters": [
            {"id": 1, "key": "_action", "type": "str", "value": "null", "source": "manual"},
            {"id": 2, "key": "meterReading", "type": "float", "source": "message",
             "extraction": {"extractor": "meterReading"}}],
          "responseCases": [
            {"id": 10, "condition": {"operator": "And", "operands": [{"id": 1, "operand": 1, "operator": "IsNull"}]},
             "output": {"type": "interaction", "options": [{"type": "advise", "name": "Advise", "recommended": true}]}},
            {"id": 11, "condition": {"operator": "And", "operands": [{"id": 2, "operand": 1, "operator": "Equal", "value": "advise"}]},
             "output": {"type": "llm"}, "description": "Confirm the reading {{meterReading}} and explain the next bill."}]}})
    }

    #[test]
    fn an_llm_reply_without_an_llm_sends_nothing_and_says_why() {
        let t = ticket("Zählerstand", "Mein Zählerstand ist 12345 kWh.", Some("de"));
        let given = json!({"_action": "advise"}).as_object().unwrap().clone();
        let run = run(&llm_agent(), &t, &given, today()).unwrap();
        assert_eq!(run.reply, None, "the brief must never reach the customer");
        assert_eq!(
            run.llm_brief.as_deref(),
            Some("Confirm the reading 12345 and explain the next bill.")
        );
        assert!(run.decision.infos.iter().any(|i| i.code.as_deref() == Some("llmRequired")));
    }

    fn executors(config: executors::Config) -> std::sync::Arc<crate::effects::Toolbox> {
        std::sync::Arc::new(crate::effects::Toolbox::new(config, None))
    }

    /// Live effects whose ticket-svc is never reached: these runs have no reply or close.
    fn live(config: executors::Config) -> Effects {
        let nowhere = enneo_common::grpc::channel("http://127.0.0.1:9").unwrap();
        Effects::live(crate::tickets::Tickets::new(nowhere), executors(config))
    }

    fn sample(slug: &str) -> Value {
        crate::agents::catalogue::samples()
            .into_iter()
            .map(|s| s["definition"].clone())
            .find(|d| d["slug"] == slug)
            .unwrap()
    }

    #[tokio::test]
    async fn a_source_code_executor_offers_the_options_and_its_phase_two_runs() {
        let config =
            executors::Config { source_code_enabled: true, ..executors::Config::default() };
        let agent = sample("change_bank_data");
        let t = ticket(
            "Bankverbindung",
            "Bitte buchen Sie ab sofort von meiner neuen IBAN DE89 3704 0044 0532 0130 00 ab.",
            Some("de"),
        );
        let phase1 =
            run_with(&agent, &t, &Map::new(), today(), &live(config.clone())).await.unwrap();
        let recommended: Vec<&str> = phase1
            .decision
            .options
            .iter()
            .filter(|o| o.recommended)
            .map(|o| o.ty.as_str())
            .collect();
        assert_eq!(recommended, ["update_bank_data"], "{:?}", phase1.decision);
        assert!(
            phase1.decision.infos.iter().any(|i| i.message.contains("gültig")),
            "{:?}",
            phase1.decision.infos
        );

        let given = json!({"_action": "update_bank_data"}).as_object().unwrap().clone();
        let phase2 = run_with(&agent, &t, &given, today(), &live(config.clone())).await.unwrap();
        assert!(phase2.reply.as_deref().is_some_and(|r| r.contains("3000")), "{:?}", phase2.reply);

        // Disabled executors are a danger info, not a failure of the run.
        let off = run_with(&agent, &t, &Map::new(), today(), &live(executors::Config::default()))
            .await
            .unwrap();
        assert!(off.decision.infos.iter().any(|i| i.code.as_deref() == Some("executorFailed")));
    }

    /// An HTTP server on loopback that counts requests and answers `{"plausible": true}`.
    async fn erp() -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = r#"{"plausible": true}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        (addr, hits)
    }

    #[tokio::test]
    async fn an_api_call_is_made_live_and_only_recorded_in_a_preview() {
        let (addr, hits) = erp().await;
        let mut agent = crate::agents::catalogue::agent("meter_reading").unwrap();
        agent["settings"]["executor"] = json!([{"id": "1", "type": "apiCall",
            "request": {"method": "POST", "url": format!("http://{addr}/readings"),
                        "headers": {"Authorization": "Bearer token-123"},
                        "body": {"reading": "{{meterReading}}", "ticket": "{{_metadata.ticketId}}"}}}]);
        let t = ticket("Zählerstand", "Mein Zählerstand ist 12345 kWh.", Some("de"));
        let allowed = executors::Config {
            api_allowed_hosts: vec!["127.0.0.1".into()],
            ..executors::Config::default()
        };

        let recording = Effects::recording(executors(allowed.clone()));
        run_with(&agent, &t, &Map::new(), today(), &recording).await.unwrap();
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "a preview called the executor target"
        );
        let recorded = serde_json::to_value(recording.recorded()).unwrap();
        assert_eq!(recorded[0]["request"]["headers"]["Authorization"], "********", "{recorded}");
        assert!(recorded[0]["request"]["body"].as_str().unwrap().contains("12345"), "{recorded}");

        run_with(&agent, &t, &Map::new(), today(), &live(allowed)).await.unwrap();
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

        let refused =
            run_with(&agent, &t, &Map::new(), today(), &live(executors::Config::default()))
                .await
                .unwrap();
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "a host off the allow-list was called"
        );
        assert!(
            refused.decision.infos.iter().any(|i| i.message.contains("allow-list")),
            "{:?}",
            refused.decision.infos
        );
    }
}
