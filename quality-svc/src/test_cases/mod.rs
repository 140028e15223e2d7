//! Test cases: a ticket snapshot bound to an AI agent with an expected result. The snapshot
//! is taken once, when the case is made; a later change of the ticket marks the case stale
//! ([`staleness`]) and never rewrites it. Every expectation a case has had is kept in
//! `test_case_expectation` with who set it and when. A new case is prepared for fast runs in
//! the background ([`crate::workers::prepare`]).

pub mod expectation;
pub mod history;
pub mod snapshot;
pub mod staleness;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use enneo_common::auth::Caller;
use enneo_common::service_error::{Error, Result};
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection, PgPool};
use tokio::sync::Notify;

use crate::upstream::{Agent, Upstream};

#[derive(Clone)]
pub struct TestCases {
    pub pool: PgPool,
    pub upstream: Upstream,
    /// Wakes the preparation worker after a commit that made cases.
    pub prepare: Arc<Notify>,
}

#[derive(Debug, FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub ticket_id: i64,
    pub ai_agent_id: i64,
    pub ai_agent_code: String,
    pub ai_agent_name: String,
    pub channel: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub snapshot: Value,
    pub snapshot_version: i64,
    pub expected_result: Option<Value>,
    pub expectation_version: i32,
    pub stale: bool,
    pub stale_since: Option<DateTime<Utc>>,
    pub created_by: i64,
    pub modified_by: i64,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub prepared_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, ticket_id, ai_agent_id, ai_agent_code, ai_agent_name, channel, \
    summary, description, snapshot, snapshot_version, expected_result, expectation_version, \
    stale, stale_since, created_by, modified_by, created_at, modified_at, prepared_at";

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl CaseRow {
    /// The TestCase of contract §4.3, with both agent fields (`aiAgentId` and the newer
    /// `aiAgentIds`) and the slug result maps are keyed by.
    pub fn document(&self) -> Value {
        json!({
            "id": self.id,
            "ticketId": self.ticket_id,
            "aiAgentId": self.ai_agent_id,
            "aiAgentIds": [self.ai_agent_id],
            "aiAgentCode": self.ai_agent_code,
            "aiAgentName": self.ai_agent_name,
            "channel": self.channel,
            "summary": self.summary,
            "description": self.description,
            "expectedResult": self.expected_result,
            "expectationVersion": self.expectation_version,
            "stale": self.stale,
            "staleSince": self.stale_since.map(iso),
            "snapshotVersion": self.snapshot_version,
            "ticket": self.snapshot,
            "createdBy": self.created_by,
            "modifiedBy": self.modified_by,
            "createdAt": iso(self.created_at),
            "modifiedAt": iso(self.modified_at),
            "preparedAt": self.prepared_at.map(iso),
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub ai_agent_id: Option<i64>,
    pub channel: Option<String>,
    pub q: Option<String>,
}

pub async fn list(pool: &PgPool, f: &Filter) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM quality.test_case \
         WHERE ($1::bigint IS NULL OR ai_agent_id = $1) AND ($2::text IS NULL OR channel = $2) \
           AND ($3::text IS NULL OR strpos(lower(coalesce(summary, '') || ' ' || \
                coalesce(description, '') || ' ' || ai_agent_name), lower($3)) > 0) \
         ORDER BY id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(f.ai_agent_id)
        .bind(&f.channel)
        .bind(&f.q)
        .fetch_all(pool)
        .await?)
}

pub async fn get(conn: &mut PgConnection, id: i64) -> Result<CaseRow> {
    let sql = format!("SELECT {COLUMNS} FROM quality.test_case WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("test case {id} not found")))
}

/// Records `expected` as the case's next expectation version, in the caller's transaction.
pub async fn set_expectation(
    tx: &mut PgConnection,
    case_id: i64,
    expected: Option<&Value>,
    reason: &str,
    test_run_id: Option<i64>,
    user: i64,
) -> Result<()> {
    sqlx::query(
        "WITH c AS (UPDATE quality.test_case SET expected_result = $2, \
             expectation_version = expectation_version + 1, modified_by = $5, modified_at = now() \
           WHERE id = $1 RETURNING id, expectation_version) \
         INSERT INTO quality.test_case_expectation \
           (test_case_id, version, expected_result, reason, test_run_id, set_by) \
         SELECT id, expectation_version, $2, $3, $4, $5 FROM c",
    )
    .bind(case_id)
    .bind(expected)
    .bind(reason)
    .bind(test_run_id)
    .bind(user)
    .execute(tx)
    .await?;
    Ok(())
}

impl TestCases {
    /// Snapshots each ticket as a test case of `agent`; a ticket that already is one keeps
    /// its case (and its snapshot) as it is.
    pub async fn add(
        &self,
        caller: &Caller,
        agent_id: i64,
        ticket_ids: &[i64],
    ) -> Result<Vec<CaseRow>> {
        if ticket_ids.is_empty() {
            return Err(Error::InvalidArgument("ticketIds must name at least one ticket".into()));
        }
        let agent = self.upstream.agent(agent_id).await?;
        let mut ids = Vec::with_capacity(ticket_ids.len());
        for ticket_id in ticket_ids {
            let mut conn = self.pool.acquire().await?;
            let id = self.insert(&mut conn, caller, &agent, *ticket_id, None, None, true).await?;
            ids.push(id);
        }
        self.prepare.notify_one();
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(get(&mut conn, id).await?);
        }
        Ok(out)
    }

    /// A ticket-based test case; the ticket must not be a case of the agent already (409).
    pub async fn create(
        &self,
        caller: &Caller,
        ticket_id: i64,
        agent_id: i64,
        expected: Option<Value>,
        description: Option<String>,
    ) -> Result<CaseRow> {
        let agent = self.upstream.agent(agent_id).await?;
        let mut tx = self.pool.begin().await?;
        let id =
            self.insert(&mut tx, caller, &agent, ticket_id, expected, description, false).await?;
        let row = get(&mut tx, id).await?;
        tx.commit().await?;
        self.prepare.notify_one();
        Ok(row)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        agent: &Agent,
        ticket_id: i64,
        expected: Option<Value>,
        description: Option<String>,
        keep_existing: bool,
    ) -> Result<i64> {
        if ticket_id <= 0 {
            return Err(Error::InvalidArgument(format!("{ticket_id} is not a valid ticket id")));
        }
        let ticket = self.upstream.ticket(ticket_id).await?;
        let inserted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO quality.test_case (ticket_id, ai_agent_id, ai_agent_code, ai_agent_name, \
               channel, summary, description, snapshot, snapshot_version, created_by, modified_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT ON CONSTRAINT test_case_ticket_agent_key DO NOTHING RETURNING id",
        )
        .bind(ticket_id)
        .bind(agent.id)
        .bind(&agent.slug)
        .bind(&agent.name)
        .bind(&ticket.channel)
        .bind(snapshot::summary(&ticket))
        .bind(&description)
        .bind(snapshot::of(&ticket))
        .bind(ticket.version)
        .bind(caller.user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((id,)) = inserted else {
            if !keep_existing {
                return Err(Error::Conflict(format!(
                    "ticket {ticket_id} already is a test case of AI agent {}",
                    agent.id
                )));
            }
            let (id,): (i64,) = sqlx::query_as(
                "SELECT id FROM quality.test_case WHERE ticket_id = $1 AND ai_agent_id = $2",
            )
            .bind(ticket_id)
            .bind(agent.id)
            .fetch_one(&mut *conn)
            .await?;
            return Ok(id);
        };
        if let Some(expected) = expected {
            set_expectation(conn, id, Some(&expected), "create", None, caller.user_id).await?;
        }
        sqlx::query("INSERT INTO quality.prepare_job (test_case_id) VALUES ($1)")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(id)
    }

    /// Changes the description and/or the expectation (a new expectation version).
    pub async fn update(
        &self,
        caller: &Caller,
        id: i64,
        description: Option<String>,
        expected: Option<Option<Value>>,
    ) -> Result<CaseRow> {
        let mut tx = self.pool.begin().await?;
        get(&mut tx, id).await?;
        if let Some(description) = description {
            sqlx::query(
                "UPDATE quality.test_case SET description = $2, modified_by = $3, \
                 modified_at = now() WHERE id = $1",
            )
            .bind(id)
            .bind(Some(description).filter(|d| !d.is_empty()))
            .bind(caller.user_id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(expected) = expected {
            set_expectation(&mut tx, id, expected.as_ref(), "update", None, caller.user_id).await?;
        }
        let row = get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes the case; the test tickets of past runs keep their observation.
    pub async fn delete(&self, id: i64) -> Result<()> {
        let deleted = sqlx::query("DELETE FROM quality.test_case WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::NotFound(format!("test case {id} not found")));
        }
        Ok(())
    }
}
