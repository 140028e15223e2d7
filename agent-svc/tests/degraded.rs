//! Detection without its embeddings server: while AI is required a try fails (the detection
//! worker retries it with back-off); the last try settles for conditions alone, and the ticket's
//! activity trail says that AI detection was unavailable. ticket-svc runs in-process against the
//! real PostgreSQL and RabbitMQ; the embeddings URL points at a closed port.

use std::sync::Arc;
use std::time::Duration;

use agent_svc::detection::queue::{DEGRADED_ACTIVITY, Detection};
use agent_svc::detection::runtime::Runtime;
use agent_svc::effects::Toolbox;
use agent_svc::providers::Endpoint;
use agent_svc::providers::cache::VectorCache;
use agent_svc::providers::embeddings::EmbeddingsClient;
use agent_svc::tickets::Tickets;
use enneo_common::auth::{Caller, Role, permission};
use enneo_common::grpc::request;
use enneo_common::testing::{self, TestSystem};
use enneo_proto::ticket::v1 as pb;
use enneo_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn detection_without_embeddings_leaves_an_activity_entry_on_the_ticket() {
    enneo_common::telemetry::init_for_tests();
    let system = TestSystem::new();
    let shutdown = CancellationToken::new();
    let admin = Some(testing::admin_url());

    let ticket_config = system.config(&ticket_svc::SPEC);
    enneo_common::service::migrate(
        &ticket_svc::SPEC,
        &ticket_config,
        &ticket_svc::MIGRATOR,
        admin.as_deref(),
    )
    .await
    .unwrap();
    let agent_config = system.config(&agent_svc::SPEC);
    enneo_common::service::migrate(
        &agent_svc::SPEC,
        &agent_config,
        &agent_svc::MIGRATOR,
        admin.as_deref(),
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

    let pool = enneo_common::db::pool(&agent_config.database.url, "agent", 2).unwrap();
    let outbox = enneo_common::outbox::Outbox::new("agent");
    let agents = agent_svc::agents::Agents { pool: pool.clone(), outbox: outbox.clone() };
    agents.load_defaults(&Caller::from_role(1, Role::Admin), &[]).await.unwrap();

    // Nothing listens on port 9: every embeddings request fails at once.
    let embeddings = Arc::new(EmbeddingsClient::new(Endpoint {
        url: "http://127.0.0.1:9/v1".into(),
        model: "multilingual-e5-small".into(),
        api_key: None,
        timeout: Duration::from_secs(2),
        retries: 0,
    }));
    let runtime =
        Arc::new(Runtime::new(pool.clone(), embeddings, VectorCache::new(None), 0.5, None));
    let tickets = Tickets::new(enneo_common::grpc::channel(&ticket_url).unwrap());
    let detection = Detection {
        pool: pool.clone(),
        runtime,
        tickets: tickets.clone(),
        toolbox: Arc::new(Toolbox::new(agent_svc::executors::Config::default(), None)),
        outbox,
    };

    let mut client = TicketServiceClient::new(enneo_common::grpc::channel(&ticket_url).unwrap());
    let fields = pb::TicketFields {
        channel: Some("email".into()),
        subject: Some("Zählerstand".into()),
        body: Some("Guten Tag, mein Zählerstand ist 4711 kWh.".into()),
        from: Some("kunde@example.com".into()),
        ..Default::default()
    };
    let create =
        pb::CreateTicketRequest { fields: Some(fields), process: None, idempotency_key: None };
    let creator = Caller::service(&[permission::CREATE_TICKETS]);
    let ticket_id = client
        .create_ticket(request(create, &creator))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .id;
    let reader = Caller::service(&[permission::READ_TICKETS]);
    let trail = |client: &mut TicketServiceClient<_>| {
        let mut client = client.clone();
        let reader = reader.clone();
        async move {
            let list =
                pb::ListTicketActivityRequest { id: ticket_id, limit: 100, ..Default::default() };
            client
                .list_ticket_activity(request(list, &reader))
                .await
                .unwrap()
                .into_inner()
                .activities
        }
    };

    // A try that requires AI fails, to be retried; it leaves no trace on the ticket.
    assert!(detection.process(ticket_id, None, true).await.is_err());
    assert!(!trail(&mut client).await.iter().any(|a| a.kind == DEGRADED_ACTIVITY));

    // The last try detects by conditions alone and says so on the ticket.
    detection.process(ticket_id, None, false).await.unwrap();
    let entries: Vec<pb::Activity> =
        trail(&mut client).await.into_iter().filter(|a| a.kind == DEGRADED_ACTIVITY).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].message.contains("AI detection unavailable"), "{entries:?}");
    assert_eq!(entries[0].user_id, None, "recorded as the system");

    // Users cannot write the trail themselves, whatever their permissions.
    let add = pb::AddTicketActivityRequest {
        ticket_id,
        kind: "aiDetectionDegraded".into(),
        message: "forged".into(),
    };
    let status = client
        .add_ticket_activity(request(add, &Caller::from_role(1, Role::Admin)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);

    shutdown.cancel();
    pool.close().await;
    system.drop_database().await;
}
