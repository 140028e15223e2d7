//! agent-eval: scores agent-svc's offline AI against a labelled message set (see
//! `agent-svc/eval/README.md`):
//! - intent detection: per-agent precision/recall/F1, micro and macro F1, exact-set accuracy
//!   and the time per message, with the detector the service runs (embeddings from the
//!   configured server, classifier trained on the agents' examples);
//! - parameter extraction: for every message and every gold intent, each `source: message`
//!   parameter of that agent is extracted with its built-in extractor and compared with the
//!   gold value.
//!
//! With `--llm-url`, both are scored a second time the way the service runs with an LLM:
//! candidates in the LLM band are confirmed by it (`Runtime::confirmed`), and the scalar
//! `message` parameters the patterns missed are asked of it (`Llm::extract`); a failing call
//! falls back as in the service and is counted.
//!
//! `cargo run --release -p agent-svc --bin agent-eval -- [--set PATH] [--defaults DIR]
//! [--embeddings-url URL] [--errors] [--folds K] [--latency N] [--cache DIR] [--dump FILE]
//! [--llm-url URL] [--llm-model MODEL]`

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::DateTime;
use clap::Parser;
use serde::Deserialize;
use serde_json::Value;

use agent_svc::agents::document;
use agent_svc::config::LlmConfig;
use agent_svc::detection;
use agent_svc::engine::definition::{Parameter, Source};
use agent_svc::extraction::{Doc, Hint, Lang, Message, extract_intent};
use agent_svc::llm::{self, Llm};

#[derive(Parser)]
#[command(about = "Evaluate agent-svc's offline extraction against a labelled set")]
struct Args {
    /// JSONL set in the format of agent-svc/eval/README.md.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/dev.jsonl"))]
    set: PathBuf,
    /// Directory of agent definitions (one JSON file per agent).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/defaults"))]
    defaults: PathBuf,
    /// Also list every wrong, missed and spurious value.
    #[arg(long)]
    errors: bool,
    /// OpenAI-compatible embeddings server (with the API version); empty: skip detection.
    #[arg(long, default_value = "http://127.0.0.1:8089/v1")]
    embeddings_url: String,
    #[arg(long, default_value = "multilingual-e5-small")]
    embeddings_model: String,
    /// Score a unit must reach for its agent to be detected.
    #[arg(long, default_value_t = agent_svc::detection::DEFAULT_THRESHOLD)]
    threshold: f32,
    /// Vector cache for examples, background and the set's units, so a rerun embeds only
    /// what changed; empty: no cache.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/agent-eval-cache"))]
    cache: String,
    /// Write the units and vectors of the set and the catalogue as JSON (for offline analysis).
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Messages whose detection latency is measured with uncached embeddings calls (0: none).
    #[arg(long, default_value_t = usize::MAX)]
    latency: usize,
    /// Keyword bonus (default: the detector's).
    #[arg(long)]
    keyword_bonus: Option<f32>,
    /// Also cross-validate the threshold and keyword bonus over the set with this many folds.
    #[arg(long, default_value_t = 0)]
    folds: usize,
    /// OpenAI-compatible chat server (with the API version): also score detection and
    /// extraction with this LLM, as the service runs with one.
    #[arg(long)]
    llm_url: Option<String>,
    #[arg(long, default_value = "smollm2")]
    llm_model: String,
}

/// An agent as far as evaluation needs it: its message parameters and their hints.
pub struct Agent {
    pub slug: String,
    pub parameters: Vec<(String, Hint)>,
    /// Its `message` parameters as the LLM is asked for them.
    pub message_parameters: Vec<Parameter>,
    /// The raw parameter documents (for their descriptions).
    pub raw_parameters: Vec<Value>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Example {
    pub id: String,
    pub lang: String,
    pub received_at: String,
    #[serde(default)]
    pub subject: String,
    pub body: String,
    pub intents: Vec<String>,
    #[serde(default)]
    pub params: BTreeMap<String, BTreeMap<String, Value>>,
}

fn load_agents(dir: &Path) -> Result<BTreeMap<String, Agent>> {
    let mut agents = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("parsing {}", path.display()))?;
        let Some(slug) = doc.get("slug").and_then(Value::as_str) else { continue };
        let params = doc.pointer("/settings/parameters").and_then(Value::as_array);
        let mut parameters = Vec::new();
        for p in params.into_iter().flatten() {
            if p.get("source").and_then(Value::as_str) != Some("message") {
                continue;
            }
            let key = p.get("key").and_then(Value::as_str).unwrap_or_default().to_owned();
            if let Some(hint) = Hint::from_parameter(p) {
                let hint = hint.with_context(|| format!("{slug}.{key}: extraction hint"))?;
                parameters.push((key, hint));
            }
        }
        let settings = document::settings_of(&doc)
            .map_err(|v| anyhow::anyhow!("{slug}: {}", v.0.join("; ")))?;
        let message_parameters =
            settings.parameters.into_iter().filter(|p| p.source == Source::Message).collect();
        let raw_parameters = params.cloned().unwrap_or_default();
        agents.insert(
            slug.to_owned(),
            Agent { slug: slug.to_owned(), parameters, message_parameters, raw_parameters },
        );
    }
    Ok(agents)
}

