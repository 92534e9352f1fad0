//! `zorgpoort store backup|migrate`: an online copy of the SQLite store,
//! and the move of a SQLite store into PostgreSQL (for replicas).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use zorgpoort_store::{PostgresSettings, backup_sqlite, sqlite_to_postgres};

/// Arguments of `zorgpoort store`.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Configuration file whose data directory and audit key to use.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Copy the SQLite store to FILE while the gateway runs (SQLite's online
    /// backup: a consistent snapshot). Keep the audit key and anchor file
    /// with it: the copy's audit chain is checked against them.
    Backup {
        /// Where the copy goes; must not exist.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Copy the SQLite store into an empty PostgreSQL database, then check
    /// the copy (rows per table, the audit chain against the anchors). Stop
    /// the gateway first: what it accepts during the copy stays behind.
    /// Then set `store.url` and start the gateway (or its replicas).
    Migrate {
        /// postgres://USER:PASSWORD@HOST:PORT/DATABASE; read from the
        /// environment variable `ZORGPOORT_STORE_URL` when not given, so the
        /// password stays out of the shell history.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The CA (PEM) of the PostgreSQL server's certificate: TLS to it.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
    },
}

/// Runs a store command.
pub fn run(args: StoreArgs) -> Result<ExitCode> {
    let config = crate::serve::load_config(args.config.as_deref(), args.data_dir)?;
    let path = config.server.data_dir.join("zorgpoort.db");
    if !path.exists() {
        bail!("no SQLite store at {} (use --data-dir or --config)", path.display());
    }
    match args.command {
        StoreCommand::Backup { to } => {
            let messages = backup_sqlite(&path, &to).with_context(|| format!("backup of {}", path.display()))?;
            outln!("{} copied to {} ({messages} messages)", path.display(), to.display())?;
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Migrate { to, ca_file } => {
            let url = to
                .or_else(|| std::env::var("ZORGPOORT_STORE_URL").ok())
                .context("give --to postgres://... or set ZORGPOORT_STORE_URL")?;
            let target = PostgresSettings {
                url,
                ca_file: ca_file.or(config.store.ca_file.clone()),
                max_connections: 2,
            };
            let audit =
                zorgpoort_server::audit_settings(&config.audit, &config.server.data_dir).context("audit key")?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("async runtime")?;
            let location = PostgresSettings::location_of(&target.url);
            let moved = runtime
                .block_on(sqlite_to_postgres(&path, &target, &audit))
                .with_context(|| format!("migration of {} to {location}", path.display()))?;
            for (table, rows) in &moved.tables {
                outln!("{table}: {rows} rows")?;
            }
            if let Some(problem) = moved.audit.problems.first() {
                outln!(
                    "audit chain in {location}: BROKEN at record {}: {problem}",
                    problem.sequence
                )?;
                return Ok(ExitCode::FAILURE);
            }
            outln!(
                "audit chain in {location}: intact, {} records checked against the anchors",
                moved.audit.records
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
