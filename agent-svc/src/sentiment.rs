//! The ticket's `sentiment` (`positive`, `neutral` or `negative`, contract §1.3) from the
//! customer's own words, without a model: German and English cue words, each with a weight,
//! summed over the newest message (quoted history is not the customer's mood). A negation shortly before a cue turns it around ("nicht zufrieden", "not happy",
//! "nicht schlecht"). Greetings and courtesy formulas ("Danke im Voraus", "Good morning",
//! "Mit freundlichen Grüßen") carry no mood.
//!
//! A lexicon is deliberately blunt: it answers "was the customer upset or pleased?" for
//! routing and the quality check, not irony. Words are compared folded (ä → ae, ß → ss), so
//! "enttäuscht" and "enttaeuscht" are one cue.

use crate::text::{fold, quote};

pub const POSITIVE: &str = "positive";
pub const NEUTRAL: &str = "neutral";
pub const NEGATIVE: &str = "negative";

/// Folded cue words (or word prefixes ending in `*`) and their weight.
const CUES: &[(&str, i32)] = &[
    // German, negative
    ("unverschaemt*", -3),
    ("frechheit", -3),
    ("skandal*", -3),
    ("katastroph*", -3),
    ("abzocke*", -3),
    ("enttaeusch*", -2),
    ("veraergert", -2),
    ("aergerlich", -2),
    ("aerger*", -2),
    ("wuetend", -3),
    ("sauer", -2),
    ("unzufrieden*", -2),
    ("inakzeptabel", -3),
    ("unmoeglich*", -2),
    ("beschwerde*", -2),
    ("frustrier*", -2),
    ("mangelhaft", -2),
    ("schlecht", -1),
    ("schlechte", -1),
    ("schlechter", -1),
    ("betrueger*", -3),
    ("zumutung", -3),
    ("unfaehig*", -3),
    ("ignorier*", -1),
    // German, positive
    ("danke", 1),
    ("dank", 1),
    ("bedanke", 1),
    ("zufrieden", 2),
    ("super", 2),
    ("toll*", 2),
    ("prima", 2),
    ("klasse", 2),
    ("hervorragend*", 2),
    ("freue", 1),
    ("froh", 1),
    ("gut", 1),
    ("gute", 1),
    ("guter", 1),
    ("gutes", 1),
    // English, negative
    ("angry", -3),
    ("furious", -3),
    ("outrage*", -3),
    ("unacceptable", -3),
    ("disgrace*", -3),
    ("ridiculous", -2),
    ("disappoint*", -2),
    ("annoy*", -2),
    ("upset", -2),
    ("unhappy", -2),
    ("frustrat*", -2),
    ("complain*", -2),
    ("terrible", -3),
    ("awful", -3),
    ("worst", -3),
    ("scam", -3),
    ("bad", -1),
    ("poor", -1),
    // English, positive
    ("thank", 1),
    ("thanks", 1),
    ("grateful", 2),
    ("appreciate*", 2),
    ("happy", 2),
    ("satisfied", 2),
    ("pleased", 2),
    ("great", 2),
    ("excellent", 2),
    ("wonderful", 2),
    ("helpful", 2),
    ("good", 1),
];

/// Words that turn the next cues around.
const NEGATIONS: &[&str] =
    &["nicht", "kein", "keine", "keinen", "keiner", "nie", "niemals", "not", "no", "never", "dont"];
/// How many words after a negation it reaches ("nicht mehr so zufrieden").
const NEGATION_REACH: usize = 3;

/// Greetings and courtesy formulas: their words carry no mood, folded.
const FORMULAS: &[&[&str]] = &[
    &["danke", "im", "voraus"],
    &["dank", "im", "voraus"],
    &["thanks", "in", "advance"],
    &["thank", "you", "in", "advance"],
    &["good", "morning"],
    &["good", "afternoon"],
    &["good", "evening"],
    &["mit", "freundlichen", "gruessen"],
    &["freundliche", "gruesse"],
    &["best", "regards"],
    &["kind", "regards"],
];

