//! Users (profiles), login and API keys (contract §6.2–6.3). Passwords are argon2id hashes;
//! repeated failed logins lock the account for a while; API keys are rows that can be
//! revoked, which the gateway checks on every use.

use std::collections::HashMap;
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, Role, permission};
use enneo_common::service_error::{Error, OnConstraint as _, Result};
use enneo_common::vocabulary::one_of;
use enneo_proto::settings::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::roles;
use crate::service::Settings;
use crate::teams::{self, Actual, Forest, Own};

/// Failed logins in a row before the account locks.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
const ROUTING_STATUSES: &[&str] =
    &["idle", "beingConnected", "interacting", "acw", "notResponding", "unavailable", "offline"];
const MIN_PASSWORD_LEN: usize = 10;

fn hash(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::InvalidArgument(format!(
            "password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| Error::InvalidArgument(format!("password cannot be hashed: {e}")))
}

fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn check_email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if valid {
        Ok(email.to_owned())
    } else {
        Err(Error::InvalidArgument(format!("{email:?} is not an e-mail address")))
    }
}

/// The role to give: 0 means Agent; others must exist.
async fn check_role(conn: &mut PgConnection, role_id: i32) -> Result<i32> {
    let role_id = if role_id == 0 { 2 } else { role_id };
    roles::permissions_of(conn, role_id)
        .await
        .map_err(|_| Error::InvalidArgument(format!("roleId {role_id} does not exist")))?;
    Ok(role_id)
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: i64,
    password_hash: Option<String>,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct OnlineRow {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    call_routing_status: String,
    chat_routing_status: String,
    last_seen: Option<DateTime<Utc>>,
}

/// A real hash to verify against when the e-mail is unknown.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"no such user, no such password", &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .unwrap_or_default()
});

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    name_alias: Option<String>,
    external_id: Option<String>,
    phone: Option<String>,
    lang: String,
    is_sso_only: bool,
    role_id: i32,
    skills: Option<Vec<i64>>,
    excluded_tag_ids: Vec<i64>,
    required_tag_ids: Vec<i64>,
    call_routing_status: String,
    chat_routing_status: String,
    last_seen: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    inherit_team_settings: bool,
}

const COLUMNS: &str = "id, email, first_name, last_name, name_alias, external_id, phone, lang, \
    is_sso_only, role_id, skills, excluded_tag_ids, required_tag_ids, call_routing_status, \
    chat_routing_status, last_seen, created_at, inherit_team_settings";

/// What resolving users' actual settings needs: the team tree, every role, and the teams of
/// the users at hand. Loaded once per request.
pub(crate) struct Resolver {
    forest: Forest,
    roles: HashMap<i32, (Role, Vec<String>)>,
    members: HashMap<i64, Vec<i32>>,
}

impl Resolver {
    pub(crate) async fn load(conn: &mut PgConnection, profile_ids: &[i64]) -> Result<Self> {
        let forest = Forest::load(conn).await?;
        let roles = roles::all(conn).await?;
        let pairs: Vec<(i64, i32)> = sqlx::query_as(
            "SELECT m.profile_id, m.team_id FROM settings.team_member m \
             JOIN settings.team t ON t.id = m.team_id AND t.deleted_at IS NULL \
             WHERE m.profile_id = ANY($1) ORDER BY m.team_id",
        )
        .bind(profile_ids)
        .fetch_all(conn)
        .await?;
        let mut members: HashMap<i64, Vec<i32>> = HashMap::new();
        for (profile, team) in pairs {
            members.entry(profile).or_default().push(team);
        }
        Ok(Self { forest, roles, members })
    }

    fn teams(&self, profile_id: i64) -> &[i32] {
        self.members.get(&profile_id).map(Vec::as_slice).unwrap_or_default()
    }

    fn actual(&self, row: &Row) -> Actual {
        let teams: Vec<teams::Values> = if row.inherit_team_settings {
            self.teams(row.id).iter().map(|t| self.forest.effective(*t)).collect()
        } else {
            Vec::new()
        };
        let own = Own {
            role_id: row.role_id,
            skills: row.skills.as_deref(),
            excluded: &row.excluded_tag_ids,
            required: &row.required_tag_ids,
        };
        teams::resolve(own, &teams, |id| {
            self.roles.get(&id).map_or((false, 0), |(base, p)| (*base == Role::Admin, p.len()))
        })
    }
}

