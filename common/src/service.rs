//! The command line every gRPC service shares: `serve` (default), `migrate [--bootstrap-url
//! URL]` and `config`, each with an optional `--config PATH` (or `ENNEO_CONFIG`).

use std::future::Future;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Effective, Layers, NoOptions, Section, ServiceConfig, ServiceSpec};

#[derive(Debug, Parser)]
#[command(version, about = "An Enneo Mind service")]
struct Cli {
    /// TOML file read over the compiled-in defaults (default: $ENNEO_CONFIG); environment
    /// variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
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
    /// Print the effective configuration, secrets masked, and exit.
    Config {
        /// JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a service binary that has only the shared settings.
pub fn main<F, Fut>(spec: ServiceSpec, migrator: &'static Migrator, run: F) -> anyhow::Result<()>
where
    F: FnOnce(ServiceConfig, TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    main_with(spec, migrator, |config, _: NoOptions, listener, shutdown| {
        run(config, listener, shutdown)
    })
}

/// Runs a service binary: parses the command line, loads and validates the shared settings
/// and the service's own `O` (one file, one environment), starts telemetry, then migrates or
/// serves until SIGINT/SIGTERM.
pub fn main_with<O, F, Fut>(
    spec: ServiceSpec,
    migrator: &'static Migrator,
    run: F,
) -> anyhow::Result<()>
where
    O: Section + Default,
    F: FnOnce(ServiceConfig, O, TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let cli = Cli::parse();
    let file = crate::config::file_from(cli.config);
    let mut layers = Layers::from_process(spec.env_prefix, file.as_deref())?;
    let config = layers.section(ServiceConfig::defaults(&spec))?;
    let options = layers.section(O::default())?;
    layers.finish()?;
    // `Some(bootstrap URL)` to migrate, `None` to serve.
    let migration = match cli.command.unwrap_or(Command::Serve) {
        Command::Config { json } => {
            let effective = Effective::default().with(&config)?.with(&options)?;
            println!("{}", if json { effective.to_json() } else { effective.to_toml()? });
            return Ok(());
        }
        Command::Migrate { bootstrap_url } => Some(bootstrap_url),
        Command::Serve => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let _telemetry = crate::telemetry::init(spec.name, &config.telemetry)?;
        if let Some(bootstrap_url) = migration {
            migrate(&spec, &config, migrator, bootstrap_url.as_deref()).await?;
            tracing::info!(service = spec.name, "migrations applied");
            return Ok(());
        }
        let listener = TcpListener::bind(config.grpc_addr).await?;
        tracing::info!(service = spec.name, addr = %config.grpc_addr, "serving gRPC");
        run(config, options, listener, crate::shutdown::on_signal()).await
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
        crate::db::bootstrap(url, &config.database.url, spec.schema).await?;
    }
    let pool = crate::db::pool(&config.database.url, spec.schema, 1)?;
    migrator.run(&pool).await?;
    pool.close().await;
    Ok(())
}
