//! `POST /aiAgent/{id}/preview` and `POST /aiAgent/outcome`: an agent, saved or not, run on a
//! ticket through the same [`runner`] and [`Effects`] as live execution, with the recording
//! effects: what would be sent or closed is reported, nothing is changed anywhere.

use chrono::Utc;
use serde_json::{Map, Value, json};

use std::sync::Arc;

use crate::effects::{Effects, Recorded, Toolbox};
use crate::runner::{self, Run, RunError};
use crate::tickets::TicketView;

/// The preview document (contract §2.2 (9)).
pub async fn preview(
    agent: &Value,
    ticket: &TicketView,
    given: &Map<String, Value>,
    toolbox: Arc<Toolbox>,
) -> Value {
    match recorded_run(agent, ticket, given, toolbox).await {
        Ok((run, recorded)) => {
            let curl: Vec<&Value> = recorded
                .iter()
                .filter_map(|r| match r {
                    Recorded::ApiCall { request } => Some(request),
                    _ => None,
                })
                .collect();
            let case = run.decision.case_id.clone();
            json!({
                "success": true,
                "error": Value::Null,
                "dataOutcome": {
                    "data": run.decision.data,
                    "options": run.decision.options,
                    "infos": run.decision.infos,
                    "autoExecutable": run.decision.auto_executable,
                    "responseCaseId": case,
                },
                "dataOutcomeInfo": info(&run),
                "customerOutcome": {"message": run.reply, "closesTicket": run.closes},
                "customerOutcomeType": run.decision.output_type,
                "customerOutcomeInfo": if run.reply.is_some() { "reply" } else if run.closes { "close" } else { "none" },
                "curlRequests": if curl.is_empty() { Value::Null } else { json!(curl) },
                "detectedInputParameters": run.extracted_typed(),
                "executorOutput": Value::Null,
                "language": match run.lang { crate::extraction::Lang::De => "de", crate::extraction::Lang::En => "en" },
                "effects": recorded,
            })
        }
        Err(e) => failed(&e),
    }
}

/// The outcome object (contract §3.2) the agent's response cases give for these values.
pub async fn outcome(
    agent: &Value,
    ticket: &TicketView,
    given: &Map<String, Value>,
    toolbox: Arc<Toolbox>,
) -> Value {
    match recorded_run(agent, ticket, given, toolbox).await {
        Ok((run, recorded)) => {
            json!({
                "responseCode": 200,
                "success": true,
                "messageLocalized": info(&run),
                "internalData": {"requestEndpoint": Value::Null, "requestParams": run.decision.data},
                "executedAt": Value::Null,
                "userId": 0,
                "sent": false,
                "ticketClosed": false,
                "recipient": ticket.sender,
                "message": run.reply,
                "template": Value::Null,
                "sources": [],
                "txId": Value::Null,
                "outputType": run.decision.output_type,
                "options": run.decision.options,
                "infos": run.decision.infos,
                "effects": recorded,
            })
        }
        Err(e) => failed(&e),
    }
}

/// The run with recording effects, and everything it did or would do: its executor calls, and
/// its reply and close (as if `informCustomer` were set).
async fn recorded_run(
    agent: &Value,
    ticket: &TicketView,
    given: &Map<String, Value>,
    toolbox: Arc<Toolbox>,
) -> Result<(Run, Vec<Recorded>), RunError> {
    let effects = Effects::recording(toolbox);
    let run = runner::run_with(agent, ticket, given, Utc::now().date_naive(), &effects).await?;
    let recorded = record(&effects, ticket, &run).await;
    Ok((run, recorded))
}

async fn record(effects: &Effects, ticket: &TicketView, run: &Run) -> Vec<Recorded> {
    if let Some(text) = &run.reply {
        let _ = effects.reply(ticket.id, text).await;
    }
    if run.closes {
        let _ = effects.close(ticket.id).await;
    }
    effects.recorded()
}

fn info(run: &Run) -> String {
    match (&run.decision.action, &run.decision.output_type) {
        (None, Some(t)) => format!("phase 1: response case {} ({t:?})", case_text(run)),
        (Some(a), Some(t)) => format!("phase 2: {a} runs response case {} ({t:?})", case_text(run)),
        (_, None) => "no response case matches".into(),
    }
}

fn case_text(run: &Run) -> String {
    run.decision.case_id.as_ref().map(Value::to_string).unwrap_or_default()
}

fn failed(e: &RunError) -> Value {
    json!({"success": false, "error": e.to_string(), "dataOutcome": {}, "dataOutcomeInfo": "",
           "customerOutcome": {}, "customerOutcomeType": Value::Null, "customerOutcomeInfo": "",
           "curlRequests": Value::Null, "detectedInputParameters": {}, "executorOutput": Value::Null})
}
