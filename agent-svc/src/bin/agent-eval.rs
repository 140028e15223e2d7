//! agent-eval: scores agent-svc's offline AI against a labelled message set (see
//! `agent-svc/eval/README.md`):
//! - intent detection: per-agent precision/recall/F1, micro and macro F1, exact-set accuracy
//!   and the time per message, with the detector the service runs (embeddings from the
//!   configured server, classifier trained on the agents' examples);
//! - parameter extraction: for every message and every gold intent, each `source: message`
//!   parameter of that agent is extracted with its built-in extractor and compared with the
//!   gold value.
//!
//! `cargo run --release -p agent-svc --bin agent-eval -- [--set PATH] [--defaults DIR]
//! [--embeddings-url URL] [--errors]`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::DateTime;
use clap::Parser;
use serde::Deserialize;
use serde_json::Value;

use agent_svc::extraction::{Doc, Hint, Message, extract_intent};

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
    /// Probability a sentence must reach for its agent to be detected.
    #[arg(long, default_value_t = agent_svc::detection::DEFAULT_THRESHOLD)]
    threshold: f32,
}

/// An agent as far as evaluation needs it: its message parameters and their hints.
pub struct Agent {
    pub slug: String,
    pub parameters: Vec<(String, Hint)>,
}

#[derive(Deserialize)]
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
        agents.insert(slug.to_owned(), Agent { slug: slug.to_owned(), parameters });
    }
    Ok(agents)
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

    pub fn run(agents: &BTreeMap<String, Agent>, set: &[Example]) -> Result<Report> {
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
                let extracted = extract_intent(&agent.parameters, &doc);
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

    pub fn print(report: &Report, errors: bool) {
        println!("## Parameter extraction (built-in extractors, no LLM)\n");
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
    use agent_svc::detection::{self, AgentProfile, Detector};
    use agent_svc::providers::Endpoint;
    use agent_svc::providers::embeddings::{EmbeddingsClient, InputType};

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

    pub async fn run(args: &Args, set: &[Example]) -> Result<()> {
        let client = EmbeddingsClient::new(Endpoint {
            url: args.embeddings_url.clone(),
            model: args.embeddings_model.clone(),
            api_key: None,
            timeout: Duration::from_secs(30),
            retries: 2,
        });
        let mut profiles = Vec::new();
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
            }
        }
        profiles.sort_by(|a, b| a.slug.cmp(&b.slug));
        let background: Value =
            serde_json::from_str(&std::fs::read_to_string(args.defaults.join("background.json"))?)?;
        let started = Instant::now();
        let detector =
            Detector::build(profiles.clone(), &detection::background(&background), &client)
                .await
                .context("building the detector")?;
        let build_time = started.elapsed();

        // Embed each message once; the threshold sweep below reuses the vectors.
        let mut embedded = Vec::with_capacity(set.len());
        let mut times = Vec::new();
        for ex in set {
            let message = detection::Message { subject: &ex.subject, body: &ex.body };
            let t = Instant::now();
            let units = Detector::units(&message);
            let vectors = client.embed(&units, InputType::Query).await?;
            let _ = detector.classify(&units, &vectors);
            times.push(t.elapsed());
            embedded.push((units, vectors));
        }
        let score = |detector: &Detector| {
            let mut per: BTreeMap<String, Counts> =
                profiles.iter().map(|p| (p.slug.clone(), Counts::default())).collect();
            let (mut exact, mut errors) = (0usize, Vec::new());
            for (ex, (units, vectors)) in set.iter().zip(&embedded) {
                let found = detector.classify(units, vectors);
                let predicted: std::collections::BTreeSet<&str> =
                    found.iter().map(|d| d.slug.as_str()).collect();
                let gold: std::collections::BTreeSet<&str> =
                    ex.intents.iter().map(String::as_str).collect();
                exact += usize::from(predicted == gold);
                for (slug, c) in per.iter_mut() {
                    match (gold.contains(slug.as_str()), predicted.contains(slug.as_str())) {
                        (true, true) => c.tp += 1,
                        (false, true) => c.fp += 1,
                        (true, false) => c.fn_ += 1,
                        (false, false) => {}
                    }
                }
                if predicted != gold {
                    let got: Vec<_> =
                        found.iter().map(|d| (d.slug.clone(), d.confidence)).collect();
                    errors.push(format!("{} gold {gold:?} got {got:?}", ex.id));
                }
            }
            (per, exact, errors)
        };
        let mut detector = detector;
        let mut sweep = Vec::new();
        for t in [0.5f32, 0.6, 0.7, 0.8, 0.9] {
            detector.threshold = t;
            let (per, exact, _) = score(&detector);
            let micro = per.values().fold(Counts::default(), |a, c| Counts {
                tp: a.tp + c.tp,
                fp: a.fp + c.fp,
                fn_: a.fn_ + c.fn_,
            });
            sweep.push(format!(
                "| {t:.1} | {:.3} | {:.3} | {:.3} | {:.3} |",
                micro.precision(),
                micro.recall(),
                micro.f1(),
                exact as f64 / set.len().max(1) as f64
            ));
        }
        detector.threshold = args.threshold;
        let (per, exact, errors) = score(&detector);

        println!(
            "## Intent detection (embeddings + classifier, no LLM), threshold {}\n",
            args.threshold
        );
        println!("| agent | tp | fp | fn | precision | recall | F1 |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let mut micro = Counts::default();
        for (slug, c) in &per {
            println!(
                "| {slug} | {} | {} | {} | {:.3} | {:.3} | {:.3} |",
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall(),
                c.f1()
            );
            micro.tp += c.tp;
            micro.fp += c.fp;
            micro.fn_ += c.fn_;
        }
        let macro_f1 = per.values().map(Counts::f1).sum::<f64>() / per.len().max(1) as f64;
        times.sort();
        let pct = |q: f64| {
            times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
        };
        println!(
            "\nmicro P {:.3} R {:.3} F1 {:.3} | macro F1 {:.3} | exact-set accuracy {:.3} ({exact}/{})",
            micro.precision(),
            micro.recall(),
            micro.f1(),
            macro_f1,
            exact as f64 / set.len().max(1) as f64,
            set.len()
        );
        println!(
            "detection per message: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms; detector built in {:.1} s\n",
            pct(0.5),
            pct(0.95),
            pct(1.0),
            build_time.as_secs_f64()
        );
        println!(
            "| threshold | micro P | micro R | micro F1 | exact-set |\n|---:|---:|---:|---:|---:|"
        );
        sweep.iter().for_each(|row| println!("{row}"));
        println!();
        if args.errors {
            errors.iter().for_each(|e| println!("{e}"));
            println!();
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let agents = load_agents(&args.defaults)?;
    let set = load_set(&args.set)?;
    println!("{} messages, {} agents\n", set.len(), agents.len());
    if !args.embeddings_url.is_empty() {
        detection_report::run(&args, &set).await?;
    }
    let report = extraction_report::run(&agents, &set)?;
    extraction_report::print(&report, args.errors);
    Ok(())
}
