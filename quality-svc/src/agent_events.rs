//! Regression runs on AI agent changes: with the tenant setting `qualityCheckOnAgentChange`
//! on, an `AiAgentChanged` event schedules a run of the agent's test cases, so an edit shows
//! its effect without anyone asking.
//!
//! The setting is kept from `SettingChanged` events ([`SETTING`] in `quality.setting_cache`).
//! Every agent change is recorded in `quality.agent_change` with what it led to; the runs it
//! starts have the trigger `agentChange`. Changes coalesce: while an automatic run of the agent
//! is scheduled or processing, or when one was created after the change happened (its replays
//! already see the change), no other is started. The setting is judged at the time of the
//! change, not of its delivery: a change that happened after the setting was turned on but
//! arrived before that setting event is run when the setting event arrives.

use chrono::{DateTime, Utc};
use enneo_common::amqp::Envelope;
use enneo_common::auth::Caller;
use enneo_common::consumer::Handler;
use enneo_common::service_error::Error;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use crate::runs::{Runs, Schedule, Trigger};

pub const QUEUE: &str = "quality-svc.agent-changes";
pub const ROUTING_KEYS: &[&str] = &["agent.AiAgentChanged", "settings.SettingChanged"];

/// The tenant setting that switches automatic runs on (default off).
pub const SETTING: &str = "qualityCheckOnAgentChange";

/// What an agent change led to (`quality.agent_change.outcome`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Scheduled(i64),
    Coalesced(i64),
    SettingOff,
    NoTestCases,
    AgentGone,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Self::Scheduled(_) => "scheduled",
            Self::Coalesced(_) => "coalesced",
            Self::SettingOff => "settingOff",
            Self::NoTestCases => "noTestCases",
            Self::AgentGone => "agentGone",
        }
    }

    fn run(self) -> Option<i64> {
        match self {
            Self::Scheduled(run) | Self::Coalesced(run) => Some(run),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentChanged {
    ai_agent_id: i64,
    version: i64,
    #[serde(default)]
    action: String,
}

pub struct AgentChanges {
    pub runs: Runs,
}

impl Handler for AgentChanges {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            "AiAgentChanged" => self.agent_changed(tx, event).await,
            "SettingChanged" => self.setting_changed(tx, event).await,
            _ => Ok(()),
        }
    }
}

impl AgentChanges {
    async fn agent_changed(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        let change: AgentChanged = serde_json::from_value(event.payload.clone())?;
        let outcome = if change.action == "delete" {
            Outcome::AgentGone
        } else if !setting_on_at(tx, event.occurred_at).await? {
            Outcome::SettingOff
        } else {
            self.trigger(tx, change.ai_agent_id, change.version, event.occurred_at).await?
        };
        sqlx::query(
            "INSERT INTO quality.agent_change \
             (event_id, ai_agent_id, agent_version, occurred_at, outcome, test_run_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.event_id)
        .bind(change.ai_agent_id)
        .bind(change.version)
        .bind(event.occurred_at)
        .bind(outcome.name())
        .bind(outcome.run())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Keeps the setting; turned on, it runs the changes that happened since but found it off.
    async fn setting_changed(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.aggregate_id != format!("setting:{SETTING}") {
            return Ok(());
        }
        let Some(value) = event.payload.pointer("/change/value") else {
            return Ok(());
        };
        let newer = sqlx::query(
            "INSERT INTO quality.setting_cache (name, value, version, changed_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, \
               changed_at = EXCLUDED.changed_at \
             WHERE quality.setting_cache.version < EXCLUDED.version",
        )
        .bind(SETTING)
        .bind(value)
        .bind(event.aggregate_version)
        .bind(event.occurred_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if newer == 0 || value != &Value::Bool(true) {
            return Ok(());
        }
        let waiting: Vec<(i64, i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT ai_agent_id, max(agent_version), max(occurred_at) FROM quality.agent_change \
             WHERE outcome = 'settingOff' AND occurred_at >= $1 \
             GROUP BY ai_agent_id ORDER BY ai_agent_id",
        )
        .bind(event.occurred_at)
        .fetch_all(&mut *tx)
        .await?;
        for (agent, version, occurred_at) in waiting {
            let outcome = self.trigger(tx, agent, version, occurred_at).await?;
            sqlx::query(
                "UPDATE quality.agent_change SET outcome = $3, test_run_id = $4, handled_at = now() \
                 WHERE ai_agent_id = $1 AND outcome = 'settingOff' AND occurred_at >= $2",
            )
            .bind(agent)
            .bind(event.occurred_at)
            .bind(outcome.name())
            .bind(outcome.run())
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Schedules a run of the agent's test cases unless one already covers the change.
    ///
    /// The run is written by [`Runs::schedule`] in its own transaction, before the caller's
    /// commits: should that commit fail, the redelivered event finds that automatic run
    /// (created after the change) and starts no second one.
    async fn trigger(
        &self,
        tx: &mut PgConnection,
        agent: i64,
        version: i64,
        occurred_at: DateTime<Utc>,
    ) -> anyhow::Result<Outcome> {
        // One decision per agent at a time, across replicas.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('quality.agent_change', $1))")
            .bind(agent)
            .execute(&mut *tx)
            .await?;
        let has_cases: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM quality.test_case WHERE ai_agent_id = $1)",
        )
        .bind(agent)
        .fetch_one(&mut *tx)
        .await?;
        if !has_cases {
            return Ok(Outcome::NoTestCases);
        }
        let covering: Option<i64> = sqlx::query_scalar(
            "SELECT r.id FROM quality.test_run r \
             WHERE r.ai_agent_id = $1 AND r.trigger = $3 \
               AND (r.state IN ('scheduled', 'processing') OR r.created_at >= $2) \
             ORDER BY r.id DESC LIMIT 1",
        )
        .bind(agent)
        .bind(occurred_at)
        .bind(Trigger::AgentChange.name())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(run) = covering {
            return Ok(Outcome::Coalesced(run));
        }
        let schedule = Schedule {
            ai_agent_id: Some(agent),
            description: Some(description(version)),
            trigger: Trigger::AgentChange,
            ..Schedule::default()
        };
        match self.runs.schedule(&Caller::system(), schedule).await {
            Ok(run) => Ok(Outcome::Scheduled(run.id)),
            Err(Error::NotFound(_)) => Ok(Outcome::AgentGone),
            // The last test case was deleted meanwhile.
            Err(Error::Unprocessable(_)) => Ok(Outcome::NoTestCases),
            Err(e) => Err(e.into()),
        }
    }
}

/// The description of an automatic run: the agent version it tests.
fn description(version: i64) -> String {
    format!("Automatic run: AI agent changed (version {version})")
}

/// Whether the setting was on when something happened at `at`.
async fn setting_on_at(tx: &mut PgConnection, at: DateTime<Utc>) -> sqlx::Result<bool> {
    let cached: Option<(Value, DateTime<Utc>)> =
        sqlx::query_as("SELECT value, changed_at FROM quality.setting_cache WHERE name = $1")
            .bind(SETTING)
            .fetch_optional(tx)
            .await?;
    Ok(cached.is_some_and(|(value, changed_at)| value == Value::Bool(true) && changed_at <= at))
}
