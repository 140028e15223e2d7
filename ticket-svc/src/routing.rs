//! "Next ticket" (contract §8.1): the caller's queue is the open, non-spam tickets their
//! skills allow (untagged tickets pass every skill filter), tickets assigned to the caller
//! first, in the configured distribution order. Taking a ticket claims it through the caller's
//! presence, so two agents asking at the same moment never get the same ticket; when an agent
//! stops pinging, the presence expires and the ticket is offered again.

use chrono::Utc;
use enneo_common::auth::Caller;
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};

use crate::presence;
use crate::projections::ignored_tags;
use crate::search::{Condition, parse_filters, push_where};
use crate::tags::id_list;

/// How far down the queue `next`/`previous` navigation looks.
const QUEUE_WINDOW: i64 = 1000;

/// `autopilotTagMatchingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Matching {
    /// At least one of the ticket's tags is a skill (the default).
    #[serde(rename = "matchAny")]
    Any,
    /// Every tag of the ticket is a skill.
    #[serde(rename = "matchAll")]
    All,
}

/// `autopilotOrderingSequence`: primary key plus tie-breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Ordering {
    /// SLA due date ascending, most overdue first; no due date counts as 2099-12-31.
    DueDate,
    PriorityThenDueDate,
    /// Highest priority, then newest last customer message (LIFO).
    PriorityThenNewest,
    /// Highest priority, then oldest customer message (FIFO).
    PriorityThenOldest,
}

/// The `[routing]` configuration: defaults until the tenant settings
/// `autopilotTagMatchingMode` / `autopilotOrderingSequence` are set.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Config {
    pub matching: Matching,
    #[serde(rename = "order")]
    pub ordering: Ordering,
}

impl Default for Config {
    fn default() -> Self {
        Self { matching: Matching::Any, ordering: Ordering::DueDate }
    }
}

fn matching(value: &str) -> Option<Matching> {
    match value {
        "matchAny" => Some(Matching::Any),
        "matchAll" => Some(Matching::All),
        _ => None,
    }
}

fn ordering(value: &str) -> Option<Ordering> {
    match value {
        "dueDate" => Some(Ordering::DueDate),
        "priorityThenDueDate" => Some(Ordering::PriorityThenDueDate),
        "priorityThenNewest" => Some(Ordering::PriorityThenNewest),
        "priorityThenOldest" => Some(Ordering::PriorityThenOldest),
        _ => None,
    }
}

impl Config {
    /// These defaults overridden by the tenant settings cached from `SettingChanged`.
    pub async fn current(self, pool: &PgPool) -> Result<Self> {
        let cached: Vec<(String, serde_json::Value)> =
            sqlx::query_as("SELECT name, value FROM ticket.setting_cache").fetch_all(pool).await?;
        let mut settings = self;
        for (name, value) in cached {
            match (name.as_str(), value.as_str()) {
                ("autopilotTagMatchingMode", Some(v)) => {
                    settings.matching = matching(v).unwrap_or(settings.matching);
                }
                ("autopilotOrderingSequence", Some(v)) => {
                    settings.ordering = ordering(v).unwrap_or(settings.ordering);
                }
                _ => {}
            }
        }
        Ok(settings)
    }

    fn order_by(self) -> &'static str {
        match self.ordering {
            Ordering::DueDate => "coalesce(t.due_by, '2099-12-31'::timestamptz) ASC",
            Ordering::PriorityThenDueDate => {
                "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 \
                 ELSE 1 END DESC, coalesce(t.due_by, '2099-12-31'::timestamptz) ASC"
            }
            Ordering::PriorityThenNewest => {
                "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 \
                 ELSE 1 END DESC, coalesce(t.last_customer_message_at, t.created_at) DESC"
            }
            Ordering::PriorityThenOldest => {
                "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 \
                 ELSE 1 END DESC, coalesce(t.last_customer_message_at, t.created_at) ASC"
            }
        }
    }
}

/// The ordered queue of ticket ids the caller may be routed (without claiming anything):
/// tickets assigned to the caller first (they bypass the tag filters), then unassigned ones.
async fn queue(
    pool: &PgPool,
    settings: Config,
    caller: &Caller,
    filters: &[pb::Filter],
) -> Result<Vec<i64>> {
    let conditions = parse_filters(filters, Utc::now())?;
    let ignored = ignored_tags(&mut *pool.acquire().await?).await?;
    let mut ids = part(pool, settings, caller, &conditions, &ignored, true).await?;
    ids.extend(part(pool, settings, caller, &conditions, &ignored, false).await?);
    ids.truncate(QUEUE_WINDOW as usize);
    Ok(ids)
}

