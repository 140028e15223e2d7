//! Variables, history, auto-execution and the agent queue.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Stack, send};

#[tokio::test]
async fn variables_resolve_the_ticket_customer_contract_and_caller() {
    let stack = Stack::start().await;
    stack.tags(&[4]).await;
    let id = stack
        .create(json!({"channel": "email", "from": "tom@example.com", "subject": "Umzug",
            "bodyPlain": "I move on Thursday", "contractId": 746839, "additionalData": {"source": "web"},
            "tagIds": [4], "customer": {"id": 83771, "firstname": "Tom",
            "contracts": [{"id": 746838, "energy": "gas"}, {"id": 746839, "energy": "electricity"}]}}))
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, body) = send(stack.agent(Method::GET, &format!("/ticket/{id}/variables"))).await;
    assert_eq!(status, 200, "{body}");
    let v = &body["variables"];
    assert_eq!(v["in"]["ticketId"], id);
    assert_eq!(v["in"]["subject"], "Umzug");
    assert_eq!(v["in"]["message"], "I move on Thursday");
    assert_eq!(v["in"]["sender"], "tom@example.com");
    assert_eq!(v["in"]["tagIds"], json!([4]));
    assert_eq!(v["in"]["metadata"], json!({"source": "web"}));
    assert_eq!(v["customer"]["firstname"], "Tom");
    assert_eq!(v["contract"]["energy"], "electricity");
    assert_eq!(v["profile"]["id"], 2);
    assert_eq!(v["intent"], json!({}));
    let (status, _) = send(stack.agent(Method::GET, "/ticket/999999/variables")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn history_lists_the_customers_other_tickets() {
    let stack = Stack::start().await;
    let first = stack.create(json!({"channel": "email", "customerId": "c1", "subject": "first", "createdAt": "2026-01-01 10:00:00"})).await["id"].as_i64().unwrap();
    let second = stack.create(json!({"channel": "chat", "customerId": "c1", "status": "closed", "createdAt": "2026-02-01 10:00:00"})).await["id"].as_i64().unwrap();
    let by_contract = stack
        .create(json!({"channel": "phone", "contractId": "k9", "createdAt": "2026-03-01 10:00:00"}))
        .await["id"]
        .as_i64()
        .unwrap();
    stack.create(json!({"channel": "email", "customerId": "someone-else"})).await;
    let current = stack
        .create(json!({"channel": "email", "customerId": "c1", "contractId": "k9"}))
        .await["id"]
        .as_i64()
        .unwrap();

    let (status, body) =
        send(stack.admin(Method::GET, &format!("/ticket/{current}/history"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 3);
    assert_eq!(body["totalOpenedTickets"], 2);
    let ids: Vec<i64> =
        body["history"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![by_contract, second, first]);
    assert_eq!(body["history"][2]["type"], "ticket");
    assert_eq!(body["history"][2]["subject"], "first");
    assert_eq!(body["history"][2]["createdAt"], 1767261600);

    let (_, page) =
        send(stack.admin(Method::GET, &format!("/ticket/{current}/history?limit=1&offset=1")))
            .await;
    assert_eq!(page["history"][0]["id"], second);
    let loner = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    let (_, empty) = send(stack.admin(Method::GET, &format!("/ticket/{loner}/history"))).await;
    assert_eq!((empty["total"].clone(), empty["history"].clone()), (json!(0), json!([])));
    let (status, _) =
        send(stack.admin(Method::GET, &format!("/ticket/{current}/history?limit=-2"))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn auto_execution_without_an_intent_stops_at_the_first_gate() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    let (status, body) =
        send(stack.agent(Method::POST, &format!("/ticket/{id}/autoexecute"))).await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["failedGate"], "intents", "{body}");
    assert!(body["message"].as_str().unwrap().contains("no ready intent"), "{body}");
    let (status, body) = send(stack.agent(
        Method::POST,
        &format!("/ticket/{id}/autoexecute?executeAgentId=5&allowMultipleIntents=true"),
    ))
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("AI agent 5"));
    let (status, _) = send(stack.agent(Method::POST, "/ticket/999999/autoexecute")).await;
    assert_eq!(status, 404);
    let (status, _) =
        send(stack.agent(Method::POST, &format!("/ticket/{id}/autoexecute?executeAgentId=x")))
            .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_agent_queue_counts_available_agents_and_waiting_chats() {
    let stack = Stack::start().await;
    let (_, q) = send(stack.admin(Method::GET, "/agents/queue")).await;
    assert_eq!(
        q,
        json!({"success": true, "agentQueue": -1.0,
        "liveConversationPossible": {"chat": false}, "expectedWaitingTime": {"chat": -1}})
    );

    let ten_minutes_ago = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    stack
        .create(json!({"channel": "chat", "status": "closed", "createdAt": ten_minutes_ago}))
        .await;
    stack.create(json!({"channel": "chat"})).await;
    stack.create(json!({"channel": "chat"})).await;
    let working = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    send(stack.agent(Method::GET, &format!("/ticket/{working}/ping"))).await;

    let (_, q) = send(stack.admin(Method::GET, "/agents/queue")).await;
    assert_eq!(q["agentQueue"], 2.0);
    assert_eq!(q["liveConversationPossible"]["chat"], true);
    let wait = q["expectedWaitingTime"]["chat"].as_i64().unwrap();
    assert!((1195..=1205).contains(&wait), "two chats times the ten-minute median: {wait}");
}
