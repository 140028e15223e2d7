//! Phrases matched on folded text (lower case, umlauts spelled out) at a word start, so that a
//! stem matches its inflections ("kündig" → "Kündigung") and "ae" spellings match "ä".

use crate::text;

/// Words that make a negative phrase a refusal of the intent ("nicht kündigen", "no intention of
/// switching") rather than a near-miss topic ("Lastschriftmandat"). `don`/`won` are what is left
/// of "don't"/"won't" once the apostrophe splits the word.
const NEGATIONS: &[&str] = &[
    "nicht", "kein", "keine", "keinen", "keiner", "keinem", "nie", "niemals", "ohne", "not", "no",
    "never", "without", "dont", "don", "won",
];

/// Whether a phrase negates what it names (see [`NEGATIONS`]).
pub fn is_refusal(phrase: &str) -> bool {
    let folded = text::fold(phrase);
    text::words(&folded).iter().any(|w| NEGATIONS.contains(&w.text))
}

#[derive(Debug, Clone, Default)]
pub struct Phrases(Vec<String>);

impl Phrases {
    pub fn new(phrases: &[String]) -> Self {
        Self(phrases.iter().map(|p| text::fold(p.trim())).filter(|p| !p.is_empty()).collect())
    }

    /// Whether any phrase starts at a word start of `folded` (already folded text).
    pub fn any_in(&self, folded: &str) -> bool {
        self.0.iter().any(|phrase| {
            folded.match_indices(phrase.as_str()).any(|(at, _)| {
                folded[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_at_word_starts_on_folded_text() {
        let p = Phrases::new(&["nicht kündigen".into(), "IBAN bleibt".into()]);
        assert!(p.any_in(&text::fold("Ich möchte NICHT kuendigen.")));
        assert!(p.any_in(&text::fold("Meine iban bleibt gleich")));
        assert!(!p.any_in(&text::fold("Ich möchte kündigen.")));
        assert!(!p.any_in(&text::fold("xnicht kündigen")), "only at a word start");
        assert!(!Phrases::new(&["  ".into()]).any_in("anything"));
    }

    #[test]
    fn refusals_are_negated_phrases() {
        for refusal in ["nicht kündigen", "keine Kündigung", "don't want to switch", "no intention"]
        {
            assert!(is_refusal(refusal), "{refusal}");
        }
        for topic in ["Lastschriftmandat", "newsletter", "old supplier", "another tariff"] {
            assert!(!is_refusal(topic), "{topic}");
        }
    }
}