/// One half of the queue; separate queries let the unassigned half walk its partial index
/// in distribution order instead of sorting every open ticket.
async fn part(
    pool: &PgPool,
    settings: Config,
    caller: &Caller,
    conditions: &[Condition],
    ignored: &[i64],
    assigned_to_caller: bool,
) -> Result<Vec<i64>> {
    let routing = &caller.routing;
    // The ticket's tags as routing sees them: without ignored ones.
    let tags = |q: &mut QueryBuilder<Postgres>| {
        if ignored.is_empty() {
            q.push("t.tag_ids");
        } else {
            q.push("ARRAY(SELECT x FROM unnest(t.tag_ids) x WHERE x <> ALL(");
            q.push_bind(ignored.to_vec()).push("))");
        }
    };
    let mut q = QueryBuilder::<Postgres>::new(
        "SELECT t.id FROM ticket.ticket t WHERE t.status = 'open' \
         AND (t.spam_status IS NULL \
              OR t.spam_status NOT IN ('auto_spam', 'auto_programmatic', 'manual_spam'))",
    );
    if assigned_to_caller {
        q.push(" AND t.agent_id = ").push_bind(caller.user_id);
    } else {
        // Others' tickets are theirs.
        q.push(" AND t.agent_id IS NULL");
        if let Some(skills) = &routing.skills {
            match settings.matching {
                Matching::Any => {
                    q.push(" AND (cardinality(");
                    tags(&mut q);
                    q.push(") = 0 OR ");
                    tags(&mut q);
                    q.push(" && ").push_bind(skills.clone()).push(")");
                }
                Matching::All => {
                    q.push(" AND ");
                    tags(&mut q);
                    q.push(" <@ ").push_bind(skills.clone());
                }
            }
        }
        if !routing.excluded_tag_ids.is_empty() {
            q.push(" AND NOT (");
            tags(&mut q);
            q.push(" && ").push_bind(routing.excluded_tag_ids.clone()).push(")");
        }
        if !routing.required_tag_ids.is_empty() {
            q.push(" AND ");
            tags(&mut q);
            q.push(" && ").push_bind(routing.required_tag_ids.clone());
        }
        if !routing.channels.is_empty() {
            q.push(" AND t.channel = ANY(").push_bind(routing.channels.clone()).push(")");
        }
    }
    q.push(
        " AND NOT EXISTS (SELECT 1 FROM ticket.presence p WHERE p.ticket_id = t.id \
         AND p.user_id <> ",
    );
    q.push_bind(caller.user_id).push(" AND p.expires_at > now())");
    push_where(&mut q, conditions, true);
    q.push(format!(" ORDER BY {}, t.id ASC LIMIT ", settings.order_by()));
    q.push_bind(QUEUE_WINDOW);
    Ok(q.build_query_scalar().fetch_all(pool).await?)
}

/// A claimed ticket: its row lock and the caller's presence live in `tx` until the caller
/// commits (after recording what it needs to in the same transaction).
pub struct Claimed {
    pub id: i64,
    pub tx: Transaction<'static, Postgres>,
}

/// Picks and claims the next ticket; `None` when the caller's queue is empty.
pub async fn next(
    pool: &PgPool,
    settings: Config,
    caller: &Caller,
    req: &pb::GetNextTicketRequest,
) -> Result<Option<Claimed>> {
    let ids = queue(pool, settings, caller, &req.filters).await?;
    let position = req.ticket_id.and_then(|id| ids.iter().position(|t| *t == id));
    let candidates: Vec<i64> = match (req.preferred_direction.as_str(), position) {
        ("" | "earliest", _) => ids,
        ("next", Some(p)) => ids[p + 1..].to_vec(),
        ("previous", Some(p)) => ids[..p].iter().rev().copied().collect(),
        ("next" | "previous", None) if req.ticket_id.is_none() => {
            return Err(Error::InvalidArgument(
                "preferredDirection next/previous needs ticketId".into(),
            ));
        }
        // The current ticket left the queue (closed, taken): start from the head.
        ("next" | "previous", None) => ids,
        (other, _) => {
            return Err(Error::InvalidArgument(format!(
                "preferredDirection must be earliest, previous or next, got {other:?}"
            )));
        }
    };
    for id in candidates {
        if let Some(claimed) = claim(pool, caller, id).await? {
            return Ok(Some(claimed));
        }
    }
    Ok(None)
}

