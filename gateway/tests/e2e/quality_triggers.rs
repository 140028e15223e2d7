//! Regression runs started by AI agent changes: agent-svc's `AiAgentChanged` → quality-svc,
//! which runs the agent's test cases when the tenant setting `qualityCheckOnAgentChange` is on,
//! coalescing changes that arrive while such a run is still queued. Every run says what
//! started it (`trigger`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

/// Loads the default agents; the id of `slug`.
async fn agent_id(stack: &Stack, slug: &str) -> i64 {
    let (status, loaded) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200, "{loaded}");
    loaded["aiAgents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == slug)
        .and_then(|a| a["id"].as_i64())
        .unwrap_or_else(|| panic!("no {slug} in {loaded}"))
}

/// Edits the agent's description; its new version.
async fn edit(stack: &Stack, agent: i64, description: &str) -> i64 {
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/aiAgent/{agent}"))
            .json(&json!({"description": description})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["aiAgent"]["version"].as_i64().unwrap()
}

/// The agent's runs, newest first.
async fn runs(stack: &Stack, agent: i64) -> Vec<Value> {
    let (status, body) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun?aiAgentId={agent}"))).await;
    assert_eq!(status, 200, "{body}");
    body["testRuns"].as_array().unwrap().clone()
}

/// Waits until the agent has `n` runs and the newest has finished.
async fn finished_runs(stack: &Stack, agent: i64, n: usize) -> Vec<Value> {
    stack
        .eventually("the automatic run to finish", || async {
            let runs = runs(stack, agent).await;
            let done = runs.len() >= n
                && matches!(runs[0]["state"].as_str(), Some("completed" | "failed" | "cancelled"));
            done.then_some(runs)
        })
        .await
}

#[tokio::test]
async fn agent_edits_run_its_test_cases_only_with_the_setting_on_and_coalesce() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let ticket = stack
        .create(json!({"channel": "email", "subject": "Zählerstand", "from": "a@example.com",
            "body": "Mein Zählerstand ist 4711 kWh.", "process": "false"}))
        .await;
    let case = json!({"ticketId": ticket["id"], "aiAgentId": meter,
        "expectedResult": {"intentDetection": ["meter_reading"]}});
    let (status, body) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testCase").json(&case)).await;
    assert_eq!(status, 200, "{body}");

    // The setting is off by default: this edit must schedule nothing.
    let (status, setting) =
        send(stack.admin(Method::GET, "/settings/qualityCheckOnAgentChange")).await;
    assert_eq!(status, 200, "{setting}");
    let unrun = edit(&stack, meter, "edited while off").await;

    let (status, body) =
        send(stack.admin(Method::PUT, "/settings/qualityCheckOnAgentChange").json(&json!(true)))
            .await;
    assert_eq!(status, 200, "{body}");
    // Two quick edits: the second arrives while the first one's run is still queued.
    let first = edit(&stack, meter, "edited once").await;
    let second = edit(&stack, meter, "edited twice").await;
    let after_two = finished_runs(&stack, meter, 1).await;
    let run = &after_two[0];
    assert_eq!(run["state"], "completed", "{run}");
    assert_eq!(run["ticketsTested"], 1, "{run}");
    let description = run["description"].as_str().unwrap();
    assert!(
        [first, second].iter().any(|v| description.ends_with(&format!("(version {v})"))),
        "the run tests one of the edits made with the setting on: {run}"
    );
    assert!(!description.ends_with(&format!("(version {unrun})")), "{run}");

    // A later edit is a marker: agent-svc's events arrive in order, so once its run exists
    // every earlier edit has been handled. Two runs in all: nothing for the edit made while
    // the setting was off, one for the two quick edits, one for this.
    let last = edit(&stack, meter, "edited again").await;
    let all = finished_runs(&stack, meter, 2).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[1]["id"], run["id"]);
    assert_eq!(all[0]["state"], "completed", "{}", all[0]);
    assert_eq!(
        all[0]["description"],
        format!("Automatic run: AI agent changed (version {last})"),
        "{}",
        all[0]
    );
    for automatic in &all {
        assert_eq!(automatic["trigger"], "agentChange", "{automatic}");
    }

    // A re-run of an automatic run, and a run someone schedules, say what started them.
    let path = format!("/aiQualityCheck/testRun/{}/rerun", all[0]["id"]);
    let (status, rerun) = send(stack.admin(Method::POST, &path)).await;
    assert_eq!(status, 200, "{rerun}");
    assert_eq!(rerun["testRun"]["trigger"], "rerun", "{rerun}");
    assert_eq!(rerun["testRun"]["rerunOf"], all[0]["id"], "{rerun}");
    let schedule = json!({"aiAgentId": meter, "description": "by hand"});
    let (status, manual) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&schedule)).await;
    assert_eq!(status, 200, "{manual}");
    assert_eq!(manual["testRun"]["trigger"], "manual", "{manual}");
    let listed = finished_runs(&stack, meter, 4).await;
    let triggers: Vec<&str> = listed.iter().filter_map(|r| r["trigger"].as_str()).collect();
    assert_eq!(triggers, ["manual", "rerun", "agentChange", "agentChange"], "{listed:#?}");
    let path = format!("/aiQualityCheck/testRun/{}", rerun["testRun"]["id"]);
    let (status, read) = send(stack.admin(Method::GET, &path)).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["testRun"]["trigger"], "rerun", "{read}");

    // The API documents the field and its values.
    let (status, doc) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    assert_eq!(status, 200);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["TestRun"]["properties"]["trigger"]["$ref"], "#/components/schemas/RunTrigger",
        "{}",
        schemas["TestRun"]
    );
    assert_eq!(schemas["RunTrigger"]["enum"], json!(["manual", "agentChange", "rerun"]));
}
