//! Where the sender's own text is: a letterhead before the salutation of a letter (sender and
//! recipient addresses, place and date) and a signature after the closing ("Mit freundlichen
//! Grüßen", "Best regards", "--") or a company footer (IBAN, BIC, Amtsgericht, USt-IdNr.).
//! Extraction ignores values there where the parameter asks for it: the IBAN in a footer is
//! not a new bank account, the sender's address at the top of a letter is not a new address.

use regex::Regex;
use std::sync::LazyLock;

use super::fold::fold;

/// Byte offsets: the letterhead is `..letterhead_end`, the signature `signature_start..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub letterhead_end: usize,
    pub signature_start: usize,
}

impl Layout {
    pub fn in_letterhead(&self, at: usize) -> bool {
        at < self.letterhead_end
    }
    pub fn in_signature(&self, at: usize) -> bool {
        at >= self.signature_start
    }
}

const CLOSINGS: &[&str] = &[
    "mit freundlichen gruessen",
    "mit freundlichem gruss",
    "mit besten gruessen",
    "mit sportlichen gruessen",
    "freundliche gruesse",
    "viele gruesse",
    "beste gruesse",
    "liebe gruesse",
    "herzliche gruesse",
    "schoene gruesse",
    "sonnige gruesse",
    "gruesse",
    "gruss",
    "lg",
    "vg",
    "mfg",
    "hochachtungsvoll",
    "danke",
    "vielen dank",
    "besten dank",
    "herzlichen dank",
    "best regards",
    "kind regards",
    "warm regards",
    "regards",
    "rgds",
    "best wishes",
    "all the best",
    "best",
    "cheers",
    "thanks",
    "thank you",
    "many thanks",
    "thx",
    "yours faithfully",
    "yours sincerely",
    "yours truly",
    "sincerely",
    "merci",
    "ciao",
];

static FOOTER_MARK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(iban|bic|swift|amtsgericht|registergericht|hrb|hra|pr \d|ust-?idnr|ust\.?-id|umsatzsteuer|steuernr|steuernummer|tax no|vat|registered|geschaeftsfuehr|managing director|sitz der|tel\.?|telefon|phone|fax|mobil|www\.|gmbh|mbb|e\. ?v\.|ag|kg|ltd|inh\.)(\b|\s|:)").unwrap()
});
static SALUTATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(sehr geehrte|geehrte|liebe|lieber|hallo|guten (tag|morgen|abend)|moin|servus|dear|hello|hi|good (morning|afternoon|evening))\b").unwrap()
});
static POSTAL_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(^|\s)\d{5}\s+\p{L}").unwrap());
static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\p{L}[\p{L} ()-]*,\s*(den\s+)?)?\d{1,2}(\.\s?\d{1,2}\.\d{2,4}|\.?\s+\p{L}+\s+\d{4})$",
    )
    .unwrap()
});

pub fn layout(text: &str) -> Layout {
    Layout { letterhead_end: letterhead_end(text), signature_start: signature_start(text) }
}

/// The text before its signature, and the signature (possibly empty).
pub fn split_signature(text: &str) -> (&str, &str) {
    let at = signature_start(text);
    (text[..at].trim_end(), &text[at..])
}

struct Line<'a> {
    start: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        out.push(Line { start, text: piece.trim_end_matches(['\n', '\r']) });
        start += piece.len();
    }
    out
}

/// A letter starts with address and date lines before its salutation.
fn letterhead_end(text: &str) -> usize {
    let ls = lines(text);
    let Some(first) = ls.iter().position(|l| !l.text.trim().is_empty()) else {
        return 0;
    };
    if SALUTATION.is_match(&fold(ls[first].text.trim())) {
        return 0;
    }
    let limit = (first + 30).min(ls.len());
    let Some(salutation) = (first..limit).find(|&i| SALUTATION.is_match(&fold(ls[i].text.trim())))
    else {
        return 0;
    };
    let head = &ls[first..salutation];
    let looks_like_letter = head.iter().any(|l| {
        let t = l.text.trim();
        POSTAL_LINE.is_match(t) && t.len() < 60 || DATE_LINE.is_match(&fold(t))
    }) && head.iter().all(|l| l.text.trim().len() <= 160);
    if looks_like_letter { ls[salutation].start } else { 0 }
}

