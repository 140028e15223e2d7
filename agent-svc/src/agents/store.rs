//! Agents in `agent.agent`, each write a version in `agent.agent_version` and an
//! `AiAgentChanged` event, in one transaction.

use chrono::{DateTime, Utc};
use enneo_common::auth::Caller;
use enneo_common::outbox::{NewEvent, Outbox};
use enneo_common::service_error::{Error, OnConstraint, Result};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

use super::document;

pub const AI_AGENT_CHANGED: &str = "AiAgentChanged";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentRow {
    pub id: i64,
    pub slug: String,
    pub definition: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

impl AgentRow {
    pub fn document(&self) -> Value {
        document::render(
            self.id,
            &self.slug,
            &self.definition,
            self.version,
            self.created_at,
            self.modified_at,
        )
    }

    pub fn name(&self) -> &str {
        self.definition.get("name").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn channels(&self) -> Vec<&str> {
        match self.definition.get("channels") {
            Some(Value::Array(c)) => c.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

const COLUMNS: &str = "id, slug, definition, version, created_at, modified_at";

#[derive(Debug, Default)]
pub struct Filter {
    pub q: Option<String>,
    pub intelligence: Option<String>,
    pub channel: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Live agents matching `filter`, by id, and how many match in all. `neo*` intelligences are
/// internal and only listed when asked for by name.
pub async fn list(pool: &PgPool, filter: &Filter) -> Result<(Vec<AgentRow>, i64)> {
    let matching = "deleted_at IS NULL \
           AND ($1::text IS NULL OR definition->>'intelligence' = $1) \
           AND ($1::text IS NOT NULL OR coalesce(definition->>'intelligence', '') NOT LIKE 'neo%') \
           AND ($2::text IS NULL OR definition->'channels' ? $2) \
           AND ($3::text IS NULL OR (coalesce(definition->>'name', '') || ' ' || \
                coalesce(definition->>'description', '') || ' ' || slug) ILIKE '%' || $3 || '%')";
    let q = filter.q.as_deref().map(escape_like);
    let count = format!("SELECT count(*) FROM agent.agent WHERE {matching}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(&filter.intelligence)
        .bind(&filter.channel)
        .bind(&q)
        .fetch_one(pool)
        .await?;
    let page = format!(
        "SELECT {COLUMNS} FROM agent.agent WHERE {matching} ORDER BY id LIMIT $4 OFFSET $5"
    );
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(page))
        .bind(&filter.intelligence)
        .bind(&filter.channel)
        .bind(&q)
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(pool)
        .await?;
    Ok((rows, total))
}

fn escape_like(q: &str) -> String {
    q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Every live agent (detection reads them all).
pub async fn all_live(pool: &PgPool) -> Result<Vec<AgentRow>> {
    let sql = format!("SELECT {COLUMNS} FROM agent.agent WHERE deleted_at IS NULL ORDER BY id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?)
}

/// A fingerprint of the live agent set: changes whenever an agent is written or deleted.
pub async fn generation(pool: &PgPool) -> Result<String> {
    let (g,): (Option<String>,) = sqlx::query_as(
        "SELECT md5(string_agg(id || ':' || version, ',' ORDER BY id)) \
         FROM agent.agent WHERE deleted_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok(g.unwrap_or_default())
}

pub async fn get(conn: &mut PgConnection, id: i64) -> Result<AgentRow> {
    let sql = format!("SELECT {COLUMNS} FROM agent.agent WHERE id = $1 AND deleted_at IS NULL");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

pub async fn by_slug(conn: &mut PgConnection, slug: &str) -> Result<Option<AgentRow>> {
    let sql = format!("SELECT {COLUMNS} FROM agent.agent WHERE slug = $1 AND deleted_at IS NULL");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(slug).fetch_optional(conn).await?)
}

fn not_found(id: i64) -> Error {
    Error::NotFound(format!("AI agent {id} not found"))
}

fn locked(sql: &str) -> String {
    format!("{sql} FOR UPDATE")
}

/// Inserts a prepared definition as version 1. Its slug is the document's, or one made from
/// its name (numbered when taken).
pub async fn insert(
    tx: &mut PgConnection,
    outbox: &Outbox,
    definition: Value,
    action: &str,
    caller: &Caller,
) -> Result<AgentRow> {
    let given = definition.get("slug").and_then(Value::as_str).map(str::to_owned);
    let slug = match given {
        Some(slug) => slug,
        None => {
            free_slug(tx, &document::slugify(definition["name"].as_str().unwrap_or(""))).await?
        }
    };
    let sql =
        format!("INSERT INTO agent.agent (slug, definition) VALUES ($1, $2) RETURNING {COLUMNS}");
    let row: AgentRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&slug)
        .bind(without_slug(definition))
        .fetch_one(&mut *tx)
        .await
        .on_constraint("agent_slug_live_key", || {
            Error::Conflict(format!("an AI agent with slug {slug:?} exists"))
        })?;
    record(tx, outbox, &row, action, caller).await?;
    Ok(row)
}

async fn free_slug(tx: &mut PgConnection, base: &str) -> Result<String> {
    let taken: Vec<(String,)> = sqlx::query_as(
        "SELECT slug FROM agent.agent WHERE deleted_at IS NULL AND (slug = $1 OR slug LIKE $2)",
    )
    .bind(base)
    .bind(format!("{}\\_%", escape_like(base)))
    .fetch_all(&mut *tx)
    .await?;
    let taken: std::collections::HashSet<String> = taken.into_iter().map(|(s,)| s).collect();
    Ok((1..)
        .map(|n| if n == 1 { base.to_owned() } else { format!("{base}_{n}") })
        .find(|s| !taken.contains(s))
        .expect("some number is free"))
}

fn without_slug(mut definition: Value) -> Value {
    if let Some(d) = definition.as_object_mut() {
        d.remove("slug");
    }
    definition
}

/// The stored definition (with its slug), locked for a write.
pub async fn lock(tx: &mut PgConnection, id: i64) -> Result<AgentRow> {
    let sql =
        locked(&format!("SELECT {COLUMNS} FROM agent.agent WHERE id = $1 AND deleted_at IS NULL"));
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| not_found(id))
}

/// Writes a new definition (already prepared) as the next version.
pub async fn replace(
    tx: &mut PgConnection,
    outbox: &Outbox,
    current: &AgentRow,
    definition: Value,
    action: &str,
    caller: &Caller,
) -> Result<AgentRow> {
    let slug = definition.get("slug").and_then(Value::as_str).unwrap_or(&current.slug).to_owned();
    let sql = format!(
        "UPDATE agent.agent SET slug = $2, definition = $3, version = version + 1, \
         modified_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row: AgentRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(current.id)
        .bind(&slug)
        .bind(without_slug(definition))
        .fetch_one(&mut *tx)
        .await
        .on_constraint("agent_slug_live_key", || {
            Error::Conflict(format!("an AI agent with slug {slug:?} exists"))
        })?;
    record(tx, outbox, &row, action, caller).await?;
    Ok(row)
}

pub async fn soft_delete(
    tx: &mut PgConnection,
    outbox: &Outbox,
    id: i64,
    caller: &Caller,
) -> Result<()> {
    let current = lock(tx, id).await?;
    let sql = format!(
        "UPDATE agent.agent SET deleted_at = now(), version = version + 1, modified_at = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row: AgentRow =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(current.id).fetch_one(&mut *tx).await?;
    record(tx, outbox, &row, "delete", caller).await
}

/// The version row and the event of a write.
async fn record(
    tx: &mut PgConnection,
    outbox: &Outbox,
    row: &AgentRow,
    action: &str,
    caller: &Caller,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent.agent_version (agent_id, version, definition, action, created_by) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(row.id)
    .bind(row.version)
    .bind(row.document())
    .bind(action)
    .bind(caller.user_id)
    .execute(&mut *tx)
    .await?;
    outbox
        .record(
            tx,
            NewEvent {
                domain: "agent",
                event_type: AI_AGENT_CHANGED,
                aggregate_id: row.id.to_string(),
                aggregate_version: row.version,
                actor: if caller.user_id == 0 {
                    "system".into()
                } else {
                    caller.user_id.to_string()
                },
                payload: json!({"aiAgentId": row.id, "slug": row.slug, "action": action,
                                "version": row.version}),
            },
        )
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub version: i64,
    pub definition: Value,
    pub action: String,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// The history of a live agent, newest first, and its current version.
pub async fn history(pool: &PgPool, id: i64) -> Result<(Vec<VersionRow>, i64)> {
    let mut conn = pool.acquire().await?;
    let current = get(&mut conn, id).await?;
    let rows = sqlx::query_as(
        "SELECT version, definition, action, created_by, created_at FROM agent.agent_version \
         WHERE agent_id = $1 ORDER BY version DESC",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, current.version))
}

pub async fn version(tx: &mut PgConnection, id: i64, version: i64) -> Result<VersionRow> {
    sqlx::query_as(
        "SELECT version, definition, action, created_by, created_at FROM agent.agent_version \
         WHERE agent_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(tx)
    .await?
    .ok_or_else(|| Error::NotFound(format!("AI agent {id} has no version {version}")))
}

/// Slug and name of agents by id, deleted ones included (old intents still name them).
pub async fn names(
    pool: &PgPool,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (String, String)>> {
    let rows: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, slug, definition->>'name' FROM agent.agent WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(id, slug, name)| (id, (slug, name.unwrap_or_default()))).collect())
}

/// An agent by id, deleted or not (an intent still runs the agent it was detected for).
pub async fn get_any(conn: &mut PgConnection, id: i64) -> Result<AgentRow> {
    let sql = format!("SELECT {COLUMNS} FROM agent.agent WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| not_found(id))
}
