//! Identifiers: meter numbers, contract numbers and customer numbers. An identifier is a token
//! of letters, digits and dashes with enough digits; what it identifies is decided by the
//! nearest label before it ("Zählernummer", "Vertrags-Nr.", "customer no.", also the agent's
//! question in a call transcript: "Do you have the contract number?" — "Yes, it's V-…"), and
//! by shape for meter serial numbers ("1ESY1160612345": a digit, the maker's three letters,
//! digits), which are meter numbers wherever they stand.

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

use super::{Doc, Hint, cues};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Meter,
    Contract,
    Customer,
    /// Order numbers, mandate references, phone numbers and the like.
    Other,
    /// A number after "Zählerstand" or "reading" is a reading, not an identifier.
    Reading,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Id {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub kind: Kind,
    /// Distance from its label in bytes (0 for a meter-shaped id without label).
    pub distance: usize,
}

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+)*").unwrap());
static METER_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d[A-Z]{3}\d{7,10}$").unwrap());

const METER: &[&str] = &[
    "Zählernummer",
    "Zählernr",
    "Zähler-Nr",
    "Zähler",
    "Gerätenummer",
    "meter number",
    "meter no",
    "meter ID",
    "meter",
    "serial number",
];
const CONTRACT: &[&str] =
    &["Vertragsnummer", "Vertragsnr", "Vertrags-Nr", "Vertragskonto", "Vertrag", "contract"];
const CUSTOMER: &[&str] =
    &["Kundennummer", "Kundennr", "Kunden-Nr", "Kd.-Nr", "Kunde", "Kundin", "customer"];
const OTHER: &[&str] = &[
    "Auftragsnummer",
    "Auftrag",
    "Bestellnummer",
    "order",
    "Mandatsreferenz",
    "Mandat",
    "mandate",
    "Referenz",
    "reference",
    "Rechnungsnummer",
    "invoice",
    "Telefon",
    "Tel",
    "phone",
    "Handy",
    "Mobil",
    "mobile",
    "Fax",
    "IBAN",
    "BIC",
    "HRB",
    "USt",
    "Steuer",
    "tax",
    "Postfach",
    "Zählpunkt",
    "Marktlokation",
];
const READING: &[&str] = &["Zählerstand", "Stand", "reading", "Ablesung"];
/// Speaker names in call transcripts, which are not labels.
const SPEAKERS: &[&str] = &["kunde", "kundin", "customer"];

/// Labels found in the text, nearest first per position.
fn labels(doc: &Doc, hint: &Hint, target: Kind) -> Vec<(usize, usize, Kind)> {
    let mut out = Vec::new();
    let sets = [
        (METER, Kind::Meter),
        (CONTRACT, Kind::Contract),
        (CUSTOMER, Kind::Customer),
        (OTHER, Kind::Other),
        (READING, Kind::Reading),
    ];
    for (set, kind) in sets {
        for phrase in set {
            out.extend(cues::occurrences(doc, phrase).into_iter().map(|(s, e)| (s, e, kind)));
        }
    }
    for phrase in hint.context.iter().chain(&hint.labels) {
        out.extend(cues::occurrences(doc, phrase).into_iter().map(|(s, e)| (s, e, target)));
    }
    out.retain(|&(s, e, _)| !is_speaker(doc, s, e));
    out
}

fn is_speaker(doc: &Doc, start: usize, end: usize) -> bool {
    let line_start = doc.text[..start].rfind('\n').map_or(0, |p| p + 1);
    doc.text[line_start..start].trim().is_empty()
        && doc.text[end..].starts_with(':')
        && SPEAKERS.contains(&crate::text::fold(&doc.text[start..end]).as_str())
}

