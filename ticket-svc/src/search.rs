//! The ticket search DSL (contract §1.2 (2), §10). Filter keys and order fields map to SQL
//! through fixed tables only; every value is a bound parameter.

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::model::TicketRow;
use crate::store::SELECT_COMPACT;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Int,
    Text,
    Bool,
    Date,
    /// Membership in the `tag_ids` array.
    TagId,
    /// An agent among the ticket's intents (`ticket.ticket_intent`, kept from agent-svc).
    AiAgentId,
}

/// Filter keys we serve, with their column and value type.
const FILTER_KEYS: &[(&str, &str, Kind)] = &[
    ("t.id", "t.id", Kind::Int),
    ("t.status", "t.status", Kind::Text),
    ("t.channel", "t.channel", Kind::Text),
    ("t.channelId", "t.channel_id", Kind::Text),
    ("t.subchannelId", "t.subchannel_id", Kind::Int),
    ("t.direction", "t.direction", Kind::Text),
    ("t.priority", "t.priority", Kind::Text),
    ("t.agentId", "t.agent_id", Kind::Int),
    ("t.customerId", "t.customer_id", Kind::Text),
    ("t.contractId", "t.contract_id", Kind::Text),
    ("t.partnerId", "t.partner_id", Kind::Int),
    ("t.isCustomerActive", "t.is_customer_active", Kind::Bool),
    ("t.aiSupportLevel", "t.ai_support_level", Kind::Text),
    ("t.spamStatus", "t.spam_status", Kind::Text),
    ("t.sentiment", "t.sentiment", Kind::Text),
    ("t.language", "t.language", Kind::Text),
    ("t.languageCode", "t.language_code", Kind::Text),
    ("t.from", "t.from_addr", Kind::Text),
    ("t.externalTicketId", "t.external_ticket_id", Kind::Text),
    ("t.modelRunAt", "t.model_run_at", Kind::Date),
    ("t.createdAt", "t.created_at", Kind::Date),
    ("t.modifiedAt", "t.modified_at", Kind::Date),
    ("t.firstResponseDueBy", "t.first_response_due_by", Kind::Date),
    ("t.dueBy", "t.due_by", Kind::Date),
    ("t.lastMessageAt", "t.last_message_at", Kind::Date),
    ("t.lastCustomerMessageAt", "t.last_customer_message_at", Kind::Date),
    ("t.closedAt", "t.closed_at", Kind::Date),
    ("tt.tagId", "t.tag_ids", Kind::TagId),
    ("i.aiAgentId", "i.ai_agent_id", Kind::AiAgentId),
];

/// Keys of the contract that need data this service does not hold yet.
const NOT_YET_SERVED: &[&str] = &["w.id", "qa.state"];

/// How a ticket's tags relate to the given set.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TagMatch {
    /// Carries every given tag.
    All,
    /// Carries at least one.
    Any,
    /// Carries exactly the given tags.
    Exact,
    /// Carries no tag outside the given ones.
    Allowed,
    /// Carries none of them.
    Excluded,
}

const TAG_MATCH_KEYS: &[(&str, TagMatch)] = &[
    ("tt_matchAll.tagId", TagMatch::All),
    ("tt_matchAny.tagId", TagMatch::Any),
    ("tt_matchExact.tagId", TagMatch::Exact),
    ("tt_allowed.tagId", TagMatch::Allowed),
    ("tt_excluded.tagId", TagMatch::Excluded),
];

/// Spam never shows in the routing view (`ticketScope=skills`).
const SPAM: &[&str] = &["auto_spam", "auto_programmatic", "manual_spam"];

/// A ticket's full-text document: its own text and its conversations' (migration
/// `search_history`, whose GIN index is on exactly this expression).
const FULL_TEXT: &str = "(t.search || t.history_search)";

/// Opens a test for one of the ticket's intents; the caller adds conditions and the `)`.
const INTENT_EXISTS: &str = "EXISTS (SELECT 1 FROM ticket.ticket_intent i WHERE i.ticket_id = t.id";

