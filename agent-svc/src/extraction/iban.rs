//! IBANs (ISO 13616): country code, two check digits and the national account number, written
//! compact or in groups of four. A candidate counts only with the length its country registers
//! and a valid mod-97 checksum, so account numbers, phone numbers and typos are not taken.

use super::{Candidate, Doc, Hint, cues};

/// IBAN lengths per country from the ISO 13616 registry.
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VG", 24),
    ("XK", 20),
];

/// Whether a compact upper-case IBAN has its country's length and a valid checksum.
pub fn valid_iban(iban: &str) -> bool {
    let Some(&(_, len)) = LENGTHS.iter().find(|(cc, _)| iban.get(..2) == Some(*cc)) else {
        return false;
    };
    if iban.len() != len || !iban.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return false;
    }
    if !iban.as_bytes()[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut rest: u32 = 0;
    for b in rearranged {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        rest = if v >= 10 { (rest * 100 + v) % 97 } else { (rest * 10 + v) % 97 };
    }
    rest == 1
}

/// Every valid IBAN in the text with its span.
pub fn find(text: &str) -> Vec<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let head = bytes[i].is_ascii_alphabetic()
            && bytes[i + 1].is_ascii_alphabetic()
            && bytes[i + 2].is_ascii_digit()
            && bytes[i + 3].is_ascii_digit();
        if !(boundary && head) {
            i += 1;
            continue;
        }
        // Compact characters with their end offsets; single spaces may separate groups.
        let mut compact = String::new();
        let mut ends = Vec::new();
        let mut j = i;
        while j < bytes.len() && compact.len() < 34 {
            let b = bytes[j];
            if b.is_ascii_alphanumeric() {
                compact.push(b.to_ascii_uppercase() as char);
                ends.push(j + 1);
                j += 1;
            } else if b == b' ' && j + 1 < bytes.len() && bytes[j + 1].is_ascii_alphanumeric() {
                j += 1;
            } else {
                break;
            }
        }
        let found =
            LENGTHS.iter().find(|(cc, _)| compact.get(..2) == Some(*cc)).and_then(|&(_, len)| {
                let end = *ends.get(len - 1)?;
                let at_boundary = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
                (at_boundary && valid_iban(&compact[..len]))
                    .then(|| (end, compact[..len].to_owned()))
            });
        match found {
            Some((end, iban)) => {
                out.push((i, end, iban));
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

pub fn extract(hint: &Hint, doc: &Doc) -> Option<Candidate> {
    let candidates: Vec<Candidate> = find(&doc.text)
        .into_iter()
        .filter(|(start, _, _)| !doc.hidden(hint, *start))
        .map(|(start, end, iban)| Candidate { value: iban.into(), start, end, score: 1.0 })
        .collect();
    let context = ["iban", "konto", "account", "bankverbindung"];
    let found = cues::find(doc, hint, &context, &[], &[]);
    cues::choose(doc, &found, candidates, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::testing::{doc, hint};
    use crate::extraction::{Extractor, Hint};

    #[test]
    fn checks_length_and_checksum() {
        assert!(valid_iban("DE11700202702601815908"));
        assert!(valid_iban("NL53INGB4782450400"));
        assert!(valid_iban("AT362011113114402426"));
        assert!(!valid_iban("DE11700202702601815909"));
        assert!(!valid_iban("DE1170020270260181590"));
        assert!(!valid_iban("XX11700202702601815908"));
    }

    #[test]
    fn finds_spaced_and_compact_ibans_but_not_the_following_word() {
        let found = find("IBAN: DE11 7002 0270 2601 8159 08 Kontoinhaber, de14100500008246281948.");
        let ibans: Vec<_> = found.iter().map(|f| f.2.as_str()).collect();
        assert_eq!(ibans, ["DE11700202702601815908", "DE14100500008246281948"]);
        assert!(find("DE11 7002 0270 2601 8159 09").is_empty());
    }

    #[test]
    fn a_signature_iban_does_not_count_unless_the_sender_points_at_it() {
        let h = Hint { ignore_signature: true, ..Hint::new(Extractor::Iban) };
        let footer = "Zählerstand 1234 kWh.\n\nViele Grüße\nAnna\nIBAN DE43 2004 1111 2233 0792 44";
        let d = doc(footer, "2026-10-01T10:00:00+02:00", "de");
        assert_eq!(extract(&h, &d), None);
        let pointed = format!("Bitte vom Konto aus meiner Signatur abbuchen.\n\n{}", &footer[22..]);
        let d = doc(&pointed, "2026-10-01T10:00:00+02:00", "de");
        assert_eq!(extract(&h, &d).map(|c| c.value), Some("DE43200411112233079244".into()));
    }

    #[test]
    fn the_old_iban_is_excluded() {
        let h = hint(Extractor::Iban, &["neue IBAN"], &["alte IBAN"]);
        let d = doc(
            "Alte IBAN DE11 7002 0270 2601 8159 08, neue IBAN DE14100500008246281948.",
            "2026-10-01T10:00:00+02:00",
            "de",
        );
        assert_eq!(extract(&h, &d).map(|c| c.value), Some("DE14100500008246281948".into()));
    }
}
