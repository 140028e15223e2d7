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

/// Writes an agent may make (its role holds the permission, or whether it may depends on what
/// the body asks for). For these an agent with a malformed body learns what is wrong (400);
/// every other write refuses an agent (403) before the body is read.
const AGENT_WRITES: &[(&str, &str)] = &[
    // Anyone may try to log in.
    ("POST", "/api/mind/auth/login"),
    // Tickets and their messages: createTickets, updateTickets, forwardTicket and
    // createConversation are an agent's; technical fields and sending are decided per body.
    ("POST", "/api/mind/ticket"),
    ("PATCH", "/api/mind/ticket"),
    ("PATCH", "/api/mind/ticket/{ticketId}"),
    ("POST", "/api/mind/ticket/{ticketId}/forward"),
    ("POST", "/api/mind/ticket/{ticketId}/conversation/reply"),
    ("POST", "/api/mind/ticket/{ticketId}/conversation/store"),
    ("PATCH", "/api/mind/ticket/{ticketId}/conversation/{conversationId}"),
    // Reads that take their filters as a body.
    ("POST", "/api/mind/ticket/search"),
    ("POST", "/api/mind/ticket/getLatest"),
    // Per item: yourself, or anyone with manageUsers.
    ("PATCH", "/api/mind/profiles"),
    ("PATCH", "/api/mind/profiles/routingStatus"),
    // executeIntent and updateIntent are an agent's.
    ("POST", "/api/mind/intent/execute"),
    ("PUT", "/api/mind/intent/{intentId}"),
    ("POST", "/api/mind/intent/{intentId}/execute"),
];

/// Every documented write with a JSON body, as `(METHOD, path, request body schema)`.
fn writes_with_bodies(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut writes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let operation = &item[method.as_str().to_lowercase()];
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if !schema.is_null() {
                writes.push((method, path.clone(), schema.clone()));
            }
        }
    }
    writes
}

/// `path` with every `{parameter}` replaced by 1. Every body sent is refused, so nothing is
/// written whether or not row 1 exists.
fn concrete(path: &str) -> String {
    let ones: Vec<&str> =
        path.split('/').map(|s| if s.starts_with('{') { "1" } else { s }).collect();
    ones.join("/")
}

/// The properties of a body schema that refuses unknown fields (`additionalProperties: false`),
/// following a `$ref` and an optional body's `oneOf [null, $ref]`.
fn closed_properties(doc: &Value, schema: &Value) -> Option<Vec<String>> {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["oneOf"].as_array()?.iter().find_map(|s| s["$ref"].as_str()))?;
    let component = &doc["components"]["schemas"][reference.rsplit('/').next()?];
    if component["additionalProperties"] != json!(false) {
        return None;
    }
    Some(component["properties"].as_object()?.keys().cloned().collect())
}

#[tokio::test]
async fn writes_refuse_an_agent_before_reading_the_body_and_tell_an_admin_what_is_wrong() {
    let stack = Stack::start().await;
    let (status, doc) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    assert_eq!(status, 200);
    let writes = writes_with_bodies(&doc);
    assert!(writes.len() > 30, "too few writes found: {}", writes.len());
    for (method, path) in AGENT_WRITES {
        assert!(
            writes.iter().any(|(m, p, _)| m.as_str() == *method && p == path),
            "{method} {path} is no documented write with a body"
        );
    }

    let malformed = [r#"{"name": 5, "unexpected": true"#, r#"{"name": 5, "unexpected": true}"#];
    let (mut wrong, mut closed) = (Vec::new(), 0);
    for (method, path, schema) in &writes {
        let url = stack.url(&concrete(path));
        let agent_may = AGENT_WRITES.iter().any(|(m, p)| *m == method.as_str() && p == path);
        for body in malformed {
            let agent = stack.http.request(method.clone(), &url).bearer_auth(&stack.agent_token);
            let (status, answer) = send(agent.body(body)).await;
            let refused = status == 403 && answer["code"] == "permission_denied";
            // Agents who may write learn that the text is no JSON; what they learn of a JSON
            // body depends on the route (which field is wrong, or that row 1 does not exist).
            let told =
                if body.ends_with('}') { (400..500).contains(&status) } else { status == 400 };
            if agent_may && !told || !agent_may && !refused {
                wrong.push(format!("agent {method} {path} {body}: {status} {answer}"));
            }
        }

        // Not JSON at all: the administrator learns so, as JSON.
        let admin = stack.http.request(method.clone(), &url).bearer_auth(&stack.admin_token);
        let (status, answer) = send(admin.body(malformed[0])).await;
        let explained = answer["success"] == false && answer["error"].is_string();
        if status != 400 || !explained {
            wrong.push(format!("admin {method} {path} (not JSON): {status} {answer}"));
        }
        // A field the body does not know: the answer names the ones it does.
        if let Some(fields) = closed_properties(&doc, schema) {
            closed += 1;
            let admin = stack.http.request(method.clone(), &url).bearer_auth(&stack.admin_token);
            let (status, answer) = send(admin.json(&json!({"unexpected": true}))).await;
            let error = answer["error"].as_str().unwrap_or_default();
            let lists = error.contains("`unexpected`")
                && fields.iter().all(|f| error.contains(&format!("`{f}`")));
            if !matches!(status, 400 | 422) || !lists {
                wrong.push(format!("admin {method} {path} (unknown field): {status} {answer}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} writes misbehave:\n{}", wrong.len(), wrong.join("\n"));
    assert!(closed >= 10, "only {closed} bodies refuse unknown fields in the document");
}
