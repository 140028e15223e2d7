//! The account holder's name, only where the text names someone as holder ("Kontoinhaber:
//! Jonas Weber", "Inhaberin ist Sabine Kowalczyk", "account holders Liam and Zoe Harris", "the
//! account is in my partner's name, Lucía Fernández"), never from a signature. Filler words
//! between the cue and the name are skipped; "Kontoinhaber bin weiterhin ich" names nobody.

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

use super::{Doc, Hint, cues};

const CUES: &[&str] = &[
    "Kontoinhaber",
    "Kontoinhaberin",
    "Inhaber",
    "Inhaberin",
    "lautet auf",
    "auf den Namen",
    "account holder",
    "account holders",
    "account name",
    "in the name of",
    "holder",
];

static NAME_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bin (?:my|the|our) (?:\w+'s )?name\b|\bauf (?:den )?namen (?:meine[rs]? \w+)?",
    )
    .unwrap()
});

/// Words between a cue and the name that say nothing about who it is.
const FILLER: &[&str] = &[
    "ist",
    "is",
    "are",
    "sind",
    "lautet",
    "weiterhin",
    "still",
    "auf",
    "on",
    "bin",
    "am",
    "my",
    "mein",
    "meine",
    "meiner",
    "meines",
    "our",
    "unser",
    "unsere",
    "the",
    "der",
    "die",
    "das",
    "is",
    "also",
    "von",
    "of",
    "husband",
    "wife",
    "partner",
    "partner's",
    "mann",
    "frau",
    "ehemann",
    "ehefrau",
    "sohn",
    "tochter",
    "son",
    "daughter",
    "mother",
    "father",
    "mutter",
    "vater",
    "herr",
    "herrn",
    "mr",
    "mrs",
    "ms",
    "name",
    "namen",
    "jetzt",
    "now",
    "und",
];
const SELF: &[&str] = &["ich", "i", "mich", "me", "myself", "mir", "selbst"];
const TITLES: &[&str] = &["Dr.", "Prof.", "Dr", "Prof"];
const JOINERS: &[&str] = &["und", "and", "&", "von", "van", "de", "zu"];

pub fn extract(hint: &Hint, doc: &Doc) -> Option<Value> {
    let mut starts: Vec<usize> = CUES
        .iter()
        .copied()
        .chain(hint.context.iter().map(String::as_str))
        .flat_map(|c| cues::occurrences(doc, c))
        .map(|(_, e)| e)
        .collect();
    starts.extend(NAME_CUE.find_iter(&doc.text).map(|m| m.end()));
    starts.sort_unstable();
    starts.dedup();
    starts
        .into_iter()
        .filter(|&at| !doc.layout.in_signature(at) || doc.signature_referenced)
        .find_map(|at| name_after(&doc.text[at..]))
        .map(Value::from)
}

/// The name that follows a holder cue, skipping filler; `None` at a full stop or "ich".
fn name_after(rest: &str) -> Option<String> {
    let line = rest.split('\n').next().unwrap_or("");
    let mut tokens = line
        .split_whitespace()
        .map(|t| t.trim_start_matches(['(', ':', '"', '„']))
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .peekable();
    // Skip filler words until the first capitalised word that is not filler.
    let mut name: Vec<String> = Vec::new();
    let mut skipped = 0;
    while let Some(&t) = tokens.peek() {
        let bare = t.trim_end_matches([',', '.', ')', ';', ':', '!']);
        let lower = bare.to_lowercase();
        if SELF.contains(&lower.as_str()) {
            // "auf mich, Renate Fuchs": the sender's own name may follow as an apposition.
            if !t.ends_with(',') {
                return None;
            }
            skipped += 1;
            tokens.next();
            continue;
        }
        let titled = TITLES.contains(&t.trim_end_matches(',')) && name.is_empty();
        if starts_upper(bare) && (!FILLER.contains(&lower.as_str()) || titled) {
            break;
        }
        if !FILLER.contains(&lower.as_str()) || skipped > 5 {
            return None;
        }
        skipped += 1;
        tokens.next();
        if t.ends_with('.') {
            return None;
        }
    }
    for t in tokens {
        let bare = t.trim_end_matches([',', '.', ')', ';', ':', '!', '?']);
        let is_title = TITLES.contains(&t) && name.is_empty();
        if is_title {
            name.push(t.to_owned());
            continue;
        }
        let joiner = JOINERS.contains(&bare) && !name.is_empty();
        if !(starts_upper(bare) || joiner) || bare.is_empty() {
            break;
        }
        name.push(bare.to_owned());
        if bare.len() != t.len() {
            break;
        }
    }
    while name.last().is_some_and(|w| JOINERS.contains(&w.as_str())) {
        name.pop();
    }
    let words = name.iter().filter(|w| !TITLES.contains(&w.as_str())).count();
    (words >= 2 && name.len() <= 7).then(|| name.join(" "))
}

fn starts_upper(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::Extractor;
    use crate::extraction::testing::doc;

    fn holder(text: &str) -> Option<Value> {
        extract(&Hint::new(Extractor::PersonName), &doc(text, "2026-10-01T10:00:00+02:00", "de"))
    }

    #[test]
    fn names_after_holder_cues() {
        assert_eq!(holder("IBAN: DE11\nKontoinhaber: Jonas Weber\n"), Some("Jonas Weber".into()));
        assert_eq!(holder("Inhaberin ist Sabine Kowalczyk."), Some("Sabine Kowalczyk".into()));
        assert_eq!(holder("Kontoinhaber Dr. Axel Brenner."), Some("Dr. Axel Brenner".into()));
        assert_eq!(
            holder("account holders Liam and Zoe Harris."),
            Some("Liam and Zoe Harris".into())
        );
        assert_eq!(
            holder("The account is in my partner's name, Lucía Fernández, she's happy"),
            Some("Lucía Fernández".into())
        );
        assert_eq!(
            holder("Konto lautet weiterhin auf mich, Renate Fuchs)."),
            Some("Renate Fuchs".into())
        );
        assert_eq!(holder("(Kontoinhaber bin weiterhin ich)"), None);
        assert_eq!(
            holder("The account holder is my husband, Daniel Brown."),
            Some("Daniel Brown".into())
        );
    }
}
