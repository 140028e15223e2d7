//! The expectation versions of a test case, and rolling back to one. A rollback never rewrites
//! history: it records the old expectation again as the newest version (reason `rollback`), so
//! the record of who changed what stays complete.

use enneo_common::auth::Caller;
use enneo_common::service_error::{Error, Result};
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection};

use super::{CaseRow, TestCases, get, iso, set_expectation};

#[derive(Debug, FromRow)]
pub struct VersionRow {
    pub version: i32,
    pub expected_result: Option<Value>,
    pub reason: String,
    pub test_run_id: Option<i64>,
    pub set_by: i64,
    pub set_at: chrono::DateTime<chrono::Utc>,
}

impl VersionRow {
    pub fn document(&self) -> Value {
        json!({
            "version": self.version,
            "expectedResult": self.expected_result,
            "reason": self.reason,
            "testRunId": self.test_run_id,
            "setBy": self.set_by,
            "setAt": iso(self.set_at),
        })
    }
}

async fn versions_of(conn: &mut PgConnection, case_id: i64) -> Result<Vec<VersionRow>> {
    Ok(sqlx::query_as(
        "SELECT version, expected_result, reason, test_run_id, set_by, set_at \
         FROM quality.test_case_expectation WHERE test_case_id = $1 ORDER BY version DESC",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

impl TestCases {
    /// Every expectation the case has had, newest first; 404 for an unknown case.
    pub async fn expectations(&self, case_id: i64) -> Result<Vec<VersionRow>> {
        let mut conn = self.pool.acquire().await?;
        get(&mut conn, case_id).await?;
        versions_of(&mut conn, case_id).await
    }

    /// Makes version `version`'s expectation the case's current one, as a new version.
    pub async fn roll_back(&self, caller: &Caller, case_id: i64, version: i32) -> Result<CaseRow> {
        let mut tx = self.pool.begin().await?;
        // Locks the case: two rollbacks at once get consecutive versions, not the same one.
        sqlx::query("SELECT 1 FROM quality.test_case WHERE id = $1 FOR UPDATE")
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        let case = get(&mut tx, case_id).await?;
        let old: Option<(Option<Value>,)> = sqlx::query_as(
            "SELECT expected_result FROM quality.test_case_expectation \
             WHERE test_case_id = $1 AND version = $2",
        )
        .bind(case_id)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((expected,)) = old else {
            return Err(Error::NotFound(format!(
                "test case {case_id} has no expectation version {version}"
            )));
        };
        if version == case.expectation_version {
            return Err(Error::Unprocessable(format!(
                "version {version} is the current expectation of test case {case_id}"
            )));
        }
        set_expectation(&mut tx, case_id, expected.as_ref(), "rollback", None, caller.user_id)
            .await?;
        let row = get(&mut tx, case_id).await?;
        tx.commit().await?;
        Ok(row)
    }
}