/// Full-text terms shorter than this (and not numeric) match nothing (contract §1.2 (2)).
const MIN_TEXT_LEN: usize = 4;

/// `orderByField` whitelist, exactly as contract §10 lists it: field, column, nullable.
/// NOT NULL columns sort without `NULLS LAST`, so their indexes serve both directions.
const ORDER_FIELDS: &[(&str, &str, bool)] = &[
    ("t.id", "t.id", false),
    ("t.channel", "t.channel", false),
    ("t.channelId", "t.channel_id", true),
    ("t.subchannelId", "t.subchannel_id", true),
    ("t.direction", "t.direction", false),
    ("t.status", "t.status", false),
    ("t.priority", "t.priority", false),
    ("t.agentId", "t.agent_id", true),
    ("t.customerId", "t.customer_id", true),
    ("t.contractId", "t.contract_id", true),
    ("t.partnerId", "t.partner_id", true),
    ("t.isCustomerActive", "t.is_customer_active", false),
    ("t.aiSupportLevel", "t.ai_support_level", false),
    ("t.sentiment", "t.sentiment", true),
    ("t.language", "t.language", true),
    ("t.languageCode", "t.language_code", true),
    ("t.from", "t.from_addr", true),
    ("t.createdAt", "t.created_at", false),
    ("t.modifiedAt", "t.modified_at", true),
    ("t.firstResponseDueBy", "t.first_response_due_by", true),
    ("t.dueBy", "t.due_by", true),
    ("t.lastMessageAt", "t.last_message_at", true),
    ("t.lastCustomerMessageAt", "t.last_customer_message_at", true),
    // The ticket's smallest AI agent id; tickets without intents have none.
    (
        "i.aiAgentId",
        "(SELECT min(i.ai_agent_id) FROM ticket.ticket_intent i WHERE i.ticket_id = t.id)",
        true,
    ),
    ("tt.tagId", "t.tag_ids[1]", true),
    // Ranks only with a `q` filter; without one it falls back to id (contract §10).
    ("relevance", "t.id", false),
];

pub struct Page {
    pub tickets: Vec<TicketRow>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

pub async fn search(pool: &PgPool, req: pb::SearchTicketsRequest) -> Result<Page> {
    let limit = match req.limit {
        0 => DEFAULT_LIMIT,
        l if l < 0 => return Err(Error::InvalidArgument("limit must be positive".into())),
        l => l.min(MAX_LIMIT),
    };
    if req.offset < 0 {
        return Err(Error::InvalidArgument("offset must not be negative".into()));
    }
    let order_field = if req.order_by_field.is_empty() { "t.id" } else { &req.order_by_field };
    let (order_column, nullable) = ORDER_FIELDS
        .iter()
        .find(|(name, _, _)| *name == order_field)
        .map(|(_, column, nullable)| (*column, *nullable))
        .ok_or_else(|| {
            Error::InvalidArgument(format!("orderByField {order_field:?} is not sortable"))
        })?;
    let direction = match req.order_by_direction.to_ascii_lowercase().as_str() {
        "" | "desc" => "DESC",
        "asc" => "ASC",
        other => {
            return Err(Error::InvalidArgument(format!(
                "orderByDirection must be asc or desc, got {other:?}"
            )));
        }
    };
    let now = Utc::now();
    let mut conditions: Vec<Condition> =
        req.filters.iter().map(|f| Condition::parse(f, now)).collect::<Result<_>>()?;
    match req.ticket_scope.as_str() {
        "" | "all" => {}
        "skills" => conditions.push(Condition::NotSpam),
        other => {
            return Err(Error::InvalidArgument(format!(
                "ticketScope must be all or skills, got {other:?}"
            )));
        }
    }
    let text = conditions.iter().find_map(|c| match c {
        Condition::FullText { text, .. } => Some(text.clone()),
        _ => None,
    });

    let mut count = QueryBuilder::<Postgres>::new("SELECT count(*) FROM ticket.ticket t");
    push_where(&mut count, &conditions, false);

    let mut page =
        QueryBuilder::<Postgres>::new(format!("SELECT {SELECT_COMPACT} FROM ticket.ticket t"));
    push_where(&mut page, &conditions, false);
    // Column and direction come from the tables above; id breaks ties so pages are stable.
    if let (Some(text), "relevance") = (&text, order_field) {
        page.push(format!(" ORDER BY ts_rank({FULL_TEXT}, websearch_to_tsquery('simple', "));
        page.push_bind(text.clone());
        page.push(format!(")) {direction}, t.id {direction}"));
    } else {
        let nulls = if nullable { " NULLS LAST" } else { "" };
        page.push(format!(" ORDER BY {order_column} {direction}{nulls}, t.id {direction}"));
    }
    page.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(req.offset);
    // The total and the page are independent: ask for both at once.
    let (total, mut tickets) = tokio::try_join!(
        count.build_query_scalar::<i64>().fetch_one(pool),
        page.build_query_as::<TicketRow>().fetch_all(pool),
    )?;
    if req.ticket_scope == "skills" {
        // The routing view shows only the tags routing looks at.
        let ignored = crate::projections::ignored_tags(&mut *pool.acquire().await?).await?;
        for ticket in &mut tickets {
            strip_tags(ticket, &ignored);
        }
    }
    Ok(Page { tickets, total, limit, offset: req.offset })
}

fn strip_tags(ticket: &mut TicketRow, ignored: &[i64]) {
    ticket.tag_ids.retain(|id| !ignored.contains(id));
    if let serde_json::Value::Array(tags) = &mut ticket.tags {
        tags.retain(|tag| {
            tag.get("id")
                .and_then(serde_json::Value::as_i64)
                .is_none_or(|id| !ignored.contains(&id))
        });
    }
}

/// A bound value of one of the column kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    Bool(bool),
    Date(DateTime<Utc>),
}

