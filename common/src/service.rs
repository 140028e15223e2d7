//! The command line every gRPC service shares: `serve` (default) and
//! `migrate [--bootstrap-url URL]`.

use std::future::Future;

use clap::{Parser, Subcommand};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{ServiceConfig, ServiceSpec};

#[derive(Debug, Parser)]
#[command(version, about = "An Enneo Mind service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply this service's database migrations, as its own role.
    Migrate {
        /// A privileged URL (e.g. postgres://postgres@127.0.0.1/postgres) used first to create
        /// the database, the service's login role and its schema when they are missing.
        #[arg(long)]
        bootstrap_url: Option<String>,
    },
}

/// Runs a service binary: parses the command line, starts telemetry, loads `<PREFIX>_*`
/// configuration, then migrates or serves until SIGINT/SIGTERM.
pub fn main<F, Fut>(spec: ServiceSpec, migrator: &'static Migrator, run: F) -> anyhow::Result<()>
where
    F: FnOnce(ServiceConfig, TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let _telemetry = crate::telemetry::init(spec.name)?;
        let config = ServiceConfig::from_env(&spec)?;
        match cli.command.unwrap_or(Command::Serve) {
            Command::Migrate { bootstrap_url } => {
                migrate(&spec, &config, migrator, bootstrap_url.as_deref()).await?;
                tracing::info!(service = spec.name, "migrations applied");
                Ok(())
            }
            Command::Serve => {
                let listener = TcpListener::bind(config.grpc_addr).await?;
                tracing::info!(service = spec.name, addr = %config.grpc_addr, "serving gRPC");
                run(config, listener, crate::shutdown::on_signal()).await
            }
        }
    })
}

/// Provisions (with `bootstrap_url`) and migrates the service's schema.
pub async fn migrate(
    spec: &ServiceSpec,
    config: &ServiceConfig,
    migrator: &Migrator,
    bootstrap_url: Option<&str>,
) -> crate::Result<()> {
    if let Some(url) = bootstrap_url {
        crate::db::bootstrap(url, &config.database_url, spec.schema).await?;
    }
    let pool = crate::db::pool(&config.database_url, spec.schema, 1)?;
    migrator.run(&pool).await?;
    pool.close().await;
    Ok(())
}
