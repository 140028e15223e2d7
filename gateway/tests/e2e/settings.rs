//! Settings, subchannels and user-defined functions; SettingChanged reaching ticket routing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, agent_token, send};

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test]
async fn settings_list_with_defaults_and_secrets_stay_masked() {
    let stack = Stack::start().await;
    let (status, list) = send(stack.agent(Method::GET, "/settings")).await;
    assert_eq!(status, 200, "{list}");
    let mode = named(&list, "autopilotTagMatchingMode");
    assert_eq!(mode["value"], "matchAny");
    assert_eq!(mode["isDefault"], true);
    assert_eq!(mode["options"], json!(["matchAny", "matchAll"]));
    assert_eq!(mode["category"], "routing");
    assert!(
        list.as_array().unwrap().iter().all(|s| s["name"] != "microsoftOAuthClientSecret"),
        "settings with read permissions stay hidden from those without"
    );

    let (status, _) =
        send(stack.admin(Method::PUT, "/settings/llmApiKey").json(&json!("sk-live-123"))).await;
    assert_eq!(status, 200);
    let (_, key) = send(stack.admin(Method::GET, "/settings/llmApiKey")).await;
    assert_eq!(key["value"], "********");
    let (_, key) = send(stack.admin(Method::GET, "/settings/llmApiKey?showSecrets=true")).await;
    assert_eq!(key["value"], "sk-live-123");
    let (_, key) = send(stack.agent(Method::GET, "/settings/llmApiKey?showSecrets=true")).await;
    assert_eq!(key["value"], "********", "showSecrets needs readSecretSettings");
    let (_, compact) = send(stack.agent(Method::GET, "/settings/compact")).await;
    assert_eq!(compact["llmApiKey"], "********");
    assert_eq!(compact["customerLegitimationThreshold"], 20);

    let (_, filtered) = send(stack.agent(Method::GET, "/settings?filterByCategory=spam")).await;
    let names: Vec<&str> =
        filtered.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["spamDetection", "spamDetectionTagIds"]);
    let (_, found) = send(stack.agent(Method::GET, "/settings/search?q=legitimation")).await;
    assert_eq!(found.as_array().unwrap().len(), 4);
    let (status, _) = send(stack.agent(Method::GET, "/settings/search?q=")).await;
    assert_eq!(status, 400);
    let (status, _) = send(stack.agent(Method::GET, "/settings/noSuchSetting")).await;
    assert_eq!(status, 404);
    let (status, _) = send(stack.agent(Method::GET, "/settings/microsoftOAuthClientSecret")).await;
    assert_eq!(status, 404);

    let mut db = stack.db().await;
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT payload FROM settings.outbox UNION ALL \
         SELECT payload FROM settings.outbox_published) e WHERE payload::text LIKE '%sk-live%'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(leaked, 0, "secrets never travel in events");
}

