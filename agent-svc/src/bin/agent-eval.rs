//! agent-eval: scores agent-svc's offline AI against a labelled message set (see
//! `agent-svc/eval/README.md`). Today it reports parameter extraction: for every message and
//! every gold intent, each `source: message` parameter of that agent is extracted with its
//! built-in extractor and compared with the gold value.
//!
//! `cargo run -p agent-svc --bin agent-eval -- [--set PATH] [--defaults DIR] [--errors]`

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

fn main() -> Result<()> {
    let args = Args::parse();
    let agents = load_agents(&args.defaults)?;
    let set = load_set(&args.set)?;
    println!("{} messages, {} agents\n", set.len(), agents.len());
    let report = extraction_report::run(&agents, &set)?;
    extraction_report::print(&report, args.errors);
    Ok(())
}
