//! Live agreement: a ticket detected by agent-svc, then handled by a person (an intent deleted,
//! one added, the ticket closed) → quality-svc's per-agent trend of agreed detections, false
//! positives and misses.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

/// The ticket's intents once detection has stored its result.
async fn detected(stack: &Stack, id: i64) -> Vec<Value> {
    stack
        .eventually("detection", || async {
            let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
            if t["aiSupportLevel"] == "unprocessed" {
                return None;
            }
            let (status, body) =
                send(stack.admin(Method::GET, &format!("/intent/byTicketId/{id}"))).await;
            (status == 200).then(|| body["intents"].as_array().unwrap().clone())
        })
        .await
}

fn agent_of(intents: &[Value], code: &str) -> (i64, i64) {
    let intent = intents
        .iter()
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {intents:?}"));
    (intent["id"].as_i64().unwrap(), intent["aiAgentId"].as_i64().unwrap())
}

/// `agent`'s (agreed, falsePositives, misses) over all periods, if it is listed.
fn sums(agreement: &Value, agent: i64) -> Option<(i64, i64, i64)> {
    let row = agreement["agreement"].as_array()?.iter().find(|a| a["aiAgentId"] == agent)?;
    let sum =
        |k: &str| row["periods"].as_array().unwrap().iter().map(|p| p[k].as_i64().unwrap()).sum();
    Some((sum("agreed"), sum("falsePositives"), sum("misses")))
}

/// The one period of `agent` with verdicts: (agreed, falsePositives, misses, agreementRate).
fn totals(agreement: &Value, agent: i64) -> (i64, i64, i64, Value) {
    let row = agreement["agreement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["aiAgentId"] == agent)
        .unwrap_or_else(|| panic!("no agent {agent} in {agreement}"));
    let decided: Vec<&Value> = row["periods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["agreementRate"] != Value::Null)
        .collect();
    assert_eq!(decided.len(), 1, "{row}");
    let p = decided[0];
    let n = |k: &str| p[k].as_i64().unwrap();
    (n("agreed"), n("falsePositives"), n("misses"), p["agreementRate"].clone())
}

#[tokio::test]
async fn a_person_handling_a_detected_ticket_shows_in_the_agreement_trend() {
    let stack = Stack::start().await;
    let (status, body) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200, "{body}");
    let created = stack
        .create(json!({"channel": "email", "subject": "Umzug", "from": "tom@example.com",
            "body": "<p>Sehr geehrte Damen und Herren,</p><p>ich ziehe zum 1. November nach Köln, \
                Hauptstraße 5, 50667 Köln. Bitte kündigen Sie meinen Stromvertrag zum 31. Oktober. \
                Mein Zählerstand am Auszugstag war 12345 kWh.</p><p>Mit freundlichen Grüßen<br>Tom Weber</p>"}))
        .await;
    let ticket = created["id"].as_i64().unwrap();
    let intents = detected(&stack, ticket).await;
    let (cancel_intent, cancel) = agent_of(&intents, "cancel_contract");
    let (_, meter) = agent_of(&intents, "meter_reading");
    let (_, moving) = agent_of(&intents, "master_data_agent");

    // Nothing is decided while the ticket is merely detected.
    let (status, before) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/agreement?aiAgentId={meter}")))
            .await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["success"], true);
    let periods = before["agreement"][0]["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 31, "{before}");
    assert!(periods.iter().all(|p| p["agreed"] == 0 && p["agreementRate"].is_null()), "{before}");

    // The person removes one detection, adds an agent the AI did not see, and closes.
    let (status, body) =
        send(stack.admin(Method::DELETE, &format!("/intent/{cancel_intent}"))).await;
    assert_eq!(status, 200, "{body}");
    let (status, added) = send(
        stack
            .admin(Method::POST, "/intent/execute")
            .json(&json!({"code": "deposit_agent", "ticketId": ticket, "dryRun": true})),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let deposit = added["intent"]["aiAgentId"].as_i64().expect("the added intent");
    let (status, body) = send(
        stack.admin(Method::PATCH, &format!("/ticket/{ticket}")).json(&json!({"status": "closed"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Events of agent-svc and ticket-svc may arrive in either order; the person's removal wins
    // over the close either way.
    let expected =
        [(meter, (1, 0, 0)), (moving, (1, 0, 0)), (cancel, (0, 1, 0)), (deposit, (0, 0, 1))];
    let agreement = stack
        .eventually("the agreement of the closed ticket", || async {
            let (status, body) = send(stack.admin(Method::GET, "/aiQualityCheck/agreement")).await;
            assert_eq!(status, 200, "{body}");
            expected
                .iter()
                .all(|(agent, counts)| sums(&body, *agent) == Some(*counts))
                .then_some(body)
        })
        .await;
    assert_eq!(totals(&agreement, meter), (1, 0, 0, json!(1.0)));
    assert_eq!(totals(&agreement, moving), (1, 0, 0, json!(1.0)));
    assert_eq!(totals(&agreement, cancel), (0, 1, 0, json!(0.0)));
    assert_eq!(totals(&agreement, deposit), (0, 0, 1, json!(0.0)));

    // By week, for one agent: one period or two (a range may start in the previous week).
    let (status, weekly) = send(stack.admin(
        Method::GET,
        &format!("/aiQualityCheck/agreement?aiAgentId={cancel}&interval=week"),
    ))
    .await;
    assert_eq!(status, 200, "{weekly}");
    assert_eq!(weekly["agreement"].as_array().unwrap().len(), 1, "{weekly}");
    assert_eq!(totals(&weekly, cancel), (0, 1, 0, json!(0.0)));

    // A range before today holds none of it.
    let (status, old) =
        send(stack.admin(Method::GET, "/aiQualityCheck/agreement?from=2020-01-01&to=2020-01-31"))
            .await;
    assert_eq!(status, 200, "{old}");
    assert_eq!(old["agreement"], json!([]), "{old}");
}

#[tokio::test]
async fn the_agreement_needs_a_token_its_permission_and_a_valid_query() {
    let stack = Stack::start().await;
    let anonymous =
        stack.http.get(stack.url("/api/mind/aiQualityCheck/agreement")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["success"], false);

    // Permission before validation: a bad query from an agent is still 403.
    for path in ["/aiQualityCheck/agreement", "/aiQualityCheck/agreement?interval=month"] {
        let (status, body) = send(stack.agent(Method::GET, path)).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["success"], false);
    }

    for query in [
        "interval=month",
        "aiAgentId=abc",
        "aiAgentId=0",
        "from=yesterday",
        "to=2026-02-30",
        "from=2026-03-01&to=2026-02-01",
        "from=2020-01-01&to=2026-01-01&interval=day",
    ] {
        let (status, body) =
            send(stack.admin(Method::GET, &format!("/aiQualityCheck/agreement?{query}"))).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["success"], false, "{query}: {body}");
    }
}
