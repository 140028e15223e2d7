//! AI agents as documents: the vendor's AiAgent JSON, stored whole, changed by deep merge,
//! every write a version.

pub mod catalogue;
pub mod document;
pub mod merge;
pub mod store;

use enneo_common::auth::{Caller, permission};
use enneo_common::outbox::Outbox;
use enneo_common::service_error::{Error, Result};
use serde_json::Value;
use sqlx::PgPool;

use document::Invalid;
use store::AgentRow;

/// A write refused either as bad input or for integrity (422 with violations).
pub type WriteResult<T> = std::result::Result<T, Invalid>;

/// Agent writes, each in one transaction with its version row and event.
#[derive(Clone)]
pub struct Agents {
    pub pool: PgPool,
    pub outbox: Outbox,
}

impl Agents {
    pub async fn create(&self, caller: &Caller, doc: Value) -> WriteResult<AgentRow> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        let definition = document::prepare(doc)?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let row = store::insert(&mut tx, &self.outbox, definition, "create", caller).await?;
        self.commit(tx).await?;
        Ok(row)
    }

    pub async fn update(&self, caller: &Caller, id: i64, patch: Value) -> WriteResult<AgentRow> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        if !patch.is_object() {
            return Err(Error::InvalidArgument("the patch must be a JSON object".into()).into());
        }
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let current = store::lock(&mut tx, id).await?;
        let mut merged = current.definition.clone();
        merged["slug"] = Value::String(current.slug.clone());
        merge::deep_merge(&mut merged, &patch);
        let definition = document::prepare(merged)?;
        let row =
            store::replace(&mut tx, &self.outbox, &current, definition, "update", caller).await?;
        self.commit(tx).await?;
        Ok(row)
    }

    pub async fn delete(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        let mut tx = self.pool.begin().await?;
        store::soft_delete(&mut tx, &self.outbox, id, caller).await?;
        self.commit(tx).await
    }

    /// Upserts each named default (all when `slugs` is empty) by slug: (agents, created,
    /// updated). An unknown slug is refused before anything is written.
    pub async fn load_defaults(
        &self,
        caller: &Caller,
        slugs: &[String],
    ) -> WriteResult<(Vec<AgentRow>, i32, i32)> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        let defaults: Vec<Value> = if slugs.is_empty() {
            catalogue::agents().into_iter().map(|(_, d)| d).collect()
        } else {
            slugs
                .iter()
                .map(|s| {
                    catalogue::agent(s).ok_or_else(|| {
                        Error::InvalidArgument(format!("{s:?} is not a default AI agent"))
                    })
                })
                .collect::<Result<_>>()?
        };
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let (mut rows, mut created, mut updated) = (Vec::new(), 0, 0);
        for doc in defaults {
            let (row, was_created) =
                upsert(&mut tx, &self.outbox, doc, "loadDefaults", caller).await?;
            if was_created {
                created += 1;
            } else {
                updated += 1;
            }
            rows.push(row);
        }
        self.commit(tx).await?;
        Ok((rows, created, updated))
    }

    /// An exported agent, upserted by slug: (agent, created?).
    pub async fn import(&self, caller: &Caller, doc: Value) -> WriteResult<(AgentRow, bool)> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        if doc.get("slug").and_then(Value::as_str).is_none() {
            return Err(Error::InvalidArgument("an imported AI agent needs its slug".into()).into());
        }
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let result = upsert(&mut tx, &self.outbox, doc, "import", caller).await?;
        self.commit(tx).await?;
        Ok(result)
    }

    /// Writes version `version`'s definition as the next version.
    pub async fn restore(&self, caller: &Caller, id: i64, version: i64) -> WriteResult<AgentRow> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        let mut tx = self.pool.begin().await.map_err(Error::from)?;
        let current = store::lock(&mut tx, id).await?;
        let old = store::version(&mut tx, id, version).await?;
        let definition = document::prepare(old.definition)?;
        let row =
            store::replace(&mut tx, &self.outbox, &current, definition, "restore", caller).await?;
        self.commit(tx).await?;
        Ok(row)
    }

    async fn commit(&self, tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<()> {
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }
}

/// Replaces the live agent with the document's slug, or creates it.
async fn upsert(
    tx: &mut sqlx::PgConnection,
    outbox: &Outbox,
    doc: Value,
    action: &str,
    caller: &Caller,
) -> WriteResult<(AgentRow, bool)> {
    let definition = document::prepare(doc)?;
    let slug = definition.get("slug").and_then(Value::as_str).unwrap_or_default().to_owned();
    match store::by_slug(tx, &slug).await? {
        Some(existing) => {
            let current = store::lock(tx, existing.id).await?;
            Ok((store::replace(tx, outbox, &current, definition, action, caller).await?, false))
        }
        None => Ok((store::insert(tx, outbox, definition, action, caller).await?, true)),
    }
}