pub(crate) fn sql_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Row {
    fn into_proto(self, resolver: &Resolver) -> pb::Profile {
        let actual = self.actual_proto(resolver);
        pb::Profile {
            team_ids: resolver.teams(self.id).to_vec(),
            inherit_team_settings: self.inherit_team_settings,
            actual: Some(actual),
            id: self.id,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            name_alias: self.name_alias,
            external_id: self.external_id,
            phone: self.phone,
            lang: self.lang,
            is_sso_only: self.is_sso_only,
            role_id: self.role_id,
            skills: self.skills.map(|values| pb::IdList { values }),
            excluded_tag_ids: self.excluded_tag_ids,
            required_tag_ids: self.required_tag_ids,
            call_routing_status: self.call_routing_status,
            chat_routing_status: self.chat_routing_status,
            last_seen: self.last_seen.map(sql_time),
            created_at: sql_time(self.created_at),
        }
    }

    fn actual_proto(&self, resolver: &Resolver) -> pb::Resolved {
        let actual = resolver.actual(self);
        pb::Resolved {
            role_id: actual.role_id,
            skills: actual.skills.map(|values| pb::IdList { values }),
            excluded_tag_ids: actual.excluded,
            required_tag_ids: actual.required,
            channels: actual.channels,
        }
    }

    /// What a token for this user carries: the actual settings, the actual role's permissions.
    fn identity(&self, resolver: &Resolver) -> Result<pb::Identity> {
        let actual = resolver.actual(self);
        let (base, permissions) = resolver
            .roles
            .get(&actual.role_id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("role {} not found", actual.role_id)))?;
        Ok(pb::Identity {
            user_id: self.id,
            role: base.as_str().into(),
            role_id: actual.role_id,
            skills: actual.skills.map(|values| pb::IdList { values }),
            excluded_tag_ids: actual.excluded,
            required_tag_ids: actual.required,
            permissions,
            channels: actual.channels,
        })
    }
}

async fn load(conn: &mut PgConnection, id: i64) -> Result<Row> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM settings.profile WHERE id = $1 AND deleted_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("profile {id} not found")))
}

impl Row {
    async fn view(self, conn: &mut PgConnection) -> Result<pb::Profile> {
        let resolver = Resolver::load(conn, &[self.id]).await?;
        Ok(self.into_proto(&resolver))
    }

    async fn resolved_identity(&self, conn: &mut PgConnection) -> Result<pb::Identity> {
        self.identity(&Resolver::load(conn, &[self.id]).await?)
    }
}

/// You may manage yourself; others need `manageUsers`.
fn self_or_manager(caller: &Caller, id: i64) -> Result<()> {
    if caller.user_id == id { Ok(()) } else { caller.require(permission::MANAGE_USERS) }
}

