//! Latency of ticket search and routing on a large backlog, (`events`) ticket-create
//! throughput as event history grows, and (`quality`) AI quality check throughput.
//!
//! Run against a system started with `./deploy/run.sh`:
//!
//! ```sh
//! cargo run --release -p bench -- --tickets 100000
//! cargo run --release -p bench -- events --history 1000000
//! cargo run --release -p bench -- quality --cases 1000
//! cargo run --release -p bench -- exports --tickets 1000000
//! ```
//!
//! It tops the ticket table up to `--tickets` rows straight in SQL (as the ticket-svc role;
//! seeding through the API would measure the seeding), then sends each scenario's requests one
//! after another through the gateway and prints p50/p95/max per scenario. Routing calls claim
//! tickets, so they use a fresh agent id each time and leave those presences behind (they
//! expire after 90 s).

use std::time::{Duration, Instant};

mod events;
mod exports;
mod quality;

use clap::{Parser, Subcommand};
use enneo_common::auth::{Claims, sign};
use serde_json::{Value, json};
use sqlx::Connection as _;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    scenario: Option<Scenario>,
    /// Tickets the backlog should hold.
    #[arg(long, default_value_t = 100_000)]
    tickets: i64,
    /// Requests per scenario.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    #[arg(long, global = true, default_value = "http://127.0.0.1:8005")]
    gateway: String,
    /// ticket-svc's database (its own role may write its schema).
    #[arg(
        long,
        global = true,
        env = "TICKET_DATABASE_URL",
        default_value = "postgres://enneo_ticket:enneo_ticket@127.0.0.1:5432/enneo"
    )]
    database_url: String,
    /// The gateway's token secret, to sign agent tokens with skills.
    #[arg(long, global = true, default_value = ".run/jwt-secret")]
    secret_file: String,
}

#[derive(Subcommand)]
enum Scenario {
    /// Ticket-create throughput on the event history as it is, then with `--history`
    /// processed events.
    Events(events::Args),
    /// AI quality check throughput: a run of `--cases` test cases, then its rerun.
    Quality(quality::Args),
    /// Streams a `reporting_tickets` export of `--tickets` rows; bytes, seconds, peak RSS.
    Exports(exports::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secret = std::fs::read_to_string(&args.secret_file)?.trim().to_owned();
    let admin = token(&secret, 1, "admin", None);
    match args.scenario {
        Some(Scenario::Events(events)) => {
            return events::run(events, &args.gateway, &args.database_url, &admin).await;
        }
        Some(Scenario::Quality(quality)) => {
            return quality::run(quality, &args.gateway, &admin).await;
        }
        Some(Scenario::Exports(exports)) => {
            return exports::run(exports, &args.gateway, &args.database_url, &admin).await;
        }
        None => {}
    }
    seed(&args.database_url, args.tickets).await?;

    let http = reqwest::Client::new();
    let admin = token(&secret, 1, "admin", None);
    let search = |body: Value| {
        let (http, admin, url) =
            (http.clone(), admin.clone(), format!("{}/api/mind/ticket/search", args.gateway));
        async move {
            let response = http.post(url).bearer_auth(admin).json(&body).send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "search answered {}",
                response.status()
            );
            Ok(())
        }
    };
    println!("| scenario | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|");
    let scenarios: Vec<(&str, Value)> = vec![
        ("search: first page, default order", json!({})),
        (
            "search: open e-mail, newest first, 20 rows",
            json!({"limit": 20, "orderByField": "t.createdAt", "orderByDirection": "desc",
            "filters": [{"key": "t.status", "comparator": "in", "values": ["open"]}, {"key": "t.channel", "comparator": "in", "values": ["email"]}]}),
        ),
        (
            "search: created in a 30-day window",
            json!({"filters": [{"key": "t.createdAt", "comparator": "between", "from": "-60 DAY", "to": "-30 DAY"}]}),
        ),
        (
            "search: priority high + agent unassigned",
            json!({"filters": [{"key": "t.priority", "comparator": "=", "value": "high"}, {"key": "t.agentId", "comparator": "in", "values": ["unassigned"]}]}),
        ),
        (
            "search: tags match any of 2",
            json!({"filters": [{"key": "tt_matchAny.tagId", "comparator": "in", "values": [3, 7]}]}),
        ),
        (
            "search: full text, term in 42% of tickets",
            json!({"filters": [{"key": "q", "comparator": "=", "value": "meter reading"}]}),
        ),
        (
            "search: full text, rare term",
            json!({"filters": [{"key": "q", "comparator": "=", "value": "message 4711"}]}),
        ),
    ];
    for (name, body) in scenarios {
        let samples = measure(args.requests, || search(body.clone())).await?;
        report(name, &samples);
    }
    let mut agent = 100_000;
    let samples = measure(args.requests, || {
        agent += 1;
        let (http, url) = (http.clone(), format!("{}/api/mind/ticket/getLatest", args.gateway));
        let token = token(&secret, agent, "agent", Some(vec![1, 2, 3, 4, 5]));
        async move {
            let response = http.post(url).bearer_auth(token).json(&json!({})).send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "getLatest answered {}",
                response.status()
            );
            let body: Value = response.json().await?;
            anyhow::ensure!(body["ticketId"].is_i64(), "the queue ran dry: {body}");
            Ok(())
        }
    })
    .await?;
    report("getLatest: skills 1-5, matchAny, SLA order", &samples);
    Ok(())
}

