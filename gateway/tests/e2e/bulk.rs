use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

const SEED: &str = include_str!("fixtures/seed-bulk-patch.json");

/// The one full request of the original documentation, sent byte for byte.
#[tokio::test]
async fn the_seed_bulk_patch_works_as_written() {
    let stack = Stack::start().await;
    // The seed names tag 123 and ticket 376189; make them exist as in the tenant it came from.
    stack.tags(&[123]).await;
    let mut db = stack.db().await;
    sqlx::query("INSERT INTO ticket.ticket (id, channel, status, subject) VALUES (376189, 'email', 'pending', 'old')")
        .execute(&mut db)
        .await
        .unwrap();

    let response = stack
        .http
        .patch(stack.url("/api/mind/ticket"))
        .bearer_auth(&stack.admin_token)
        .header("Content-Type", "application/json")
        .body(SEED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["results"], json!([{"id": 376189, "success": true}]));

    let (_, t) = send(stack.admin(Method::GET, "/ticket/376189?includeCustomer=true")).await;
    let seed: Value = serde_json::from_str(SEED).unwrap();
    let item = &seed[0];
    for key in [
        "from",
        "fromName",
        "to",
        "ccEmails",
        "replyCcEmails",
        "subchannelId",
        "sentiment",
        "language",
        "languageCode",
        "autoExecuteAt",
        "aiSupportLevel",
        "isCustomerActive",
        "interface",
        "priority",
        "channel",
        "channelId",
        "status",
        "summary",
        "subject",
        "bodyPlain",
        "body",
        "isEscalated",
        "createdAt",
        "firstResponseDueBy",
        "dueBy",
        "closedAt",
        "customerId",
        "contractId",
        "partnerId",
        "customerLegitimation",
        "responderId",
        "agentId",
        "assignedAgentIds",
        "attachments",
        "additionalData",
        "template",
        "tags",
    ] {
        assert_eq!(t[key], item[key], "{key}");
    }
    assert_eq!(t["tagIds"], json!([123]));
    // The customer is stored on its own; emailMatches is worked out, not copied: the seed's
    // sender (tom@gmail.com) is not the customer's address (tom@mustermann.de).
    let mut customer = t["customer"].clone();
    assert_eq!(customer["emailMatches"], false);
    let mut expected = item["customer"].clone();
    customer.as_object_mut().unwrap().remove("emailMatches");
    expected.as_object_mut().unwrap().remove("emailMatches");
    assert_eq!(customer, expected);
    assert_eq!(t["customer"]["contracts"][0]["iban"], "DE89370400440532013000");
    assert!(t["modifiedAt"].is_string(), "the write stamps modifiedAt; the seed's null is ignored");

    // Sending the same thing again changes nothing and still succeeds.
    let (_, again) = send(
        stack
            .http
            .patch(stack.url("/api/mind/ticket"))
            .bearer_auth(&stack.admin_token)
            .header("Content-Type", "application/json")
            .body(SEED),
    )
    .await;
    assert_eq!(again["success"], true);
}

#[tokio::test]
async fn each_bulk_item_succeeds_or_fails_on_its_own() {
    let stack = Stack::start().await;
    let a = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    let b = stack.create(json!({"channel": "chat"})).await["id"].as_i64().unwrap();
    let body = json!([
        {"id": a, "priority": "high"},
        {"id": 987654, "priority": "high"},
        {"id": b, "priority": "whenever"},
        {"priority": "high"},
        {"id": b, "status": "closed"},
        {"id": a, "stauts": "closed"}
    ]);
    let (_, response) = send(stack.admin(Method::PATCH, "/ticket").json(&body)).await;
    assert_eq!(response["success"], false);
    let results = response["results"].as_array().unwrap();
    let outcome: Vec<(Value, bool, Value)> = results
        .iter()
        .map(|r| (r["id"].clone(), r["success"].as_bool().unwrap(), r["code"].clone()))
        .collect();
    assert_eq!(
        outcome,
        vec![
            (json!(a), true, Value::Null),
            (json!(987654), false, json!("not_found")),
            (json!(b), false, json!("invalid_argument")),
            (Value::Null, false, json!("invalid_argument")),
            (json!(b), true, Value::Null),
            (json!(a), false, json!("invalid_argument")),
        ]
    );
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{b}"))).await;
    assert_eq!(t["status"], "closed");
    assert_eq!(t["priority"], "low");
}

#[tokio::test]
async fn bulk_items_check_permissions_per_item() {
    let stack = Stack::start().await;
    let a =
        stack.create(json!({"channel": "email", "subject": "keep"})).await["id"].as_i64().unwrap();
    let body = json!([{"id": a, "subject": "changed"}, {"id": a, "priority": "medium"}]);
    let (_, response) = send(stack.agent(Method::PATCH, "/ticket").json(&body)).await;
    assert_eq!(response["results"][0]["code"], "permission_denied");
    assert_eq!(response["results"][1]["success"], true);
}
