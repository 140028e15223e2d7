//! What makes two values "the same" for scoring: case and spacing never matter, numbers
//! compare by value (`12345`, `"12.345"`, `"12345,0 kWh"`), dates by day whatever their
//! format, IBANs without their spaces.

use chrono::NaiveDate;
use serde_json::Value;

/// A value in the form comparisons use.
#[derive(Debug, Clone, PartialEq)]
pub enum Normal {
    Null,
    Number(f64),
    Date(NaiveDate),
    Text(String),
    Bool(bool),
    /// Arrays and objects, compared as their normalised JSON text.
    Other(String),
}

pub fn value(v: &Value) -> Normal {
    match v {
        Value::Null => Normal::Null,
        Value::Bool(b) => Normal::Bool(*b),
        Value::Number(n) => n.as_f64().map(Normal::Number).unwrap_or(Normal::Other(n.to_string())),
        Value::String(s) => text_value(s),
        other => Normal::Other(other.to_string()),
    }
}

/// Two values are equal for scoring.
pub fn same(a: &Value, b: &Value) -> bool {
    match (value(a), value(b)) {
        (Normal::Number(x), Normal::Number(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        (x, y) => x == y,
    }
}

fn text_value(s: &str) -> Normal {
    let t = s.trim();
    if t.is_empty() {
        return Normal::Null;
    }
    if let Some(d) = date(t) {
        return Normal::Date(d);
    }
    if let Some(iban) = iban(t) {
        return Normal::Text(iban);
    }
    if let Some(n) = number(t) {
        return Normal::Number(n);
    }
    match t.to_ascii_lowercase().as_str() {
        "true" => return Normal::Bool(true),
        "false" => return Normal::Bool(false),
        _ => {}
    }
    Normal::Text(text(t))
}

/// Lower case, inner whitespace collapsed to one space.
pub fn text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn date(s: &str) -> Option<NaiveDate> {
    // The day is what a parameter means; a time part of a timestamp is dropped.
    let day = s.split(['T', ' ']).next().unwrap_or(s);
    ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(day, f).ok())
}

/// An IBAN in its electronic form (no spaces, capitals), when `s` looks like one.
fn iban(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let compact = compact.to_ascii_uppercase();
    let b = compact.as_bytes();
    let shaped = (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_alphabetic)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric);
    shaped.then_some(compact)
}

/// A number written the German or the English way, optionally followed by a unit.
fn number(s: &str) -> Option<f64> {
    let head = s.split_whitespace().next()?;
    let rest: Vec<&str> = s.split_whitespace().skip(1).collect();
    // "12345 kWh", "35 €": one short unit word at most.
    if rest.len() > 1 || rest.first().is_some_and(|u| u.chars().any(|c| c.is_ascii_digit())) {
        return None;
    }
    let head = head.trim_end_matches(['€', '$', '%']);
    if head.is_empty() || !head.chars().all(|c| c.is_ascii_digit() || "+-.,".contains(c)) {
        return None;
    }
    let (dots, commas) = (head.matches('.').count(), head.matches(',').count());
    let plain = match (dots, commas) {
        (0, 0) => head.to_owned(),
        // "12,5" decimal comma; "1,234,567" thousands.
        (0, 1) if head.rsplit(',').next().is_some_and(|d| d.len() != 3) => head.replace(',', "."),
        (0, _) => head.replace(',', ""),
        // "12.345" is German for twelve thousand (meter readings are written so); "12.5",
        // "0.345" and "12.3456" are decimals.
        (1, 0) => {
            let (int, frac) = head.split_once('.')?;
            let int_digits = int.trim_start_matches(['+', '-']);
            if frac.len() == 3 && !int_digits.is_empty() && int_digits != "0" {
                head.replace('.', "")
            } else {
                head.to_owned()
            }
        }
        (_, 0) => head.replace('.', ""),
        _ => {
            let last_dot = head.rfind('.')?;
            let last_comma = head.rfind(',')?;
            if last_comma > last_dot {
                head.replace('.', "").replace(',', ".")
            } else {
                head.replace(',', "")
            }
        }
    };
    plain.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_compare_by_value_whatever_their_spelling() {
        assert!(same(&json!(12345), &json!("12345")));
        assert!(same(&json!(12345), &json!("12345 kWh")));
        assert!(same(&json!(12.5), &json!("12,5")));
        assert!(same(&json!(12345), &json!("12.345")));
        assert!(same(&json!(0.345), &json!("0.345")));
        assert!(same(&json!(1.5), &json!("1.5")));
        assert!(same(&json!(1234.5), &json!("1.234,50")));
        assert!(same(&json!(1234567), &json!("1,234,567")));
        assert!(!same(&json!(12345), &json!("12346")));
    }

    #[test]
    fn dates_compare_by_day() {
        assert!(same(&json!("2024-03-01"), &json!("01.03.2024")));
        assert!(same(&json!("2024-03-01 10:00:00"), &json!("1/3/2024")));
        assert!(!same(&json!("2024-03-01"), &json!("2024-03-02")));
    }

    #[test]
    fn ibans_ignore_spaces_and_case() {
        assert!(same(&json!("DE89 3704 0044 0532 0130 00"), &json!("de89370400440532013000")));
        assert!(!same(&json!("DE89370400440532013000"), &json!("DE89370400440532013001")));
    }

    #[test]
    fn text_ignores_case_and_spacing() {
        assert!(same(&json!("  Hello   World "), &json!("hello world")));
        assert!(same(&json!(""), &json!(null)));
        assert!(same(&json!("true"), &json!(true)));
        assert!(!same(&json!("hello"), &json!("hallo")));
    }
}
