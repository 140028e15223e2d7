//! The contract's mixed date formats: `YYYY-MM-DD HH:MM:SS` for most ticket times (UTC),
//! ISO-8601 for `autoExecuteAt`; inputs also accept unix seconds and RFC 3339.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use prost_types::Timestamp;

pub fn to_datetime(t: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

pub fn from_datetime(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// `2022-12-13 22:18:06`.
pub fn format_sql(t: &Timestamp) -> Option<String> {
    to_datetime(t).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `2023-11-07T05:31:56Z`.
pub fn format_iso(t: &Timestamp) -> Option<String> {
    to_datetime(t).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A JSON date value: `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD`, RFC 3339, or unix seconds.
pub fn parse(value: &serde_json::Value) -> Option<Timestamp> {
    let parsed = match value {
        serde_json::Value::Number(n) => DateTime::from_timestamp(n.as_i64()?, 0),
        serde_json::Value::String(s) => parse_str(s.trim()),
        _ => None,
    };
    parsed.map(from_datetime)
}

fn parse_str(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(t.and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    s.parse::<i64>().ok().and_then(|secs| DateTime::from_timestamp(secs, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_accepted_form_parses_to_the_same_instant() {
        let expected = parse(&json!(1670969886)).unwrap();
        for input in
            [json!("2022-12-13 22:18:06"), json!("2022-12-13T22:18:06Z"), json!("1670969886")]
        {
            assert_eq!(parse(&input), Some(expected), "{input}");
        }
        assert_eq!(format_sql(&expected).unwrap(), "2022-12-13 22:18:06");
        assert_eq!(format_iso(&expected).unwrap(), "2022-12-13T22:18:06Z");
        assert_eq!(parse(&json!("13.12.2022")), None);
        assert_eq!(parse(&json!(true)), None);
    }
}
