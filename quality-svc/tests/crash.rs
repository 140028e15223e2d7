//! A test run survives a crash: quality-svc runs as its own process (the real binary), is
//! killed with SIGKILL in the middle of a run of 200 test cases, and started again. The run
//! completes with every case tested exactly once: 200 test tickets completed, the run's
//! counters equal to them, one `TestTicketAiQuality` event each, no job left. ticket-svc and
//! agent-svc run in-process against the same real PostgreSQL, RabbitMQ and embeddings server.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use enneo_common::auth::{Caller, Role, permission};
use enneo_common::config::ServiceConfig;
use enneo_common::grpc::request;
use enneo_common::testing::{self, TestSystem, count, wait_for};
use enneo_proto::ticket::v1 as pb;
use enneo_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const CASES: i64 = 200;

/// The quality-svc binary, replaying through agent-svc at `agent_url`.
fn spawn_quality_svc(config: &ServiceConfig, agent_url: &str, ticket_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_quality-svc"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("QUALITY_GRPC_ADDR", "127.0.0.1:0")
        .env("QUALITY_DATABASE_URL", config.database.url.expose_secret())
        .env("QUALITY_AMQP_URL", config.amqp.url.expose_secret())
        .env("QUALITY_AMQP_PREFIX", &config.amqp.prefix)
        .env("QUALITY_AMQP_QUEUE_EXPIRES_MS", "120000")
        .env("QUALITY_AGENT_URL", agent_url)
        .env("QUALITY_TICKET_URL", ticket_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("quality-svc binary starts")
}

/// Runs a service in-process on a free port; returns its gRPC URL.
async fn serve<F, Fut>(config: &ServiceConfig, run: F) -> String
where
    F: FnOnce(ServiceConfig, TcpListener) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(run(config.clone(), listener));
    url
}

