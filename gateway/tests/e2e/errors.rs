//! The 5xx answers of the gateway: a service that is down, and a failure inside a service.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

#[tokio::test]
async fn a_stopped_service_answers_503_with_retry_after() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email", "subject": "before the outage"})).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/ticket/{id}");
    let (status, _) = send(stack.admin(Method::GET, &path)).await;
    assert_eq!(status, 200);

    stack.stop_ticket_svc();
    // The service drains in-flight calls before it closes its port.
    let mut response = None;
    for _ in 0..100 {
        let r = stack.admin(Method::GET, &path).send().await.unwrap();
        if r.status() != 200 {
            response = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = response.expect("ticket-svc never went away");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"success": false, "error": "service unavailable, try again shortly", "code": "unavailable"})
    );

    // Services that are still up keep answering.
    let (status, _) = send(stack.admin(Method::GET, "/tag")).await;
    assert_eq!(status, 200);
}

/// ticket-svc going away while calls are in flight: each answer is the ticket or a 503 to retry,
/// never a 500, whatever point of the call the connection was cut at.
#[tokio::test]
async fn a_service_stopping_under_load_answers_503_with_retry_after_never_500() {
    let stack = std::sync::Arc::new(Stack::start().await);
    let id = stack.create(json!({"channel": "email", "subject": "under load"})).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/ticket/{id}");
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (stack, path) = (stack.clone(), path.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                // Until a few 503s in a row: the service is gone.
                while answers.iter().rev().take(3).filter(|(s, _, _)| *s == 503).count() < 3 {
                    let r = stack.admin(Method::GET, &path).send().await.unwrap();
                    let status = r.status().as_u16();
                    let retry =
                        r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                    let body: Value = r.json().await.unwrap();
                    answers.push((status, retry, body));
                    assert!(answers.len() < 5000, "ticket-svc never went away");
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stack.stop_ticket_svc();

    let mut answered = 0;
    for caller in callers {
        for (status, retry, body) in caller.await.unwrap() {
            answered += 1;
            match status {
                200 => assert_eq!(body["id"], id),
                503 => {
                    assert_eq!(retry.as_deref(), Some("5"), "{body}");
                    assert_eq!(body["code"], "unavailable", "{body}");
                }
                _ => panic!("{status} while ticket-svc stopped: {body}"),
            }
        }
    }
    assert!(answered > 24, "only {answered} answers");
}

#[tokio::test]
async fn an_internal_failure_answers_500_and_tells_nothing() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email", "subject": "soon unreadable"})).await["id"]
        .as_i64()
        .unwrap();
    // The service's own role loses a privilege it relies on: its query fails in PostgreSQL.
    let mut db = stack.db().await;
    sqlx::query("REVOKE SELECT ON ticket.ticket FROM enneo_ticket").execute(&mut db).await.unwrap();

    let response = stack.admin(Method::GET, &format!("/ticket/{id}")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("retry-after").is_none());
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body, json!({"success": false, "error": "internal error", "code": "internal"}));
    for leak in ["permission", "ticket.ticket", "SELECT", "enneo_ticket", "42501"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
}

/// PostgreSQL stores no NUL character in text or jsonb; such input is the caller's mistake.
#[tokio::test]
async fn a_nul_character_in_a_body_is_a_400_that_says_so() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email", "from": "tom@example.com"})).await["id"]
        .as_i64()
        .unwrap();
    let (status, body) = send(
        stack
            .agent(Method::POST, &format!("/ticket/{id}/conversation/reply"))
            .json(&json!({"content": {"message": "a\u{0}b"}, "type": "text", "direction": "out"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("NUL"), "{body}");
    let (status, body) =
        send(stack.admin(Method::PUT, "/settings/locale").json(&json!("en\u{0}GB"))).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) =
        send(stack.admin(Method::PUT, "/settings/locale").json(&json!("en-GB"))).await;
    assert_eq!(status, 200);
}