#[derive(Debug)]
pub(crate) enum Condition {
    /// Matches every row (`t.channel = all`).
    Always,
    /// Matches no row (a full-text term too short to search for).
    Never,
    /// `q`: full text over subject, summary, body and the conversations; a number also
    /// matches ids.
    FullText {
        text: String,
        id: Option<i64>,
    },
    Tags {
        relation: TagMatch,
        ids: Vec<i64>,
    },
    NotSpam,
    Compare {
        column: &'static str,
        op: &'static str,
        value: Value,
        kind: Kind,
    },
    In {
        column: &'static str,
        values: Vec<Value>,
        null: bool,
        kind: Kind,
    },
    Between {
        column: &'static str,
        from: Value,
        to: Value,
    },
    /// `not in`, `!=`, `not between`: exactly the rows the positive form does not match,
    /// NULL columns included (a ticket without an agent is "not agent 5").
    Not(Box<Condition>),
}

impl Condition {
    fn parse(f: &pb::Filter, now: DateTime<Utc>) -> Result<Self> {
        if f.key == "q" {
            return Self::full_text(f);
        }
        if let Some((_, relation)) = TAG_MATCH_KEYS.iter().find(|(key, _)| *key == f.key) {
            let raw: Vec<&String> = f.values.iter().chain(f.value.iter()).collect();
            let ids = raw
                .iter()
                .map(|v| v.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| Error::InvalidArgument(format!("{} takes tag ids", f.key)))?;
            return Ok(Self::Tags { relation: *relation, ids });
        }
        let Some((_, column, kind)) = FILTER_KEYS.iter().find(|(key, _, _)| *key == f.key) else {
            if NOT_YET_SERVED.contains(&f.key.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "filter key {:?} is not supported yet",
                    f.key
                )));
            }
            return Err(Error::InvalidArgument(format!("unknown filter key {:?}", f.key)));
        };
        let (column, kind) = (*column, *kind);
        let comparator = f.comparator.trim().to_ascii_lowercase();
        match comparator.as_str() {
            "in" | "not in" => {
                if kind == Kind::Date {
                    return Err(Error::InvalidArgument(format!(
                        "{} is a date key; use a comparison or between",
                        f.key
                    )));
                }
                let mut values = f.values.clone();
                if values.is_empty()
                    && let Some(value) = &f.value
                {
                    values.push(value.clone());
                }
                if f.key == "t.channel" && values.iter().any(|v| v == "all") {
                    return Ok(Self::Always);
                }
                let mut null = false;
                let mut typed = Vec::new();
                for raw in &values {
                    if raw == "null" || (f.key == "t.agentId" && raw == "unassigned") {
                        null = true;
                    } else if f.key == "t.agentId" && raw == "team" {
                        return Err(Error::InvalidArgument(
                            "t.agentId \"team\" needs teams, which are not served yet".into(),
                        ));
                    } else {
                        typed.push(parse_value(&f.key, kind, raw, now)?);
                    }
                }
                if typed.is_empty() && !null {
                    return Err(Error::InvalidArgument(format!("{} needs values", f.key)));
                }
                let positive = Self::In { column, values: typed, null, kind };
                Ok(Self::negated_if(comparator == "not in", positive))
            }
            "=" | "!=" | ">" | "<" | ">=" | "<=" => {
                let raw =
                    f.value.clone().or_else(|| f.values.first().cloned()).ok_or_else(|| {
                        Error::InvalidArgument(format!("{} needs a value", f.key))
                    })?;
                let negate = comparator == "!=";
                let op = match comparator.as_str() {
                    "=" | "!=" => "=",
                    ">" => ">",
                    "<" => "<",
                    ">=" => ">=",
                    _ => "<=",
                };
                if f.key == "t.channel" && raw == "all" {
                    return Ok(Self::Always);
                }
                if matches!(kind, Kind::TagId | Kind::AiAgentId) && op != "=" {
                    return Err(Error::InvalidArgument(format!(
                        "{} compares with = or != only",
                        f.key
                    )));
                }
                let positive = if raw == "null" && op == "=" {
                    Self::In { column, values: Vec::new(), null: true, kind }
                } else {
                    Self::Compare { column, op, value: parse_value(&f.key, kind, &raw, now)?, kind }
                };
                Ok(Self::negated_if(negate, positive))
            }
            "between" | "not between" => {
                if kind != Kind::Date {
                    return Err(Error::InvalidArgument(format!(
                        "between works on date keys only, not {}",
                        f.key
                    )));
                }
                let (Some(from), Some(to)) = (&f.from, &f.to) else {
                    return Err(Error::InvalidArgument(format!(
                        "{} between needs from and to",
                        f.key
                    )));
                };
                let positive = Self::Between {
                    column,
                    from: parse_value(&f.key, kind, from, now)?,
                    to: parse_value(&f.key, kind, to, now)?,
                };
                Ok(Self::negated_if(comparator == "not between", positive))
            }
            "" => Err(Error::InvalidArgument(format!("{} needs a comparator", f.key))),
            other => Err(Error::InvalidArgument(format!(
                "unknown comparator {other:?} (use in, not in, =, !=, >, <, >=, <=, between, not between)"
            ))),
        }
    }
}

