//! Typed parameter values: what a parameter's raw value (from a ticket field, a contract record,
//! an extraction or a literal) becomes once its declared `type` is applied.
//!
//! Conversion is strict: "12,5" is a float (German decimal comma), "12 kWh" is not. A value that
//! does not convert is reported as a [`ConversionError`] naming the parameter; the engine then
//! treats the parameter as empty instead of guessing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The declared type of a parameter (`settings.parameters[].type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    Str,
    Int,
    Float,
    Bool,
    Date,
    Datetime,
    Enum,
    List,
    Dict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionError {
    pub key: String,
    pub expected: ParamType,
    pub message: String,
}

/// True for what the engine treats as "no value": absent, JSON null, a blank string, an empty
/// list or object. Only `IsNull`/`IsNotNull` look at presence; other operators see an empty
/// value as one that asserts nothing.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Applies `ty` to a raw value. Empty values stay `Null`; `options` are the allowed values of an
/// `enum` parameter (matched on `value`, then case-insensitively on `label`).
pub fn convert(
    key: &str,
    ty: ParamType,
    raw: &Value,
    options: &[EnumOption],
) -> Result<Value, ConversionError> {
    if is_empty(raw) {
        return Ok(Value::Null);
    }
    let fail = |message: String| ConversionError { key: key.to_owned(), expected: ty, message };
    match ty {
        ParamType::Str => Ok(Value::String(match raw {
            Value::String(s) => s.trim().to_owned(),
            other => scalar_text(other).ok_or_else(|| fail("expected text".into()))?,
        })),
        ParamType::Int => {
            let n = number(raw).ok_or_else(|| fail(format!("{} is not a number", show(raw))))?;
            if n.fract() != 0.0 || n.abs() > 9.007_199_254_740_992e15 {
                return Err(fail(format!("{} is not a whole number", show(raw))));
            }
            Ok(Value::from(n as i64))
        }
        ParamType::Float => {
            let n = number(raw).ok_or_else(|| fail(format!("{} is not a number", show(raw))))?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| fail("not a finite number".into()))
        }
        ParamType::Bool => boolean(raw)
            .map(Value::Bool)
            .ok_or_else(|| fail(format!("{} is not true or false", show(raw)))),
        ParamType::Date => date(raw)
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .ok_or_else(|| fail(format!("{} is not a date (YYYY-MM-DD or DD.MM.YYYY)", show(raw)))),
        ParamType::Datetime => datetime(raw)
            .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
            .ok_or_else(|| fail(format!("{} is not a date and time (RFC 3339)", show(raw)))),
        ParamType::Enum => {
            let text = scalar_text(raw).ok_or_else(|| fail("expected one option".into()))?;
            if options.is_empty() {
                return Ok(Value::String(text));
            }
            options
                .iter()
                .find(|o| o.value_text() == text)
                .or_else(|| options.iter().find(|o| o.label.eq_ignore_ascii_case(&text)))
                .map(|o| o.value.clone())
                .ok_or_else(|| {
                    let allowed: Vec<String> = options.iter().map(EnumOption::value_text).collect();
                    fail(format!("{text:?} is not one of {}", allowed.join(", ")))
                })
        }
        ParamType::List => match raw {
            Value::Array(_) => Ok(raw.clone()),
            Value::String(s) => Ok(Value::Array(
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            )),
            other => Ok(Value::Array(vec![other.clone()])),
        },
        ParamType::Dict => match raw {
            Value::Object(_) => Ok(raw.clone()),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => Ok(v),
                _ => Err(fail("expected an object".into())),
            },
            _ => Err(fail("expected an object".into())),
        },
    }
}

/// An allowed value of an `enum` parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumOption {
    #[serde(default)]
    pub id: Value,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub value: Value,
}

impl EnumOption {
    fn value_text(&self) -> String {
        scalar_text(&self.value).unwrap_or_default()
    }
}

/// The text of a scalar (numbers without a trailing `.0`); `None` for lists and objects.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// A number from a JSON number or a string such as "12.5", "12,5" or "1.234,5".
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

