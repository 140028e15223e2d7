//! Teams (contract §6.3): a tree of teams whose routing settings (role, skills, channels,
//! excluded and required tags) pass down to child teams that inherit and to member users.
//! A tenant has tens of teams, so the whole live tree is loaded and resolved in memory.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, OnConstraint as _, Result};
use enneo_proto::settings::v1 as pb;
use sqlx::PgConnection;

use crate::service::Settings;
use crate::{roles, subchannels};

/// Deeper than any real organisation; stops a walk on corrupt data.
const MAX_DEPTH: usize = 64;

/// Settings a team (or a user) may set; `None` is "not set here".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub role_id: Option<i32>,
    pub skills: Option<Vec<i64>>,
    pub channels: Option<Vec<String>>,
    pub excluded: Option<Vec<i64>>,
    pub required: Option<Vec<i64>>,
}

impl Values {
    /// These values, with the unset ones taken from `parent`.
    fn or(self, parent: &Values) -> Values {
        Values {
            role_id: self.role_id.or(parent.role_id),
            skills: self.skills.or_else(|| parent.skills.clone()),
            channels: self.channels.or_else(|| parent.channels.clone()),
            excluded: self.excluded.or_else(|| parent.excluded.clone()),
            required: self.required.or_else(|| parent.required.clone()),
        }
    }

    fn into_proto(self, inherit_parental_settings: bool) -> pb::TeamSettings {
        pb::TeamSettings {
            role_id: self.role_id,
            skills: self.skills.map(|values| pb::IdList { values }),
            channels: self.channels.map(|values| pb::StringList { values }),
            excluded_tag_ids: self.excluded.map(|values| pb::IdList { values }),
            required_tag_ids: self.required.map(|values| pb::IdList { values }),
            inherit_parental_settings,
        }
    }
}

/// What a user ends up with: their own settings merged with those of their teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actual {
    pub role_id: i32,
    /// None: no skill restriction.
    pub skills: Option<Vec<i64>>,
    pub excluded: Vec<i64>,
    pub required: Vec<i64>,
    /// Empty: every channel.
    pub channels: Vec<String>,
}

/// The user's own settings.
pub struct Own<'a> {
    pub role_id: i32,
    pub skills: Option<&'a [i64]>,
    pub excluded: &'a [i64],
    pub required: &'a [i64],
}

fn intersection(lists: &[Vec<i64>]) -> BTreeSet<i64> {
    let mut lists = lists.iter();
    let Some(first) = lists.next() else { return BTreeSet::new() };
    let mut common: BTreeSet<i64> = first.iter().copied().collect();
    for list in lists {
        common.retain(|id| list.contains(id));
    }
    common
}

