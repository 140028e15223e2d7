//! For tests that run services against the real PostgreSQL and RabbitMQ: a database and a
//! broker prefix of their own, service configurations pointing at them, and waits on what the
//! services do. Behind the `testing` feature, so no service binary carries it.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sqlx::Connection as _;

use crate::config::{AmqpConfig, DatabaseConfig, ServiceConfig, ServiceSpec, TelemetryConfig};

/// A role that may create databases and roles (ENNEO_TEST_ADMIN_URL).
pub fn admin_url() -> String {
    std::env::var("ENNEO_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The broker (ENNEO_TEST_AMQP_URL).
pub fn amqp_url() -> String {
    std::env::var("ENNEO_TEST_AMQP_URL").unwrap_or_else(|_| crate::config::DEFAULT_AMQP_URL.into())
}

/// The embeddings server (ENNEO_TEST_EMBEDDINGS_URL).
pub fn embeddings_url() -> String {
    std::env::var("ENNEO_TEST_EMBEDDINGS_URL").unwrap_or_else(|_| "http://127.0.0.1:8089/v1".into())
}

/// A database (`enneo_t_*`, which deploy/test.sh sweeps) and a broker prefix (`t_*.`) for one
/// test; dropped with [`TestSystem::drop_database`].
pub struct TestSystem {
    pub database: String,
    pub prefix: String,
}

impl TestSystem {
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        Self { database: format!("enneo_t_{id}"), prefix: format!("t_{id}.") }
    }

    /// How the service of `spec` reaches this system: its own role, the test's prefix, queues
    /// that expire once the test is gone, gRPC on a free port.
    pub fn config(&self, spec: &ServiceSpec) -> ServiceConfig {
        let role = format!("enneo_{}", spec.schema);
        ServiceConfig {
            grpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
            database: DatabaseConfig {
                url: SecretString::from(format!(
                    "postgres://{role}:{role}@{}/{}",
                    host_port(),
                    self.database
                )),
                max_connections: NonZeroU32::new(5).expect("non-zero"),
            },
            amqp: AmqpConfig {
                url: SecretString::from(amqp_url()),
                prefix: self.prefix.clone(),
                queue_expires_ms: Some(120_000),
            },
            telemetry: TelemetryConfig::default(),
        }
    }

    /// A connection as the admin role, to look at every schema.
    pub async fn admin_connection(&self) -> sqlx::PgConnection {
        let base = admin_url();
        let server = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base);
        sqlx::PgConnection::connect(&format!("{server}/{}", self.database))
            .await
            .expect("the test database accepts the admin role")
    }

    pub async fn drop_database(&self) {
        let mut admin =
            sqlx::PgConnection::connect(&admin_url()).await.expect("the admin role connects");
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.database
        )))
        .execute(&mut admin)
        .await;
    }
}

impl Default for TestSystem {
    fn default() -> Self {
        Self::new()
    }
}

/// The admin URL's host and port, where the services' own roles connect.
fn host_port() -> String {
    let url = admin_url();
    let rest = url.rsplit_once('@').map(|(_, r)| r).unwrap_or("127.0.0.1:5432/");
    rest.split('/').next().unwrap_or("127.0.0.1:5432").to_owned()
}

/// The single number `sql` selects.
pub async fn count(db: &mut sqlx::PgConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(db).await.expect("the count query runs")
}

/// Polls `sql` until it reaches `at_least` or `within` passes; returns the last value.
pub async fn wait_for(
    db: &mut sqlx::PgConnection,
    sql: &'static str,
    at_least: i64,
    within: Duration,
) -> i64 {
    let started = Instant::now();
    loop {
        let n = count(db, sql).await;
        if n >= at_least || started.elapsed() > within {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `queue` exists: events published before a consumer declared its queue would
/// have nowhere to go.
pub async fn wait_for_queue(queue: &str) {
    use lapin::options::QueueDeclareOptions;
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .expect("the broker accepts connections");
    for _ in 0..600 {
        let channel = conn.create_channel().await.expect("a channel");
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        if channel
            .queue_declare(queue.into(), passive, lapin::types::FieldTable::default())
            .await
            .is_ok()
        {
            let _ = conn.close(200, "".into()).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("queue {queue} never appeared");
}
