use std::path::PathBuf;

use clap::{Parser, Subcommand};
use enneo_common::auth::{Claims, Role};
use enneo_common::config::Effective;
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(version, about = "Enneo Mind REST gateway")]
struct Cli {
    /// TOML file read over the compiled-in defaults (default: $ENNEO_CONFIG); environment
    /// variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Print an access token signed with GATEWAY_JWT_SECRET, for operators and scripts.
    IssueToken {
        #[arg(long)]
        user_id: i64,
        /// admin or agent.
        #[arg(long, default_value = "agent")]
        role: String,
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
        /// Tag ids the agent may be routed (comma-separated); omit for no restriction.
        #[arg(long, value_delimiter = ',')]
        skills: Option<Vec<i64>>,
        /// Tag ids whose tickets the agent is never routed.
        #[arg(long, value_delimiter = ',')]
        excluded_tags: Vec<i64>,
        /// Tag ids of which a routed ticket must carry at least one.
        #[arg(long, value_delimiter = ',')]
        required_tags: Vec<i64>,
    },
    /// Print the effective configuration, secrets masked, and exit.
    Config {
        /// JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let file = enneo_common::config::file_from(cli.config);
    let config = gateway::Config::load(file.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config { json } => {
            let effective = Effective::default().with(&config)?;
            println!("{}", if json { effective.to_json() } else { effective.to_toml()? });
            Ok(())
        }
        Command::IssueToken { user_id, role, ttl_hours, skills, excluded_tags, required_tags } => {
            let role =
                Role::parse(&role).ok_or_else(|| anyhow::anyhow!("role must be admin or agent"))?;
            anyhow::ensure!(ttl_hours > 0, "ttl-hours must be positive");
            let now = chrono::Utc::now().timestamp();
            let claims = Claims {
                user_id,
                role: role.as_str().into(),
                iat: now,
                exp: now + ttl_hours * 3600,
                skills,
                excluded_tag_ids: excluded_tags,
                required_tag_ids: required_tags,
                channels: Vec::new(),
                permissions: None,
                kid: None,
                session: false,
            };
            println!(
                "{}",
                enneo_common::auth::sign(&claims, config.jwt_secret.expose_secret().as_bytes())
            );
            Ok(())
        }
        Command::Serve => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async {
                let _telemetry = enneo_common::telemetry::init("gateway", &config.telemetry)?;
                let listener = tokio::net::TcpListener::bind(config.http_addr).await?;
                tracing::info!(addr = %config.http_addr, "serving HTTP");
                gateway::run(config, listener, enneo_common::shutdown::on_signal()).await?;
                Ok(())
            })
        }
    }
}
