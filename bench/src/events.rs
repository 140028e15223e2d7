//! Ticket-create throughput as event history grows: once on the system as it is (empty, on a
//! fresh one), then again after `--history` processed events are seeded.
//!
//! "Processed" is the state a working system is in after that many events: each one written
//! to the outbox and removed again on publication (the relay vacuums those dead rows), kept
//! in the archive of published events and in both consumers' inboxes within retention, and
//! projected into the activity trail and quality's event history. Throughput counts a create
//! as done when its HTTP call returned, and delivered when both consumers have recorded its
//! event; the relay's claim is measured with `EXPLAIN (ANALYZE, BUFFERS)` at both points.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use enneo_common::outbox::VACUUM_AFTER;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

#[derive(clap::Args, Clone)]
pub struct Args {
    /// Processed events to seed before the second measurement.
    #[arg(long, default_value_t = 1_000_000)]
    history: i64,
    /// Tickets created per round.
    #[arg(long, default_value_t = 1000)]
    creates: usize,
    /// Create requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rounds per measurement; the median is compared.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// quality-svc's database, for its inbox and event history.
    #[arg(
        long,
        env = "QUALITY_DATABASE_URL",
        default_value = "postgres://enneo_quality:enneo_quality@127.0.0.1:5432/enneo"
    )]
    quality_database_url: String,
}

struct Round {
    created_per_s: f64,
    delivered_per_s: f64,
}

pub async fn run(args: Args, gateway: &str, ticket_url: &str, token: &str) -> anyhow::Result<()> {
    let ticket = PgPoolOptions::new().max_connections(2).connect(ticket_url).await?;
    let quality =
        PgPoolOptions::new().max_connections(2).connect(&args.quality_database_url).await?;
    let http = reqwest::Client::new();

    // Warms pools, caches and the broker up first; not counted.
    let warm_up = Args { creates: args.creates / 2, rounds: 1, ..args.clone() };
    create_round(&warm_up, &http, gateway, token, &ticket, &quality).await?;
    println!("state: {}", state(&ticket, &quality).await?);
    let claim_before = claim(&ticket).await?;
    let before = measure(&args, &http, gateway, token, &ticket, &quality).await?;

    seed(&ticket, &quality, args.history).await?;
    println!("state: {}", state(&ticket, &quality).await?);
    let claim_after = claim(&ticket).await?;
    let after = measure(&args, &http, gateway, token, &ticket, &quality).await?;

    println!(
        "\n| history | creates/s (median) | delivered/s (median) | relay claim |\n|---|---|---|---|"
    );
    println!("| empty | {:.0} | {:.0} | {claim_before} |", before.0, before.1);
    println!("| {} events | {:.0} | {:.0} | {claim_after} |", args.history, after.0, after.1);
    println!(
        "\nwith history / empty: creates {:.1} %, delivered {:.1} %",
        100.0 * after.0 / before.0,
        100.0 * after.1 / before.1
    );
    Ok(())
}

/// Medians of creates/s and delivered/s over the rounds.
async fn measure(
    args: &Args,
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
    ticket: &PgPool,
    quality: &PgPool,
) -> anyhow::Result<(f64, f64)> {
    let mut rounds = Vec::new();
    for i in 0..args.rounds {
        let round = create_round(args, http, gateway, token, ticket, quality).await?;
        println!(
            "  round {}: {:.0} creates/s, {:.0} delivered/s",
            i + 1,
            round.created_per_s,
            round.delivered_per_s
        );
        rounds.push(round);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((
        median(rounds.iter().map(|r| r.created_per_s).collect()),
        median(rounds.iter().map(|r| r.delivered_per_s).collect()),
    ))
}

async fn create_round(
    args: &Args,
    http: &reqwest::Client,
    gateway: &str,
    token: &str,
    ticket: &PgPool,
    quality: &PgPool,
) -> anyhow::Result<Round> {
    let since: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(ticket).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{gateway}/api/mind/ticket");
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (http, url, token, next, creates) =
            (http.clone(), url.clone(), token.to_owned(), next.clone(), args.creates);
        clients.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < creates {
                let body = json!({"channel": "email", "subject": "Bench: meter reading",
                    "body": "<p>My meter shows 87870 kWh.</p>", "from": "bench@example.com"});
                let response = http.post(&url).bearer_auth(&token).json(&body).send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "create answered {}",
                    response.status()
                );
            }
            anyhow::Ok(())
        }));
    }
    for client in clients {
        client.await??;
    }
    let created = started.elapsed();
    let expected = args.creates as i64;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let in_ticket = received_since(ticket, "ticket", since).await?;
        let in_quality = received_since(quality, "quality", since).await?;
        if in_ticket >= expected && in_quality >= expected {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "events not delivered: {in_ticket} in ticket-svc, {in_quality} in quality-svc of {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = started.elapsed();
    Ok(Round {
        created_per_s: expected as f64 / created.as_secs_f64(),
        delivered_per_s: expected as f64 / delivered.as_secs_f64(),
    })
}

/// Events a consumer recorded since `since` (a range on the inbox's `received_at` index).
async fn received_since(pool: &PgPool, schema: &str, since: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.inbox WHERE received_at >= $1"
    )))
    .bind(since)
    .fetch_one(pool)
    .await
}

/// The relay's claim, as it runs (rolled back): buffers touched and time.
async fn claim(ticket: &PgPool) -> anyhow::Result<String> {
    let mut tx = ticket.begin().await?;
    let sql = format!(
        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
        enneo_common::outbox::claim_sql("ticket")
    );
    let plan: Value =
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(100i64).fetch_one(&mut *tx).await?;
    tx.rollback().await?;
    let top = &plan[0]["Plan"];
    let buffers = top["Shared Hit Blocks"].as_i64().unwrap_or(0)
        + top["Shared Read Blocks"].as_i64().unwrap_or(0);
    Ok(format!("{buffers} buffers, {:.2} ms", plan[0]["Execution Time"].as_f64().unwrap_or(0.0)))
}

