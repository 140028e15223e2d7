//! AI agents (`/aiAgent…`, `/aiAgents…`): documents written whole or merged, versioned,
//! moved between tenants, and run without effects.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

const DEFAULT_SLUGS: [&str; 12] = [
    "meter_reading",
    "bank_data_agent",
    "deposit_agent",
    "due_date_agent",
    "credit_balance_agent",
    "cancel_contract",
    "sepa_revocation",
    "master_data_agent",
    "tariff_consulting",
    "switch_agent",
    "marketing_consent",
    "revocation_agent",
];

/// A small agent with the mandatory `_action`, one message parameter and two response cases.
fn definition(name: &str, slug: &str) -> Value {
    json!({
        "name": name,
        "slug": slug,
        "description": "Takes a refund request",
        "channels": ["email", "portal"],
        "intelligence": "rulebased",
        "settings": {
            "parameters": [
                {"id": 1, "key": "_action", "name": "_action", "type": "str", "source": "manual",
                 "visibility": "hidden", "value": null},
                {"id": 2, "key": "amount", "name": "Amount", "type": "float", "source": "message",
                 "description": "The amount to refund", "visibility": "visible", "required": true}
            ],
            "responseCases": [
                {"id": 10, "description": "Ask first",
                 "condition": {"operator": "And", "operands": [
                     {"id": 11, "operand": 1, "operator": "IsNull", "value": ""}]},
                 "output": {"type": "interaction", "parameters": [2],
                            "options": [{"type": "confirm", "name": "Confirm", "recommended": true}]},
                 "autoExecute": false},
                {"id": 20, "description": "Confirm",
                 "condition": {"operator": "And", "operands": [
                     {"id": 21, "operand": 1, "operator": "Equal", "value": "confirm"}]},
                 "output": {"type": "textTemplate", "parameters": [2], "text": "Refund of {{amount}} noted."},
                 "autoExecute": true}
            ],
            "personality": {"style": "friendly", "formality": "formal"}
        },
        "customField": {"kept": true}
    })
}

/// Creates an agent as admin; the stored document.
async fn create(stack: &Stack, body: Value) -> Value {
    let (status, created) = send(stack.admin(Method::POST, "/aiAgent").json(&body)).await;
    assert_eq!(status, 200, "{body}: {created}");
    assert_eq!(created["success"], true);
    created["aiAgent"].clone()
}

async fn load_defaults(stack: &Stack) -> Value {
    let (status, loaded) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200, "{loaded}");
    loaded
}

