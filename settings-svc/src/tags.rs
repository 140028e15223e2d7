//! Tags (contract §6.1). The tree is small (hundreds of tags), so it is read whole and the
//! derived parts — full names, inherited visibility — are worked out in one pass: always in
//! step with the rows, with nothing to keep up to date on writes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{CHANNELS, one_of};
use enneo_proto::settings::v1 as pb;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::service::Settings;

mod detection;

const REFERENCES: &[&str] = &["ticket", "contract", "customer"];
const TYPES: &[&str] =
    &["skill", "product", "brand", "customerProperty", "contractProperty", "other"];
const VISIBILITIES: &[&str] = &["public", "private", "disabled"];
const COLORS: &[&str] = &["grey", "green", "red", "blue", "yellow", "purple", "orange", "teal"];
const PRIORITIES: &[&str] = &["do-not-change", "low", "medium", "high", "urgent"];

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    full_name: Option<String>,
    parent: Option<i64>,
    reference: String,
    #[sqlx(rename = "type")]
    kind: String,
    visibility: String,
    color: String,
    properties: Vec<String>,
    complexity: Option<String>,
    sla: Option<i32>,
    priority: String,
    channels: Vec<String>,
    subchannels: Vec<i64>,
    detection_details: Value,
    routing_relevance: bool,
    test_case: Value,
    modified_by: Option<i64>,
    modified_at: DateTime<Utc>,
}

async fn all(conn: &mut PgConnection) -> Result<Vec<Row>> {
    Ok(sqlx::query_as(
        "SELECT id, name, full_name, parent, reference, type, visibility, color, properties, \
         complexity, sla, priority, channels, subchannels, detection_details, routing_relevance, \
         test_case, modified_by, modified_at FROM settings.tag ORDER BY id",
    )
    .fetch_all(conn)
    .await?)
}

/// The chain of ancestors, nearest first; stops at a cycle rather than looping.
fn ancestors<'a>(row: &'a Row, by_id: &HashMap<i64, &'a Row>) -> Vec<&'a Row> {
    let mut chain = Vec::new();
    let mut next = row.parent;
    while let Some(id) = next {
        let Some(parent) = by_id.get(&id) else { break };
        if chain.iter().any(|r: &&Row| r.id == parent.id) || parent.id == row.id {
            break;
        }
        chain.push(*parent);
        next = parent.parent;
    }
    chain
}