/// The LLM calls of one evaluation: their latency, and how many failed (and fell back).
#[derive(Default)]
pub struct Calls {
    times: Vec<Duration>,
    failures: usize,
    first_failure: Option<String>,
}

impl Calls {
    fn record(&mut self, took: Duration, failure: Option<String>) {
        self.times.push(took);
        self.failures += usize::from(failure.is_some());
        self.first_failure = self.first_failure.take().or(failure);
    }

    fn summary(&self, what: &str) -> String {
        let mut times = self.times.clone();
        times.sort();
        let pct = |q: f64| {
            times
                .get(((times.len().max(1) - 1) as f64 * q).round() as usize)
                .map_or(0.0, |t| t.as_secs_f64() * 1000.0)
        };
        let first = self.first_failure.as_ref().map_or(String::new(), |e| format!("; first: {e}"));
        format!(
            "LLM {what}: {} calls, p50 {:.0} ms, p95 {:.0} ms, {} failed (fell back){first}\n",
            times.len(),
            pct(0.5),
            pct(0.95),
            self.failures
        )
    }
}

/// A value as the set labels it: the LLM may answer a number where the set holds its text.
fn as_text(value: Value) -> Value {
    match value {
        Value::Number(_) | Value::Bool(_) => Value::String(value.to_string()),
        other => other,
    }
}

fn load_set(path: &Path) -> Result<Vec<Example>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

mod extraction_report {
    use super::*;

    #[derive(Default, Clone, Copy)]
    pub struct Counts {
        pub gold: usize,
        pub correct: usize,
        pub wrong: usize,
        pub missed: usize,
        pub spurious: usize,
    }

    impl Counts {
        fn scored(&self) -> usize {
            self.correct + self.wrong + self.missed + self.spurious
        }
        pub fn accuracy(&self) -> f64 {
            if self.scored() == 0 { 1.0 } else { self.correct as f64 / self.scored() as f64 }
        }
        fn add(&mut self, o: &Counts) {
            self.gold += o.gold;
            self.correct += o.correct;
            self.wrong += o.wrong;
            self.missed += o.missed;
            self.spurious += o.spurious;
        }
    }

    pub struct Report {
        pub per_parameter: BTreeMap<String, Counts>,
        /// Gold values under a key the labelled agent has no message parameter for.
        pub unscored: BTreeMap<String, usize>,
        pub errors: Vec<String>,
    }

    impl Report {
        pub fn overall(&self) -> Counts {
            let mut all = Counts::default();
            self.per_parameter.values().for_each(|c| all.add(c));
            all
        }
    }

