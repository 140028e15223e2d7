//! A whole system per test: the four services and the gateway started in-process on port 0,
//! against the real PostgreSQL (a fresh database per test) and the real RabbitMQ (exchanges and
//! queues under a per-test prefix), so tests run in parallel without seeing each other.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use enneo_common::auth::{Claims, sign};
use enneo_common::config::{
    AmqpConfig, DatabaseConfig, ServiceConfig, ServiceSpec, TelemetryConfig,
};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::Connection as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::smtp::SmtpSink;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";

pub fn admin_url() -> String {
    std::env::var("ENNEO_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn amqp_url() -> String {
    std::env::var("ENNEO_TEST_AMQP_URL")
        .unwrap_or_else(|_| enneo_common::config::DEFAULT_AMQP_URL.into())
}

/// Where the services' own roles reach PostgreSQL (the admin URL's host and port).
fn pg_host_port() -> String {
    let url = admin_url();
    let after_at = url.rsplit_once('@').map(|(_, rest)| rest).unwrap_or("127.0.0.1:5432/");
    after_at.split('/').next().unwrap_or("127.0.0.1:5432").to_owned()
}

#[derive(Default)]
pub struct Options {
    /// ticket-svc's broker URL, e.g. through a [`Switch`]; the others use the real one.
    pub ticket_amqp_url: Option<String>,
    /// ticket-svc's mail server; by default the stack's own [`SmtpSink`].
    pub smtp_url: Option<String>,
    /// settings-svc's OAuth token endpoint (default: nothing listens there).
    pub oauth_token_url: Option<String>,
    /// How long a mailbox OAuth `state` stays valid (default ten minutes).
    pub oauth_state_ttl: Option<Duration>,
    /// Let agent-svc run tenant code (`sourceCode` executors and event hook handlers).
    pub source_code: bool,
}

pub const OAUTH_CLIENT_ID: &str = "enneo-test-client";
pub const OAUTH_CLIENT_SECRET: &str = "test-client-secret";
pub const OAUTH_AUTHORIZE_URL: &str = "https://login.example.test/oauth2/v2.0/authorize";
pub const OAUTH_REDIRECT_URI: &str =
    "http://localhost:8005/api/mind/settings/mailbox/microsoft/callback";
pub const SETTINGS_SECRET_KEY: &str = "settings-test-key-that-is-long-enough";

pub struct Stack {
    pub base: String,
    pub http: reqwest::Client,
    pub admin_token: String,
    pub agent_token: String,
    pub database: String,
    pub prefix: String,
    /// Receives the stack's outgoing mail (unless `Options::smtp_url` pointed elsewhere).
    pub mail: SmtpSink,
    /// Stops ticket-svc alone (see [`Stack::stop_ticket_svc`]).
    ticket_stop: CancellationToken,
    shutdown: CancellationToken,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let ticket_broker_cut = options.ticket_amqp_url.is_some();
        enneo_common::telemetry::init_for_tests();
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let database = format!("enneo_t_{id}");
        let prefix = format!("t_{id}.");
        let shutdown = CancellationToken::new();

        let mail = SmtpSink::start().await;
        let oauth = settings_svc::oauth::OAuthConfig {
            client_id: Some(OAUTH_CLIENT_ID.into()),
            client_secret: Some(SecretString::from(OAUTH_CLIENT_SECRET)),
            authorize_url: OAUTH_AUTHORIZE_URL.into(),
            token_url: options
                .oauth_token_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:9/token".into()),
            redirect_uri: OAUTH_REDIRECT_URI.into(),
            scopes: "offline_access https://outlook.office.com/IMAP.AccessAsUser.All".into(),
            secret_key: Some(SecretString::from(SETTINGS_SECRET_KEY)),
            state_ttl: options.oauth_state_ttl.unwrap_or(Duration::from_secs(600)),
        };
        // Bound first: settings-svc runs event hook handlers there.
        let agent_listener = local_listener().await;
        let agent_addr = agent_listener.local_addr().unwrap();
        let settings_options = settings_svc::config::Config {
            oauth,
            agent_url: format!("http://{agent_addr}"),
            // Receivers in tests listen on plain http and fail fast.
            hooks: settings_svc::config::HooksConfig {
                allow_http: true,
                timeout_ms: 2_000,
                max_attempts: 3,
                retry_base_ms: 200,
                retry_max_ms: 1_000,
                disable_after: 5,
                concurrency: 4,
            },
        };
        let settings_addr = start_service(
            local_listener().await,
            &settings_svc::SPEC,
            &settings_svc::MIGRATOR,
            &database,
            &prefix,
            None,
            &shutdown,
            |config, listener, shutdown| {
                settings_svc::run(config, settings_options, listener, shutdown)
            },
        )
        .await;

        let ticket_config = ticket_svc::Config {
            routing: ticket_svc::routing::Config::default(),
            mail: ticket_svc::mail::Config {
                url: SecretString::from(options.smtp_url.clone().unwrap_or_else(|| mail.url())),
                from: "Enneo Test <support@enneo.test>".into(),
                retry_base: Duration::from_millis(300),
            },
            settings_url: format!("http://{settings_addr}"),
        };
        let ticket_stop = shutdown.child_token();
        let ticket = start_service(
            local_listener().await,
            &ticket_svc::SPEC,
            &ticket_svc::MIGRATOR,
            &database,
            &prefix,
            options.ticket_amqp_url.clone(),
            &ticket_stop,
            |config, listener, shutdown| ticket_svc::run(config, ticket_config, listener, shutdown),
        )
        .await;
        let mut agent_config = agent_config(format!("http://{ticket}"));
        agent_config.settings_url = format!("http://{settings_addr}");
        // Model server settings changed by a test apply within a fraction of a second.
        agent_config.settings_refresh_ms = 200;
        if options.source_code {
            agent_config.executors.source_code_enabled = true;
            // Isolation is agent-svc's own test; here the code only has to run.
            agent_config.executors.source_code_network = true;
        }
        let agent = start_service(
            agent_listener,
            &agent_svc::SPEC,
            &agent_svc::MIGRATOR,
            &database,
            &prefix,
            None,
            &shutdown,
            |config, listener, shutdown| agent_svc::run(config, agent_config, listener, shutdown),
        )
        .await;
        let quality = start_service(
            local_listener().await,
            &quality_svc::SPEC,
            &quality_svc::MIGRATOR,
            &database,
            &prefix,
            None,
            &shutdown,
            |config, listener, shutdown| {
                let quality = quality_svc::Config {
                    agent_url: format!("http://{agent}"),
                    ticket_url: format!("http://{ticket}"),
                    ..quality_svc::Config::default()
                };
                quality_svc::run(config, quality, listener, shutdown)
            },
        )
        .await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = gateway::Config {
            http_addr: addr,
            jwt_secret: SecretString::from(JWT_SECRET),
            ticket_url: format!("http://{ticket}"),
            agent_url: format!("http://{agent}"),
            quality_url: format!("http://{quality}"),
            settings_url: format!("http://{settings_addr}"),
            cookie_secure: false,
            telemetry: TelemetryConfig::default(),
        };
        tokio::spawn(gateway::run(config, listener, shutdown.child_token()));

        let stack = Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            admin_token: token(1, "admin", 3600),
            agent_token: token(2, "agent", 3600),
            database,
            prefix,
            mail,
            ticket_stop,
            shutdown,
        };
        // Events published before a consumer's queue exists would have nowhere to go.
        stack.wait_for_queue("quality-svc.ticket-events").await;
        stack.wait_for_queue("agent-svc.detection").await;
        stack.wait_for_queue("settings-svc.event-hooks").await;
        if !ticket_broker_cut {
            stack.wait_for_queue("ticket-svc.projections").await;
        }
        stack
    }

    /// Shuts ticket-svc down while the gateway and the other services keep running.
    pub fn stop_ticket_svc(&self) {
        self.ticket_stop.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `/api/mind{path}` as the administrator.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("/api/mind{path}")))
            .bearer_auth(&self.admin_token)
    }

    pub fn agent(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("/api/mind{path}")))
            .bearer_auth(&self.agent_token)
    }

    /// Creates a ticket as admin and returns its JSON.
    pub async fn create(&self, body: Value) -> Value {
        let response =
            self.admin(reqwest::Method::POST, "/ticket").json(&body).send().await.unwrap();
        let status = response.status();
        let json: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "create failed: {json}");
        json
    }

    /// A superuser connection to this test's database.
    /// Tags with these ids exist (as if set up earlier by an administrator), so tickets can
    /// carry them.
    pub async fn tags(&self, ids: &[i64]) {
        let mut db = self.db().await;
        sqlx::query(
            "INSERT INTO settings.tag (id, name, type) SELECT i, 'Tag ' || i, 'skill' \
             FROM unnest($1::bigint[]) i ON CONFLICT DO NOTHING",
        )
        .bind(ids)
        .execute(&mut db)
        .await
        .unwrap();
        sqlx::query(
            "SELECT setval('settings.tag_id_seq', greatest((SELECT max(id) FROM settings.tag), 1))",
        )
        .execute(&mut db)
        .await
        .unwrap();
    }

    pub async fn db(&self) -> sqlx::PgConnection {
        let url = admin_url();
        let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
        sqlx::PgConnection::connect(&format!("{base}/{}", self.database)).await.unwrap()
    }

    async fn wait_for_queue(&self, name: &str) {
        let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let queue = format!("{}{name}", self.prefix);
        for _ in 0..200 {
            let channel = conn.create_channel().await.unwrap();
            let passive = QueueDeclareOptions { passive: true, ..Default::default() };
            if channel
                .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
                .is_ok()
            {
                let _ = conn.close(200, "".into()).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("queue {queue} never appeared");
    }

    /// Polls `probe` until it returns `Some`, for effects that travel through the broker.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        for _ in 0..300 {
            if let Some(value) = probe().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

/// Sends a request; the status and the JSON body.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The local embeddings server `deploy/test.sh` starts (ENNEO_TEST_EMBEDDINGS_URL); example
/// vectors are cached on disk across tests, so only the first one embeds the catalogue.
fn agent_config(ticket_url: String) -> agent_svc::Config {
    let mut config = agent_svc::Config { ticket_url, ..agent_svc::Config::default() };
    if let Ok(url) = std::env::var("ENNEO_TEST_EMBEDDINGS_URL") {
        config.embeddings.url = url;
    }
    config.embeddings.cache_dir = Some(std::env::temp_dir().join("enneo-test-embeddings"));
    config
}

pub fn token(user_id: i64, role: &str, ttl: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims =
        Claims { user_id, role: role.into(), iat: now, exp: now + ttl, ..Default::default() };
    sign(&claims, JWT_SECRET.as_bytes())
}

/// A token whose claims carry routing skills.
pub fn agent_token(user_id: i64, skills: Option<Vec<i64>>, excluded: Vec<i64>) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        user_id,
        role: "agent".into(),
        iat: now,
        exp: now + 3600,
        skills,
        excluded_tag_ids: excluded,
        required_tag_ids: Vec::new(),
        channels: Vec::new(),
        permissions: None,
        kid: None,
        session: false,
    };
    sign(&claims, JWT_SECRET.as_bytes())
}

