//! A differential test of the ticket search DSL: random filter sets go through the real SQL
//! (gateway, ticket-svc, PostgreSQL) and through an in-memory evaluator over the same seeded
//! tickets, and both must agree on the page (ids and their order) and the total.
//!
//! The evaluator is written from the contract (§1.2 (2), §10), not from the SQL:
//! - set keys: `in` matches one of the values, `"null"` (and `"unassigned"` for t.agentId)
//!   matches a missing value, `t.channel` `all` is no filter; `=` is `in` with one value;
//!   `>`, `<`, `>=`, `<=` never match a missing value (numbers by value, text by bytes);
//! - every negation (`not in`, `!=`, `not between`) is the complement of its positive form;
//! - date keys take `YYYY-MM-DD[ HH:MM:SS]` (UTC), `CURRENT_DATE`, `CURRENT_TIME` and offsets
//!   from now like `-7 DAY` (months and years are calendar ones); `between` includes both ends;
//! - tag sets: matchAll ⊆, matchAny ∩, matchExact =, allowed ⊇, excluded ∩ = ∅;
//! - `i.aiAgentId` is a set like `tt.tagId` (`"null"`: no intent), and orders by its smallest;
//! - `q`: every term appears in the ticket's subject, summary, body or conversations (case
//!   insensitive); a number also matches the ticket, contract or customer id; input with fewer
//!   than four non-numeric characters matches nothing;
//! - `ticketScope=skills` drops spam; rows sort by the field (missing values last), then id.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveDateTime, Timelike, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Stack, send};

