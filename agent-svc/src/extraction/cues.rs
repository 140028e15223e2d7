//! Cue words and how near they are to a candidate. Phrases match the folded text word by word
//! at word starts, so a stem covers its inflections ("Zähler" → "Zählers"); words of up to
//! four letters ("ab", "zum", "on", "kWh") must match whole. A single long word also matches
//! inside a compound ("Verbrauch" in "Jahresverbrauch"), and long words tolerate one typo
//! ("Zälerstand", "reeding", "zihen"). One filler word may sit between the words of a phrase
//! ("lautet weiterhin auf").

use super::{Candidate, Doc, Hint};
use crate::text::{fold, words};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub exclude: bool,
    pub weight: f64,
    /// A word of a longer cue phrase on its own: it only says the sentence is on topic.
    pub topical: bool,
    /// Marks only what follows it ("statt 82 €", "not 21,980"), not what stands before.
    pub before_only: bool,
}

/// Cues of the hint (labels strongest), then the extractor's own general ones; `exclude`
/// disqualifies candidates on either side, `marks_next` only the candidate after it.
pub fn find(
    doc: &Doc,
    hint: &Hint,
    context: &[&str],
    exclude: &[&str],
    marks_next: &[&str],
) -> Vec<Found> {
    let mut out = Vec::new();
    for phrase in marks_next {
        for (start, end) in occurrences(doc, phrase) {
            out.push(Found {
                start,
                end,
                exclude: true,
                weight: 1.0,
                topical: false,
                before_only: true,
            });
        }
    }
    let groups: [(Vec<&str>, bool, f64); 5] = [
        (hint.labels.iter().map(String::as_str).collect(), false, 1.2),
        (hint.context.iter().map(String::as_str).collect(), false, 1.0),
        (context.to_vec(), false, 0.7),
        (hint.exclude.iter().map(String::as_str).collect(), true, 1.0),
        (exclude.to_vec(), true, 1.0),
    ];
    for (phrases, is_exclude, weight) in groups {
        for phrase in phrases {
            // Prepositions such as "am", "zum", "on" are weak evidence on their own.
            let short = !phrase.contains(' ') && phrase.chars().count() <= 3;
            let w = if short && !is_exclude { weight * 0.5 } else { weight };
            // "von 110 auf 80": a preposition excludes the value after it, not the one before.
            let before_only = is_exclude && PREPOSITIONS.contains(&fold(phrase).as_str());
            for (start, end) in occurrences(doc, phrase) {
                out.push(Found {
                    start,
                    end,
                    exclude: is_exclude,
                    weight: w,
                    topical: false,
                    before_only,
                });
            }
            if is_exclude || !phrase.contains(' ') {
                continue;
            }
            for head in phrase.split_whitespace().filter(|w| w.chars().count() >= 5) {
                for (start, end) in occurrences(doc, head) {
                    out.push(Found {
                        start,
                        end,
                        exclude: false,
                        weight: 0.8,
                        topical: true,
                        before_only: false,
                    });
                }
            }
        }
    }
    out
}

const PREPOSITIONS: &[&str] = &["von", "from", "ab", "bis", "seit", "since", "of", "vom"];