/// Parses "1234.5", "1234,5", "1.234,5" and "1,234.5"; the last separator that is followed by
/// one or two digits, or by exactly three digits with no other separator of that kind, decides.
pub fn parse_number(text: &str) -> Option<f64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let (dots, commas) = (s.matches('.').count(), s.matches(',').count());
    let normalised = match (dots, commas) {
        (_, 0) if dots <= 1 => s.to_owned(),
        (0, 1) => s.replace(',', "."),
        (0, _) => s.replace(',', ""),
        (_, 0) => s.replace('.', ""),
        _ => {
            let (last_dot, last_comma) = (s.rfind('.')?, s.rfind(',')?);
            if last_comma > last_dot {
                s.replace('.', "").replace(',', ".")
            } else {
                s.replace(',', "")
            }
        }
    };
    let valid = normalised
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')));
    if !valid {
        return None;
    }
    normalised.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_lowercase().as_str() {
            "true" | "1" | "yes" | "ja" | "y" | "j" | "on" => Some(true),
            "false" | "0" | "no" | "nein" | "n" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A calendar date from "2026-11-01", "01.11.2026", "1.11.26" or an RFC 3339 instant.
pub fn date(value: &Value) -> Option<NaiveDate> {
    let s = value.as_str()?.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%y"))
        .ok()
        .or_else(|| datetime(value).map(|d| d.date_naive()))
}

/// An instant from RFC 3339, "YYYY-MM-DD HH:MM:SS" (taken as UTC) or a unix timestamp.
pub fn datetime(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => DateTime::from_timestamp(n.as_i64()?, 0),
        Value::String(s) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).ok().or_else(|| {
                NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok().map(|d| d.and_utc())
            })
        }
        _ => None,
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Looks a dotted path (`address.city`, `meters.0.number`) up in a JSON document.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(root);
    }
    path.split('.').try_fold(root, |node, part| match node {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(ty: ParamType, raw: Value) -> Result<Value, ConversionError> {
        convert("k", ty, &raw, &[])
    }

    #[test]
    fn numbers_accept_german_and_english_separators_and_nothing_else() {
        assert_eq!(parse_number("12,5"), Some(12.5));
        assert_eq!(parse_number("1.234,5"), Some(1234.5));
        assert_eq!(parse_number("1,234.5"), Some(1234.5));
        assert_eq!(parse_number("1.234.567"), Some(1_234_567.0));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("12 kWh"), None);
        assert_eq!(parse_number("1-2"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn conversions_follow_the_declared_type() {
        assert_eq!(conv(ParamType::Int, json!("42")), Ok(json!(42)));
        assert_eq!(conv(ParamType::Float, json!("85,50")), Ok(json!(85.5)));
        assert_eq!(conv(ParamType::Bool, json!("ja")), Ok(json!(true)));
        assert_eq!(conv(ParamType::Date, json!("01.11.2026")), Ok(json!("2026-11-01")));
        assert_eq!(
            conv(ParamType::Datetime, json!("2026-11-01 10:00:00")),
            Ok(json!("2026-11-01T10:00:00Z"))
        );
        assert_eq!(conv(ParamType::List, json!("a, b,,c")), Ok(json!(["a", "b", "c"])));
        assert_eq!(
            conv(ParamType::Dict, json!("{\"city\":\"Köln\"}")),
            Ok(json!({"city": "Köln"}))
        );
        assert_eq!(conv(ParamType::Str, json!(12)), Ok(json!("12")));
        assert_eq!(conv(ParamType::Int, json!("  ")), Ok(Value::Null));
    }

    #[test]
    fn conversion_errors_name_the_parameter_and_are_not_swallowed() {
        let err = conv(ParamType::Int, json!("12.5")).unwrap_err();
        assert_eq!((err.key.as_str(), err.expected), ("k", ParamType::Int));
        assert!(err.message.contains("whole number"), "{}", err.message);
        assert!(conv(ParamType::Date, json!("31.02.2026")).is_err());
        assert!(conv(ParamType::Bool, json!("maybe")).is_err());
        assert!(conv(ParamType::Dict, json!([1])).is_err());
    }

    #[test]
    fn enums_match_value_then_label() {
        let options: Vec<EnumOption> = serde_json::from_value(json!([
            {"id": 1, "label": "Strom", "value": "power"},
            {"id": 2, "label": "Gas", "value": "gas"}
        ]))
        .unwrap();
        assert_eq!(convert("k", ParamType::Enum, &json!("gas"), &options), Ok(json!("gas")));
        assert_eq!(convert("k", ParamType::Enum, &json!("strom"), &options), Ok(json!("power")));
        let err = convert("k", ParamType::Enum, &json!("water"), &options).unwrap_err();
        assert!(err.message.contains("power, gas"), "{}", err.message);
    }

    #[test]
    fn lookup_walks_objects_and_arrays() {
        let doc = json!({"address": {"city": "Köln"}, "meters": [{"number": "Z1"}]});
        assert_eq!(lookup(&doc, "address.city"), Some(&json!("Köln")));
        assert_eq!(lookup(&doc, "meters.0.number"), Some(&json!("Z1")));
        assert_eq!(lookup(&doc, "meters.1.number"), None);
        assert_eq!(lookup(&doc, "address.city.x"), None);
    }
}
