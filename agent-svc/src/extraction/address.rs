//! Postal addresses: street, house number, five-digit postal code and city, on one line
//! ("Hauptstraße 5a, 50667 Köln") or two ("Rheinallee 41\n55116 Mainz"). A street of several
//! words must end in a street word ("Bergheimer Straße", "Lister Meile") or start with a
//! preposition ("Am Markt", "An der Alster"); leading nouns such as "Wohnung" or "Adresse" are
//! not part of it. The new address is the one near the hint's cues and not near "bisher"; the
//! letterhead and the signature hold the sender's current address, not a new one.

use regex::Regex;
use serde_json::json;
use std::sync::LazyLock;

use super::{Candidate, Doc, Hint, cues};

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<street>(?:\p{Lu}[\p{L}.'-]*[ \t]+){0,3}\p{Lu}[\p{L}.'-]*|(?:\p{Lu}[\p{L}.'-]*[ \t]+)?(?:Am|An der|An den|Auf der|Auf dem|Im|In der|Zum|Zur|Unter den)[ \t]+\p{Lu}[\p{L}.'-]*)[ \t]+(?P<number>\d{1,4}(?:\s?[a-zA-Z]\b)?(?:\s?[-/]\s?\d{1,4}[a-zA-Z]?)?)\s*(?:,|\n|\s)\s*(?P<postal>\d{5})\s+(?P<city>\p{Lu}[\p{L}-]*(?:\s+\([\p{L} .-]+\))?(?:\s+(?:am|an der|im|ob der|in)\s+\p{Lu}[\p{L}-]*)?)").unwrap()
});

const STREET_WORDS: &[&str] = &[
    "straße",
    "strasse",
    "str.",
    "weg",
    "allee",
    "platz",
    "ring",
    "gasse",
    "damm",
    "ufer",
    "markt",
    "berg",
    "hof",
    "wall",
    "meile",
    "chaussee",
    "steig",
    "pfad",
    "garten",
    "park",
    "graben",
    "kamp",
    "brücke",
    "tor",
    "zeile",
    "höhe",
    "feld",
    "anger",
    "grund",
    "aue",
    "promenade",
    "street",
    "road",
    "avenue",
    "lane",
];
const PREPOSITIONS: &[&str] = &["Am", "An", "Auf", "Im", "In", "Zum", "Zur", "Unter"];
/// Capitalised words that stand before a street without belonging to it.
const NOT_STREET: &[&str] = &[
    "Wohnung",
    "Adresse",
    "Anschrift",
    "Address",
    "Neue",
    "New",
    "Die",
    "Der",
    "Das",
    "Meine",
    "Unsere",
    "My",
    "Our",
    "Supply",
    "Lieferadresse",
    "Lieferanschrift",
    "Straße",
    "Haus",
    "It",
    "Is",
    "Es",
    "Ist",
    "To",
    "At",
    "Nach",
    "Bitte",
    "Please",
    "Moving",
    "Home",
    "The",
    "Flat",
    "Postanschrift",
    "Rechnungsadresse",
    "Herr",
    "Frau",
    "Mr",
    "Mrs",
    "Ms",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub start: usize,
    pub end: usize,
    pub street: String,
    pub house_number: String,
    pub postal_code: String,
    pub city: String,
}

pub fn addresses(text: &str) -> Vec<Address> {
    let mut out = Vec::new();
    for c in ADDRESS.captures_iter(text) {
        let street_m = c.name("street").unwrap();
        let Some((offset, street)) = trim_street(street_m.as_str()) else { continue };
        out.push(Address {
            start: street_m.start() + offset,
            end: c.get(0).unwrap().end(),
            street,
            house_number: c["number"].split_whitespace().collect(),
            postal_code: c["postal"].to_owned(),
            city: c["city"].trim().to_owned(),
        });
    }
    out
}

/// Drops leading words that are not part of the street name; `None` if nothing street-like
/// remains.
fn trim_street(raw: &str) -> Option<(usize, String)> {
    let words: Vec<(usize, &str)> =
        raw.split_whitespace().map(|w| (w.as_ptr() as usize - raw.as_ptr() as usize, w)).collect();
    let is_street = |ws: &[(usize, &str)]| {
        let last = ws.last().unwrap().1.to_lowercase();
        ws.len() == 1 && !NOT_STREET.contains(&ws[0].1)
            || PREPOSITIONS.contains(&ws[0].1)
            || STREET_WORDS.iter().any(|s| last.ends_with(s))
    };
    (0..words.len())
        .find(|&i| {
            let ws = &words[i..];
            !NOT_STREET.contains(&ws[0].1) && is_street(ws)
        })
        .map(|i| {
            let ws = &words[i..];
            (ws[0].0, ws.iter().map(|w| w.1).collect::<Vec<_>>().join(" "))
        })
}

