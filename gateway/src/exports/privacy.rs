//! The tenant setting `reportingPrivacyLevel` applied to exported rows (contract §5.3, §6.6).
//!
//! Personal columns, the same name meaning the same thing in every export:
//! - identifiers of a customer: `customerId`, `contractId`;
//! - addresses: `from`, `to` (e-mail addresses or phone numbers; `to` may list several);
//! - free text: `subject`, `summary`, `bodyPlain` (customers write their names, addresses and
//!   account details into it, and so do agents answering them).
//!
//! Agents (`agentId`), tags, channels, states and times are what reports are about and stay.
//!
//! | level                    | identifiers, addresses | free text |
//! |--------------------------|------------------------|-----------|
//! | `full` (default)         | as stored              | as stored |
//! | `pseudonymized`          | pseudonym              | pseudonym |
//! | `partiallyPseudonymized` | pseudonym              | as stored |
//! | `none`                   | empty (null)           | empty     |
//!
//! `partiallyPseudonymized` keeps the text because what customers write about (topics,
//! wording, answers) is what such an export is for, while who wrote it is what links a row
//! to a person in other systems; the text may still name people, which is why it is only
//! partial. The reverse (identifiers kept, text hidden) would hide the least identifying part.
//!
//! A pseudonym is `psn_` and 16 hex digits: HMAC-SHA256 of the value under a key derived from
//! the deployment's token secret, truncated to 64 bits. The same value always gets the same
//! pseudonym (addresses compared without case and display name, each address of a list on
//! its own), so rows of one customer still group, across exports and across `from`/`to`;
//! without the secret a pseudonym cannot be traced back, not even by hashing guesses. A new
//! token secret gives new pseudonyms.
//!
//! Below `full`, filtering or ordering on a personal column is refused: matching real values
//! against pseudonyms would undo them.

