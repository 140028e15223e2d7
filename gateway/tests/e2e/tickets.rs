use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

#[tokio::test]
async fn create_applies_contract_defaults_and_get_returns_the_same_ticket() {
    let stack = Stack::start().await;
    let created = stack
        .create(json!({"channel": "email", "subject": "Meter reading", "from": "tom@example.com"}))
        .await;
    assert_eq!(created["success"], true);
    assert_eq!(created["direction"], "in");
    assert_eq!(created["status"], "open");
    assert_eq!(created["priority"], "low");
    assert_eq!(created["interface"], "internal");
    assert_eq!(created["aiSupportLevel"], "unprocessed");
    assert_eq!(created["replyRecipients"]["to"], json!(["tom@example.com"]));
    let created_at = created["createdAt"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(created_at, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{created_at}"
    );

    let id = created["id"].as_i64().unwrap();
    let (status, fetched) =
        send(stack.admin(Method::GET, &format!("/ticket/{id}?viewing=false"))).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn every_field_is_stored_and_returned_in_contract_formats() {
    let stack = Stack::start().await;
    stack.tags(&[2, 123]).await;
    let customer = json!({"id": 83771, "firstname": "Tom", "phone": 49123456789u64,
        "tags": [{"id": 2, "color": "green", "name": "VIP"}],
        "contracts": [{"id": 746839, "iban": "DE89370400440532013000", "unpaidDebt": 109.21}]});
    let attachments =
        json!([{"id": "103013960646,", "name": "IMG.jpg", "size": 2292952, "inline": false}]);
    let tags = json!([{"id": 123, "name": "Complaint", "fullName": "Second Level: Complaint"}]);
    let body = json!({
        "channel": "chat", "direction": "in", "from": "tom@gmail.com", "fromName": "Tom",
        "to": ["service@energy.com"], "cc": ["cc@energy.com"], "replyCcEmails": ["r@example.com"],
        "subchannelId": 123, "externalTicketId": "ext-1", "sentiment": "positive",
        "language": "English", "languageCode": "en", "autoExecuteAt": "2023-11-07T05:31:56Z",
        "aiSupportLevel": "human", "isCustomerActive": true, "priority": "urgent",
        "channelId": "32291c7e-1cce-4d4c-8269-15e6a6501466", "status": "open",
        "summary": "Relocation", "subject": "I move", "body": "<p>Hi</p>", "bodyPlain": "Hi",
        "isEscalated": true, "createdAt": "2022-12-13 22:18:06",
        "firstResponseDueBy": "2022-12-14 22:18:06", "dueBy": 1671142686,
        "customer": customer, "customerId": 83771, "contractId": "746839", "partnerId": 123,
        "customerLegitimation": 30, "agentId": 7, "assignedAgentIds": [123],
        "attachments": attachments, "additionalData": {"k": "v"}, "rawData": {"source": "mail"},
        "template": "<string>", "tags": tags, "callDurationSeconds": 42
    });
    let created = stack.create(body).await;
    let id = created["id"].as_i64().unwrap();
    let (_, t) = send(
        stack.admin(Method::GET, &format!("/ticket/{id}?includeCustomer=true&includeRawData=true")),
    )
    .await;
    assert_eq!(t["channel"], "chat");
    assert_eq!(t["fromName"], "Tom");
    assert_eq!(t["to"], json!(["service@energy.com"]));
    assert_eq!(t["ccEmails"], json!(["cc@energy.com"]));
    assert_eq!(t["replyCcEmails"], json!(["r@example.com"]));
    assert_eq!(t["subchannelId"], 123);
    assert_eq!(t["externalTicketId"], "ext-1");
    assert_eq!(t["autoExecuteAt"], "2023-11-07T05:31:56Z");
    assert_eq!(t["aiSupportLevel"], "human");
    assert_eq!(t["isCustomerActive"], true);
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["isEscalated"], true);
    assert_eq!(t["createdAt"], "2022-12-13 22:18:06");
    assert_eq!(t["firstResponseDueBy"], "2022-12-14 22:18:06");
    assert_eq!(t["dueBy"], "2022-12-15 22:18:06");
    let mut stored = t["customer"].clone();
    assert_eq!(stored["emailMatches"], Value::Null, "the customer has no e-mail on record");
    stored.as_object_mut().unwrap().remove("emailMatches");
    assert_eq!(stored, customer);
    assert_eq!(t["customerId"], "83771");
    assert_eq!(t["contractId"], "746839");
    assert_eq!(t["customerLegitimation"], 30);
    assert_eq!(t["agentId"], 7);
    assert_eq!(t["assignedAgentIds"], json!([123]));
    assert_eq!(t["attachments"], attachments);
    assert_eq!(t["additionalData"], json!({"k": "v"}));
    assert_eq!(t["rawData"], json!({"source": "mail"}));
    assert_eq!(t["template"], "<string>");
    assert_eq!(t["tags"], tags);
    assert_eq!(t["tagIds"], json!([123]));
    assert_eq!(t["callDurationSeconds"], 42);

    // Without the flags the customer is compact and rawData is left out.
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    assert_eq!(
        t["customer"],
        json!({"tagIds": [2], "tags": [{"id": 2, "color": "green", "name": "VIP"}]})
    );
    assert_eq!(t["rawData"], Value::Null);
}

#[tokio::test]
async fn create_with_a_known_external_id_updates_instead_of_duplicating() {
    let stack = Stack::start().await;
    let first = stack
        .create(json!({"channel": "email", "externalTicketId": "fd-42", "subject": "One"}))
        .await;
    let second = stack
        .create(json!({"channel": "email", "externalTicketId": "fd-42", "subject": "Two"}))
        .await;
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["subject"], "Two");
    let (_, page) = send(stack.admin(Method::POST, "/ticket/search").json(&json!({
        "filters": [{"key": "t.externalTicketId", "comparator": "=", "value": "fd-42"}]
    })))
    .await;
    assert_eq!(page["total"], 1);
}