#[tokio::test]
async fn writes_are_typed_and_permissioned() {
    let stack = Stack::start().await;
    let (status, s) = send(
        stack.admin(Method::PUT, "/settings/customerLegitimationThreshold").json(&json!("30")),
    )
    .await;
    assert_eq!(
        (status, s["value"].clone(), s["isDefault"].clone()),
        (200, json!(30), json!(false))
    );
    let cases = [
        ("/settings/customerLegitimationThreshold", json!(500), 400),
        ("/settings/autopilotTagMatchingMode", json!("matchSome"), 400),
        ("/settings/enableAiAgents", json!("yes"), 400),
        ("/settings/noSuchSetting", json!(1), 404),
        ("/settings/featureFlags", json!({"chat": false}), 403),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = send(stack.admin(Method::PUT, path).json(&body)).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
    }
    let (status, _) =
        send(stack.agent(Method::PUT, "/settings/locale").json(&json!("en-GB"))).await;
    assert_eq!(status, 403);
    let (status, _) = send(stack.admin(Method::PUT, "/settings/locale").body("not json")).await;
    assert_eq!(status, 400);

    let (status, body) = send(stack.admin(Method::POST, "/settings").json(&json!({
        "locale": "en-GB",
        "timeZone": 5,
        "nope": true,
        "featureFlags": {"chat": false},
        "_tag[3].name": "VIP",
        "_subchannel[999].name": "x",
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let outcome: Vec<(String, bool, Value)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["applied"].as_bool().unwrap(),
                r["code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        outcome,
        vec![
            ("_subchannel[999].name".into(), false, json!("not_found")),
            ("_tag[3].name".into(), false, json!("not_found")),
            ("featureFlags".into(), false, json!("permission_denied")),
            ("locale".into(), true, Value::Null),
            ("nope".into(), false, json!("not_found")),
            ("timeZone".into(), false, json!("invalid_argument")),
        ]
    );
    let (_, locale) = send(stack.agent(Method::GET, "/settings/locale")).await;
    assert_eq!(locale["value"], "en-GB");
    let (status, _) = send(stack.admin(Method::POST, "/settings").json(&json!([1]))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn subchannels_and_their_category() {
    let stack = Stack::start().await;
    let (status, mailbox) = send(
        stack
            .admin(Method::POST, "/settings/subchannel")
            .json(&json!({"name": "Service", "channel": "email"})),
    )
    .await;
    assert_eq!(status, 200, "{mailbox}");
    let id = mailbox["subchannel"]["id"].as_i64().unwrap();
    assert_eq!(mailbox["subchannel"]["status"], "active");
    let (_, phone) = send(
        stack
            .admin(Method::POST, "/settings/subchannel")
            .json(&json!({"name": "Hotline", "channel": "voice"})),
    )
    .await;
    assert_eq!(phone["subchannel"]["channel"], "phone");
    for bad in [
        json!({"name": "x", "channel": "system"}),
        json!({"name": "x", "channel": "walkIn"}),
        json!({"name": " ", "channel": "chat"}),
        json!({"name": "x", "channel": "chat", "status": "paused"}),
    ] {
        let (status, body) =
            send(stack.admin(Method::POST, "/settings/subchannel").json(&bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = send(
        stack
            .agent(Method::POST, "/settings/subchannel")
            .json(&json!({"name": "x", "channel": "chat"})),
    )
    .await;
    assert_eq!(status, 403);

    let (_, applied) = send(stack.admin(Method::POST, "/settings").json(&json!({
        format!("_subchannel[{id}].imapHost"): "imap.example.org",
        format!("_subchannel[{id}].imapPassword"): "hunter2",
        format!("_subchannel[{id}].name"): "Kundenservice",
    })))
    .await;
    assert!(
        applied["results"].as_array().unwrap().iter().all(|r| r["applied"] == true),
        "{applied}"
    );

    let (_, list) =
        send(stack.agent(Method::GET, "/settings/subchannel?channels[]=email&channels[]=chat"))
            .await;
    assert_eq!(list["subchannels"].as_array().unwrap().len(), 1);
    let s = &list["subchannels"][0];
    assert_eq!(s["name"], "Kundenservice");
    assert_eq!(s["config"], json!({"imapHost": "imap.example.org", "imapPassword": "********"}));
    let (_, clear) =
        send(stack.admin(Method::GET, &format!("/settings/subchannel?id={id}&showSecrets=true")))
            .await;
    assert_eq!(clear["subchannels"][0]["config"]["imapPassword"], "hunter2");
    let (_, phones) = send(stack.agent(Method::GET, "/settings/subchannel?channels=voice")).await;
    assert_eq!(phones["subchannels"][0]["name"], "Hotline");

    let (status, group) =
        send(stack.agent(Method::GET, &format!("/settings/category/mailbox_{id}"))).await;
    assert_eq!(status, 200, "{group}");
    let settings = &group["groups"][0]["settings"];
    assert_eq!(
        named(settings, &format!("_subchannel[{id}].imapHost"))["value"],
        "imap.example.org"
    );
    assert_eq!(named(settings, &format!("_subchannel[{id}].imapPassword"))["value"], "********");
    let (status, _) =
        send(stack.agent(Method::GET, &format!("/settings/category/chatbot_{id}"))).await;
    assert_eq!(status, 404, "a mailbox is no chatbot");
    let (status, routing) = send(stack.agent(Method::GET, "/settings/category/routing")).await;
    assert_eq!(status, 200);
    assert_eq!(routing["groups"][0]["settings"].as_array().unwrap().len(), 5);
    let (status, _) = send(stack.agent(Method::GET, "/settings/category/nothing-here")).await;
    assert_eq!(status, 404);

    let (status, _) =
        send(stack.admin(Method::DELETE, &format!("/settings/subchannel/{id}"))).await;
    assert_eq!(status, 200);
    let (status, _) =
        send(stack.admin(Method::DELETE, &format!("/settings/subchannel/{id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn user_defined_functions_keep_their_code_to_those_who_may_change_it() {
    let stack = Stack::start().await;
    let (status, created) = send(
        stack
            .admin(Method::POST, "/settings/user-defined-function")
            .json(&json!({"name": "Format Meter Reading", "udfType": "tool"})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let f = &created["userDefinedFunction"];
    let id = f["id"].as_i64().unwrap();
    assert_eq!(
        (f["slug"].clone(), f["isPrivate"].clone()),
        (json!("format_meter_reading"), json!(true))
    );
    let (_, twin) = send(
        stack
            .admin(Method::POST, "/settings/user-defined-function")
            .json(&json!({"name": "format meter reading"})),
    )
    .await;
    assert_eq!(twin["userDefinedFunction"]["slug"], "format_meter_reading_2");

    let key = format!("_user-defined-function[{id}].udfExecutor");
    let (_, refused) = send(
        stack
            .admin(Method::POST, "/settings")
            .json(&json!({key.clone(): {"type": "sourceCode", "language": "cobol", "code": "x"}})),
    )
    .await;
    assert_eq!(refused["results"][0]["code"], "invalid_argument");
    let code =
        json!({"type": "sourceCode", "language": "python311", "code": "def run(p): return p"});
    let (_, applied) = send(stack.admin(Method::POST, "/settings").json(&json!({key: code, format!("_user-defined-function[{id}].description"): "Formats readings"}))).await;
    assert!(
        applied["results"].as_array().unwrap().iter().all(|r| r["applied"] == true),
        "{applied}"
    );

    let (_, admin_view) =
        send(stack.admin(Method::GET, "/settings/user-defined-function?filter=tool")).await;
    let functions = admin_view["userDefinedFunctions"].as_array().unwrap();
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0]["udfExecutor"], code);
    assert_eq!(functions[0]["description"], "Formats readings");
    let (_, agent_view) = send(stack.agent(Method::GET, "/settings/user-defined-function")).await;
    assert_eq!(agent_view["userDefinedFunctions"].as_array().unwrap().len(), 2);
    assert!(
        agent_view["userDefinedFunctions"][0].get("udfExecutor").is_none(),
        "code is stripped for agents"
    );
    let (status, _) =
        send(stack.agent(Method::GET, "/settings/user-defined-function?filter=macro")).await;
    assert_eq!(status, 400);
    let (status, _) =
        send(stack.agent(Method::DELETE, &format!("/settings/user-defined-function/{id}"))).await;
    assert_eq!(status, 403);
    let (status, _) =
        send(stack.admin(Method::DELETE, &format!("/settings/user-defined-function/{id}"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_changed_routing_setting_reaches_ticket_routing() {
    let stack = Stack::start().await;
    let due_soon = stack
        .create(json!({"channel": "email", "priority": "low", "dueBy": "2020-01-01 00:00:00"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let urgent = stack
        .create(json!({"channel": "email", "priority": "urgent", "dueBy": "2030-01-01 00:00:00"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let next = |user: i64| {
        let stack = &stack;
        async move {
            let token = agent_token(user, None, Vec::new());
            let response = stack
                .http
                .post(stack.url("/api/mind/ticket/getLatest"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            body["ticketId"].as_i64()
        }
    };
    assert_eq!(next(51).await, Some(due_soon), "default order: SLA due date");
    let mut db = stack.db().await;
    sqlx::query("DELETE FROM ticket.presence").execute(&mut db).await.unwrap();

    let (status, _) = send(
        stack
            .admin(Method::PUT, "/settings/autopilotOrderingSequence")
            .json(&json!("priorityThenDueDate")),
    )
    .await;
    assert_eq!(status, 200);
    stack
        .eventually("routing to follow the setting", || async {
            sqlx::query("DELETE FROM ticket.presence")
                .execute(&mut stack.db().await)
                .await
                .unwrap();
            (next(52).await == Some(urgent)).then_some(())
        })
        .await;
}