impl Condition {
    fn negated_if(negate: bool, positive: Self) -> Self {
        if negate { Self::Not(Box::new(positive)) } else { positive }
    }

    fn full_text(f: &pb::Filter) -> Result<Self> {
        let text = f
            .value
            .clone()
            .or_else(|| f.values.first().cloned())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let id = text.parse::<i64>().ok();
        if id.is_none() && text.chars().filter(|c| !c.is_numeric()).count() < MIN_TEXT_LEN {
            return Ok(Self::Never);
        }
        Ok(Self::FullText { text, id })
    }
}

/// Parses search filters (routing takes the same ones).
pub(crate) fn parse_filters(filters: &[pb::Filter], now: DateTime<Utc>) -> Result<Vec<Condition>> {
    filters.iter().map(|f| Condition::parse(f, now)).collect()
}

/// Appends `conditions`, starting a WHERE clause unless `in_where` says one is open.
pub(crate) fn push_where(q: &mut QueryBuilder<Postgres>, conditions: &[Condition], in_where: bool) {
    let mut first = !in_where;
    for condition in conditions {
        if matches!(condition, Condition::Always) {
            continue;
        }
        // Each predicate in its own parentheses: an OR inside one must never reach across the
        // AND that joins it to the others (or to the caller's clause).
        q.push(if first { " WHERE (" } else { " AND (" });
        first = false;
        push_condition(q, condition);
        q.push(")");
    }
}

