//! Built-in extractors for `source: message` parameters, used when no LLM is configured. Each
//! parameter's `extraction` hint names an extractor and the cue words that tie a value to this
//! parameter (`context`) or disqualify it (`exclude`). An extractor finds every candidate in
//! the newest part of the message, scores each by its shape and by the nearest cues, and the
//! best candidate wins; a parameter with no convincing candidate stays empty.
//!
//! Values come out normalised the way parameters are typed: dates `YYYY-MM-DD`, numbers as
//! strings with `.` decimals and no grouping, IBANs compact upper case, the address an object.

mod address;
mod cues;
mod dates;
mod iban;
mod identifiers;
mod numbers;
mod person;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;
use serde_json::Value;

use crate::text::{self, Folded, Layout};

pub use iban::valid_iban;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Extractor {
    Iban,
    MeterNumber,
    MeterReading,
    Amount,
    Date,
    Address,
    PersonName,
    ContractNumber,
    CustomerNumber,
}

/// The `extraction` object of a parameter, plus the parameter's display names as labels: a
/// form field or a sentence that names the parameter ("Ablesedatum: …") is the strongest cue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hint {
    pub extractor: Extractor,
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub ignore_signature: bool,
    #[serde(skip)]
    pub labels: Vec<String>,
}

impl Hint {
    pub fn new(extractor: Extractor) -> Self {
        Self {
            extractor,
            context: vec![],
            exclude: vec![],
            ignore_signature: false,
            labels: vec![],
        }
    }

    /// The hint of an agent parameter (JSON as in the default agents), or `None` when the
    /// parameter has no `extraction`.
    pub fn from_parameter(parameter: &Value) -> Option<Result<Self, serde_json::Error>> {
        let extraction = parameter.get("extraction")?;
        Some(serde_json::from_value::<Hint>(extraction.clone()).map(|mut hint| {
            hint.labels = ["name", "nameEn"]
                .iter()
                .filter_map(|k| parameter.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            hint
        }))
    }
}

/// What the extractors read of a message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    pub received_at: DateTime<FixedOffset>,
    pub lang: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

/// A message prepared once for all its parameters: the newest part, folded, with its layout.
#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
    pub folded: Folded,
    pub layout: Layout,
    pub today: NaiveDate,
    pub lang: Lang,
    /// The sender points at the signature ("the account in my signature"), so its values count.
    pub signature_referenced: bool,
    sentences: Vec<(usize, usize)>,
    words: Vec<(usize, usize)>,
}

impl Doc {
    pub fn new(message: &Message<'_>) -> Self {
        let text = text::newest_part(message.body);
        let folded = Folded::new(&text);
        let layout = text::layout(&text);
        let sentences = text::sentences(&text).iter().map(|s| (s.start, s.end)).collect();
        let words = text::words(&folded.text).iter().map(|w| (w.start, w.end)).collect();
        let lang = match message.lang {
            Some(l) if l.to_ascii_lowercase().starts_with("en") => Lang::En,
            Some(_) => Lang::De,
            None => guess_lang(&folded.text),
        };
        let signature_referenced = {
            let body = &folded.text[..folded_offset(&folded, layout.signature_start)];
            ["signatur", "signature", "unten stehend", "untenstehend", "below"]
                .iter()
                .any(|w| body.contains(w))
        };
        Self {
            today: message.received_at.date_naive(),
            text,
            folded,
            layout,
            lang,
            signature_referenced,
            sentences,
            words,
        }
    }

    /// The index of the sentence containing original offset `at`.
    pub fn sentence_of(&self, at: usize) -> usize {
        self.sentences.partition_point(|&(start, _)| start <= at).saturating_sub(1)
    }

    /// Whether a value at `at` is outside the sender's own text for this hint.
    fn hidden(&self, hint: &Hint, at: usize) -> bool {
        let signature = self.layout.in_signature(at) && !self.signature_referenced;
        hint.ignore_signature && (signature || self.layout.in_letterhead(at))
    }

    /// The folded words as spans of the folded text.
    fn folded_words(&self) -> impl Iterator<Item = (usize, usize, &str)> {
        self.words.iter().map(|&(s, e)| (s, e, &self.folded.text[s..e]))
    }
}

