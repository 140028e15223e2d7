//! Meter readings and money amounts. Numbers are read with German and English separators:
//! "23.418,7" and "14,382.5" are decimals after grouped thousands, "9.822" has a thousands dot,
//! "5632,118" is a German decimal and "7,204" an English thousands comma, "41 905" is grouped
//! with a space and "3 1 2 0 9" is spelled digit by digit. Numbers that are part of a date,
//! an IBAN, an identifier, a phone number, a postal code or a time are not candidates.

use regex::Regex;
use std::sync::LazyLock;

use super::identifiers::{self, Kind};
use super::{Candidate, Doc, Hint, Lang, cues, dates};

/// A number as written, split into integer and fraction digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    pub start: usize,
    pub end: usize,
    pub int: String,
    pub frac: String,
}

impl Number {
    /// "23418.7": no grouping, no leading zeros, no trailing fraction zeros.
    pub fn plain(&self) -> String {
        let frac = self.frac.trim_end_matches('0');
        if frac.is_empty() { self.int.clone() } else { format!("{}.{frac}", self.int) }
    }

    /// "120.50" with cents, "95" without.
    pub fn money(&self) -> String {
        if self.frac.trim_end_matches('0').is_empty() {
            self.int.clone()
        } else {
            format!("{}.{:0<2}", self.int, &self.frac[..self.frac.len().min(2)])
        }
    }
}

static RUN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+(?:[.,\u{a0} ]\d+)*").unwrap());

/// Parses one group of digits with `.`/`,` separators.
fn parse_group(s: &str, lang: Lang) -> Option<(String, String)> {
    let seps: Vec<(usize, char)> =
        s.char_indices().filter(|(_, c)| *c == '.' || *c == ',').collect();
    let strip = |d: &str| {
        let t = d.trim_start_matches('0');
        if t.is_empty() { "0".to_owned() } else { t.to_owned() }
    };
    let Some(&(last_at, last)) = seps.last() else {
        return Some((strip(s), String::new()));
    };
    let tail = &s[last_at + 1..];
    let same_kind = seps.iter().all(|&(_, c)| c == last);
    let parts: Vec<&str> = s.split(['.', ',']).collect();
    let grouped = parts[1..].iter().all(|p| p.len() == 3) && parts[0].len() <= 3;
    let decimal = if same_kind && seps.len() > 1 {
        if !grouped {
            return None;
        }
        false
    } else if same_kind {
        // One separator: three digits after it group thousands, except a German comma.
        !(tail.len() == 3 && (last == '.' || lang == Lang::En))
    } else {
        true
    };
    if decimal {
        let int: String = s[..last_at].chars().filter(char::is_ascii_digit).collect();
        let head = &s[..last_at];
        let head_ok = head.split(['.', ',']).skip(1).all(|p| p.len() == 3);
        head_ok.then(|| (strip(&int), tail.to_owned()))
    } else {
        grouped.then(|| (strip(&s.replace(['.', ','], "")), String::new()))
    }
}

/// Every number in the text, outside the spans in `blocked`.
pub fn numbers(doc: &Doc, blocked: &[(usize, usize)]) -> Vec<Number> {
    let text = &doc.text;
    let mut out = Vec::new();
    for m in RUN.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        let touches_word = text[..start].chars().next_back().is_some_and(char::is_alphanumeric)
            || text[end..].chars().next().is_some_and(|c| c.is_alphanumeric() && c != '³');
        if touches_word {
            continue;
        }
        let groups: Vec<(usize, &str)> =
            split_spaces(m.as_str()).into_iter().map(|(o, g)| (start + o, g)).collect();
        let spelled = groups.len() >= 3 && groups.iter().all(|(_, g)| g.len() == 1);
        let thousands = groups.len() > 1
            && groups[0].1.len() <= 3
            && !groups[0].1.starts_with('0')
            && groups[1..].iter().enumerate().all(|(i, (_, g))| {
                let digits = g.split([',', '.']).next().unwrap_or("");
                digits.len() == 3 && (i == groups.len() - 2 || !g.contains([',', '.']))
            });
        let pieces: Vec<(usize, usize, String)> = if spelled || thousands {
            vec![(start, end, groups.iter().map(|(_, g)| *g).collect::<String>())]
        } else {
            groups.iter().map(|&(o, g)| (o, o + g.len(), g.to_owned())).collect()
        };
        for (s, e, piece) in pieces {
            if blocked.iter().any(|&(bs, be)| s < be && bs < e) {
                continue;
            }
            if let Some((int, frac)) = parse_group(&piece, doc.lang) {
                out.push(Number { start: s, end: e, int, frac });
            }
        }
    }
    out
}

