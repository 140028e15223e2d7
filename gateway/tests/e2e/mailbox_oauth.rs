//! The Microsoft mailbox OAuth dance, against a token server on a real socket.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Form;
use axum::routing::post;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{
    OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_REDIRECT_URI, Options, Stack, send,
};

/// Answers the code exchange like Microsoft's token endpoint and keeps the forms it got.
async fn token_server() -> (String, Arc<Mutex<Vec<Vec<(String, String)>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/token",
        post(move |Form(form): Form<Vec<(String, String)>>| {
            let store = store.clone();
            async move {
                let code = form
                    .iter()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                store.lock().unwrap().push(form);
                if code == "good-code" {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"token_type": "Bearer",
                        "access_token": "AT-very-secret", "refresh_token": "RT-very-secret",
                        "expires_in": 3600, "scope": "IMAP.AccessAsUser.All"})),
                    )
                } else {
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": "invalid_grant",
                        "error_description": "AADSTS70008: the code has expired"})),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn mailbox(stack: &Stack) -> i64 {
    let (_, created) = send(
        stack
            .admin(Method::POST, "/settings/subchannel")
            .json(&json!({"name": "Service", "channel": "email"})),
    )
    .await;
    created["subchannel"]["id"].as_i64().unwrap()
}

/// Starts the dance and returns the `state` from the redirect.
async fn start(stack: &Stack, subchannel: i64) -> String {
    let response = no_redirects()
        .get(stack.url(&format!(
            "/api/mind/settings/mailbox/microsoft/authorization?subchannelId={subchannel}"
        )))
        .bearer_auth(&stack.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("login.example.test"));
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], OAUTH_CLIENT_ID);
    assert_eq!(query["redirect_uri"], OAUTH_REDIRECT_URI);
    assert_eq!(query["response_type"], "code");
    assert!(query["scope"].contains("offline_access"));
    query["state"].clone()
}

async fn callback(stack: &Stack, token: &str, code: &str, state: &str) -> (u16, Value) {
    let response = stack
        .http
        .get(stack.url("/api/mind/settings/mailbox/microsoft/callback"))
        .query(&[("code", code), ("state", state)])
        .header("Cookie", format!("connect.sid={token}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_mailbox_connects_and_its_tokens_are_stored_encrypted() {
    let (token_url, seen) = token_server().await;
    let stack =
        Stack::start_with(Options { oauth_token_url: Some(token_url), ..Default::default() }).await;
    let id = mailbox(&stack).await;
    let state = start(&stack, id).await;

    let (status, body) = callback(&stack, &stack.admin_token, "good-code", &state).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"success": true, "subchannelId": id}));
    let form = seen.lock().unwrap()[0].clone();
    let field = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("grant_type"), "authorization_code");
    assert_eq!(field("client_id"), OAUTH_CLIENT_ID);
    assert_eq!(field("client_secret"), OAUTH_CLIENT_SECRET);
    assert_eq!(field("redirect_uri"), OAUTH_REDIRECT_URI);

    let mut db = stack.db().await;
    let (sealed, config): (Vec<u8>, Value) =
        sqlx::query_as("SELECT oauth_tokens, config FROM settings.subchannel WHERE id = $1")
            .bind(id)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed).contains("very-secret"),
        "tokens are encrypted at rest"
    );
    let key: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(crate::harness::SETTINGS_SECRET_KEY.as_bytes()).into()
    };
    let opened = settings_svc::oauth::decrypt(&key, &sealed).unwrap();
    assert!(String::from_utf8(opened).unwrap().contains("AT-very-secret"));
    assert_eq!(config["microsoftOAuth"]["connected"], true);
    let (_, listed) =
        send(stack.admin(Method::GET, &format!("/settings/subchannel?id={id}&showSecrets=true")))
            .await;
    assert!(!listed.to_string().contains("very-secret"), "tokens are never returned");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT payload FROM settings.outbox UNION ALL \
         SELECT payload FROM settings.outbox_published) e WHERE payload::text LIKE '%very-secret%'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(events, 0);
}

/// Long enough for the checks before expiry on a loaded machine.
const STATE_TTL: Duration = Duration::from_secs(4);

#[tokio::test]
async fn forged_expired_foreign_and_refused_states_connect_nothing() {
    let (token_url, seen) = token_server().await;
    let stack = Stack::start_with(Options {
        oauth_token_url: Some(token_url),
        oauth_state_ttl: Some(STATE_TTL),
        ..Default::default()
    })
    .await;
    let id = mailbox(&stack).await;
    let started = std::time::Instant::now();
    let state = start(&stack, id).await;

    let (payload, signature) = state.split_once('.').unwrap();
    let forged = format!("{payload}x.{signature}");
    assert_eq!(callback(&stack, &stack.admin_token, "good-code", &forged).await.0, 400);
    assert_eq!(
        callback(&stack, &stack.agent_token, "good-code", &state).await.0,
        403,
        "agents may not connect mailboxes"
    );
    let other_admin = crate::harness::token(7, "admin", 60);
    assert_eq!(
        callback(&stack, &other_admin, "good-code", &state).await.0,
        400,
        "started by someone else"
    );
    let (status, body) = callback(&stack, &stack.admin_token, "stale-code", &state).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("code has expired"));

    // Wait out the state's lifetime, however long the checks above took.
    tokio::time::sleep((STATE_TTL + Duration::from_millis(200)).saturating_sub(started.elapsed()))
        .await;
    assert_eq!(callback(&stack, &stack.admin_token, "good-code", &state).await.0, 400, "expired");
    assert_eq!(seen.lock().unwrap().len(), 1, "only the valid state reached the token endpoint");

    let declined = stack
        .admin(Method::GET, "/settings/mailbox/microsoft/callback?error=access_denied&error_description=The+user+declined")
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 400);
    let (_, chat) = send(
        stack
            .admin(Method::POST, "/settings/subchannel")
            .json(&json!({"name": "Bot", "channel": "chat"})),
    )
    .await;
    let chat_id = chat["subchannel"]["id"].as_i64().unwrap();
    for (query, expected) in [
        (format!("subchannelId={chat_id}"), 400),
        ("subchannelId=9999".into(), 404),
        ("".into(), 400),
    ] {
        let response = no_redirects()
            .get(stack.url(&format!("/api/mind/settings/mailbox/microsoft/authorization?{query}")))
            .bearer_auth(&stack.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{query}");
    }
    let mut db = stack.db().await;
    let connected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM settings.subchannel WHERE oauth_tokens IS NOT NULL",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(connected, 0);
}
