//! Reporting exports (contract §6.6): tickets and their messages as flat rows, streamed in
//! batches. Every batch is its own keyset query (`(order column, id)` past the last row sent),
//! so an export of any size holds one batch in memory and no long transaction. Sources, filter
//! keys and order fields map to SQL through the fixed tables below; every value is bound.

use std::pin::Pin;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use futures_util::Stream;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use tokio::sync::mpsc;
use tonic::Status;
use tracing::Instrument as _;

use crate::model::timestamp;
use crate::search::{Value, parse_date, push_array, push_value};

/// Rows per query and per chunk sent.
pub const BATCH: i64 = 1000;

pub type Chunks = Pin<Box<dyn Stream<Item = Result<pb::ExportChunk, Status>> + Send>>;

/// Runs `plan` on its own task; at most two chunks wait for a slow reader, so a slow
/// download slows the reading instead of filling memory.
pub fn stream(plan: Plan, pool: PgPool) -> Chunks {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(plan.run(pool, tx).in_current_span());
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Text,
    Time,
    Bool,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Int => "integer",
            Self::Text => "text",
            Self::Time => "timestamp",
            Self::Bool => "boolean",
        }
    }

    fn comparators(self) -> &'static [&'static str] {
        match self {
            Self::Time => &["=", "!=", ">", "<", ">=", "<=", "between"],
            Self::Int => &["=", "!=", ">", "<", ">=", "<=", "in"],
            Self::Text | Self::Bool => &["=", "!=", "in"],
        }
    }
}

/// One exported column: its name, the SQL expression that yields it, its type.
type Column = (&'static str, &'static str, Kind);

struct Source {
    key: &'static str,
    from: &'static str,
    /// Always part of the WHERE clause.
    scope: &'static str,
    id: &'static str,
    columns: &'static [Column],
    /// Filterable keys: a subset of the columns' names.
    filters: &'static [&'static str],
    /// Sortable fields (NOT NULL columns with an index that serves `(field, id)` order).
    orders: &'static [&'static str],
    default_order: &'static str,
}

const TICKET_COLUMNS: &[Column] = &[
    ("id", "t.id", Kind::Int),
    ("channel", "t.channel", Kind::Text),
    ("status", "t.status", Kind::Text),
    ("priority", "t.priority", Kind::Text),
    ("direction", "t.direction", Kind::Text),
    ("subject", "t.subject", Kind::Text),
    ("customerId", "t.customer_id", Kind::Text),
    ("contractId", "t.contract_id", Kind::Text),
    ("agentId", "t.agent_id", Kind::Int),
    ("tagIds", "array_to_string(t.tag_ids, ',')", Kind::Text),
    ("aiSupportLevel", "t.ai_support_level", Kind::Text),
    ("isEscalated", "t.is_escalated", Kind::Bool),
    ("createdAt", "t.created_at", Kind::Time),
    ("modifiedAt", "t.modified_at", Kind::Time),
    ("closedAt", "t.closed_at", Kind::Time),
];

/// The `ticket` export: the reporting columns plus the ticket's own text.
const TICKET_TEXT_COLUMNS: &[Column] = &[
    ("id", "t.id", Kind::Int),
    ("channel", "t.channel", Kind::Text),
    ("status", "t.status", Kind::Text),
    ("priority", "t.priority", Kind::Text),
    ("direction", "t.direction", Kind::Text),
    ("from", "t.from_addr", Kind::Text),
    ("subject", "t.subject", Kind::Text),
    ("summary", "t.summary", Kind::Text),
    ("bodyPlain", "coalesce(t.body_plain, t.body)", Kind::Text),
    ("language", "t.language", Kind::Text),
    ("sentiment", "t.sentiment", Kind::Text),
    ("customerId", "t.customer_id", Kind::Text),
    ("contractId", "t.contract_id", Kind::Text),
    ("agentId", "t.agent_id", Kind::Int),
    ("tagIds", "array_to_string(t.tag_ids, ',')", Kind::Text),
    ("createdAt", "t.created_at", Kind::Time),
    ("modifiedAt", "t.modified_at", Kind::Time),
    ("closedAt", "t.closed_at", Kind::Time),
];

const TICKET_FILTERS: &[&str] = &[
    "id",
    "channel",
    "status",
    "priority",
    "direction",
    "customerId",
    "contractId",
    "agentId",
    "createdAt",
    "modifiedAt",
    "closedAt",
];

