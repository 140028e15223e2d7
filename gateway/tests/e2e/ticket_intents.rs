//! ticket-svc's copy of each ticket's AI agents, kept from agent-svc's `TicketIntentsChanged`:
//! the `i.aiAgentId` search filter and order, and the per-agent counts of `GET /ticket/stats`.

use std::time::{Duration, Instant};

use enneo_common::amqp::Envelope;
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, amqp_url, send};

/// Publishes `TicketIntentsChanged` as agent-svc's relay would, on the stack's exchange.
async fn publish(stack: &Stack, ticket: i64, version: i64, agents: &[i64]) {
    let intents: Vec<Value> = agents
        .iter()
        .enumerate()
        .map(|(n, agent)| json!({"id": 100 + n, "aiAgentId": agent, "status": "ready"}))
        .collect();
    let envelope = Envelope {
        event_id: uuid::Uuid::new_v4(),
        event_type: "TicketIntentsChanged".into(),
        occurred_at: chrono::Utc::now(),
        aggregate_id: ticket.to_string(),
        aggregate_version: version,
        actor: "system".into(),
        payload: json!({"ticketId": ticket, "aiAgentIds": agents, "intents": intents}),
    };
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    channel
        .basic_publish(
            format!("{}enneo.events", stack.prefix).as_str().into(),
            "agent.TicketIntentsChanged".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&envelope).unwrap(),
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let _ = conn.close(200, "".into()).await;
}

/// The ticket's agents as ticket-svc keeps them.
async fn agents_of(stack: &Stack, ticket: i64) -> Vec<i64> {
    let mut db = stack.db().await;
    sqlx::query_scalar(
        "SELECT ai_agent_id FROM ticket.ticket_intent WHERE ticket_id = $1 ORDER BY 1",
    )
    .bind(ticket)
    .fetch_all(&mut db)
    .await
    .unwrap()
}