fn folded_offset(folded: &Folded, original: usize) -> usize {
    (0..=folded.text.len()).find(|&i| folded.origin(i) >= original).unwrap_or(folded.text.len())
}

fn guess_lang(folded: &str) -> Lang {
    let de = [" ich ", " und ", " der ", " die ", " bitte ", " nicht ", " mein "];
    let en = [" i ", " and ", " the ", " please ", " not ", " my "];
    let padded = format!(" {folded} ");
    let count = |ws: &[&str]| ws.iter().map(|w| padded.matches(w).count()).sum::<usize>();
    if count(&en) > count(&de) { Lang::En } else { Lang::De }
}

/// A possible value: where it is and how much its shape alone says it is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub value: Value,
    pub start: usize,
    pub end: usize,
    pub score: f64,
}

/// Extracts one parameter from a message.
pub fn extract(hint: &Hint, message: &Message<'_>) -> Option<Value> {
    extract_from(hint, &Doc::new(message))
}

/// Extracts one parameter from a prepared message (prepare once, extract many parameters).
pub fn extract_from(hint: &Hint, doc: &Doc) -> Option<Value> {
    candidate(hint, doc, None).map(|c| c.value)
}

/// Extracts all message parameters of one intent. The intent's main value (the IBAN, the
/// amount, the reading, the address) is found first; dates are then taken near it, because a
/// customer states the values of one request together ("ab November bitte von DE… abbuchen").
pub fn extract_intent(parameters: &[(String, Hint)], doc: &Doc) -> Vec<(String, Value)> {
    let anchor = parameters
        .iter()
        .filter(|(_, h)| h.extractor.is_main_value())
        .find_map(|(_, h)| candidate(h, doc, None))
        .map(|c| (c.start, c.end));
    parameters
        .iter()
        .filter_map(|(key, h)| candidate(h, doc, anchor).map(|c| (key.clone(), c.value)))
        .collect()
}

impl Extractor {
    fn is_main_value(self) -> bool {
        matches!(self, Self::Iban | Self::Amount | Self::MeterReading | Self::Address)
    }
}

fn candidate(hint: &Hint, doc: &Doc, anchor: Option<(usize, usize)>) -> Option<Candidate> {
    let whole =
        |value: Option<Value>| value.map(|value| Candidate { value, start: 0, end: 0, score: 0.0 });
    match hint.extractor {
        Extractor::Iban => iban::extract(hint, doc),
        Extractor::MeterNumber => whole(identifiers::meter_number(hint, doc)),
        Extractor::ContractNumber => whole(identifiers::contract_number(hint, doc)),
        Extractor::CustomerNumber => whole(identifiers::customer_number(hint, doc)),
        Extractor::MeterReading => numbers::meter_reading(hint, doc),
        Extractor::Amount => numbers::amount(hint, doc),
        Extractor::Date => dates::extract(hint, doc, anchor),
        Extractor::Address => address::extract(hint, doc),
        Extractor::PersonName => whole(person::extract(hint, doc)),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn doc(body: &str, received: &str, lang: &str) -> Doc {
        Doc::new(&Message {
            subject: "",
            body,
            received_at: DateTime::parse_from_rfc3339(received).unwrap(),
            lang: Some(lang),
        })
    }

    pub fn hint(extractor: Extractor, context: &[&str], exclude: &[&str]) -> Hint {
        Hint {
            context: context.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..Hint::new(extractor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_hint_from_a_default_agent_parameter() {
        let p = json!({"key": "readingDate", "name": "Ablesedatum", "nameEn": "Reading date",
            "extraction": {"extractor": "date", "context": ["am"], "ignoreSignature": true}});
        let hint = Hint::from_parameter(&p).unwrap().unwrap();
        assert_eq!(hint.extractor, Extractor::Date);
        assert!(hint.ignore_signature);
        assert_eq!(hint.labels, ["Ablesedatum", "Reading date"]);
        assert!(Hint::from_parameter(&json!({"key": "x"})).is_none());
    }

    #[test]
    fn guesses_the_language_when_the_message_has_none() {
        assert_eq!(guess_lang("ich moechte bitte meinen abschlag aendern und"), Lang::De);
        assert_eq!(guess_lang("i would like to change my payment and the date please"), Lang::En);
    }
}