fn signature_start(text: &str) -> usize {
    let ls = lines(text);
    let end = text.len();
    let mut at = end;
    if let Some(i) = closing_line(&ls) {
        at = at.min(ls[i].start);
    }
    if let Some(l) = ls.iter().find(|l| matches!(l.text.trim_end(), "--" | "-- " | "—")) {
        at = at.min(l.start);
    }
    at.min(footer_start(&ls).unwrap_or(end))
}

/// The earliest closing line after which only short signature lines follow.
fn closing_line(ls: &[Line<'_>]) -> Option<usize> {
    (0..ls.len()).find(|&i| {
        let f = fold(ls[i].text.trim());
        let is_closing = CLOSINGS.iter().any(|c| {
            f.strip_prefix(c)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ',', '!', '.', ':']))
        });
        if !is_closing || f.ends_with('?') {
            return false;
        }
        let greeting_words = ["gruess", "gruss", "regards", "wishes"];
        let short = f.chars().count() <= 60
            || f.chars().count() <= 100 && greeting_words.iter().any(|g| f.contains(g));
        let rest: Vec<&str> =
            ls[i + 1..].iter().map(|l| l.text.trim()).filter(|t| !t.is_empty()).collect();
        short
            && rest.len() <= 12
            && rest.iter().all(|t| t.chars().count() <= 110 && !t.ends_with('?'))
    })
}

/// Trailing paragraphs that carry company or bank details.
fn footer_start(ls: &[Line<'_>]) -> Option<usize> {
    let mut start = None;
    let mut i = ls.len();
    while i > 0 {
        let end = i;
        while i > 0 && !ls[i - 1].text.trim().is_empty() {
            i -= 1;
        }
        let para = &ls[i..end];
        let footer = i > 0 && is_footer(para);
        if !footer {
            break;
        }
        start = Some(para[0].start);
        while i > 0 && ls[i - 1].text.trim().is_empty() {
            i -= 1;
        }
    }
    start
}

/// Company details: two kinds of footer marks (or one and a postal code), in short lines.
fn is_footer(para: &[Line<'_>]) -> bool {
    if para.is_empty() || para.len() > 8 || para.iter().any(|l| l.text.trim().chars().count() > 110)
    {
        return false;
    }
    let mut kinds = std::collections::BTreeSet::new();
    for l in para {
        for m in FOOTER_MARK.captures_iter(&fold(l.text)) {
            kinds.insert(m[1].trim_end_matches('.').to_owned());
        }
    }
    let postal = para.iter().any(|l| POSTAL_LINE.is_match(l.text));
    kinds.len() >= 2 || !kinds.is_empty() && postal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_closing_and_everything_after_it() {
        let text =
            "Bitte buchen Sie ab.\n\nMit freundlichen Grüßen\nJonas Weber\nVertragsnummer V-1";
        let (body, sig) = split_signature(text);
        assert_eq!(body, "Bitte buchen Sie ab.");
        assert!(sig.starts_with("Mit freundlichen Grüßen"));
    }

    #[test]
    fn a_company_footer_is_signature_even_without_closing() {
        let text = "Zählerstand 1234 kWh.\n\nBäckerei GmbH\nIBAN DE67 6005 0101 9118 6252 76 · BIC SOLADEST600";
        let l = layout(text);
        assert!(text[l.signature_start..].starts_with("Bäckerei GmbH"));
    }

    #[test]
    fn thanks_inside_the_message_is_not_a_closing() {
        let text = "Danke für die Info. Wann wird das Guthaben denn nun überwiesen, und an welches Konto geht es?\nZweite Zeile mit Inhalt.";
        assert_eq!(layout(text).signature_start, text.len());
    }

    #[test]
    fn a_letter_has_a_letterhead_up_to_the_salutation() {
        let text = "Gerda Hoffmann\nLindenallee 14\n34117 Kassel\n\nKassel, den 25. September 2026\n\nSehr geehrte Damen und Herren,\n\ntext";
        let l = layout(text);
        assert!(text[l.letterhead_end..].starts_with("Sehr geehrte"));
        assert_eq!(layout("Hallo,\n\n34117 Kassel ist schön.\n").letterhead_end, 0);
    }

    #[test]
    fn dash_dash_starts_a_signature() {
        let text = "Bitte am 20. abbuchen.\n\nJörg\n\n--\nKfz Winkler";
        assert!(text[layout(text).signature_start..].starts_with("--"));
    }
}