fn token(secret: &str, user_id: i64, role: &str, skills: Option<Vec<i64>>) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        user_id,
        role: role.into(),
        iat: now,
        exp: now + 3600,
        skills,
        ..Default::default()
    };
    sign(&claims, secret.as_bytes())
}

/// Tops the table up to `target` tickets with varied, plausible values.
async fn seed(database_url: &str, target: i64) -> anyhow::Result<()> {
    let mut db = sqlx::PgConnection::connect(database_url).await?;
    let have: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket.ticket").fetch_one(&mut db).await?;
    if have >= target {
        println!("backlog: {have} tickets already\n");
        return Ok(());
    }
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO ticket.ticket (channel, status, priority, subject, body_plain, customer_id, \
         agent_id, tag_ids, due_by, created_at) \
         SELECT (ARRAY['email','chat','phone','letter','portal'])[1 + i % 5], \
                (ARRAY['open','open','open','pending','closed'])[1 + i % 5], \
                (ARRAY['low','low','medium','high','urgent'])[1 + (i / 7) % 5], \
                'Ticket ' || i || (ARRAY[' meter reading',' relocation',' invoice question',' tariff change'])[1 + i % 4], \
                'Customer message ' || i || (ARRAY[' about my meter reading',' about moving house',' about the last invoice',' about prices'])[1 + (i / 3) % 4], \
                'c' || (i % 20000), \
                CASE WHEN i % 10 = 0 THEN 1 + i % 50 END, \
                ARRAY[1 + i % 12, 1 + (i / 12) % 12]::bigint[], \
                CASE WHEN i % 4 <> 0 THEN now() + ((i % 2000) - 1000) * interval '1 hour' END, \
                now() - (i % 365) * interval '1 day' \
         FROM generate_series(1, $1) AS i",
    )
    .bind(target - have)
    .execute(&mut db)
    .await?;
    // What autovacuum would do soon after: planner statistics and the visibility map (which
    // lets counts use index-only scans).
    sqlx::query("VACUUM ANALYZE ticket.ticket").execute(&mut db).await?;
    println!(
        "backlog: seeded {} tickets in {:.1} s (now {target})\n",
        target - have,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn measure<F, Fut>(n: usize, mut call: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // One warm-up call fills connection pools and caches.
    call().await?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        call().await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(samples)
}

fn report(name: &str, sorted: &[Duration]) {
    let at =
        |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    println!("| {name} | {} | {:.1} | {:.1} | {:.1} |", sorted.len(), at(0.5), at(0.95), at(1.0));
}