/// One predicate; it may contain OR, so callers parenthesise it.
fn push_condition(q: &mut QueryBuilder<Postgres>, condition: &Condition) {
    match condition {
        Condition::Always => {
            q.push("true");
        }
        Condition::Never => {
            q.push("false");
        }
        Condition::Not(positive) => {
            // Unlike NOT, IS NOT TRUE also takes the rows where the positive form is unknown
            // (a NULL column), so the negation is the exact complement.
            q.push("(");
            push_condition(q, positive);
            q.push(") IS NOT TRUE");
        }
        Condition::NotSpam => {
            q.push("t.spam_status IS NULL OR t.spam_status <> ALL(");
            q.push_bind(SPAM.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
            q.push(")");
        }
        Condition::FullText { text, id } => {
            // The ticket's own text and its conversations' text form one document (contract
            // §10), so the terms of a query may be spread over both; one GIN look-up.
            q.push(format!("{FULL_TEXT} @@ websearch_to_tsquery('simple', "));
            q.push_bind(text.clone()).push(")");
            if let Some(id) = id {
                q.push(" OR t.id = ").push_bind(*id);
                q.push(" OR t.contract_id = ").push_bind(text.clone());
                q.push(" OR t.customer_id = ").push_bind(text.clone());
            }
        }
        Condition::Tags { relation, ids } => {
            let (before, between, after) = match relation {
                TagMatch::All => ("t.tag_ids @> ", None, ""),
                TagMatch::Any => ("t.tag_ids && ", None, ""),
                TagMatch::Exact => ("t.tag_ids @> ", Some(" AND t.tag_ids <@ "), ""),
                TagMatch::Allowed => ("t.tag_ids <@ ", None, ""),
                TagMatch::Excluded => ("NOT (t.tag_ids && ", None, ")"),
            };
            q.push(before).push_bind(ids.clone());
            if let Some(between) = between {
                q.push(between).push_bind(ids.clone());
            }
            q.push(after);
        }
        Condition::Compare { column, op, value, kind } => {
            if *kind == Kind::AiAgentId {
                q.push(format!("{INTENT_EXISTS} AND {column} = "));
                push_value(q, value);
                q.push(")");
            } else if *kind == Kind::TagId {
                // "tag = x" means the ticket carries x.
                push_value(q, value);
                q.push(format!(" = ANY({column})"));
            } else {
                q.push(format!("{column} {op} "));
                push_value(q, value);
            }
        }
        Condition::In { column, values, null, kind } if *kind == Kind::AiAgentId => {
            if !values.is_empty() {
                q.push(format!("{INTENT_EXISTS} AND {column} = ANY("));
                push_array(q, values);
                q.push("))");
            }
            if *null {
                if !values.is_empty() {
                    q.push(" OR ");
                }
                // "null": no intent at all.
                q.push(format!("NOT {INTENT_EXISTS})"));
            }
        }
        Condition::In { column, values, null, kind } => {
            if !values.is_empty() {
                if *kind == Kind::TagId {
                    q.push(format!("{column} && "));
                    push_array(q, values);
                } else {
                    q.push(format!("{column} = ANY("));
                    push_array(q, values);
                    q.push(")");
                }
            }
            if *null {
                if !values.is_empty() {
                    q.push(" OR ");
                }
                if *kind == Kind::TagId {
                    // A ticket "without tag" is one with no tags.
                    q.push(format!("cardinality({column}) = 0"));
                } else {
                    q.push(format!("{column} IS NULL"));
                }
            }
        }
        Condition::Between { column, from, to } => {
            q.push(format!("{column} BETWEEN "));
            push_value(q, from);
            q.push(" AND ");
            push_value(q, to);
        }
    }
}

pub(crate) fn push_value(q: &mut QueryBuilder<Postgres>, value: &Value) {
    match value.clone() {
        Value::Int(v) => q.push_bind(v),
        Value::Text(v) => q.push_bind(v),
        Value::Bool(v) => q.push_bind(v),
        Value::Date(v) => q.push_bind(v),
    };
}

pub(crate) fn push_array(q: &mut QueryBuilder<Postgres>, values: &[Value]) {
    match values.first() {
        Some(Value::Int(_)) => q.push_bind(
            values
                .iter()
                .filter_map(|v| if let Value::Int(i) = v { Some(*i) } else { None })
                .collect::<Vec<_>>(),
        ),
        Some(Value::Bool(_)) => q.push_bind(
            values
                .iter()
                .filter_map(|v| if let Value::Bool(b) = v { Some(*b) } else { None })
                .collect::<Vec<_>>(),
        ),
        _ => q.push_bind(
            values
                .iter()
                .filter_map(|v| if let Value::Text(s) = v { Some(s.clone()) } else { None })
                .collect::<Vec<_>>(),
        ),
    };
}

fn parse_value(key: &str, kind: Kind, raw: &str, now: DateTime<Utc>) -> Result<Value> {
    let bad = |what: &str| Error::InvalidArgument(format!("{key}: {raw:?} is not {what}"));
    Ok(match kind {
        Kind::Int | Kind::TagId | Kind::AiAgentId => {
            Value::Int(raw.trim().parse().map_err(|_| bad("an integer"))?)
        }
        Kind::Text => Value::Text(raw.to_owned()),
        Kind::Bool => Value::Bool(match raw.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("a boolean")),
        }),
        Kind::Date => Value::Date(parse_date(raw, now).ok_or_else(|| {
            bad("a date (YYYY-MM-DD[ HH:MM:SS], CURRENT_DATE, CURRENT_TIME or e.g. -7 DAY)")
        })?),
    })
}

