//! Detection survives a crash: agent-svc runs as its own process (the real binary), is killed
//! with SIGKILL in the middle of detecting a burst of tickets, and started again. Every ticket
//! ends with exactly one stored result (intents or `noDetection`), no job is left over and no
//! intent is doubled. ticket-svc runs in-process against the same real PostgreSQL and RabbitMQ.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use enneo_common::auth::{Caller, permission};
use enneo_common::config::ServiceConfig;
use enneo_common::grpc::request;
use enneo_common::testing::{self, TestSystem, count, wait_for, wait_for_queue};
use enneo_proto::ticket::v1 as pb;
use enneo_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The agent-svc binary, serving with `config` and its ticket-svc at `ticket_url`.
fn spawn_agent_svc(config: &ServiceConfig, ticket_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_agent-svc"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AGENT_GRPC_ADDR", "127.0.0.1:0")
        .env("AGENT_DATABASE_URL", config.database.url.expose_secret())
        .env("AGENT_AMQP_URL", config.amqp.url.expose_secret())
        .env("AGENT_AMQP_PREFIX", &config.amqp.prefix)
        .env("AGENT_AMQP_QUEUE_EXPIRES_MS", "120000")
        .env("AGENT_TICKET_URL", ticket_url)
        .env("AGENT_EMBEDDINGS_URL", testing::embeddings_url())
        .env("AGENT_EMBEDDINGS_CACHE_DIR", std::env::temp_dir().join("enneo-test-embeddings"))
        .env("AGENT_DETECTION_BATCH", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("agent-svc binary starts")
}

#[tokio::test]
async fn a_killed_agent_svc_loses_and_doubles_no_detection() {
    enneo_common::telemetry::init_for_tests();
    let system = TestSystem::new();
    let prefix = system.prefix.clone();
    let shutdown = CancellationToken::new();

    let ticket_config = system.config(&ticket_svc::SPEC);
    enneo_common::service::migrate(
        &ticket_svc::SPEC,
        &ticket_config,
        &ticket_svc::MIGRATOR,
        Some(&testing::admin_url()),
    )
    .await
    .unwrap();
    let agent_config = system.config(&agent_svc::SPEC);
    enneo_common::service::migrate(
        &agent_svc::SPEC,
        &agent_config,
        &agent_svc::MIGRATOR,
        Some(&testing::admin_url()),
    )
    .await
    .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ticket_url = format!("http://{}", listener.local_addr().unwrap());
    let options = ticket_svc::Config {
        settings_url: "http://127.0.0.1:9".into(),
        ..ticket_svc::Config::default()
    };
    tokio::spawn(ticket_svc::run(ticket_config, options, listener, shutdown.child_token()));

    // The default agents, written the way POST /aiAgents/loadDefaults writes them.
    let pool = enneo_common::db::pool(&agent_config.database.url, "agent", 2).unwrap();
    let agents = agent_svc::agents::Agents {
        pool: pool.clone(),
        outbox: enneo_common::outbox::Outbox::new("agent"),
    };
    agents
        .load_defaults(&Caller::from_role(1, enneo_common::auth::Role::Admin), &[])
        .await
        .unwrap();

    let mut child = spawn_agent_svc(&agent_config, &ticket_url);
    wait_for_queue(&format!("{prefix}{}", agent_svc::consumers::QUEUE)).await;
    let mut db = system.admin_connection().await;
    let mut tickets = TicketServiceClient::new(enneo_common::grpc::channel(&ticket_url).unwrap());
    let creator = Caller::service(&[permission::CREATE_TICKETS]);
    const BURST: i64 = 24;
    for i in 0..BURST {
        let body = if i % 3 == 0 {
            format!("Vielen Dank für Ihre Hilfe! Viele Grüße, Kunde {i}")
        } else {
            format!("Guten Tag, mein Zählerstand ist {} kWh.", 40_000 + i)
        };
        let fields = pb::TicketFields {
            channel: Some("email".into()),
            subject: Some(format!("Nachricht {i}")),
            body: Some(body),
            from: Some(format!("kunde{i}@example.com")),
            ..Default::default()
        };
        let create =
            pb::CreateTicketRequest { fields: Some(fields), process: None, idempotency_key: None };
        tickets.create_ticket(request(create, &creator)).await.unwrap();
    }

    let detected = "SELECT count(*) FROM agent.ticket_detection";
    let before = wait_for(&mut db, detected, 3, Duration::from_secs(600)).await;
    assert!(before >= 3, "agent-svc detected nothing within 10 minutes");
    child.kill().unwrap(); // SIGKILL: no graceful shutdown, transactions and deliveries cut off
    child.wait().unwrap();
    let at_kill = count(&mut db, detected).await;
    assert!(at_kill < BURST, "the burst was detected before the kill; nothing was tested");

    let mut child = spawn_agent_svc(&agent_config, &ticket_url);
    let after = wait_for(&mut db, detected, BURST, Duration::from_secs(600)).await;
    let jobs_left =
        wait_for(&mut db, "SELECT -count(*) FROM agent.detection_job", 0, Duration::from_secs(60))
            .await;
    child.kill().unwrap();
    child.wait().unwrap();
    shutdown.cancel();

    assert_eq!(after, BURST, "every ticket has a detection result ({at_kill} at the kill)");
    assert_eq!(jobs_left, 0, "detection jobs left over");
    let readings = count(
        &mut db,
        "SELECT count(*) FROM agent.intent i JOIN agent.agent a ON a.id = i.agent_id \
        WHERE a.slug = 'meter_reading'",
    )
    .await;
    let doubled = count(
        &mut db,
        "SELECT count(*) FROM (SELECT ticket_id, agent_id FROM agent.intent \
        GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(doubled, 0, "an intent was stored twice");
    assert_eq!(readings, BURST - BURST / 3, "every meter reading is one intent");
    let without =
        count(&mut db, "SELECT count(*) FROM agent.ticket_detection WHERE outcome = 'noDetection'")
            .await;
    assert_eq!(without, BURST / 3, "every thank-you mail is an explicit noDetection");
    drop(db);
    system.drop_database().await;
}