    /// With `llm`, the scalar `message` parameters the patterns missed are asked of it, as
    /// `runner::run_with` does; a failed call leaves them missing.
    pub async fn run(
        agents: &BTreeMap<String, Agent>,
        set: &[Example],
        llm: Option<&Llm>,
        calls: &mut Calls,
    ) -> Result<Report> {
        let mut report =
            Report { per_parameter: BTreeMap::new(), unscored: BTreeMap::new(), errors: vec![] };
        for ex in set {
            let received_at = DateTime::parse_from_rfc3339(&ex.received_at)
                .with_context(|| format!("{}: receivedAt", ex.id))?;
            let message =
                Message { subject: &ex.subject, body: &ex.body, received_at, lang: Some(&ex.lang) };
            let doc = Doc::new(&message);
            for slug in &ex.intents {
                let Some(agent) = agents.get(slug) else { continue };
                let gold = ex.params.get(slug).cloned().unwrap_or_default();
                for key in gold.keys() {
                    if !agent.parameters.iter().any(|(k, _)| k == key) {
                        *report.unscored.entry(key.clone()).or_default() += 1;
                    }
                }
                let mut extracted = extract_intent(&agent.parameters, &doc);
                if let Some(llm) = llm {
                    let missing: Vec<&Parameter> = agent
                        .message_parameters
                        .iter()
                        .filter(|p| !extracted.iter().any(|(k, _)| *k == p.key))
                        .collect();
                    if missing.iter().any(|p| llm::json_type(p.ty).is_some()) {
                        let descriptions = descriptions(agent, &missing, doc.lang);
                        let text = format!("{}\n\n{}", ex.subject, doc.text);
                        let started = std::time::Instant::now();
                        let answer = llm.extract(&text, &missing, &descriptions, doc.today).await;
                        let failure = answer.as_ref().err().map(ToString::to_string);
                        calls.record(started.elapsed(), failure);
                        for (key, value) in answer.unwrap_or_default() {
                            extracted.push((key, as_text(value)));
                        }
                    }
                }
                for (key, _) in &agent.parameters {
                    let predicted =
                        extracted.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
                    let counts = report.per_parameter.entry(key.clone()).or_default();
                    let expected = gold.get(key);
                    let outcome = match (expected, &predicted) {
                        (Some(g), Some(p)) if g == p => {
                            counts.correct += 1;
                            None
                        }
                        (Some(_), Some(_)) => Some(("wrong", &mut counts.wrong)),
                        (Some(_), None) => Some(("missed", &mut counts.missed)),
                        (None, Some(_)) => Some(("spurious", &mut counts.spurious)),
                        (None, None) => None,
                    };
                    counts.gold += usize::from(expected.is_some());
                    if let Some((what, n)) = outcome {
                        *n += 1;
                        report.errors.push(format!(
                            "{} {}.{key} {what}: gold {} got {}",
                            ex.id,
                            agent.slug,
                            expected.map_or("-".into(), Value::to_string),
                            predicted.as_ref().map_or("-".into(), Value::to_string),
                        ));
                    }
                }
            }
        }
        Ok(report)
    }

    /// What the LLM is told each parameter is, in the message's language (as the runner does).
    fn descriptions(agent: &Agent, missing: &[&Parameter], lang: Lang) -> Vec<String> {
        let key = if lang == Lang::En { "descriptionEn" } else { "description" };
        missing
            .iter()
            .map(|p| {
                agent
                    .raw_parameters
                    .iter()
                    .find(|raw| raw.get("key").and_then(Value::as_str) == Some(p.key.as_str()))
                    .and_then(|raw| raw.get(key).or_else(|| raw.get("description")))
                    .and_then(Value::as_str)
                    .unwrap_or(&p.name)
                    .to_owned()
            })
            .collect()
    }

    pub fn print(report: &Report, how: &str, errors: bool) {
        println!("## Parameter extraction ({how})\n");
        println!("| parameter | gold | correct | wrong | missed | spurious | accuracy |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let row = |name: &str, c: &Counts| {
            println!(
                "| {name} | {} | {} | {} | {} | {} | {:.3} |",
                c.gold,
                c.correct,
                c.wrong,
                c.missed,
                c.spurious,
                c.accuracy()
            )
        };
        for (key, c) in &report.per_parameter {
            row(key, c);
        }
        row("**overall**", &report.overall());
        if !report.unscored.is_empty() {
            let list: Vec<String> =
                report.unscored.iter().map(|(k, n)| format!("{k} {n}")).collect();
            println!(
                "\nGold values under keys the labelled agent does not define (not scored): {}",
                list.join(", ")
            );
        }
        if errors {
            println!();
            report.errors.iter().for_each(|e| println!("{e}"));
        }
    }
}

mod detection_report {
    use std::time::{Duration, Instant};

