//! Intent detection without an LLM.
//!
//! A message is cut into units: its subject and the sentences of its newest part without
//! letterhead and signature (quoted history and footers are not evidence). Each unit is embedded
//! and scored by a classifier trained on the agents' examples against background sentences that
//! ask for nothing. Since every unit votes on its own, one message yields several intents when
//! different sentences ask for different things; each pair of neighbouring units votes too (the
//! mean of their vectors), because a request is often split over two ("Ich habe die Bank
//! gewechselt." + "Neue IBAN: …").
//!
//! A unit's score for an agent is the classifier's probability plus [`KEYWORD_BONUS`] when the
//! unit holds one of the agent's keywords: the words a human would look for are evidence the
//! embedding alone sometimes misses. A unit that holds one of the agent's negative phrases
//! (a near miss: "Lastschriftmandat" for cancelling) does not count for that agent; a negative
//! phrase that refuses the intent ("nicht kündigen", "no intention of switching") rules the agent
//! out for the whole message, since the other sentences then only explain why. An agent is
//! detected when its best unit reaches [`Detector::threshold`]; the confidence is that score,
//! capped at 1.
//!
//! Some intents exclude each other (see [`EXCLUSIVE`]); when both are found, the one whose best
//! unit the classifier is surer of wins.

pub mod classifier;
pub mod dry_run;
pub mod lexical;
pub mod queue;
pub mod runtime;

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::providers::ProviderError;
use crate::providers::embeddings::{EmbeddingsClient, InputType};
use crate::text;
use classifier::Classifier;
use lexical::Phrases;

/// Score a unit must reach for its agent to count as detected (chosen with `agent-eval
/// --folds`, see `agent-svc/eval/README.md`).
pub const DEFAULT_THRESHOLD: f32 = 0.6;
/// Added to a unit's probability for an agent when the unit holds one of its keywords.
pub const KEYWORD_BONUS: f32 = 0.3;
/// Pairs of intents one message cannot carry together: coming to us as a supplier and leaving us
/// (by cancelling or withdrawing), or a new debit account and no direct debit at all. When both
/// are found, the other one is the customer describing the context ("my old contract can be
/// cancelled at any time", "the old mandate is revoked").
const EXCLUSIVE: &[(&str, &str)] = &[
    ("switch_agent", "cancel_contract"),
    ("switch_agent", "revocation_agent"),
    ("bank_data_agent", "sepa_revocation"),
];
/// Units beyond this many are not read: the ask is almost always near the top, and the cost of
/// a message must stay bounded.
const MAX_UNITS: usize = 12;

static SUBJECT_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(betreff|betr\.|subject|re|aw|wg|fw|fwd)\s*:").unwrap());
static SALUTATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(sehr geehrte|geehrte|liebe|lieber|hallo|hi|hey|guten (tag|morgen|abend)|moin|servus|gruess gott|grueezi|dear|hello|good (morning|afternoon|evening))\b[^.?:;]*$").unwrap()
});

/// A unit that is only a salutation ("Sehr geehrte Damen und Herren,", "Hi there!").
fn is_salutation(unit: &str) -> bool {
    let folded = text::fold(unit);
    text::words(&folded).len() <= 6 && SALUTATION.is_match(folded.trim_end_matches([',', '!', ' ']))
}

/// What detection knows of one agent.
#[derive(Debug, Clone)]
pub struct AgentProfile {
    pub id: i64,
    pub slug: String,
    /// Example utterances (and the detection prompt) in any language.
    pub examples: Vec<String>,
    /// Phrases that, in the same sentence, mean the opposite or a near miss.
    pub negative: Vec<String>,
    /// Words and phrases that are evidence for the agent (`keywords`).
    pub keywords: Vec<String>,
}

