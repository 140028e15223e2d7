use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send, token};

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn missing_bad_and_expired_tokens_are_401_with_json() {
    let stack = Stack::start().await;
    let url = stack.url("/api/mind/ticket/1");

    let (status, body) = error_of(stack.http.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "unauthenticated");

    let (status, _) =
        error_of(stack.http.get(&url).bearer_auth("not.a.jwt").send().await.unwrap()).await;
    assert_eq!(status, 401);

    let expired = token(1, "admin", -10);
    let (status, body) =
        error_of(stack.http.get(&url).bearer_auth(expired).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "token has expired");

    let forged = enneo_common::auth::sign(
        &enneo_common::auth::Claims {
            user_id: 1,
            role: "admin".into(),
            iat: 0,
            exp: i64::MAX,
            ..Default::default()
        },
        b"some-other-secret-of-sufficient-length",
    );
    let (status, _) =
        error_of(stack.http.get(&url).bearer_auth(forged).send().await.unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn session_cookie_authenticates_like_bearer() {
    let stack = Stack::start().await;
    let created = stack.create(json!({"channel": "email"})).await;
    let id = created["id"].as_i64().unwrap();
    let response = stack
        .http
        .get(stack.url(&format!("/api/mind/ticket/{id}")))
        .header("Cookie", format!("theme=dark; connect.sid={}", stack.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], id);
}

#[tokio::test]
async fn missing_permission_is_403_with_json() {
    let stack = Stack::start().await;
    let created = stack.create(json!({"channel": "email", "subject": "Original"})).await;
    let id = created["id"].as_i64().unwrap();

    // Agents may change the priority …
    let response = stack
        .agent(Method::PATCH, &format!("/ticket/{id}"))
        .json(&json!({"priority": "high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // … but not technical fields such as the subject.
    let (status, body) = error_of(
        stack
            .agent(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"subject": "Hacked"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "permission_denied");
    assert!(body["error"].as_str().unwrap().contains("updateTechnicalTicketFields"));

    let (_, ticket) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    assert_eq!(ticket["subject"], "Original");
    assert_eq!(ticket["priority"], "high");

    // A token whose role grants nothing.
    let stranger = token(9, "visitor", 3600);
    let (status, _) = error_of(
        stack
            .http
            .get(stack.url(&format!("/api/mind/ticket/{id}")))
            .bearer_auth(stranger)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
}
