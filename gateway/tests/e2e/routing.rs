//! `POST /ticket/getLatest`: the caller's queue, its order, and claims under concurrency.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, agent_token, send};

async fn next_as(stack: &Stack, token: &str, body: Value) -> (u16, Value) {
    let response = stack
        .http
        .post(stack.url("/api/mind/ticket/getLatest"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn next_id(stack: &Stack, token: &str) -> Option<i64> {
    let (status, body) = next_as(stack, token, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    body["ticketId"].as_i64()
}

async fn ticket(stack: &Stack, body: Value) -> i64 {
    stack.create(body).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_queue_honours_skills_exclusions_state_and_due_dates() {
    let stack = Stack::start().await;
    stack.tags(&[1, 2, 9]).await;
    let later =
        ticket(&stack, json!({"channel": "email", "tagIds": [1], "dueBy": "2031-01-01 00:00:00"}))
            .await;
    let overdue =
        ticket(&stack, json!({"channel": "email", "tagIds": [1], "dueBy": "2020-01-01 00:00:00"}))
            .await;
    let untagged = ticket(&stack, json!({"channel": "chat", "dueBy": "2030-01-01 00:00:00"})).await;
    let no_due = ticket(&stack, json!({"channel": "email", "tagIds": [1]})).await;
    ticket(&stack, json!({"channel": "email", "tagIds": [2], "dueBy": "2019-01-01 00:00:00"}))
        .await;
    ticket(&stack, json!({"channel": "email", "tagIds": [1, 9], "dueBy": "2019-01-01 00:00:00"}))
        .await;
    ticket(&stack, json!({"channel": "email", "status": "closed", "dueBy": "2019-01-01 00:00:00"}))
        .await;
    ticket(
        &stack,
        json!({"channel": "email", "spamStatus": "auto_spam", "dueBy": "2019-01-01 00:00:00"}),
    )
    .await;
    ticket(&stack, json!({"channel": "email", "agentId": 77, "dueBy": "2019-01-01 00:00:00"}))
        .await;

    // Skill 1, never tag 9: most overdue first, no due date last.
    let agent = agent_token(10, Some(vec![1]), vec![9]);
    let mut served = Vec::new();
    while let Some(id) = next_id(&stack, &agent).await {
        assert!(!served.contains(&id), "{id} served twice to its holder");
        served.push(id);
        // Done with it: closing takes it out of the queue.
        stack
            .admin(Method::PATCH, &format!("/ticket/{id}"))
            .json(&json!({"status": "closed"}))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(served, vec![overdue, untagged, later, no_due]);
}

#[tokio::test]
async fn tickets_assigned_to_the_caller_come_first_and_match_all_is_stricter() {
    let stack = Stack::start().await;
    stack.tags(&[1, 2, 3, 5]).await;
    ticket(&stack, json!({"channel": "email", "dueBy": "2020-01-01 00:00:00"})).await;
    // Assigned to agent 11 and outside its skills: still first.
    let mine = ticket(
        &stack,
        json!({"channel": "email", "agentId": 11, "tagIds": [5], "dueBy": "2030-01-01 00:00:00"}),
    )
    .await;
    let agent = agent_token(11, Some(vec![1]), Vec::new());
    assert_eq!(next_id(&stack, &agent).await, Some(mine));
}

#[tokio::test]
async fn two_agents_asking_at_once_never_get_the_same_ticket() {
    let stack = Stack::start().await;
    let mut created = Vec::new();
    for _ in 0..4 {
        created.push(ticket(&stack, json!({"channel": "email"})).await);
    }
    let (a, b) = (agent_token(21, None, Vec::new()), agent_token(22, None, Vec::new()));
    for _ in 0..2 {
        let (x, y) = tokio::join!(next_id(&stack, &a), next_id(&stack, &b));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_ne!(x, y, "both agents got ticket {x}");
        // The holders keep their tickets: asking again returns the same one.
        assert_eq!(next_id(&stack, &a).await, Some(x));
        assert_eq!(next_id(&stack, &b).await, Some(y));
        for id in [x, y] {
            stack
                .admin(Method::PATCH, &format!("/ticket/{id}"))
                .json(&json!({"status": "closed"}))
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(next_id(&stack, &a).await, None, "all four were served");
}

#[tokio::test]
async fn a_ticket_whose_agent_stopped_pinging_is_offered_again() {
    let stack = Stack::start().await;
    let id = ticket(&stack, json!({"channel": "email"})).await;
    let (a, b) = (agent_token(31, None, Vec::new()), agent_token(32, None, Vec::new()));
    assert_eq!(next_id(&stack, &a).await, Some(id));
    assert_eq!(next_id(&stack, &b).await, None, "held by agent 31");
    let mut db = stack.db().await;
    sqlx::query(
        "UPDATE ticket.presence SET expires_at = now() - interval '1 second' WHERE user_id = 31",
    )
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(next_id(&stack, &b).await, Some(id));

    let trail = stack
        .eventually("the routing in the activity trail", || async {
            let (_, a) = send(stack.admin(Method::GET, &format!("/ticket/{id}/activity"))).await;
            (a["total"] == 3).then_some(a)
        })
        .await;
    assert_eq!(trail["activities"][0]["type"], "ticketRouted");
    assert_eq!(trail["activities"][0]["userId"], 32);
}

#[tokio::test]
async fn next_and_previous_walk_the_queue() {
    let stack = Stack::start().await;
    let first = ticket(&stack, json!({"channel": "email", "dueBy": "2020-01-01 00:00:00"})).await;
    let second = ticket(&stack, json!({"channel": "email", "dueBy": "2021-01-01 00:00:00"})).await;
    let third = ticket(&stack, json!({"channel": "email", "dueBy": "2022-01-01 00:00:00"})).await;
    let agent = agent_token(41, None, Vec::new());
    let (_, body) =
        next_as(&stack, &agent, json!({"preferredDirection": "next", "ticketId": first})).await;
    assert_eq!(body["ticketId"], second);
    let (_, body) =
        next_as(&stack, &agent, json!({"preferredDirection": "next", "ticketId": second})).await;
    assert_eq!(body["ticketId"], third);
    let (_, body) =
        next_as(&stack, &agent, json!({"preferredDirection": "previous", "ticketId": third})).await;
    assert_eq!(body["ticketId"], second);
    let (_, body) = next_as(
        &stack,
        &agent,
        json!({"filters": [{"key": "t.id", "comparator": "=", "value": third}]}),
    )
    .await;
    assert_eq!(body["ticketId"], third);

    for bad in [
        json!({"preferredDirection": "sideways"}),
        json!({"preferredDirection": "next"}),
        json!({"ticketId": "x"}),
        json!({"filters": [{"key": "t.nope", "comparator": "=", "value": 1}]}),
    ] {
        let (status, body) = next_as(&stack, &agent, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // No body at all is the plain "earliest" request.
    let response = stack
        .http
        .post(stack.url("/api/mind/ticket/getLatest"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn tags_that_do_not_route_are_ignored_by_routing_and_the_routing_view() {
    let stack = Stack::start().await;
    let create_tag = |name: &'static str| {
        let stack = &stack;
        async move {
            let (_, created) = send(
                stack.admin(Method::POST, "/tag").json(&json!({"name": name, "type": "skill"})),
            )
            .await;
            created["id"].as_i64().unwrap()
        }
    };
    let billing = create_tag("Billing").await;
    let newsletter = create_tag("Newsletter").await;
    // Tagged with a skill the agent lacks: not theirs …
    let id = ticket(&stack, json!({"channel": "email", "tagIds": [newsletter]})).await;
    let agent = agent_token(61, Some(vec![billing]), Vec::new());
    assert_eq!(next_id(&stack, &agent).await, None);

    // … until that tag stops mattering for routing: then the ticket counts as untagged.
    stack
        .admin(Method::POST, "/settings")
        .json(&json!({format!("_tag[{newsletter}].routingRelevance"): false}))
        .send()
        .await
        .unwrap();
    let served = stack
        .eventually("routing to ignore the tag", || async { next_id(&stack, &agent).await })
        .await;
    assert_eq!(served, id);

    let (_, page) =
        send(stack.admin(Method::POST, "/ticket/search").json(&json!({"ticketScope": "skills"})))
            .await;
    assert_eq!(page["tickets"][0]["tagIds"], json!([]), "the routing view leaves the tag out");
    let (_, page) = send(stack.admin(Method::POST, "/ticket/search").json(&json!({}))).await;
    assert_eq!(page["tickets"][0]["tagIds"], json!([newsletter]), "the ticket keeps it");
}

#[tokio::test]
async fn a_users_routing_is_explained_ticket_by_ticket() {
    let stack = Stack::start().await;
    stack.tags(&[1, 2, 3]).await;
    crate::identity::separate_ids(&stack).await;
    let user = crate::identity::new_user(&stack, "explain@example.com", 2, json!([1])).await;
    send(
        stack
            .admin(Method::PATCH, &format!("/profile/{user}"))
            .json(&json!({"settings": {"excludedTagIds": [3]}})),
    )
    .await;
    let first =
        ticket(&stack, json!({"channel": "email", "tagIds": [1], "dueBy": "2020-01-01 00:00:00"}))
            .await;
    let untagged =
        ticket(&stack, json!({"channel": "email", "dueBy": "2030-01-01 00:00:00"})).await;
    let other_skill = ticket(&stack, json!({"channel": "email", "tagIds": [2]})).await;
    let excluded = ticket(&stack, json!({"channel": "email", "tagIds": [1, 3]})).await;
    let closed =
        ticket(&stack, json!({"channel": "email", "tagIds": [1], "status": "closed"})).await;
    let theirs = ticket(&stack, json!({"channel": "email", "tagIds": [2], "agentId": 77})).await;

    let explain = |query: String| {
        let stack = &stack;
        async move { send(stack.admin(Method::GET, &format!("/profile/{user}/routing{query}"))).await }
    };
    let (status, queue) = explain(String::new()).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["settings"]["skills"], json!([1]));
    assert_eq!(queue["matching"], "matchAny");
    assert_eq!(queue["total"], 2);
    assert_eq!(queue["tickets"][0]["ticketId"], first);
    assert_eq!(queue["tickets"][1]["ticketId"], untagged);
    assert!(queue["tickets"][1]["reason"].as_str().unwrap().contains("untagged"), "{queue}");
    let (_, page) = explain("?limit=1&offset=1".into()).await;
    assert_eq!(
        (page["tickets"][0]["position"].clone(), page["limit"].clone()),
        (json!(1), json!(1))
    );

    let verdict = |query: i64| {
        let explain = &explain;
        async move {
            let (status, body) = explain(format!("?ticketId={query}")).await;
            assert_eq!(status, 200, "{body}");
            let reasons = body["ticket"]["reasons"].as_array().unwrap().iter();
            let reasons: Vec<String> = reasons.map(|r| r.as_str().unwrap().to_owned()).collect();
            (body["ticket"]["routable"].as_bool().unwrap(), reasons.join("; "))
        }
    };
    let (routable, why) = verdict(first).await;
    assert!(routable && why.contains("skills of the user"), "{why}");
    let (routable, why) = verdict(other_skill).await;
    assert!(!routable && why.contains("none of its tags (2)"), "{why}");
    let (routable, why) = verdict(excluded).await;
    assert!(!routable && why.contains("excluded"), "{why}");
    let (routable, why) = verdict(closed).await;
    assert!(!routable && why.contains("status is closed"), "{why}");
    let (routable, why) = verdict(theirs).await;
    assert!(!routable && why.contains("assigned to user 77"), "{why}");

    // Nothing was claimed: the user's own getLatest still starts at the head.
    let (_, key) = send(stack.admin(Method::POST, &format!("/jwt/{user}"))).await;
    assert_eq!(next_id(&stack, key["token"].as_str().unwrap()).await, Some(first));

    assert_eq!(explain("?ticketId=999999".into()).await.0, 404);
    assert_eq!(explain("?limit=-1".into()).await.0, 400);
    assert_eq!(explain("?colour=red".into()).await.0, 400);
    let (status, _) = send(stack.agent(Method::GET, &format!("/profile/{user}/routing"))).await;
    assert_eq!(status, 403, "another user's routing needs manageUsers");
}
