//! `POST /ticket/{id}/forward`: mail through the mail outbox to a real SMTP socket.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Options, Stack, send};
use crate::smtp::SmtpSink;

async fn forward(stack: &Stack, id: i64, body: Value) -> (u16, Value) {
    let response = stack
        .admin(Method::POST, &format!("/ticket/{id}/forward"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_forwarded_ticket_arrives_at_the_mail_server() {
    let stack = Stack::start().await;
    let id = stack
        .create(json!({"channel": "email", "from": "tom@example.com", "subject": "Meter reading",
            "body": "<p>My meter shows 87870.</p>", "bodyPlain": "My meter shows 87870."}))
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, body) = forward(
        &stack,
        id,
        json!({"toEmail": "backoffice@example.org",
        "cc": ["lead@example.org"], "body": "<p>Please check.</p>"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));

    let mail = stack
        .eventually("the forwarded mail", || async { stack.mail.received().into_iter().next() })
        .await;
    assert_eq!(mail.from, "support@enneo.test");
    let mut to = mail.to.clone();
    to.sort();
    assert_eq!(to, vec!["backoffice@example.org", "lead@example.org"]);
    assert!(mail.data.contains("Subject: Fwd: Meter reading"), "{}", mail.data);
    assert!(mail.data.contains(&format!("Forwarded ticket #{id}")), "{}", mail.data);
    assert!(mail.data.contains("My meter shows 87870."), "{}", mail.data);
    assert!(mail.data.contains("Please check."), "{}", mail.data);
    assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);

    let trail = stack
        .eventually("the forward in the activity trail", || async {
            let (_, a) = send(stack.admin(Method::GET, &format!("/ticket/{id}/activity"))).await;
            (a["total"] == 2).then_some(a)
        })
        .await;
    assert_eq!(trail["activities"][0]["type"], "ticketForwarded");
}

#[tokio::test]
async fn mail_waits_while_the_mail_server_is_down() {
    // A port nobody listens on yet.
    let port =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let stack = Stack::start_with(Options {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        ..Default::default()
    })
    .await;
    let id = stack.create(json!({"channel": "email", "subject": "Outage"})).await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = forward(&stack, id, json!({"toEmail": ["ops@example.org"]})).await;
    assert_eq!(status, 200, "queuing does not need the mail server");

    let mut db = stack.db().await;
    stack
        .eventually("a failed attempt", || async {
            let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM ticket.mail_outbox")
                .fetch_one(&mut stack.db().await)
                .await
                .unwrap();
            (attempts >= 1).then_some(())
        })
        .await;
    let sent: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT sent_at FROM ticket.mail_outbox")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(sent, None);

    let server = SmtpSink::start_on_port(port).await;
    let mail = stack
        .eventually("the mail once the server is up", || async {
            server.received().into_iter().next()
        })
        .await;
    assert_eq!(mail.to, vec!["ops@example.org"]);
    assert!(mail.data.contains("Subject: Fwd: Outage"));
}

#[tokio::test]
async fn forward_validates_and_checks_permission() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    for bad in [
        json!({}),
        json!({"toEmail": "not an address"}),
        json!({"toEmail": []}),
        json!({"toEmail": "a@b.c", "cc": ["x"]}),
        json!({"toEmail": "a@b.c", "priority": "high"}),
    ] {
        let (status, body) = forward(&stack, id, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = forward(&stack, 987654, json!({"toEmail": "a@example.org"})).await;
    assert_eq!(status, 404);
    let response = stack
        .http
        .post(stack.url(&format!("/api/mind/ticket/{id}/forward")))
        .bearer_auth(crate::harness::token(5, "agent", 60))
        .json(&json!({"toEmail": "a@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "agents may forward");
    let mut db = stack.db().await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.mail_outbox")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(queued, 1, "refused forwards queue nothing");
}