/// Merges a user's settings with their teams' (already inherited) settings. A user in several
/// teams may do what any of them may: skills and channels are the union, a tag stays excluded
/// or required only when every team says so, and the strongest role wins. The user's own
/// skills join the union; their own exclusions and requirements always apply. A team without
/// skills adds none; a user with no skills anywhere is unrestricted.
pub fn resolve(own: Own<'_>, teams: &[Values], strength: impl Fn(i32) -> (bool, usize)) -> Actual {
    let skill_sets: Vec<&Vec<i64>> = teams.iter().filter_map(|t| t.skills.as_ref()).collect();
    let skills = if own.skills.is_none() && skill_sets.is_empty() {
        None
    } else {
        let union: BTreeSet<i64> = own
            .skills
            .unwrap_or_default()
            .iter()
            .chain(skill_sets.into_iter().flatten())
            .copied()
            .collect();
        Some(union.into_iter().collect())
    };
    let team_lists = |pick: fn(&Values) -> Option<&Vec<i64>>| -> Vec<Vec<i64>> {
        teams.iter().map(|t| pick(t).cloned().unwrap_or_default()).collect()
    };
    let merge = |own: &[i64], teams: Vec<Vec<i64>>| -> Vec<i64> {
        let mut all = intersection(&teams);
        all.extend(own.iter().copied());
        all.into_iter().collect()
    };
    let channels: BTreeSet<String> =
        teams.iter().filter_map(|t| t.channels.as_ref()).flatten().cloned().collect();
    let role_id = teams
        .iter()
        .filter_map(|t| t.role_id)
        .chain(std::iter::once(own.role_id))
        .max_by_key(|id| (strength(*id), std::cmp::Reverse(*id)))
        .unwrap_or(own.role_id);
    Actual {
        role_id,
        skills,
        excluded: merge(own.excluded, team_lists(|t| t.excluded.as_ref())),
        required: merge(own.required, team_lists(|t| t.required.as_ref())),
        channels: channels.into_iter().collect(),
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: i32,
    name: String,
    parent_id: Option<i32>,
    role_id: Option<i32>,
    skills: Option<Vec<i64>>,
    channels: Option<Vec<String>>,
    excluded_tag_ids: Option<Vec<i64>>,
    required_tag_ids: Option<Vec<i64>>,
    inherit_parental_settings: bool,
    member_ids: Vec<i64>,
    created_at: DateTime<Utc>,
    modified_at: Option<DateTime<Utc>>,
}

impl Row {
    fn values(&self) -> Values {
        Values {
            role_id: self.role_id,
            skills: self.skills.clone(),
            channels: self.channels.clone(),
            excluded: self.excluded_tag_ids.clone(),
            required: self.required_tag_ids.clone(),
        }
    }
}

/// Every live team.
pub struct Forest {
    teams: HashMap<i32, Row>,
}

impl Forest {
    pub async fn load(conn: &mut PgConnection) -> Result<Self> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.id, t.name, t.parent_id, t.role_id, t.skills, t.channels, t.excluded_tag_ids, \
             t.required_tag_ids, t.inherit_parental_settings, t.created_at, t.modified_at, \
             ARRAY(SELECT m.profile_id FROM settings.team_member m \
                   JOIN settings.profile p ON p.id = m.profile_id AND p.deleted_at IS NULL \
                   WHERE m.team_id = t.id ORDER BY m.profile_id) AS member_ids \
             FROM settings.team t WHERE t.deleted_at IS NULL",
        )
        .fetch_all(conn)
        .await?;
        Ok(Self { teams: rows.into_iter().map(|r| (r.id, r)).collect() })
    }

    fn get(&self, id: i32) -> Result<&Row> {
        self.teams.get(&id).ok_or_else(|| Error::NotFound(format!("team {id} not found")))
    }

    /// The team and its ancestors, nearest first.
    fn lineage(&self, id: i32) -> impl Iterator<Item = &Row> {
        let mut next = self.teams.get(&id);
        std::iter::from_fn(move || {
            let team = next?;
            next = team.parent_id.and_then(|p| self.teams.get(&p));
            Some(team)
        })
        .take(MAX_DEPTH)
    }

    /// The team's settings with what it inherits from its ancestors filled in.
    pub fn effective(&self, id: i32) -> Values {
        let mut values = Values::default();
        for team in self.lineage(id) {
            values = values.or(&team.values());
            if !team.inherit_parental_settings {
                break;
            }
        }
        values
    }

    fn full_name(&self, id: i32) -> String {
        let mut names: Vec<&str> = self.lineage(id).map(|t| t.name.as_str()).collect();
        names.reverse();
        names.join(" / ")
    }

    fn is_below(&self, id: i32, ancestor: i32) -> bool {
        self.lineage(id).any(|t| t.id == ancestor)
    }

    /// The teams a caller may see: all with `viewAllTeams`, else their teams and everything
    /// below them.
    fn visible(&self, caller: &Caller, own: &[i32]) -> HashSet<i32> {
        let all = caller.has(permission::VIEW_ALL_TEAMS);
        self.teams
            .keys()
            .copied()
            .filter(|id| all || own.iter().any(|o| self.is_below(*id, *o)))
            .collect()
    }

    fn to_proto(&self, id: i32, force_inheritance: bool) -> pb::Team {
        let team = &self.teams[&id];
        let values = if force_inheritance { self.effective(id) } else { team.values() };
        pb::Team {
            id,
            name: team.name.clone(),
            parent_id: team.parent_id,
            full_name: self.full_name(id),
            settings: Some(values.into_proto(team.inherit_parental_settings)),
            member_ids: team.member_ids.clone(),
            created_at: crate::identity::sql_time(team.created_at),
            modified_at: team.modified_at.map(crate::identity::sql_time),
        }
    }
}

