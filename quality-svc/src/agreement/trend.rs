//! `GET /aiQualityCheck/agreement`: the decided agreements per agent and day or week (UTC),
//! every period of the range listed so a chart shows gaps as gaps.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::one_of;
use serde_json::{Value, json};
use sqlx::PgPool;

/// At most this many periods per answer.
pub const MAX_PERIODS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interval {
    Day,
    Week,
}

impl Interval {
    fn name(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }

    fn step(self) -> Duration {
        match self {
            Self::Day => Duration::days(1),
            Self::Week => Duration::weeks(1),
        }
    }

    /// The start of the period holding `at`: midnight, or Monday's midnight, UTC.
    fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let day = at.date_naive();
        let day = match self {
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        };
        day.and_time(NaiveTime::MIN).and_utc()
    }
}

/// What is asked for: verdicts decided in `from..to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub ai_agent_id: Option<i64>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub interval: Interval,
}

impl Range {
    /// Checks the query: `from`/`to` are RFC 3339 instants or dates (a date `to` includes its
    /// day); `to` defaults to `now`, `from` to 30 days (12 weeks) before `to`.
    pub fn parse(
        ai_agent_id: Option<i64>,
        from: &str,
        to: &str,
        interval: &str,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        if ai_agent_id.is_some_and(|id| id < 1) {
            return Err(Error::InvalidArgument("aiAgentId must be a positive id".into()));
        }
        let interval = match interval {
            "" | "day" => Interval::Day,
            other => match one_of("interval", other, &["day", "week"])? {
                "week" => Interval::Week,
                _ => Interval::Day,
            },
        };
        let to = match to {
            "" => now,
            text => instant("to", text, true)?,
        };
        let from = match from {
            "" => {
                to - match interval {
                    Interval::Day => Duration::days(30),
                    Interval::Week => Duration::weeks(12),
                }
            }
            text => instant("from", text, false)?,
        };
        if from >= to {
            return Err(Error::InvalidArgument("from must be before to".into()));
        }
        let step = interval.step().num_seconds();
        let periods = ((to - interval.start_of(from)).num_seconds() + step - 1) / step;
        if periods > MAX_PERIODS {
            return Err(Error::InvalidArgument(format!(
                "the range holds {periods} periods of a {}; at most {MAX_PERIODS} are allowed",
                interval.name()
            )));
        }
        Ok(Self { ai_agent_id, from, to, interval })
    }
}

/// An RFC 3339 instant, or a date: its start, or (`end`) the start of the next day.
fn instant(field: &str, text: &str, end: bool) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        Error::InvalidArgument(format!(
            "{field} must be a date (YYYY-MM-DD) or an RFC 3339 date-time, got {text:?}"
        ))
    })?;
    let start = day.and_time(NaiveTime::MIN).and_utc();
    Ok(if end { start + Duration::days(1) } else { start })
}

#[derive(Default, Clone, Copy)]
struct Counts {
    agreed: i64,
    false_positives: i64,
    misses: i64,
}

impl Counts {
    fn document(self, start: DateTime<Utc>) -> Value {
        let decided = self.agreed + self.false_positives + self.misses;
        let rate = (decided > 0).then(|| self.agreed as f64 / decided as f64);
        json!({
            "start": start.date_naive().to_string(),
            "agreed": self.agreed,
            "falsePositives": self.false_positives,
            "misses": self.misses,
            "agreementRate": rate,
        })
    }
}

/// `[{aiAgentId, periods: [{start, agreed, falsePositives, misses, agreementRate}]}]`: the
/// agents with a verdict in the range (or the one asked for), by id.
pub async fn trend(pool: &PgPool, range: &Range) -> Result<Value> {
    let rows: Vec<(i64, DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT ai_agent_id, date_trunc($1, decided_at, 'UTC') AS start, \
           count(*) FILTER (WHERE verdict = 'agreed'), \
           count(*) FILTER (WHERE verdict = 'falsePositive'), \
           count(*) FILTER (WHERE verdict = 'miss') \
         FROM quality.agreement \
         WHERE verdict IS NOT NULL AND decided_at >= $2 AND decided_at < $3 \
           AND ($4::bigint IS NULL OR ai_agent_id = $4) \
         GROUP BY 1, 2",
    )
    .bind(range.interval.name())
    .bind(range.from)
    .bind(range.to)
    .bind(range.ai_agent_id)
    .fetch_all(pool)
    .await?;
    let mut by_agent: BTreeMap<i64, BTreeMap<DateTime<Utc>, Counts>> = BTreeMap::new();
    if let Some(agent) = range.ai_agent_id {
        by_agent.entry(agent).or_default();
    }
    for (agent, start, agreed, false_positives, misses) in rows {
        by_agent
            .entry(agent)
            .or_default()
            .insert(start, Counts { agreed, false_positives, misses });
    }
    let starts = period_starts(range);
    let agents: Vec<Value> = by_agent
        .into_iter()
        .map(|(agent, counts)| {
            let periods: Vec<Value> = starts
                .iter()
                .map(|start| counts.get(start).copied().unwrap_or_default().document(*start))
                .collect();
            json!({"aiAgentId": agent, "periods": periods})
        })
        .collect();
    Ok(Value::Array(agents))
}

fn period_starts(range: &Range) -> Vec<DateTime<Utc>> {
    let mut starts = Vec::new();
    let mut start = range.interval.start_of(range.from);
    while start < range.to {
        starts.push(start);
        start += range.interval.step();
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-10T15:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn parse(from: &str, to: &str, interval: &str) -> Result<Range> {
        Range::parse(None, from, to, interval, now())
    }

    #[test]
    fn defaults_to_the_last_thirty_days_by_day() {
        let r = parse("", "", "").unwrap();
        assert_eq!(r.interval, Interval::Day);
        assert_eq!(r.to, now());
        assert_eq!(r.from, now() - Duration::days(30));
        assert_eq!(period_starts(&r).len(), 31);
    }

    #[test]
    fn a_date_to_includes_its_day_and_weeks_start_on_monday() {
        let r = parse("2026-12-02", "2026-12-09", "week").unwrap();
        assert_eq!(r.to.to_rfc3339(), "2026-12-10T00:00:00+00:00");
        let starts: Vec<String> =
            period_starts(&r).iter().map(|s| s.date_naive().to_string()).collect();
        assert_eq!(starts, ["2026-11-30", "2026-12-07"]);
    }

    #[test]
    fn bad_queries_are_refused() {
        for (from, to, interval) in [
            ("yesterday", "", ""),
            ("", "2026-13-01", ""),
            ("", "", "month"),
            ("2026-12-09", "2026-12-01", ""),
            ("2020-01-01", "2026-01-01", "day"),
        ] {
            assert!(
                matches!(parse(from, to, interval), Err(Error::InvalidArgument(_))),
                "{from} {to} {interval}"
            );
        }
        assert!(Range::parse(Some(0), "", "", "", now()).is_err());
    }

    #[test]
    fn a_period_rate_is_the_share_agreed() {
        let c = Counts { agreed: 3, false_positives: 1, misses: 0 };
        assert_eq!(c.document(now())["agreementRate"], json!(0.75));
        assert_eq!(Counts::default().document(now())["agreementRate"], Value::Null);
    }
}
