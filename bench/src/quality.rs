//! AI quality check throughput: `--cases` test cases (tickets made from the labelled
//! development set, each expecting its labelled intents) replayed by one run, then by its
//! rerun. The first run embeds every message (cold); the rerun finds the snapshots' vectors in
//! agent-svc's cache, as every later run of the same test cases does (warm). Prints cases/s
//! and the end-to-end time from scheduling to the run's completion.

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

    let started = Instant::now();
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
        api.call(reqwest::Method::POST, "/aiQualityCheck/testCase", Some(case)).await?;
    }
    println!(
        "created {} tickets and test cases in {:.1} s\n",
        args.cases,
        started.elapsed().as_secs_f64()
    );

    println!(
        "| run | cases | end-to-end s | cases/s | overall | successful |\n|---|---|---|---|---|---|"
    );
    let started = Instant::now();
    let scheduled =
        api.call(reqwest::Method::POST, "/aiQualityCheck/testRun", Some(json!({}))).await?;
    let first = scheduled["testRun"]["id"].as_i64().unwrap_or_default();
    measure(&api, "first (cold vectors)", first, started).await?;
    let started = Instant::now();
    let rerun = api
        .call(reqwest::Method::POST, &format!("/aiQualityCheck/testRun/{first}/rerun"), None)
        .await?;
    let second = rerun["testRun"]["id"].as_i64().unwrap_or_default();
    measure(&api, "rerun (cached vectors)", second, started).await?;
    Ok(())
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