impl Settings {
    pub(crate) async fn login(&self, req: pb::LoginRequest) -> Result<pb::Identity> {
        let refused = || Error::Unauthenticated("e-mail or password is wrong".into());
        let mut tx = self.pool.begin().await?;
        // Locked for update: concurrent guesses count one by one.
        let found: Option<Credentials> = sqlx::query_as(
            "SELECT id, password_hash, failed_logins, locked_until FROM settings.profile \
             WHERE lower(email) = lower($1) AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(req.email.trim())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(Credentials { id, password_hash, failed_logins: failed, locked_until }) = found
        else {
            // Same work as a real check, so timing does not tell which e-mails exist.
            let _ = verify(&req.password, &DUMMY_HASH);
            return Err(refused());
        };
        let now = Utc::now();
        if let Some(until) = locked_until.filter(|u| *u > now) {
            let minutes = (until - now).num_minutes() + 1;
            return Err(Error::TooManyRequests(format!(
                "too many failed logins; try again in {minutes} minute(s)"
            )));
        }
        if password_hash.as_deref().is_some_and(|h| verify(&req.password, h)) {
            sqlx::query("UPDATE settings.profile SET failed_logins = 0, locked_until = NULL, last_seen = now() WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row = load(&mut tx, id).await?;
            let identity = row.resolved_identity(&mut tx).await?;
            tx.commit().await?;
            return Ok(identity);
        }
        let failed = failed + 1;
        let lock =
            (failed >= MAX_FAILED_LOGINS).then(|| now + chrono::Duration::minutes(LOCK_MINUTES));
        sqlx::query(
            "UPDATE settings.profile SET failed_logins = $2, locked_until = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(if lock.is_some() { 0 } else { failed })
        .bind(lock)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if lock.is_some() {
            tracing::warn!(profile_id = id, "account locked after repeated failed logins");
        }
        Err(refused())
    }

    pub(crate) async fn profiles(
        &self,
        caller: &Caller,
        req: pb::ListProfilesRequest,
    ) -> Result<pb::ListProfilesResponse> {
        caller.require(permission::READ_SETTINGS)?;
        let limit = match req.limit {
            0 => 1000,
            l if l < 0 => return Err(Error::InvalidArgument("limit must be positive".into())),
            l => l.min(1000),
        };
        if req.offset < 0 {
            return Err(Error::InvalidArgument("offset must not be negative".into()));
        }
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM settings.profile WHERE deleted_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM settings.profile WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2"
        )))
        .bind(limit)
        .bind(req.offset)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let resolver = Resolver::load(&mut *self.pool.acquire().await?, &ids).await?;
        Ok(pb::ListProfilesResponse {
            profiles: rows.into_iter().map(|r| r.into_proto(&resolver)).collect(),
            total,
        })
    }