/// The sentiment of a customer's message.
pub fn classify(subject: &str, body: &str) -> &'static str {
    // Not the signature split: it takes a closing "Thank you, …" line for a sign-off.
    let newest = quote::newest_part(body);
    let score = score(&format!("{subject}\n{newest}"));
    match score {
        s if s < 0 => NEGATIVE,
        s if s > 0 => POSITIVE,
        _ => NEUTRAL,
    }
}

/// The summed weight of the cues in `text`, negations applied.
fn score(text: &str) -> i32 {
    let folded = fold::fold(text);
    let words: Vec<&str> =
        folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut formula = vec![false; words.len()];
    for start in 0..words.len() {
        if let Some(f) = FORMULAS.iter().find(|f| words[start..].starts_with(f)) {
            formula[start..start + f.len()].iter_mut().for_each(|w| *w = true);
        }
    }
    let mut total = 0;
    let mut negated_until = 0;
    for (i, word) in words.iter().enumerate() {
        if formula[i] {
            continue;
        }
        if NEGATIONS.contains(word) {
            negated_until = i + 1 + NEGATION_REACH;
            continue;
        }
        if let Some(weight) = weight(word) {
            total += if i < negated_until { -weight } else { weight };
        }
    }
    total
}

fn weight(word: &str) -> Option<i32> {
    CUES.iter()
        .find(|(cue, _)| match cue.strip_suffix('*') {
            Some(prefix) => word.starts_with(prefix),
            None => word == *cue,
        })
        .map(|(_, w)| *w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_complaints_praise_and_plain_requests() {
        let angry = "Das ist eine Frechheit! Ich bin total enttäuscht, seit Wochen keine Antwort.";
        assert_eq!(classify("Beschwerde", angry), NEGATIVE);
        assert_eq!(classify("", "Ihr Verhalten ist unverschämt."), NEGATIVE);
        assert_eq!(classify("", "Vielen Dank, das ging super schnell!"), POSITIVE);
        assert_eq!(classify("Zählerstand", "Mein Zählerstand ist 12345 kWh."), NEUTRAL);
    }

    #[test]
    fn english_complaints_praise_and_plain_requests() {
        assert_eq!(classify("", "I am really angry and disappointed with your service."), NEGATIVE);
        assert_eq!(classify("", "Thank you so much, that was very helpful."), POSITIVE);
        assert_eq!(classify("Meter reading", "My meter reading is 12345 kWh."), NEUTRAL);
    }

    #[test]
    fn a_negation_turns_the_cue_around() {
        assert_eq!(classify("", "Ich bin mit Ihrem Service nicht zufrieden."), NEGATIVE);
        assert_eq!(classify("", "Ich bin nicht mehr so zufrieden."), NEGATIVE);
        assert_eq!(classify("", "I am not happy with the new tariff."), NEGATIVE);
        assert_eq!(classify("", "Das ist gar nicht schlecht."), POSITIVE);
        // Out of reach: the negation belongs to another clause.
        assert_eq!(
            classify("", "Ich möchte nicht kündigen, ich bin mit allem sehr zufrieden."),
            POSITIVE
        );
    }

    #[test]
    fn courtesy_quotes_and_signatures_carry_no_mood() {
        let body = "Guten Tag, bitte ändern Sie meine Adresse. Danke im Voraus!\n\n\
                    Mit freundlichen Grüßen\nAnna";
        assert_eq!(classify("Adresse", body), NEUTRAL);
        assert_eq!(
            classify("", "Good morning, please update my IBAN. Thanks in advance."),
            NEUTRAL
        );
        let quoted = "Mein Zählerstand ist 4711.\n\nAm 01.10.2026 schrieb Service:\n> Frechheit";
        assert_eq!(classify("", quoted), NEUTRAL);
    }

    #[test]
    fn a_mixed_message_leans_to_its_stronger_side() {
        assert_eq!(classify("", "Danke für die Antwort, aber ich bin sehr enttäuscht."), NEGATIVE);
    }
}
