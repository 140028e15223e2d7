//! Setting values: read with defaults and masking, written with validation, per-setting
//! permissions and a `SettingChanged` event in the same transaction.

use std::collections::HashMap;

use enneo_common::auth::{Caller, permission};
use enneo_common::outbox::NewEvent;
use enneo_common::service_error::{Error, Result};
use enneo_proto::settings::v1 as pb;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::registry::{self, Definition, Kind};
use crate::service::Settings;

pub const SETTING_CHANGED: &str = "SettingChanged";

/// Whether the caller sees a setting at all, and in clear.
fn visible(caller: &Caller, d: &Definition) -> bool {
    d.read_permissions.iter().all(|p| caller.has(p))
}

fn shown(caller: &Caller, d: &Definition, value: &Value, show_secrets: bool) -> Value {
    if d.kind == Kind::Secret && !(show_secrets && caller.has(permission::READ_SECRET_SETTINGS)) {
        registry::mask(value)
    } else {
        value.clone()
    }
}

fn to_proto(d: &Definition, value: Value, is_default: bool) -> pb::Setting {
    pb::Setting {
        name: d.name.into(),
        value_json: value.to_string(),
        category: d.category.into(),
        r#type: d.kind.name().into(),
        description: d.description.into(),
        used_by: d.used_by.iter().map(|s| (*s).to_owned()).collect(),
        read_permissions: d.read_permissions.iter().map(|s| (*s).to_owned()).collect(),
        secret: d.kind == Kind::Secret,
        default_json: d.default_value().to_string(),
        options: match d.kind {
            Kind::Enum(options) => options.iter().map(|s| (*s).to_owned()).collect(),
            _ => Vec::new(),
        },
        is_default,
    }
}

async fn stored(conn: &mut PgConnection) -> Result<HashMap<String, Value>> {
    let rows: Vec<(String, Value)> =
        sqlx::query_as("SELECT name, value FROM settings.setting_value").fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

impl Settings {
    pub(crate) async fn list(
        &self,
        caller: &Caller,
        req: pb::ListSettingsRequest,
    ) -> Result<Vec<pb::Setting>> {
        caller.require(permission::READ_SETTINGS)?;
        let mut conn = self.pool.acquire().await?;
        let values = stored(&mut conn).await?;
        let query = req.query.as_deref().map(str::to_lowercase);
        Ok(registry::SETTINGS
            .iter()
            .filter(|d| visible(caller, d))
            .filter(|d| req.name.as_deref().is_none_or(|n| d.name.eq_ignore_ascii_case(n)))
            .filter(|d| req.category.as_deref().is_none_or(|c| d.category == c))
            .filter(|d| req.used_by.as_deref().is_none_or(|u| d.used_by.contains(&u)))
            .filter(|d| {
                query.as_deref().is_none_or(|q| {
                    d.name.to_lowercase().contains(q)
                        || d.description.to_lowercase().contains(q)
                        || d.category.contains(q)
                })
            })
            .map(|d| {
                let (value, is_default) = match values.get(d.name) {
                    Some(v) => (v.clone(), false),
                    None => (d.default_value(), true),
                };
                to_proto(d, shown(caller, d, &value, req.show_secrets), is_default)
            })
            .collect())
    }

    pub(crate) async fn get(
        &self,
        caller: &Caller,
        name: &str,
        show_secrets: bool,
    ) -> Result<pb::Setting> {
        caller.require(permission::READ_SETTINGS)?;
        let d = registry::find(name)
            .filter(|d| visible(caller, d))
            .ok_or_else(|| Error::NotFound(format!("setting {name} not found")))?;
        let value: Option<Value> =
            sqlx::query_scalar("SELECT value FROM settings.setting_value WHERE name = $1")
                .bind(d.name)
                .fetch_optional(&self.pool)
                .await?;
        let is_default = value.is_none();
        let value = value.unwrap_or_else(|| d.default_value());
        Ok(to_proto(d, shown(caller, d, &value, show_secrets), is_default))
    }

    /// Validates and stores one setting, with its event, inside `tx`.
    pub(crate) async fn write(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        name: &str,
        value: Value,
    ) -> Result<&'static Definition> {
        let d = registry::find(name)
            .ok_or_else(|| Error::NotFound(format!("setting {name} not found")))?;
        let needed = d.write_permission.unwrap_or(permission::UPDATE_CLIENT_SETTINGS);
        caller.require(needed)?;
        let value = d.validate(value).map_err(Error::InvalidArgument)?;
        sqlx::query(
            "INSERT INTO settings.setting_value (name, value, modified_by) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, \
               modified_by = EXCLUDED.modified_by, modified_at = now()",
        )
        .bind(d.name)
        .bind(&value)
        .bind(caller.user_id)
        .execute(&mut *tx)
        .await?;
        // Credentials never travel in events: consumers re-read them if they need them.
        let shared =
            if d.kind == Kind::Secret { json!({"secret": true}) } else { json!({"value": value}) };
        self.changed(
            tx,
            caller,
            &format!("setting:{}", d.name),
            json!({"name": d.name, "change": shared}),
        )
        .await?;
        Ok(d)
    }

    pub(crate) async fn put(
        &self,
        caller: &Caller,
        name: &str,
        value_json: &str,
    ) -> Result<pb::Setting> {
        let value: Value = serde_json::from_str(value_json)
            .map_err(|e| Error::InvalidArgument(format!("the body is not JSON: {e}")))?;
        let mut tx = self.pool.begin().await?;
        let d = self.write(&mut tx, caller, name, value).await?;
        self.commit(tx).await?;
        self.get(caller, d.name, false).await
    }

    /// Records `SettingChanged` for an object (`subchannel`, `user-defined-function`, `tag`):
    /// aggregate `<object>:<id>`, payload `{object, id, change}`.
    pub(crate) async fn object_changed(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        object: &str,
        id: i64,
        change: Value,
    ) -> Result<()> {
        let payload = json!({"object": object, "id": id, "change": change});
        self.changed(tx, caller, &format!("{object}:{id}"), payload).await
    }

    /// Commits a write and wakes the relay for the events it recorded.
    pub(crate) async fn commit(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<()> {
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }

    /// Deletes object `id` from `table` (a constant of the caller) and records the change.
    pub(crate) async fn delete_object(
        &self,
        caller: &Caller,
        table: &'static str,
        object: &str,
        id: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let deleted =
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM settings.{table} WHERE id = $1")))
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if deleted == 0 {
            return Err(Error::NotFound(format!("{object} {id} not found")));
        }
        self.object_changed(&mut tx, caller, object, id, json!("deleted")).await?;
        self.commit(tx).await
    }

    /// Records `SettingChanged` for `aggregate` (e.g. `setting:locale`, `subchannel:3`).
    pub(crate) async fn changed(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        aggregate: &str,
        payload: Value,
    ) -> Result<()> {
        let version: i64 = sqlx::query_scalar("SELECT nextval('settings.change_version')")
            .fetch_one(&mut *tx)
            .await?;
        let event = NewEvent {
            domain: "settings",
            event_type: SETTING_CHANGED,
            aggregate_id: aggregate.to_owned(),
            aggregate_version: version,
            actor: caller.user_id.to_string(),
            payload,
        };
        self.outbox.record(tx, event).await?;
        Ok(())
    }
}