const MESSAGE_COLUMNS: &[Column] = &[
    ("id", "c.id", Kind::Int),
    ("ticketId", "c.ticket_id", Kind::Int),
    ("type", "c.type", Kind::Text),
    ("direction", "c.direction", Kind::Text),
    ("channel", "t.channel", Kind::Text),
    ("private", "c.private", Kind::Bool),
    ("from", "c.sender", Kind::Text),
    ("to", "array_to_string(c.to_addrs, ', ')", Kind::Text),
    ("subject", "c.subject", Kind::Text),
    ("bodyPlain", "coalesce(c.body_plain, c.body)", Kind::Text),
    ("createdAt", "c.created_at", Kind::Time),
];

const SOURCES: &[Source] = &[
    Source {
        key: "reporting_tickets",
        from: "ticket.ticket t",
        scope: "true",
        id: "t.id",
        columns: TICKET_COLUMNS,
        filters: TICKET_FILTERS,
        orders: &["createdAt", "id"],
        default_order: "createdAt",
    },
    Source {
        key: "ticket",
        from: "ticket.ticket t",
        scope: "true",
        id: "t.id",
        columns: TICKET_TEXT_COLUMNS,
        filters: TICKET_FILTERS,
        orders: &["createdAt", "id"],
        default_order: "createdAt",
    },
    Source {
        key: "reporting_messages",
        from: "ticket.conversation c JOIN ticket.ticket t ON t.id = c.ticket_id",
        // Drafts are not messages yet.
        scope: "NOT c.is_draft",
        id: "c.id",
        columns: MESSAGE_COLUMNS,
        filters: &["id", "ticketId", "direction", "channel", "type", "createdAt"],
        // Conversations are indexed by id only; ids grow with arrival time.
        orders: &["id"],
        default_order: "id",
    },
];