pub fn extract(hint: &Hint, doc: &Doc) -> Option<Candidate> {
    // "von der Goethestraße 3 … in die Schillerstr. 12a": the move goes from the old address
    // to the new one.
    let to = ["nach", "in die", "to", "into", "an", "neue", "new"];
    let found = cues::find(doc, hint, &to, &[], &[]);
    let moved_from = |at: usize| {
        let from = (0..=at.saturating_sub(12)).rev().find(|&i| doc.text.is_char_boundary(i));
        let before = crate::text::fold(&doc.text[from.unwrap_or(0)..at]);
        ["von der ", "von ", "vom ", "aus der ", "from ", "out of "]
            .iter()
            .any(|w| before.ends_with(w))
    };
    let candidates: Vec<Candidate> = addresses(&doc.text)
        .into_iter()
        // The sender's own address heads a letter or stands in the signature.
        .filter(|a| {
            let signature = doc.layout.in_signature(a.start) && !doc.signature_referenced;
            let sender = doc.layout.in_letterhead(a.start) || signature;
            !sender && !moved_from(a.start)
        })
        .map(|a| Candidate {
            value: json!({"street": a.street, "houseNumber": a.house_number,
                "postalCode": a.postal_code, "city": a.city}),
            start: a.start,
            end: a.end,
            score: 1.0,
        })
        .collect();
    cues::choose(doc, &found, candidates, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::Extractor;
    use crate::extraction::testing::{doc, hint};

    fn one(text: &str) -> (String, String, String, String) {
        let a = addresses(text).into_iter().next().unwrap();
        (a.street, a.house_number, a.postal_code, a.city)
    }

    #[test]
    fn reads_german_street_forms() {
        let s = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
        assert_eq!(
            one("neue Adresse: Hauptstraße 5a, 50667 Köln."),
            s("Hauptstraße", "5a", "50667", "Köln")
        );
        assert_eq!(
            one("in die Wohnung Am Stadtpark 6, 14467 Potsdam"),
            s("Am Stadtpark", "6", "14467", "Potsdam")
        );
        assert_eq!(
            one("Meine neue Anschrift: Bergheimer Straße 121, 69115 Heidelberg."),
            s("Bergheimer Straße", "121", "69115", "Heidelberg")
        );
        assert_eq!(
            one("New address:\n\nRheinallee 41\n55116 Mainz"),
            s("Rheinallee", "41", "55116", "Mainz")
        );
        assert_eq!(
            one("Am Anger 5\n06108 Halle (Saale)"),
            s("Am Anger", "5", "06108", "Halle (Saale)")
        );
        assert_eq!(
            one("Karl-Heine-Straße 88, 04229 Leipzig"),
            s("Karl-Heine-Straße", "88", "04229", "Leipzig")
        );
    }

    #[test]
    fn the_new_address_not_the_old_one_or_the_letterhead() {
        let h = Hint {
            ignore_signature: true,
            ..hint(Extractor::Address, &["neue Adresse"], &["bisher"])
        };
        let d = doc(
            "Walter Ziegler\nAm Mühlbach 3\n97070 Würzburg\n\nSehr geehrte Damen und Herren,\n\nbisher Gartenweg 9, 93047 Regensburg, neue Adresse Tannenweg 7a, 79098 Freiburg.",
            "2026-10-01T10:00:00+02:00",
            "de",
        );
        let v = extract(&h, &d).unwrap().value;
        assert_eq!(v["street"], "Tannenweg");
        assert_eq!(v["houseNumber"], "7a");
        let d = doc(
            "wir ziehen von der Goethestraße 3, 10115 Berlin in die Schillerstr. 12a, 14482 Potsdam.",
            "2026-10-01T10:00:00+02:00",
            "de",
        );
        assert_eq!(extract(&h, &d).unwrap().value["street"], "Schillerstr.");
    }
}
