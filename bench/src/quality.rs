//! AI quality check throughput: `--cases` test cases (tickets made from the labelled
//! development set, each expecting its labelled intents) replayed by one run, then by its
//! rerun.
//!
//! Embedding the messages is most of the work. quality-svc prepares each new test case in the
//! background (agent-svc embeds its message into the vector cache), so the bench reports that
//! part apart: the time to create the cases, then the time until every one of them is
//! prepared, counted from the first creation. The first run then replays cases whose vectors
//! are cached, as does the rerun (and every later run). Prints, per run, cases/s and the
//! end-to-end time from scheduling to the run's completion, and the whole from the first
//! creation to the end of the first run.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct Args {
    /// Test cases to create and replay.
    #[arg(long, default_value_t = 1000)]
    cases: usize,
    /// The labelled messages the tickets are made from (JSONL, agent-svc/eval/README.md).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../agent-svc/eval/dev.jsonl"))]
    messages: String,
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}/api/mind{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path} answered {status}: {body}");
        Ok(body)
    }
}

pub async fn run(args: Args, gateway: &str, token: &str) -> anyhow::Result<()> {
    let api =
        Api { http: reqwest::Client::new(), base: gateway.to_owned(), token: token.to_owned() };
    let messages: Vec<Value> = std::fs::read_to_string(&args.messages)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(!messages.is_empty(), "{} holds no messages", args.messages);

    let loaded = api.call(reqwest::Method::POST, "/aiAgents/loadDefaults", None).await?;
    let agent_id = |slug: &str| {
        loaded["aiAgents"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["slug"] == slug))
            .and_then(|a| a["id"].as_i64())
    };
    let fallback = agent_id("meter_reading").ok_or_else(|| anyhow::anyhow!("no default agents"))?;

    let created_at = Instant::now();
    let mut created = Vec::with_capacity(args.cases);
    for i in 0..args.cases {
        let m = &messages[i % messages.len()];
        let intents: Vec<String> = m["intents"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        // A reference keeps every ticket's text its own, so the first run embeds each one.
        let subject = format!("{} [#{i}]", m["subject"].as_str().unwrap_or_default());
        let ticket = api
            .call(
                reqwest::Method::POST,
                "/ticket",
                Some(json!({"channel": m["channel"], "subject": subject, "body": m["body"],
                    "from": format!("bench{i}@example.com"), "process": "false"})),
            )
            .await?;
        let agent = intents.first().and_then(|s| agent_id(s)).unwrap_or(fallback);
        let case = json!({"ticketId": ticket["id"], "aiAgentId": agent,
            "expectedResult": {"intentDetection": intents}});
        let case = api.call(reqwest::Method::POST, "/aiQualityCheck/testCase", Some(case)).await?;
        created.push(case["testCase"]["id"].as_i64().unwrap_or_default());
    }
    let creation = created_at.elapsed().as_secs_f64();
    println!("created {} tickets and test cases in {creation:.1} s", args.cases);
    let prepared = prepared(&api, &created, created_at).await?;
    println!(
        "their messages embedded in the background (test cases prepared) {prepared:.1} s after \
         the first was created ({:.1} cases/s)\n",
        args.cases as f64 / prepared
    );

    println!(
        "| run | cases | end-to-end s | cases/s | overall | successful |\n|---|---|---|---|---|---|"
    );
    let started = Instant::now();
    let scheduled =
        api.call(reqwest::Method::POST, "/aiQualityCheck/testRun", Some(json!({}))).await?;
    let first = scheduled["testRun"]["id"].as_i64().unwrap_or_default();
    measure(&api, "first (prepared vectors)", first, started).await?;
    let whole = created_at.elapsed().as_secs_f64();
    let started = Instant::now();
    let rerun = api
        .call(reqwest::Method::POST, &format!("/aiQualityCheck/testRun/{first}/rerun"), None)
        .await?;
    let second = rerun["testRun"]["id"].as_i64().unwrap_or_default();
    measure(&api, "rerun (cached vectors)", second, started).await?;
    println!(
        "\nfrom the first test case created to the end of the first run: {whole:.1} s \
         ({:.1} cases/s)",
        args.cases as f64 / whole
    );
    Ok(())
}

/// Waits until every test case in `ids` is prepared; seconds since `since`.
async fn prepared(api: &Api, ids: &[i64], since: Instant) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let listed = api.call(reqwest::Method::GET, "/aiQualityCheck/testCase/all", None).await?;
        let ready: std::collections::HashSet<i64> = listed["testCases"]
            .as_array()
            .map(|cases| {
                cases
                    .iter()
                    .filter(|c| !c["preparedAt"].is_null())
                    .filter_map(|c| c["id"].as_i64())
                    .collect()
            })
            .unwrap_or_default();
        if ids.iter().all(|id| ready.contains(id)) {
            return Ok(since.elapsed().as_secs_f64());
        }
        anyhow::ensure!(Instant::now() < deadline, "test cases not prepared within an hour");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits for run `id`, scheduled at `started`, to finish and prints its line.
async fn measure(api: &Api, name: &str, id: i64, started: Instant) -> anyhow::Result<()> {
    let report = loop {
        let report =
            api.call(reqwest::Method::GET, &format!("/aiQualityCheck/testRun/{id}"), None).await?;
        let state = report["testRun"]["state"].as_str().unwrap_or_default();
        if matches!(state, "completed" | "failed" | "cancelled") {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed().as_secs_f64();
    let run = &report["testRun"];
    let tested = run["ticketsTested"].as_f64().unwrap_or_default();
    println!(
        "| {name} | {tested} | {elapsed:.1} | {:.1} | {} | {} |",
        tested / elapsed,
        report["scores"]["overall"],
        run["successfulTests"]
    );
    anyhow::ensure!(run["state"] == "completed", "run {id} ended {}", run["state"]);
    Ok(())
}