    use super::*;
    use agent_svc::agents::store::AgentRow;
    use agent_svc::detection::runtime::{
        Findings, LLM_CANDIDATE_THRESHOLD, LLM_CONFIRM_BELOW, Runtime,
    };
    use agent_svc::detection::{self, AgentProfile, Detector};
    use agent_svc::providers::Endpoint;
    use agent_svc::providers::cache::VectorCache;
    use agent_svc::providers::embeddings::{EmbeddingsClient, InputType};
    use agent_svc::tickets::TicketView;

    #[derive(Default, Clone, Copy)]
    struct Counts {
        tp: usize,
        fp: usize,
        fn_: usize,
    }

    impl Counts {
        fn precision(&self) -> f64 {
            ratio(self.tp, self.tp + self.fp)
        }
        fn recall(&self) -> f64 {
            ratio(self.tp, self.tp + self.fn_)
        }
        fn f1(&self) -> f64 {
            let (p, r) = (self.precision(), self.recall());
            if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
        }
    }

    fn ratio(a: usize, b: usize) -> f64 {
        if b == 0 { 1.0 } else { a as f64 / b as f64 }
    }

    /// Scores detection without an LLM and prints it; with `llm`, also scores it the way the
    /// service runs with one and returns that score (printed with the other LLM results).
    pub async fn run(
        args: &Args,
        set: &[Example],
        llm: Option<&Arc<Llm>>,
    ) -> Result<Option<(Score, Calls)>> {
        let client = EmbeddingsClient::new(Endpoint {
            url: args.embeddings_url.clone(),
            model: args.embeddings_model.clone(),
            api_key: None,
            timeout: Duration::from_secs(30),
            retries: 2,
        });
        let mut profiles = Vec::new();
        let mut rows = Vec::new();
        let mut id = 0;
        for entry in std::fs::read_dir(&args.defaults)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .with_context(|| format!("parsing {}", path.display()))?;
            if doc.get("slug").is_some() {
                id += 1;
                profiles.push(AgentProfile::from_definition(id, &doc));
                let slug = doc["slug"].as_str().unwrap_or_default().to_owned();
                let now = chrono::Utc::now();
                rows.push(AgentRow {
                    id,
                    slug,
                    definition: doc,
                    version: 1,
                    created_at: now,
                    modified_at: now,
                });
            }
        }
        profiles.sort_by(|a, b| a.slug.cmp(&b.slug));
        let background: Value =
            serde_json::from_str(&std::fs::read_to_string(args.defaults.join("background.json"))?)?;
        let cache = VectorCache::new((!args.cache.is_empty()).then(|| PathBuf::from(&args.cache)));
        let background = detection::background(&background);
        let started = Instant::now();
        let mut vectors = Vec::with_capacity(profiles.len());
        for p in &profiles {
            vectors.push(cache.embed(&client, &p.examples, InputType::Query).await?);
        }
        let background_vectors = cache.embed(&client, &background, InputType::Query).await?;
        let embed_time = started.elapsed();
        let started = Instant::now();
        let detector =
            Detector::from_vectors(profiles.clone(), vectors.clone(), background_vectors.clone());
        let build_time = started.elapsed();

        // Each message's units are embedded once (from the cache on a rerun); the threshold
        // sweep and the folds reuse them. Latency is measured apart, with uncached calls.
        let mut embedded = Vec::with_capacity(set.len());
        for ex in set {
            let message = detection::Message { subject: &ex.subject, body: &ex.body };
            let units = Detector::units(&message);
            let vectors = cache.embed(&client, &units, InputType::Query).await?;
            embedded.push((units, vectors));
        }
        let mut times = Vec::new();
        for ex in set.iter().take(args.latency) {
            let message = detection::Message { subject: &ex.subject, body: &ex.body };
            let t = Instant::now();
            let units = Detector::units(&message);
            let vectors = client.embed(&units, InputType::Query).await?;
            let _ = detector.classify(&units, &vectors);
            times.push(t.elapsed());
        }
        if let Some(path) = &args.dump {
            let agents: Vec<Value> = profiles
                .iter()
                .zip(&vectors)
                .map(|(p, v)| {
                    serde_json::json!({"slug": p.slug, "examples": p.examples,
                        "negative": p.negative, "vectors": v})
                })
                .collect();
            let messages: Vec<Value> = set
                .iter()
                .zip(&embedded)
                .map(|(ex, (units, v))| {
                    serde_json::json!({"id": ex.id, "lang": ex.lang, "intents": ex.intents,
                        "units": units, "vectors": v})
                })
                .collect();
            let doc = serde_json::json!({"agents": agents,
                "background": {"texts": background, "vectors": background_vectors},
                "messages": messages});
            std::fs::write(path, serde_json::to_vec(&doc)?)?;
        }
        if times.is_empty() {
            times.push(Duration::ZERO);
        }
        times.sort();
        let pct = |q: f64| {
            times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
        };

