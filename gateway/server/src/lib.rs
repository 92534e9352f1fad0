//! The running gateway: HTTP and MLLP listeners in front of one intake path
//! (parse, convert, route, store durably), delivery workers behind it, and
//! the configuration that wires them.
//!
//! [`start`] binds the listeners and returns a [`Gateway`] handle; shutting
//! it down stops accepting, lets requests, MLLP messages and delivery
//! attempts in progress finish, and loses nothing: whatever was
//! acknowledged is in the store.

pub mod api;
pub mod auth;
pub mod config;
pub mod extract;
pub mod intake;
pub mod listeners;
pub mod outcome;
mod rendered;
pub mod router;
pub mod validation;
pub mod version;

use listeners::{mllp, tls};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use validation::Validation;
use zorgpoort_handover::{Deliverer, Follower, Registry, RegistryError, Routes, Upstream};
use zorgpoort_metrics::Metrics;
use zorgpoort_store::{AnyStore, Durability, PostgresSettings, PostgresStore, SqliteStore, StoreError};

pub use config::{Config, ConfigError};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The registry in the configuration is inconsistent.
    #[error("registry: {0}")]
    Registry(#[from] RegistryError),
    /// A route names an unknown organisation.
    #[error(transparent)]
    Route(#[from] zorgpoort_handover::routing::UnknownOrganization),
    /// The store could not be opened.
    #[error("store {at}: {source}")]
    Store {
        /// Where it is (never with a password).
        at: String,
        /// Why.
        source: StoreError,
    },
    /// The region would let callers in without proving who they are.
    #[error(transparent)]
    Unauthenticated(#[from] auth::Unauthenticated),
    /// A registered token-signing key is unusable.
    #[error(transparent)]
    Keys(#[from] auth::KeyError),
    /// A setting that was fine when the configuration was loaded no longer
    /// is (a mapping file that changed in between).
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The TLS certificates or settings are unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The client for upstreams cannot be set up.
    #[error(transparent)]
    Upstream(#[from] zorgpoort_handover::UpstreamError),
    /// A listener could not be bound, or the data directory created.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A started gateway.
pub struct Gateway {
    http: SocketAddr,
    mllp: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Gateway {
    /// Where HTTP listens (the actual port when configured as 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// Where MLLP listens.
    pub fn mllp_addr(&self) -> SocketAddr {
        self.mllp
    }

    /// Stops accepting, finishes work in progress, then returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn bind(address: SocketAddr, what: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(address).await.map_err(|source| StartError::Io {
        what: format!("{what} listener on {address}"),
        source,
    })
}

/// Completes when the gateway is told to stop.
async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.changed().await;
}

/// The handover settings with the gateway's public FHIR base filled in
/// from the HTTP listener when the configuration leaves it empty.
fn with_public_base(
    mut handover: zorgpoort_handover::HandoverConfig,
    https: bool,
    http: SocketAddr,
) -> zorgpoort_handover::HandoverConfig {
    if handover.public_base_url.is_empty() {
        let scheme = if https { "https" } else { "http" };
        handover.public_base_url = format!("{scheme}://{http}/fhir");
    }
    handover
}

/// The data directory, created when new, and the audit chain's key and
/// anchoring in it or as `[audit]` says (see [`audit_settings`]).
pub fn prepare_data_dir(config: &Config) -> Result<zorgpoort_store::AuditSettings, StartError> {
    let data_dir = &config.server.data_dir;
    std::fs::create_dir_all(data_dir).map_err(|source| StartError::Io {
        what: format!("data directory {}", data_dir.display()),
        source,
    })?;
    audit_settings(&config.audit, data_dir).map_err(|source| StartError::Store {
        at: store_location(config),
        source,
    })
}

/// The configured store, created (or migrated) when new, its audit chain
/// keyed and anchored with `audit`: SQLite in the data directory, or
/// PostgreSQL when `store.url` is set.
pub async fn open_store(config: &Config, audit: &zorgpoort_store::AuditSettings) -> Result<AnyStore, StartError> {
    let store_error = |source| StartError::Store {
        at: store_location(config),
        source,
    };
    if let Some(url) = &config.store.url {
        let postgres = PostgresSettings {
            url: url.clone(),
            ca_file: config.store.ca_file.clone(),
            max_connections: config.store.max_connections,
        };
        let store = PostgresStore::connect(&postgres, audit).await.map_err(store_error)?;
        return Ok(AnyStore::Postgres(store));
    }
    let durability = if config.server.durability == "process-crash" {
        Durability::ProcessCrash
    } else {
        Durability::PowerLoss
    };
    let path = config.server.data_dir.join("zorgpoort.db");
    let store = SqliteStore::open_with(&path, durability, audit).map_err(store_error)?;
    Ok(AnyStore::Sqlite(store))
}

/// Where the store is, for messages: the SQLite file, or the PostgreSQL
/// hosts and database, never the user or password.
pub fn store_location(config: &Config) -> String {
    match &config.store.url {
        Some(url) => PostgresSettings::location_of(url),
        None => config.server.data_dir.join("zorgpoort.db").display().to_string(),
    }
}

/// The audit chain's key and anchoring as configured (the key is read
/// here and never logged). A configured `audit.key_file` must exist; without
/// one, `audit.key` in the data directory is used, and created with a
/// warning when absent.
pub fn audit_settings(
    audit: &config::AuditConfig,
    data_dir: &std::path::Path,
) -> Result<zorgpoort_store::AuditSettings, StoreError> {
    let key_path = audit.key_path(data_dir);
    let key = if audit.key_file.is_some() {
        zorgpoort_store::load_key(&key_path)?
    } else {
        let (key, created) = zorgpoort_store::load_or_create_key(&key_path)?;
        if created {
            tracing::warn!(
                key_file = %key_path.display(),
                "created a new audit key in the data directory; a production region keeps the key outside it \
                 (e.g. a Kubernetes Secret) and sets audit.key_file: whoever holds both the database and the key \
                 can rewrite the audit log unseen"
            );
        }
        key
    };
    let mut settings = zorgpoort_store::AuditSettings::new(key, audit.anchor_path(data_dir));
    settings.anchor_every = audit.anchor_every;
    settings.anchor_interval = Duration::from_secs(audit.anchor_interval_secs);
    Ok(settings)
}

/// The bound HTTP listeners: the API and, when configured, the ops one.
struct HttpListeners {
    api: TcpListener,
    ops: Option<TcpListener>,
}

impl HttpListeners {
    /// Serves the application on the API listener and the probes alone on
    /// the ops listener, until `stopped`.
    fn spawn<S: zorgpoort_store::Store>(
        self,
        tasks: &mut JoinSet<()>,
        state: api::AppState<S>,
        server: &config::ServerConfig,
        identification: auth::Identification,
        tls: Option<Arc<tls::Tls>>,
        stopped: &watch::Receiver<bool>,
    ) {
        let limits = router::HttpLimits {
            max_concurrent_requests: server.max_concurrent_requests,
            request_timeout: Duration::from_millis(server.request_timeout_ms),
            max_body_bytes: server.max_body_bytes,
        };
        let connection_limits = listeners::http::ConnectionLimits {
            request_timeout: limits.request_timeout,
        };
        let registry = Arc::clone(&state.registry);
        if let Some(ops) = self.ops {
            let probes = router::App::new(router::health(state.clone()).into_service());
            let serve = listeners::http::serve(
                ops,
                probes,
                None,
                Arc::clone(&registry),
                connection_limits,
                stopped.clone(),
            );
            tasks.spawn(serve);
        }
        let app = router::app(state, limits, Arc::new(identification));
        tasks.spawn(listeners::http::serve(
            self.api,
            app,
            tls,
            registry,
            connection_limits,
            stopped.clone(),
        ));
    }
}

/// Opens the store, binds the listeners and starts serving.
pub async fn start(mut config: Config) -> Result<Gateway, StartError> {
    // Checked before anything is bound, so a bad registry or route leaves no
    // listener; built for real once the HTTP port is known (below).
    Routes::new(config.routes.clone(), &Registry::new(config.organizations.clone())?)?;
    let identification = auth::Mode::of(&config)?;
    let tls = config.tls.as_ref().map(tls::Tls::new).transpose()?.map(Arc::new);
    let audit = prepare_data_dir(&config)?;
    let store = open_store(&config, &audit).await?;
    let server = config.server;

    let http_listener = bind(server.http, "HTTP").await?;
    let mllp_listener = bind(server.mllp, "MLLP").await?;
    let ops_listener = match server.ops {
        Some(address) => Some(bind(address, "ops").await?),
        None => None,
    };
    let local = |l: &TcpListener, what: &str| {
        l.local_addr().map_err(|source| StartError::Io {
            what: format!("{what} listener address"),
            source,
        })
    };
    let (http, mllp) = (local(&http_listener, "HTTP")?, local(&mllp_listener, "MLLP")?);
    // Only now is the port known when it was configured as 0.
    config::resolve_own_address(&mut config.organizations, http);
    let registry = Arc::new(Registry::new(config.organizations)?);
    let routes = Arc::new(Routes::new(config.routes, &registry)?);

    let metrics = Arc::new(Metrics::default());
    let validation = Arc::new(Validation::new(config.validation, Arc::clone(&metrics)));

    let (shutdown, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let consent = zorgpoort_handover::ConsentCheck {
        registry: Arc::clone(&registry),
        policy: config.consent,
    };
    let intake = Arc::new(
        intake::Intake::new(
            store.clone(),
            Arc::clone(&registry),
            routes,
            server.max_body_bytes,
            config.formats.ecd_mapping()?,
            Arc::clone(&validation),
            Arc::clone(&metrics),
        )
        .with_handovers(consent.clone(), config.handover.pickup_ms())
        .keeping_bundles(config.delivery.kept_bundles_bytes),
    );
    let handover = with_public_base(config.handover, tls.is_some(), http);
    let upstream = Upstream::new(&config.upstream, Duration::from_millis(config.delivery.timeout_ms))?;
    let state = api::AppState {
        intake: Arc::clone(&intake),
        store: store.clone(),
        registry: Arc::clone(&registry),
        consent: Arc::new(consent.clone()),
        metrics: Arc::clone(&metrics),
        max_body_bytes: server.max_body_bytes,
        validation,
        inbox: server.demo_inbox.then(|| Arc::new(api::inbox::Inbox::default())),
        handover: handover.clone(),
        upstream: upstream.clone(),
    };
    // The region's one secret, the audit key, also keys the access tokens.
    let identification = identification.identify(&registry, &handover.public_base_url, &audit.key, store.clone())?;
    let http_listeners = HttpListeners {
        api: http_listener,
        ops: ops_listener,
    };
    http_listeners.spawn(&mut tasks, state, &server, identification, tls.clone(), &stopped);

    let mllp_limits = mllp::MllpLimits {
        max_frame_bytes: server.max_body_bytes,
        idle_timeout: Duration::from_millis(server.mllp_idle_timeout_ms),
        max_in_flight: server.max_concurrent_requests,
        max_connections: server.mllp_max_connections,
    };
    let mllp_tls = tls.map(|tls| (tls, Arc::clone(&registry)));
    tasks.spawn(mllp::serve(
        mllp_listener,
        Arc::clone(&intake),
        Arc::clone(&metrics),
        mllp_limits,
        mllp_tls,
        stopped.clone(),
    ));

    tasks.spawn(
        Follower::new(store.clone(), Arc::clone(&registry), handover, upstream.clone()).run(until(stopped.clone())),
    );
    let renderer = Arc::clone(&intake);
    let render: zorgpoort_handover::Render = Arc::new(move |format: &str, body: &[u8]| renderer.render(format, body));
    tasks.spawn(Deliverer::new(store, config.delivery, upstream, render, Some(consent), metrics).run(until(stopped)));

    tracing::info!(%http, %mllp, data_dir = %server.data_dir.display(), "zorgpoort gateway started");
    Ok(Gateway {
        http,
        mllp,
        shutdown,
        tasks,
    })
}