impl AgentProfile {
    /// What detection reads of a stored agent: `detectionDetails.aiDetection`'s prompts,
    /// `examples`, `keywords` and `negativeKeywords` (each a list, or an object of lists per
    /// language).
    pub fn from_definition(id: i64, agent: &Value) -> Self {
        let ai = agent.pointer("/settings/detectionDetails/aiDetection").unwrap_or(&Value::Null);
        let mut examples = texts(ai.get("examples"));
        for prompt in ["detectionPrompt", "detectionPromptEn"] {
            examples.extend(ai.get(prompt).and_then(Value::as_str).map(str::to_owned));
        }
        examples.retain(|e| !e.trim().is_empty());
        Self {
            id,
            slug: agent.get("slug").and_then(Value::as_str).unwrap_or_default().to_owned(),
            examples,
            negative: texts(ai.get("negativeKeywords")),
            keywords: texts(ai.get("keywords")),
        }
    }
}

/// Background sentences (`{de: [...], en: [...]}` or a plain list).
pub fn background(value: &Value) -> Vec<String> {
    texts(Some(value))
}

fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(Value::Object(map)) => map.values().flat_map(|v| texts(Some(v))).collect(),
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    pub agent_id: i64,
    pub slug: String,
    pub confidence: f32,
    /// The unit that carried the intent.
    pub evidence: String,
}

/// A message as detection reads it.
#[derive(Debug, Clone, Default)]
pub struct Message<'a> {
    pub subject: &'a str,
    pub body: &'a str,
}

struct Agent {
    profile: AgentProfile,
    /// Near misses: they silence the agent in their unit.
    negative: Phrases,
    /// Negated requests: they silence the agent in the whole message.
    refusal: Phrases,
    keywords: Phrases,
}

pub struct Detector {
    agents: Vec<Agent>,
    classifier: Classifier,
    pub threshold: f32,
    /// What a keyword adds to a unit's probability ([`KEYWORD_BONUS`] unless tuned).
    pub keyword_bonus: f32,
}

impl Detector {
    /// Embeds every example and background sentence and trains the classifier.
    pub async fn build(
        agents: Vec<AgentProfile>,
        background: &[String],
        embeddings: &EmbeddingsClient,
    ) -> Result<Self, ProviderError> {
        let mut vectors = Vec::with_capacity(agents.len());
        for agent in &agents {
            vectors.push(embeddings.embed(&agent.examples, InputType::Query).await?);
        }
        let background_vectors = embeddings.embed(background, InputType::Query).await?;
        Ok(Self::from_vectors(agents, vectors, background_vectors))
    }