async fn search(stack: &Stack, body: Value) -> Vec<i64> {
    let (status, page) = send(stack.admin(Method::POST, "/ticket/search").json(&body)).await;
    assert_eq!(status, 200, "{body}: {page}");
    let ids: Vec<i64> =
        page["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(page["total"], ids.len(), "{body}");
    ids
}

fn by_agent(comparator: &str, values: Value) -> Value {
    let mut filter = json!({"key": "i.aiAgentId", "comparator": comparator});
    let field = if values.is_array() { "values" } else { "value" };
    filter[field] = values;
    json!({"filters": [filter]})
}

#[tokio::test]
async fn intent_events_drive_the_ai_agent_filter_order_and_stats() {
    let stack = Stack::start().await;
    // Without detection (process=false), so agent-svc publishes nothing of its own.
    let mut ids = Vec::new();
    for status in ["open", "open", "closed", "open"] {
        ids.push(
            stack.create(json!({"channel": "email", "status": status, "process": "false"})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let [a, b, closed, none] = ids[..] else { unreachable!() };
    publish(&stack, a, 110, &[5, 3]).await;
    publish(&stack, b, 111, &[5]).await;
    publish(&stack, closed, 112, &[3]).await;
    // One queue, handled in order: the last one applied means all were.
    stack
        .eventually("the intents", || async {
            (agents_of(&stack, closed).await == [3]).then_some(())
        })
        .await;
    assert_eq!(agents_of(&stack, a).await, [3, 5]);

    let cases = [
        (by_agent("in", json!([3])), vec![closed, a]),
        (by_agent("in", json!([5, 3])), vec![closed, b, a]),
        (by_agent("in", json!(["null"])), vec![none]),
        (by_agent("in", json!([5, "null"])), vec![none, b, a]),
        (by_agent("not in", json!([3])), vec![none, b]),
        (by_agent("not in", json!(["null"])), vec![closed, b, a]),
        (by_agent("=", json!(5)), vec![b, a]),
        (by_agent("!=", json!(5)), vec![none, closed]),
        (by_agent("=", json!("null")), vec![none]),
        (by_agent("in", json!([99])), vec![]),
    ];
    for (body, expected) in cases {
        assert_eq!(search(&stack, body.clone()).await, expected, "{body}");
    }
    let (status, page) =
        send(stack.admin(Method::POST, "/ticket/search").json(&by_agent(">", json!(3)))).await;
    assert_eq!(status, 400, "{page}");

    // By the smallest agent id, ties by id; tickets without intents last either way.
    let order =
        |direction: &str| json!({"orderByField": "i.aiAgentId", "orderByDirection": direction});
    assert_eq!(search(&stack, order("asc")).await, vec![a, closed, b, none]);
    assert_eq!(search(&stack, order("desc")).await, vec![b, closed, a, none]);

    let stats = stack
        .eventually("three open tickets in the stats", || async {
            let (_, s) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            (s["total"] == 3).then_some(s)
        })
        .await;
    assert_eq!(
        stats["intents"],
        json!([{"aiAgentId": 5, "count": 2}, {"aiAgentId": 3, "count": 1}]),
        "open tickets only: {stats}"
    );

    // The payload is the whole set: a newer event replaces it, an empty one clears it.
    publish(&stack, a, 120, &[7]).await;
    publish(&stack, b, 121, &[]).await;
    stack
        .eventually("the replaced sets", || async {
            (agents_of(&stack, b).await.is_empty()).then_some(())
        })
        .await;
    assert_eq!(agents_of(&stack, a).await, [7]);
    assert_eq!(search(&stack, by_agent("in", json!(["null"]))).await, vec![none, b]);
    let stats = stack
        .eventually("the new counts", || async {
            let (_, s) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            (s["intents"] == json!([{"aiAgentId": 7, "count": 1}])).then_some(s)
        })
        .await;
    assert_eq!(stats["total"], 3);
}

#[tokio::test]
async fn stale_events_and_deleted_tickets_change_nothing() {
    let stack = Stack::start().await;
    let a =
        stack.create(json!({"channel": "email", "process": "false"})).await["id"].as_i64().unwrap();
    let b =
        stack.create(json!({"channel": "email", "process": "false"})).await["id"].as_i64().unwrap();
    // The newest first: the empty set at version 109 must survive the older ones after it.
    publish(&stack, a, 109, &[]).await;
    publish(&stack, a, 108, &[4]).await;
    publish(&stack, a, 109, &[6]).await;
    publish(&stack, b, 101, &[2]).await;
    stack
        .eventually("b's intents", || async { (agents_of(&stack, b).await == [2]).then_some(()) })
        .await;
    assert!(agents_of(&stack, a).await.is_empty(), "older and equal versions are dropped");
    assert_eq!(search(&stack, by_agent("in", json!([4, 6]))).await, Vec::<i64>::new());

    let (status, body) = send(stack.admin(Method::DELETE, &format!("/ticket/{b}"))).await;
    assert_eq!(status, 200, "{body}");
    stack
        .eventually("b's intents gone with it", || async {
            agents_of(&stack, b).await.is_empty().then_some(())
        })
        .await;
    // A late event of the deleted ticket does not bring it back.
    publish(&stack, b, 150, &[2]).await;
    publish(&stack, a, 150, &[3]).await;
    stack
        .eventually("a's intents", || async { (agents_of(&stack, a).await == [3]).then_some(()) })
        .await;
    assert!(agents_of(&stack, b).await.is_empty());
    let mut db = stack.db().await;
    let versions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket.ticket_intent_version WHERE ticket_id = $1",
    )
    .bind(b)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(versions, 0);
}

/// Through agent-svc itself: detection publishes the event, ticket-svc searches and counts it.
#[tokio::test]
async fn a_detected_intent_is_searchable_and_counted() {
    let stack = Stack::start().await;
    let (status, body) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200, "{body}");
    let id = stack
        .create(json!({"channel": "email", "subject": "Zählerstand",
            "body": "Mein Zählerstand ist 12345 kWh.", "from": "a@example.com"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let other =
        stack.create(json!({"channel": "chat", "process": "false"})).await["id"].as_i64().unwrap();
    // The first detection of a process embeds the agents' examples: allow minutes.
    let deadline = Instant::now() + Duration::from_secs(240);
    let agent = loop {
        let (status, body) =
            send(stack.admin(Method::GET, &format!("/intent/byTicketId/{id}"))).await;
        let reading = (status == 200)
            .then(|| body["intents"].as_array().cloned())
            .flatten()
            .and_then(|intents| intents.into_iter().find(|i| i["code"] == "meter_reading"));
        if let Some(reading) = reading {
            break reading["aiAgentId"].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "no meter_reading intent: {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    stack
        .eventually("the ticket's agents in ticket-svc", || async {
            agents_of(&stack, id).await.contains(&agent).then_some(())
        })
        .await;
    assert_eq!(search(&stack, by_agent("in", json!([agent]))).await, vec![id]);
    assert_eq!(search(&stack, by_agent("in", json!(["null"]))).await, vec![other]);
    let stats = stack
        .eventually("the agent's open count", || async {
            let (_, s) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            let counted =
                s["intents"].as_array()?.iter().any(|c| c["aiAgentId"] == agent && c["count"] == 1);
            counted.then_some(s)
        })
        .await;
    assert_eq!(stats["total"], 2, "{stats}");
}
