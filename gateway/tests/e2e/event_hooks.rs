//! Event hooks: set up through the API, called on real events, delivered to a receiver on a
//! real socket that verifies the signature the way a Standard Webhooks library does.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::{Options, Stack, send};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: i64,
    signature: String,
    body: Bytes,
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The receiver's side of the signature: recompute it with the shared secret.
    fn verifies_with(&self, secret: &str) -> bool {
        let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

/// A webhook receiver that records what it gets and answers with `status` (changeable).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let status = Arc::new(Mutex::new(status));
        let (record, answer) = (got.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (record, answer) = (record.clone(), answer.clone());
                async move {
                    let header = |name: &str| headers[name].to_str().unwrap_or_default().to_owned();
                    record.lock().unwrap().push(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp").parse().unwrap_or_default(),
                        signature: header("webhook-signature"),
                        body,
                    });
                    let code = *answer.lock().unwrap();
                    (StatusCode::from_u16(code).unwrap(), "receiver says hello")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, got, status }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn answer(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }
}

async fn add_hook(stack: &Stack, body: Value) -> Value {
    let (status, created) =
        send(stack.admin(Method::POST, "/settings/event-hook").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    created
}

async fn deliveries(stack: &Stack, hook: i64) -> Value {
    let path = format!("/settings/event-hook/{hook}/deliveries");
    let (status, log) = send(stack.admin(Method::GET, &path)).await;
    assert_eq!(status, 200, "{log}");
    log
}

#[tokio::test]
async fn a_webhook_receives_signed_events_it_subscribed_to_and_the_log_shows_them() {
    let stack = Stack::start().await;
    let receiver = Receiver::start(200).await;
    let created = add_hook(
        &stack,
        json!({"name": "TicketCreated", "description": "to the ERP",
               "eventHookExecutor": {"type": "webhook", "url": receiver.url}}),
    )
    .await;
    let hook = created["id"].as_i64().unwrap();
    let view = &created["eventHook"];
    assert_eq!(view["events"], json!(["TicketCreated"]));
    assert_eq!(view["enabled"], true);
    let secret = view["eventHookExecutor"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "the creator sees the secret once: {view}");

    let ticket = stack.create(json!({"channel": "email", "subject": "Hook me", "body": "x"})).await;
    let ticket_id = ticket["id"].as_i64().unwrap();
    // An event of another type is not delivered.
    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{ticket_id}"))
            .json(&json!({"priority": "high"})),
    )
    .await;
    assert_eq!(status, 200);

    let got = stack
        .eventually("the webhook call", || async {
            let got = receiver.received();
            (!got.is_empty()).then_some(got)
        })
        .await;
    let call = &got[0];
    assert!(call.verifies_with(&secret), "signature {call:?}");
    assert!(!call.verifies_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "another key fails");
    let event = call.event();
    assert_eq!(event["type"], "TicketCreated");
    assert_eq!(event["eventId"], json!(call.id), "webhook-id is the event id");
    assert_eq!(event["aggregateId"], json!(ticket_id.to_string()));
    assert!((chrono::Utc::now().timestamp() - call.timestamp).abs() < 60);

    let log = stack
        .eventually("the delivery logged", || async {
            let log = deliveries(&stack, hook).await;
            (log["deliveries"][0]["status"] == "delivered").then_some(log)
        })
        .await;
    assert_eq!(log["total"], 1, "{log}");
    let entry = &log["deliveries"][0];
    assert_eq!(
        (entry["eventType"].clone(), entry["statusCode"].clone()),
        (json!("TicketCreated"), json!(200))
    );
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["eventId"], json!(call.id));
    // Give a stray second delivery time to show up: there must not be one.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(receiver.received().len(), 1, "TicketUpdated was not subscribed to");

    // Listings mask the secret; showSecrets with readSecretSettings shows it.
    let (_, list) = send(stack.admin(Method::GET, "/settings/event-hook")).await;
    assert_eq!(list["eventHooks"][0]["eventHookExecutor"]["secret"], "********", "{list}");
    let (_, list) = send(stack.admin(Method::GET, "/settings/event-hook?showSecrets=true")).await;
    assert_eq!(list["eventHooks"][0]["eventHookExecutor"]["secret"], json!(secret));
    let (status, category) =
        send(stack.admin(Method::GET, &format!("/settings/category/event-hook_{hook}"))).await;
    assert_eq!(status, 200, "{category}");
    assert!(category.to_string().contains(&format!("_event-hook[{hook}].events")), "{category}");
    assert!(!category.to_string().contains(&secret), "category views mask the secret too");
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_the_hook_is_disabled_and_says_why() {
    let stack = Stack::start().await;
    let receiver = Receiver::start(500).await;
    let created = add_hook(
        &stack,
        json!({"name": "TicketCreated", "eventHookExecutor": {"type": "webhook", "url": receiver.url}}),
    )
    .await;
    let hook = created["id"].as_i64().unwrap();
    // The test stack gives up a delivery after 3 attempts and disables a hook after 5 failed
    // attempts in a row: the first ticket's delivery fails 3 times and is given up, the
    // second one's fails twice more and the hook is off.
    stack.create(json!({"channel": "email", "subject": "One", "body": "x"})).await;
    stack
        .eventually("the first delivery given up", || async {
            let log = deliveries(&stack, hook).await;
            (log["deliveries"][0]["status"] == "failed").then_some(())
        })
        .await;
    let (_, list) = send(stack.admin(Method::GET, "/settings/event-hook")).await;
    assert_eq!(list["eventHooks"][0]["enabled"], true, "3 failures do not disable it: {list}");
    stack.create(json!({"channel": "email", "subject": "Two", "body": "x"})).await;

    let hook_view = stack
        .eventually("the hook disabled", || async {
            let (_, list) = send(stack.admin(Method::GET, "/settings/event-hook")).await;
            let view = list["eventHooks"][0].clone();
            (view["enabled"] == false).then_some(view)
        })
        .await;
    let reason = hook_view["disabledReason"].as_str().unwrap();
    assert!(reason.contains("5 failed attempts in a row") && reason.contains("500"), "{reason}");
    // Nothing more goes out while it is off.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let log = deliveries(&stack, hook).await;
    let entries = log["deliveries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    let (second, first) = (&entries[0], &entries[1]);
    assert_eq!((first["status"].clone(), first["attempts"].clone()), (json!("failed"), json!(3)));
    assert_eq!(
        (second["status"].clone(), second["attempts"].clone()),
        (json!("pending"), json!(2))
    );
    assert!(entries.iter().all(|e| e["statusCode"] == 500), "{log}");
    assert!(second["error"].as_str().unwrap().contains("receiver says hello"), "{log}");
    assert_eq!(receiver.received().len(), 5);
    let (_, failed) = send(
        stack.admin(Method::GET, &format!("/settings/event-hook/{hook}/deliveries?status=failed")),
    )
    .await;
    assert_eq!(failed["total"], 1, "{failed}");

    // Mended and switched on again, the pending delivery goes out.
    receiver.answer(204);
    let key = format!("_event-hook[{hook}].enabled");
    let (status, applied) =
        send(stack.admin(Method::POST, "/settings").json(&json!({key: true}))).await;
    assert_eq!((status, applied["results"][0]["applied"].clone()), (200, json!(true)), "{applied}");
    let log = stack
        .eventually("the pending delivery delivered", || async {
            let log = deliveries(&stack, hook).await;
            let delivered =
                log["deliveries"].as_array().unwrap().iter().any(|e| e["status"] == "delivered");
            delivered.then_some(log)
        })
        .await;
    let delivered =
        log["deliveries"].as_array().unwrap().iter().find(|e| e["status"] == "delivered").unwrap();
    assert_eq!(
        (delivered["attempts"].clone(), delivered["statusCode"].clone()),
        (json!(3), json!(204))
    );
    let (_, list) = send(stack.admin(Method::GET, "/settings/event-hook")).await;
    assert_eq!(list["eventHooks"][0]["consecutiveFailures"], 0, "{list}");
    assert_eq!(list["eventHooks"][0]["disabledReason"], Value::Null, "{list}");
}

#[tokio::test]
async fn hooks_refuse_unknown_events_bad_handlers_and_callers_without_the_permission() {
    let stack = Stack::start().await;
    let bad = |body: Value| {
        let stack = &stack;
        async move { send(stack.admin(Method::POST, "/settings/event-hook").json(&body)).await }
    };
    let (status, body) = bad(json!({"name": "TicketExploded"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("TicketExploded"), "{body}");
    let (status, _) = bad(json!({"name": "TicketCreated", "events": ["Nope"]})).await;
    assert_eq!(status, 400);
    let (status, body) = bad(json!({"name": "TicketCreated",
        "eventHookExecutor": {"type": "webhook", "url": "ftp://example.com/in"}}))
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = bad(json!({"name": "TicketCreated",
        "eventHookExecutor": {"type": "webhook", "url": "https://u:p@example.com/in"}}))
    .await;
    assert_eq!(status, 400);
    let (status, _) = bad(json!({"name": "TicketCreated", "colour": "red"})).await;
    assert_eq!(status, 400);

    // An agent may not see or change hooks: refused before the body is read.
    let (status, _) = send(stack.agent(Method::GET, "/settings/event-hook")).await;
    assert_eq!(status, 403);
    let (status, _) =
        send(stack.agent(Method::POST, "/settings/event-hook").body("{not json")).await;
    assert_eq!(status, 403);
    let (status, _) = send(stack.agent(Method::DELETE, "/settings/event-hook/1")).await;
    assert_eq!(status, 403);
    let (status, _) = send(stack.agent(Method::GET, "/settings/event-hook/1/deliveries")).await;
    assert_eq!(status, 403);
    let (status, _) = send(stack.http.get(stack.url("/api/mind/settings/event-hook"))).await;
    assert_eq!(status, 401);

    let created = add_hook(&stack, json!({"name": "TicketCreated"})).await;
    let hook = created["id"].as_i64().unwrap();
    assert_eq!(created["eventHook"]["eventHookExecutor"], Value::Null);
    let key = |prop: &str| format!("_event-hook[{hook}].{prop}");
    let writes = json!({
        key("events"): ["TicketCreated", "TicketClosedDueToInactivity"],
        key("colour"): "red",
        key("eventHookExecutor"): {"type": "sourceCode", "language": "node20", "code": "x"},
        "_event-hook[999999].description": "nobody",
    });
    let (status, applied) = send(stack.admin(Method::POST, "/settings").json(&writes)).await;
    assert_eq!(status, 200, "{applied}");
    let result = |key: &str| {
        let results = applied["results"].as_array().unwrap();
        results.iter().find(|r| r["key"] == key).cloned().unwrap()
    };
    assert_eq!(result(&key("events"))["applied"], true, "{applied}");
    assert_eq!(result(&key("colour"))["code"], "invalid_argument", "{applied}");
    assert_eq!(result(&key("eventHookExecutor"))["applied"], false, "{applied}");
    assert_eq!(result("_event-hook[999999].description")["code"], "not_found", "{applied}");
    let (_, list) = send(stack.admin(Method::GET, "/settings/event-hook")).await;
    assert_eq!(
        list["eventHooks"][0]["events"],
        json!(["TicketCreated", "TicketClosedDueToInactivity"])
    );

    let (status, _) =
        send(stack.admin(Method::GET, "/settings/event-hook/999999/deliveries")).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        stack.admin(Method::GET, &format!("/settings/event-hook/{hook}/deliveries?status=lost")),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) =
        send(stack.admin(Method::DELETE, &format!("/settings/event-hook/{hook}"))).await;
    assert_eq!(status, 200);
    let (status, _) =
        send(stack.admin(Method::DELETE, &format!("/settings/event-hook/{hook}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_source_code_handler_runs_through_agent_svc_with_the_event() {
    let stack = Stack::start_with(Options { source_code: true, ..Options::default() }).await;
    // The handler proves it ran by what it writes back: its stdout is not kept, so it fails
    // on purpose for the second event type and the log shows its message.
    let code = "import json, sys\ne = json.load(sys.stdin)\n\
                if e['type'] != 'TicketCreated':\n    sys.exit('unexpected ' + e['type'])\n\
                print(json.dumps({'ok': e['aggregateId']}))";
    let created = add_hook(
        &stack,
        json!({"name": "TicketCreated", "events": ["TicketCreated", "TicketUpdated"],
               "eventHookExecutor": {"type": "sourceCode", "language": "python311", "code": code}}),
    )
    .await;
    let hook = created["id"].as_i64().unwrap();
    let ticket = stack.create(json!({"channel": "email", "subject": "Run me", "body": "x"})).await;
    let ticket_id = ticket["id"].as_i64().unwrap();
    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{ticket_id}"))
            .json(&json!({"priority": "high"})),
    )
    .await;
    assert_eq!(status, 200);
    let log = stack
        .eventually("both deliveries settled", || async {
            let log = deliveries(&stack, hook).await;
            let entries = log["deliveries"].as_array().unwrap().clone();
            let created_ok = entries
                .iter()
                .any(|e| e["eventType"] == "TicketCreated" && e["status"] == "delivered");
            let updated_failing =
                entries.iter().any(|e| e["eventType"] == "TicketUpdated" && e["error"].is_string());
            (created_ok && updated_failing).then_some(entries)
        })
        .await;
    let failing = log.iter().find(|e| e["eventType"] == "TicketUpdated").unwrap();
    assert!(failing["error"].as_str().unwrap().contains("unexpected TicketUpdated"), "{failing}");
}
