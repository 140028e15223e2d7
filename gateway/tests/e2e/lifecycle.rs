//! Delete, presence, activity trail, idempotency keys and concurrency preconditions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

#[tokio::test]
async fn delete_needs_permission_and_erases_the_ticket_everywhere() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    stack
        .eventually("the ticket in the stats", || async {
            let (_, s) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            (s["total"] == 1).then_some(())
        })
        .await;

    let (status, body) = send(stack.agent(Method::DELETE, &format!("/ticket/{id}"))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = send(stack.admin(Method::DELETE, &format!("/ticket/{id}"))).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (status, _) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    assert_eq!(status, 404);
    let (status, _) = send(stack.admin(Method::DELETE, &format!("/ticket/{id}"))).await;
    assert_eq!(status, 404);
    let (status, _) = send(stack.admin(Method::GET, &format!("/ticket/{id}/activity"))).await;
    assert_eq!(status, 404);

    stack
        .eventually("the stats without the deleted ticket", || async {
            let (_, s) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            (s["total"] == 0 && s["byStatus"] == json!({})).then_some(())
        })
        .await;
    let mut db = stack.db().await;
    let trail: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.activity WHERE ticket_id = $1")
            .bind(id)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(trail, 0, "the activity trail goes with the ticket");
}

#[tokio::test]
async fn ping_and_viewing_show_who_works_on_a_ticket() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();

    // Reading without viewing registers nobody.
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}?viewing=false"))).await;
    assert_eq!(t["workedOnBy"], json!([]));

    let (status, pinged) = send(stack.agent(Method::GET, &format!("/ticket/{id}/ping"))).await;
    assert_eq!(status, 200);
    assert_eq!(pinged["success"], true);
    assert_eq!(pinged["workedOnBy"].as_array().unwrap().len(), 1);
    assert_eq!(pinged["workedOnBy"][0]["id"], 2);
    assert!(pinged["workedOnBy"][0]["lastSeen"].is_string());

    // Opening the ticket (viewing defaults to true) registers the admin too.
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    let mut ids: Vec<i64> =
        t["workedOnByIds"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2]);

    // An agent who stopped pinging drops out.
    let mut db = stack.db().await;
    sqlx::query(
        "UPDATE ticket.presence SET expires_at = now() - interval '1 second' WHERE user_id = 2",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let (_, pinged) = send(stack.admin(Method::GET, &format!("/ticket/{id}/ping"))).await;
    let ids: Vec<&Value> =
        pinged["workedOnBy"].as_array().unwrap().iter().map(|u| &u["id"]).collect();
    assert_eq!(ids, vec![&json!(1)]);

    let (status, _) = send(stack.admin(Method::GET, "/ticket/424242/ping")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn activity_lists_what_happened_newest_first() {
    let stack = Stack::start().await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    send(
        stack
            .agent(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"priority": "high", "status": "closed"})),
    )
    .await;

    let trail = stack
        .eventually("two activities", || async {
            let (_, a) = send(stack.admin(Method::GET, &format!("/ticket/{id}/activity"))).await;
            (a["total"] == 2).then_some(a)
        })
        .await;
    let latest = &trail["activities"][0];
    assert_eq!(latest["type"], "ticketUpdated");
    assert_eq!(latest["userId"], 2);
    assert_eq!(latest["data"]["changedFields"], json!(["closedAt", "priority", "status"]));
    assert_eq!(latest["message"], "Ticket updated: closedAt, priority, status");
    assert!(latest.get("technical").is_none());
    assert_eq!(trail["activities"][1]["type"], "ticketCreated");
    assert_eq!(trail["activities"][1]["userId"], 1);

    let (status, _) = send(
        stack.agent(Method::GET, &format!("/ticket/{id}/activity?showTechnicalInformation=true")),
    )
    .await;
    assert_eq!(status, 403);
    let (status, technical) = send(stack.admin(
        Method::GET,
        &format!("/ticket/{id}/activity?showTechnicalInformation=true&limit=1"),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(technical["activities"].as_array().unwrap().len(), 1);
    assert_eq!(technical["activities"][0]["technical"]["version"], 2);
    assert!(technical["activities"][0]["technical"]["eventId"].as_str().unwrap().len() == 36);
}

#[tokio::test]
async fn an_idempotency_key_makes_retries_write_nothing() {
    let stack = Stack::start().await;
    let create = |body: Value| {
        stack.admin(Method::POST, "/ticket").header("Idempotency-Key", "create-1").json(&body)
    };
    let (status, first) = send(create(json!({"channel": "email", "subject": "Once"}))).await;
    assert_eq!(status, 200);
    let (status, second) = send(create(json!({"channel": "email", "subject": "Once"}))).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);
    let (status, body) = send(create(json!({"channel": "chat"}))).await;
    assert_eq!(status, 422, "a reused key with another body: {body}");
    // Keys are per caller: the agent's "create-1" is its own.
    let (status, other) = send(
        stack
            .agent(Method::POST, "/ticket")
            .header("Idempotency-Key", "create-1")
            .json(&json!({"channel": "email"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(other["id"], first["id"]);

    let id = first["id"].as_i64().unwrap();
    let bulk = || {
        stack
            .admin(Method::PATCH, "/ticket")
            .header("Idempotency-Key", "bulk-1")
            .json(&json!([{"id": id, "priority": "urgent"}]))
    };
    let (_, first_bulk) = send(bulk()).await;
    // Someone else changes the ticket; a retry of the bulk must not undo that.
    send(stack.admin(Method::PATCH, &format!("/ticket/{id}")).json(&json!({"priority": "low"})))
        .await;
    let (_, retried) = send(bulk()).await;
    assert_eq!(first_bulk, retried);
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    assert_eq!(t["priority"], "low");

    let mut db = stack.db().await;
    let tickets: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.ticket").fetch_one(&mut db).await.unwrap();
    assert_eq!(tickets, 2);
}

#[tokio::test]
async fn a_stale_modified_at_is_409_and_tags_change_by_delta() {
    let stack = Stack::start().await;
    stack.tags(&[1, 2, 3]).await;
    let id =
        stack.create(json!({"channel": "email", "tagIds": [1, 2]})).await["id"].as_i64().unwrap();
    let (_, updated) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"addTagIds": [3], "removeTagIds": [1]})),
    )
    .await;
    assert_eq!(updated["ticket"]["tagIds"], json!([2, 3]));
    let modified_at = updated["ticket"]["modifiedAt"].clone();

    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"tagIds": [5], "addTagIds": [6]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"priority": "high", "modifiedAt": modified_at})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"priority": "medium", "modifiedAt": "2020-01-01 00:00:00"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (_, t) = send(stack.admin(Method::GET, &format!("/ticket/{id}"))).await;
    assert_eq!(t["priority"], "high");
}
