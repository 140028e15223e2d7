//! The AI quality check through the gateway: test cases, runs replayed as dry runs through
//! agent-svc, scoring, review, staleness, and who may do what.

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

/// A meter-reading e-mail nobody processes (no detection writes to it afterwards).
async fn meter_ticket(stack: &Stack, reading: u32) -> Value {
    stack
        .create(json!({
            "channel": "email",
            "subject": "Zählerstand",
            "body": format!("Mein Zählerstand ist {reading} kWh."),
            "from": "a@example.com",
            "process": "false",
        }))
        .await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// The ticket with its version (the ETag) beside its fields.
async fn get_ticket(stack: &Stack, id: i64) -> Value {
    let response = stack.admin(Method::GET, &format!("/ticket/{id}")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    let mut body: Value = response.json().await.unwrap();
    body["version"] = json!(etag);
    body
}

/// Polls the run until it reaches a terminal state.
async fn finished(stack: &Stack, run: i64) -> Value {
    stack
        .eventually("the test run to finish", || async {
            let (status, body) =
                send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{run}"))).await;
            assert_eq!(status, 200, "{body}");
            let state = body["testRun"]["state"].as_str().unwrap_or_default().to_owned();
            matches!(state.as_str(), "completed" | "failed" | "cancelled").then_some(body)
        })
        .await
}

#[tokio::test]
async fn quality_check_needs_a_token_and_its_permissions() {
    let stack = Stack::start().await;
    let anonymous =
        stack.http.get(stack.url("/api/mind/aiQualityCheck/testRun")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["success"], false);

    // An agent may read none of it and write none of it; a malformed body proves that the
    // permission is checked before the body is read.
    let reads = [
        "/aiQualityCheck/testRun",
        "/aiQualityCheck/testCase",
        "/aiQualityCheck/testAiAgent",
        "/aiQualityCheck/testCase/all",
        "/aiQualityCheck/testRun/1",
        "/aiQualityCheck/testRun/1/diff",
        "/aiQualityCheck/testCase/1/expectations",
    ];
    for path in reads {
        let (status, body) = send(stack.agent(Method::GET, path)).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let writes = [
        (Method::POST, "/aiQualityCheck/testRun"),
        (Method::POST, "/aiQualityCheck/testCase"),
        (Method::POST, "/aiQualityCheck/testCase/1"),
        (Method::PATCH, "/aiQualityCheck/testCase/1"),
        (Method::PATCH, "/aiQualityCheck/testRun/1/updateExpectedResult/1"),
    ];
    for (method, path) in writes {
        let (status, body) = send(stack.agent(method.clone(), path).body("{not json")).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["success"], false);
    }
    let others = [
        (Method::DELETE, "/aiQualityCheck/testRun/1"),
        (Method::PATCH, "/aiQualityCheck/testRun/1/cancel"),
        (Method::POST, "/aiQualityCheck/testRun/1/rerun"),
        (Method::PATCH, "/aiQualityCheck/testRun/1/acceptExpectedResult/1"),
        (Method::POST, "/aiQualityCheck/testRun/1/acceptAllExpectedResults"),
        (Method::DELETE, "/aiQualityCheck/testCase/1"),
        (Method::POST, "/aiQualityCheck/testCase/1/expectations/1/restore"),
    ];
    for (method, path) in others {
        let (status, body) = send(stack.agent(method.clone(), path)).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_4xx() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let post = |path: &str, body: Value| stack.admin(Method::POST, path).json(&body);

    let (status, body) =
        send(post("/aiQualityCheck/testRun", json!({"config": {"limit": 1, "colour": "red"}})))
            .await;
    assert_eq!(status, 400, "unknown config key: {body}");
    let (status, body) = send(post("/aiQualityCheck/testRun", json!({"channel": "pigeon"}))).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(post("/aiQualityCheck/testRun", json!({"aiAgentId": meter}))).await;
    assert_eq!(status, 422, "no test cases: {body}");
    let (status, body) = send(post("/aiQualityCheck/testRun", json!({"aiAgentId": 999999}))).await;
    assert_eq!(status, 404, "{body}");

    let conversational = json!({"channel": "chat", "instructionPrompt": "Be angry", "aiAgentIds": [meter],
        "expectedCriteria": ["stays polite"]});
    let (status, body) = send(post("/aiQualityCheck/testCase", conversational)).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) =
        send(post("/aiQualityCheck/testCase", json!({"ticketId": 999999, "aiAgentId": meter})))
            .await;
    assert_eq!(status, 404, "{body}");
    let ticket = meter_ticket(&stack, 1).await;
    let bad =
        json!({"ticketId": id(&ticket), "aiAgentId": meter, "expectedResult": {"colour": "red"}});
    let (status, body) = send(post("/aiQualityCheck/testCase", bad)).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        send(post(&format!("/aiQualityCheck/testCase/{meter}"), json!({"ticketIds": "x"}))).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        send(post(&format!("/aiQualityCheck/testCase/{meter}"), json!({"ticketIds": []}))).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = send(stack.admin(Method::GET, "/aiQualityCheck/testCase/abc")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(stack.admin(Method::GET, "/aiQualityCheck/testRun/999")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(stack.admin(Method::GET, "/aiQualityCheck/testRun?limit=0")).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(stack.admin(Method::DELETE, "/aiQualityCheck/testCase/999")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(
        stack
            .admin(Method::PATCH, "/aiQualityCheck/testCase/999")
            .json(&json!({"description": "x"})),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        send(stack.admin(Method::PATCH, "/aiQualityCheck/testRun/999/cancel")).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn test_cases_snapshot_tickets_keep_expectation_versions_and_go_stale() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let ticket = meter_ticket(&stack, 12345).await;
    let ticket_id = id(&ticket);

    let expected = json!({"intentDetection": ["meter_reading"], "sentiment": "neutral"});
    let body = json!({"ticketId": ticket_id, "aiAgentId": meter, "expectedResult": expected, "description": "reading"});
    let (status, created) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testCase").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    let case = &created["testCase"];
    assert_eq!(case["ticketId"], ticket_id);
    assert_eq!(case["aiAgentId"], meter);
    assert_eq!(case["aiAgentCode"], "meter_reading");
    assert_eq!(case["channel"], "email");
    assert_eq!(case["expectedResult"], expected);
    assert_eq!(case["expectationVersion"], 1);
    assert_eq!(case["stale"], false);
    assert_eq!(case["ticket"]["subject"], "Zählerstand");
    let case_id = id(case);

    let (status, again) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testCase").json(&body)).await;
    assert_eq!(status, 409, "{again}");

    // Adding the same ticket again keeps the case; a second ticket becomes a new one.
    let other = meter_ticket(&stack, 777).await;
    let add = json!({"ticketIds": [ticket_id, id(&other)]});
    let (status, added) =
        send(stack.admin(Method::POST, &format!("/aiQualityCheck/testCase/{meter}")).json(&add))
            .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["testCases"][0]["id"], case_id);
    assert_eq!(added["testCases"][1]["expectedResult"], Value::Null);

    let patch = json!({"description": "changed", "expectedResult": {"sentiment": "negative"}});
    let (status, updated) = send(
        stack.admin(Method::PATCH, &format!("/aiQualityCheck/testCase/{case_id}")).json(&patch),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["success"], true);
    assert_eq!(updated["description"], "changed");
    assert_eq!(updated["expectationVersion"], 2);
    let mut db = stack.db().await;
    let versions: Vec<(i32, Value, i64)> = sqlx::query_as(
        "SELECT version, expected_result, set_by FROM quality.test_case_expectation WHERE test_case_id = $1 ORDER BY version",
    )
    .bind(case_id)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(versions, vec![(1, expected.clone(), 1), (2, json!({"sentiment": "negative"}), 1)]);

    let (status, listed) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testCase/{meter}"))).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["testCases"].as_array().unwrap().len(), 2);
    let (status, agents) =
        send(stack.admin(Method::GET, "/aiQualityCheck/testCase?q=changed")).await;
    assert_eq!(status, 200, "{agents}");
    let agents = agents["aiAgents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0]["slug"], "meter_reading");
    assert_eq!(agents[0]["testCases"].as_array().unwrap().len(), 1);
    let (status, all) = send(stack.admin(Method::GET, "/aiQualityCheck/testAiAgent")).await;
    assert_eq!(status, 200, "{all}");
    assert!(all["aiAgents"].as_array().unwrap().len() >= 12, "every active agent is eligible");

    // The ticket changes: the case is marked stale, its snapshot stays as it was.
    let (status, body) = send(
        stack
            .admin(Method::PATCH, &format!("/ticket/{ticket_id}"))
            .json(&json!({"subject": "Neu"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stale = stack
        .eventually("the test case to go stale", || async {
            let (_, listed) = send(stack.admin(Method::GET, "/aiQualityCheck/testCase/all")).await;
            listed["testCases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == case_id && c["stale"] == true)
                .cloned()
        })
        .await;
    assert_eq!(stale["ticket"]["subject"], "Zählerstand");
    assert!(stale["staleSince"].is_string());

    let (status, body) =
        send(stack.admin(Method::DELETE, &format!("/aiQualityCheck/testCase/{case_id}"))).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_new_test_case_is_prepared_in_the_background() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let ticket = meter_ticket(&stack, 4242).await;
    let body = json!({"ticketId": id(&ticket), "aiAgentId": meter,
        "expectedResult": {"intentDetection": ["meter_reading"]}});
    let (status, created) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testCase").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    let case = id(&created["testCase"]);
    // The answer comes before the message is embedded.
    assert!(created["testCase"]["preparedAt"].is_null(), "{created}");

    let prepared = stack
        .eventually("the test case to be prepared", || async {
            let path = format!("/aiQualityCheck/testCase/{meter}");
            let (status, listed) = send(stack.admin(Method::GET, &path)).await;
            assert_eq!(status, 200, "{listed}");
            let found = listed["testCases"].as_array().unwrap().iter().find(|c| id(c) == case);
            found.filter(|c| !c["preparedAt"].is_null()).cloned()
        })
        .await;
    let at = prepared["preparedAt"].as_str().unwrap();
    assert!(at >= prepared["createdAt"].as_str().unwrap(), "{prepared}");

    // A prepared case runs like any other.
    let schedule = json!({"aiAgentId": meter});
    let (status, scheduled) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&schedule)).await;
    assert_eq!(status, 200, "{scheduled}");
    let run = finished(&stack, id(&scheduled["testRun"])).await;
    assert_eq!(run["testRun"]["state"], "completed", "{run}");
    assert_eq!(run["testRun"]["successfulTests"], 1, "{run}");

    let (status, doc) = send(stack.http.get(stack.url("/api/mind/docs/openapi.json"))).await;
    assert_eq!(status, 200);
    let field = &doc["components"]["schemas"]["TestCase"]["properties"]["preparedAt"];
    assert!(field.is_object(), "the API documents preparedAt: {field}");
}

#[tokio::test]
async fn a_run_replays_every_case_once_scores_it_and_changes_no_ticket() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let mut tickets = Vec::new();
    for reading in [12345, 23456, 34567] {
        tickets.push(meter_ticket(&stack, reading).await);
    }
    let ids: Vec<i64> = tickets.iter().map(id).collect();
    let add = json!({"ticketIds": ids});
    let (status, added) =
        send(stack.admin(Method::POST, &format!("/aiQualityCheck/testCase/{meter}")).json(&add))
            .await;
    assert_eq!(status, 200, "{added}");
    // One case expects the agent to be detected; the others have no expectation yet.
    let first_case = id(&added["testCases"][0]);
    let patch = json!({"expectedResult": {"intentDetection": ["meter_reading"]}});
    let (status, body) = send(
        stack.admin(Method::PATCH, &format!("/aiQualityCheck/testCase/{first_case}")).json(&patch),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let before: Vec<Value> = tickets_now(&stack, &ids).await;
    let conversations_before = conversation_count(&stack).await;
    let mails_before = stack.mail.received().len();

    let schedule = json!({"aiAgentId": meter, "description": "nightly", "config": {"limit": 10, "reRunModels": true}});
    let (status, scheduled) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&schedule)).await;
    assert_eq!(status, 200, "{scheduled}");
    let run = &scheduled["testRun"];
    assert_eq!(run["ticketsScheduledForTesting"], 3);
    assert_eq!(run["aiAgentCode"], "meter_reading");
    assert_eq!(run["config"], json!({"limit": 10, "reRunModels": true}));
    let run_id = id(run);

    let report = finished(&stack, run_id).await;
    let run = &report["testRun"];
    assert_eq!(run["state"], "completed", "{report}");
    assert_eq!(run["ticketsTested"], 3);
    let tickets_of_run = report["tickets"].as_array().unwrap();
    assert_eq!(tickets_of_run.len(), 3, "each case tested once");
    let passed = tickets_of_run.iter().filter(|t| t["passed"] == true).count();
    assert_eq!(run["successfulTests"], passed as i64);
    for t in tickets_of_run {
        assert_eq!(t["state"], "completed", "{t}");
        assert!(t["actualResult"].is_object() && t["rawResult"].is_object(), "{t}");
        assert_eq!(t["actualResult"]["error"], Value::Null, "{t}");
        assert_eq!(t["actualResult"]["intentDetection"], json!(["meter_reading"]), "{t}");
    }
    assert!(report["scores"].get("overall").is_some(), "{report}");
    let mut db = stack.db().await;
    let (jobs,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM quality.test_job").fetch_one(&mut db).await.unwrap();
    assert_eq!(jobs, 0);

    // A dry run: no ticket changed, no message written, no mail sent.
    let after: Vec<Value> = tickets_now(&stack, &ids).await;
    for (b, a) in before.iter().zip(&after) {
        assert!(b["version"].is_string(), "{b}");
        assert_eq!(b["version"], a["version"], "{a}");
        assert_eq!(b["modifiedAt"], a["modifiedAt"]);
    }
    assert_eq!(conversation_count(&stack).await, conversations_before);
    assert_eq!(stack.mail.received().len(), mails_before);

    // Accept every observation: the cases now expect them, and the run is recounted.
    let (status, accepted) = send(stack.admin(
        Method::POST,
        &format!("/aiQualityCheck/testRun/{run_id}/acceptAllExpectedResults"),
    ))
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["testTickets"].as_array().unwrap().len(), 3);
    let (_, report) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{run_id}"))).await;
    assert_eq!(report["testRun"]["successfulTests"], 3, "{report}");
    assert_eq!(report["scores"]["overall"], 1.0);
    let (_, cases) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testCase/{meter}"))).await;
    for case in cases["testCases"].as_array().unwrap() {
        assert!(case["expectedResult"].is_object(), "{case}");
    }

    // Edit one expectation so it cannot match; a re-run regresses exactly that case.
    let wrong = json!({"expectedResult": {"sentiment": "furious"}});
    let path = format!("/aiQualityCheck/testRun/{run_id}/updateExpectedResult/{}", ids[1]);
    let (status, updated) = send(stack.admin(Method::PATCH, &path).json(&wrong)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["testTicket"]["passed"], false);
    assert_eq!(updated["message"], "Test ticket expected result updated successfully");
    let (status, rerun) =
        send(stack.admin(Method::POST, &format!("/aiQualityCheck/testRun/{run_id}/rerun"))).await;
    assert_eq!(status, 200, "{rerun}");
    let rerun_id = id(&rerun["testRun"]);
    let report = finished(&stack, rerun_id).await;
    assert_eq!(report["testRun"]["ticketsTested"], 3, "{report}");
    let (status, diff) =
        send(stack.admin(
            Method::GET,
            &format!("/aiQualityCheck/testRun/{rerun_id}/diff?against={run_id}"),
        ))
        .await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["againstTestRunId"], run_id);
    let (status, diff) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{rerun_id}/diff"))).await;
    assert_eq!(status, 200, "default: the previous completed run: {diff}");
    assert_eq!(diff["againstTestRunId"], run_id);
    assert_eq!(diff["fixed"], json!([]), "{diff}");

    // Accepting one observation restores that case.
    let path = format!("/aiQualityCheck/testRun/{rerun_id}/acceptExpectedResult/{}", ids[1]);
    let (status, accepted) = send(stack.admin(Method::PATCH, &path)).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["testTicket"]["passed"], true);

    let (status, list) = send(
        stack.admin(Method::GET, &format!("/aiQualityCheck/testRun?aiAgentId={meter}&limit=1")),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["testRuns"][0]["id"], rerun_id);

    let (status, body) =
        send(stack.admin(Method::PATCH, &format!("/aiQualityCheck/testRun/{run_id}/cancel"))).await;
    assert_eq!(status, 422, "a finished run cannot be cancelled: {body}");
    let (status, body) =
        send(stack.admin(Method::DELETE, &format!("/aiQualityCheck/testRun/{run_id}"))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{run_id}"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_cancelled_run_tests_nothing_more() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let mut ids = Vec::new();
    for reading in [1, 2, 3, 4, 5, 6] {
        ids.push(id(&meter_ticket(&stack, reading).await));
    }
    let add = json!({"ticketIds": ids});
    let path = format!("/aiQualityCheck/testCase/{meter}");
    let (status, _) = send(stack.admin(Method::POST, &path).json(&add)).await;
    assert_eq!(status, 200);
    let (status, scheduled) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&json!({}))).await;
    assert_eq!(status, 200, "{scheduled}");
    let run_id = id(&scheduled["testRun"]);

    // Holding the run's row stalls the worker before its replays, so the cancel below (most
    // likely) meets a run in flight; replays are fast, so a finished run is accepted too.
    let mut db = stack.db().await;
    let mut hold = sqlx::Connection::begin(&mut db).await.unwrap();
    sqlx::query("SELECT 1 FROM quality.test_run WHERE id = $1 FOR UPDATE")
        .bind(run_id)
        .execute(&mut *hold)
        .await
        .unwrap();
    let cancel = stack.admin(Method::PATCH, &format!("/aiQualityCheck/testRun/{run_id}/cancel"));
    let cancel = tokio::spawn(send(cancel));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    hold.rollback().await.unwrap();
    let (status, cancelled) = cancel.await.unwrap();

    let (_, report) =
        send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{run_id}"))).await;
    let tickets = report["tickets"].as_array().unwrap();
    let count = |state: &str| tickets.iter().filter(|t| t["state"] == state).count();
    let tested = count("completed") + count("failed");
    assert_eq!(report["testRun"]["ticketsTested"], tested as i64, "{report}");
    if status == 200 {
        assert_eq!(cancelled["testRun"]["state"], "cancelled");
        assert_eq!(tested + count("cancelled"), 6, "{report}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let (_, later) =
            send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{run_id}"))).await;
        assert_eq!(later["testRun"]["ticketsTested"], report["testRun"]["ticketsTested"]);
        assert_eq!(later["testRun"]["state"], "cancelled");
    } else {
        assert_eq!(status, 422, "{cancelled}");
        assert_eq!(report["testRun"]["state"], "completed", "{report}");
        assert_eq!(tested, 6);
    }
}

#[tokio::test]
async fn repeats_replay_each_case_k_times_and_report_pass_k() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let (reading, thanks) = (
        meter_ticket(&stack, 4711).await,
        stack
            .create(json!({"channel": "email", "subject": "Danke", "from": "b@example.com",
            "body": "Vielen Dank für die schnelle Hilfe!", "process": "false"}))
            .await,
    );
    for (ticket, expected) in
        [(&reading, json!(["meter_reading"])), (&thanks, json!(["meter_reading"]))]
    {
        let body = json!({"ticketId": id(ticket), "aiAgentId": meter,
            "expectedResult": {"intentDetection": expected}});
        let (status, created) =
            send(stack.admin(Method::POST, "/aiQualityCheck/testCase").json(&body)).await;
        assert_eq!(status, 200, "{created}");
    }
    for repeats in [0, 11] {
        let body = json!({"aiAgentId": meter, "config": {"repeats": repeats}});
        let (status, refused) =
            send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&body)).await;
        assert_eq!(status, 400, "repeats {repeats}: {refused}");
    }
    let body = json!({"aiAgentId": meter, "config": {"repeats": 3}});
    let (status, scheduled) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&body)).await;
    assert_eq!(status, 200, "{scheduled}");
    assert_eq!(scheduled["testRun"]["ticketsScheduledForTesting"], 6);
    assert_eq!(scheduled["testRun"]["config"]["repeats"], 3);
    let report = finished(&stack, id(&scheduled["testRun"])).await;
    assert_eq!(report["testRun"]["state"], "completed", "{report}");
    assert_eq!(report["testRun"]["ticketsTested"], 6);
    let tickets = report["tickets"].as_array().unwrap();
    let mut repeats: Vec<(i64, i64)> = tickets
        .iter()
        .map(|t| (t["ticketId"].as_i64().unwrap(), t["repeat"].as_i64().unwrap()))
        .collect();
    repeats.sort();
    let want: Vec<(i64, i64)> =
        [id(&reading), id(&thanks)].iter().flat_map(|t| (0..3).map(move |r| (*t, r))).collect();
    assert_eq!(repeats, want, "each case replayed three times");
    // Detection without an LLM is deterministic: the reading passes every replay, the
    // thank-you mail (wrongly expected to be a reading) fails every replay; nothing is flaky.
    let r = &report["repeatability"];
    assert_eq!(r["repeats"], 3, "{report}");
    assert_eq!(r["testCases"], 2);
    assert_eq!(r["passK"], 0.5);
    assert_eq!(r["passRate"], 0.5);
    assert_eq!(r["flakyTestCases"], json!([]));

    // A rerun repeats as often; a run without repeats reports none.
    let (status, rerun) = send(stack.admin(
        Method::POST,
        &format!("/aiQualityCheck/testRun/{}/rerun", id(&scheduled["testRun"])),
    ))
    .await;
    assert_eq!(status, 200, "{rerun}");
    assert_eq!(rerun["testRun"]["ticketsScheduledForTesting"], 6);
    let (status, single) = send(
        stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&json!({"aiAgentId": meter})),
    )
    .await;
    assert_eq!(status, 200, "{single}");
    let single = finished(&stack, id(&single["testRun"])).await;
    assert_eq!(single["repeatability"], Value::Null);
}

