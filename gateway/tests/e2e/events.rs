use std::time::Duration;

use enneo_common::amqp::Envelope;
use enneo_common::config::AmqpConfig;
use enneo_common::consumer::{Consumer, ConsumerOptions, Handler};
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::{Options, Stack, Switch, admin_url, amqp_url, send};

async fn events_of(stack: &Stack, ticket: i64) -> Vec<(Uuid, String)> {
    let mut db = stack.db().await;
    sqlx::query_as("SELECT event_id, event_type FROM quality.ticket_event WHERE ticket_id = $1 ORDER BY aggregate_version")
        .bind(ticket)
        .fetch_all(&mut db)
        .await
        .unwrap()
}

/// Counts ticket events by type through the shared consumer: a projection with no natural key,
/// so only the inbox stands between a redelivery and a double count.
struct Tally;

impl Handler for Tally {
    async fn handle(&self, tx: &mut PgConnection, event: &Envelope) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO tally.count (event_type, n) VALUES ($1, 1) \
             ON CONFLICT (event_type) DO UPDATE SET n = tally.count.n + 1",
        )
        .bind(&event.event_type)
        .execute(tx)
        .await?;
        Ok(())
    }
}

const TALLY_QUEUE: &str = "e2e.tally";

/// Runs a [`Tally`] consumer on the stack's broker prefix, in schema `tally` of its database.
async fn start_tally(stack: &Stack, shutdown: &CancellationToken) -> PgPool {
    let url = admin_url();
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
    let pool = PgPool::connect(&format!("{base}/{}", stack.database)).await.unwrap();
    for sql in [
        "CREATE SCHEMA tally",
        "CREATE TABLE tally.inbox (event_id uuid PRIMARY KEY, event_type text NOT NULL, \
         received_at timestamptz NOT NULL DEFAULT now())",
        "CREATE TABLE tally.count (event_type text PRIMARY KEY, n integer NOT NULL)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let consumer = Consumer {
        pool: pool.clone(),
        schema: "tally",
        amqp: AmqpConfig {
            url: SecretString::from(amqp_url()),
            prefix: stack.prefix.clone(),
            queue_expires_ms: Some(120_000),
        },
        queue: TALLY_QUEUE,
        routing_keys: &["ticket.#"],
        handler: Tally,
        options: ConsumerOptions::default(),
    };
    tokio::spawn(consumer.run(shutdown.clone()));
    stack.eventually("the tally queue", || async { queue_depth(stack, TALLY_QUEUE).await }).await;
    pool
}

/// Messages waiting in `queue` (without the stack's prefix), if it exists.
async fn queue_depth(stack: &Stack, queue: &str) -> Option<u32> {
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    let name = format!("{}{queue}", stack.prefix);
    let depth = channel
        .queue_declare(name.as_str().into(), passive, FieldTable::default())
        .await
        .ok()
        .map(|q| q.message_count());
    let _ = conn.close(200, "".into()).await;
    depth
}

#[tokio::test]
async fn a_ticket_event_reaches_quality_exactly_once_even_when_redelivered() {
    let stack = Stack::start().await;
    let tally_stop = CancellationToken::new();
    let tally = start_tally(&stack, &tally_stop).await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    let events = stack
        .eventually("TicketCreated in quality-svc", || async {
            let events = events_of(&stack, id).await;
            (!events.is_empty()).then_some(events)
        })
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1, "TicketCreated");

    // Deliver the very same message again, as a broker does after a lost ack.
    let mut db = stack.db().await;
    let (payload, version, occurred_at): (Value, i64, chrono::DateTime<chrono::Utc>) = stack
        .eventually("the event in the published archive", || async {
            let mut db = stack.db().await;
            sqlx::query_as(
                "SELECT payload, aggregate_version, occurred_at FROM ticket.outbox_published \
                 WHERE event_id = $1",
            )
            .bind(events[0].0)
            .fetch_optional(&mut db)
            .await
            .unwrap()
        })
        .await;
    let envelope = enneo_common::amqp::Envelope {
        event_id: events[0].0,
        event_type: "TicketCreated".into(),
        occurred_at,
        aggregate_id: id.to_string(),
        aggregate_version: version,
        actor: "1".into(),
        payload,
    };
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    channel.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    channel
        .basic_publish(
            format!("{}enneo.events", stack.prefix).as_str().into(),
            "ticket.TicketCreated".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&envelope).unwrap(),
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    // A later event proves the duplicate was consumed (each queue is ordered) …
    stack
        .admin(Method::PATCH, &format!("/ticket/{id}"))
        .json(&json!({"priority": "high"}))
        .send()
        .await
        .unwrap();
    let events = stack
        .eventually("TicketUpdated in quality-svc", || async {
            let events = events_of(&stack, id).await;
            (events.len() >= 2).then_some(events)
        })
        .await;
    let tally_of = |event_type: &'static str| {
        let tally = tally.clone();
        async move {
            sqlx::query_scalar::<_, i32>("SELECT n FROM tally.count WHERE event_type = $1")
                .bind(event_type)
                .fetch_optional(&tally)
                .await
                .unwrap()
        }
    };
    stack.eventually("TicketUpdated in the tally", || tally_of("TicketUpdated")).await;
    // … and changed nothing: no second record, no double count, …
    let types: Vec<&str> = events.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(types, vec!["TicketCreated", "TicketUpdated"]);
    let inbox: i64 =
        sqlx::query_scalar("SELECT count(*) FROM quality.inbox").fetch_one(&mut db).await.unwrap();
    assert_eq!(inbox, 2);
    assert_eq!(tally_of("TicketCreated").await, Some(1), "the redelivery was not counted");
    // … because it was recognised, not because handling it failed.
    for queue in ["quality-svc.ticket-events", "ticket-svc.projections", TALLY_QUEUE] {
        let dlq = format!("{queue}.dlq");
        assert_eq!(queue_depth(&stack, &dlq).await, Some(0), "{dlq} is empty");
    }
    tally_stop.cancel();
}

