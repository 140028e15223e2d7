//! Roles (contract §6.3): Administrator (1) and Agent (2) are the base roles; a custom role
//! starts from one of them and grants or revokes single permissions. What a user may do is
//! their role's permissions, resolved here and carried in their tokens.

use std::collections::HashMap;

use enneo_common::auth::{Caller, Role, permission};
use enneo_common::service_error::{Error, OnConstraint as _, Result};
use enneo_proto::settings::v1 as pb;
use sqlx::PgConnection;

use crate::service::Settings;

const BUILT_IN: &[i32] = &[1, 2];

pub fn base_role(base_role_id: i32) -> Role {
    if base_role_id == 1 { Role::Admin } else { Role::Agent }
}

/// The base role's permissions, plus grants, minus revokes.
pub fn resolve(base_role_id: i32, grants: &[String], revokes: &[String]) -> Vec<String> {
    let mut permissions: Vec<String> = base_role(base_role_id)
        .permissions()
        .iter()
        .map(|p| (*p).to_owned())
        .filter(|p| !revokes.contains(p))
        .collect();
    for grant in grants {
        if !permissions.contains(grant) {
            permissions.push(grant.clone());
        }
    }
    permissions
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i32,
    name: String,
    base_role_id: i32,
    grants: Vec<String>,
    revokes: Vec<String>,
    members: i64,
}

const SELECT: &str = "SELECT r.id, r.name, r.base_role_id, r.grants, r.revokes, \
    (SELECT count(*) FROM settings.profile p WHERE p.role_id = r.id AND p.deleted_at IS NULL) AS members \
    FROM settings.role r";

impl Row {
    fn into_proto(self) -> pb::RoleInfo {
        pb::RoleInfo {
            permissions: resolve(self.base_role_id, &self.grants, &self.revokes),
            all_permissions: permission::ALL.iter().map(|p| (*p).to_owned()).collect(),
            id: self.id,
            name: self.name,
            base_role_id: self.base_role_id,
            members_count: self.members,
        }
    }
}

/// The resolved permissions of role `id`.
pub async fn permissions_of(conn: &mut PgConnection, id: i32) -> Result<(Role, Vec<String>)> {
    let (base, grants, revokes): (i32, Vec<String>, Vec<String>) =
        sqlx::query_as("SELECT base_role_id, grants, revokes FROM settings.role WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| Error::NotFound(format!("role {id} not found")))?;
    Ok((base_role(base), resolve(base, &grants, &revokes)))
}

/// Every role's base and resolved permissions, by id.
pub async fn all(conn: &mut PgConnection) -> Result<HashMap<i32, (Role, Vec<String>)>> {
    let rows: Vec<(i32, i32, Vec<String>, Vec<String>)> =
        sqlx::query_as("SELECT id, base_role_id, grants, revokes FROM settings.role")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, base, grants, revokes)| {
            (id, (base_role(base), resolve(base, &grants, &revokes)))
        })
        .collect())
}

async fn load(conn: &mut PgConnection, id: i32) -> Result<Row> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("role {id} not found")))
}

/// Splits a permission matrix into what differs from the base role.
fn delta(base_role_id: i32, matrix: &HashMap<String, bool>) -> Result<(Vec<String>, Vec<String>)> {
    let base = base_role(base_role_id).permissions();
    let (mut grants, mut revokes) = (Vec::new(), Vec::new());
    for (name, granted) in matrix {
        if !permission::ALL.contains(&name.as_str()) {
            return Err(Error::InvalidArgument(format!("unknown permission {name}")));
        }
        match (granted, base.contains(&name.as_str())) {
            (true, false) => grants.push(name.clone()),
            (false, true) => revokes.push(name.clone()),
            _ => {}
        }
    }
    grants.sort();
    revokes.sort();
    Ok((grants, revokes))
}

fn check_base(id: i32) -> Result<i32> {
    if BUILT_IN.contains(&id) {
        Ok(id)
    } else {
        Err(Error::InvalidArgument("baseRoleId must be 1 (Administrator) or 2 (Agent)".into()))
    }
}