/// Absolute dates, `CURRENT_DATE`, `CURRENT_TIME` and offsets like `-7 DAY` or `+4 HOUR`.
pub fn parse_date(raw: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    match raw {
        "CURRENT_DATE" => return now.date_naive().and_hms_opt(0, 0, 0).map(|d| d.and_utc()),
        "CURRENT_TIME" | "NOW" => return Some(now),
        _ => {}
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S") {
        return Some(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let (amount, unit) = raw.split_once(' ')?;
    let amount: i64 = amount.trim_start_matches('+').parse().ok()?;
    let offset = match unit.trim().to_ascii_uppercase().trim_end_matches('S') {
        "MINUTE" => Duration::try_minutes(amount)?,
        "HOUR" => Duration::try_hours(amount)?,
        "DAY" => Duration::try_days(amount)?,
        "WEEK" => Duration::try_weeks(amount)?,
        // Calendar months and years, as SQL intervals count them (-1 MONTH from 31 March is
        // the last day of February), not 30 or 365 days.
        "MONTH" => return add_months(now, amount),
        "YEAR" => return add_months(now, amount.checked_mul(12)?),
        _ => return None,
    };
    now.checked_add_signed(offset)
}

fn add_months(now: DateTime<Utc>, months: i64) -> Option<DateTime<Utc>> {
    let count = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months < 0 { now.checked_sub_months(count) } else { now.checked_add_months(count) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_in_every_documented_form() {
        let now = DateTime::parse_from_rfc3339("2026-01-10T12:30:00Z").unwrap().to_utc();
        let at = |s| parse_date(s, now).map(|d| d.to_rfc3339());
        assert_eq!(at("2026-01-01"), Some("2026-01-01T00:00:00+00:00".into()));
        assert_eq!(at("2026-01-01 10:11:12"), Some("2026-01-01T10:11:12+00:00".into()));
        assert_eq!(at("CURRENT_DATE"), Some("2026-01-10T00:00:00+00:00".into()));
        assert_eq!(at("-7 DAY"), Some("2026-01-03T12:30:00+00:00".into()));
        assert_eq!(at("-4 HOUR"), Some("2026-01-10T08:30:00+00:00".into()));
        assert_eq!(at("-1 MONTH"), Some("2025-12-10T12:30:00+00:00".into()));
        assert_eq!(at("+2 MONTHS"), Some("2026-03-10T12:30:00+00:00".into()));
        assert_eq!(at("-1 YEAR"), Some("2025-01-10T12:30:00+00:00".into()));
        assert_eq!(at("yesterday"), None);
        assert_eq!(at("1; DROP TABLE ticket"), None);
    }

    #[test]
    fn unknown_keys_and_date_in_are_refused() {
        let now = Utc::now();
        let filter = |key: &str, comparator: &str| pb::Filter {
            key: key.into(),
            comparator: comparator.into(),
            values: vec!["1".into()],
            ..Default::default()
        };
        assert!(Condition::parse(&filter("t.id; DROP TABLE x", "in"), now).is_err());
        assert!(Condition::parse(&filter("t.createdAt", "in"), now).is_err());
        assert!(Condition::parse(&filter("t.id", "like"), now).is_err());
        assert!(Condition::parse(&filter("t.id", "in"), now).is_ok());
    }

    fn where_sql(filters: &[pb::Filter]) -> String {
        let conditions = parse_filters(filters, Utc::now()).unwrap();
        let mut q = QueryBuilder::<Postgres>::new("SELECT t.id FROM ticket.ticket t");
        push_where(&mut q, &conditions, false);
        q.into_string()
    }

    fn filter(key: &str, comparator: &str, values: &[&str]) -> pb::Filter {
        pb::Filter {
            key: key.into(),
            comparator: comparator.into(),
            values: values.iter().map(|v| (*v).into()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn an_or_inside_a_predicate_stays_inside_it() {
        // `not in` once became `NOT (..) OR t.status IS NULL AND t.id = ANY(..)`: the OR
        // escaped the AND and the t.id filter was lost.
        let sql =
            where_sql(&[filter("t.status", "not in", &["closed"]), filter("t.id", "in", &["2"])]);
        assert_eq!(
            sql,
            "SELECT t.id FROM ticket.ticket t WHERE ((t.status = ANY($1)) IS NOT TRUE) \
             AND (t.id = ANY($2))"
        );
        let sql = where_sql(&[
            filter("t.agentId", "in", &["7", "unassigned"]),
            filter("q", "", &["1234"]),
        ]);
        assert_eq!(
            sql,
            "SELECT t.id FROM ticket.ticket t WHERE (t.agent_id = ANY($1) OR t.agent_id IS NULL) \
             AND ((t.search || t.history_search) @@ websearch_to_tsquery('simple', $2) \
             OR t.id = $3 OR t.contract_id = $4 OR t.customer_id = $5)"
        );
    }

    #[test]
    fn ai_agent_ids_are_looked_up_in_the_intents_read_model() {
        let sql = where_sql(&[
            filter("i.aiAgentId", "in", &["3", "null"]),
            filter("i.aiAgentId", "not in", &["5"]),
        ]);
        assert_eq!(
            sql,
            "SELECT t.id FROM ticket.ticket t WHERE (EXISTS (SELECT 1 FROM ticket.ticket_intent i \
             WHERE i.ticket_id = t.id AND i.ai_agent_id = ANY($1)) OR NOT EXISTS (SELECT 1 FROM \
             ticket.ticket_intent i WHERE i.ticket_id = t.id)) AND ((EXISTS (SELECT 1 FROM \
             ticket.ticket_intent i WHERE i.ticket_id = t.id AND i.ai_agent_id = ANY($2))) \
             IS NOT TRUE)"
        );
        let sql = where_sql(&[filter("i.aiAgentId", "=", &["null"])]);
        assert!(
            sql.ends_with(
                "WHERE (NOT EXISTS (SELECT 1 FROM ticket.ticket_intent i WHERE i.ticket_id = t.id))"
            ),
            "{sql}"
        );
        assert!(Condition::parse(&filter("i.aiAgentId", ">", &["3"]), Utc::now()).is_err());
        assert!(Condition::parse(&filter("i.aiAgentId", "in", &["x"]), Utc::now()).is_err());
    }
}
