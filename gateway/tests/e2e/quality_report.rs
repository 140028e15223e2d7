//! A test run's HTML report: who may read it, its headers, and the page as headless Chromium
//! renders it (charts drawn, user text escaped, a screenshot taken).
//!
//! With `ENNEO_TEST_SCREENSHOTS=<dir>` the screenshot is kept there as `quality-report.png`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Loads the default agents; the id of the meter reading agent.
async fn meter_agent(stack: &Stack) -> i64 {
    let (status, loaded) = send(stack.admin(Method::POST, "/aiAgents/loadDefaults")).await;
    assert_eq!(status, 200, "{loaded}");
    loaded["aiAgents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["slug"] == "meter_reading")
        .map(id)
        .unwrap_or_else(|| panic!("no meter_reading in {loaded}"))
}

/// Polls the run until it has finished; it must have completed.
async fn completed(stack: &Stack, run: i64) {
    let state = stack
        .eventually("the test run to finish", || async {
            let (status, body) =
                send(stack.admin(Method::GET, &format!("/aiQualityCheck/testRun/{run}"))).await;
            assert_eq!(status, 200, "{body}");
            let state = body["testRun"]["state"].as_str().unwrap_or_default().to_owned();
            matches!(state.as_str(), "completed" | "failed" | "cancelled").then_some(state)
        })
        .await;
    assert_eq!(state, "completed");
}

/// Two completed runs of the meter agent over three cases; the second regresses the case of
/// the ticket with `subject`. Returns (the agent, first run, second run, the regressed ticket).
async fn two_runs(stack: &Stack, subject: &str) -> (i64, i64, i64, i64) {
    let meter = meter_agent(stack).await;
    let mut tickets = Vec::new();
    for (reading, subject) in [(12345, "Zählerstand"), (23456, subject), (34567, "Zählerstand")] {
        let ticket = stack
            .create(json!({
                "channel": "email",
                "subject": subject,
                "body": format!("Mein Zählerstand ist {reading} kWh."),
                "from": "a@example.com",
                "process": "false",
            }))
            .await;
        tickets.push(id(&ticket));
    }
    let path = format!("/aiQualityCheck/testCase/{meter}");
    let (status, added) =
        send(stack.admin(Method::POST, &path).json(&json!({"ticketIds": tickets}))).await;
    assert_eq!(status, 200, "{added}");

    let schedule = json!({"aiAgentId": meter, "description": "nightly"});
    let (status, scheduled) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&schedule)).await;
    assert_eq!(status, 200, "{scheduled}");
    let first = id(&scheduled["testRun"]);
    completed(stack, first).await;
    // Every observation becomes the expectation: the first run passes throughout.
    let path = format!("/aiQualityCheck/testRun/{first}/acceptAllExpectedResults");
    let (status, accepted) = send(stack.admin(Method::POST, &path)).await;
    assert_eq!(status, 200, "{accepted}");

    // One case now expects what cannot match (the first run keeps its verdicts): the re-run
    // regresses exactly that case.
    let case = added["testCases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ticketId"] == tickets[1])
        .map(id)
        .unwrap_or_else(|| panic!("no case of ticket {} in {added}", tickets[1]));
    let path = format!("/aiQualityCheck/testCase/{case}");
    let wrong = json!({"expectedResult": {"sentiment": "furious"}});
    let (status, updated) = send(stack.admin(Method::PATCH, &path).json(&wrong)).await;
    assert_eq!(status, 200, "{updated}");
    let (status, rerun) =
        send(stack.admin(Method::POST, &format!("/aiQualityCheck/testRun/{first}/rerun"))).await;
    assert_eq!(status, 200, "{rerun}");
    let second = id(&rerun["testRun"]);
    completed(stack, second).await;
    (meter, first, second, tickets[1])
}