        let mut detector = detector;
        let predict = |detector: &Detector| -> Vec<Vec<detection::Detection>> {
            embedded.iter().map(|(units, vectors)| detector.classify(units, vectors)).collect()
        };
        let slugs: Vec<String> = profiles.iter().map(|p| p.slug.clone()).collect();
        let mut sweep = Vec::new();
        for t in [0.4f32, 0.5, 0.6, 0.7, 0.8, 0.9] {
            detector.threshold = t;
            let s = Score::of(&slugs, set, &predict(&detector));
            sweep.push(format!(
                "| {t:.1} | {:.3} | {:.3} | {:.3} | {:.3} |",
                s.micro().precision(),
                s.micro().recall(),
                s.micro().f1(),
                s.exact()
            ));
        }
        detector.threshold = args.threshold;
        if let Some(bonus) = args.keyword_bonus {
            detector.keyword_bonus = bonus;
        }
        let found = predict(&detector);
        let score = Score::of(&slugs, set, &found);

        println!(
            "## Intent detection (embeddings + classifier, no LLM), threshold {}, keyword bonus {}\n",
            detector.threshold, detector.keyword_bonus
        );
        score.print();
        println!(
            "detection per message ({} messages, uncached): p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms\n\
             catalogue embedded in {:.1} s (cached: only new texts), classifier trained in {:.2} s\n",
            times.len(),
            pct(0.5),
            pct(0.95),
            pct(1.0),
            embed_time.as_secs_f64(),
            build_time.as_secs_f64()
        );
        println!(
            "| threshold | micro P | micro R | micro F1 | exact-set |\n|---:|---:|---:|---:|---:|"
        );
        sweep.iter().for_each(|row| println!("{row}"));
        println!();
        if args.errors {
            for (ex, found) in set.iter().zip(&found) {
                let predicted: BTreeSet<&str> = found.iter().map(|d| d.slug.as_str()).collect();
                let gold: BTreeSet<&str> = ex.intents.iter().map(String::as_str).collect();
                if predicted != gold {
                    let got: Vec<_> = found
                        .iter()
                        .map(|d| format!("{} {:.2} «{}»", d.slug, d.confidence, d.evidence))
                        .collect();
                    println!("{} gold {gold:?} got {got:?}", ex.id);
                }
            }
            println!();
        }
        let with_llm = match llm {
            Some(llm) => Some(confirm(args, set, llm, &rows, &mut detector, &predict).await?),
            None => None,
        };
        if args.folds > 1 {
            cross_validate(args.folds, &slugs, set, &mut detector, &embedded);
        }
        Ok(with_llm.map(|(found, calls)| (Score::of(&slugs, set, &found), calls)))
    }

    /// Detection as the service runs it with an LLM: the detector keeps candidates from
    /// [`LLM_CANDIDATE_THRESHOLD`], and the runtime's own confirmation decides which count.
    async fn confirm(
        args: &Args,
        set: &[Example],
        llm: &Arc<Llm>,
        rows: &[AgentRow],
        detector: &mut Detector,
        predict: &impl Fn(&Detector) -> Vec<Vec<detection::Detection>>,
    ) -> Result<(Vec<Vec<detection::Detection>>, Calls)> {
        // Confirmation reads no store: the pool is never connected.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy_with(sqlx::postgres::PgConnectOptions::new());
        let embeddings = EmbeddingsClient::new(Endpoint {
            url: args.embeddings_url.clone(),
            model: args.embeddings_model.clone(),
            api_key: None,
            timeout: Duration::from_secs(30),
            retries: 2,
        });
        let runtime = Runtime::new(
            pool,
            Arc::new(embeddings),
            VectorCache::new(None),
            args.threshold,
            Some(llm.clone()),
        );
        let saved = detector.threshold;
        detector.threshold = args.threshold.min(LLM_CANDIDATE_THRESHOLD);
        let candidates = predict(detector);
        detector.threshold = saved;
        let mut calls = Calls::default();
        let mut found = Vec::with_capacity(set.len());
        for (ex, ai) in set.iter().zip(candidates) {
            let asks = ai.iter().any(|d| d.confidence < LLM_CONFIRM_BELOW);
            let ticket = ticket(ex)?;
            let mut findings = Findings::default();
            let started = Instant::now();
            let kept = runtime.confirmed(ai, rows, &ticket, &mut findings).await;
            if asks {
                calls.record(started.elapsed(), findings.degraded);
            }
            found.push(kept);
        }
        Ok((found, calls))
    }

    fn ticket(ex: &Example) -> Result<TicketView> {
        Ok(TicketView {
            id: 0,
            channel: "email".into(),
            direction: "in".into(),
            status: "open".into(),
            subject: ex.subject.clone(),
            body: ex.body.clone(),
            sender: None,
            received_at: DateTime::parse_from_rfc3339(&ex.received_at)
                .with_context(|| format!("{}: receivedAt", ex.id))?,
            language_code: Some(ex.lang.clone()),
            contract_id: None,
            spam_status: None,
            customer_legitimation: None,
            inputs: Default::default(),
        })
    }

    /// Scores of one prediction per message against the gold intents.
    pub struct Score {
        per: BTreeMap<String, Counts>,
        exact: usize,
        messages: usize,
    }

    impl Score {
        fn of(slugs: &[String], set: &[Example], found: &[Vec<detection::Detection>]) -> Self {
            let mut per: BTreeMap<String, Counts> =
                slugs.iter().map(|s| (s.clone(), Counts::default())).collect();
            let mut exact = 0;
            for (ex, found) in set.iter().zip(found) {
                let predicted: BTreeSet<&str> = found.iter().map(|d| d.slug.as_str()).collect();
                let gold: BTreeSet<&str> = ex.intents.iter().map(String::as_str).collect();
                exact += usize::from(predicted == gold);
                for (slug, c) in per.iter_mut() {
                    match (gold.contains(slug.as_str()), predicted.contains(slug.as_str())) {
                        (true, true) => c.tp += 1,
                        (false, true) => c.fp += 1,
                        (true, false) => c.fn_ += 1,
                        (false, false) => {}
                    }
                }
            }
            Self { per, exact, messages: set.len() }
        }

        fn add(&mut self, other: &Score) {
            for (slug, c) in &other.per {
                let mine = self.per.entry(slug.clone()).or_default();
                mine.tp += c.tp;
                mine.fp += c.fp;
                mine.fn_ += c.fn_;
            }
            self.exact += other.exact;
            self.messages += other.messages;
        }

        fn micro(&self) -> Counts {
            self.per.values().fold(Counts::default(), |a, c| Counts {
                tp: a.tp + c.tp,
                fp: a.fp + c.fp,
                fn_: a.fn_ + c.fn_,
            })
        }

        fn macro_f1(&self) -> f64 {
            self.per.values().map(Counts::f1).sum::<f64>() / self.per.len().max(1) as f64
        }

        fn exact(&self) -> f64 {
            self.exact as f64 / self.messages.max(1) as f64
        }

        pub fn print(&self) {
            println!("| agent | tp | fp | fn | precision | recall | F1 |");
            println!("|---|---:|---:|---:|---:|---:|---:|");
            for (slug, c) in &self.per {
                println!(
                    "| {slug} | {} | {} | {} | {:.3} | {:.3} | {:.3} |",
                    c.tp,
                    c.fp,
                    c.fn_,
                    c.precision(),
                    c.recall(),
                    c.f1()
                );
            }
            let micro = self.micro();
            println!(
                "\nmicro P {:.3} R {:.3} F1 {:.3} | macro F1 {:.3} | exact-set accuracy {:.3} ({}/{})",
                micro.precision(),
                micro.recall(),
                micro.f1(),
                self.macro_f1(),
                self.exact(),
                self.exact,
                self.messages
            );
        }
    }

    /// Threshold and keyword bonus chosen on K−1 folds and scored on the held-out fold, three
    /// times with different shuffles; the held-out predictions are pooled. The classifier itself
    /// never sees the set (it is trained on the agents' examples), so this measures how much the
    /// two tuned numbers overfit the set.
    fn cross_validate(
        folds: usize,
        slugs: &[String],
        set: &[Example],
        detector: &mut Detector,
        embedded: &[(Vec<String>, Vec<Vec<f32>>)],
    ) {
        const THRESHOLDS: [f32; 9] = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8];
        const BONUSES: [f32; 5] = [0.0, 0.1, 0.2, 0.3, 0.4];
        let mut grid = Vec::new();
        for &t in &THRESHOLDS {
            for &k in &BONUSES {
                detector.threshold = t;
                detector.keyword_bonus = k;
                let found: Vec<_> = embedded.iter().map(|(u, v)| detector.classify(u, v)).collect();
                grid.push(((t, k), found));
            }
        }
        let mut pooled: Option<Score> = None;
        let mut chosen = Vec::new();
        for repeat in 0..3u64 {
            let order = shuffled(set.len(), repeat);
            for fold in 0..folds {
                let test: Vec<usize> = order.iter().copied().skip(fold).step_by(folds).collect();
                let train: Vec<usize> =
                    order.iter().copied().filter(|i| !test.contains(i)).collect();
                let subset = |idx: &[usize], found: &[Vec<detection::Detection>]| {
                    let ex: Vec<Example> = idx.iter().map(|&i| set[i].clone()).collect();
                    let f: Vec<_> = idx.iter().map(|&i| found[i].clone()).collect();
                    Score::of(slugs, &ex, &f)
                };
                let (params, found) = grid
                    .iter()
                    .max_by(|a, b| {
                        let objective = |s: Score| s.micro().f1() + s.exact();
                        objective(subset(&train, &a.1)).total_cmp(&objective(subset(&train, &b.1)))
                    })
                    .expect("a non-empty grid");
                chosen.push(*params);
                let held_out = subset(&test, found);
                match &mut pooled {
                    Some(p) => p.add(&held_out),
                    None => pooled = Some(held_out),
                }
            }
        }
        println!(
            "## Cross-validation: {folds} folds × 3 shuffles, threshold and keyword bonus chosen on the training folds (micro F1 + exact-set)\n"
        );
        if let Some(pooled) = pooled {
            pooled.print();
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (t, k) in chosen {
            *counts.entry(format!("{t:.2}/{k:.1}")).or_default() += 1;
        }
        let list: Vec<String> = counts.iter().map(|(p, n)| format!("{p} ×{n}")).collect();
        println!("chosen threshold/bonus per fold: {}\n", list.join(", "));
    }

    /// `0..n` in an order fixed by `seed` (SplitMix64), so folds are the same on every run.
    fn shuffled(n: usize, seed: u64) -> Vec<usize> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        order
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let agents = load_agents(&args.defaults)?;
    let set = load_set(&args.set)?;
    println!("{} messages, {} agents\n", set.len(), agents.len());
    let llm = args.llm_url.as_deref().and_then(|url| {
        let config = LlmConfig {
            url: Some(url.to_owned()),
            model: args.llm_model.clone(),
            ..agent_svc::Config::default().llm
        };
        config.endpoint().map(|e| Arc::new(Llm::new(e)))
    });
    let detected_with_llm = if args.embeddings_url.is_empty() {
        None
    } else {
        detection_report::run(&args, &set, llm.as_ref()).await?
    };
    let report = extraction_report::run(&agents, &set, None, &mut Calls::default()).await?;
    extraction_report::print(&report, "built-in extractors, no LLM", args.errors);
    let Some(llm) = llm else { return Ok(()) };
    println!("\n# with LLM ({} at {})\n", args.llm_model, args.llm_url.unwrap_or_default());
    if let Some((score, calls)) = detected_with_llm {
        println!(
            "## Intent detection (candidates from {}, confirmed by the LLM below {}; threshold {} when it fails)\n",
            args.threshold.min(detection::runtime::LLM_CANDIDATE_THRESHOLD),
            detection::runtime::LLM_CONFIRM_BELOW,
            args.threshold
        );
        score.print();
        println!("{}", calls.summary("confirmation"));
    }
    let mut calls = Calls::default();
    let report = extraction_report::run(&agents, &set, Some(&llm), &mut calls).await?;
    extraction_report::print(
        &report,
        "built-in extractors, then the LLM for the rest",
        args.errors,
    );
    println!("\n{}", calls.summary("extraction"));
    Ok(())
}