    pub(crate) async fn profile(&self, caller: &Caller, id: i64) -> Result<pb::Profile> {
        if caller.user_id != id {
            caller.require(permission::READ_SETTINGS)?;
        }
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, id).await?.view(&mut conn).await
    }

    pub(crate) async fn create_profile(
        &self,
        caller: &Caller,
        req: pb::CreateProfileRequest,
    ) -> Result<pb::Profile> {
        caller.require(permission::MANAGE_USERS)?;
        let email = check_email(&req.email)?;
        let role_id = check_role(&mut *self.pool.acquire().await?, req.role_id).await?;
        let password_hash = match (&req.password, req.is_sso_only) {
            (Some(password), _) => Some(hash(password)?),
            (None, true) => None,
            (None, false) => {
                return Err(Error::InvalidArgument(
                    "a password is required unless the user signs in with SSO only".into(),
                ));
            }
        };
        let mut tx = self.pool.begin().await?;
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO settings.profile (email, first_name, last_name, phone, lang, password_hash, \
             role_id, skills, excluded_tag_ids, required_tag_ids, is_sso_only, inherit_team_settings) \
             VALUES ($1, $2, $3, $4, coalesce($5, 'de'), $6, $7, $8, $9, $10, $11, coalesce($12, true)) \
             RETURNING {COLUMNS}"
        )))
        .bind(&email)
        .bind(&req.first_name)
        .bind(&req.last_name)
        .bind(&req.phone)
        .bind(&req.lang)
        .bind(&password_hash)
        .bind(role_id)
        .bind(req.skills.map(|l| l.values))
        .bind(&req.excluded_tag_ids)
        .bind(&req.required_tag_ids)
        .bind(req.is_sso_only)
        .bind(req.inherit_team_settings)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("profile_email_key", || {
            Error::Conflict(format!("a user with e-mail {email} exists"))
        })?;
        teams::set_membership(&mut tx, row.id, &req.team_ids).await?;
        let profile = row.view(&mut tx).await?;
        tx.commit().await?;
        Ok(profile)
    }

    pub(crate) async fn update_profile(
        &self,
        caller: &Caller,
        req: pb::UpdateProfileRequest,
    ) -> Result<pb::Profile> {
        self_or_manager(caller, req.id)?;
        // Who may do what is a manager's call: nobody raises their own role or skills.
        let privileged = req.role_id.is_some()
            || req.skills.is_some()
            || req.clear_skills
            || req.excluded_tag_ids.is_some()
            || req.required_tag_ids.is_some()
            || req.team_ids.is_some()
            || req.inherit_team_settings.is_some();
        if privileged {
            caller.require(permission::MANAGE_USERS)?;
        }
        let email = req.email.as_deref().map(check_email).transpose()?;
        let role_id = match req.role_id {
            Some(id) => Some(check_role(&mut *self.pool.acquire().await?, id).await?),
            None => None,
        };
        let password_hash = req.password.as_deref().map(hash).transpose()?;
        let mut tx = self.pool.begin().await?;
        load(&mut tx, req.id).await?;
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE settings.profile SET email = coalesce($2, email), \
             first_name = coalesce($3, first_name), last_name = coalesce($4, last_name), \
             phone = coalesce($5, phone), lang = coalesce($6, lang), \
             password_hash = coalesce($7, password_hash), role_id = coalesce($8, role_id), \
             skills = CASE WHEN $9 THEN NULL ELSE coalesce($10, skills) END, \
             excluded_tag_ids = coalesce($11, excluded_tag_ids), \
             required_tag_ids = coalesce($12, required_tag_ids), \
             inherit_team_settings = coalesce($13, inherit_team_settings), modified_at = now() \
             WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(req.id)
        .bind(&email)
        .bind(&req.first_name)
        .bind(&req.last_name)
        .bind(&req.phone)
        .bind(&req.lang)
        .bind(&password_hash)
        .bind(role_id)
        .bind(req.clear_skills)
        .bind(req.skills.map(|l| l.values))
        .bind(req.excluded_tag_ids.map(|l| l.values))
        .bind(req.required_tag_ids.map(|l| l.values))
        .bind(req.inherit_team_settings)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(team_ids) = &req.team_ids {
            teams::set_membership(&mut tx, row.id, &team_ids.values).await?;
        }
        let profile = row.view(&mut tx).await?;
        tx.commit().await?;
        Ok(profile)
    }

    pub(crate) async fn delete_profile(&self, caller: &Caller, id: i64) -> Result<()> {
        caller.require(permission::MANAGE_USERS)?;
        if caller.user_id == id {
            return Err(Error::InvalidArgument("you cannot delete yourself".into()));
        }
        let mut tx = self.pool.begin().await?;
        load(&mut tx, id).await?;
        // Soft delete; the user's API keys and team memberships go with them.
        sqlx::query("DELETE FROM settings.team_member WHERE profile_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE settings.profile SET deleted_at = now() WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE settings.api_key SET revoked_at = now() WHERE profile_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn update_routing_status(
        &self,
        caller: &Caller,
        req: pb::UpdateRoutingStatusRequest,
    ) -> Result<pb::Profile> {
        self_or_manager(caller, req.id)?;
        for status in [&req.call_routing_status, &req.chat_routing_status].into_iter().flatten() {
            one_of("routing status", status, ROUTING_STATUSES)?;
        }
        let mut tx = self.pool.begin().await?;
        let current = load(&mut tx, req.id).await?;
        let moved = |expected: &Option<String>, actual: &str| {
            expected.as_deref().is_some_and(|e| e != actual)
        };
        if moved(&req.if_current_call, &current.call_routing_status)
            || moved(&req.if_current_chat, &current.chat_routing_status)
        {
            return Err(Error::Conflict("the routing status changed meanwhile".into()));
        }
        let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE settings.profile SET call_routing_status = coalesce($2, call_routing_status), \
             chat_routing_status = coalesce($3, chat_routing_status), modified_at = now() \
             WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(req.id)
        .bind(&req.call_routing_status)
        .bind(&req.chat_routing_status)
        .fetch_one(&mut *tx)
        .await?;
        let profile = row.view(&mut tx).await?;
        tx.commit().await?;
        Ok(profile)
    }

    pub(crate) async fn create_api_key(
        &self,
        caller: &Caller,
        req: pb::CreateApiKeyRequest,
    ) -> Result<pb::ApiKey> {
        self_or_manager(caller, req.user_id)?;
        let name = req.name.trim();
        let name = if name.is_empty() { "API key" } else { name };
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, req.user_id).await?;
        let (id, created_at): (Uuid, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO settings.api_key (id, profile_id, name, created_by) VALUES ($1, $2, $3, $4) \
             RETURNING id, created_at",
        )
        .bind(Uuid::new_v4())
        .bind(req.user_id)
        .bind(name)
        .bind(caller.user_id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(pb::ApiKey {
            id: id.to_string(),
            user_id: req.user_id,
            name: name.into(),
            created_at: sql_time(created_at),
            ..Default::default()
        })
    }

    pub(crate) async fn api_keys(&self, caller: &Caller, user_id: i64) -> Result<Vec<pb::ApiKey>> {
        self_or_manager(caller, user_id)?;
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT id, name, created_at, revoked_at, last_used_at FROM settings.api_key \
             WHERE profile_id = $1 ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|k| pb::ApiKey {
                id: k.id.to_string(),
                user_id,
                name: k.name,
                created_at: sql_time(k.created_at),
                revoked_at: k.revoked_at.map(sql_time),
                last_used_at: k.last_used_at.map(sql_time),
            })
            .collect())
    }

    pub(crate) async fn revoke_api_key(&self, caller: &Caller, r: pb::ApiKeyRef) -> Result<()> {
        self_or_manager(caller, r.user_id)?;
        let id =
            Uuid::parse_str(&r.key_id).map_err(|_| Error::NotFound("API key not found".into()))?;
        let revoked = sqlx::query(
            "UPDATE settings.api_key SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND profile_id = $2",
        )
        .bind(id)
        .bind(r.user_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if revoked == 0 {
            return Err(Error::NotFound("API key not found".into()));
        }
        Ok(())
    }

    /// What a token for user `id` would carry now.
    pub(crate) async fn resolve_identity(&self, caller: &Caller, id: i64) -> Result<pb::Identity> {
        self_or_manager(caller, id)?;
        let mut conn = self.pool.acquire().await?;
        let row = load(&mut conn, id).await?;
        row.resolved_identity(&mut conn).await
    }

    /// Users whose call or chat routing status is anything but offline, and how many users
    /// are in each status.
    pub(crate) async fn online_summary(
        &self,
        caller: &Caller,
    ) -> Result<pb::OnlineSummaryResponse> {
        caller.require(permission::READ_SETTINGS)?;
        let online: Vec<OnlineRow> = sqlx::query_as(
            "SELECT id, first_name, last_name, call_routing_status, chat_routing_status, last_seen \
             FROM settings.profile WHERE deleted_at IS NULL \
             AND (call_routing_status <> 'offline' OR chat_routing_status <> 'offline') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let counts: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT s.status, \
             count(p.id) FILTER (WHERE p.call_routing_status = s.status), \
             count(p.id) FILTER (WHERE p.chat_routing_status = s.status) \
             FROM unnest($1::text[]) WITH ORDINALITY AS s(status, n) \
             LEFT JOIN settings.profile p ON p.deleted_at IS NULL \
             AND s.status IN (p.call_routing_status, p.chat_routing_status) \
             GROUP BY s.status, s.n ORDER BY s.n",
        )
        .bind(ROUTING_STATUSES)
        .fetch_all(&self.pool)
        .await?;
        Ok(pb::OnlineSummaryResponse {
            online: online
                .into_iter()
                .map(|u| pb::OnlineUser {
                    id: u.id,
                    first_name: u.first_name,
                    last_name: u.last_name,
                    call_routing_status: u.call_routing_status,
                    chat_routing_status: u.chat_routing_status,
                    last_seen: u.last_seen.map(sql_time),
                })
                .collect(),
            counts: counts
                .into_iter()
                .map(|(status, call, chat)| pb::StatusCount { status, call, chat })
                .collect(),
        })
    }

    /// The current identity behind a live API key.
    pub(crate) async fn check_api_key(&self, r: pb::ApiKeyRef) -> Result<pb::Identity> {
        let dead = || Error::Unauthenticated("API key is revoked or unknown".into());
        let id = Uuid::parse_str(&r.key_id).map_err(|_| dead())?;
        let mut tx = self.pool.begin().await?;
        let live: Option<i64> = sqlx::query_scalar(
            "UPDATE settings.api_key SET last_used_at = now() \
             WHERE id = $1 AND profile_id = $2 AND revoked_at IS NULL RETURNING profile_id",
        )
        .bind(id)
        .bind(r.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let user_id = live.ok_or_else(dead)?;
        let row = load(&mut tx, user_id).await.map_err(|_| dead())?;
        let identity = row.resolved_identity(&mut tx).await?;
        tx.commit().await?;
        Ok(identity)
    }
}
