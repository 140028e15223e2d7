//! Subchannels (contract §5.4): mailboxes, chatbots, phone lines, letter inboxes and portals.

use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_common::vocabulary::{SUBCHANNEL_CHANNELS, one_of};
use enneo_proto::settings::v1 as pb;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;

use crate::service::Settings;

const STATUSES: &[&str] = &["active", "inactive"];

/// `voice` is the telephony name of `phone`; `system` and `walkIn` have no subchannels.
pub fn channel(name: &str) -> Result<&'static str> {
    let name = if name == "voice" { "phone" } else { name };
    one_of("channel", name, SUBCHANNEL_CHANNELS)
}

/// Configuration keys that hold credentials.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "apikey", "credential"].iter().any(|s| key.contains(s))
}

fn masked(config: &Value) -> Value {
    match config {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_null() {
                        json!("********")
                    } else {
                        masked(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    channel: String,
    status: String,
    config: Value,
}

impl Row {
    fn into_proto(self, show_secrets: bool) -> pb::Subchannel {
        let config = if show_secrets { self.config } else { masked(&self.config) };
        pb::Subchannel {
            id: self.id,
            name: self.name,
            channel: self.channel,
            status: self.status,
            config_json: config.to_string(),
        }
    }
}

impl Settings {
    pub(crate) async fn subchannels(
        &self,
        caller: &Caller,
        req: pb::ListSubchannelsRequest,
    ) -> Result<Vec<pb::Subchannel>> {
        caller.require(permission::READ_SETTINGS)?;
        let channels: Vec<String> =
            req.channels.iter().map(|c| channel(c).map(str::to_owned)).collect::<Result<_>>()?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, channel, status, config FROM settings.subchannel \
             WHERE (cardinality($1::text[]) = 0 OR channel = ANY($1)) AND ($2::bigint IS NULL OR id = $2) \
             ORDER BY id",
        )
        .bind(&channels)
        .bind(req.id)
        .fetch_all(&self.pool)
        .await?;
        let clear = req.show_secrets && caller.has(permission::READ_SECRET_SETTINGS);
        Ok(rows.into_iter().map(|r| r.into_proto(clear)).collect())
    }

    pub(crate) async fn add_subchannel(
        &self,
        caller: &Caller,
        req: pb::AddSubchannelRequest,
    ) -> Result<pb::Subchannel> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        let channel = channel(&req.channel)?;
        let status = if req.status.is_empty() { "active" } else { req.status.as_str() };
        one_of("status", status, STATUSES)?;
        let name = req.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(Error::InvalidArgument("name must be 1 to 200 characters".into()));
        }
        let mut tx = self.pool.begin().await?;
        let row: Row = sqlx::query_as(
            "INSERT INTO settings.subchannel (name, channel, status) VALUES ($1, $2, $3) \
             RETURNING id, name, channel, status, config",
        )
        .bind(name)
        .bind(channel)
        .bind(status)
        .fetch_one(&mut *tx)
        .await?;
        self.object_changed(&mut tx, caller, "subchannel", row.id, json!("created")).await?;
        self.commit(tx).await?;
        Ok(row.into_proto(false))
    }

    pub(crate) async fn delete_subchannel(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        self.delete_object(caller, "subchannel", "subchannel", id).await
    }

    /// `_subchannel[{id}].{prop}`: `name` and `status`, anything else into its configuration.
    pub(crate) async fn write_subchannel(
        &self,
        tx: &mut PgConnection,
        caller: &Caller,
        id: i64,
        prop: &str,
        value: Value,
    ) -> Result<()> {
        caller.require(permission::UPDATE_CLIENT_SETTINGS)?;
        let updated = match prop {
            "name" => {
                let name =
                    value.as_str().map(str::trim).filter(|n| !n.is_empty() && n.len() <= 200);
                let name = name.ok_or_else(|| {
                    Error::InvalidArgument("name must be 1 to 200 characters".into())
                })?;
                sqlx::query(
                    "UPDATE settings.subchannel SET name = $2, modified_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(name)
                .execute(&mut *tx)
                .await?
            }
            "status" => {
                let status = one_of("status", value.as_str().unwrap_or_default(), STATUSES)?;
                sqlx::query(
                    "UPDATE settings.subchannel SET status = $2, modified_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(status)
                .execute(&mut *tx)
                .await?
            }
            "id" | "channel" => {
                return Err(Error::InvalidArgument(format!("{prop} cannot be changed")));
            }
            key => {
                sqlx::query(
                    "UPDATE settings.subchannel SET config = jsonb_set(config, ARRAY[$2], $3), \
                 modified_at = now() WHERE id = $1",
                )
                .bind(id)
                .bind(key)
                .bind(&value)
                .execute(&mut *tx)
                .await?
            }
        };
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound(format!("subchannel {id} not found")));
        }
        let change = if is_secret_key(prop) {
            json!({"prop": prop, "secret": true})
        } else {
            json!({"prop": prop, "value": value})
        };
        self.object_changed(tx, caller, "subchannel", id, change).await
    }
}
