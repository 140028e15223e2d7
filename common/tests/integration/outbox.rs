//! The outbox relay against real RabbitMQ and PostgreSQL: events no queue takes are tried
//! again with back-off, then parked, so they never spin or block the relay; an event whose
//! queue appears between attempts still goes out.

use std::time::{Duration, Instant};

use enneo_common::amqp::Topology;
use enneo_common::config::AmqpConfig;
use enneo_common::jobs::Backoff;
use enneo_common::outbox::{Backlog, NewEvent, Outbox, RelayOptions, backlog};
use lapin::options::BasicGetOptions;
use lapin::{Connection, ConnectionProperties};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::TestDb;

fn amqp_url() -> String {
    std::env::var("ENNEO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The tables a service's migrations create for its outbox, in schema `o`.
async fn outbox_tables(db: &TestDb) {
    let event = "event_id uuid NOT NULL, event_type text NOT NULL, routing_key text NOT NULL, \
                 aggregate_id text NOT NULL, aggregate_version bigint NOT NULL, \
                 actor text NOT NULL, payload jsonb NOT NULL, traceparent text, \
                 occurred_at timestamptz NOT NULL";
    for sql in [
        "CREATE SCHEMA o".to_owned(),
        format!(
            "CREATE TABLE o.outbox (id bigserial PRIMARY KEY, {event}, \
             attempts integer NOT NULL DEFAULT 0, available_at timestamptz NOT NULL DEFAULT now(), \
             last_error text)"
        ),
        format!(
            "CREATE TABLE o.outbox_published (id bigint PRIMARY KEY, {event}, \
             published_at timestamptz NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE TABLE o.outbox_parked (id bigint PRIMARY KEY, {event}, \
             attempts integer NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(), \
             reason text NOT NULL)"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&db.pool).await.unwrap();
    }
}

async fn record(db: &TestDb, outbox: &Outbox, event_type: &'static str) {
    let mut tx = db.pool.begin().await.unwrap();
    let event = NewEvent {
        domain: "o",
        event_type,
        aggregate_id: "1".into(),
        aggregate_version: 1,
        actor: "test".into(),
        payload: serde_json::json!({}),
    };
    outbox.record(&mut tx, event).await.unwrap();
    tx.commit().await.unwrap();
    outbox.committed();
}

/// `(attempts, last_error)` of the waiting event of `event_type`, if it waits.
async fn waiting(db: &TestDb, event_type: &str) -> Option<(i32, Option<String>)> {
    sqlx::query_as("SELECT attempts, last_error FROM o.outbox WHERE event_type = $1")
        .bind(event_type)
        .fetch_optional(&db.pool)
        .await
        .unwrap()
}

async fn count(db: &TestDb, sql: &'static str, event_type: &str) -> i64 {
    sqlx::query_scalar(sql).bind(event_type).fetch_one(&db.pool).await.unwrap()
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn an_event_no_queue_takes_is_parked_after_its_attempts_and_a_late_queue_gets_its_own() {
    let db = TestDb::new().await;
    outbox_tables(&db).await;
    let amqp = AmqpConfig {
        url: SecretString::from(amqp_url()),
        prefix: format!("{}.", db.name),
        queue_expires_ms: Some(60_000),
    };
    let options = RelayOptions {
        retry: Backoff::new(Duration::from_millis(400), Duration::from_millis(400)),
        max_attempts: 5,
        ..RelayOptions::default()
    };
    let outbox = Outbox::new("o");
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(
        outbox.relay(db.pool.clone(), amqp.clone()).options(options).run(shutdown.clone()),
    );

    record(&db, &outbox, "Orphan").await;
    record(&db, &outbox, "Late").await;
    // Both failed once and wait for their next attempt: pending, not parked.
    eventually("both events failed once", Duration::from_secs(10), || async {
        waiting(&db, "Orphan").await.is_some_and(|(n, _)| n >= 1)
            && waiting(&db, "Late").await.is_some_and(|(n, _)| n >= 1)
    })
    .await;
    let (_, error) = waiting(&db, "Late").await.unwrap();
    assert_eq!(error.as_deref(), Some("unroutable: no queue is bound to o.Late"));
    let now = backlog(&db.pool, "o").await.unwrap();
    assert_eq!((now.pending, now.parked), (2, 0), "{now:?}");
    assert!(now.oldest_pending_age_seconds.is_some_and(|age| age >= 0), "{now:?}");

    // The consumer of `o.Late` declares its queue only now, as after a slow start.
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default()).await.unwrap();
    let channel = conn.create_channel().await.unwrap();
    let topology = Topology::new(&amqp);
    let queue = topology.queue("late");
    topology.declare_queue(&channel, &queue, &["o.Late"]).await.unwrap();
    eventually("the late event went out", Duration::from_secs(10), || async {
        count(&db, "SELECT count(*) FROM o.outbox_published WHERE event_type = $1", "Late").await
            == 1
    })
    .await;
    let delivered =
        channel.basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true }).await.unwrap();
    assert!(delivered.is_some(), "the late queue got its event");

    eventually("the orphan was parked", Duration::from_secs(10), || async {
        waiting(&db, "Orphan").await.is_none()
    })
    .await;
    let (attempts, reason): (i32, String) =
        sqlx::query_as("SELECT attempts, reason FROM o.outbox_parked WHERE event_type = 'Orphan'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 5, "every attempt made, none more");
    assert_eq!(reason, "unroutable: no queue is bound to o.Orphan; parked after 5 attempts");
    assert_eq!(
        count(&db, "SELECT count(*) FROM o.outbox_published WHERE event_type = $1", "Orphan").await,
        0,
        "never published"
    );
    let after = backlog(&db.pool, "o").await.unwrap();
    assert_eq!(after, Backlog { pending: 0, oldest_pending_age_seconds: None, parked: 1 });

    // The relay is not held up: a new event goes out at once, and the parked one stays put.
    record(&db, &outbox, "Late").await;
    eventually("the next event went out", Duration::from_secs(2), || async {
        count(&db, "SELECT count(*) FROM o.outbox_published WHERE event_type = $1", "Late").await
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let still: i32 =
        sqlx::query_scalar("SELECT attempts FROM o.outbox_parked WHERE event_type = 'Orphan'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(still, 5, "a parked event is not tried again");
    assert!(waiting(&db, "Orphan").await.is_none());

    // Sent again by copying it back (not moving it), it is parked once more over its record.
    let first_parked: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT parked_at FROM o.outbox_parked")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO o.outbox (id, event_id, event_type, routing_key, aggregate_id, \
           aggregate_version, actor, payload, traceparent, occurred_at, attempts) \
         SELECT id, event_id, event_type, routing_key, aggregate_id, aggregate_version, actor, \
           payload, traceparent, occurred_at, 4 FROM o.outbox_parked",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    outbox.committed();
    eventually("the copy was parked again", Duration::from_secs(10), || async {
        waiting(&db, "Orphan").await.is_none()
    })
    .await;
    let parked: Vec<(i32, bool)> =
        sqlx::query_as("SELECT attempts, parked_at > $1 FROM o.outbox_parked")
            .bind(first_parked)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(parked, [(5, true)], "one record of it, the latest");

    shutdown.cancel();
    relay.await.unwrap();
    let _ = conn.close(200, "done".into()).await;
    db.drop().await;
}
