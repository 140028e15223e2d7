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

/// A detection of the newer docs: one ticket parameter compared with `Equal`.
fn channel_is(channel: &str) -> Value {
    json!({
        "type": "conditionDetection",
        "customerNeeded": false,
        "conditions": {"id": 1, "operator": "And", "operands": [
            {"id": 11, "operand": 1, "operator": "Equal", "value": channel}]},
        "parameters": [{"id": 1, "key": "channel", "type": "str", "source": "ticket", "sourceKey": "channel"}]
    })
}

#[tokio::test]
async fn tags_in_the_newer_shape_carry_their_validated_detection_details() {
    let stack = Stack::start().await;
    let (status, created) = send(stack.admin(Method::POST, "/tag").json(&json!({
        "name": "Chat", "type": "skill", "detectionDetails": channel_is("chat")})))
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["success"], true);
    let chat = created["id"].as_i64().unwrap();
    let (_, tag) = send(stack.agent(Method::GET, &format!("/tag/{chat}"))).await;
    assert_eq!(tag["fullName"], "Chat", "{tag}");
    assert_eq!(tag["reference"], "ticket");
    assert_eq!(tag["detectionDetails"], channel_is("chat"));
    assert_eq!(tag["assignment"], json!(["assignByTicketProperty"]));
    // The older shape still creates.
    let plain =
        create(&stack, json!({"name": "Plain", "reference": "ticket", "type": "skill"})).await;

    let (status, list) = send(stack.agent(Method::GET, "/tag?format=detection")).await;
    assert_eq!(status, 200, "{list}");
    let rows = list["tags"].as_array().unwrap();
    let row = rows.iter().find(|t| t["id"] == chat).unwrap();
    assert_eq!(row["detectionDetails"], channel_is("chat"), "{row}");
    assert_eq!(row["channels"], json!([]));
    assert!(row.get("color").is_none() && row.get("sla").is_none(), "{row}");
    let row = rows.iter().find(|t| t["id"] == plain).unwrap();
    assert_eq!(row["detectionDetails"], json!({}), "{row}");

    let (status, body) =
        send(stack.agent(Method::GET, "/tag?detectionFilter=conditionDetection")).await;
    assert_eq!((status, body["success"].clone()), (400, json!(false)), "{body}");
    assert!(body["error"].as_str().unwrap().contains("detectionFilter"), "{body}");

    let unknown_parameter = json!({"type": "conditionDetection", "conditions": {"operator": "And",
        "operands": [{"operand": 7, "operator": "Equal", "value": "x"}]}, "parameters": []});
    for (bad, expected) in [
        (json!({"type": "magic"}), 400),
        (json!({"type": "aiDetection", "aiDetection": "cancel"}), 400),
        (json!({"type": "aiDetection", "aiDetection": {"detectionPrompt": 5}}), 400),
        (json!({"type": "aiDetection", "threshold": 0.9}), 400),
        (
            json!({"type": "conditionDetection", "conditions": {"operator": "Xor", "operands": []}}),
            400,
        ),
        (
            json!({"type": "conditionDetection", "conditions": {"operator": "And",
            "operands": [{"operand": 1, "operator": "Resembles", "value": "x"}]},
            "parameters": [{"id": 1, "key": "k", "source": "ticket"}]}),
            400,
        ),
        (
            json!({"type": "conditionDetection", "parameters": [{"id": 1, "key": "k", "source": "moon"}]}),
            400,
        ),
        (json!("aiDetection"), 400),
        (unknown_parameter, 422),
    ] {
        let (status, body) = send(
            stack
                .admin(Method::POST, "/tag")
                .json(&json!({"name": "x", "type": "skill", "detectionDetails": bad})),
        )
        .await;
        assert_eq!(status, expected, "{bad}: {body}");
        assert_eq!(body["success"], false, "{body}");
        assert!(body["error"].as_str().unwrap().contains("detectionDetails"), "{bad}: {body}");
    }
    // The same rules for a change through POST /settings.
    let (_, refused) = send(stack.admin(Method::POST, "/settings").json(&json!({
        format!("_tag[{chat}].detectionDetails"): {"type": "magic"}})))
    .await;
    assert_eq!(refused["results"][0]["code"], "invalid_argument", "{refused}");

    // Permission first: a caller who may not create learns 403, not what is wrong with the body.
    let (status, _) = send(
        stack
            .agent(Method::POST, "/tag")
            .json(&json!({"name": "x", "type": "skill", "detectionDetails": {"type": "magic"}})),
    )
    .await;
    assert_eq!(status, 403);
}

