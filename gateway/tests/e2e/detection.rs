//! Intent detection end to end: a ticket created through the gateway is detected by agent-svc
//! (ticket event → durable detection job → embeddings server → intents), and the ticket learns
//! its aiSupportLevel and language. Runs against the real local embeddings server.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

async fn load_defaults(stack: &Stack) {
    let (status, body) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200, "{body}");
}

/// The ticket's intents once detection has stored its result.
async fn detected(stack: &Stack, id: i64) -> Value {
    stack
        .eventually("detection", || async {
            let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
            if t["aiSupportLevel"] == "unprocessed" {
                return None;
            }
            let (status, body) =
                send(stack.admin(Method::GET, &format!("/intent/byTicketId/{id}"))).await;
            (status == 200).then_some(body)
        })
        .await
}

fn codes(intents: &Value) -> Vec<String> {
    let mut codes: Vec<String> = intents["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

fn intent<'a>(intents: &'a Value, code: &str) -> &'a Value {
    intents["intents"].as_array().unwrap().iter().find(|i| i["code"] == code).unwrap()
}

#[tokio::test]
async fn one_message_yields_each_intent_it_asks_for_with_its_parameters() {
    let stack = Stack::start().await;
    load_defaults(&stack).await;
    let created = stack
        .create(json!({"channel": "email", "subject": "Umzug", "from": "tom@example.com",
            "body": "<p>Sehr geehrte Damen und Herren,</p><p>ich ziehe zum 1. November nach Köln, \
                Hauptstraße 5, 50667 Köln. Bitte kündigen Sie meinen Stromvertrag zum 31. Oktober. \
                Mein Zählerstand am Auszugstag war 12345 kWh.</p><p>Mit freundlichen Grüßen<br>Tom Weber</p>"}))
        .await;
    let id = created["id"].as_i64().unwrap();
    let intents = detected(&stack, id).await;
    assert_eq!(
        codes(&intents),
        ["cancel_contract", "master_data_agent", "meter_reading"],
        "{intents}"
    );
    assert_eq!(intents["intentsFound"], 3);
    assert_eq!(intents["ticketId"], id);
    assert!(["full", "agentAssist"].contains(&intents["aiOutcome"].as_str().unwrap()), "{intents}");

    let reading = intent(&intents, "meter_reading");
    assert_eq!(reading["data"]["meterReading"].as_f64(), Some(12345.0), "{reading}");
    assert_eq!(reading["status"], "ready");
    assert!(reading["confidence"].as_f64().unwrap() >= 0.7);
    assert_eq!(
        reading["options"].as_array().unwrap().iter().filter(|o| o["recommended"] == true).count(),
        1
    );
    let moving = intent(&intents, "master_data_agent");
    assert_eq!(moving["data"]["newAddress"]["city"], "Köln", "{moving}");
    assert_eq!(moving["data"]["newAddress"]["postalCode"], "50667", "{moving}");

    let (_, ticket) =
        send(stack.admin(Method::GET, &format!("/ticket/{id}?includeIntents=true"))).await;
    assert_eq!(ticket["languageCode"], "de");
    assert!(
        ["human", "automated"].contains(&ticket["aiSupportLevel"].as_str().unwrap()),
        "{ticket}"
    );
    assert_eq!(ticket["intents"].as_array().map(Vec::len), Some(3), "{ticket}");
}

#[tokio::test]
async fn refusals_signatures_and_mails_that_ask_nothing_yield_no_such_intent() {
    let stack = Stack::start().await;
    load_defaults(&stack).await;
    let refused = stack
        .create(json!({"channel": "email", "subject": "Frage", "from": "a@example.com",
            "body": "Hallo, ich möchte nicht kündigen, ich wollte nur wissen, wie lange mein Vertrag noch läuft."}))
        .await;
    let thanks = stack
        .create(json!({"channel": "email", "subject": "Danke", "from": "b@example.com",
            "body": "Vielen Dank für die schnelle Hilfe gestern, alles bestens!\n\nViele Grüße\nAnna Schmidt\n\
                Schmidt Consulting GmbH | IBAN DE89 3704 0044 0532 0130 00"}))
        .await;
    let refused = detected(&stack, refused["id"].as_i64().unwrap()).await;
    assert!(!codes(&refused).contains(&"cancel_contract".to_owned()), "{refused}");
    let thanks = detected(&stack, thanks["id"].as_i64().unwrap()).await;
    assert_eq!(thanks["intents"], json!([]), "{thanks}");
    assert_eq!(thanks["aiOutcome"], "noDetection");
}

#[tokio::test]
async fn process_false_skips_the_ai_pipeline_and_the_ticket_is_worked_by_a_human() {
    let stack = Stack::start().await;
    load_defaults(&stack).await;
    let created = stack
        .create(json!({"channel": "email", "subject": "Zählerstand", "from": "a@example.com",
            "body": "Mein Zählerstand ist 4711 kWh.", "process": "false"}))
        .await;
    assert_eq!(created["aiSupportLevel"], "human");
    // A ticket created after it is detected: by then the first one would have been too.
    let later = stack
        .create(json!({"channel": "email", "subject": "Zählerstand", "from": "b@example.com",
            "body": "Mein Zählerstand ist 4711 kWh."}))
        .await;
    let later = detected(&stack, later["id"].as_i64().unwrap()).await;
    assert_eq!(codes(&later), ["meter_reading"]);
    let id = created["id"].as_i64().unwrap();
    let (_, first) = send(stack.admin(Method::GET, &format!("/intent/byTicketId/{id}"))).await;
    assert_eq!(first["intentsFound"], 0, "{first}");
}

#[tokio::test]
async fn realtime_creation_answers_after_detection_with_the_intents() {
    let stack = Stack::start().await;
    load_defaults(&stack).await;
    let (status, created) = send(
        stack
            .admin(Method::POST, "/ticket?process=realtime")
            .json(&json!({"channel": "email", "subject": "Bankverbindung", "from": "a@example.com",
                "body": "Bitte buchen Sie ab sofort von meiner neuen IBAN DE89 3704 0044 0532 0130 00 ab."})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_ne!(created["aiSupportLevel"], "unprocessed", "{created}");
    let intents = created["intents"].as_array().unwrap();
    let bank = intents.iter().find(|i| i["code"] == "bank_data_agent").expect("bank data intent");
    assert_eq!(bank["data"]["newIban"], "DE89370400440532013000", "{bank}");
}

#[tokio::test]
async fn detection_sets_the_sentiment_of_the_customers_words() {
    let stack = Stack::start().await;
    load_defaults(&stack).await;
    let cases = [
        (
            "Zählerstand",
            "Das ist eine Frechheit, ich bin sehr enttäuscht! Mein Zählerstand ist 4711 kWh.",
            "negative",
        ),
        (
            "Meter reading",
            "Thank you, that was very helpful. My meter reading is 4711 kWh.",
            "positive",
        ),
        ("Zählerstand", "Guten Tag, mein Zählerstand ist 4711 kWh. Danke im Voraus!", "neutral"),
    ];
    for (subject, body, sentiment) in cases {
        let created = stack
            .create(json!({"channel": "email", "subject": subject, "body": body,
                "from": "kunde@example.com"}))
            .await;
        let id = created["id"].as_i64().unwrap();
        detected(&stack, id).await;
        let (_, ticket) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
        assert_eq!(ticket["sentiment"], sentiment, "{body}: {ticket}");
    }
}