fn id_of(agent: &Value) -> i64 {
    agent["id"].as_i64().unwrap_or_else(|| panic!("no id in {agent}"))
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn agents_are_created_read_merged_and_soft_deleted() {
    let stack = Stack::start().await;
    let agent = create(&stack, definition("Refunds", "refunds")).await;
    let id = id_of(&agent);
    assert_eq!(agent["slug"], "refunds");
    assert_eq!(agent["version"], 1);
    assert_eq!(agent["channels"], json!(["email", "portal"]));
    assert_eq!(agent["customField"], json!({"kept": true}), "unknown fields survive");
    assert!(agent["createdAt"].is_string() && agent["modifiedAt"].is_string(), "{agent}");

    // GET answers the document itself, without an envelope.
    let (status, fetched) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, agent);

    let all = create(&stack, json!({"name": "Everywhere", "channels": ["all"]})).await;
    assert_eq!(all["channels"].as_array().unwrap().len(), 7, "{all}");

    // Deep merge: objects merged key by key, arrays replaced whole.
    let (status, patched) = send(
        stack
            .admin(Method::PATCH, &format!("/aiAgent/{id}"))
            .json(&json!({"settings": {"personality": {"style": "terse"}}, "channels": ["chat"]})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["success"], true);
    let patched = &patched["aiAgent"];
    assert_eq!(patched["version"], 2);
    assert_eq!(
        patched["settings"]["personality"],
        json!({"style": "terse", "formality": "formal"})
    );
    assert_eq!(patched["settings"]["parameters"], agent["settings"]["parameters"]);
    assert_eq!(patched["settings"]["responseCases"], agent["settings"]["responseCases"]);
    assert_eq!(patched["channels"], json!(["chat"]));
    assert_eq!(patched["name"], "Refunds");

    let (status, body) =
        send(stack.admin(Method::POST, "/aiAgent").json(&definition("Again", "refunds"))).await;
    assert_eq!(status, 409, "a slug is taken once: {body}");
    let (status, body) =
        send(stack.admin(Method::POST, "/aiAgent").json(&json!({"description": "nameless"}))).await;
    assert_eq!((status, body["code"].clone()), (400, json!("invalid_argument")), "{body}");

    let (status, body) = send(stack.admin(Method::DELETE, &format!("/aiAgent/{id}"))).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (status, _) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}"))).await;
    assert_eq!(status, 404);
    let (_, list) = send(stack.admin(Method::GET, "/aiAgents")).await;
    assert_eq!(ids(&list["aiAgents"]), vec![id_of(&all)], "{list}");
    assert_eq!(list["total"], 1);
    for (method, path) in [
        (Method::GET, "/aiAgent/999999"),
        (Method::DELETE, "/aiAgent/999999"),
        (Method::GET, "/aiAgent/999999/export"),
        (Method::GET, "/aiAgent/999999/history"),
        (Method::GET, "/aiAgent/999999/similarTickets"),
    ] {
        let (status, body) = send(stack.admin(method.clone(), path)).await;
        assert_eq!((status, body["code"].clone()), (404, json!("not_found")), "{method} {path}");
    }
    let (status, _) =
        send(stack.admin(Method::PATCH, "/aiAgent/999999").json(&json!({"name": "x"}))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn lists_come_in_three_formats_and_filter() {
    let stack = Stack::start().await;
    let refunds = create(&stack, definition("Refunds", "refunds")).await;
    let smart = create(
        &stack,
        json!({"name": "Chatty", "description": "Small talk", "intelligence": "smart", "channels": ["chat"]}),
    )
    .await;

    let (status, full) = send(stack.admin(Method::GET, "/aiAgents")).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["success"], true);
    assert_eq!(full["total"], 2);
    assert_eq!(full["aiAgents"][0], refunds, "full is the whole document");

    let (_, short) = send(stack.admin(Method::GET, "/aiAgents?format=short")).await;
    assert_eq!(
        short["aiAgents"][0],
        json!({"id": refunds["id"], "name": "Refunds", "tagId": null})
    );
    let (_, medium) = send(stack.admin(Method::GET, "/aiAgents?format=medium")).await;
    let row = medium["aiAgents"][0].as_object().unwrap();
    for key in ["description", "channels", "slug", "intelligence", "createdAt", "modifiedAt"] {
        assert_eq!(row[key], refunds[key], "{key}");
    }
    assert!(!row.contains_key("settings"), "medium rows leave the settings out");

    let (_, page) = send(stack.admin(Method::GET, "/aiAgents?limit=1&offset=1")).await;
    assert_eq!((ids(&page["aiAgents"]), page["total"].clone()), (vec![id_of(&smart)], json!(2)));
    let (_, chat) = send(stack.admin(Method::GET, "/aiAgents?channel=chat")).await;
    assert_eq!(ids(&chat["aiAgents"]), vec![id_of(&smart)]);
    let (_, smart_only) = send(stack.admin(Method::GET, "/aiAgents?intelligence=smart")).await;
    assert_eq!(ids(&smart_only["aiAgents"]), vec![id_of(&smart)]);
    let (_, found) = send(stack.admin(Method::GET, "/aiAgents?q=refund")).await;
    assert_eq!(ids(&found["aiAgents"]), vec![id_of(&refunds)]);
    // Vendor filters the implementation ignores.
    let (status, ignored) = send(stack.admin(
        Method::GET,
        "/aiAgents?categoryFilter=all&typeFilter=apiCall&assignmentFilter=aiAutodetect",
    ))
    .await;
    assert_eq!((status, ignored["total"].clone()), (200, json!(2)));

    for bad in ["limit=0", "limit=1001", "limit=ten", "offset=-1", "format=huge"] {
        let (status, body) = send(stack.admin(Method::GET, &format!("/aiAgents?{bad}"))).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = send(stack.admin(Method::GET, "/aiAgents/tree?format=huge")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_tree_puts_agents_under_their_tags() {
    let stack = Stack::start().await;
    let tag = |name: &'static str, parent: Option<i64>| {
        let stack = &stack;
        async move {
            let body = json!({"name": name, "type": "skill", "parent": parent});
            let (status, created) = send(stack.admin(Method::POST, "/tag").json(&body)).await;
            assert_eq!(status, 200, "{created}");
            created["id"].as_i64().unwrap()
        }
    };
    let billing = tag("Billing", None).await;
    let refunds_tag = tag("Refunds", Some(billing)).await;
    let mut def = definition("Refunds", "refunds");
    def["tagId"] = json!(refunds_tag);
    let refunds = create(&stack, def).await;
    let loose = create(&stack, json!({"name": "Loose"})).await;
    let stray = create(&stack, json!({"name": "Stray", "tagId": 999999})).await;

    let (status, body) = send(stack.admin(Method::GET, "/aiAgents/tree?format=short")).await;
    assert_eq!(status, 200, "{body}");
    let root = &body["aiAgentsTree"];
    assert_eq!((root["id"].clone(), root["name"].clone()), (Value::Null, json!("root")));
    let mut at_root = ids(&root["aiAgents"]);
    at_root.sort();
    assert_eq!(at_root, vec![id_of(&loose), id_of(&stray)], "no tag, or an unknown one");
    let billing_node = &root["children"][0];
    assert_eq!(billing_node["id"], billing);
    assert_eq!(billing_node["aiAgents"], json!([]));
    let refunds_node = &billing_node["children"][0];
    assert_eq!(refunds_node["id"], refunds_tag);
    assert_eq!(refunds_node["name"], "Refunds");
    assert_eq!(
        refunds_node["aiAgents"],
        json!([{"id": refunds["id"], "name": "Refunds", "tagId": refunds_tag}])
    );
    assert_eq!(refunds_node["children"], json!([]));
}

#[tokio::test]
async fn default_agents_load_by_slug_and_reload_in_place() {
    let stack = Stack::start().await;
    let (status, available) = send(stack.admin(Method::GET, "/aiAgents/availableDefaults")).await;
    assert_eq!(status, 200, "{available}");
    let rows = available["availableAiAgents"].as_array().unwrap();
    let mut slugs: Vec<&str> = rows.iter().map(|a| a["slug"].as_str().unwrap()).collect();
    slugs.sort();
    let mut expected = DEFAULT_SLUGS.to_vec();
    expected.sort();
    assert_eq!(slugs, expected);
    assert!(rows.iter().all(|a| a["name"].is_string() && a["intelligence"].is_string()));

    let first = load_defaults(&stack).await;
    assert_eq!((first["created"].clone(), first["updated"].clone()), (json!(12), json!(0)));
    let again = load_defaults(&stack).await;
    assert_eq!((again["created"].clone(), again["updated"].clone()), (json!(0), json!(12)));
    let mut before = ids(&first["aiAgents"]);
    let mut after = ids(&again["aiAgents"]);
    before.sort();
    after.sort();
    assert_eq!(before, after, "reloading keeps the ids");

    let (status, one) = send(
        stack
            .admin(Method::POST, "/aiAgents/loadDefaults")
            .json(&json!({"slugs": ["meter_reading"]})),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!((one["created"].clone(), one["updated"].clone()), (json!(0), json!(1)));
    assert_eq!(one["aiAgents"][0]["slug"], "meter_reading");
    let (status, _) = send(
        stack.admin(Method::POST, "/aiAgents/loadDefaults").json(&json!({"slug": "meter_reading"})),
    )
    .await;
    assert_eq!(status, 400, "an unknown field");

    let (_, list) = send(stack.admin(Method::GET, "/aiAgents?format=short")).await;
    assert_eq!(list["total"], 12);
}

#[tokio::test]
async fn samples_are_a_bare_list_and_one_by_id() {
    let stack = Stack::start().await;
    let (status, samples) = send(stack.admin(Method::GET, "/aiAgents/samples")).await;
    assert_eq!(status, 200, "{samples}");
    let samples = samples.as_array().expect("a bare array");
    assert!(!samples.is_empty());
    let first = &samples[0];
    assert!(first["category"].is_string() && first["includedInSeeds"].is_boolean(), "{first}");
    let id = match &first["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (status, one) = send(stack.admin(Method::GET, &format!("/aiAgents/samples/{id}"))).await;
    assert_eq!((status, &one), (200, first));
    let (status, _) = send(stack.admin(Method::GET, "/aiAgents/samples/no-such-sample")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn writes_need_update_ai_agent_before_the_body_is_read() {
    let stack = Stack::start().await;
    let id = id_of(&create(&stack, definition("Refunds", "refunds")).await);
    let malformed = "{not json";
    for (method, path) in [
        (Method::POST, "/aiAgent".to_owned()),
        (Method::PATCH, format!("/aiAgent/{id}")),
        (Method::POST, format!("/aiAgent/{id}/preview")),
        (Method::POST, "/aiAgent/new/preview".to_owned()),
        (Method::POST, "/aiAgent/outcome".to_owned()),
        (Method::POST, "/aiAgent/import".to_owned()),
        (Method::POST, "/aiAgents/loadDefaults".to_owned()),
    ] {
        let (status, body) = send(stack.agent(method.clone(), &path).body(malformed)).await;
        assert_eq!(
            (status, body["code"].clone()),
            (403, json!("permission_denied")),
            "{method} {path}"
        );
        let (status, _) = send(stack.admin(method.clone(), &path).body(malformed)).await;
        assert_eq!(status, 400, "the same body is malformed for an admin: {method} {path}");
    }
    for (method, path) in [
        (Method::DELETE, format!("/aiAgent/{id}")),
        (Method::POST, format!("/aiAgent/{id}/restore/1")),
    ] {
        let (status, _) = send(stack.agent(method.clone(), &path)).await;
        assert_eq!(status, 403, "{method} {path}");
    }
    let (_, agent) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}"))).await;
    assert_eq!(agent["version"], 1, "nothing was written");

    for (method, path) in [
        (Method::GET, "/aiAgents"),
        (Method::GET, "/aiAgents/tree"),
        (Method::GET, "/aiAgents/availableDefaults"),
        (Method::GET, "/aiAgents/samples"),
        (Method::POST, "/aiAgent"),
        (Method::GET, "/aiAgent/1"),
        (Method::GET, "/aiAgent/1/history"),
        (Method::POST, "/aiAgent/1/preview"),
    ] {
        let response = stack.http.request(method.clone(), stack.url(&format!("/api/mind{path}")));
        let (status, body) = send(response).await;
        assert_eq!(
            (status, body["code"].clone()),
            (401, json!("unauthenticated")),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn bodies_and_paths_are_validated() {
    let stack = Stack::start().await;
    let id = id_of(&create(&stack, definition("Refunds", "refunds")).await);
    let ticket = stack.create(json!({"channel": "email", "body": "Bitte 20 Euro erstatten"})).await;
    let ticket = ticket["id"].as_i64().unwrap();
    let post = |path: String, body: Value| stack.admin(Method::POST, &path).json(&body);
    let cases = [
        (post("/aiAgent".into(), json!(["not", "an", "object"])), "an array"),
        (stack.admin(Method::POST, "/aiAgent"), "no body"),
        (stack.admin(Method::PATCH, &format!("/aiAgent/{id}")).json(&json!("x")), "a string"),
        (stack.admin(Method::GET, "/aiAgent/abc"), "id abc"),
        (stack.admin(Method::GET, "/aiAgent/0"), "id 0"),
        (stack.admin(Method::GET, &format!("/aiAgent/{id}/history/x")), "version x"),
        (stack.admin(Method::GET, &format!("/aiAgent/{id}/history/0")), "version 0"),
        (stack.admin(Method::POST, &format!("/aiAgent/{id}/restore/-1")), "version -1"),
        (stack.admin(Method::GET, &format!("/aiAgent/{id}/similarTickets?limit=0")), "limit 0"),
        (stack.admin(Method::GET, &format!("/aiAgent/{id}/similarTickets?limit=101")), "limit 101"),
        (post(format!("/aiAgent/{id}/preview"), json!({})), "preview without ticketId"),
        (post(format!("/aiAgent/{id}/preview"), json!({"ticketId": "abc"})), "ticketId abc"),
        (post(format!("/aiAgent/{id}/preview?ticketId=x"), json!({})), "query ticketId x"),
        (
            post(
                format!("/aiAgent/{id}/preview?ticketId={}", ticket + 1),
                json!({"ticketId": ticket}),
            ),
            "ticketId differs",
        ),
        (
            post(format!("/aiAgent/{id}/preview"), json!({"ticketId": ticket, "data": [1]})),
            "data []",
        ),
        (
            post(format!("/aiAgent/{id}/preview"), json!({"ticketId": ticket, "message": 5})),
            "message 5",
        ),
        (
            post("/aiAgent/new/preview".into(), json!({"ticketId": ticket})),
            "new without definition",
        ),
        (post("/aiAgent/-3/preview".into(), json!({"ticketId": ticket})), "id -3"),
        (post("/aiAgent/outcome".into(), json!({"data": {}})), "outcome without agent"),
        (post("/aiAgent/outcome".into(), json!({"aiAgentId": id})), "outcome without data"),
        (
            post("/aiAgent/outcome".into(), json!({"aiAgentId": id, "data": {}, "x": 1})),
            "unknown field",
        ),
        (post("/aiAgent/outcome".into(), json!({"aiAgentId": id, "data": 3})), "data 3"),
        (post("/aiAgent/import".into(), json!(3)), "import a number"),
    ];
    for (request, what) in cases {
        let (status, body) = send(request).await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!("invalid_argument")),
            "{what}: {body}"
        );
        assert_eq!(body["success"], false);
    }
}

#[tokio::test]
async fn an_integrity_violation_is_422_with_every_violation() {
    let stack = Stack::start().await;
    let agent = create(&stack, definition("Refunds", "refunds")).await;
    let id = id_of(&agent);
    let mut cases = agent["settings"]["responseCases"].clone();
    cases[1]["condition"]["operands"][0]["operand"] = json!(999);
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/aiAgent/{id}"))
            .json(&json!({"settings": {"responseCases": cases}})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        (body["success"].clone(), body["code"].clone()),
        (json!(false), json!("unprocessable"))
    );
    let violations = body["violations"].as_array().expect("violations");
    assert!(!violations.is_empty() && violations.iter().all(Value::is_string), "{body}");
    assert!(body["error"].is_string());

    let (_, unchanged) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}"))).await;
    assert_eq!(unchanged, agent, "a refused write changes nothing");

    let mut broken = definition("Broken", "broken");
    broken["settings"]["responseCases"][0]["output"]["parameters"] = json!([4242]);
    let (status, body) = send(stack.admin(Method::POST, "/aiAgent").json(&broken)).await;
    assert_eq!(status, 422, "{body}");
    assert!(!body["violations"].as_array().unwrap().is_empty());
    // Other errors carry no violations.
    let (_, body) = send(stack.admin(Method::GET, "/aiAgent/999999")).await;
    assert!(body.get("violations").is_none(), "{body}");
}

#[tokio::test]
async fn history_lists_every_version_and_restore_writes_a_new_one() {
    let stack = Stack::start().await;
    let agent = create(&stack, definition("Refunds", "refunds")).await;
    let id = id_of(&agent);
    let (status, _) = send(
        stack.admin(Method::PATCH, &format!("/aiAgent/{id}")).json(&json!({"name": "Refunds v2"})),
    )
    .await;
    assert_eq!(status, 200);

    let (status, history) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}/history"))).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["success"], true);
    assert_eq!(history["currentVersion"], 2);
    let versions = history["history"].as_array().unwrap();
    let numbers: Vec<&Value> = versions.iter().map(|v| &v["version"]).collect();
    assert_eq!(numbers, vec![&json!(2), &json!(1)], "newest first");
    assert_eq!(versions[1]["aiAgent"]["name"], "Refunds");
    assert_eq!(versions[0]["aiAgent"]["name"], "Refunds v2");
    for v in versions {
        assert!(
            v["action"].is_string() && v["createdBy"].is_i64() && v["createdAt"].is_string(),
            "{v}"
        );
    }
    assert_eq!(versions[1]["action"], "create");
    assert_eq!(versions[0]["action"], "update");

    let (status, one) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}/history/1"))).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["success"], true);
    assert_eq!(
        (one["version"].clone(), one["aiAgent"].clone()),
        (json!(1), versions[1]["aiAgent"].clone())
    );
    let (status, _) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}/history/9"))).await;
    assert_eq!(status, 404);

    let (status, restored) =
        send(stack.admin(Method::POST, &format!("/aiAgent/{id}/restore/1"))).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["success"], true);
    let restored = &restored["aiAgent"];
    assert_eq!(
        (restored["version"].clone(), restored["name"].clone()),
        (json!(3), json!("Refunds"))
    );
    assert_eq!(restored["settings"], agent["settings"]);
    let (_, history) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}/history"))).await;
    assert_eq!(history["currentVersion"], 3);
    assert_eq!(history["history"].as_array().unwrap().len(), 3);
    let (status, _) = send(stack.admin(Method::POST, &format!("/aiAgent/{id}/restore/9"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_export_imports_by_slug() {
    let stack = Stack::start().await;
    let agent = create(&stack, definition("Refunds", "refunds")).await;
    let id = id_of(&agent);
    let (status, exported) = send(stack.admin(Method::GET, &format!("/aiAgent/{id}/export"))).await;
    assert_eq!(status, 200, "{exported}");
    for local in ["id", "createdAt", "modifiedAt", "version", "deletedAt", "success"] {
        assert!(exported.get(local).is_none(), "{local} in {exported}");
    }
    assert_eq!(
        (exported["slug"].clone(), exported["settings"].clone()),
        (json!("refunds"), agent["settings"].clone())
    );

    let mut changed = exported.clone();
    changed["description"] = json!("Imported over");
    let (status, imported) =
        send(stack.admin(Method::POST, "/aiAgent/import").json(&changed)).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(
        (imported["success"].clone(), imported["action"].clone()),
        (json!(true), json!("updated"))
    );
    assert_eq!(imported["aiAgent"]["id"], id);
    assert_eq!(imported["aiAgent"]["description"], "Imported over");

    let mut copy = exported;
    copy["slug"] = json!("refunds_copy");
    let (status, imported) = send(stack.admin(Method::POST, "/aiAgent/import").json(&copy)).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["action"], "created");
    assert_ne!(imported["aiAgent"]["id"], id);
    assert_eq!(imported["aiAgent"]["version"], 1);
}

#[tokio::test]
async fn a_preview_runs_an_agent_without_touching_the_ticket() {
    let stack = Stack::start().await;
    // No AI pipeline on the ticket itself: only the preview looks at it.
    let (status, ticket) = send(stack.admin(Method::POST, "/ticket?process=false").json(&json!({
        "channel": "email", "subject": "Zählerstand",
        "body": "Mein Zählerstand ist 12345 kWh, Zählernummer 1ESY1160123456.",
        "from": "kunde@example.com"
    })))
    .await;
    assert_eq!(status, 200, "{ticket}");
    let ticket = ticket["id"].as_i64().unwrap();
    let loaded = load_defaults(&stack).await;
    let meter = loaded["aiAgents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == "meter_reading")
        .map(id_of)
        .expect("the meter reading agent");
    let snapshot = || async {
        let (_, t) =
            send(stack.admin(Method::GET, &format!("/ticket/{ticket}?viewing=false"))).await;
        let (_, c) =
            send(stack.admin(Method::GET, &format!("/ticket/{ticket}/conversation"))).await;
        (t, c)
    };
    let before = snapshot().await;

    let (status, preview) = send(
        stack
            .admin(Method::POST, &format!("/aiAgent/{meter}/preview"))
            .json(&json!({"ticketId": ticket})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["success"], true, "{preview}");
    assert_eq!(
        preview["detectedInputParameters"]["meterReading"].as_f64(),
        Some(12345.0),
        "{preview}"
    );

    // The ticket in the query; a changed message for this preview only.
    let (status, again) = send(
        stack
            .admin(Method::POST, &format!("/aiAgent/{meter}/preview?ticketId={ticket}"))
            .json(&json!({"message": "Zählerstand heute: 777 kWh"})),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["detectedInputParameters"]["meterReading"].as_f64(), Some(777.0), "{again}");

    // An unsaved definition: the exported agent under `new`.
    let (_, mut exported) =
        send(stack.admin(Method::GET, &format!("/aiAgent/{meter}/export"))).await;
    exported["ticketId"] = json!(ticket);
    let (status, unsaved) =
        send(stack.admin(Method::POST, "/aiAgent/new/preview").json(&exported)).await;
    assert_eq!(status, 200, "{unsaved}");
    assert_eq!(unsaved["detectedInputParameters"]["meterReading"].as_f64(), Some(12345.0));

    let after = snapshot().await;
    assert_eq!(after.0["modifiedAt"], before.0["modifiedAt"], "the ticket is unchanged");
    assert_eq!(after, before);
    assert!(stack.mail.received().is_empty(), "a preview sends nothing");

    let (status, _) = send(
        stack
            .admin(Method::POST, &format!("/aiAgent/{meter}/preview"))
            .json(&json!({"ticketId": 999999})),
    )
    .await;
    assert_eq!(status, 404, "an unknown ticket");
    let (status, _) = send(
        stack.admin(Method::POST, "/aiAgent/999999/preview").json(&json!({"ticketId": ticket})),
    )
    .await;
    assert_eq!(status, 404, "an unknown agent");
    let mut broken = definition("Broken", "broken");
    broken["settings"]["responseCases"][0]["output"]["parameters"] = json!([4242]);
    broken["ticketId"] = json!(ticket);
    let (status, body) = send(stack.admin(Method::POST, "/aiAgent/0/preview").json(&broken)).await;
    assert_eq!(status, 422, "{body}");
    assert!(!body["violations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_outcome_of_given_values_and_similar_tickets() {
    let stack = Stack::start().await;
    let agent = create(&stack, definition("Refunds", "refunds")).await;
    let id = id_of(&agent);
    let ticket = stack.create(json!({"channel": "email", "body": "Bitte 20 Euro erstatten"})).await;
    let ticket = ticket["id"].as_i64().unwrap();

    let (status, outcome) = send(stack.admin(Method::POST, "/aiAgent/outcome").json(
        &json!({"aiAgentId": id, "data": {"_action": "confirm", "amount": 20}, "ticketId": ticket}),
    ))
    .await;
    assert_eq!(status, 200, "{outcome}");
    assert!(outcome["success"].is_boolean(), "{outcome}");
    let (status, unsaved) = send(stack.admin(Method::POST, "/aiAgent/outcome").json(
        &json!({"aiAgent": definition("Unsaved", "unsaved"), "data": {"_action": "confirm", "amount": 5}}),
    ))
    .await;
    assert_eq!(status, 200, "{unsaved}");
    let (status, _) = send(
        stack
            .admin(Method::POST, "/aiAgent/outcome")
            .json(&json!({"aiAgentId": 999999, "data": {}})),
    )
    .await;
    assert_eq!(status, 404);

    let (status, similar) =
        send(stack.admin(Method::GET, &format!("/aiAgent/{id}/similarTickets?limit=5"))).await;
    assert_eq!(status, 200, "{similar}");
    let rows = similar.as_array().expect("a bare array");
    assert!(rows.len() <= 5);
    for row in rows {
        assert!(row["id"].is_i64() && row["similarity"].is_f64(), "{row}");
        assert!(row.get("body").is_none(), "compact rows");
    }
}

#[tokio::test]
async fn a_local_execution_command_runs_the_executor_with_the_tickets_input() {
    let stack = Stack::start().await;
    let (_, ticket) = send(stack.admin(Method::POST, "/ticket?process=false").json(&json!({
        "channel": "email", "subject": "Erstattung",
        "body": "Bitte erstatten Sie mir 42,50 Euro.", "from": "kunde@example.com"
    })))
    .await;
    let ticket = ticket["id"].as_i64().unwrap();
    let code = "import json, sys\nprint(json.dumps(json.load(sys.stdin), sort_keys=True))\n";
    let mut with_code = definition("Refund locally", "refund_local");
    with_code["settings"]["executor"] =
        json!([{"id": "1", "type": "sourceCode", "language": "python311", "code": code}]);
    let agent = id_of(&create(&stack, with_code).await);
    let plain = id_of(&create(&stack, definition("Refund", "refund_plain")).await);
    let path = "/executor/localExecutionCommand";

    let (status, built) =
        send(stack.admin(Method::POST, path).json(&json!({"id": agent, "ticketId": ticket}))).await;
    assert_eq!((status, built["success"].clone()), (200, json!(true)), "{built}");
    assert_eq!(built["code"], code);
    assert_eq!(built["fileName"], format!("agent_{agent}.py"));
    assert_eq!(built["input"]["_metadata"]["ticketId"], ticket.to_string(), "{built}");
    let command = built["command"].as_str().unwrap();
    assert!(command.ends_with(&format!("| python3 'agent_{agent}.py'")), "{command}");

    // Pasted into a shell next to the saved code, it gives the executor exactly that input.
    let dir = std::env::temp_dir().join(format!("enneo-local-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(built["fileName"].as_str().unwrap()), code).unwrap();
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&dir)
        .output()
        .expect("a POSIX shell");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let echoed: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(echoed, built["input"]);

    let cases = [
        (json!({"id": plain, "ticketId": ticket}), 501, "no executor"),
        (json!({"id": 999_999, "ticketId": ticket}), 404, "unknown agent"),
        (json!({"id": agent, "ticketId": 999_999}), 404, "unknown ticket"),
        (json!({"id": agent}), 400, "no ticketId"),
    ];
    for (body, expected, what) in cases {
        let (status, error) = send(stack.admin(Method::POST, path).json(&body)).await;
        assert_eq!(status, expected, "{what}: {error}");
        assert_eq!(error["success"], false, "{what}: {error}");
    }
    // Agents may not see executor code: authorised before the body is read.
    let (status, _) = send(stack.agent(Method::POST, path).json(&json!({}))).await;
    assert_eq!(status, 403);
}