impl Source {
    fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|(n, _, _)| *n == name)
    }

    fn header(&self, total: Option<i64>) -> pb::ExportHeader {
        pb::ExportHeader {
            columns: self
                .columns
                .iter()
                .map(|(name, _, kind)| pb::ExportColumn {
                    name: (*name).into(),
                    r#type: kind.name().into(),
                })
                .collect(),
            total,
            filters: self
                .filters
                .iter()
                .filter_map(|key| self.column(key))
                .map(|(name, _, kind)| pb::ExportFilterSpec {
                    key: (*name).into(),
                    r#type: kind.name().into(),
                    comparators: kind.comparators().iter().map(|c| (*c).into()).collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Condition {
    Compare {
        column: &'static str,
        op: &'static str,
        value: Value,
    },
    In {
        column: &'static str,
        values: Vec<Value>,
    },
    All(Vec<Condition>),
    /// `!=`: the exact complement, rows with a NULL column included.
    Not(Box<Condition>),
}

/// A validated export: what to read and in which order.
pub struct Plan {
    source: &'static Source,
    conditions: Vec<Condition>,
    order: &'static Column,
    descending: bool,
    /// None: every row.
    limit: Option<i64>,
    offset: i64,
    with_total: bool,
}

/// Checks the request completely, so every mistake is an error of the call, not of the stream.
pub fn plan(req: pb::ExportRequest, now: DateTime<Utc>) -> Result<Plan> {
    let source = SOURCES
        .iter()
        .find(|s| s.key == req.key)
        .ok_or_else(|| Error::InvalidArgument(format!("Unknown export key {:?}", req.key)))?;
    if req.limit < 0 {
        return Err(Error::InvalidArgument("limit must not be negative".into()));
    }
    if req.offset < 0 {
        return Err(Error::InvalidArgument("offset must not be negative".into()));
    }
    let field =
        if req.order_by_field.is_empty() { source.default_order } else { &req.order_by_field };
    let order =
        source.orders.iter().find(|o| **o == field).and_then(|o| source.column(o)).ok_or_else(
            || {
                Error::InvalidArgument(format!(
                    "orderByField {field:?} is not sortable here (use {})",
                    source.orders.join(", ")
                ))
            },
        )?;
    let descending = match req.order_by_direction.to_ascii_lowercase().as_str() {
        "" | "asc" => false,
        "desc" => true,
        other => {
            return Err(Error::InvalidArgument(format!(
                "orderByDirection must be asc or desc, got {other:?}"
            )));
        }
    };
    let mut conditions = Vec::new();
    for filter in &req.filters {
        conditions.push(parse_filter(source, filter, now)?);
    }
    Ok(Plan {
        source,
        conditions,
        order,
        descending,
        limit: (req.limit > 0).then_some(req.limit),
        offset: req.offset,
        with_total: req.with_total,
    })
}

fn parse_filter(source: &Source, f: &pb::Filter, now: DateTime<Utc>) -> Result<Condition> {
    let (_, column, kind) = source
        .filters
        .contains(&f.key.as_str())
        .then(|| source.column(&f.key))
        .flatten()
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown filter key {:?} (use {})",
                f.key,
                source.filters.join(", ")
            ))
        })?;
    let (column, kind) = (*column, *kind);
    let comparator = f.comparator.trim().to_ascii_lowercase();
    if !kind.comparators().contains(&comparator.as_str()) {
        return Err(Error::InvalidArgument(format!(
            "{} takes the comparators {}, not {comparator:?}",
            f.key,
            kind.comparators().join(", ")
        )));
    }
    let single = || {
        f.value
            .as_deref()
            .or(f.values.first().map(String::as_str))
            .ok_or_else(|| Error::InvalidArgument(format!("{} needs a value", f.key)))
    };
    let value = |raw: &str| parse_value(&f.key, kind, raw, now);
    let compare = |op, value| Condition::Compare { column, op, value };
    Ok(match comparator.as_str() {
        "in" => {
            let raw: Vec<&String> = if f.values.is_empty() {
                f.value.iter().collect()
            } else {
                f.values.iter().collect()
            };
            if raw.is_empty() {
                return Err(Error::InvalidArgument(format!("{} in needs values", f.key)));
            }
            Condition::In {
                column,
                values: raw.into_iter().map(|v| value(v)).collect::<Result<_>>()?,
            }
        }
        "between" => {
            let (Some(from), Some(to)) = (&f.from, &f.to) else {
                return Err(Error::InvalidArgument(format!("{} between needs from and to", f.key)));
            };
            Condition::All(vec![compare(">=", value(from)?), upper_bound(column, to, value(to)?)])
        }
        "<=" if kind == Kind::Time => upper_bound(column, single()?, value(single()?)?),
        "=" | "!=" if kind == Kind::Time && is_date_only(single()?) => {
            // A day is every instant of it.
            let start = value(single()?)?;
            let day = Condition::All(vec![
                compare(">=", start.clone()),
                upper_bound(column, single()?, start),
            ]);
            if comparator == "=" { day } else { Condition::Not(Box::new(day)) }
        }
        "!=" => Condition::Not(Box::new(compare("=", value(single()?)?))),
        op => {
            let op = match op {
                "=" => "=",
                ">" => ">",
                "<" => "<",
                ">=" => ">=",
                _ => "<=",
            };
            compare(op, value(single()?)?)
        }
    })
}

fn is_date_only(raw: &str) -> bool {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").is_ok()
}

/// `column <= value`; a date without a time reaches to the end of that day (contract §10).
fn upper_bound(column: &'static str, raw: &str, value: Value) -> Condition {
    match value {
        Value::Date(day) if is_date_only(raw) => {
            Condition::Compare { column, op: "<", value: Value::Date(day + Duration::days(1)) }
        }
        value => Condition::Compare { column, op: "<=", value },
    }
}

fn parse_value(key: &str, kind: Kind, raw: &str, now: DateTime<Utc>) -> Result<Value> {
    let bad = |what: &str| Error::InvalidArgument(format!("{key}: {raw:?} is not {what}"));
    Ok(match kind {
        Kind::Int => Value::Int(raw.trim().parse().map_err(|_| bad("an integer"))?),
        Kind::Text => Value::Text(raw.to_owned()),
        Kind::Bool => Value::Bool(match raw.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("a boolean")),
        }),
        Kind::Time => Value::Date(parse_date(raw, now).ok_or_else(|| {
            bad("a date (YYYY-MM-DD[ HH:MM:SS], RFC 3339, CURRENT_DATE or e.g. -7 DAY)")
        })?),
    })
}