#[tokio::test]
async fn a_killed_quality_svc_tests_every_case_exactly_once() {
    enneo_common::telemetry::init_for_tests();
    let system = TestSystem::new();
    let shutdown = CancellationToken::new();
    let ticket_config = system.config(&ticket_svc::SPEC);
    let agent_config = system.config(&agent_svc::SPEC);
    let quality_config = system.config(&quality_svc::SPEC);
    let migrate = |spec, config, migrator| async move {
        enneo_common::service::migrate(spec, config, migrator, Some(&testing::admin_url()))
            .await
            .unwrap();
    };
    migrate(&ticket_svc::SPEC, &ticket_config, &ticket_svc::MIGRATOR).await;
    migrate(&agent_svc::SPEC, &agent_config, &agent_svc::MIGRATOR).await;
    migrate(&quality_svc::SPEC, &quality_config, &quality_svc::MIGRATOR).await;

    let stop = shutdown.clone();
    let ticket_url = serve(&ticket_config, |config, listener| {
        let options = ticket_svc::Config {
            settings_url: "http://127.0.0.1:9".into(),
            ..ticket_svc::Config::default()
        };
        ticket_svc::run(config, options, listener, stop.child_token())
    })
    .await;
    let stop = shutdown.clone();
    let tickets_at = ticket_url.clone();
    let agent_url = serve(&agent_config, |config, listener| {
        let mut options =
            agent_svc::Config { ticket_url: tickets_at, ..agent_svc::Config::default() };
        options.embeddings.url = testing::embeddings_url();
        options.embeddings.cache_dir = Some(std::env::temp_dir().join("enneo-test-embeddings"));
        agent_svc::run(config, options, listener, stop.child_token())
    })
    .await;

    // The default agents, written the way POST /aiAgents/loadDefaults writes them.
    let admin_caller = Caller::from_role(1, Role::Admin);
    let agent_pool = enneo_common::db::pool(&agent_config.database.url, "agent", 2).unwrap();
    let agents = agent_svc::agents::Agents {
        pool: agent_pool,
        outbox: enneo_common::outbox::Outbox::new("agent"),
    };
    agents.load_defaults(&admin_caller, &[]).await.unwrap();
    let mut db = system.admin_connection().await;
    let meter: i64 = sqlx::query_scalar("SELECT id FROM agent.agent WHERE slug = 'meter_reading'")
        .fetch_one(&mut db)
        .await
        .unwrap();

    // Tickets that skip live detection (process=false): only the test run replays them.
    let mut tickets = TicketServiceClient::new(enneo_common::grpc::channel(&ticket_url).unwrap());
    let creator = Caller::service(&[permission::CREATE_TICKETS]);
    let mut ids = Vec::new();
    // Texts of this test alone: replays read vectors through agent-svc's cache, and a warm
    // cache would finish the run before the kill.
    let tag = &system.database[8..];
    for i in 0..CASES {
        let body = if i % 4 == 0 {
            format!("Vielen Dank für Ihre Hilfe! Viele Grüße, Kunde {tag}-{i}")
        } else {
            format!("Guten Tag, mein Zählerstand ist {} kWh. Kunde {tag}-{i}", 40_000 + i)
        };
        let fields = pb::TicketFields {
            channel: Some("email".into()),
            subject: Some(format!("Nachricht {i}")),
            body: Some(body),
            from: Some(format!("kunde{i}@example.com")),
            ..Default::default()
        };
        let create = pb::CreateTicketRequest {
            fields: Some(fields),
            process: Some("false".into()),
            idempotency_key: None,
        };
        let created = tickets.create_ticket(request(create, &creator)).await.unwrap();
        ids.push(created.into_inner().ticket.expect("the created ticket").id);
    }

    // Cases and the run, written the way the API writes them; the binary picks up the jobs.
    let pool = enneo_common::db::pool(&quality_config.database.url, "quality", 2).unwrap();
    let upstream =
        quality_svc::upstream::Upstream::new(&agent_url, &ticket_url, Duration::from_secs(120))
            .unwrap();
    let cases = quality_svc::test_cases::TestCases {
        pool: pool.clone(),
        upstream: upstream.clone(),
        prepare: Arc::new(tokio::sync::Notify::new()),
    };
    let added = cases.add(&admin_caller, meter, &ids).await.unwrap();
    assert_eq!(added.len() as i64, CASES);
    let runs = quality_svc::runs::Runs {
        pool: pool.clone(),
        upstream,
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    let schedule = quality_svc::runs::Schedule { ai_agent_id: Some(meter), ..Default::default() };
    let run = runs.schedule(&admin_caller, schedule).await.unwrap();

    let mut child = spawn_quality_svc(&quality_config, &agent_url, &ticket_url);
    let tested = "SELECT count(*) FROM quality.test_ticket WHERE state <> 'scheduled'";
    let before = wait_for(&mut db, tested, 10, Duration::from_secs(600)).await;
    assert!(before >= 10, "quality-svc tested nothing within 10 minutes");
    child.kill().unwrap(); // SIGKILL: transactions and claims cut off mid-replay
    child.wait().unwrap();
    let at_kill = count(&mut db, tested).await;
    assert!(at_kill < CASES, "the run finished before the kill; nothing was tested");

    let mut child = spawn_quality_svc(&quality_config, &agent_url, &ticket_url);
    let finished = "SELECT count(*) FROM quality.test_run WHERE state IN ('completed', 'failed')";
    let done = wait_for(&mut db, finished, 1, Duration::from_secs(900)).await;
    let jobs_left =
        wait_for(&mut db, "SELECT -count(*) FROM quality.test_job", 0, Duration::from_secs(60))
            .await;
    child.kill().unwrap();
    child.wait().unwrap();
    shutdown.cancel();

    assert_eq!(done, 1, "the run finished ({at_kill} of {CASES} tested at the kill)");
    assert_eq!(jobs_left, 0, "jobs left over");
    let (state, scheduled, tested_count, successful): (String, i32, i32, i32) = sqlx::query_as(
        "SELECT state, tickets_scheduled, tickets_tested, successful_tests \
         FROM quality.test_run WHERE id = $1",
    )
    .bind(run.id)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(state, "completed");
    assert_eq!(i64::from(scheduled), CASES);
    assert_eq!(i64::from(tested_count), CASES, "the counter says every case was tested once");
    let completed =
        count(&mut db, "SELECT count(*) FROM quality.test_ticket WHERE state = 'completed'").await;
    assert_eq!(completed, CASES, "every test ticket completed (none failed)");
    let passed =
        count(&mut db, "SELECT count(*) FROM quality.test_ticket WHERE passed IS TRUE").await;
    assert_eq!(passed, i64::from(successful), "successfulTests matches the stored tickets");
    let events = count(
        &mut db,
        "SELECT count(*) FROM (SELECT aggregate_id FROM quality.outbox \
           WHERE event_type = 'TestTicketAiQuality' \
         UNION ALL SELECT aggregate_id FROM quality.outbox_published \
           WHERE event_type = 'TestTicketAiQuality') e",
    )
    .await;
    assert_eq!(events, CASES, "one TestTicketAiQuality event per case, none doubled");
    let readings = count(
        &mut db,
        "SELECT count(*) FROM quality.test_ticket \
         WHERE actual_result->'intentDetection' ? 'meter_reading'",
    )
    .await;
    assert_eq!(readings, CASES - CASES / 4, "the replays detected every meter reading");
    drop(db);
    system.drop_database().await;
}