#[tokio::test]
async fn patch_answers_success_and_ticket_and_enforces_the_rules() {
    let stack = Stack::start().await;
    let created = stack.create(json!({"channel": "email"})).await;
    let id = created["id"].as_i64().unwrap();

    let (status, body) = send(
        stack.admin(Method::PATCH, &format!("/ticket/{id}")).json(&json!({"status": "pending"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "unprocessable");

    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"status": "pending", "dueBy": "2001-01-01 00:00:00"})),
    )
    .await;
    assert_eq!(status, 422, "a past dueBy does not snooze");

    let due = (chrono::Utc::now() + chrono::Duration::days(2)).timestamp();
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"status": "pending", "dueBy": due})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["ticket"]["status"], "pending");
    assert!(body["ticket"]["modifiedAt"].is_string());

    let (status, body) = send(
        stack.admin(Method::PATCH, &format!("/ticket/{id}")).json(&json!({"direction": "out"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"spamStatus": "manual_spam"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["ticket"]["status"], "closed");
    assert!(body["ticket"]["closedAt"].is_string());

    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"dueBy": null, "status": "open"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ticket"]["dueBy"], Value::Null);
    assert_eq!(body["ticket"]["closedAt"], Value::Null);
}

#[tokio::test]
async fn if_match_with_a_stale_version_is_409_and_writes_nothing() {
    let stack = Stack::start().await;
    let created = stack.create(json!({"channel": "email"})).await;
    let id = created["id"].as_i64().unwrap();
    let response = stack.admin(Method::GET, &format!("/ticket/{id}")).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();

    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .header("If-Match", &etag)
            .json(&json!({"priority": "high"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .header("If-Match", &etag)
            .json(&json!({"priority": "urgent"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "conflict");
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    assert_eq!(t["priority"], "high");
}

#[tokio::test]
async fn bad_input_is_a_json_4xx_never_a_500() {
    let stack = Stack::start().await;
    let cases: Vec<(Method, &str, Option<&str>, u16)> = vec![
        (Method::GET, "/ticket/abc", None, 400),
        (Method::GET, "/ticket/-5", None, 400),
        (Method::GET, "/ticket/999999", None, 404),
        (Method::POST, "/ticket", Some("{"), 400),
        (Method::POST, "/ticket", Some("{}"), 400),
        (Method::POST, "/ticket", Some(r#"{"channel":"fax"}"#), 400),
        (Method::POST, "/ticket", Some(r#"{"channel":"email","stauts":"open"}"#), 400),
        (Method::POST, "/ticket", Some(r#"{"channel":"email","priority":7}"#), 400),
        (Method::POST, "/ticket", Some(r#"{"channel":"email","dueBy":"tomorrow"}"#), 400),
        (
            Method::POST,
            "/ticket",
            Some(r#"{"channel":"email","customer":{"unclosed":1}, "rawData": 1e999}"#),
            400,
        ),
        (Method::POST, "/ticket?process=later", Some(r#"{"channel":"email"}"#), 400),
        (Method::POST, "/ticket", Some(r#"{"channel":"email","status":"pending"}"#), 422),
        (Method::GET, "/ticket/999999/history", None, 404),
        (Method::POST, "/ticket", Some(r#"[1,2]"#), 400),
        (Method::PATCH, "/ticket/999999", Some(r#"{"priority":"high"}"#), 404),
        (Method::PATCH, "/ticket/1?includeInWorklog=maybe", Some(r#"{"priority":"high"}"#), 400),
        (Method::PATCH, "/ticket?forceAgentReassignment=2", Some(r#"[]"#), 400),
        (Method::PATCH, "/ticket", Some(r#"{"id":1}"#), 400),
    ];
    for (method, path, body, expected) in cases {
        let mut request = stack.admin(method.clone(), path);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let json: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON: {e}"));
        assert_eq!(status, expected, "{method} {path} {body:?}: {json}");
        assert_eq!(json["success"], false, "{method} {path}");
        assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}