fn push_condition(q: &mut QueryBuilder<Postgres>, condition: &Condition) {
    match condition {
        Condition::Compare { column, op, value } => {
            q.push(format!("{column} {op} "));
            push_value(q, value);
        }
        Condition::In { column, values } => {
            // Values of one filter share its kind.
            q.push(format!("{column} = ANY("));
            push_array(q, values);
            q.push(")");
        }
        Condition::All(parts) => {
            for (i, part) in parts.iter().enumerate() {
                q.push(if i == 0 { "(" } else { " AND (" });
                push_condition(q, part);
                q.push(")");
            }
        }
        Condition::Not(positive) => {
            // IS NOT TRUE, unlike NOT, also takes the rows where the positive form is unknown.
            q.push("(");
            push_condition(q, positive);
            q.push(") IS NOT TRUE");
        }
    }
}

/// Where the last row sent stands in the export's order.
#[derive(Debug, Clone)]
enum Position {
    Int(i64),
    Time(DateTime<Utc>),
}

impl Plan {
    fn push_where(&self, q: &mut QueryBuilder<Postgres>) {
        q.push(format!(" WHERE ({})", self.source.scope));
        for condition in &self.conditions {
            q.push(" AND (");
            push_condition(q, condition);
            q.push(")");
        }
    }

    async fn total(&self, pool: &PgPool) -> Result<i64> {
        let mut q =
            QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {}", self.source.from));
        self.push_where(&mut q);
        Ok(q.build_query_scalar::<i64>().fetch_one(pool).await?)
    }