impl Settings {
    pub(crate) async fn roles(
        &self,
        caller: &Caller,
        req: pb::ListRolesRequest,
    ) -> Result<Vec<pb::RoleInfo>> {
        caller.require(permission::READ_SETTINGS)?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE ($1::text IS NULL OR r.name ILIKE '%' || $1 || '%') \
             AND ($2::integer IS NULL OR r.base_role_id = $2) ORDER BY r.id"
        )))
        .bind(req.q.map(|q| q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
        .bind(req.base_role_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Row::into_proto).collect())
    }

    pub(crate) async fn role(&self, caller: &Caller, id: i32) -> Result<pb::RoleInfo> {
        caller.require(permission::READ_SETTINGS)?;
        Ok(load(&mut *self.pool.acquire().await?, id).await?.into_proto())
    }

    pub(crate) async fn create_role(
        &self,
        caller: &Caller,
        req: pb::RoleWrite,
    ) -> Result<pb::RoleInfo> {
        caller.require(permission::MANAGE_USERS)?;
        let name = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty() && n.len() <= 100);
        let name =
            name.ok_or_else(|| Error::InvalidArgument("name must be 1 to 100 characters".into()))?;
        let base = check_base(req.base_role_id.unwrap_or(2))?;
        let (grants, revokes) = delta(base, &req.permissions)?;
        let mut tx = self.pool.begin().await?;
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO settings.role (name, base_role_id, grants, revokes) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(base)
        .bind(&grants)
        .bind(&revokes)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("role_name_key", || Error::Conflict(format!("a role named {name} exists")))?;
        let role = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(role.into_proto())
    }

    pub(crate) async fn update_role(
        &self,
        caller: &Caller,
        req: pb::RoleWrite,
    ) -> Result<pb::RoleInfo> {
        caller.require(permission::MANAGE_USERS)?;
        if BUILT_IN.contains(&req.id) {
            return Err(Error::InvalidArgument(
                "the base roles cannot be changed; make a custom role".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let current = load(&mut tx, req.id).await?;
        let base = check_base(req.base_role_id.unwrap_or(current.base_role_id))?;
        // The matrix given replaces the old one; without one, the old delta is kept.
        let (grants, revokes) = if req.permissions.is_empty() && base == current.base_role_id {
            (current.grants, current.revokes)
        } else {
            delta(base, &req.permissions)?
        };
        let name = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty() && n.len() <= 100);
        if req.name.is_some() && name.is_none() {
            return Err(Error::InvalidArgument("name must be 1 to 100 characters".into()));
        }
        sqlx::query(
            "UPDATE settings.role SET name = coalesce($2, name), base_role_id = $3, grants = $4, \
             revokes = $5, modified_at = now() WHERE id = $1",
        )
        .bind(req.id)
        .bind(name)
        .bind(base)
        .bind(&grants)
        .bind(&revokes)
        .execute(&mut *tx)
        .await?;
        let role = load(&mut tx, req.id).await?;
        tx.commit().await?;
        Ok(role.into_proto())
    }

    pub(crate) async fn delete_role(
        &self,
        caller: &Caller,
        req: pb::DeleteRoleRequest,
    ) -> Result<()> {
        caller.require(permission::MANAGE_USERS)?;
        if BUILT_IN.contains(&req.id) {
            return Err(Error::InvalidArgument("the base roles cannot be deleted".into()));
        }
        let mut tx = self.pool.begin().await?;
        let role = load(&mut tx, req.id).await?;
        if role.members > 0 {
            let target = req.assign_role_id.ok_or_else(|| {
                Error::Conflict(format!(
                    "role {} has {} members; name assignRoleId to move them",
                    role.id, role.members
                ))
            })?;
            if target == req.id {
                return Err(Error::InvalidArgument("assignRoleId must be another role".into()));
            }
            load(&mut tx, target).await?;
            sqlx::query("UPDATE settings.profile SET role_id = $2 WHERE role_id = $1")
                .bind(req.id)
                .bind(target)
                .execute(&mut *tx)
                .await?;
        }
        // Teams granting the role grant nothing instead: their members keep their own role.
        sqlx::query(
            "UPDATE settings.team SET role_id = NULL, modified_at = now() WHERE role_id = $1",
        )
        .bind(req.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM settings.role WHERE id = $1")
            .bind(req.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_role_is_its_base_with_grants_and_revokes() {
        let agent = resolve(2, &[], &[]);
        assert!(agent.contains(&"readTickets".to_owned()));
        assert!(!agent.contains(&"deleteTicket".to_owned()));
        let supervisor = resolve(2, &["deleteTicket".into()], &["forwardTicket".into()]);
        assert!(supervisor.contains(&"deleteTicket".to_owned()));
        assert!(!supervisor.contains(&"forwardTicket".to_owned()));
        let matrix = HashMap::from([
            ("deleteTicket".to_owned(), true),
            ("readTickets".to_owned(), true),
            ("forwardTicket".to_owned(), false),
        ]);
        assert_eq!(
            delta(2, &matrix).unwrap(),
            (vec!["deleteTicket".to_owned()], vec!["forwardTicket".to_owned()])
        );
        assert!(delta(2, &HashMap::from([("flyToTheMoon".to_owned(), true)])).is_err());
    }
}
