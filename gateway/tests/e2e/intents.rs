//! Intents (`/intent…`): what agents found on a ticket, in tickets and search rows, corrected
//! and executed by humans.

use enneo_common::auth::{Claims, permission, sign};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{JWT_SECRET, Stack, send};

/// An agent-role token whose role grants reading tickets only.
fn reader_token() -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        user_id: 3,
        role: "agent".into(),
        iat: now,
        exp: now + 3600,
        permissions: Some(vec![permission::READ_TICKETS.into()]),
        ..Default::default()
    };
    sign(&claims, JWT_SECRET.as_bytes())
}

#[tokio::test]
async fn a_ticket_without_intents() {
    let stack = Stack::start().await;
    let id =
        stack.create(json!({"channel": "email", "subject": "Hallo"})).await["id"].as_i64().unwrap();

    let (status, found) = send(stack.agent(Method::GET, &format!("/intent/byTicketId/{id}"))).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        found,
        json!({"success": true, "ticketId": id, "aiOutcome": "noDetection", "intentsFound": 0, "intents": []})
    );

    let (status, ticket) =
        send(stack.agent(Method::GET, &format!("/ticket/{id}?includeIntents=true"))).await;
    assert_eq!((status, ticket["intents"].clone()), (200, json!([])), "{ticket}");
    let (_, ticket) = send(stack.agent(Method::GET, &format!("/ticket/{id}"))).await;
    assert!(ticket.get("intents").is_none(), "intents only when asked for");
    let (status, page) = send(stack.agent(Method::POST, "/ticket/search").json(&json!({
        "filters": [{"key": "t.id", "comparator": "=", "value": id}]
    })))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["tickets"][0]["intents"], json!([]), "search rows carry intents");

    let (status, list) =
        send(stack.agent(Method::GET, &format!("/intent/list?ticketId={id}"))).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!((list["intents"].clone(), list["total"].clone()), (json!([]), json!(0)));
    let (status, _) = send(stack.agent(Method::GET, "/intent/byTicketId/999999")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unknown_intents_are_404_bad_input_400_and_writes_need_permissions() {
    let stack = Stack::start().await;
    let ticket = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    for (method, path, body) in [
        (Method::GET, "/intent/999999", None),
        (Method::PUT, "/intent/999999", Some(json!({"verified": true}))),
        (Method::DELETE, "/intent/999999", None),
        (Method::POST, "/intent/999999/execute", Some(json!({"dryRun": true}))),
        (Method::POST, "/intent/execute", Some(json!({"intentId": 999999}))),
    ] {
        let mut request = stack.admin(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = send(request).await;
        assert_eq!(
            (status, body["code"].clone()),
            (404, json!("not_found")),
            "{method} {path}: {body}"
        );
    }

    let put = |body: &str| stack.admin(Method::PUT, "/intent/1").body(body.to_owned());
    let execute = |path: &str, body: Value| stack.admin(Method::POST, path).json(&body);
    let cases = [
        (put(r#"{"verified": true, "confidence": 1}"#), "an unknown field"),
        (put(r#"{"verified": "yes"}"#), "verified as text"),
        (put(r#"{"data": [1]}"#), "data as array"),
        (put("{not json"), "malformed"),
        (put(""), "no body"),
        (stack.admin(Method::GET, "/intent/abc"), "id abc"),
        (stack.admin(Method::GET, "/intent/byTicketId/0"), "ticket 0"),
        (stack.admin(Method::GET, "/intent/list?limit=0"), "limit 0"),
        (stack.admin(Method::GET, "/intent/list?limit=1001"), "limit 1001"),
        (stack.admin(Method::GET, "/intent/list?offset=-1"), "offset -1"),
        (stack.admin(Method::GET, "/intent/list?ticketId=x"), "ticketId x"),
        (execute("/intent/execute", json!({})), "nothing to execute"),
        (execute("/intent/execute", json!({"code": "meter_reading"})), "code without ticket"),
        (execute("/intent/5/execute", json!({"intentId": 6})), "ids differ"),
        (execute("/intent/5/execute", json!({"informCustomer": "yes"})), "informCustomer as text"),
        (execute("/intent/5/execute", json!({"dryRun": true, "force": true})), "an unknown field"),
        (execute("/intent/execute", json!({"code": "x", "ticketId": ticket, "data": 1})), "data 1"),
    ];
    for (request, what) in cases {
        let (status, body) = send(request).await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!("invalid_argument")),
            "{what}: {body}"
        );
    }

    // Authorisation comes before the body is looked at.
    let reader = reader_token();
    for (method, path) in [
        (Method::PUT, "/intent/1"),
        (Method::DELETE, "/intent/1"),
        (Method::POST, "/intent/1/execute"),
        (Method::POST, "/intent/execute"),
    ] {
        let request = stack
            .http
            .request(method.clone(), stack.url(&format!("/api/mind{path}")))
            .bearer_auth(&reader)
            .body("{not json");
        let (status, body) = send(request).await;
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!("permission_denied")),
            "{method} {path}"
        );
    }
    let by_ticket = format!("/intent/byTicketId/{ticket}");
    for (method, path) in [
        (Method::GET, "/intent/list"),
        (Method::GET, "/intent/1"),
        (Method::PUT, "/intent/1"),
        (Method::POST, "/intent/1/execute"),
        (Method::GET, by_ticket.as_str()),
    ] {
        let request = stack.http.request(method.clone(), stack.url(&format!("/api/mind{path}")));
        let (status, _) = send(request).await;
        assert_eq!(status, 401, "{method} {path}");
    }
}

#[tokio::test]
async fn a_detected_intent_is_shown_corrected_executed_and_deleted() {
    let stack = Stack::start().await;
    let (status, _) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200);
    let ticket = stack
        .create(json!({"channel": "email", "subject": "Zählerstand",
            "body": "Mein Zählerstand ist 12345 kWh, Zählernummer 1ESY1160123456.",
            "from": "kunde@example.com"}))
        .await["id"]
        .as_i64()
        .unwrap();

    let found = stack
        .eventually("the meter reading intent", || async {
            let (_, found) =
                send(stack.agent(Method::GET, &format!("/intent/byTicketId/{ticket}"))).await;
            let hit = found["intents"].as_array()?.iter().any(|i| i["code"] == "meter_reading");
            hit.then_some(found)
        })
        .await;
    assert_eq!(found["ticketId"], ticket);
    assert_eq!(found["intentsFound"], found["intents"].as_array().unwrap().len());
    assert!(["full", "agentAssist"].contains(&found["aiOutcome"].as_str().unwrap()), "{found}");
    let intent = found["intents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == "meter_reading")
        .unwrap()
        .clone();
    let id = intent["id"].as_i64().unwrap();
    assert_eq!(intent["data"]["meterReading"].as_f64(), Some(12345.0), "{intent}");

    let (status, one) = send(stack.agent(Method::GET, &format!("/intent/{id}"))).await;
    assert_eq!((status, one["success"].clone()), (200, json!(true)), "{one}");
    assert_eq!(one["intent"]["id"], id);
    let (_, list) =
        send(stack.agent(Method::GET, &format!("/intent/list?ticketId={ticket}&limit=10"))).await;
    assert!(list["intents"].as_array().unwrap().iter().any(|i| i["id"] == id), "{list}");
    assert!(list["total"].as_i64().unwrap() >= 1);
    let (_, ticket_view) =
        send(stack.agent(Method::GET, &format!("/ticket/{ticket}?includeIntents=true"))).await;
    assert!(ticket_view["intents"].as_array().unwrap().iter().any(|i| i["id"] == id));
    let (_, page) = send(stack.agent(Method::POST, "/ticket/search").json(&json!({
        "filters": [{"key": "t.id", "comparator": "=", "value": ticket}]
    })))
    .await;
    assert!(page["tickets"][0]["intents"].as_array().unwrap().iter().any(|i| i["id"] == id));

    // A human corrects the reading and confirms the intent.
    let (status, updated) = send(
        stack
            .agent(Method::PUT, &format!("/intent/{id}"))
            .json(&json!({"data": {"meterReading": 54321}, "verified": true})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["intent"]["verified"], true);
    assert_eq!(updated["intent"]["data"]["meterReading"].as_f64(), Some(54321.0), "{updated}");

    // Phase 1 as a dry run: the outcome at top level, the intent beside it.
    let (status, ran) = send(
        stack.agent(Method::POST, &format!("/intent/{id}/execute")).json(&json!({"dryRun": true})),
    )
    .await;
    assert_eq!(status, 200, "{ran}");
    assert!(ran["success"].is_boolean(), "{ran}");
    assert_eq!(ran["intent"]["id"], id);
    // On the fly: the agent's slug and the ticket.
    let (status, ran) = send(
        stack
            .agent(Method::POST, "/intent/execute")
            .json(&json!({"code": "meter_reading", "ticketId": ticket, "dryRun": true})),
    )
    .await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["intent"]["code"], "meter_reading");

    // Dark processing: a ticket without a ready intent stops at the first gate (207, naming
    // it); this one passes them all and runs.
    let (_, bare) =
        send(stack.admin(Method::POST, "/ticket?process=false").json(&json!({"channel": "email"})))
            .await;
    let (status, auto) =
        send(stack.admin(Method::POST, &format!("/ticket/{}/autoexecute", bare["id"]))).await;
    assert_eq!(status, 207, "{auto}");
    assert_eq!(
        (auto["success"].clone(), auto["failedGate"].clone()),
        (json!(false), json!("intents"))
    );
    assert!(auto["message"].is_string());
    let (status, auto) =
        send(stack.admin(Method::POST, &format!("/ticket/{ticket}/autoexecute"))).await;
    assert_eq!((status, auto["success"].clone()), (200, json!(true)), "{auto}");
    assert!(auto.get("failedGate").is_none(), "{auto}");

    let (status, body) = send(stack.agent(Method::DELETE, &format!("/intent/{id}"))).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (status, gone) = send(stack.agent(Method::GET, &format!("/intent/{id}"))).await;
    assert!(status == 404 || gone["intent"]["status"] == "deleted", "{status}: {gone}");
}

#[tokio::test]
async fn an_executed_intent_mails_its_reply_inside_the_tenants_wrapper() {
    let stack = Stack::start().await;
    let (status, _) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200);
    let wrapper = "<p>Dear customer,</p><p>%MESSAGE%</p><i>Mike from your service team</i>";
    let (status, set) =
        send(stack.admin(Method::PUT, "/settings/aiReplyTemplate").json(&wrapper)).await;
    assert_eq!(status, 200, "{set}");
    let ticket = stack
        .create(json!({"channel": "email", "subject": "Meter reading",
            "body": "My meter reading is 12345 kWh, meter number 1ESY1160123456.",
            "from": "reader@example.com"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let intent = stack
        .eventually("the meter reading intent", || async {
            let (_, found) =
                send(stack.agent(Method::GET, &format!("/intent/byTicketId/{ticket}"))).await;
            found["intents"].as_array()?.iter().find(|i| i["code"] == "meter_reading").cloned()
        })
        .await;
    let action = intent["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["recommended"] == true)
        .unwrap_or_else(|| panic!("no recommended option: {intent}"))["type"]
        .clone();

    let (status, ran) = send(
        stack
            .agent(Method::POST, &format!("/intent/{}/execute", intent["id"]))
            .json(&json!({"informCustomer": true, "data": {"_action": action}})),
    )
    .await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!((ran["success"].clone(), ran["sent"].clone()), (json!(true), json!(true)), "{ran}");
    assert_eq!(ran["template"], wrapper, "{ran}");
    let message = ran["message"].as_str().unwrap();
    assert!(message.contains("12345") && !message.contains("Dear customer"), "{ran}");

    let mail = stack
        .eventually("the reply mail", || async {
            stack
                .mail
                .received()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t == "reader@example.com"))
        })
        .await;
    // Quoted-printable may fold long lines; the soft breaks are not part of the text.
    let body = mail.data.replace("=\r\n", "");
    for part in ["Dear customer,", "12345", "Mike from your service team"] {
        assert!(body.contains(part), "{part} missing in {body}");
    }
    assert!(!body.contains("%MESSAGE%"), "{body}");
}

#[tokio::test]
async fn an_autoexecuted_reply_goes_out_inside_the_tenants_wrapper_too() {
    let stack = Stack::start().await;
    let (status, _) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200);
    let wrapper = "<p>Hello,</p><p>%MESSAGE%</p><i>Your dark-processing desk</i>";
    let (status, set) =
        send(stack.admin(Method::PUT, "/settings/aiReplyTemplate").json(&wrapper)).await;
    assert_eq!(status, 200, "{set}");
    let ticket = stack
        .create(json!({"channel": "email", "subject": "Meter reading",
            "body": "My meter reading is 23456 kWh, meter number 1ESY1160123456.",
            "from": "auto@example.com"}))
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
    let (status, auto) =
        send(stack.admin(Method::POST, &format!("/ticket/{ticket}/autoexecute"))).await;
    assert_eq!((status, auto["success"].clone()), (200, json!(true)), "{auto}");

    let mail = stack
        .eventually("the reply mail", || async {
            stack.mail.received().into_iter().find(|m| m.to.iter().any(|t| t == "auto@example.com"))
        })
        .await;
    let body = mail.data.replace("=\r\n", "");
    for part in ["Hello,", "23456", "Your dark-processing desk"] {
        assert!(body.contains(part), "{part} missing in {body}");
    }
    assert!(!body.contains("%MESSAGE%"), "{body}");
}