#[tokio::test]
async fn stats_follow_creates_and_status_changes() {
    let stack = Stack::start().await;
    let a =
        stack.create(json!({"channel": "email", "priority": "high"})).await["id"].as_i64().unwrap();
    stack.create(json!({"channel": "chat"})).await;
    let stats = |expected_total: i64| {
        let stack = &stack;
        async move {
            let (_, body) = send(stack.admin(Method::GET, "/ticket/stats")).await;
            (body["total"] == expected_total).then_some(body)
        }
    };
    let body = stack.eventually("two open tickets", || stats(2)).await;
    assert_eq!(body["byChannel"], json!({"chat": 1, "email": 1}));
    assert_eq!(body["byPriority"], json!({"high": 1, "low": 1}));

    stack
        .admin(Method::PATCH, &format!("/ticket/{a}"))
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    let body = stack.eventually("one open ticket", || stats(1)).await;
    assert_eq!(body["byStatus"], json!({"closed": 1, "open": 1}));
    assert_eq!(body["byChannel"], json!({"chat": 1}));

    let forbidden = stack.http.get(stack.url("/api/mind/ticket/stats")).send().await.unwrap();
    assert_eq!(forbidden.status(), 401);
}

#[tokio::test]
async fn events_wait_in_the_outbox_while_rabbitmq_is_unreachable() {
    let switch = Switch::start(false).await;
    let stack = Stack::start_with(Options {
        ticket_amqp_url: Some(switch.url.clone()),
        ..Default::default()
    })
    .await;
    let id = stack.create(json!({"channel": "email"})).await["id"].as_i64().unwrap();
    stack
        .admin(Method::PATCH, &format!("/ticket/{id}"))
        .json(&json!({"priority": "urgent"}))
        .send()
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut db = stack.db().await;
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.outbox").fetch_one(&mut db).await.unwrap();
    assert_eq!(waiting, 2, "both events wait while the broker is unreachable");
    assert!(events_of(&stack, id).await.is_empty());

    switch.open();
    let events = stack
        .eventually("the waiting events after the broker came back", || async {
            let events = events_of(&stack, id).await;
            (events.len() == 2).then_some(events)
        })
        .await;
    assert_eq!(events[0].1, "TicketCreated");
    assert_eq!(events[1].1, "TicketUpdated");
    // The relay moves rows to the archive after the broker confirmed them, which may be just
    // after the consumer saw them.
    stack
        .eventually("the outbox emptied into the archive", || async {
            let mut db = stack.db().await;
            let (waiting, published): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM ticket.outbox), \
                 (SELECT count(*) FROM ticket.outbox_published)",
            )
            .fetch_one(&mut db)
            .await
            .unwrap();
            (waiting == 0 && published == 2).then_some(())
        })
        .await;
}

#[tokio::test]
async fn the_callers_trace_travels_into_the_event() {
    let stack = Stack::start().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = stack
        .admin(Method::POST, "/ticket")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let mut db = stack.db().await;
    let traceparent: Option<String> =
        // Waiting or already published: one statement sees the row in exactly one of them.
        sqlx::query_scalar(
            "SELECT traceparent FROM ticket.outbox \
             UNION ALL SELECT traceparent FROM ticket.outbox_published LIMIT 1",
        )
            .fetch_one(&mut db)
            .await
            .unwrap();
    let traceparent = traceparent.expect("the event carries a traceparent");
    assert_eq!(traceparent.split('-').nth(1), Some(trace_id), "{traceparent}");
}
