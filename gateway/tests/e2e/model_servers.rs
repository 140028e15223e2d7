//! The tenant's model server settings: set, agent-svc's detection goes to the tenant's
//! embeddings server with its key and model; emptied, back to the deployment's.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

/// One call the tenant's server got: its Authorization header and the model asked for.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An OpenAI-compatible embeddings server of the tenant's: records each call and answers
/// with what the local embeddings server answers.
async fn tenant_server() -> (String, Seen) {
    let upstream = std::env::var("ENNEO_TEST_EMBEDDINGS_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8089/v1".into());
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/v1/embeddings",
        axum::routing::post(move |headers: HeaderMap, RawQuery(query): RawQuery, body: Bytes| {
            let (record, http, upstream) = (record.clone(), http.clone(), upstream.clone());
            async move {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let model = request["model"].as_str().unwrap_or_default().to_owned();
                record.lock().unwrap().push((auth, model));
                let url = match query {
                    Some(q) => format!("{upstream}/embeddings?{q}"),
                    None => format!("{upstream}/embeddings"),
                };
                let answer = http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = axum::http::StatusCode::from_u16(answer.status().as_u16()).unwrap();
                (status, answer.bytes().await.unwrap())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn put(stack: &Stack, name: &str, value: Value) -> (u16, Value) {
    send(stack.admin(Method::PUT, &format!("/settings/{name}")).json(&value)).await
}

async fn meter_reading_detected(stack: &Stack, reading: u32) {
    let ticket = stack
        .create(json!({"channel": "email", "subject": "Meter reading",
            "body": format!("My meter reading is {reading} kWh, meter number 1ESY1160123456."),
            "from": "reader@example.com"}))
        .await["id"]
        .as_i64()
        .unwrap();
    stack
        .eventually("the meter reading intent", || async {
            let (_, found) =
                send(stack.agent(Method::GET, &format!("/intent/byTicketId/{ticket}"))).await;
            found["intents"].as_array()?.iter().find(|i| i["code"] == "meter_reading").cloned()
        })
        .await;
}

#[tokio::test]
async fn detection_uses_the_tenants_embeddings_server_while_its_settings_name_one() {
    let stack = Stack::start().await;
    let (status, _) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200);
    let (url, seen) = tenant_server().await;

    let (status, body) = put(&stack, "aiEmbeddingsUrl", json!("not a url")).await;
    assert_eq!(status, 400, "{body}");
    for (name, value) in [
        ("aiEmbeddingsUrl", json!(url)),
        ("aiEmbeddingsModel", json!("tenant-e5")),
        ("aiEmbeddingsApiKey", json!("sk-tenant-test")),
    ] {
        let (status, body) = put(&stack, name, value).await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    let (_, key) = send(stack.admin(Method::GET, "/settings/aiEmbeddingsApiKey")).await;
    assert_eq!(key["value"], "********", "{key}");

    // agent-svc reads the settings again every 200 ms in the test stack.
    stack
        .eventually("the tenant's server in use", || async {
            meter_reading_detected(&stack, 4711).await;
            (!seen.lock().unwrap().is_empty()).then_some(())
        })
        .await;
    let calls = seen.lock().unwrap().clone();
    assert!(
        calls.iter().all(|(auth, model)| auth == "Bearer sk-tenant-test" && model == "tenant-e5"),
        "{calls:?}"
    );

    // Emptied, the deployment's server is back: the tenant's sees no more calls.
    let (status, _) = put(&stack, "aiEmbeddingsUrl", json!("")).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let before = seen.lock().unwrap().len();
    meter_reading_detected(&stack, 4712).await;
    assert_eq!(seen.lock().unwrap().len(), before, "detection went to the tenant's server");
}