async fn local_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Migrates a service's schema and serves it on `listener` (bound by the caller, who may need
/// its address before the service starts).
#[allow(clippy::too_many_arguments)]
async fn start_service<F, Fut>(
    listener: TcpListener,
    spec: &ServiceSpec,
    migrator: &'static sqlx::migrate::Migrator,
    database: &str,
    prefix: &str,
    amqp_url_override: Option<String>,
    shutdown: &CancellationToken,
    run: F,
) -> SocketAddr
where
    F: FnOnce(ServiceConfig, TcpListener, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let role = format!("enneo_{}", spec.schema);
    let config = ServiceConfig {
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        database: DatabaseConfig {
            url: SecretString::from(format!(
                "postgres://{role}:{role}@{}/{database}",
                pg_host_port()
            )),
            max_connections: NonZeroU32::new(5).unwrap(),
        },
        amqp: AmqpConfig {
            url: SecretString::from(amqp_url_override.unwrap_or_else(amqp_url)),
            prefix: prefix.to_owned(),
            queue_expires_ms: Some(120_000),
        },
        telemetry: TelemetryConfig::default(),
    };
    enneo_common::service::migrate(spec, &config, migrator, Some(&admin_url()))
        .await
        .unwrap_or_else(|e| panic!("migrating {}: {e}", spec.name));
    let addr = listener.local_addr().unwrap();
    tokio::spawn(run(config, listener, shutdown.child_token()));
    addr
}

/// A TCP forwarder to the real broker that can be switched off and on, to make RabbitMQ
/// unreachable for one service.
pub struct Switch {
    pub url: String,
    open: Arc<AtomicBool>,
}

impl Switch {
    pub async fn start(open: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let flag = Arc::new(AtomicBool::new(open));
        let accepting = flag.clone();
        let target = broker_addr();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { url: format!("amqp://guest:guest@127.0.0.1:{port}/%2f"), open: flag }
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

fn broker_addr() -> String {
    let url = amqp_url();
    let after_at = url.rsplit_once('@').map(|(_, rest)| rest).unwrap_or("127.0.0.1:5672/");
    after_at.split('/').next().unwrap_or("127.0.0.1:5672").to_owned()
}