/// Every identifier with the kind its label or shape gives it.
pub fn identifiers(doc: &Doc, hint: &Hint, target: Kind) -> Vec<Id> {
    let labels = labels(doc, hint, target);
    let ibans = super::iban::find(&doc.text);
    let mut out = Vec::new();
    for m in TOKEN.find_iter(&doc.text) {
        let t = m.as_str();
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        if digits < 5 || ibans.iter().any(|&(s, e, _)| s <= m.start() && m.end() <= e) {
            continue;
        }
        let postal = t.len() == 5
            && doc.text[m.end()..].starts_with([' ', '\t'])
            && doc.text[m.end()..].trim_start_matches([' ', '\t']).starts_with(char::is_uppercase);
        if postal {
            continue;
        }
        let next = doc.text[m.end()..].trim_start();
        if ["kwh", "m³", "m3", "kilowatt", "€", "euro"]
            .iter()
            .any(|u| next.to_lowercase().starts_with(u))
        {
            continue;
        }
        // Dates and decimal numbers are not identifiers ("12.10.2026", "23.418,7").
        let touching = |c: char| c == '.' || c == ',';
        let prev = doc.text[..m.start()].chars().next_back();
        let after = doc.text[m.end()..].chars().next();
        let joined = |c: Option<char>, more: Option<char>| {
            c.is_some_and(touching) && more.is_some_and(|d| d.is_ascii_digit())
        };
        if joined(prev, doc.text[..m.start()].chars().rev().nth(1))
            || joined(after, doc.text[m.end()..].chars().nth(1))
        {
            continue;
        }
        let label = labels
            .iter()
            .filter(|&&(_, e, _)| e <= m.start() && m.start() - e <= 60)
            .filter(|&&(s, _, _)| {
                let between = &doc.text[s..m.start()];
                doc.sentence_of(s) == doc.sentence_of(m.start())
                    || m.start() - s <= 70 && !between.contains("\n\n")
            })
            .max_by_key(|&&(s, e, kind)| {
                (e, std::cmp::Reverse(s), matches!(kind, Kind::Other | Kind::Reading))
            });
        let shaped = METER_SHAPE.is_match(t);
        let (kind, distance) = match label {
            _ if shaped => (Kind::Meter, 0),
            Some(&(_, e, kind)) => (kind, m.start() - e),
            None => continue,
        };
        if kind == Kind::Reading || kind == Kind::Meter && !shaped && (digits < 6 || t.len() > 16) {
            continue;
        }
        out.push(Id { start: m.start(), end: m.end(), text: t.to_owned(), kind, distance });
    }
    out
}

fn pick(hint: &Hint, doc: &Doc, kind: Kind) -> Option<Value> {
    identifiers(doc, hint, kind)
        .into_iter()
        .filter(|id| id.kind == kind && !doc.hidden(hint, id.start))
        .min_by_key(|id| (id.distance, id.start))
        .map(|id| id.text.into())
}

pub fn meter_number(hint: &Hint, doc: &Doc) -> Option<Value> {
    pick(hint, doc, Kind::Meter)
}

pub fn contract_number(hint: &Hint, doc: &Doc) -> Option<Value> {
    pick(hint, doc, Kind::Contract)
}

pub fn customer_number(hint: &Hint, doc: &Doc) -> Option<Value> {
    pick(hint, doc, Kind::Customer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::testing::{doc, hint};
    use crate::extraction::{Extractor, Hint};

    const AT: &str = "2026-10-01T10:00:00+02:00";

    #[test]
    fn meter_numbers_by_shape_or_label() {
        let h = Hint::new(Extractor::MeterNumber);
        assert_eq!(
            meter_number(&h, &doc("Stand 1234, Nr. 1ESY1160634571", AT, "de")),
            Some("1ESY1160634571".into())
        );
        assert_eq!(meter_number(&h, &doc("zähler nr 33019274", AT, "de")), Some("33019274".into()));
        assert_eq!(
            meter_number(&h, &doc("(zähler Z-4711-0815)", AT, "de")),
            Some("Z-4711-0815".into())
        );
        assert_eq!(meter_number(&h, &doc("Kundennummer 100482217", AT, "de")), None);
        assert_eq!(meter_number(&h, &doc("Der Zähler zeigte 30117 kWh", AT, "de")), None);
    }

    #[test]
    fn contract_and_customer_numbers_by_their_labels() {
        let h = hint(Extractor::ContractNumber, &["Vertragsnummer"], &[]);
        let d = doc("Auftragsnummer A-2026-778231, mein Vertrag V-2024-008812 endet.", AT, "de");
        assert_eq!(contract_number(&h, &d), Some("V-2024-008812".into()));
        let h = Hint::new(Extractor::CustomerNumber);
        let d = doc("Agent: Can I have your customer number?\nCaller: 100744502.", AT, "en");
        assert_eq!(customer_number(&h, &d), Some("100744502".into()));
        let d = doc("Kunde: Das ist die 7EMH0012240981.\nKunde: 12345678 war das.", AT, "de");
        assert_eq!(customer_number(&h, &d), None);
    }
}