/// The teams user `profile_id` belongs to.
pub async fn teams_of(conn: &mut PgConnection, profile_id: i64) -> Result<Vec<i32>> {
    Ok(sqlx::query_scalar(
        "SELECT m.team_id FROM settings.team_member m JOIN settings.team t ON t.id = m.team_id \
         AND t.deleted_at IS NULL WHERE m.profile_id = $1 ORDER BY m.team_id",
    )
    .bind(profile_id)
    .fetch_all(conn)
    .await?)
}

/// Makes `team_ids` the teams of user `profile_id`; every team must exist.
pub async fn set_membership(
    conn: &mut PgConnection,
    profile_id: i64,
    team_ids: &[i32],
) -> Result<()> {
    let live: Vec<i32> = sqlx::query_scalar(
        "SELECT id FROM settings.team WHERE id = ANY($1) AND deleted_at IS NULL",
    )
    .bind(team_ids)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(missing) = team_ids.iter().find(|id| !live.contains(id)) {
        return Err(Error::InvalidArgument(format!("team {missing} does not exist")));
    }
    sqlx::query("DELETE FROM settings.team_member WHERE profile_id = $1")
        .bind(profile_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO settings.team_member (team_id, profile_id) \
         SELECT DISTINCT unnest($1::int[]), $2",
    )
    .bind(team_ids)
    .bind(profile_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const CLEARABLE: &[&str] =
    &["roleId", "skills", "channels", "excludedTagIds", "ticketBacklogRequiredTagIds"];

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::InvalidArgument("name must have 1 to 200 characters".into()));
    }
    Ok(name.to_owned())
}

async fn check_settings(conn: &mut PgConnection, settings: &pb::TeamSettings) -> Result<()> {
    if let Some(role_id) = settings.role_id {
        roles::permissions_of(conn, role_id)
            .await
            .map_err(|_| Error::InvalidArgument(format!("roleId {role_id} does not exist")))?;
    }
    for channel in settings.channels.iter().flat_map(|c| &c.values) {
        subchannels::channel(channel)?;
    }
    Ok(())
}

/// Sibling teams have distinct names.
const NAME_KEY: &str = "team_name_key";

fn name_taken() -> Error {
    Error::Conflict("a sibling team has this name".into())
}

impl Settings {
    async fn team_scope(&self, caller: &Caller) -> Result<(Forest, HashSet<i32>)> {
        caller.require(permission::READ_SETTINGS)?;
        let mut conn = self.pool.acquire().await?;
        let forest = Forest::load(&mut conn).await?;
        let own = teams_of(&mut conn, caller.user_id).await?;
        let visible = forest.visible(caller, &own);
        Ok((forest, visible))
    }

    pub(crate) async fn list_teams(
        &self,
        caller: &Caller,
        req: pb::ListTeamsRequest,
    ) -> Result<pb::ListTeamsResponse> {
        let (forest, visible) = self.team_scope(caller).await?;
        let q = req.q.as_deref().map(str::to_lowercase).filter(|q| !q.trim().is_empty());
        let mut teams: Vec<pb::Team> = visible
            .into_iter()
            .filter(|id| req.ids.is_empty() || req.ids.contains(id))
            .filter(|id| {
                q.as_ref().is_none_or(|q| forest.teams[id].name.to_lowercase().contains(q))
            })
            .filter(|id| req.role_id.is_none_or(|r| forest.effective(*id).role_id == Some(r)))
            .map(|id| forest.to_proto(id, req.force_inheritance))
            .collect();
        teams.sort_by_key(|t| t.full_name.to_lowercase());
        Ok(pb::ListTeamsResponse { teams })
    }

    pub(crate) async fn team(&self, caller: &Caller, req: pb::GetTeamRequest) -> Result<pb::Team> {
        let (forest, visible) = self.team_scope(caller).await?;
        forest.get(req.id)?;
        if !visible.contains(&req.id) {
            return Err(Error::PermissionDenied(format!(
                "team {} is outside your teams (needs {})",
                req.id,
                permission::VIEW_ALL_TEAMS
            )));
        }
        Ok(forest.to_proto(req.id, req.force_inheritance))
    }

