//! Tags: a tree with derived full names and inherited visibility.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

async fn create(stack: &Stack, body: Value) -> i64 {
    let (status, created) = send(stack.admin(Method::POST, "/tag").json(&body)).await;
    assert_eq!(status, 200, "{body}: {created}");
    assert_eq!(created["success"], true);
    created["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_tag_tree_with_full_names_and_inherited_visibility() {
    let stack = Stack::start().await;
    let level =
        create(&stack, json!({"name": "Second Level", "reference": "ticket", "type": "skill"}))
            .await;
    let complaint = create(
        &stack,
        json!({"name": "Complaint", "reference": "ticket", "type": "skill", "parent": level}),
    )
    .await;
    let vip = create(&stack, json!({"name": "VIP", "reference": "customer", "type": "customerProperty", "color": "green", "sla": 2})).await;

    let (status, tag) = send(stack.agent(Method::GET, &format!("/tag/{complaint}"))).await;
    assert_eq!(status, 200, "{tag}");
    assert_eq!(tag["fullName"], "Second Level: Complaint");
    assert_eq!(tag["visibility"], "public");
    assert_eq!(tag["sla"], 8);
    assert_eq!(tag["priority"], "do-not-change");

    let (_, list) = send(stack.agent(Method::GET, "/tag?q=complaint")).await;
    assert_eq!(list["tags"].as_array().unwrap().len(), 1);
    let (_, skills) = send(stack.agent(Method::GET, "/tag?type=skill&format=short")).await;
    assert_eq!(skills["tags"].as_array().unwrap().len(), 2);
    assert!(skills["tags"][0].get("sla").is_none(), "short rows are short");

    let (status, tree) = send(stack.agent(Method::GET, "/tag/tree")).await;
    assert_eq!(status, 200);
    assert_eq!(tree.as_array().unwrap().len(), 2, "two roots");
    assert_eq!(tree[0]["children"][0]["id"], complaint);

    // Updates go through POST /settings; the derived names follow.
    let (_, applied) = send(stack.admin(Method::POST, "/settings").json(&json!({
        format!("_tag[{level}].name"): "2nd Level",
        format!("_tag[{vip}].channels"): ["email", "chat"],
        format!("_tag[{vip}].detectionDetails"): {"type": "aiDetection"},
    })))
    .await;
    assert!(
        applied["results"].as_array().unwrap().iter().all(|r| r["applied"] == true),
        "{applied}"
    );
    let (_, tag) = send(stack.agent(Method::GET, &format!("/tag/{complaint}"))).await;
    assert_eq!(tag["fullName"], "2nd Level: Complaint");
    let (_, tag) = send(stack.agent(Method::GET, &format!("/tag/{vip}"))).await;
    assert_eq!(tag["assignment"], json!(["assignByChannel", "assignByAI"]));
    let (status, group) =
        send(stack.agent(Method::GET, &format!("/settings/category/tag_{vip}"))).await;
    assert_eq!(status, 200, "{group}");
    let props = group["groups"][0]["settings"].as_array().unwrap();
    let channels = props.iter().find(|p| p["name"] == format!("_tag[{vip}].channels")).unwrap();
    assert_eq!(channels["value"], json!(["email", "chat"]));
    let (status, _) = send(stack.agent(Method::GET, "/settings/category/tag_99999")).await;
    assert_eq!(status, 404);

    // A disabled parent hides its children.
    send(
        stack
            .admin(Method::POST, "/settings")
            .json(&json!({format!("_tag[{level}].visibility"): "disabled"})),
    )
    .await;
    let (status, _) = send(stack.agent(Method::GET, &format!("/tag/{complaint}"))).await;
    assert_eq!(status, 404);
    let (_, visible) = send(stack.agent(Method::GET, "/tag")).await;
    assert_eq!(visible["tags"].as_array().unwrap().len(), 1);
    let (_, all) = send(stack.agent(Method::GET, "/tag?includeDisabled=true")).await;
    assert_eq!(all["tags"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn tags_are_validated_and_trees_stay_trees() {
    let stack = Stack::start().await;
    let root =
        create(&stack, json!({"name": "Root", "reference": "ticket", "type": "skill"})).await;
    let child = create(
        &stack,
        json!({"name": "Child", "reference": "ticket", "type": "skill", "parent": root}),
    )
    .await;
    for bad in [
        json!({"name": "", "reference": "ticket", "type": "skill"}),
        json!({"name": "x", "reference": "invoice", "type": "skill"}),
        json!({"name": "x", "type": "colour"}),
        json!({"name": "x", "type": "skill", "color": "pink"}),
        json!({"name": "x", "type": "skill", "nickname": "y"}),
    ] {
        let (status, body) = send(stack.admin(Method::POST, "/tag").json(&bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = send(
        stack
            .admin(Method::POST, "/tag")
            .json(&json!({"name": "x", "type": "skill", "parent": 9999})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) =
        send(stack.agent(Method::POST, "/tag").json(&json!({"name": "x", "type": "skill"}))).await;
    assert_eq!(status, 403);

    let (_, refused) = send(stack.admin(Method::POST, "/settings").json(&json!({
        format!("_tag[{root}].parent"): child,
        format!("_tag[{root}].visibility"): "hidden",
        format!("_tag[{root}].sla"): -1,
    })))
    .await;
    let codes: Vec<&Value> =
        refused["results"].as_array().unwrap().iter().map(|r| &r["code"]).collect();
    assert_eq!(codes, vec![&json!("invalid_argument"); 3], "{refused}");

    let (status, _) = send(stack.admin(Method::DELETE, &format!("/tag/{root}"))).await;
    assert_eq!(status, 409, "a parent with children stays");
    let (status, _) = send(stack.admin(Method::DELETE, &format!("/tag/{child}"))).await;
    assert_eq!(status, 200);
    let (status, _) = send(stack.admin(Method::DELETE, &format!("/tag/{root}"))).await;
    assert_eq!(status, 200);
    let (status, _) = send(stack.admin(Method::GET, &format!("/tag/{root}"))).await;
    assert_eq!(status, 404);
    let (status, _) = send(stack.admin(Method::GET, "/tag?format=huge")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn tickets_carry_only_tags_that_exist() {
    let stack = Stack::start().await;
    // Created a moment ago: usable at once (settings-svc answers before the event arrives).
    let billing = create(&stack, json!({"name": "Billing", "type": "skill"})).await;
    let (status, body) = send(
        stack
            .admin(Method::POST, "/ticket")
            .json(&json!({"channel": "email", "tagIds": [billing]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ticket = body["id"].as_i64().unwrap();

    let (status, body) = send(
        stack
            .admin(Method::POST, "/ticket")
            .json(&json!({"channel": "email", "tagIds": [billing, 424242]})),
    )
    .await;
    assert_eq!((status, body["code"].clone()), (400, json!("invalid_argument")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("424242"), "{body}");
    let (status, _) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{ticket}"))
            .json(&json!({"addTagIds": [424242]})),
    )
    .await;
    assert_eq!(status, 400);
    let (_, bulk) = send(
        stack.admin(Method::PATCH, "/ticket").json(&json!([{"id": ticket, "tagIds": [424242]}])),
    )
    .await;
    assert_eq!(bulk["results"][0]["code"], "invalid_argument", "{bulk}");

    // A deleted tag cannot be put on a ticket; tickets that have it stay writable.
    let legacy = create(&stack, json!({"name": "Legacy", "type": "skill"})).await;
    let (_, kept) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{ticket}"))
            .json(&json!({"addTagIds": [legacy]})),
    )
    .await;
    assert_eq!(kept["ticket"]["tagIds"], json!([billing, legacy]), "{kept}");
    let (status, _) = send(stack.admin(Method::DELETE, &format!("/tag/{legacy}"))).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{ticket}"))
            .json(&json!({"subject": "still fine"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // ticket-svc learns of the deletion through its tag cache's event: eventually, not at once.
    stack
        .eventually("the deleted tag to be refused", || async {
            let (status, _) = send(
                stack
                    .admin(Method::POST, "/ticket")
                    .json(&json!({"channel": "email", "tagIds": [legacy]})),
            )
            .await;
            (status == 400).then_some(())
        })
        .await;
}