async fn state(ticket: &PgPool, quality: &PgPool) -> anyhow::Result<String> {
    let (outbox, dead, archive, inbox): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM ticket.outbox), \
         (SELECT coalesce(n_dead_tup, 0) FROM pg_stat_user_tables \
          WHERE schemaname = 'ticket' AND relname = 'outbox'), \
         (SELECT count(*) FROM ticket.outbox_published), (SELECT count(*) FROM ticket.inbox)",
    )
    .fetch_one(ticket)
    .await?;
    let quality_inbox: i64 =
        sqlx::query_scalar("SELECT count(*) FROM quality.inbox").fetch_one(quality).await?;
    Ok(format!(
        "outbox {outbox} waiting ({dead} dead rows by pg_stat), archive {archive}, \
         inbox ticket-svc {inbox} / quality-svc {quality_inbox}"
    ))
}

/// Rows per statement while seeding.
const CHUNK: i64 = 100_000;

/// Seeds `history` processed events, unless an earlier run did. Seeded rows are marked by
/// negative ids (archive) and negative ticket ids (projections), so no real ticket shows them.
async fn seed(ticket: &PgPool, quality: &PgPool, history: i64) -> anyhow::Result<()> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.outbox_published WHERE id < 0")
        .fetch_one(ticket)
        .await?;
    if have >= history {
        println!("\nhistory: {have} seeded events already");
        return Ok(());
    }
    let started = Instant::now();
    for from in (have..history).step_by(CHUNK as usize) {
        let to = (from + CHUNK).min(history);
        outbox_history(ticket, from, to).await?;
        let mut tx = ticket.begin().await?;
        // The archive, published over the last six days (inside the 7-day retention), and
        // what ticket-svc's own consumer kept of the same events.
        sqlx::query(
            "WITH sent AS ( \
               INSERT INTO ticket.outbox_published (id, event_id, event_type, routing_key, \
                 aggregate_id, aggregate_version, actor, payload, occurred_at, published_at) \
               SELECT -i, gen_random_uuid(), 'TicketUpdated', 'ticket.TicketUpdated', \
                      (-1 - i % 200000)::text, i, 'bench', \
                      jsonb_build_object('ticket', jsonb_build_object('id', -1 - i % 200000, \
                        'status', 'open', 'channel', 'email', 'priority', 'low', \
                        'subject', 'Ticket ' || i), \
                        'changedFields', jsonb_build_array('priority')), \
                      now() - (i % 518400) * interval '1 second', \
                      now() - (i % 518400) * interval '1 second' \
               FROM generate_series($1 + 1, $2) AS i \
               RETURNING event_id, event_type, aggregate_id, aggregate_version, actor, \
                         occurred_at, published_at), \
             inbox AS (INSERT INTO ticket.inbox (event_id, event_type, received_at) \
               SELECT event_id, event_type, published_at FROM sent) \
             INSERT INTO ticket.activity (event_id, ticket_id, type, occurred_at, actor, \
               changed_fields, version) \
             SELECT event_id, aggregate_id::bigint, 'ticketUpdated', occurred_at, actor, \
                    '{priority}', aggregate_version FROM sent",
        )
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        sqlx::query(
            "WITH recorded AS ( \
               INSERT INTO quality.ticket_event (event_id, ticket_id, event_type, \
                 aggregate_version, occurred_at, actor, payload) \
               SELECT gen_random_uuid(), -1 - i % 200000, 'TicketUpdated', i, \
                      now() - (i % 518400) * interval '1 second', 'bench', \
                      jsonb_build_object('changedFields', jsonb_build_array('priority')) \
               FROM generate_series($1 + 1, $2) AS i \
               RETURNING event_id, event_type, occurred_at) \
             INSERT INTO quality.inbox (event_id, event_type, received_at) \
             SELECT event_id, event_type, occurred_at FROM recorded",
        )
        .bind(from)
        .bind(to)
        .execute(quality)
        .await?;
    }
    println!(
        "\nhistory: seeded {} processed events in {:.0} s",
        history - have,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The relay's share of events `from + 1 ..= to`: written to the outbox, removed again on
/// publication, and vacuumed away every [`VACUUM_AFTER`] events, as the relay does.
async fn outbox_history(ticket: &PgPool, from: i64, to: i64) -> anyhow::Result<()> {
    for start in (from..to).step_by(VACUUM_AFTER as usize) {
        let end = (start + VACUUM_AFTER as i64).min(to);
        // One transaction, so the running relay never sees these rows.
        let mut tx = ticket.begin().await?;
        sqlx::query(
            "INSERT INTO ticket.outbox (event_id, event_type, routing_key, aggregate_id, \
             aggregate_version, actor, payload, occurred_at) \
             SELECT gen_random_uuid(), 'TicketUpdated', 'ticket.TicketUpdated', \
                    (-1 - i % 200000)::text, i, 'bench', \
                    jsonb_build_object('ticket', jsonb_build_object('id', -1 - i % 200000, \
                      'status', 'open', 'channel', 'email', 'priority', 'low', \
                      'subject', 'Ticket ' || i), 'changedFields', jsonb_build_array('priority')), \
                    now() \
             FROM generate_series($1 + 1, $2) AS i",
        )
        .bind(start)
        .bind(end)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM ticket.outbox WHERE actor = 'bench'").execute(&mut *tx).await?;
        tx.commit().await?;
        sqlx::raw_sql("VACUUM (SKIP_LOCKED) ticket.outbox").execute(ticket).await?;
    }
    Ok(())
}
