//! Shared plumbing against a real PostgreSQL (`ENNEO_TEST_ADMIN_URL`, a superuser URL) and
//! RabbitMQ (`ENNEO_TEST_AMQP_URL`): each test creates its own database and queue prefix.

mod consumer;
mod jobs;
mod outbox;

use sqlx::{Connection as _, PgConnection, PgPool};

pub struct TestDb {
    admin: String,
    pub name: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> Self {
        let admin = std::env::var("ENNEO_TEST_ADMIN_URL").unwrap_or_else(|_| {
            "postgres://enneo_admin:enneo_admin@127.0.0.1:5432/postgres".into()
        });
        let name = format!("enneo_t_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap();
        let pool = PgPool::connect(&format!("{base}/{name}")).await.unwrap();
        Self { admin, name, pool }
    }

    pub async fn drop(self) {
        self.pool.close().await;
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await;
    }
}
