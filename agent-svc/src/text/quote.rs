//! The newest part of a message: what the sender wrote now, without the quoted reply history
//! or a forwarded mail below it. Only the newest part is evidence for intents and parameters.
//!
//! A forward whose own text is only a cover note ("FYI", "siehe unten", nothing at all) is the
//! exception: then the forwarded mail is what the sender asks us to act on, so its text (without
//! its header block) is the newest part. A reply is never unwrapped that way: the quoted text
//! of a reply is our own earlier mail or the customer's older request.

use regex::Regex;
use std::sync::LazyLock;

use super::fold::{fold, words};
use super::layout::layout;

/// Cover notes with fewer words than this make a forward stand for the forwarded mail.
const COVER_NOTE_WORDS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Reply,
    Forward,
}

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-_=*\s]*(original message|original-nachricht|originalnachricht|urspruengliche nachricht|forwarded message|weitergeleitete nachricht|begin forwarded message|anfang der weitergeleiteten nachricht)\b").unwrap()
});
static FORWARD_WORDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"forward|weitergeleitet").unwrap());
static HEADER_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\*?(von|from)\s*:\*?\s").unwrap());
static HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\*?(von|from|gesendet|sent|datum|date|an|to|cc|bcc|betreff|subject|reply-to|antwort an)\s*:").unwrap()
});
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(am|on|le|el)\b.{4,200}\b(schrieb|wrote|a ecrit|escribio)\b.{0,120}:\s*$")
        .unwrap()
});

/// The part of `body` written last; see the module comment for forwards.
pub fn newest_part(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let Some((at, marker)) = history_start(&lines) else {
        return body.trim().to_owned();
    };
    let newest = lines[..at].join("\n").trim().to_owned();
    if marker == Marker::Forward && is_cover_note(&newest) {
        let forwarded = forwarded_text(&lines[at..]);
        if !forwarded.trim().is_empty() {
            return newest_part(&forwarded);
        }
    }
    newest
}

/// The first line of quoted or forwarded history and what kind it is.
fn history_start(lines: &[&str]) -> Option<(usize, Marker)> {
    for (i, line) in lines.iter().enumerate() {
        let f = fold(line.trim());
        if f.starts_with('>') {
            // An attribution line ("Am … schrieb …:") right above belongs to the quote.
            let above = (0..i).rev().find(|&j| !lines[j].trim().is_empty());
            let at = match above {
                Some(j) if is_attribution(lines, j) => attribution_start(lines, j),
                _ => i,
            };
            return Some((at, Marker::Reply));
        }
        if SEPARATOR.is_match(&f) {
            let kind = if FORWARD_WORDS.is_match(&f) { Marker::Forward } else { Marker::Reply };
            return Some((i, kind));
        }
        if HEADER_START.is_match(&f) && header_block_follows(lines, i) {
            return Some((i, Marker::Reply));
        }
        if is_attribution(lines, i) {
            return Some((attribution_start(lines, i), Marker::Reply));
        }
    }
    None
}

/// "Am 20.11.2026 um 10:31 schrieb X:" or "On Mon, … wrote:", also wrapped over two lines.
fn is_attribution(lines: &[&str], i: usize) -> bool {
    let here = fold(lines[i].trim());
    if ATTRIBUTION.is_match(&here) {
        return true;
    }
    i > 0 && ATTRIBUTION.is_match(&fold(&format!("{} {}", lines[i - 1].trim(), lines[i].trim())))
}

fn attribution_start(lines: &[&str], i: usize) -> usize {
    if ATTRIBUTION.is_match(&fold(lines[i].trim())) { i } else { i - 1 }
}

fn header_block_follows(lines: &[&str], i: usize) -> bool {
    lines[i + 1..].iter().take(4).filter(|l| HEADER_FIELD.is_match(&fold(l.trim()))).count() >= 1
}

fn is_cover_note(newest: &str) -> bool {
    let l = layout(newest);
    let content = &newest[l.letterhead_end..l.signature_start];
    let greeting_free =
        content.lines().filter(|line| !is_greeting(line)).collect::<Vec<_>>().join(" ");
    words(&greeting_free).len() < COVER_NOTE_WORDS
}

fn is_greeting(line: &str) -> bool {
    let f = fold(line.trim());
    ["hallo", "hi", "hello", "guten tag", "liebe", "dear", "sehr geehrte", "moin", "servus"]
        .iter()
        .any(|g| f.starts_with(g))
        && f.len() < 60
}

/// The forwarded mail below its separator and header fields, with quote marks removed.
fn forwarded_text(lines: &[&str]) -> String {
    let mut rest = lines.iter().skip(1).peekable();
    while let Some(line) = rest.peek() {
        let f = fold(line.trim());
        if f.is_empty() || HEADER_FIELD.is_match(&f) {
            rest.next();
        } else {
            break;
        }
    }
    rest.map(|l| l.trim_start().strip_prefix('>').map_or(*l, str::trim_start))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_an_outlook_reply_block() {
        let body = "Der Stand ist 36.710 kWh.\nGruß S. Braun\n\n-----Ursprüngliche Nachricht-----\nVon: Helio\nGesendet: Montag\n\nZähler 1EBZ0101992245";
        assert_eq!(newest_part(body), "Der Stand ist 36.710 kWh.\nGruß S. Braun");
    }

    #[test]
    fn drops_quoted_lines_with_their_attribution() {
        let body = "Bitte ab 1. Januar.\n\nAm 20.11.2026 um 10:31 schrieb Helio Energie:\n> Möchten Sie wechseln?";
        assert_eq!(newest_part(body), "Bitte ab 1. Januar.");
        let body = "Fine.\n\nOn Mon, 9 Nov 2026 at 15:12, Helio <x@y.example>\nwrote:\n> old";
        assert_eq!(newest_part(body), "Fine.");
    }

    #[test]
    fn drops_a_von_gesendet_header_without_separator() {
        let body = "Neue Nummer: 0151 1234.\n\nVon: service@helio.example\nGesendet: Freitag\nBetreff: X\n\nAlt";
        assert_eq!(newest_part(body), "Neue Nummer: 0151 1234.");
    }

    #[test]
    fn a_forward_with_real_text_keeps_only_that_text() {
        let body = "Thanks, the move is done. I'd like to stop receiving your newsletter.\n\n---------- Forwarded message ---------\nFrom: Tom\nDate: Mon\n\nWe moved to Grabenstraße 9.";
        assert_eq!(
            newest_part(body),
            "Thanks, the move is done. I'd like to stop receiving your newsletter."
        );
    }

    #[test]
    fn a_forward_with_only_a_cover_note_stands_for_the_forwarded_mail() {
        let body = "FYI, see below.\n\nTom\n\n---------- Forwarded message ---------\nFrom: Tom\nDate: Mon\nSubject: Meter\n\n> My reading is 4410 kWh.";
        assert_eq!(newest_part(body), "My reading is 4410 kWh.");
    }

    #[test]
    fn a_plain_message_is_returned_trimmed() {
        assert_eq!(newest_part("\n Hallo \n"), "Hallo");
    }
}
