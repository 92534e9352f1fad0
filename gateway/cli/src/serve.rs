//! `zorgpoort serve` and `zorgpoort init`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use zorgpoort_server::Config;
use zorgpoort_store::AnyStore;

/// Arguments of `zorgpoort serve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --config the embedded demo region runs: a hospital, a GP practice and a \
nursing home (fictional codes) whose receivers are the gateway's own demo inbox. \
Settings can also come from ZORGPOORT_SERVER_<KEY> / ZORGPOORT_DELIVERY_<KEY> environment variables."
)]
pub struct ServeArgs {
    /// Configuration file (see `zorgpoort init`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// HTTP listen address (overrides the configuration).
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// MLLP listen address (overrides the configuration).
    #[arg(long, value_name = "ADDR")]
    mllp: Option<SocketAddr>,
    /// Directory of the embedded database (overrides the configuration).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Loads the configuration with the command-line overrides applied.
pub fn load_config(path: Option<&std::path::Path>, data_dir: Option<PathBuf>) -> Result<Config> {
    let mut config = Config::from_file(path).context("configuration")?;
    if let Some(dir) = data_dir {
        config.server.data_dir = dir;
    }
    Ok(config)
}

/// Opens the gateway's existing store for an admin command, with a runtime
/// to drive it: the SQLite file in the data directory (which must exist),
/// or the configured PostgreSQL database.
pub fn existing_store(config: &Config) -> Result<(AnyStore, tokio::runtime::Runtime)> {
    if config.store.url.is_none() {
        let path = config.server.data_dir.join("zorgpoort.db");
        if !path.exists() {
            bail!("no store at {} (use --data-dir or --config)", path.display());
        }
    }
    open_store(config)
}

/// Opens (creating when new) the configured store for an admin command,
/// with a runtime to drive it.
pub fn open_store(config: &Config) -> Result<(AnyStore, tokio::runtime::Runtime)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let audit = zorgpoort_server::prepare_data_dir(config)?;
    let store = runtime.block_on(zorgpoort_server::open_store(config, &audit))?;
    Ok((store, runtime))
}

/// Runs the gateway until Ctrl-C or SIGTERM, then shuts down gracefully.
pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    // Flags go in as environment overrides so demo endpoints follow a moved HTTP port.
    let mut overrides = Vec::new();
    if let Some(http) = args.http {
        overrides.push(("ZORGPOORT_SERVER_HTTP".to_owned(), http.to_string()));
    }
    if let Some(mllp) = args.mllp {
        overrides.push(("ZORGPOORT_SERVER_MLLP".to_owned(), mllp.to_string()));
    }
    let text = match &args.config {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?),
        None => None,
    };
    let env = std::env::vars()
        .filter(|(k, _)| k.starts_with(zorgpoort_server::config::ENV_PREFIX))
        .chain(overrides);
    let mut config = Config::load(text.as_deref(), env).context("configuration")?;
    if let Some(dir) = args.data_dir {
        config.server.data_dir = dir;
    }
    if args.config.is_none() {
        eprintln!("zorgpoort: no --config given: running the embedded DEMO region (fictional organisations).");
    }
    if config.server.unauthenticated_demo {
        eprintln!(
            "zorgpoort: WARNING: DEMO MODE (server.unauthenticated_demo): PLAINTEXT, NOTHING IS AUTHENTICATED; \
             callers name their organisation in X-Zorgpoort-Requester. Loopback only, fictional data only."
        );
    }
    let tls = config.tls.is_some();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let gateway = zorgpoort_server::start(config).await?;
        let (scheme, mllp) = if tls {
            ("https", "MLLP over TLS")
        } else {
            ("http", "MLLP")
        };
        eprintln!(
            "zorgpoort: HTTP on {scheme}://{}  {mllp} on {}",
            gateway.http_addr(),
            gateway.mllp_addr()
        );
        shutdown_signal().await;
        eprintln!("zorgpoort: shutting down: finishing work in progress");
        gateway.shutdown().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Arguments of `zorgpoort init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write the configuration.
    #[arg(default_value = "zorgpoort.toml")]
    path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// Writes a commented configuration for a real region.
pub fn init(args: &InitArgs) -> Result<ExitCode> {
    if args.path.exists() && !args.force {
        bail!("{} exists; use --force to overwrite it", args.path.display());
    }
    std::fs::write(&args.path, zorgpoort_server::config::TEMPLATE)
        .with_context(|| format!("cannot write {}", args.path.display()))?;
    eprintln!(
        "zorgpoort: wrote {}; edit it, then run: zorgpoort serve --config {}",
        args.path.display(),
        args.path.display()
    );
    Ok(ExitCode::SUCCESS)
}