    /// The parent a write names, which the caller must see; a root team needs `viewAllTeams`.
    fn check_parent(
        forest: &Forest,
        visible: &HashSet<i32>,
        caller: &Caller,
        parent: Option<i32>,
    ) -> Result<()> {
        match parent {
            Some(p) => {
                forest.get(p).map_err(|_| {
                    Error::InvalidArgument(format!("parent team {p} does not exist"))
                })?;
                if !visible.contains(&p) {
                    return Err(Error::PermissionDenied(format!("team {p} is outside your teams")));
                }
            }
            None => caller.require(permission::VIEW_ALL_TEAMS)?,
        }
        Ok(())
    }

    pub(crate) async fn create_team(
        &self,
        caller: &Caller,
        req: pb::TeamWrite,
    ) -> Result<pb::Team> {
        caller.require(permission::MANAGE_TEAMS)?;
        let name = check_name(req.name.as_deref().unwrap_or_default())?;
        let settings = req.settings.unwrap_or_default();
        let (forest, visible) = self.team_scope(caller).await?;
        Self::check_parent(&forest, &visible, caller, req.parent_id)?;
        let mut tx = self.pool.begin().await?;
        check_settings(&mut tx, &settings).await?;
        let inherit = if req.set_inherit { settings.inherit_parental_settings } else { true };
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO settings.team (name, parent_id, role_id, skills, channels, excluded_tag_ids, \
             required_tag_ids, inherit_parental_settings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id",
        )
        .bind(&name)
        .bind(req.parent_id)
        .bind(settings.role_id)
        .bind(settings.skills.map(|l| l.values))
        .bind(settings.channels.map(|l| l.values))
        .bind(settings.excluded_tag_ids.map(|l| l.values))
        .bind(settings.required_tag_ids.map(|l| l.values))
        .bind(inherit)
        .fetch_one(&mut *tx)
        .await
        .on_constraint(NAME_KEY, name_taken)?;
        let forest = Forest::load(&mut tx).await?;
        tx.commit().await?;
        Ok(forest.to_proto(id, false))
    }

    pub(crate) async fn update_team(
        &self,
        caller: &Caller,
        req: pb::TeamWrite,
    ) -> Result<pb::Team> {
        caller.require(permission::MANAGE_TEAMS)?;
        let (forest, visible) = self.team_scope(caller).await?;
        forest.get(req.id)?;
        if !visible.contains(&req.id) {
            return Err(Error::PermissionDenied(format!("team {} is outside your teams", req.id)));
        }
        let name = req.name.as_deref().map(check_name).transpose()?;
        if let Some(unknown) = req.clear.iter().find(|c| !CLEARABLE.contains(&c.as_str())) {
            return Err(Error::InvalidArgument(format!(
                "{unknown} cannot be unset; one of {}",
                CLEARABLE.join(", ")
            )));
        }
        let new_parent = if req.clear_parent { Some(None) } else { req.parent_id.map(Some) };
        if let Some(parent) = new_parent {
            Self::check_parent(&forest, &visible, caller, parent)?;
            if parent.is_some_and(|p| forest.is_below(p, req.id)) {
                return Err(Error::InvalidArgument(
                    "a team cannot move below itself or one of its children".into(),
                ));
            }
        }
        let settings = req.settings.unwrap_or_default();
        let clear = |field: &str| req.clear.iter().any(|c| c == field);
        let mut tx = self.pool.begin().await?;
        check_settings(&mut tx, &settings).await?;
        sqlx::query(
            "UPDATE settings.team SET name = coalesce($2, name), \
             parent_id = CASE WHEN $3 THEN $4 ELSE parent_id END, \
             role_id = CASE WHEN $5 THEN NULL ELSE coalesce($6, role_id) END, \
             skills = CASE WHEN $7 THEN NULL ELSE coalesce($8, skills) END, \
             channels = CASE WHEN $9 THEN NULL ELSE coalesce($10, channels) END, \
             excluded_tag_ids = CASE WHEN $11 THEN NULL ELSE coalesce($12, excluded_tag_ids) END, \
             required_tag_ids = CASE WHEN $13 THEN NULL ELSE coalesce($14, required_tag_ids) END, \
             inherit_parental_settings = CASE WHEN $15 THEN $16 ELSE inherit_parental_settings END, \
             modified_at = now() WHERE id = $1",
        )
        .bind(req.id)
        .bind(&name)
        .bind(new_parent.is_some())
        .bind(new_parent.flatten())
        .bind(clear("roleId"))
        .bind(settings.role_id)
        .bind(clear("skills"))
        .bind(settings.skills.map(|l| l.values))
        .bind(clear("channels"))
        .bind(settings.channels.map(|l| l.values))
        .bind(clear("excludedTagIds"))
        .bind(settings.excluded_tag_ids.map(|l| l.values))
        .bind(clear("ticketBacklogRequiredTagIds"))
        .bind(settings.required_tag_ids.map(|l| l.values))
        .bind(req.set_inherit)
        .bind(settings.inherit_parental_settings)
        .execute(&mut *tx)
        .await
        .on_constraint(NAME_KEY, name_taken)?;
        let forest = Forest::load(&mut tx).await?;
        tx.commit().await?;
        Ok(forest.to_proto(req.id, false))
    }