/// Original spans where `phrase` occurs.
pub fn occurrences(doc: &Doc, phrase: &str) -> Vec<(usize, usize)> {
    let folded = fold(phrase);
    let pw: Vec<&str> = words(&folded).into_iter().map(|t| t.text).collect();
    if pw.is_empty() {
        return vec![];
    }
    let dw: Vec<(usize, usize, &str)> = doc.folded_words().collect();
    let single = pw.len() == 1;
    let mut out = Vec::new();
    for i in 0..dw.len() {
        if !word_matches(pw[0], dw[i].2, single) {
            continue;
        }
        let mut at = i;
        let mut ok = true;
        for p in &pw[1..] {
            match (at + 1..(at + 3).min(dw.len())).find(|&j| word_matches(p, dw[j].2, false)) {
                Some(j) => at = j,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            out.push(doc.folded.span(dw[i].0, dw[at].1));
        }
    }
    out
}

fn word_matches(pattern: &str, word: &str, may_be_inside: bool) -> bool {
    let plen = pattern.chars().count();
    if plen <= 4 {
        return word == pattern;
    }
    if word.starts_with(pattern) || may_be_inside && word.contains(pattern) {
        return true;
    }
    plen >= 6 && near_prefix(pattern, word)
}

/// Whether some prefix of `word` about as long as `pattern` is one edit away from it.
fn near_prefix(pattern: &str, word: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let w: Vec<char> = word.chars().collect();
    (p.len() - 1..=p.len() + 1).filter(|&l| l <= w.len()).any(|l| levenshtein(&p, &w[..l]) <= 1)
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    levenshtein(&a, &b)
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// How strongly the cues tie `c` to the parameter, or `None` when an exclude cue is the
/// nearest cue right before it (or right after it) in its sentence.
pub fn score(doc: &Doc, found: &[Found], c: &Candidate) -> Option<f64> {
    let sentence = doc.sentence_of(c.start);
    let same = |at: usize| doc.sentence_of(at) == sentence;
    let near = found.iter().filter(|f| !f.topical);
    let before = near
        .clone()
        .filter(|f| f.end <= c.start && c.start - f.end <= 40 && same(f.start))
        .max_by_key(|f| (f.end, f.exclude));
    if before.is_some_and(|f| f.exclude) {
        return None;
    }
    let after = near
        .filter(|f| !f.before_only)
        .filter(|f| f.start >= c.end && f.start - c.end <= 20 && same(f.start))
        .filter(|f| !doc.text[c.end..f.start].contains([',', '.', ';', ':', '(', ')', '!', '?']))
        .min_by_key(|f| (f.start, !f.exclude));
    if after.is_some_and(|f| f.exclude) {
        return None;
    }
    let best = found
        .iter()
        .filter(|f| !f.exclude)
        .map(|f| {
            let closeness = if f.topical {
                if same(f.start) { 1.0 } else { 0.0 }
            } else if f.end <= c.start {
                let gap = (c.start - f.end) as f64;
                if same(f.start) {
                    (3.0 - gap / 40.0).max(0.5)
                } else if gap < 150.0 {
                    (1.0 - gap / 150.0).max(0.2)
                } else {
                    0.0
                }
            } else if f.start >= c.end {
                let gap = (f.start - c.end) as f64;
                if same(f.start) && gap <= 40.0 { (1.5 - gap / 40.0).max(0.3) } else { 0.0 }
            } else {
                2.5
            };
            closeness * f.weight
        })
        .fold(0.0, f64::max);
    Some(best)
}

/// The best candidate by shape plus cues; `needs_cue` drops candidates no cue points to,
/// except a single remaining candidate when `lone_ok`.
pub fn choose(
    doc: &Doc,
    found: &[Found],
    candidates: Vec<Candidate>,
    needs_cue: bool,
    lone_ok: bool,
) -> Option<Candidate> {
    let scored: Vec<(Candidate, f64)> =
        candidates.into_iter().filter_map(|c| score(doc, found, &c).map(|s| (c, s))).collect();
    let distinct = {
        let mut values: Vec<&serde_json::Value> = scored.iter().map(|(c, _)| &c.value).collect();
        values.dedup();
        values.len()
    };
    let lone = lone_ok && distinct == 1;
    scored
        .into_iter()
        .filter(|(_, cue)| !needs_cue || *cue > 0.0 || lone)
        .map(|(c, cue)| {
            let total = c.score + cue;
            (c, total)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.start.cmp(&a.0.start)))
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::Extractor;
    use crate::extraction::testing::{doc, hint};

    fn spans<'a>(d: &'a Doc, phrase: &str) -> Vec<&'a str> {
        occurrences(d, phrase).into_iter().map(|(s, e)| &d.text[s..e]).collect()
    }

    #[test]
    fn matches_stems_compounds_typos_and_short_words_whole() {
        let d = doc(
            "Der Zälerstand laut Jahresverbrauch, ab Abbuchung, Konto lautet weiterhin auf mich",
            "2026-10-01T10:00:00+02:00",
            "de",
        );
        assert_eq!(spans(&d, "Zählerstand"), ["Zälerstand"]);
        assert_eq!(spans(&d, "Verbrauch"), ["Jahresverbrauch"]);
        assert_eq!(spans(&d, "ab"), ["ab"]);
        assert_eq!(spans(&d, "lautet auf"), ["lautet weiterhin auf"]);
    }

    #[test]
    fn the_nearest_cue_before_decides_exclusion() {
        let d = doc("Bitte von 110 auf 80 senken.", "2026-10-01T10:00:00+02:00", "de");
        let h = hint(Extractor::Amount, &["auf"], &["von"]);
        let found = find(&d, &h, &[], &[], &[]);
        let at = |s: &str| {
            let start = d.text.find(s).unwrap();
            Candidate { value: s.into(), start, end: start + s.len(), score: 1.0 }
        };
        assert_eq!(score(&d, &found, &at("110")), None);
        assert!(score(&d, &found, &at("80")).unwrap() > 1.0);
    }
}