fn split_spaces(run: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in run.char_indices() {
        if c == ' ' || c == '\u{a0}' {
            out.push((start, &run[start..i]));
            start = i + c.len_utf8();
        }
    }
    out.push((start, &run[start..]));
    out
}

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[\s/-]?|\b0)\d{2,5}[\s/-]\d{3,}(?:[\s-]\d+)*").unwrap()
});
static POSTAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{5}[ \t]+\p{Lu}").unwrap());
static TIME_OR_PERCENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,2}:\d{2}\b|\d+(?:[.,]\d+)?\s?%|\b\d{1,2}\s?(?:uhr|h)\b").unwrap()
});

/// Spans no number candidate may overlap: dates, IBANs, identifiers, phones, postal codes.
fn blocked(doc: &Doc) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> =
        dates::mentions(doc).iter().map(|m| (m.start, m.end)).collect();
    out.extend(super::iban::find(&doc.text).into_iter().map(|(s, e, _)| (s, e)));
    let any = Hint::new(super::Extractor::MeterNumber);
    out.extend(
        identifiers::identifiers(doc, &any, Kind::Meter).into_iter().map(|id| (id.start, id.end)),
    );
    out.extend(super::address::addresses(&doc.text).into_iter().map(|a| (a.start, a.end)));
    for re in [&*PHONE, &*POSTAL, &*TIME_OR_PERCENT] {
        out.extend(re.find_iter(&doc.text).map(|m| (m.start(), m.end())));
    }
    out
}

static READING_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s?(kwh|kw/h|m³|m3|cbm|kubikmeter|cubic met(?:re|er)s?|kilowatt ?hours?|kilowattstunden|units)\b?").unwrap()
});
static APPROXIMATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(ca\.?|circa|etwa|ungefähr|rund|knapp|approx\.?|approximately|about|around|roughly|so|perhaps|vielleicht)\s*$").unwrap()
});

/// Consumption, estimates, money and corrections are not the reading.
const NOT_A_READING: &[&str] = &[
    "Verbrauch",
    "verbrauchen",
    "consumption",
    "usage",
    "use",
    "pro Jahr",
    "im Jahr",
    "per year",
    "a year",
    "jährlich",
    "annual",
    "€",
    "Euro",
    "EUR",
];
/// A correction names the wrong value after these words: "12,980 kWh, not 21,980".
const CORRECTED: &[&str] = &["statt", "anstatt", "instead of", "rather than", "not", "nicht"];

pub fn meter_reading(hint: &Hint, doc: &Doc) -> Option<Candidate> {
    let hidden = |at: usize| doc.layout.in_signature(at) || doc.layout.in_letterhead(at);
    let mut candidates = Vec::new();
    for n in numbers(doc, &blocked(doc)) {
        if hidden(n.start) {
            continue;
        }
        let unit = READING_UNIT.find(&doc.text[n.end..]).map(|u| u.end());
        if unit.is_none() && n.int.len() + n.frac.len() < 3 {
            continue;
        }
        let approx = APPROXIMATE.is_match(&doc.text[n.start.saturating_sub(14)..n.start]);
        let score = if unit.is_some() { 2.0 } else { 0.5 } - if approx { 2.5 } else { 0.0 };
        let end = n.end + unit.unwrap_or(0);
        candidates.push(Candidate { value: n.plain().into(), start: n.start, end, score });
    }
    let context = ["Zählerstand", "Stand", "reading", "zeigte", "showed"];
    let found = cues::find(doc, hint, &context, NOT_A_READING, CORRECTED);
    cues::choose(doc, &found, candidates, false, true)
}

static CURRENCY_AFTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:,-)?\s?(€|eur\b|euros?\b)").unwrap());
static CURRENCY_BEFORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(€|\beur)\s?$").unwrap());

/// The old value in "100 € statt 82 €" follows these words.
const NOT_THE_AMOUNT: &[&str] = &["statt", "anstatt", "instead of", "rather than", "nicht", "not"];

