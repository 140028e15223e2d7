use reqwest::Method;
use serde_json::Value;

use crate::harness::{Stack, send};

#[tokio::test]
async fn health_reports_every_service_serving_at_the_root_and_under_the_api() {
    let stack = Stack::start().await;
    for path in ["/health", "/api/mind/health"] {
        let response = stack.http.get(stack.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        for service in ["ticket-svc", "agent-svc", "quality-svc", "settings-svc"] {
            assert_eq!(body["services"][service], "serving", "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn version_needs_auth_and_names_the_build() {
    let stack = Stack::start().await;
    let anonymous = stack.http.get(stack.url("/api/mind/version")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value =
        stack.admin(Method::GET, "/version").send().await.unwrap().json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    // Tests build from a git checkout, so the commit is HEAD's hash, never a placeholder.
    let commit = body["commit"].as_str().unwrap_or_default();
    assert!(
        commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "commit {commit:?} is not a git hash"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs in the checkout the tests were built from");
    let head = String::from_utf8(head.stdout).unwrap();
    assert!(head.starts_with(commit), "commit {commit:?} is not HEAD {head:?}");
    let built = body["buildDate"].as_str().unwrap_or_default();
    let built = chrono::DateTime::parse_from_rfc3339(built)
        .unwrap_or_else(|e| panic!("buildDate {built:?} is not a date: {e}"));
    assert!(built <= chrono::Utc::now(), "built in the future: {built}");
}

#[tokio::test]
async fn openapi_is_public_in_yaml_and_json_and_lists_the_routes() {
    let stack = Stack::start().await;
    let yaml = stack.http.get(stack.url("/api/mind/docs/open-api")).send().await.unwrap();
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    let yaml = yaml.text().await.unwrap();
    assert!(yaml.starts_with("openapi: 3.1"), "{}", &yaml[..40]);

    let (_, json) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    let paths = json["paths"].as_object().unwrap();
    for path in [
        "/api/mind/ticket",
        "/api/mind/ticket/{ticketId}",
        "/api/mind/ticket/search",
        "/api/mind/ticket/stats",
        "/api/mind/version",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(json["components"]["securitySchemes"]["cookieAuth"].is_object());

    let page = stack.http.get(stack.url("/api/mind/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/api/mind/docs/openapi.json"));
}

#[tokio::test]
async fn wrong_method_is_405_and_unknown_route_404_both_json() {
    let stack = Stack::start().await;
    let response = stack.admin(Method::DELETE, "/ticket/search").send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);

    let response = stack.admin(Method::PUT, "/ticket").send().await.unwrap();
    assert_eq!(response.status(), 405);

    let response = stack.admin(Method::GET, "/no/such/thing").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn each_service_role_is_confined_to_its_own_schema() {
    let stack = Stack::start().await;
    let mut db = stack.db().await;
    let host = crate::harness::admin_url();
    let host = host.rsplit_once('@').map(|(_, h)| h.split('/').next().unwrap().to_owned()).unwrap();
    let url = format!("postgres://enneo_ticket:enneo_ticket@{host}/{}", stack.database);
    let mut as_ticket = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let own: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.ticket")
        .fetch_one(&mut as_ticket)
        .await
        .unwrap();
    assert_eq!(own, 0);
    let foreign = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM quality.ticket_event")
        .fetch_one(&mut as_ticket)
        .await
        .unwrap_err();
    assert!(foreign.to_string().contains("permission denied"), "{foreign}");
    // The tables exist: the superuser sees them.
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM quality.ticket_event")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn cron_health_is_public_and_tells_which_service_stopped_its_background_work() {
    let stack = Stack::start().await;
    let url = stack.url("/api/mind/health/cron");
    let response = stack.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    for service in ["ticket-svc", "agent-svc", "quality-svc", "settings-svc"] {
        assert_eq!(body["services"][service], "serving", "{body}");
    }

    stack.stop_ticket_svc();
    let mut body = Value::Null;
    for _ in 0..100 {
        let response = stack.http.get(&url).send().await.unwrap();
        if response.status() == 503 {
            body = response.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(body["status"], "degraded", "ticket-svc never went away: {body}");
    assert_ne!(body["services"]["ticket-svc"], "serving", "{body}");
    assert_eq!(body["services"]["agent-svc"], "serving", "{body}");
    assert!(body["backlog"].get("ticket-svc").is_none(), "a stopped service has no backlog");
    assert!(body["backlog"]["agent-svc"]["outbox"]["pending"].is_i64(), "{body}");
    // The plain health checks answer beside it.
    for path in ["/health", "/api/mind/health"] {
        let response = stack.http.get(stack.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 503, "{path}");
    }
}

#[tokio::test]
async fn cron_health_shows_each_services_outbox_backlog_as_documented() {
    let stack = Stack::start().await;
    let url = stack.url("/api/mind/health/cron");
    let (status, body) = send(stack.http.get(&url)).await;
    assert_eq!(status, 200, "{body}");
    for service in ["ticket-svc", "agent-svc", "quality-svc", "settings-svc"] {
        let outbox = &body["backlog"][service]["outbox"];
        assert!(outbox["pending"].is_i64(), "{service}: {body}");
        assert_eq!(outbox["parked"], 0, "{service}: {body}");
    }

    // ticket-svc's relay is behind: one event backing off for the next hour, recorded 90 s
    // ago, and two it gave up on.
    let mut db = stack.db().await;
    let event = "event_id, event_type, routing_key, aggregate_id, aggregate_version, actor, \
                 payload, occurred_at";
    let values = "gen_random_uuid(), 'Stuck', 'ticket.Stuck', '1', 1, 'test', '{}', \
                  now() - interval '90 seconds'";
    for sql in [
        format!(
            "INSERT INTO ticket.outbox ({event}, attempts, available_at) \
             VALUES ({values}, 3, now() + interval '1 hour')"
        ),
        format!(
            "INSERT INTO ticket.outbox_parked (id, {event}, attempts, reason) \
             SELECT -n, {values}, 12, 'unroutable' FROM generate_series(1, 2) n"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut db).await.unwrap();
    }
    let (status, body) = send(stack.http.get(&url)).await;
    assert_eq!(status, 200, "a backlog is a number to watch, not an outage: {body}");
    assert_eq!(body["status"], "ok");
    let ticket = &body["backlog"]["ticket-svc"]["outbox"];
    assert_eq!(ticket["pending"], 1, "{body}");
    assert_eq!(ticket["parked"], 2, "{body}");
    let age = ticket["oldestPendingAgeSeconds"].as_i64().unwrap_or_default();
    assert!((90..300).contains(&age), "oldest pending for {age} s: {body}");
    assert_eq!(body["backlog"]["agent-svc"]["outbox"]["parked"], 0, "{body}");

    let (_, doc) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    let found =
        problems(&doc, answer_schema(&doc, "get", "/api/mind/health/cron"), &body, "", true);
    assert!(found.is_empty(), "cron health against the document: {found:#?}");
    let schema = &doc["components"]["schemas"]["OutboxBacklog"];
    for field in ["pending", "oldestPendingAgeSeconds", "parked"] {
        assert!(schema["properties"][field].is_object(), "{field} undocumented: {schema}");
    }
}

/// Where `value` breaks `schema` of `doc`: types, required and declared properties, items,
/// `$ref`, `oneOf`/`anyOf`/`allOf`. With `strict`, an object schema that lists properties
/// must list every key served (parts of an `allOf` are checked together, not one by one).
fn problems(doc: &Value, schema: &Value, value: &Value, at: &str, strict: bool) -> Vec<String> {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.strip_prefix("#/components/schemas/").expect("a local reference");
        let resolved = &doc["components"]["schemas"][name];
        assert!(resolved.is_object(), "{target} is not in the document");
        return problems(doc, resolved, value, at, strict);
    }
    let mut found = Vec::new();
    for key in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[key].as_array()
            && !alternatives.iter().any(|s| problems(doc, s, value, at, strict).is_empty())
        {
            found.push(format!("{at}: {value} matches no alternative of {key}"));
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut declared = Vec::new();
        for part in parts {
            found.extend(problems(doc, part, value, at, false));
            declared.extend(declared_properties(doc, part));
        }
        if strict && let Some(object) = value.as_object() {
            for key in object.keys().filter(|k| !declared.contains(k)) {
                found.push(format!("{at}.{key} is served but not declared"));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let admitted = |t: &&str| match *t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    };
    if !types.is_empty() && !types.iter().any(admitted) {
        found.push(format!("{at}: {value} is not of type {types:?}"));
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap();
            if !object.contains_key(required) {
                found.push(format!("{at}.{required} is required but not served"));
            }
        }
        for (key, field) in object {
            match properties.get(key) {
                Some(declared) => {
                    found.extend(problems(doc, declared, field, &format!("{at}.{key}"), true));
                }
                None if strict => found.push(format!("{at}.{key} is served but not declared")),
                None => {}
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            found.extend(problems(doc, schema, item, &format!("{at}[{i}]"), true));
        }
    }
    found
}

fn declared_properties(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        return declared_properties(doc, &doc["components"]["schemas"][name]);
    }
    let mut keys: Vec<String> =
        schema["properties"].as_object().into_iter().flatten().map(|(k, _)| k.clone()).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        keys.extend(declared_properties(doc, part));
    }
    keys
}

/// The schema of the 200 answer of `method path`.
fn answer_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let schema =
        &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} documents no JSON answer");
    schema
}

#[tokio::test]
async fn served_settings_and_search_rows_match_the_openapi_document() {
    let stack = Stack::start().await;
    let (_, doc) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;

    // Setting values are booleans, numbers, strings, lists and null, not only objects.
    let value = &doc["components"]["schemas"]["SettingView"]["properties"]["value"];
    assert!(value.get("type").is_none() && value.get("$ref").is_none(), "value: {value}");
    let (status, settings) = send(stack.admin(Method::GET, "/settings")).await;
    assert_eq!(status, 200, "{settings}");
    let kinds: std::collections::BTreeSet<&str> = settings
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| [&s["value"], &s["default"]])
        .map(|v| match v {
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Object(_) => "object",
            Value::Array(_) => "array",
            Value::Null => "null",
        })
        .collect();
    for kind in ["boolean", "number", "string"] {
        assert!(kinds.contains(kind), "no {kind} setting served, only {kinds:?}");
    }
    let found =
        problems(&doc, answer_schema(&doc, "get", "/api/mind/settings"), &settings, "", true);
    assert!(found.is_empty(), "settings against the document: {found:#?}");

    // Search rows are compact tickets, documented as such.
    for subject in ["first of two", "second of two"] {
        stack
            .create(serde_json::json!({"channel": "email", "subject": subject,
            "from": "tom@example.com", "body": "<p>heavy</p>"}))
            .await;
    }
    let (status, page) = send(
        stack
            .admin(Method::POST, "/ticket/search")
            .json(&serde_json::json!({"limit": 20, "orderByField": "t.createdAt"})),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let rows = page["tickets"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{page}");
    let schema = answer_schema(&doc, "post", "/api/mind/ticket/search");
    let found = problems(&doc, schema, &page, "", true);
    assert!(found.is_empty(), "search answer against the document: {found:#?}");
    let row = &doc["components"]["schemas"]["TicketRow"];
    let declared = declared_properties(&doc, row);
    for heavy in ["body", "bodyPlain", "bodyClean", "attachments", "template", "workitem"] {
        assert!(!declared.contains(&heavy.to_owned()), "rows declare {heavy}");
        assert!(rows.iter().all(|r| r.get(heavy).is_none()), "a row serves {heavy}");
    }
    assert!(row["required"].as_array().unwrap().contains(&"intents".into()), "{row}");
    // The full ticket keeps its body.
    assert!(
        declared_properties(&doc, &doc["components"]["schemas"]["TicketView"])
            .contains(&"body".to_owned())
    );
}