async fn detect(stack: &Stack, tag: i64, body: Value) -> (u16, Value) {
    send(stack.admin(Method::POST, &format!("/tag/{tag}/detect")).json(&body)).await
}

#[tokio::test]
async fn detect_evaluates_a_tags_conditions_on_a_ticket() {
    let stack = Stack::start().await;
    let chat = create(
        &stack,
        json!({"name": "Chat", "type": "skill", "detectionDetails": channel_is("chat")}),
    )
    .await;
    let on = |channel: &str| json!({"channel": channel, "subject": "Hallo", "body": "Eine Frage", "process": "false"});
    let chat_ticket = stack.create(on("chat")).await["id"].as_i64().unwrap();
    let mail_ticket = stack.create(on("email")).await["id"].as_i64().unwrap();

    let (status, hit) = detect(&stack, chat, json!({"ticketId": chat_ticket})).await;
    assert_eq!(status, 200, "{hit}");
    assert_eq!((hit["success"].clone(), hit["match"].clone()), (json!(true), json!(true)), "{hit}");
    assert_eq!(hit["alerts"], json!([]), "{hit}");
    let (status, miss) = detect(&stack, chat, json!({"ticketId": mail_ticket})).await;
    assert_eq!(status, 200, "{miss}");
    assert_eq!(miss["match"], false, "{miss}");
    let alerts = miss["alerts"].as_array().unwrap();
    assert!(alerts.iter().any(|a| a["code"] == "notMatched" && a["operand"] == 1), "{miss}");
    // `data` wins over the ticket's own values.
    let (_, forced) =
        detect(&stack, chat, json!({"ticketId": mail_ticket, "data": {"channel": "chat"}})).await;
    assert_eq!(forced["match"], true, "{forced}");

    // `testTags` stand in for the ticket's tags (the `tag` parameter source).
    let vip = create(&stack, json!({"name": "VIP", "type": "customerProperty"})).await;
    let tagged = create(&stack, json!({"name": "VIP chat", "type": "skill", "detectionDetails": {
        "type": "conditionDetection", "customerNeeded": false,
        "conditions": {"operator": "And", "operands": [{"operand": 2, "operator": "In", "value": [vip]}]},
        "parameters": [{"id": 2, "key": "tags", "type": "list", "source": "tag"}]}})).await;
    let (_, without) = detect(&stack, tagged, json!({"ticketId": chat_ticket})).await;
    assert_eq!(without["match"], false, "{without}");
    let (_, with) =
        detect(&stack, tagged, json!({"ticketId": chat_ticket, "testTags": [vip]})).await;
    assert_eq!(with["match"], true, "{with}");

    // A tag's channels scope it before its conditions; customerNeeded defaults to true.
    let (_, applied) = send(stack.admin(Method::POST, "/settings").json(&json!({
        format!("_tag[{chat}].channels"): ["email"]})))
    .await;
    assert_eq!(applied["results"][0]["applied"], true, "{applied}");
    let (_, scoped) = detect(&stack, chat, json!({"ticketId": chat_ticket})).await;
    assert_eq!(scoped["match"], false, "{scoped}");
    assert!(
        scoped["alerts"].as_array().unwrap().iter().any(|a| a["code"] == "channelNotServed"),
        "{scoped}"
    );
    let mut needs_customer = channel_is("chat");
    needs_customer.as_object_mut().unwrap().remove("customerNeeded");
    let strict = create(
        &stack,
        json!({"name": "Strict", "type": "skill", "detectionDetails": needs_customer}),
    )
    .await;
    let (_, no_customer) = detect(&stack, strict, json!({"ticketId": chat_ticket})).await;
    assert_eq!(no_customer["match"], false, "{no_customer}");
    assert!(
        no_customer["alerts"].as_array().unwrap().iter().any(|a| a["code"] == "customerNeeded"),
        "{no_customer}"
    );
    // A manual tag is never detected, and says so.
    let manual = create(&stack, json!({"name": "Manual", "type": "skill"})).await;
    let (_, never) = detect(&stack, manual, json!({"ticketId": chat_ticket})).await;
    assert_eq!(never["match"], false, "{never}");
    assert_eq!(never["alerts"][0]["code"], "notDetected", "{never}");

    let (status, body) = detect(&stack, 987_654, json!({"ticketId": chat_ticket})).await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")), "{body}");
    let (status, body) = detect(&stack, chat, json!({"ticketId": 987_654})).await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")), "{body}");
    for bad in [
        json!({}),
        json!({"ticketId": "x"}),
        json!({"ticketId": 1, "testTags": "vip"}),
        json!({"ticketId": 1, "data": [1]}),
        json!({"ticketId": 1, "extra": true}),
    ] {
        let (status, body) = detect(&stack, chat, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // Needs updateAiAgent, checked before the body is read; no token is 401.
    let url = format!("/tag/{chat}/detect");
    let (status, body) =
        send(stack.agent(Method::POST, &url).json(&json!({"ticketId": chat_ticket}))).await;
    assert_eq!((status, body["code"].clone()), (403, json!("permission_denied")), "{body}");
    let (status, _) = send(stack.agent(Method::POST, &url).json(&json!({"nonsense": 1}))).await;
    assert_eq!(status, 403);
    let (status, body) = send(
        stack
            .http
            .post(stack.url(&format!("/api/mind{url}")))
            .json(&json!({"ticketId": chat_ticket})),
    )
    .await;
    assert_eq!((status, body["success"].clone()), (401, json!(false)), "{body}");
}

#[tokio::test]
async fn detect_compares_the_message_with_the_tags_detection_prompt() {
    let stack = Stack::start().await;
    let cancel = create(&stack, json!({"name": "Kündigung", "type": "skill", "detectionDetails": {
        "type": "aiDetection", "customerNeeded": false,
        "aiDetection": {"detectionPrompt": "Der Kunde möchte seinen Vertrag kündigen",
            "examples": ["Hiermit kündige ich meinen Stromvertrag", "Bitte beenden Sie meinen Vertrag zum nächstmöglichen Termin",
                "I want to cancel my contract"]}}})).await;
    let ticket = |subject: &str, body: &str| json!({"channel": "email", "subject": subject, "body": body, "process": "false"});
    let quitting = stack
        .create(ticket("Kündigung", "Hiermit kündige ich meinen Vertrag fristgerecht zum 31.12."))
        .await["id"]
        .as_i64()
        .unwrap();
    let reading = stack.create(ticket("Zählerstand", "Mein Zählerstand ist heute 4711 kWh.")).await
        ["id"]
        .as_i64()
        .unwrap();

    let (status, hit) = detect(&stack, cancel, json!({"ticketId": quitting})).await;
    assert_eq!(status, 200, "{hit}");
    assert_eq!(hit["match"], true, "{hit}");
    assert!(hit["aiConfidence"].as_f64().unwrap() >= 0.6, "{hit}");
    let (_, miss) = detect(&stack, cancel, json!({"ticketId": reading})).await;
    assert_eq!(miss["match"], false, "{miss}");
    assert!(miss["aiConfidence"].as_f64().unwrap() < 0.6, "{miss}");

    // Both halves: AI and a condition that fails.
    let both = create(&stack, json!({"name": "Kündigung per Chat", "type": "skill", "detectionDetails": {
        "type": "aiAndConditionDetection", "customerNeeded": false,
        "aiDetection": {"detectionPrompt": "Der Kunde möchte seinen Vertrag kündigen"},
        "conditions": channel_is("chat")["conditions"], "parameters": channel_is("chat")["parameters"]}})).await;
    let (_, and) = detect(&stack, both, json!({"ticketId": quitting})).await;
    assert_eq!(and["match"], false, "{and}");
    assert!(and["alerts"].as_array().unwrap().iter().any(|a| a["code"] == "notMatched"), "{and}");
}
