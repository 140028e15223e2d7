//! User-defined functions (contract §5.5): code the tenant adds, callable by AI agents (tools)
//! or executors. Their code is visible only to who may change AI agents.

use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::one_of;
use enneo_proto::settings::v1 as pb;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::service::Settings;

const TYPES: &[&str] = &["udf", "tool"];
const EXECUTOR_TYPES: &[&str] = &["sourceCode", "apiCall", "visualEditor"];
const LANGUAGES: &[&str] = &["python311", "node20", "php82"];

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    slug: String,
    udf_type: String,
    description: Option<String>,
    parameters: Value,
    executor: Option<Value>,
    is_private: bool,
    #[sqlx(rename = "async")]
    is_async: bool,
}

const COLUMNS: &str =
    "id, name, slug, udf_type, description, parameters, executor, is_private, async";

impl Row {
    fn into_proto(self, with_code: bool) -> pb::Udf {
        pb::Udf {
            id: self.id,
            name: self.name,
            slug: self.slug,
            udf_type: self.udf_type,
            description: self.description,
            parameters_json: self.parameters.to_string(),
            executor_json: self.executor.filter(|_| with_code).map(|e| e.to_string()),
            is_private: self.is_private,
            r#async: self.is_async,
        }
    }
}

/// `Format Meter Reading!` -> `format_meter_reading`: the name tools are called by.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_').to_owned();
    if slug.is_empty() { "function".into() } else { slug }
}

fn check_executor(value: &Value) -> Result<()> {
    let bad = |what: &str| Err(Error::InvalidArgument(format!("udfExecutor {what}")));
    let Value::Object(executor) = value else {
        return bad("must be an object {type, language, code}");
    };
    let text = |key| executor.get(key).and_then(Value::as_str);
    let kind = one_of("udfExecutor type", text("type").unwrap_or_default(), EXECUTOR_TYPES)?;
    // An API call runs no code of ours, so it needs no language.
    if !(kind == "apiCall" && text("language").is_none()) {
        one_of("udfExecutor language", text("language").unwrap_or_default(), LANGUAGES)?;
    }
    if !executor.get("code").is_some_and(Value::is_string) {
        return bad("needs its code as a string");
    }
    Ok(())
}

impl Settings {
    pub(crate) async fn udfs(&self, caller: &Caller, filter: Option<&str>) -> Result<Vec<pb::Udf>> {
        caller.require(permission::READ_SETTINGS)?;
        if let Some(filter) = filter {
            one_of("filter", filter, TYPES)?;
        }
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM settings.udf WHERE ($1::text IS NULL OR udf_type = $1) ORDER BY id"
        )))
        .bind(filter)
        .fetch_all(&self.pool)
        .await?;
        let with_code = caller.has(permission::UPDATE_AI_AGENT);
        Ok(rows.into_iter().map(|r| r.into_proto(with_code)).collect())
    }

    pub(crate) async fn add_udf(&self, caller: &Caller, req: pb::AddUdfRequest) -> Result<pb::Udf> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        let name = req.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(Error::InvalidArgument("name must be 1 to 200 characters".into()));
        }
        let udf_type = if req.udf_type.is_empty() { "udf" } else { req.udf_type.as_str() };
        one_of("udfType", udf_type, TYPES)?;
        let mut tx = self.pool.begin().await?;
        // A taken slug gets a numeric suffix: slugs are how tools are called.
        let base = slug_of(name);
        let taken: Vec<String> = sqlx::query_scalar(
            "SELECT slug FROM settings.udf WHERE slug = $1 OR slug LIKE $1 || '\\_%'",
        )
        .bind(&base)
        .fetch_all(&mut *tx)
        .await?;
        let slug = (1..)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}_{n}") })
            .find(|s| !taken.contains(s))
            .expect("some suffix is free");
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO settings.udf (name, slug, udf_type) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
        )))
        .bind(name)
        .bind(&slug)
        .bind(udf_type)
        .fetch_one(&mut *tx)
        .await?;
        self.object_changed(&mut tx, caller, "user-defined-function", row.id, json!("created"))
            .await?;
        self.commit(tx).await?;
        Ok(row.into_proto(true))
    }

    pub(crate) async fn delete_udf(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        self.delete_object(caller, "udf", "user-defined-function", id).await
    }

    /// `_user-defined-function[{id}].{prop}`.
    pub(crate) async fn write_udf(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        id: i64,
        prop: &str,
        value: Value,
    ) -> Result<()> {
        caller.require(permission::UPDATE_AI_AGENT)?;
        let invalid = |what: &str| Error::InvalidArgument(format!("{prop} {what}"));
        let (column, stored): (&str, Value) = match prop {
            "name" => (
                "name",
                value
                    .as_str()
                    .map(str::trim)
                    .filter(|n| !n.is_empty() && n.len() <= 200)
                    .map(|n| json!(n))
                    .ok_or_else(|| invalid("must be 1 to 200 characters"))?,
            ),
            "slug" => {
                let slug = value.as_str().ok_or_else(|| invalid("must be a string"))?;
                if slug_of(slug) != slug {
                    return Err(invalid("may hold only a-z, 0-9 and single underscores"));
                }
                ("slug", json!(slug))
            }
            "description" => (
                "description",
                value.as_str().map(|d| json!(d)).ok_or_else(|| invalid("must be a string"))?,
            ),
            "parameters" => (
                "parameters",
                value.is_array().then(|| value.clone()).ok_or_else(|| invalid("must be a list"))?,
            ),
            "udfExecutor" => {
                check_executor(&value)?;
                ("executor", value.clone())
            }
            "isPrivate" => (
                "is_private",
                value
                    .as_bool()
                    .map(|b| json!(b))
                    .ok_or_else(|| invalid("must be true or false"))?,
            ),
            "async" => (
                "async",
                value
                    .as_bool()
                    .map(|b| json!(b))
                    .ok_or_else(|| invalid("must be true or false"))?,
            ),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown property {other} of a user-defined function"
                )));
            }
        };
        // Columns come from the match above; the value is bound and cast per column type.
        let cast = match column {
            "parameters" | "executor" => "$2",
            "is_private" | "async" => "($2 #>> '{}')::boolean",
            _ => "($2 #>> '{}')",
        };
        let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE settings.udf SET {column} = {cast}, modified_at = now() WHERE id = $1"
        )))
        .bind(id)
        .bind(&stored)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound(format!("user-defined function {id} not found")));
        }
        // The code itself stays out of the event.
        let change = if prop == "udfExecutor" {
            json!({"prop": prop})
        } else {
            json!({"prop": prop, "value": value})
        };
        self.object_changed(tx, caller, "user-defined-function", id, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_underscores() {
        assert_eq!(slug_of("Format Meter Reading!"), "format_meter_reading");
        assert_eq!(slug_of("  Zähler--Stand 2 "), "z_hler_stand_2");
        assert_eq!(slug_of("!!!"), "function");
    }
}