    /// The next batch after `after` (the order key and id of the last row sent).
    async fn batch(
        &self,
        pool: &PgPool,
        after: Option<&(Position, i64)>,
        size: i64,
        offset: i64,
    ) -> Result<Vec<PgRow>> {
        let source = self.source;
        let columns: Vec<&str> = source.columns.iter().map(|(_, sql, _)| *sql).collect();
        let (_, order, _) = self.order;
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {}, {order} AS export_key, {} AS export_id FROM {}",
            columns.join(", "),
            source.id,
            source.from
        ));
        self.push_where(&mut q);
        let (cmp, dir) = if self.descending { ("<", "DESC") } else { (">", "ASC") };
        if let Some((position, id)) = after {
            if *order == source.id {
                q.push(format!(" AND {} {cmp} ", source.id)).push_bind(*id);
            } else {
                q.push(format!(" AND ({order}, {}) {cmp} (", source.id));
                match position {
                    Position::Int(v) => q.push_bind(*v),
                    Position::Time(v) => q.push_bind(*v),
                };
                q.push(", ").push_bind(*id).push(")");
            }
        }
        // Column and direction come from the tables above; id makes the order total.
        q.push(format!(" ORDER BY {order} {dir}, {} {dir}", source.id));
        q.push(" LIMIT ").push_bind(size);
        if offset > 0 {
            q.push(" OFFSET ").push_bind(offset);
        }
        Ok(q.build().fetch_all(pool).await?)
    }

    fn position(&self, row: &PgRow) -> Result<(Position, i64)> {
        let position = match self.order.2 {
            Kind::Time => Position::Time(row.try_get("export_key")?),
            _ => Position::Int(row.try_get("export_key")?),
        };
        Ok((position, row.try_get("export_id")?))
    }

    fn to_proto(&self, row: &PgRow) -> Result<pb::ExportRow> {
        use pb::export_value::Kind as V;
        let values = self
            .source
            .columns
            .iter()
            .enumerate()
            .map(|(i, (_, _, kind))| {
                let kind = match kind {
                    Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(V::Integer),
                    Kind::Text => row.try_get::<Option<String>, _>(i)?.map(V::Text),
                    Kind::Time => row
                        .try_get::<Option<DateTime<Utc>>, _>(i)?
                        .map(|t| V::Timestamp(timestamp(t))),
                    Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(V::Boolean),
                };
                Ok(pb::ExportValue { kind })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(pb::ExportRow { values })
    }

    /// Sends the header, then every row in batches, until done, failed or the receiver is gone
    /// (a client that hung up stops the reading too).
    pub async fn run(self, pool: PgPool, tx: mpsc::Sender<Result<pb::ExportChunk, Status>>) {
        if let Err(err) = self.send_all(&pool, &tx).await {
            let _ = tx.send(Err(Status::from(err))).await;
        }
    }

    async fn send_all(
        &self,
        pool: &PgPool,
        tx: &mpsc::Sender<Result<pb::ExportChunk, Status>>,
    ) -> Result<()> {
        let total = if self.with_total { Some(self.total(pool).await?) } else { None };
        let header = pb::ExportChunk { header: Some(self.source.header(total)), rows: Vec::new() };
        if tx.send(Ok(header)).await.is_err() {
            return Ok(());
        }
        let mut remaining = self.limit;
        let mut after = None;
        let mut offset = self.offset;
        loop {
            let size = remaining.map_or(BATCH, |r| r.min(BATCH));
            if size == 0 {
                return Ok(());
            }
            let rows = self.batch(pool, after.as_ref(), size, offset).await?;
            // The offset skips rows once; later batches start after the last row sent.
            offset = 0;
            let Some(last) = rows.last() else { return Ok(()) };
            after = Some(self.position(last)?);
            let count = rows.len() as i64;
            let chunk = pb::ExportChunk {
                header: None,
                rows: rows.iter().map(|row| self.to_proto(row)).collect::<Result<_>>()?,
            };
            drop(rows);
            if tx.send(Ok(chunk)).await.is_err() {
                return Ok(());
            }
            remaining = remaining.map(|r| r - count);
            if count < size {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(key: &str, comparator: &str, value: &str) -> pb::Filter {
        pb::Filter {
            key: key.into(),
            comparator: comparator.into(),
            value: Some(value.into()),
            ..Default::default()
        }
    }

    fn request(key: &str, filters: Vec<pb::Filter>) -> pb::ExportRequest {
        pb::ExportRequest { key: key.into(), filters, ..Default::default() }
    }

    fn time(raw: &str) -> Value {
        Value::Date(DateTime::parse_from_rfc3339(raw).unwrap().to_utc())
    }

    #[test]
    fn a_date_only_upper_bound_reaches_the_end_of_its_day() {
        let now = Utc::now();
        let p =
            plan(request("reporting_tickets", vec![filter("createdAt", "<=", "2024-01-31")]), now)
                .unwrap();
        assert_eq!(
            p.conditions,
            [Condition::Compare {
                column: "t.created_at",
                op: "<",
                value: time("2024-02-01T00:00:00Z")
            }]
        );
        let p = plan(
            request("reporting_tickets", vec![filter("createdAt", "<=", "2024-01-31 12:00:00")]),
            now,
        )
        .unwrap();
        assert_eq!(
            p.conditions,
            [Condition::Compare {
                column: "t.created_at",
                op: "<=",
                value: time("2024-01-31T12:00:00Z")
            }]
        );
        let between = pb::Filter {
            key: "createdAt".into(),
            comparator: "between".into(),
            from: Some("2024-01-01".into()),
            to: Some("2024-01-31".into()),
            ..Default::default()
        };
        let p = plan(request("reporting_tickets", vec![between]), now).unwrap();
        let mut q = QueryBuilder::<Postgres>::new("SELECT 1 FROM ticket.ticket t");
        p.push_where(&mut q);
        assert_eq!(
            q.into_string(),
            "SELECT 1 FROM ticket.ticket t WHERE (true) AND ((t.created_at >= $1) AND (t.created_at < $2))"
        );
    }

    #[test]
    fn keys_orders_and_filters_come_from_the_tables_only() {
        let now = Utc::now();
        let refused = |req: pb::ExportRequest| plan(req, now).err().map(|e| e.to_string());
        assert!(
            refused(request("tickets; DROP TABLE x", vec![]))
                .unwrap()
                .starts_with("Unknown export key")
        );
        assert!(
            refused(request("reporting_tickets", vec![filter("t.id; --", "=", "1")])).is_some()
        );
        assert!(refused(request("reporting_tickets", vec![filter("subject", "=", "x")])).is_some());
        assert!(
            refused(request("reporting_tickets", vec![filter("createdAt", "in", "2024-01-01")]))
                .is_some()
        );
        assert!(
            refused(request("reporting_tickets", vec![filter("id", "between", "1")])).is_some()
        );
        assert!(refused(request("reporting_tickets", vec![filter("agentId", "=", "x")])).is_some());
        let order = |key: &str, field: &str| pb::ExportRequest {
            order_by_field: field.into(),
            ..request(key, vec![])
        };
        assert!(refused(order("reporting_messages", "createdAt")).is_some());
        assert!(refused(order("reporting_tickets", "subject")).is_some());
        assert!(refused(order("reporting_tickets", "createdAt")).is_none());
        assert!(refused(pb::ExportRequest { limit: -1, ..request("ticket", vec![]) }).is_some());
    }
}