    pub(crate) async fn delete_team(&self, caller: &Caller, id: i32) -> Result<()> {
        caller.require(permission::MANAGE_TEAMS)?;
        let (forest, visible) = self.team_scope(caller).await?;
        let team = forest.get(id)?;
        if !visible.contains(&id) {
            return Err(Error::PermissionDenied(format!("team {id} is outside your teams")));
        }
        if forest.teams.values().any(|t| t.parent_id == Some(id)) {
            return Err(Error::InvalidArgument(format!(
                "team {id} has child teams; move or delete them first"
            )));
        }
        if !team.member_ids.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "team {id} has {} member(s); move them to other teams first",
                team.member_ids.len()
            )));
        }
        // Guarded again in SQL: a member or child added meanwhile keeps the team alive.
        let deleted = sqlx::query(
            "UPDATE settings.team t SET deleted_at = now() WHERE t.id = $1 AND t.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM settings.team c WHERE c.parent_id = t.id AND c.deleted_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM settings.team_member m JOIN settings.profile p \
                 ON p.id = m.profile_id AND p.deleted_at IS NULL WHERE m.team_id = t.id)",
        )
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Err(Error::Conflict(format!("team {id} changed meanwhile; try again")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(skills: Option<Vec<i64>>, excluded: Option<Vec<i64>>, role_id: Option<i32>) -> Values {
        Values { role_id, skills, excluded, ..Values::default() }
    }

    /// Administrators (base 1) beat agents; then the role with more permissions.
    fn strength(id: i32) -> (bool, usize) {
        match id {
            1 => (true, 20),
            101 => (false, 12),
            _ => (false, 9),
        }
    }

    #[test]
    fn a_user_in_several_teams_gets_what_any_of_them_may() {
        let own = Own { role_id: 2, skills: None, excluded: &[9], required: &[] };
        let teams = [
            team(Some(vec![1, 2]), Some(vec![5, 6]), Some(101)),
            team(Some(vec![3]), Some(vec![6]), None),
        ];
        let actual = resolve(own, &teams, strength);
        assert_eq!(actual.skills, Some(vec![1, 2, 3]));
        assert_eq!(actual.excluded, vec![6, 9], "6 excluded by both teams, 9 by the user");
        assert_eq!(actual.role_id, 101, "the stronger role");
    }

    #[test]
    fn without_teams_a_user_keeps_their_own_settings() {
        let own = Own { role_id: 1, skills: None, excluded: &[], required: &[4] };
        let actual = resolve(own, &[], strength);
        assert_eq!(actual.skills, None, "no skills anywhere: unrestricted");
        assert_eq!(actual.required, vec![4]);
        assert_eq!(actual.role_id, 1);
        let own = Own { role_id: 2, skills: Some(&[]), excluded: &[], required: &[] };
        assert_eq!(resolve(own, &[team(None, None, None)], strength).skills, Some(vec![]));
    }

    #[test]
    fn unset_team_values_come_from_the_parent() {
        let child = team(None, Some(vec![1]), None);
        let parent = team(Some(vec![7]), Some(vec![2]), Some(1));
        assert_eq!(child.or(&parent), team(Some(vec![7]), Some(vec![1]), Some(1)));
    }
}
