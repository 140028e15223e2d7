//! PostgreSQL access: each service connects as its own role, confined to its own schema.
//!
//! `bootstrap` is the one-time provisioning a superuser runs (through `<svc> migrate
//! --bootstrap-url`): database, login role and schema. Everything after that — migrations and
//! traffic — runs as the service's own role, which cannot see the other services' schemas.

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::error::{Error, Result};

/// A pool whose sessions resolve unqualified names in `schema` (so sqlx's own
/// `_sqlx_migrations` table lands there too). Application SQL still qualifies every name.
pub fn pool(url: &SecretString, schema: &str, max_connections: u32) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url.expose_secret())?
        .options([("search_path", schema)])
        .application_name(schema);
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options))
}

/// Creates the database, login role and schema named by `service_url` if they are missing,
/// using the privileged `admin_url`. Safe to run again and from parallel test processes.
pub async fn bootstrap(admin_url: &str, service_url: &SecretString, schema: &str) -> Result<()> {
    let target = PgConnectOptions::from_str(service_url.expose_secret())?;
    let database = target
        .get_database()
        .ok_or_else(|| Error::Config("database url names no database".into()))?
        .to_owned();
    let role = target.get_username().to_owned();
    let password = password_of(service_url.expose_secret());

    let admin = PgConnectOptions::from_str(admin_url)?;
    let mut conn = PgConnection::connect_with(&admin).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&database)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let sql = quoted(&mut conn, "CREATE DATABASE %I", &[&database]).await?;
        tolerate(sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await, &["42P04"])?;
    }
    let role_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(&role)
            .fetch_one(&mut conn)
            .await?;
    if !role_exists {
        let sql =
            quoted(&mut conn, "CREATE ROLE %I LOGIN PASSWORD %L", &[&role, &password]).await?;
        // 42710: created meanwhile by a parallel bootstrap; 23505: same race, caught later.
        tolerate(sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await, &["42710", "23505"])?;
    }
    conn.close().await?;

    let mut conn = PgConnection::connect_with(&admin.database(&database)).await?;
    for template in
        ["CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I", "REVOKE ALL ON SCHEMA public FROM %I"]
    {
        let args: &[&str] =
            if template.starts_with("CREATE") { &[schema, &role] } else { &[&role] };
        let sql = quoted(&mut conn, template, args).await?;
        // 42P06 / 23505: the schema appeared through a parallel bootstrap.
        tolerate(sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await, &["42P06", "23505"])?;
    }
    conn.close().await?;
    Ok(())
}

/// Lets PostgreSQL quote identifiers (`%I`) and literals (`%L`): DDL cannot take bind
/// parameters, and `format()` is the server's own, injection-safe quoting.
async fn quoted(conn: &mut PgConnection, template: &str, args: &[&str]) -> Result<String> {
    let mut query = sqlx::query_scalar::<_, String>(match args.len() {
        1 => "SELECT format($1, $2)",
        2 => "SELECT format($1, $2, $3)",
        _ => return Err(Error::Config("unsupported DDL template".into())),
    })
    .bind(template);
    for arg in args {
        query = query.bind(*arg);
    }
    Ok(query.fetch_one(conn).await?)
}

fn tolerate<T>(result: Result<T, sqlx::Error>, codes: &[&str]) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.code().is_some_and(|c| codes.contains(&c.as_ref())) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The password part of a URL, percent-decoded (`PgConnectOptions` keeps it private).
fn password_of(url: &str) -> String {
    let Some(rest) = url.split_once("://").map(|(_, rest)| rest) else {
        return String::new();
    };
    let userinfo = rest.split('@').next().filter(|_| rest.contains('@')).unwrap_or("");
    let raw = userinfo.split_once(':').map(|(_, p)| p).unwrap_or("");
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// The shared code of a database failure: down or saturated is 503, a violated constraint
/// (unique key, check) is 409, anything else is ours (500).
pub fn error_code(err: &sqlx::Error) -> crate::ErrorCode {
    match err {
        e if is_transient(e) => crate::ErrorCode::Unavailable,
        sqlx::Error::Database(e) if e.constraint().is_some() => crate::ErrorCode::Conflict,
        _ => crate::ErrorCode::Internal,
    }
}

/// True for failures worth retrying later (the database is down or saturated), as opposed to
/// errors in what we asked it to do.
pub fn is_transient(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_read_and_decoded() {
        assert_eq!(password_of("postgres://u:p%40ss@h:5432/db"), "p@ss");
        assert_eq!(password_of("postgres://u@h/db"), "");
        assert_eq!(password_of("postgres://h/db"), "");
        assert_eq!(password_of("postgres://u:%é%4@h/db"), "%é%4");
    }
}