/// Claims `id` for the caller unless another agent holds it or it is no longer open.
async fn claim(pool: &PgPool, caller: &Caller, id: i64) -> Result<Option<Claimed>> {
    let mut tx = pool.begin().await?;
    // SKIP LOCKED: a concurrent claimer holds this row; move on rather than wait. NO KEY
    // UPDATE still excludes other claimers, writers and deletes, but not the key-share locks of
    // a conversation insert or a projection, which must not make a free ticket look taken.
    let locked: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM ticket.ticket WHERE id = $1 AND status = 'open' \
         FOR NO KEY UPDATE SKIP LOCKED",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if locked.is_none() {
        return Ok(None);
    }
    // A fresh statement sees presences committed after the queue was read.
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ticket.presence WHERE ticket_id = $1 \
         AND user_id <> $2 AND expires_at > now())",
    )
    .bind(id)
    .bind(caller.user_id)
    .fetch_one(&mut *tx)
    .await?;
    if taken {
        return Ok(None);
    }
    presence::ping(&mut tx, id, caller.user_id).await?;
    Ok(Some(Claimed { id, tx }))
}

impl Matching {
    fn as_str(self) -> &'static str {
        match self {
            Self::Any => "matchAny",
            Self::All => "matchAll",
        }
    }
}

impl Ordering {
    fn as_str(self) -> &'static str {
        match self {
            Self::DueDate => "dueDate",
            Self::PriorityThenDueDate => "priorityThenDueDate",
            Self::PriorityThenNewest => "priorityThenNewest",
            Self::PriorityThenOldest => "priorityThenOldest",
        }
    }
}

const DEFAULT_EXPLAIN_LIMIT: i64 = 20;
const MAX_EXPLAIN_LIMIT: i64 = 100;

#[derive(sqlx::FromRow)]
struct Facts {
    id: i64,
    status: String,
    channel: String,
    spam_status: Option<String>,
    agent_id: Option<i64>,
    tag_ids: Vec<i64>,
    /// Another user's live presence on the ticket.
    held_by: Option<i64>,
}

async fn facts(pool: &PgPool, ids: &[i64], user_id: i64) -> Result<Vec<Facts>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.status, t.channel, t.spam_status, t.agent_id, t.tag_ids, \
         (SELECT p.user_id FROM ticket.presence p WHERE p.ticket_id = t.id AND p.user_id <> $2 \
          AND p.expires_at > now() ORDER BY p.expires_at DESC LIMIT 1) AS held_by \
         FROM ticket.ticket t WHERE t.id = ANY($1)",
    )
    .bind(ids)
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

/// Why a ticket in the queue is there.
fn reason(ticket: &Facts, routing_tags: &[i64], user: &Caller, matching: Matching) -> String {
    let skills = &user.routing.skills;
    if ticket.agent_id == Some(user.user_id) {
        "assigned to this user".into()
    } else if skills.is_none() {
        "unassigned; the user has no skill restriction".into()
    } else if routing_tags.is_empty() {
        "unassigned and untagged: open to every skill".into()
    } else if matching == Matching::All {
        format!("unassigned; every tag ({}) is a skill of the user", id_list(routing_tags))
    } else {
        let skills = skills.as_deref().unwrap_or_default();
        let matched: Vec<i64> =
            routing_tags.iter().copied().filter(|t| skills.contains(t)).collect();
        format!("unassigned; tag(s) {} are skills of the user", id_list(&matched))
    }
}