const TICKETS: usize = 48;
const TAGS: [i64; 6] = [1, 2, 3, 4, 5, 6];
const WORDS: [&str; 12] = [
    "meter",
    "reading",
    "invoice",
    "tariff",
    "moving",
    "payment",
    "refund",
    "address",
    "delivery",
    "complaint",
    "zählerstand",
    "password",
];
/// In the texts, but too short to search for.
const SHORT: [&str; 3] = ["gas", "tv", "fee"];
const CHANNELS: [&str; 4] = ["email", "chat", "phone", "portal"];
const STATUSES: [&str; 3] = ["open", "pending", "closed"];
const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];
const SPAM_STATUSES: [&str; 4] = ["auto_spam", "auto_programmatic", "auto_clean", "manual_clean"];
/// What `ticketScope=skills` hides.
const SPAM: [&str; 3] = ["auto_spam", "auto_programmatic", "manual_spam"];
const CUSTOMERS: [&str; 5] = ["8801", "8802", "8803", "8804", "8805"];
const CONTRACTS: [&str; 6] = ["7001", "7002", "7003", "7004", "7005", "7006"];
const AI_AGENTS: [i64; 4] = [1, 2, 3, 4];
const SQL_TIME: &str = "%Y-%m-%d %H:%M:%S";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_agrees_with_the_contract_on_random_filters() {
    let stack = Stack::start().await;
    let started = std::time::Instant::now();
    let tickets = seed(&stack).await;
    let strategy = case_strategy(&tickets);
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let (hits, skipped) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let result = runner.run(&strategy, |case| {
        // The runner is synchronous; the stack lives on this multi-threaded runtime.
        let outcome =
            tokio::task::block_in_place(|| handle.block_on(check(&stack, &tickets, &case)));
        match outcome {
            Ok(Checked::Agreed { total }) => {
                if total > 0 {
                    hits.fetch_add(1, AtomicOrdering::Relaxed);
                }
                Ok(())
            }
            Ok(Checked::Skipped) => {
                skipped.fetch_add(1, AtomicOrdering::Relaxed);
                Ok(())
            }
            Err(reason) => Err(TestCaseError::fail(reason)),
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (hits, skipped) = (hits.into_inner(), skipped.into_inner());
    eprintln!("{cases} cases ({hits} with matches, {skipped} skipped) in {:?}", started.elapsed());
    // Cases whose answer is always empty would prove little.
    assert!(hits * 3 >= cases as usize, "only {hits} of {cases} cases matched any ticket");
    assert!(skipped * 20 <= cases as usize, "{skipped} cases crossed a time boundary");
}

// ---------------------------------------------------------------------------------------------
// The seeded tickets, as the evaluator sees them.

#[derive(Debug)]
struct Ticket {
    id: i64,
    status: String,
    channel: String,
    priority: String,
    direction: String,
    agent_id: Option<i64>,
    customer_id: Option<String>,
    contract_id: Option<String>,
    partner_id: Option<i64>,
    spam_status: Option<String>,
    created_at: DateTime<Utc>,
    due_by: Option<DateTime<Utc>>,
    first_response_due_by: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    tag_ids: Vec<i64>,
    /// The agents of its intents, as agent-svc's events would have left them.
    ai_agent_ids: Vec<i64>,
    /// The lower-cased words of subject, summary, body and conversations.
    words: BTreeSet<String>,
}

/// A small deterministic generator (splitmix64), so the seeded tickets are the same each run.
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn words(&mut self, max: u64) -> String {
        let n = 1 + self.below(max);
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(if self.chance(15) { *self.pick(&SHORT) } else { *self.pick(&WORDS) });
        }
        out.join(" ")
    }
}

fn sql_time(t: DateTime<Utc>) -> String {
    t.format(SQL_TIME).to_string()
}

/// Creates varied tickets (through the API, as a client would) and reads them back.
async fn seed(stack: &Stack) -> Vec<Ticket> {
    stack.tags(&TAGS).await;
    // Seeded times sit 30m17s off the whole hour from here, so the boundaries of relative
    // dates (now ± whole hours, days, months) stay clear of them while the test runs.
    let base = Utc::now().with_second(0).unwrap().with_nanosecond(0).unwrap();
    let at = |hours: i64| base + Duration::hours(hours) - Duration::seconds(30 * 60 + 17);
    let mut seq = Seq(0x5eed);
    let mut created_hours = 0;
    let mut conversations = Vec::new();
    for i in 0..TICKETS {
        // Every tenth ticket shares the previous one's createdAt: ties sort by id.
        if i % 10 != 1 {
            created_hours = seq.below(800 * 24) as i64;
        }
        let created = if i % 4 == 3 {
            // Between "-N MONTH" (or YEAR) in calendar terms and in 30 (365) day ones, so the
            // two readings disagree about this ticket.
            let (calendar, fixed) = match i / 4 {
                n @ 0..9 => {
                    let months = [4, 5, 6, 7, 9, 11, 14, 19, 25][n];
                    (Months::new(months), Duration::days(30 * i64::from(months)))
                }
                n => {
                    let years = [3, 4, 5][n - 9];
                    (Months::new(12 * years), Duration::days(365 * i64::from(years)))
                }
            };
            let calendar = base.checked_sub_months(calendar).unwrap();
            at((calendar + (base - fixed - calendar) / 2 - base).num_hours())
        } else {
            at(-created_hours)
        };
        let status = *seq.pick(&STATUSES);
        let mut body = json!({
            "channel": seq.pick(&CHANNELS),
            "status": status,
            "priority": seq.pick(&PRIORITIES),
            "direction": if seq.chance(80) { "in" } else { "out" },
            "createdAt": sql_time(created),
            "subject": seq.words(2),
            "tagIds": TAGS.iter().filter(|_| seq.chance(30)).collect::<Vec<_>>(),
            "process": "false",
        });
        let due_hours = if status == "pending" {
            Some(1 + seq.below(60 * 24) as i64)
        } else if seq.chance(60) {
            Some(seq.below(120 * 24) as i64 - 60 * 24)
        } else {
            None
        };
        if let Some(hours) = due_hours {
            body["dueBy"] = json!(sql_time(at(hours)));
        }
        if seq.chance(50) {
            body["firstResponseDueBy"] = json!(sql_time(at(seq.below(40 * 24) as i64 - 20 * 24)));
        }
        if status == "closed" {
            // Given, so it has whole seconds like every other seeded time.
            body["closedAt"] = json!(sql_time(at(-(seq.below(30 * 24) as i64))));
        }
        if seq.chance(70) {
            body["agentId"] = json!(1 + seq.below(4));
        }
        if seq.chance(70) {
            let customer = *seq.pick(&CUSTOMERS);
            // Clients send ids as strings or numbers.
            body["customerId"] = if seq.chance(50) {
                json!(customer)
            } else {
                json!(customer.parse::<i64>().unwrap())
            };
        }
        if seq.chance(60) {
            body["contractId"] = json!(seq.pick(&CONTRACTS));
        }
        if seq.chance(50) {
            body["partnerId"] = json!(1 + seq.below(3));
        }
        if seq.chance(35) {
            body["spamStatus"] = json!(seq.pick(&SPAM_STATUSES));
        }
        if seq.chance(50) {
            body["summary"] = json!(seq.words(2));
        }
        match seq.below(3) {
            0 => body["bodyPlain"] = json!(seq.words(3)),
            // Only HTML, as many clients send it.
            1 => body["body"] = json!(format!("<p>{}</p><br/>", seq.words(3))),
            _ => {}
        }
        let id = stack.create(body).await["id"].as_i64().unwrap();
        if seq.chance(35) {
            for _ in 0..1 + seq.below(2) {
                conversations.push((id, seq.words(2)));
            }
        }
    }
    for (id, text) in &conversations {
        let (status, stored) = send(
            stack
                .admin(Method::POST, &format!("/ticket/{id}/conversation/store"))
                .json(&json!({"direction": "in", "body": format!("<p>{text}</p>")})),
        )
        .await;
        assert_eq!(status, 200, "{stored}");
    }
    let intents = seed_intents(stack, &mut seq).await;

    let (status, page) =
        send(stack.admin(Method::POST, "/ticket/search").json(&json!({"limit": 500}))).await;
    assert_eq!(status, 200, "{page}");
    let mut tickets = Vec::new();
    for row in page["tickets"].as_array().unwrap() {
        let id = row["id"].as_i64().unwrap();
        let (status, t) =
            send(stack.admin(Method::GET, &format!("/ticket/{id}?viewing=false"))).await;
        assert_eq!(status, 200, "{t}");
        let mut text = [&t["subject"], &t["summary"]].map(|v| v.as_str().unwrap_or("")).join(" ");
        text.push(' ');
        text.push_str(t["bodyPlain"].as_str().or(t["body"].as_str()).unwrap_or(""));
        for (_, message) in conversations.iter().filter(|(of, _)| *of == id) {
            text.push(' ');
            text.push_str(message);
        }
        let string = |key: &str| t[key].as_str().map(str::to_owned);
        let time = |key: &str| {
            t[key].as_str().map(|s| NaiveDateTime::parse_from_str(s, SQL_TIME).unwrap().and_utc())
        };
        tickets.push(Ticket {
            id,
            status: string("status").unwrap(),
            channel: string("channel").unwrap(),
            priority: string("priority").unwrap(),
            direction: string("direction").unwrap(),
            agent_id: t["agentId"].as_i64(),
            customer_id: string("customerId"),
            contract_id: string("contractId"),
            partner_id: t["partnerId"].as_i64(),
            spam_status: string("spamStatus"),
            created_at: time("createdAt").unwrap(),
            due_by: time("dueBy"),
            first_response_due_by: time("firstResponseDueBy"),
            closed_at: time("closedAt"),
            tag_ids: t["tagIds"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect(),
            ai_agent_ids: intents.iter().filter(|(of, _)| *of == id).map(|(_, a)| *a).collect(),
            words: words(&text),
        });
    }
    assert_eq!(tickets.len(), TICKETS);
    tickets
}

/// Gives some tickets intents, written straight into ticket-svc's read model (what agent-svc's
/// `TicketIntentsChanged` would leave there), at a version no real event reaches.
async fn seed_intents(stack: &Stack, seq: &mut Seq) -> Vec<(i64, i64)> {
    let mut db = stack.db().await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM ticket.ticket ORDER BY id")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let mut pairs = Vec::new();
    for id in ids {
        if seq.chance(60) {
            pairs.extend(AI_AGENTS.iter().filter(|_| seq.chance(40)).map(|a| (id, *a)));
        }
    }
    // The versions first: that waits for an event being applied (stored conversations make
    // agent-svc detect and publish), and stops every later one.
    sqlx::query(
        "INSERT INTO ticket.ticket_intent_version (ticket_id, version) \
         SELECT id, 9223372036854775807 FROM ticket.ticket \
         ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let (tickets, agents): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
    sqlx::query("DELETE FROM ticket.ticket_intent").execute(&mut db).await.unwrap();
    sqlx::query(
        "INSERT INTO ticket.ticket_intent (ticket_id, ai_agent_id) \
         SELECT * FROM unnest($1::bigint[], $2::bigint[])",
    )
    .bind(&tickets)
    .bind(&agents)
    .execute(&mut db)
    .await
    .unwrap();
    pairs
}

/// Lower-cased words of a text, HTML tags dropped.
fn words(text: &str) -> BTreeSet<String> {
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Filters.

#[derive(Debug, Clone, Copy, PartialEq)]
enum SetKey {
    Id,
    Status,
    Channel,
    Priority,
    Direction,
    AgentId,
    CustomerId,
    ContractId,
    PartnerId,
    SpamStatus,
    TagId,
    AiAgentId,
}

/// A ticket's value for a set key.
enum Field<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    Tags(&'a [i64]),
}

impl SetKey {
    const ALL: [SetKey; 12] = [
        SetKey::Id,
        SetKey::Status,
        SetKey::Channel,
        SetKey::Priority,
        SetKey::Direction,
        SetKey::AgentId,
        SetKey::CustomerId,
        SetKey::ContractId,
        SetKey::PartnerId,
        SetKey::SpamStatus,
        SetKey::TagId,
        SetKey::AiAgentId,
    ];

    fn name(self) -> &'static str {
        match self {
            SetKey::Id => "t.id",
            SetKey::Status => "t.status",
            SetKey::Channel => "t.channel",
            SetKey::Priority => "t.priority",
            SetKey::Direction => "t.direction",
            SetKey::AgentId => "t.agentId",
            SetKey::CustomerId => "t.customerId",
            SetKey::ContractId => "t.contractId",
            SetKey::PartnerId => "t.partnerId",
            SetKey::SpamStatus => "t.spamStatus",
            SetKey::TagId => "tt.tagId",
            SetKey::AiAgentId => "i.aiAgentId",
        }
    }

    fn field(self, t: &Ticket) -> Field<'_> {
        match self {
            SetKey::Id => Field::Int(Some(t.id)),
            SetKey::Status => Field::Text(Some(&t.status)),
            SetKey::Channel => Field::Text(Some(&t.channel)),
            SetKey::Priority => Field::Text(Some(&t.priority)),
            SetKey::Direction => Field::Text(Some(&t.direction)),
            SetKey::AgentId => Field::Int(t.agent_id),
            SetKey::CustomerId => Field::Text(t.customer_id.as_deref()),
            SetKey::ContractId => Field::Text(t.contract_id.as_deref()),
            SetKey::PartnerId => Field::Int(t.partner_id),
            SetKey::SpamStatus => Field::Text(t.spam_status.as_deref()),
            SetKey::TagId => Field::Tags(&t.tag_ids),
            SetKey::AiAgentId => Field::Tags(&t.ai_agent_ids),
        }
    }

    /// The values a filter on this key picks from: mostly ones the tickets have.
    fn domain(self, ids: &[i64]) -> Vec<V> {
        let texts = |items: &[&str]| items.iter().map(|s| V::Text((*s).into())).collect();
        let mut values: Vec<V> = match self {
            SetKey::Id => ids.iter().map(|id| V::Int(*id)).chain([V::Int(999_999)]).collect(),
            SetKey::Status => texts(&STATUSES),
            SetKey::Channel => {
                let mut v: Vec<V> = texts(&CHANNELS);
                v.extend([V::Text("walkIn".into()), V::All]);
                v
            }
            SetKey::Priority => texts(&PRIORITIES),
            SetKey::Direction => texts(&["in", "out", "internal"]),
            SetKey::AgentId => (1..=5).map(V::Int).chain([V::Unassigned]).collect(),
            SetKey::CustomerId => CUSTOMERS
                .iter()
                .flat_map(|c| [V::Text((*c).into()), V::Int(c.parse().unwrap())])
                .collect(),
            SetKey::ContractId => texts(&CONTRACTS),
            SetKey::PartnerId => (1..=4).map(V::Int).collect(),
            SetKey::SpamStatus => texts(&SPAM_STATUSES),
            SetKey::TagId => (1..=7).map(V::Int).collect(),
            SetKey::AiAgentId => (1..=5).map(V::Int).collect(),
        };
        values.push(V::Null);
        values
    }
}

/// A filter value as sent.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(i64),
    Text(String),
    /// The string `"null"`: a missing value.
    Null,
    /// `"unassigned"` (t.agentId): no agent.
    Unassigned,
    /// `"all"` (t.channel): no filter.
    All,
}

impl V {
    fn json(&self) -> Value {
        match self {
            V::Int(n) => json!(n),
            V::Text(s) => json!(s),
            V::Null => json!("null"),
            V::Unassigned => json!("unassigned"),
            V::All => json!("all"),
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            V::Int(n) => Some(n.to_string()),
            V::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// Whether a ticket's value equals this one (a missing value only equals null).
    fn equals(&self, field: &Field) -> bool {
        if matches!(self, V::Null | V::Unassigned) {
            return match field {
                Field::Int(v) => v.is_none(),
                Field::Text(v) => v.is_none(),
                Field::Tags(tags) => tags.is_empty(),
            };
        }
        match (field, self) {
            (Field::Int(Some(v)), V::Int(n)) => v == n,
            (Field::Tags(tags), V::Int(n)) => tags.contains(n),
            (Field::Text(Some(v)), _) => self.text().as_deref() == Some(*v),
            _ => false,
        }
    }

    /// How a present value orders against this one; None for a missing value.
    fn order(&self, field: &Field) -> Option<std::cmp::Ordering> {
        match (field, self) {
            (Field::Int(Some(v)), V::Int(n)) => Some(v.cmp(n)),
            (Field::Text(Some(v)), _) => Some(v.as_bytes().cmp(self.text()?.as_bytes())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le];

    fn name(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }

    fn accepts(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => o == Equal,
            Op::Ne => o != Equal,
            Op::Gt => o == Greater,
            Op::Ge => o != Less,
            Op::Lt => o == Less,
            Op::Le => o != Greater,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DateKey {
    CreatedAt,
    DueBy,
    FirstResponseDueBy,
    ClosedAt,
}

impl DateKey {
    const ALL: [DateKey; 4] =
        [DateKey::CreatedAt, DateKey::DueBy, DateKey::FirstResponseDueBy, DateKey::ClosedAt];

    fn name(self) -> &'static str {
        match self {
            DateKey::CreatedAt => "t.createdAt",
            DateKey::DueBy => "t.dueBy",
            DateKey::FirstResponseDueBy => "t.firstResponseDueBy",
            DateKey::ClosedAt => "t.closedAt",
        }
    }

    fn field(self, t: &Ticket) -> Option<DateTime<Utc>> {
        match self {
            DateKey::CreatedAt => Some(t.created_at),
            DateKey::DueBy => t.due_by,
            DateKey::FirstResponseDueBy => t.first_response_due_by,
            DateKey::ClosedAt => t.closed_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// A date value as sent.
#[derive(Debug, Clone, PartialEq)]
enum DateV {
    /// `YYYY-MM-DD HH:MM:SS`.
    Exact(DateTime<Utc>),
    /// `YYYY-MM-DD`: midnight UTC.
    Day(NaiveDate),
    /// `-7 DAY`, `+2 MONTH`, `3 HOUR`.
    Relative {
        amount: i64,
        unit: Unit,
        plus: bool,
    },
    CurrentDate,
    CurrentTime,
    /// `"null"` (with `=` and `!=`).
    Null,
}

impl DateV {
    fn json(&self) -> Value {
        match self {
            DateV::Exact(t) => json!(sql_time(*t)),
            DateV::Day(d) => json!(d.format("%Y-%m-%d").to_string()),
            DateV::Relative { amount, unit, plus } => {
                let unit = match unit {
                    Unit::Hour => "HOUR",
                    Unit::Day => "DAY",
                    Unit::Week => "WEEK",
                    Unit::Month => "MONTH",
                    Unit::Year => "YEAR",
                };
                let sign = if *plus && *amount >= 0 { "+" } else { "" };
                json!(format!("{sign}{amount} {unit}"))
            }
            DateV::CurrentDate => json!("CURRENT_DATE"),
            DateV::CurrentTime => json!("CURRENT_TIME"),
            DateV::Null => json!("null"),
        }
    }

    fn at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            DateV::Exact(t) => Some(*t),
            DateV::Day(d) => Some(d.and_hms_opt(0, 0, 0)?.and_utc()),
            DateV::Relative { amount, unit, .. } => {
                let months = |n: i64| {
                    let m = Months::new(n.unsigned_abs() as u32);
                    if n < 0 { now.checked_sub_months(m) } else { now.checked_add_months(m) }
                };
                match unit {
                    Unit::Hour => Some(now + Duration::hours(*amount)),
                    Unit::Day => Some(now + Duration::days(*amount)),
                    Unit::Week => Some(now + Duration::weeks(*amount)),
                    Unit::Month => months(*amount),
                    Unit::Year => months(amount * 12),
                }
            }
            DateV::CurrentDate => Some(now.date_naive().and_hms_opt(0, 0, 0)?.and_utc()),
            DateV::CurrentTime => Some(now),
            DateV::Null => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TagRel {
    All,
    Any,
    Exact,
    Allowed,
    Excluded,
}

/// A full-text query.
#[derive(Debug, Clone, PartialEq)]
enum Query {
    Words(Vec<String>),
    Number(String),
}

#[derive(Debug, Clone)]
enum F {
    In {
        key: SetKey,
        negate: bool,
        values: Vec<V>,
    },
    Compare {
        key: SetKey,
        op: Op,
        value: V,
    },
    Date {
        key: DateKey,
        op: Op,
        value: DateV,
    },
    Between {
        key: DateKey,
        negate: bool,
        from: DateV,
        to: DateV,
    },
    Tags {
        rel: TagRel,
        ids: Vec<i64>,
    },
    /// `with_comparator`: `"comparator": "="`, else none (as clients send it).
    Q {
        query: Query,
        with_comparator: bool,
    },
}

impl F {
    fn json(&self) -> Value {
        match self {
            F::In { key, negate, values } => json!({
                "key": key.name(),
                "comparator": if *negate { "not in" } else { "in" },
                "values": values.iter().map(V::json).collect::<Vec<_>>(),
            }),
            F::Compare { key, op, value } => {
                json!({"key": key.name(), "comparator": op.name(), "value": value.json()})
            }
            F::Date { key, op, value } => {
                json!({"key": key.name(), "comparator": op.name(), "value": value.json()})
            }
            F::Between { key, negate, from, to } => json!({
                "key": key.name(),
                "comparator": if *negate { "not between" } else { "between" },
                "from": from.json(),
                "to": to.json(),
            }),
            F::Tags { rel, ids } => {
                let key = match rel {
                    TagRel::All => "tt_matchAll.tagId",
                    TagRel::Any => "tt_matchAny.tagId",
                    TagRel::Exact => "tt_matchExact.tagId",
                    TagRel::Allowed => "tt_allowed.tagId",
                    TagRel::Excluded => "tt_excluded.tagId",
                };
                json!({"key": key, "comparator": "in", "values": ids})
            }
            F::Q { query, with_comparator } => {
                let text = match query {
                    Query::Words(words) => words.join(" "),
                    Query::Number(n) => n.clone(),
                };
                let mut f = json!({"key": "q", "value": text});
                if *with_comparator {
                    f["comparator"] = json!("=");
                }
                f
            }
        }
    }

    fn matches(&self, t: &Ticket, now: DateTime<Utc>) -> bool {
        match self {
            F::In { key, negate, values } => {
                if *key == SetKey::Channel && values.contains(&V::All) {
                    return true;
                }
                let field = key.field(t);
                values.iter().any(|v| v.equals(&field)) != *negate
            }
            F::Compare { key, op, value } => {
                if *key == SetKey::Channel && *value == V::All {
                    return true;
                }
                let field = key.field(t);
                match op {
                    Op::Eq => value.equals(&field),
                    Op::Ne => !value.equals(&field),
                    _ => value.order(&field).is_some_and(|o| op.accepts(o)),
                }
            }
            F::Date { key, op, value } => {
                let field = key.field(t);
                let equal = match value.at(now) {
                    None => field.is_none(),
                    Some(v) => field == Some(v),
                };
                match (op, value.at(now)) {
                    (Op::Eq, _) => equal,
                    (Op::Ne, _) => !equal,
                    (_, Some(v)) => field.is_some_and(|f| op.accepts(f.cmp(&v))),
                    (_, None) => unreachable!("null only with = and !="),
                }
            }
            F::Between { key, negate, from, to } => {
                let (from, to) = (from.at(now).unwrap(), to.at(now).unwrap());
                let inside = key.field(t).is_some_and(|f| from <= f && f <= to);
                inside != *negate
            }
            F::Tags { rel, ids } => {
                let given: BTreeSet<i64> = ids.iter().copied().collect();
                let has: BTreeSet<i64> = t.tag_ids.iter().copied().collect();
                match rel {
                    TagRel::All => given.is_subset(&has),
                    TagRel::Any => !given.is_disjoint(&has),
                    TagRel::Exact => given == has,
                    TagRel::Allowed => has.is_subset(&given),
                    TagRel::Excluded => given.is_disjoint(&has),
                }
            }
            F::Q { query, .. } => match query {
                Query::Number(n) => {
                    t.id.to_string() == *n
                        || t.contract_id.as_deref() == Some(n)
                        || t.customer_id.as_deref() == Some(n)
                        || t.words.contains(n)
                }
                Query::Words(words) => {
                    let text = words.join(" ");
                    if text.chars().filter(|c| !c.is_numeric()).count() < 4 {
                        return false;
                    }
                    words.iter().all(|w| t.words.contains(&w.to_lowercase()))
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

#[derive(Debug, Clone)]
struct Case {
    filters: Vec<F>,
    scope: Option<&'static str>,
    order: Option<&'static str>,
    direction: Option<&'static str>,
    limit: Option<i64>,
    offset: Option<i64>,
}

const ORDER_FIELDS: [&str; 10] = [
    "t.id",
    "t.createdAt",
    "t.dueBy",
    "t.firstResponseDueBy",
    "t.agentId",
    "t.customerId",
    "t.contractId",
    "t.partnerId",
    "i.aiAgentId",
    "relevance",
];

impl Case {
    /// Relevance with a `q` filter ranks by text weight, which the evaluator does not model:
    /// such pages are compared as sets, all rows on one page.
    fn ranked(&self) -> bool {
        self.order == Some("relevance") && self.filters.iter().any(|f| matches!(f, F::Q { .. }))
    }

    fn body(&self) -> Value {
        let mut body = json!({"filters": self.filters.iter().map(F::json).collect::<Vec<_>>()});
        let optional = [
            ("ticketScope", self.scope.map(Value::from)),
            ("orderByField", self.order.map(Value::from)),
            ("orderByDirection", self.direction.map(Value::from)),
            ("limit", self.limit.filter(|_| !self.ranked()).map(Value::from)),
            ("offset", self.offset.filter(|_| !self.ranked()).map(Value::from)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                body[key] = value;
            }
        }
        body
    }

    /// The expected page and total at `now`.
    fn expect(&self, tickets: &[Ticket], now: DateTime<Utc>) -> (Vec<i64>, usize) {
        let mut rows: Vec<&Ticket> = tickets
            .iter()
            .filter(|t| {
                self.scope != Some("skills")
                    || t.spam_status.as_deref().is_none_or(|s| !SPAM.contains(&s))
            })
            .filter(|t| self.filters.iter().all(|f| f.matches(t, now)))
            .collect();
        let total = rows.len();
        let desc = self.direction != Some("asc");
        let key = |t: &Ticket| -> Option<SortKey> {
            match self.order.unwrap_or("t.id") {
                "t.createdAt" => Some(SortKey::Time(t.created_at)),
                "t.dueBy" => t.due_by.map(SortKey::Time),
                "t.firstResponseDueBy" => t.first_response_due_by.map(SortKey::Time),
                "t.agentId" => t.agent_id.map(SortKey::Int),
                "t.customerId" => t.customer_id.clone().map(SortKey::Text),
                "t.contractId" => t.contract_id.clone().map(SortKey::Text),
                "t.partnerId" => t.partner_id.map(SortKey::Int),
                "i.aiAgentId" => t.ai_agent_ids.iter().min().copied().map(SortKey::Int),
                // t.id, and relevance without q.
                _ => Some(SortKey::Int(t.id)),
            }
        };
        rows.sort_by(|a, b| {
            let by_field = match (key(a), key(b)) {
                (None, None) => std::cmp::Ordering::Equal,
                // Missing values last in both directions.
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) if desc => y.cmp(&x),
                (Some(x), Some(y)) => x.cmp(&y),
            };
            by_field.then(if desc { b.id.cmp(&a.id) } else { a.id.cmp(&b.id) })
        });
        let (limit, offset) = if self.ranked() {
            (100, 0)
        } else {
            (self.limit.unwrap_or(100) as usize, self.offset.unwrap_or(0) as usize)
        };
        let page = rows.iter().skip(offset).take(limit).map(|t| t.id).collect();
        (page, total)
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

enum Checked {
    Agreed {
        total: usize,
    },
    /// A relative date's boundary passed a ticket while the request ran.
    Skipped,
}

async fn check(stack: &Stack, tickets: &[Ticket], case: &Case) -> Result<Checked, String> {
    let body = case.body();
    let before = Utc::now();
    let (status, page) = send(stack.admin(Method::POST, "/ticket/search").json(&body)).await;
    let after = Utc::now();
    if status != 200 {
        return Err(format!("{body} answered {status}: {page}"));
    }
    let expected = case.expect(tickets, before);
    if expected != case.expect(tickets, after) {
        return Ok(Checked::Skipped);
    }
    let (mut want, total) = expected;
    let mut got: Vec<i64> =
        page["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    if case.ranked() {
        want.sort_unstable();
        got.sort_unstable();
    }
    if got != want || page["total"] != json!(total) {
        return Err(format!(
            "{body}\n  expected ids {want:?} (total {total})\n  got      ids {got:?} (total {})",
            page["total"]
        ));
    }
    Ok(Checked::Agreed { total })
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn case_strategy(tickets: &[Ticket]) -> impl Strategy<Value = Case> {
    let ids: Arc<Vec<i64>> = Arc::new(tickets.iter().map(|t| t.id).collect());
    let dates = date_strategy(tickets);
    let set_key = select(SetKey::ALL.to_vec());

    let in_filter = {
        let ids = ids.clone();
        set_key.clone().prop_flat_map(move |key| {
            (any::<bool>(), prop::collection::vec(select(key.domain(&ids)), 1..4))
                .prop_map(move |(negate, values)| F::In { key, negate, values })
        })
    };
    let compare = {
        let ids = ids.clone();
        (set_key, select(Op::ALL.to_vec()))
            .prop_filter("sets compare with = or != only", |(key, op)| {
                !matches!(key, SetKey::TagId | SetKey::AiAgentId) || matches!(op, Op::Eq | Op::Ne)
            })
            .prop_flat_map(move |(key, op)| {
                // "null" and "all" are no values to order by; "unassigned" goes in a list.
                let values: Vec<V> = key
                    .domain(&ids)
                    .into_iter()
                    .filter(|v| match v {
                        V::Unassigned => false,
                        V::Null | V::All => matches!(op, Op::Eq | Op::Ne),
                        _ => true,
                    })
                    .collect();
                select(values).prop_map(move |value| F::Compare { key, op, value })
            })
    };
    let date_key = select(DateKey::ALL.to_vec());
    let date = (date_key.clone(), select(Op::ALL.to_vec()), dates.clone(), any::<bool>()).prop_map(
        |(key, op, value, null)| {
            // `= "null"` and `!= "null"`: a missing date.
            let value = if null && matches!(op, Op::Eq | Op::Ne) { DateV::Null } else { value };
            F::Date { key, op, value }
        },
    );
    let between = (date_key, any::<bool>(), dates.clone(), dates)
        .prop_map(|(key, negate, from, to)| F::Between { key, negate, from, to });
    let tags = (
        select(vec![TagRel::All, TagRel::Any, TagRel::Exact, TagRel::Allowed, TagRel::Excluded]),
        prop::collection::vec(1i64..=7, 0..4),
    )
        .prop_map(|(rel, ids)| F::Tags { rel, ids });
    let q = query_strategy(tickets);

    let filter = prop_oneof![
        4 => in_filter,
        4 => compare,
        4 => date,
        2 => between,
        3 => tags,
    ];
    let direction = prop::option::of(select(vec!["asc", "desc"]));
    (
        prop::collection::vec(filter, 0..4),
        prop::option::of(q),
        any::<bool>(),
        prop::option::of(select(vec!["all", "skills"])),
        prop::option::of(select(ORDER_FIELDS.to_vec())),
        direction,
        prop::option::of(1i64..60),
        prop::option::of(0i64..50),
    )
        .prop_map(|(mut filters, q, q_first, scope, order, direction, limit, offset)| {
            if let Some(q) = q {
                if q_first { filters.insert(0, q) } else { filters.push(q) }
            }
            Case { filters, scope, order, direction, limit, offset }
        })
}

/// Seeded times exactly (for `=` and the ends of ranges), days, offsets from now.
fn date_strategy(tickets: &[Ticket]) -> BoxedStrategy<DateV> {
    let exact: Vec<DateTime<Utc>> = tickets
        .iter()
        .flat_map(|t| [Some(t.created_at), t.due_by, t.first_response_due_by, t.closed_at])
        .flatten()
        .collect();
    let now = Utc::now();
    let today = now.date_naive();
    let created: Vec<DateTime<Utc>> = tickets.iter().map(|t| t.created_at).collect();
    let near = (
        select(created),
        prop_oneof![1 => Just(Unit::Hour), 1 => Just(Unit::Day), 1 => Just(Unit::Week),
            3 => Just(Unit::Month), 2 => Just(Unit::Year)],
        -1i64..=1,
    )
        .prop_map(move |(t, unit, jitter)| {
            let days = (t - now).num_days() as f64;
            let amount = match unit {
                Unit::Hour => (t - now).num_hours(),
                Unit::Day => days as i64,
                Unit::Week => (days / 7.0) as i64,
                Unit::Month => (days / 30.44).round() as i64,
                Unit::Year => (days / 365.25).round() as i64,
            };
            DateV::Relative { amount: amount + jitter, unit, plus: false }
        });
    let units = select(vec![Unit::Hour, Unit::Day, Unit::Week, Unit::Month, Unit::Year]);
    prop_oneof![
        3 => select(exact).prop_map(DateV::Exact),
        // Offsets from now that land next to a seeded time, where whole days, calendar months
        // and years make a difference.
        4 => near,
        2 => (-900i64..90).prop_map(move |d| DateV::Day(today + Duration::days(d))),
        3 => (units, -30i64..30, any::<bool>()).prop_map(|(unit, amount, plus)| {
            // Spread each unit over about the seeded range.
            let amount = match unit {
                Unit::Hour => amount * 5,
                Unit::Day => amount * 10,
                Unit::Week => amount * 2,
                Unit::Month => amount,
                Unit::Year => amount / 10,
            };
            DateV::Relative { amount, unit, plus }
        }),
        1 => Just(DateV::CurrentDate),
        1 => Just(DateV::CurrentTime),
    ]
    .boxed()
}

fn query_strategy(tickets: &[Ticket]) -> BoxedStrategy<F> {
    let word = select(WORDS.to_vec()).prop_flat_map(|w| {
        // Case does not matter (upper-cased only in ASCII: non-ASCII case folding is the
        // database locale's business).
        if w.is_ascii() {
            select(vec![w.to_owned(), w.to_uppercase(), capitalised(w)])
        } else {
            select(vec![w.to_owned()])
        }
    });
    let numbers: Vec<String> = tickets
        .iter()
        .map(|t| t.id.to_string())
        .chain(CUSTOMERS.iter().chain(CONTRACTS.iter()).map(|s| (*s).to_owned()))
        .chain(["424242".to_owned()])
        .collect();
    let query = prop_oneof![
        4 => prop::collection::vec(word, 1..3).prop_map(Query::Words),
        1 => select(SHORT.to_vec()).prop_map(|w| Query::Words(vec![w.to_owned()])),
        1 => Just(Query::Words(vec!["nowhere".to_owned()])),
        2 => select(numbers).prop_map(Query::Number),
    ];
    (query, any::<bool>())
        .prop_map(|(query, with_comparator)| F::Q { query, with_comparator })
        .boxed()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