    /// Trains from precomputed example vectors (`vectors[i]` are agent `i`'s examples).
    pub fn from_vectors(
        agents: Vec<AgentProfile>,
        vectors: Vec<Vec<Vec<f32>>>,
        background: Vec<Vec<f32>>,
    ) -> Self {
        let none = agents.len();
        let mut samples: Vec<(Vec<f32>, usize)> = Vec::new();
        for (class, examples) in vectors.into_iter().enumerate() {
            samples.extend(examples.into_iter().map(|v| (v, class)));
        }
        samples.extend(background.into_iter().map(|v| (v, none)));
        let classifier = Classifier::train(&samples, none + 1);
        let agents = agents
            .into_iter()
            .map(|a| Agent {
                negative: Phrases::new(
                    &a.negative
                        .iter()
                        .filter(|p| !lexical::is_refusal(p))
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
                refusal: Phrases::new(
                    &a.negative
                        .iter()
                        .filter(|p| lexical::is_refusal(p))
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
                keywords: Phrases::new(&a.keywords),
                profile: a,
            })
            .collect();
        Self { agents, classifier, threshold: DEFAULT_THRESHOLD, keyword_bonus: KEYWORD_BONUS }
    }

    /// The units of a message: subject, then the sentences of the newest part without
    /// letterhead (the sender's address and date) and signature. Bare salutations are left out:
    /// they never carry an intent, and every unit costs embedding time.
    pub fn units(message: &Message<'_>) -> Vec<String> {
        let newest = text::newest_part(message.body);
        let layout = text::layout(&newest);
        let start = layout.letterhead_end.min(layout.signature_start);
        let mut units: Vec<String> = Vec::new();
        let subject = message.subject.trim();
        if !subject.is_empty() {
            units.push(subject.to_owned());
        }
        // A letter's subject line sits in its letterhead; it is the only part of it kept.
        units.extend(
            newest[..start]
                .lines()
                .map(str::trim)
                .filter(|l| SUBJECT_LINE.is_match(&text::fold(l)))
                .map(str::to_owned),
        );
        units.extend(
            text::sentences(&newest[start..layout.signature_start])
                .into_iter()
                .map(|s| s.text.trim().to_owned())
                .filter(|s| s.chars().filter(|c| c.is_alphabetic()).count() >= 3)
                .filter(|s| !is_salutation(s)),
        );
        units.truncate(MAX_UNITS);
        units
    }

    /// Detects intents in a message.
    pub async fn detect(
        &self,
        message: &Message<'_>,
        embeddings: &EmbeddingsClient,
    ) -> Result<Vec<Detection>, ProviderError> {
        let units = Self::units(message);
        let vectors = embeddings.embed(&units, InputType::Query).await?;
        Ok(self.classify(&units, &vectors))
    }

    /// Detection from already embedded units (pure).
    pub fn classify(&self, units: &[String], vectors: &[Vec<f32>]) -> Vec<Detection> {
        let n = units.len().min(vectors.len());
        let evidence: Vec<Evidence> = units[..n].iter().map(|u| self.evidence(u)).collect();
        let refused: Vec<bool> =
            (0..self.agents.len()).map(|i| evidence.iter().any(|e| e.refusal[i])).collect();
        let mut best: Vec<Option<(f32, String)>> = vec![None; self.agents.len()];
        // The classifier's highest probability per agent, without keyword bonus: what decides
        // between exclusive intents (the bonus saturates at 1 too often to tell them apart).
        let mut surest = vec![0.0f32; self.agents.len()];
        let mut vote = |scores: &[Option<(f32, f32)>], evidence: &dyn Fn() -> String| {
            for (i, score) in scores.iter().enumerate() {
                let Some((score, p)) = *score else { continue };
                if refused[i] {
                    continue;
                }
                surest[i] = surest[i].max(p);
                if score >= self.threshold && best[i].as_ref().is_none_or(|(b, _)| score > *b) {
                    best[i] = Some((score, evidence()));
                }
            }
        };
        for u in 0..n {
            vote(&self.scores(&vectors[u], &[&evidence[u]]), &|| units[u].clone());
        }
        for u in 1..n {
            let pair: Vec<f32> =
                vectors[u - 1].iter().zip(&vectors[u]).map(|(a, b)| a + b).collect();
            vote(&self.scores(&pair, &[&evidence[u - 1], &evidence[u]]), &|| {
                format!("{} {}", units[u - 1], units[u])
            });
        }
        let slot = |slug: &str| self.agents.iter().position(|a| a.profile.slug == slug);
        for (a, b) in EXCLUSIVE {
            let (Some(a), Some(b)) = (slot(a), slot(b)) else { continue };
            if best[a].is_some() && best[b].is_some() {
                best[if surest[a] >= surest[b] { b } else { a }] = None;
            }
        }
        let mut out: Vec<Detection> = best
            .into_iter()
            .enumerate()
            .filter_map(|(i, hit)| {
                let (score, evidence) = hit?;
                let agent = &self.agents[i].profile;
                Some(Detection {
                    agent_id: agent.id,
                    slug: agent.slug.clone(),
                    confidence: (score.min(1.0) * 100.0).round() / 100.0,
                    evidence,
                })
            })
            .collect();
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        out
    }

    /// Which agents' keywords and negative phrases a unit holds.
    fn evidence(&self, unit: &str) -> Evidence {
        let folded = text::fold(unit);
        Evidence {
            keyword: self.agents.iter().map(|a| a.keywords.any_in(&folded)).collect(),
            negative: self.agents.iter().map(|a| a.negative.any_in(&folded)).collect(),
            refusal: self.agents.iter().map(|a| a.refusal.any_in(&folded)).collect(),
        }
    }

    /// Each agent's score and classifier probability for a vector whose text holds `evidence`;
    /// `None` where negated.
    fn scores(&self, vector: &[f32], evidence: &[&Evidence]) -> Vec<Option<(f32, f32)>> {
        let p = self.classifier.probabilities(&unit_length(vector));
        (0..self.agents.len())
            .map(|i| {
                if evidence.iter().any(|e| e.negative[i]) {
                    return None;
                }
                let keyword = evidence.iter().any(|e| e.keyword[i]);
                Some((p[i] + if keyword { self.keyword_bonus } else { 0.0 }, p[i]))
            })
            .collect()
    }
}

struct Evidence {
    keyword: Vec<bool>,
    negative: Vec<bool>,
    refusal: Vec<bool>,
}

fn unit_length(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 { v.iter().map(|x| x / norm).collect() } else { v.to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(i: usize, noise: f32) -> Vec<f32> {
        let mut v = vec![noise; 4];
        v[i] = 1.0;
        v
    }

    fn detector() -> Detector {
        let agents = vec![
            AgentProfile {
                id: 1,
                slug: "meter_reading".into(),
                examples: vec![],
                negative: vec![],
                keywords: vec!["zählerstand".into()],
            },
            AgentProfile {
                id: 2,
                slug: "cancel_contract".into(),
                examples: vec![],
                negative: vec!["nicht kündigen".into()],
                keywords: vec![],
            },
        ];
        let examples = |i| (0..8).map(|k| axis(i, k as f32 * 0.01)).collect::<Vec<_>>();
        Detector::from_vectors(agents, vec![examples(0), examples(1)], examples(2))
    }

    #[test]
    fn each_unit_votes_so_one_message_can_carry_several_intents() {
        let d = detector();
        let units =
            vec!["Zählerstand 4711".to_owned(), "Ich kündige".to_owned(), "Danke".to_owned()];
        let found = d.classify(&units, &[axis(0, 0.0), axis(1, 0.0), axis(2, 0.0)]);
        let slugs: Vec<&str> = found.iter().map(|d| d.slug.as_str()).collect();
        assert_eq!(slugs.len(), 2, "{found:?}");
        assert!(slugs.contains(&"meter_reading") && slugs.contains(&"cancel_contract"));
        let cancel = found.iter().find(|d| d.slug == "cancel_contract").unwrap();
        assert_eq!(cancel.evidence, "Ich kündige");
        assert!(cancel.confidence >= DEFAULT_THRESHOLD && cancel.confidence <= 1.0);
    }

    #[test]
    fn background_and_negated_units_detect_nothing() {
        let d = detector();
        assert!(d.classify(&["Danke".to_owned()], &[axis(2, 0.0)]).is_empty());
        let negated = vec!["Ich möchte nicht kündigen".to_owned()];
        assert!(d.classify(&negated, &[axis(1, 0.0)]).is_empty());
    }

    #[test]
    fn a_refusal_anywhere_rules_the_intent_out_for_the_whole_message() {
        let d = detector();
        let question = vec!["Welche Kündigungsfrist habe ich?".to_owned()];
        assert_eq!(d.classify(&question, &[axis(1, 0.0)]).len(), 1, "alone it reads as cancelling");
        let units =
            vec![question[0].clone(), "Hallo".to_owned(), "Ich will nicht kündigen.".to_owned()];
        let found = d.classify(&units, &[axis(1, 0.0), axis(2, 0.0), axis(2, 0.0)]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn of_two_exclusive_intents_the_surer_one_wins() {
        let agents = ["switch_agent", "cancel_contract", "meter_reading"]
            .into_iter()
            .enumerate()
            .map(|(i, slug)| AgentProfile {
                id: i as i64 + 1,
                slug: slug.into(),
                examples: vec![],
                negative: vec![],
                keywords: vec![],
            })
            .collect();
        let examples = |i| (0..8).map(|k| axis(i, k as f32 * 0.01)).collect::<Vec<_>>();
        let d = Detector::from_vectors(
            agents,
            vec![examples(0), examples(1), examples(2)],
            examples(3),
        );
        let units: Vec<String> =
            ["Ich wechsle zu Ihnen", "Der alte Vertrag ist kündbar", "Stand 4711"]
                .map(str::to_owned)
                .into();
        let vectors = [axis(0, 0.0), vec![0.0, 0.8, 0.0, 0.3], axis(2, 0.0)];
        for (u, v) in units.iter().zip(&vectors).take(2) {
            let alone = d.classify(std::slice::from_ref(u), std::slice::from_ref(v));
            assert_eq!(alone.len(), 1, "each alone is detected: {alone:?}");
        }
        let found = d.classify(&units, &vectors);
        let slugs: Vec<&str> = found.iter().map(|f| f.slug.as_str()).collect();
        assert_eq!(slugs.len(), 2, "{found:?}");
        assert!(slugs.contains(&"switch_agent") && slugs.contains(&"meter_reading"), "{found:?}");
    }

    #[test]
    fn a_keyword_lifts_a_unit_the_classifier_is_unsure_about() {
        let d = detector();
        // Halfway between meter reading and background: below the threshold on its own.
        let unsure = vec![0.7, 0.0, 0.7, 0.0];
        assert!(d.classify(&["Stand 4711".to_owned()], std::slice::from_ref(&unsure)).is_empty());
        let found = d.classify(&["Zählerstand 4711".to_owned()], &[unsure]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].slug, "meter_reading");
        assert!(found[0].confidence <= 1.0);
    }

    #[test]
    fn neighbouring_units_vote_together() {
        let d = detector();
        // Each half leans to cancelling, neither is sure; together they are.
        let units = vec!["Mein Vertrag".to_owned(), "soll enden".to_owned()];
        let vectors = vec![vec![0.3, 0.75, 0.6, 0.0], vec![0.0, 0.75, 0.6, 0.3]];
        let alone: Vec<_> = units
            .iter()
            .zip(&vectors)
            .flat_map(|(u, v)| d.classify(std::slice::from_ref(u), std::slice::from_ref(v)))
            .collect();
        let together = d.classify(&units, &vectors);
        assert!(together.iter().any(|f| f.slug == "cancel_contract"), "{together:?} {alone:?}");
        let cancel = together.iter().find(|f| f.slug == "cancel_contract").unwrap();
        if !alone.iter().any(|f| f.slug == "cancel_contract") {
            assert_eq!(cancel.evidence, "Mein Vertrag soll enden");
        }
    }

    #[test]
    fn units_drop_salutations_and_the_letterhead_but_keep_a_subject_line() {
        let body = "Gerda Hoffmann\nLindenallee 14\n34117 Kassel\n\nKassel, den 25. September 2026\n\nBetreff: Zählerstand\n\nSehr geehrte Damen und Herren,\n\nder Stand ist 4711 kWh.\n\nHochachtungsvoll\nGerda Hoffmann";
        let units = Detector::units(&Message { subject: "", body });
        assert_eq!(units, ["Betreff: Zählerstand", "der Stand ist 4711 kWh."]);
        let body = "Hallo Frau Weber,\n\nhallo, ich kündige hiermit.\nDear Sir or Madam,";
        let units = Detector::units(&Message { subject: "", body });
        assert_eq!(units, ["hallo, ich kündige hiermit."]);
    }

    #[test]
    fn units_skip_quoted_history_and_the_signature() {
        let body = "Hallo,\nmein Zählerstand ist 4711.\n\nMit freundlichen Grüßen\nAnna\nIBAN DE89 3704 0044 0532 0130 00\n\n> Am 1. Oktober schrieb Helio:\n> Bitte kündigen Sie";
        let units = Detector::units(&Message { subject: "Zähler", body });
        assert_eq!(units.first().map(String::as_str), Some("Zähler"));
        assert!(units.iter().any(|u| u.contains("4711")), "{units:?}");
        assert!(!units.iter().any(|u| u.contains("IBAN") || u.contains("kündigen")), "{units:?}");
    }
}
