//! Intent detection without an LLM.
//!
//! A message is cut into units: its subject and the sentences of its newest part without the
//! signature (quoted history and footers are not evidence). Each unit is embedded and scored by
//! a classifier trained on the agents' examples against background sentences that ask for
//! nothing; an agent is detected when some unit gives it at least [`Detector::threshold`], and
//! not when that unit also holds one of the agent's negative phrases ("nicht kündigen"). Since
//! every unit votes on its own, one message yields several intents when different sentences ask
//! for different things. The confidence is the best unit's probability.

pub mod classifier;
pub mod lexical;
pub mod queue;
pub mod runtime;

use serde::Serialize;
use serde_json::Value;

use crate::providers::ProviderError;
use crate::providers::embeddings::{EmbeddingsClient, InputType};
use crate::text;
use classifier::Classifier;
use lexical::Phrases;

/// Probability a unit must reach for its agent to count as detected.
pub const DEFAULT_THRESHOLD: f32 = 0.7;
/// Units beyond this many are not read: the ask is almost always near the top, and the cost of
/// a message must stay bounded.
const MAX_UNITS: usize = 12;

/// What detection knows of one agent.
#[derive(Debug, Clone)]
pub struct AgentProfile {
    pub id: i64,
    pub slug: String,
    /// Example utterances (and the detection prompt) in any language.
    pub examples: Vec<String>,
    /// Phrases that, in the same sentence, mean the opposite or a near miss.
    pub negative: Vec<String>,
}

impl AgentProfile {
    /// What detection reads of a stored agent: `detectionDetails.aiDetection`'s prompts,
    /// `examples` and `negativeKeywords` (each a list, or an object of lists per language).
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

pub struct Detector {
    agents: Vec<(AgentProfile, Phrases)>,
    classifier: Classifier,
    pub threshold: f32,
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
            .map(|a| {
                let phrases = Phrases::new(&a.negative);
                (a, phrases)
            })
            .collect();
        Self { agents, classifier, threshold: DEFAULT_THRESHOLD }
    }

    /// The units of a message: subject, then the sentences of the newest part without signature.
    pub fn units(message: &Message<'_>) -> Vec<String> {
        let newest = text::newest_part(message.body);
        let (main, _signature) = text::split_signature(&newest);
        let mut units: Vec<String> = Vec::new();
        let subject = message.subject.trim();
        if !subject.is_empty() {
            units.push(subject.to_owned());
        }
        units.extend(
            text::sentences(main)
                .into_iter()
                .map(|s| s.text.trim().to_owned())
                .filter(|s| s.chars().filter(|c| c.is_alphabetic()).count() >= 3),
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
        let mut best: Vec<Option<(f32, usize)>> = vec![None; self.agents.len()];
        for (u, (unit, vector)) in units.iter().zip(vectors).enumerate() {
            let folded = text::fold(unit);
            let p = self.classifier.probabilities(vector);
            for (i, (_, negative)) in self.agents.iter().enumerate() {
                if p[i] < self.threshold || negative.any_in(&folded) {
                    continue;
                }
                if best[i].is_none_or(|(b, _)| p[i] > b) {
                    best[i] = Some((p[i], u));
                }
            }
        }
        let mut out: Vec<Detection> = best
            .into_iter()
            .enumerate()
            .filter_map(|(i, hit)| {
                let (confidence, unit) = hit?;
                let agent = &self.agents[i].0;
                Some(Detection {
                    agent_id: agent.id,
                    slug: agent.slug.clone(),
                    confidence: (confidence * 100.0).round() / 100.0,
                    evidence: units[unit].clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        out
    }
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
            },
            AgentProfile {
                id: 2,
                slug: "cancel_contract".into(),
                examples: vec![],
                negative: vec!["nicht kündigen".into()],
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
    fn units_skip_quoted_history_and_the_signature() {
        let body = "Hallo,\nmein Zählerstand ist 4711.\n\nMit freundlichen Grüßen\nAnna\nIBAN DE89 3704 0044 0532 0130 00\n\n> Am 1. Oktober schrieb Helio:\n> Bitte kündigen Sie";
        let units = Detector::units(&Message { subject: "Zähler", body });
        assert_eq!(units.first().map(String::as_str), Some("Zähler"));
        assert!(units.iter().any(|u| u.contains("4711")), "{units:?}");
        assert!(!units.iter().any(|u| u.contains("IBAN") || u.contains("kündigen")), "{units:?}");
    }
}