fn to_proto(row: &Row, by_id: &HashMap<i64, &Row>) -> pb::Tag {
    let chain = ancestors(row, by_id);
    let full_name = row.full_name.clone().unwrap_or_else(|| {
        let mut names: Vec<&str> = chain.iter().rev().map(|r| r.name.as_str()).collect();
        names.push(&row.name);
        names.join(": ")
    });
    let disabled = row.visibility == "disabled" || chain.iter().any(|r| r.visibility == "disabled");
    pb::Tag {
        id: row.id,
        name: row.name.clone(),
        full_name,
        parent: row.parent,
        reference: row.reference.clone(),
        r#type: row.kind.clone(),
        visibility: row.visibility.clone(),
        effectively_disabled: disabled,
        color: row.color.clone(),
        properties: row.properties.clone(),
        complexity: row.complexity.clone(),
        sla: row.sla,
        priority: row.priority.clone(),
        channels: row.channels.clone(),
        subchannels: row.subchannels.clone(),
        detection_details_json: row.detection_details.to_string(),
        routing_relevance: row.routing_relevance,
        test_case_json: row.test_case.to_string(),
        modified_by: row.modified_by,
        modified_at: row.modified_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

impl Settings {
    pub(crate) async fn tags(
        &self,
        caller: &Caller,
        req: pb::ListTagsRequest,
    ) -> Result<Vec<pb::Tag>> {
        caller.require(permission::READ_SETTINGS)?;
        if let Some(kind) = &req.r#type {
            one_of("type", kind, TYPES)?;
        }
        let mut conn = self.pool.acquire().await?;
        let rows = all(&mut conn).await?;
        let by_id: HashMap<i64, &Row> = rows.iter().map(|r| (r.id, r)).collect();
        let q = req.q.as_deref().map(str::to_lowercase);
        let tags: Vec<pb::Tag> = rows
            .iter()
            .filter(|r| req.id.is_none_or(|id| r.id == id))
            .filter(|r| req.r#type.as_deref().is_none_or(|t| r.kind == t))
            .map(|r| to_proto(r, &by_id))
            .filter(|t| req.include_disabled || !t.effectively_disabled)
            .filter(|t| {
                q.as_deref().is_none_or(|q| {
                    t.name.to_lowercase().contains(q) || t.full_name.to_lowercase().contains(q)
                })
            })
            .collect();
        if req.id.is_some() && tags.is_empty() {
            // Invisible tags answer like missing ones.
            return Err(Error::NotFound(format!("tag {} not found", req.id.unwrap_or_default())));
        }
        Ok(tags)
    }

    pub(crate) async fn create_tag(
        &self,
        caller: &Caller,
        req: pb::CreateTagRequest,
    ) -> Result<i64> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        let name = req.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(Error::InvalidArgument("name must be 1 to 200 characters".into()));
        }
        let reference = if req.reference.is_empty() { "ticket" } else { req.reference.as_str() };
        one_of("reference", reference, REFERENCES)?;
        one_of("type", &req.r#type, TYPES)?;
        let visibility = req.visibility.as_deref().unwrap_or("public");
        one_of("visibility", visibility, VISIBILITIES)?;
        let color = req.color.as_deref().unwrap_or("grey");
        one_of("color", color, COLORS)?;
        let priority = req.priority.as_deref().unwrap_or("do-not-change");
        one_of("priority", priority, PRIORITIES)?;
        if req.sla.is_some_and(|s| s < 0) {
            return Err(Error::InvalidArgument("sla must not be negative".into()));
        }
        let detection_details = match req.detection_details_json.as_deref() {
            None => json!({}),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                Error::InvalidArgument(format!("detectionDetails is not JSON: {e}"))
            })?,
        };
        detection::validate(&detection_details)?;
        let mut tx = self.pool.begin().await?;
        if let Some(parent) = req.parent {
            exists(&mut tx, parent).await?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO settings.tag (name, full_name, parent, reference, type, visibility, color, sla, priority, \
             detection_details, modified_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, 8), $9, $10, $11) RETURNING id",
        )
        .bind(name)
        .bind(req.full_name.as_deref().map(str::trim).filter(|f| !f.is_empty()))
        .bind(req.parent)
        .bind(reference)
        .bind(&req.r#type)
        .bind(visibility)
        .bind(color)
        .bind(req.sla)
        .bind(priority)
        .bind(&detection_details)
        .bind(caller.user_id)
        .fetch_one(&mut *tx)
        .await?;
        // Consumers (ticket routing) learn what matters for routing from the event alone.
        let created = json!({"created": true, "visibility": visibility, "routingRelevance": true});
        self.object_changed(&mut tx, caller, "tag", id, created).await?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// The ids among `ids` that name no tag. Tag ids are not secret: no permission needed.
    pub(crate) async fn unknown_tags(&self, ids: &[i64]) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT i FROM unnest($1::bigint[]) i WHERE NOT EXISTS \
             (SELECT 1 FROM settings.tag t WHERE t.id = i) ORDER BY i",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn delete_tag(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        let mut tx = self.pool.begin().await?;
        exists(&mut tx, id).await?;
        let children: i64 =
            sqlx::query_scalar("SELECT count(*) FROM settings.tag WHERE parent = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if children > 0 {
            return Err(Error::Conflict(format!(
                "tag {id} has {children} child tags; move or delete them first"
            )));
        }
        sqlx::query("DELETE FROM settings.tag WHERE id = $1").bind(id).execute(&mut *tx).await?;
        self.object_changed(&mut tx, caller, "tag", id, json!({"deleted": true})).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// `_tag[{id}].{prop}`: the only way a tag changes (contract §5.2).
    pub(crate) async fn write_tag(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        id: i64,
        prop: &str,
        value: Value,
    ) -> Result<()> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        exists(tx, id).await?;
        let text = |allowed: &[&'static str]| -> Result<Value> {
            let v = value
                .as_str()
                .ok_or_else(|| Error::InvalidArgument(format!("{prop} must be a string")))?;
            one_of(prop, v, allowed)?;
            Ok(json!(v))
        };
        let (column, stored, cast): (&str, Value, &str) = match prop {
            "name" => {
                let name =
                    value.as_str().map(str::trim).filter(|n| !n.is_empty() && n.len() <= 200);
                (
                    "name",
                    json!(name.ok_or_else(|| Error::InvalidArgument(
                        "name must be 1 to 200 characters".into()
                    ))?),
                    "($2 #>> '{}')",
                )
            }
            "fullName" => ("full_name", value.clone(), "($2 #>> '{}')"),
            "type" => ("type", text(TYPES)?, "($2 #>> '{}')"),
            "visibility" => ("visibility", text(VISIBILITIES)?, "($2 #>> '{}')"),
            "color" => ("color", text(COLORS)?, "($2 #>> '{}')"),
            "priority" => ("priority", text(PRIORITIES)?, "($2 #>> '{}')"),
            "complexity" => ("complexity", value.clone(), "($2 #>> '{}')"),
            "sla" => match &value {
                Value::Null => ("sla", value.clone(), "NULL::integer"),
                v if v.as_i64().is_some_and(|s| (0..=100_000).contains(&s)) => {
                    ("sla", value.clone(), "($2 #>> '{}')::integer")
                }
                _ => {
                    return Err(Error::InvalidArgument(
                        "sla must be a number of hours or null".into(),
                    ));
                }
            },
            "parent" => {
                if let Some(parent) = value.as_i64() {
                    exists(tx, parent).await?;
                    check_no_cycle(tx, id, parent).await?;
                } else if !value.is_null() {
                    return Err(Error::InvalidArgument("parent must be a tag id or null".into()));
                }
                ("parent", value.clone(), "($2 #>> '{}')::bigint")
            }
            "channels" => {
                let channels = value
                    .as_array()
                    .ok_or_else(|| Error::InvalidArgument("channels must be a list".into()))?;
                for c in channels {
                    one_of("channels", c.as_str().unwrap_or_default(), CHANNELS)?;
                }
                ("channels", value.clone(), "ARRAY(SELECT jsonb_array_elements_text($2))")
            }
            "subchannels" => {
                if !value.as_array().is_some_and(|a| a.iter().all(|v| v.as_i64().is_some())) {
                    return Err(Error::InvalidArgument("subchannels must be a list of ids".into()));
                }
                (
                    "subchannels",
                    value.clone(),
                    "ARRAY(SELECT jsonb_array_elements_text($2)::bigint)",
                )
            }
            "properties" => {
                if !value.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                    return Err(Error::InvalidArgument(
                        "properties must be a list of strings".into(),
                    ));
                }
                ("properties", value.clone(), "ARRAY(SELECT jsonb_array_elements_text($2))")
            }
            "routingRelevance" => match value.as_bool() {
                Some(_) => ("routing_relevance", value.clone(), "($2 #>> '{}')::boolean"),
                None => {
                    return Err(Error::InvalidArgument(
                        "routingRelevance must be true or false".into(),
                    ));
                }
            },
            "detectionDetails" => {
                detection::validate(&value)?;
                ("detection_details", value.clone(), "$2")
            }
            "testCase" if value.is_object() => ("test_case", value.clone(), "$2"),
            "testCase" => {
                return Err(Error::InvalidArgument(format!("{prop} must be an object")));
            }
            other => return Err(Error::InvalidArgument(format!("unknown tag property {other}"))),
        };
        // The column and its cast come from the match above; the value is bound.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE settings.tag SET {column} = {cast}, modified_by = $3, modified_at = now() WHERE id = $1"
        )))
        .bind(id)
        .bind(&stored)
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
        self.object_changed(tx, caller, "tag", id, json!({"prop": prop, "value": value})).await
    }
}

async fn exists(conn: &mut PgConnection, id: i64) -> Result<()> {
    let found: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM settings.tag WHERE id = $1)")
            .bind(id)
            .fetch_one(conn)
            .await?;
    if found { Ok(()) } else { Err(Error::NotFound(format!("tag {id} not found"))) }
}

/// A tag may not become its own ancestor.
async fn check_no_cycle(conn: &mut PgConnection, id: i64, parent: i64) -> Result<()> {
    let cycle: bool = sqlx::query_scalar(
        "WITH RECURSIVE up(id, parent) AS ( \
           SELECT id, parent FROM settings.tag WHERE id = $2 \
           UNION SELECT t.id, t.parent FROM settings.tag t JOIN up ON t.id = up.parent) \
         SELECT EXISTS (SELECT 1 FROM up WHERE id = $1)",
    )
    .bind(id)
    .bind(parent)
    .fetch_one(conn)
    .await?;
    if cycle {
        return Err(Error::InvalidArgument(format!(
            "tag {parent} is tag {id} or one of its descendants"
        )));
    }
    Ok(())
}