pub fn amount(hint: &Hint, doc: &Doc) -> Option<Candidate> {
    let hidden = |at: usize| doc.layout.in_signature(at) || doc.layout.in_letterhead(at);
    let found = cues::find(doc, hint, &[], &[], NOT_THE_AMOUNT);
    let mut candidates = Vec::new();
    for n in numbers(doc, &blocked(doc)) {
        if hidden(n.start) || READING_UNIT.is_match(&doc.text[n.end..]) {
            continue;
        }
        let after = CURRENCY_AFTER.find(&doc.text[n.end..]).map(|m| m.end());
        let before = CURRENCY_BEFORE.find(&doc.text[..n.start]).map(|m| m.start());
        let start = before.unwrap_or(n.start);
        let end = n.end + after.unwrap_or(0);
        let c = Candidate { value: n.money().into(), start, end, score: 0.3 };
        if after.is_some() || before.is_some() {
            candidates.push(Candidate { score: 2.0, ..c });
        } else if n.int.len() >= 2
            && n.int.len() <= 4
            && cues::score(doc, &found, &c).is_some_and(|s| s >= 1.0)
        {
            // A bare number only right after a cue: "den Abschlag auf 85", "lower it to 70".
            candidates.push(c);
        }
    }
    cues::choose(doc, &found, candidates, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::Extractor;
    use crate::extraction::testing::{doc, hint};

    const AT: &str = "2026-10-13T08:41:00+02:00";

    fn plain(text: &str, lang: &str) -> Vec<String> {
        let d = doc(text, AT, lang);
        numbers(&d, &[]).iter().map(Number::plain).collect()
    }

    #[test]
    fn reads_german_and_english_separators() {
        assert_eq!(plain("23.418,7 und 14,382.5 und 9.822", "de"), ["23418.7", "14382.5", "9822"]);
        assert_eq!(plain("5632,118 m3", "de"), ["5632.118"]);
        assert_eq!(plain("7,204 kwh", "en"), ["7204"]);
        assert_eq!(
            plain("41 905 kWh, 12 004,5 kWh, 3 1 2 0 9, 08812", "de"),
            ["41905", "12004.5", "31209", "8812"]
        );
    }

    #[test]
    fn formats_money_with_cents_only_when_there_are_cents() {
        let d = doc("120,50 und 240,00 und 92.5", AT, "de");
        let money: Vec<String> = numbers(&d, &[]).iter().map(Number::money).collect();
        assert_eq!(money, ["120.50", "240", "92.50"]);
    }

    #[test]
    fn the_reading_is_not_a_date_phone_consumption_or_meter_number() {
        let h = hint(Extractor::MeterReading, &["Zählerstand", "kWh"], &["Verbrauch"]);
        let d = doc(
            "Zähler-Nr.: 1EBZ0100287734\nStand am 24.09.2026: 41 905 kWh\nJahresverbrauch ca. 3.900 kWh. Tel 0561 772031.",
            AT,
            "de",
        );
        assert_eq!(meter_reading(&h, &d).map(|c| c.value), Some("41905".into()));
        let d = doc("The correct reading is 12,980 kWh, not 21,980.", AT, "en");
        assert_eq!(meter_reading(&h, &d).map(|c| c.value), Some("12980".into()));
    }

    #[test]
    fn the_new_amount_not_the_old_one() {
        let h =
            hint(Extractor::Amount, &["auf", "to", "Abschlag"], &["von", "from", "Nachzahlung"]);
        let pick = |t: &str, lang: &str| amount(&h, &doc(t, AT, lang)).map(|c| c.value);
        assert_eq!(pick("Abschlag bitte von 110 auf 80 € senken", "de"), Some("80".into()));
        assert_eq!(pick("Bitte ab November 100 € statt 82 €.", "de"), Some("100".into()));
        assert_eq!(pick("raise it from €74 to €92.50", "en"), Some("92.50".into()));
        assert_eq!(
            pick("über 400 € Nachzahlung, Abschlag auf 120,50 Euro", "de"),
            Some("120.50".into())
        );
        assert_eq!(pick("bump the monthly amount to 130?", "en"), Some("130".into()));
        assert_eq!(pick("EUR 85,50 bitte", "de"), Some("85.50".into()));
    }
}