#[tokio::test]
async fn the_report_needs_a_token_the_view_permission_and_a_known_run() {
    let stack = Stack::start().await;
    let anonymous = stack
        .http
        .get(stack.url("/api/mind/aiQualityCheck/testRun/1/report"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");

    let (status, body) = send(stack.agent(Method::GET, "/aiQualityCheck/testRun/1/report")).await;
    assert_eq!(status, 403, "an agent lacks aiQualityCheckView: {body}");
    let (status, body) =
        send(stack.admin(Method::GET, "/aiQualityCheck/testRun/999999/report")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false, "{body}");
    let (status, body) = send(stack.admin(Method::GET, "/aiQualityCheck/testRun/abc/report")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_report_renders_its_charts_in_a_browser() {
    let stack = Stack::start().await;
    let subject = "Zählerstand <b>neu</b> & \"alt\"";
    let (meter, first, second, regressed_ticket) = two_runs(&stack, subject).await;

    let response = stack
        .admin(Method::GET, &format!("/aiQualityCheck/testRun/{second}/report"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    );
    let html = response.text().await.unwrap();
    for outside in ["http:", "https:", "<script", "<link", "<img", "url("] {
        assert!(!html.contains(outside), "the page loads nothing ({outside}): {html}");
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, &html).unwrap();
    let url = format!("file://{}", file.display());
    let dom = crate::browser::rendered_dom(&url).await;
    assert_eq!(dom.matches("<svg").count(), 3, "three charts: {dom}");
    for part in [
        &format!("Test run #{second}"),
        "Zählerstand-Agent",
        "Scores per dimension",
        "Intent detection per agent",
        ">meter_reading<",
        &format!("Changes against test run #{first}"),
        "Overall score over the agent's runs",
        &format!(">#{first}<"),
        &format!(">#{second}<"),
    ] {
        assert!(dom.contains(part), "{part} is on the page: {dom}");
    }
    assert!(dom.contains("<b>1</b><span>regressed</span>"), "one case regressed: {dom}");
    assert!(
        dom.contains(&format!("<td>#{regressed_ticket}</td>")),
        "the regressed case is listed: {dom}"
    );
    // The subject is text, not markup: the browser made no <b> of it.
    assert!(dom.contains("Zählerstand &lt;b&gt;neu&lt;/b&gt; &amp; \"alt\""), "{dom}");
    assert!(!dom.contains("<b>neu</b>"), "{dom}");
    assert!(!dom.contains("class=\"no-data\""), "every chart has data: {dom}");
    // Both runs are on the trend; the first passed throughout, the second did not.
    assert!(dom.contains(&format!("#{first}: 100%")), "{dom}");
    assert!(!dom.contains(&format!("#{second}: 100%")), "{dom}");

    let png = crate::browser::screenshot(&url, dir.path(), 900, 1500).await;
    let bytes = std::fs::read(&png).unwrap();
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (900, 1500));
    assert!(bytes.len() > 20_000, "a drawn page, not a blank one: {} bytes", bytes.len());
    if let Some(keep) = std::env::var_os("ENNEO_TEST_SCREENSHOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&png, std::path::Path::new(&keep).join("quality-report.png")).unwrap();
    }
    // Neither run replayed a case twice: no repeatability on the page.
    assert!(!dom.contains("id=\"repeatability\""), "{dom}");

    // A run replaying each case twice shows pass^2: two of the three cases pass both times
    // (the third still expects what cannot match), and detection without an LLM is
    // deterministic, so no case is flaky.
    let schedule = json!({"aiAgentId": meter, "config": {"repeats": 2}});
    let (status, scheduled) =
        send(stack.admin(Method::POST, "/aiQualityCheck/testRun").json(&schedule)).await;
    assert_eq!(status, 200, "{scheduled}");
    let repeated = id(&scheduled["testRun"]);
    completed(&stack, repeated).await;
    let path = format!("/aiQualityCheck/testRun/{repeated}/report");
    let (status, html) = text(stack.admin(Method::GET, &path)).await;
    assert_eq!(status, 200, "{html}");
    std::fs::write(&file, &html).unwrap();
    let dom = crate::browser::rendered_dom(&url).await;
    for part in [
        "Repeatability over 2 replays per test case",
        "<b>67%</b><span>pass^2: every replay passed</span>",
        "<b>67%</b><span>of all replays passed</span>",
        "<b>0</b><span>flaky test cases</span>",
        "<b>3</b><span>test cases with every replay done</span>",
        "No test case is flaky",
    ] {
        assert!(dom.contains(part), "{part} is on the page: {dom}");
    }
}

/// Status and body text of a request.
async fn text(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}