/// Everything that keeps a ticket away from the user.
fn obstacles(
    ticket: &Facts,
    routing_tags: &[i64],
    user: &Caller,
    matching: Matching,
) -> Vec<String> {
    let mut why = Vec::new();
    if ticket.status != "open" {
        why.push(format!("status is {}; only open tickets are routed", ticket.status));
    }
    if let Some(spam) = ticket
        .spam_status
        .as_deref()
        .filter(|s| ["auto_spam", "auto_programmatic", "manual_spam"].contains(s))
    {
        why.push(format!("marked as spam ({spam})"));
    }
    if let Some(holder) = ticket.held_by {
        why.push(format!("user {holder} is working on it"));
    }
    match ticket.agent_id {
        Some(agent) if agent == user.user_id => return why,
        Some(agent) => why.push(format!("assigned to user {agent}")),
        None => {}
    }
    let routing = &user.routing;
    if !routing.channels.is_empty() && !routing.channels.contains(&ticket.channel) {
        why.push(format!(
            "its channel {} is not among the user's channels ({})",
            ticket.channel,
            routing.channels.join(", ")
        ));
    }
    if let Some(skills) = &routing.skills {
        let missing: Vec<i64> =
            routing_tags.iter().copied().filter(|t| !skills.contains(t)).collect();
        match matching {
            Matching::Any if !routing_tags.is_empty() && missing.len() == routing_tags.len() => {
                why.push(format!(
                    "none of its tags ({}) is a skill of the user",
                    id_list(routing_tags)
                ));
            }
            Matching::All if !missing.is_empty() => {
                why.push(format!(
                    "tag(s) {} are not skills of the user, and every tag must be (matchAll)",
                    id_list(&missing)
                ));
            }
            _ => {}
        }
    }
    let excluded: Vec<i64> =
        routing_tags.iter().copied().filter(|t| routing.excluded_tag_ids.contains(t)).collect();
    if !excluded.is_empty() {
        why.push(format!("tag(s) {} are excluded for the user", id_list(&excluded)));
    }
    if !routing.required_tag_ids.is_empty()
        && !routing_tags.iter().any(|t| routing.required_tag_ids.contains(t))
    {
        why.push(format!(
            "it has none of the tags the user's backlog requires ({})",
            id_list(&routing.required_tag_ids)
        ));
    }
    why
}

/// What `user`'s queue holds, a page of it with the reason each ticket is there, and — for
/// `ticket_id` — whether and why (not) that ticket would be routed to them.
pub async fn explain(
    pool: &PgPool,
    settings: Config,
    user: &Caller,
    req: &pb::ExplainRoutingRequest,
) -> Result<pb::ExplainRoutingResponse> {
    let limit = match req.limit {
        0 => DEFAULT_EXPLAIN_LIMIT,
        l if l < 0 => return Err(Error::InvalidArgument("limit must be positive".into())),
        l => l.min(MAX_EXPLAIN_LIMIT),
    };
    if req.offset < 0 {
        return Err(Error::InvalidArgument("offset must not be negative".into()));
    }
    let q = req.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let filters: Vec<pb::Filter> = q
        .map(|q| pb::Filter { key: "q".into(), value: Some(q.into()), ..Default::default() })
        .into_iter()
        .collect();
    let ids = queue(pool, settings, user, &filters).await?;
    let ignored = ignored_tags(&mut *pool.acquire().await?).await?;
    let routing_tags =
        |f: &Facts| f.tag_ids.iter().copied().filter(|t| !ignored.contains(t)).collect::<Vec<_>>();

    let start = (req.offset as usize).min(ids.len());
    let page = &ids[start..(start + limit as usize).min(ids.len())];
    let found = facts(pool, page, user.user_id).await?;
    let tickets = page
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let ticket = found.iter().find(|f| f.id == *id)?;
            Some(pb::RoutedTicket {
                ticket_id: *id,
                position: (start + i) as i64,
                reason: reason(ticket, &routing_tags(ticket), user, settings.matching),
            })
        })
        .collect();

    let ticket = match req.ticket_id {
        None => None,
        Some(id) => {
            let ticket = facts(pool, &[id], user.user_id)
                .await?
                .pop()
                .ok_or_else(|| Error::NotFound(format!("ticket {id} not found")))?;
            let position = ids.iter().position(|t| *t == id);
            let tags = routing_tags(&ticket);
            let reasons = match position {
                Some(_) => vec![reason(&ticket, &tags, user, settings.matching)],
                None => {
                    let mut why = obstacles(&ticket, &tags, user, settings.matching);
                    if why.is_empty() {
                        why.push(if q.is_some() {
                            "it does not match q".into()
                        } else {
                            format!("it is beyond the first {QUEUE_WINDOW} tickets of the queue")
                        });
                    }
                    why
                }
            };
            Some(pb::RoutingVerdict {
                ticket_id: id,
                routable: position.is_some(),
                position: position.map(|p| p as i64),
                reasons,
            })
        }
    };
    Ok(pb::ExplainRoutingResponse {
        tickets,
        total: ids.len() as i64,
        ticket,
        matching: settings.matching.as_str().into(),
        ordering: settings.ordering.as_str().into(),
        limit,
    })
}