#[tokio::test]
async fn an_expectation_rolls_back_as_a_new_version() {
    let stack = Stack::start().await;
    let meter = agent_id(&stack, "meter_reading").await;
    let ticket = meter_ticket(&stack, 815).await;
    let first = json!({"intentDetection": ["meter_reading"]});
    let body = json!({"ticketId": id(&ticket), "aiAgentId": meter, "expectedResult": first});
    let (status, created) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testCase").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    let case = id(&created["testCase"]);
    let second = json!({"intentDetection": []});
    let patch = json!({"expectedResult": second});
    let path = format!("/aiQualityCheck/testCase/{case}");
    let (status, body) = send(stack.admin(Method::PATCH, &path).json(&patch)).await;
    assert_eq!(status, 200, "{body}");

    let history = format!("/aiQualityCheck/testCase/{case}/expectations");
    let (status, listed) = send(stack.admin(Method::GET, &history)).await;
    assert_eq!(status, 200, "{listed}");
    let versions = listed["expectations"].as_array().unwrap();
    let summary: Vec<(i64, &str)> = versions
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [(2, "update"), (1, "create")]);
    assert_eq!(versions[1]["expectedResult"], first);
    assert_eq!(versions[0]["setBy"], 1);

    let (status, restored) = send(stack.admin(Method::POST, &format!("{history}/1/restore"))).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["expectationVersion"], 3);
    assert_eq!(restored["expectedResult"], first);
    let (_, listed) = send(stack.admin(Method::GET, &history)).await;
    assert_eq!(listed["expectations"][0]["reason"], "rollback");
    assert_eq!(listed["expectations"][0]["expectedResult"], first);
    assert_eq!(listed["expectations"].as_array().unwrap().len(), 3, "nothing was rewritten");

    let (status, body) = send(stack.admin(Method::POST, &format!("{history}/3/restore"))).await;
    assert_eq!(status, 422, "the current version: {body}");
    let (status, body) = send(stack.admin(Method::POST, &format!("{history}/9/restore"))).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) =
        send(stack.admin(Method::GET, "/aiQualityCheck/testCase/999999/expectations")).await;
    assert_eq!(status, 404, "{body}");
}

async fn tickets_now(stack: &Stack, ids: &[i64]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        out.push(get_ticket(stack, *id).await);
    }
    out
}

async fn conversation_count(stack: &Stack) -> i64 {
    let mut db = stack.db().await;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM ticket.conversation")
        .fetch_one(&mut db)
        .await
        .unwrap();
    n
}
