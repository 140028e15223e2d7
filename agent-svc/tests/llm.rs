//! The LLM path against a real OpenAI-compatible chat server on loopback (deploy/test.sh starts
//! SmolLM2-135M through xllamacpp and sets ENNEO_TEST_LLM_URL). The model is far too small for
//! good answers, so these tests check the protocol, the JSON-schema constraint and the
//! fallbacks, not what it decides.

use std::sync::Arc;
use std::time::Duration;

use agent_svc::effects::{Effects, Toolbox};
use agent_svc::engine::definition::Parameter;
use agent_svc::llm::{Candidate, Llm};
use agent_svc::providers::Endpoint;
use agent_svc::runner;
use agent_svc::tickets::TicketView;
use serde_json::{Map, json};

fn endpoint(url: String) -> Endpoint {
    Endpoint {
        url,
        model: "smollm2".into(),
        api_key: None,
        timeout: Duration::from_secs(120),
        retries: 0,
    }
}

fn llm() -> Llm {
    let url =
        std::env::var("ENNEO_TEST_LLM_URL").unwrap_or_else(|_| "http://127.0.0.1:8090/v1".into());
    Llm::new(endpoint(url))
}

#[tokio::test]
async fn the_model_answers_within_the_schema() {
    let llm = llm();
    let candidates = [
        Candidate {
            slug: "meter_reading",
            name: "Meter reading",
            prompt: "The customer reports a meter reading.",
        },
        Candidate {
            slug: "cancel_contract",
            name: "Cancellation",
            prompt: "The customer cancels the contract.",
        },
    ];
    let confirmed = llm.confirm("My meter reading today is 12345 kWh.", &candidates).await.unwrap();
    assert!(
        confirmed.iter().all(|s| s == "meter_reading" || s == "cancel_contract"),
        "{confirmed:?}"
    );

    let parameters: Vec<Parameter> = serde_json::from_value(json!([
        {"id": 1, "key": "meterReading", "type": "float", "source": "message"},
        {"id": 2, "key": "meterNumber", "type": "str", "source": "message"},
        {"id": 3, "key": "newAddress", "type": "dict", "source": "message"}]))
    .unwrap();
    let refs: Vec<&Parameter> = parameters.iter().collect();
    let descriptions = vec![
        "the reading".to_owned(),
        "the meter's serial number".to_owned(),
        "address".to_owned(),
    ];
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let values = llm
        .extract(
            "My meter reading is 12345 kWh, meter number 1ESY1160123456.",
            &refs,
            &descriptions,
            today,
        )
        .await
        .unwrap();
    for (key, value) in &values {
        match key.as_str() {
            "meterReading" => assert!(value.is_number(), "{value}"),
            "meterNumber" => assert!(value.is_string(), "{value}"),
            other => {
                panic!("{other} was not asked for (structured parameters stay with the patterns)")
            }
        }
    }
}

/// An HTTP server on loopback answering every request with `body` (status 200).
async fn answering(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = socket.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    format!("http://{addr}/v1")
}

fn ticket() -> TicketView {
    let t = enneo_proto::ticket::v1::Ticket {
        id: 1,
        direction: "in".into(),
        channel: "email".into(),
        status: "open".into(),
        subject: Some("Zählerstand".into()),
        body_plain: Some("Hallo, mein Zählerstand ist 4711 kWh.".into()),
        language_code: Some("de".into()),
        ..Default::default()
    };
    TicketView::from_proto(&t)
}

#[tokio::test]
async fn a_model_that_breaks_the_format_or_is_down_leaves_the_patterns_in_charge() {
    let agent = agent_svc::agents::catalogue::agent("meter_reading").unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let prose = answering(r#"{"choices":[{"message":{"role":"assistant","content":"I think the reading is 4711."}}]}"#).await;
    for url in [prose, "http://127.0.0.1:9/v1".to_owned()] {
        let toolbox = Arc::new(Toolbox::new(
            Default::default(),
            Some(Arc::new(Llm::new(endpoint(url.clone())))),
        ));
        let effects = Effects::recording(toolbox);
        let run = runner::run_with(&agent, &ticket(), &Map::new(), today, &effects).await.unwrap();
        assert_eq!(run.decision.data["meterReading"], json!(4711.0), "{url}");
        let codes: Vec<Option<&str>> =
            run.decision.infos.iter().map(|i| i.code.as_deref()).collect();
        assert!(codes.contains(&Some("llmUnavailable")), "{url}: {:?}", run.decision.infos);
    }
    let broken = Llm::new(endpoint(
        answering(r#"{"choices":[{"message":{"content":"{\"other\": []}"}}]}"#).await,
    ));
    let c = [Candidate { slug: "meter_reading", name: "x", prompt: "y" }];
    assert!(
        broken.confirm("text", &c).await.is_err(),
        "an answer without the required key is not data"
    );
}

#[tokio::test]
async fn an_llm_case_sends_the_reply_the_model_wrote() {
    let agent = json!({"name": "Advice", "settings": {"parameters": [
        {"id": 1, "key": "_action", "type": "str", "value": "null", "source": "manual"}],
      "responseCases": [
        {"id": 10, "condition": {"operator": "And", "operands": [{"id": 1, "operand": 1, "operator": "IsNull"}]},
         "output": {"type": "interaction", "options": [{"type": "advise", "name": "Advise", "recommended": true}]}},
        {"id": 11, "condition": {"operator": "And", "operands": [{"id": 2, "operand": 1, "operator": "Equal", "value": "advise"}]},
         "output": {"type": "llm"}, "description": "Explain the next bill."}]}});
    let url = answering(r#"{"choices":[{"message":{"content":"{\"reply\": \"Ihre nächste Rechnung kommt im März.\"}"}}]}"#).await;
    let toolbox =
        Arc::new(Toolbox::new(Default::default(), Some(Arc::new(Llm::new(endpoint(url))))));
    let given = json!({"_action": "advise"}).as_object().unwrap().clone();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let run = runner::run_with(&agent, &ticket(), &given, today, &Effects::recording(toolbox))
        .await
        .unwrap();
    assert_eq!(run.reply.as_deref(), Some("Ihre nächste Rechnung kommt im März."));
    assert!(
        run.decision.infos.iter().all(|i| i.code.as_deref() != Some("llmRequired")),
        "{:?}",
        run.decision.infos
    );
}