use enneo_proto::ticket::v1 as pb;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Values of `reportingPrivacyLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Full,
    Pseudonymized,
    PartiallyPseudonymized,
    None,
}

impl Level {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "full" => Some(Self::Full),
            "pseudonymized" => Some(Self::Pseudonymized),
            "partiallyPseudonymized" => Some(Self::PartiallyPseudonymized),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Pseudonymized => "pseudonymized",
            Self::PartiallyPseudonymized => "partiallyPseudonymized",
            Self::None => "none",
        }
    }
}

/// How a column holds personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Personal {
    Identifier,
    Addresses,
    Text,
}

fn personal(column: &str) -> Option<Personal> {
    match column {
        "customerId" | "contractId" => Some(Personal::Identifier),
        "from" | "to" => Some(Personal::Addresses),
        "subject" | "summary" | "bodyPlain" => Some(Personal::Text),
        _ => None,
    }
}

/// Whether `column` carries personal data (and so may not be filtered or ordered on below
/// `full`).
pub fn is_personal(column: &str) -> bool {
    personal(column).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Treatment {
    Keep,
    Pseudonym,
    /// A pseudonym per comma-separated address.
    PseudonymEach,
    Blank,
}

fn treatment(level: Level, column: &str) -> Treatment {
    match (level, personal(column)) {
        (Level::Full, _) | (_, None) => Treatment::Keep,
        (Level::None, Some(_)) => Treatment::Blank,
        (Level::PartiallyPseudonymized, Some(Personal::Text)) => Treatment::Keep,
        (_, Some(Personal::Addresses)) => Treatment::PseudonymEach,
        (_, Some(_)) => Treatment::Pseudonym,
    }
}

/// Applies one level to the rows of one export, chunk by chunk.
pub struct Privacy {
    /// One per column, in the columns' order.
    treatments: Vec<Treatment>,
    /// Keyed once; cloned per value.
    key: HmacSha256,
}

impl Privacy {
    pub fn new(level: Level, columns: &[pb::ExportColumn], secret: &SecretString) -> Self {
        Self {
            treatments: columns.iter().map(|c| treatment(level, &c.name)).collect(),
            key: pseudonym_key(secret),
        }
    }

    pub fn apply(&self, rows: &mut [pb::ExportRow]) {
        if self.treatments.iter().all(|t| *t == Treatment::Keep) {
            return;
        }
        for row in rows {
            for (value, treatment) in row.values.iter_mut().zip(&self.treatments) {
                self.treat(value, *treatment);
            }
        }
    }

    fn treat(&self, value: &mut pb::ExportValue, treatment: Treatment) {
        use pb::export_value::Kind;
        let text = match (&value.kind, treatment) {
            (_, Treatment::Keep) | (None, _) => return,
            (_, Treatment::Blank) => {
                value.kind = None;
                return;
            }
            (Some(Kind::Text(text)), _) => text.clone(),
            (Some(Kind::Integer(n)), _) => n.to_string(),
            // No personal column holds these; nothing of them is let through.
            (Some(Kind::Boolean(_) | Kind::Timestamp(_)), _) => {
                value.kind = None;
                return;
            }
        };
        let pseudonymized = if treatment == Treatment::PseudonymEach {
            addresses(&text).iter().map(|a| self.pseudonym(a)).collect::<Vec<_>>().join(", ")
        } else {
            self.pseudonym(text.trim())
        };
        value.kind = Some(Kind::Text(pseudonymized));
    }

    /// `psn_` and 64 bits of the keyed hash; empty stays empty (it names nobody).
    fn pseudonym(&self, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        let mut mac = self.key.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(20);
        out.push_str("psn_");
        for byte in &digest[..8] {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }
}

/// The key pseudonyms are made with: derived from the token secret under a label of its own,
/// so no pseudonym is ever a signature of anything.
fn pseudonym_key(secret: &SecretString) -> HmacSha256 {
    let mut derive = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts any key length");
    derive.update(b"enneo-mind export pseudonyms v1");
    HmacSha256::new_from_slice(&derive.finalize().into_bytes())
        .expect("HMAC accepts any key length")
}

/// The addresses of a comma-separated list, each as compared. A comma inside a display name
/// (`Muster, Anna <anna@example.com>`) does not end an address: a piece without an address
/// joins the next one.
fn addresses(list: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut piece = String::new();
    for part in list.split(',') {
        if !piece.is_empty() {
            piece.push(',');
        }
        piece.push_str(part);
        if part.contains('@') || is_phone(part.trim()) {
            found.push(address(&std::mem::take(&mut piece)));
        }
    }
    if !piece.trim().is_empty() {
        found.push(address(&piece));
    }
    found
}

/// One address as compared: `Name <a@b>` is `a@b`, case does not count, and a phone number
/// is its digits (and leading `+`) whatever the spacing.
fn address(raw: &str) -> String {
    let raw = raw.trim();
    let inner = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => raw[open + 1..close].trim(),
        _ => raw,
    };
    if is_phone(inner) {
        inner.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect()
    } else {
        inner.to_lowercase()
    }
}

fn is_phone(value: &str) -> bool {
    value.chars().any(|c| c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_digit() || " +-()/.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::export_value::Kind;

    fn columns(names: &[&str]) -> Vec<pb::ExportColumn> {
        names
            .iter()
            .map(|n| pb::ExportColumn { name: (*n).into(), r#type: "text".into() })
            .collect()
    }

    fn text(s: &str) -> pb::ExportValue {
        pb::ExportValue { kind: Some(Kind::Text(s.into())) }
    }

    fn texts(row: &pb::ExportRow) -> Vec<Option<String>> {
        row.values
            .iter()
            .map(|v| match &v.kind {
                Some(Kind::Text(t)) => Some(t.clone()),
                Some(Kind::Integer(n)) => Some(n.to_string()),
                _ => None,
            })
            .collect()
    }

    fn apply(
        level: Level,
        secret: &str,
        names: &[&str],
        values: Vec<pb::ExportValue>,
    ) -> Vec<Option<String>> {
        let privacy = Privacy::new(level, &columns(names), &SecretString::from(secret));
        let mut rows = vec![pb::ExportRow { values }];
        privacy.apply(&mut rows);
        texts(&rows[0])
    }

    const SECRET: &str = "a-secret-that-is-long-enough-for-hs256";

    #[test]
    fn each_level_treats_identifiers_addresses_and_text_as_documented() {
        let names = ["id", "customerId", "from", "bodyPlain", "status"];
        let row = || {
            vec![
                pb::ExportValue { kind: Some(Kind::Integer(7)) },
                text("C-1"),
                text("Anna <anna@example.com>"),
                text("Meine IBAN ist DE00"),
                text("open"),
            ]
        };
        let full = apply(Level::Full, SECRET, &names, row());
        assert_eq!(full, texts(&pb::ExportRow { values: row() }));

        let none = apply(Level::None, SECRET, &names, row());
        assert_eq!(none, [Some("7".into()), None, None, None, Some("open".into())]);

        let pseudo = apply(Level::Pseudonymized, SECRET, &names, row());
        assert_eq!(pseudo[0].as_deref(), Some("7"));
        assert_eq!(pseudo[4].as_deref(), Some("open"));
        for value in &pseudo[1..4] {
            let value = value.as_deref().unwrap();
            assert!(value.starts_with("psn_") && value.len() == 20, "{value}");
            assert!(value[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{value}");
        }

        let partial = apply(Level::PartiallyPseudonymized, SECRET, &names, row());
        assert_eq!(partial[1], pseudo[1], "identifiers get the same pseudonym");
        assert_eq!(partial[2], pseudo[2]);
        assert_eq!(partial[3].as_deref(), Some("Meine IBAN ist DE00"), "text is kept");
    }

    #[test]
    fn pseudonyms_group_one_customer_and_depend_on_the_secret() {
        let names = ["from", "to"];
        let row = |from: &str, to: &str| vec![text(from), text(to)];
        let a = apply(Level::Pseudonymized, SECRET, &names, row("Anna@Example.com", "b@x.de"));
        let b = apply(
            Level::Pseudonymized,
            SECRET,
            &names,
            row("Anna Muster <anna@example.com>", "anna@example.com, B@X.de"),
        );
        assert_eq!(a[0], b[0], "display name and case do not count");
        let listed: Vec<&str> = b[1].as_deref().unwrap().split(", ").collect();
        assert_eq!(listed, [a[0].as_deref().unwrap(), a[1].as_deref().unwrap()], "each address");
        let phones =
            apply(Level::Pseudonymized, SECRET, &names, row("+49 170 123-45", "+4917012345"));
        assert_eq!(phones[0], phones[1], "a phone number is its digits");
        let other = apply(
            Level::Pseudonymized,
            "another-secret-long-enough-for-hs256",
            &names,
            row("Anna@Example.com", "b@x.de"),
        );
        assert_ne!(other[0], a[0], "another deployment, other pseudonyms");
        let named = apply(
            Level::Pseudonymized,
            SECRET,
            &names,
            row("Muster, Anna <anna@example.com>", "\"Muster, Anna\" <anna@example.com>, b@x.de"),
        );
        assert_eq!(named[0], a[0], "a comma in the display name does not split the address");
        assert_eq!(named[1], b[1]);
        let distinct = apply(
            Level::Pseudonymized,
            SECRET,
            &names,
            row("anna@example.com", "anne@example.com"),
        );
        assert_ne!(distinct[0], distinct[1]);
    }

    #[test]
    fn nulls_and_empty_values_stay_as_they_are() {
        let names = ["customerId", "subject"];
        let values = vec![pb::ExportValue { kind: None }, text("")];
        let out = apply(Level::Pseudonymized, SECRET, &names, values);
        assert_eq!(out, [None, Some(String::new())]);
    }

    #[test]
    fn levels_parse_from_the_setting() {
        for level in [Level::Full, Level::Pseudonymized, Level::PartiallyPseudonymized, Level::None]
        {
            assert_eq!(Level::parse(level.as_str()), Some(level));
        }
        assert_eq!(Level::parse("pseudonymised"), None);
        assert!(is_personal("customerId") && is_personal("to") && is_personal("bodyPlain"));
        assert!(!is_personal("agentId") && !is_personal("createdAt"));
    }
}
