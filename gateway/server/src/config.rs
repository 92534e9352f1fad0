//! Configuration: TOML, then `ZORGPOORT_<SECTION>_<KEY>` environment
//! overrides, then checks; a wrong setting fails start-up naming the key and
//! why. Without a file the embedded demo region is used.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use zorgpoort_handover::{DeliveryConfig, Organization, Route};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, limits and storage.
    #[serde(default)]
    pub server: ServerConfig,
    /// Delivery to receivers.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// The audit log.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Where messages, deliveries, consents and the audit log are kept.
    #[serde(default)]
    pub store: StoreConfig,
    /// eOverdracht handovers: pickup time, notifications.
    #[serde(default)]
    pub handover: zorgpoort_handover::HandoverConfig,
    /// How receivers and holders are reached: trusted CAs, the gateway's
    /// client certificate for mutual TLS.
    #[serde(default)]
    pub upstream: zorgpoort_handover::UpstreamConfig,
    /// What happens to data that does not validate against nl-core.
    #[serde(default)]
    pub validation: crate::validation::ValidationConfig,
    /// How input formats are read.
    #[serde(default)]
    pub formats: FormatsConfig,
    /// The region's consent policy (presumed consent, break-the-glass).
    #[serde(default)]
    pub consent: zorgpoort_consent::Policy,
    /// TLS for both listeners; mutual TLS when it names a client CA.
    #[serde(default)]
    pub tls: Option<crate::listeners::tls::TlsConfig>,
    /// The region's organisations (zorgadresboek).
    #[serde(default, rename = "organization")]
    pub organizations: Vec<Organization>,
    /// Routing rules.
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
}

/// The audit log (`[audit]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days audit records are kept; `zorgpoort audit purge` removes older ones.
    pub retention_days: u32,
    /// The file with the key that MACs every audit record and anchor: at
    /// least 32 random bytes, raw or as 64+ hex digits. Keep it outside the
    /// data directory in production (a Kubernetes Secret mounted as a file,
    /// readable by the gateway only): whoever holds the database and the key
    /// can rewrite the log unseen. Unset: `audit.key` in the data directory,
    /// created on first start (with a warning). Set: it must exist.
    pub key_file: Option<PathBuf>,
    /// Where the chain's head is anchored (appended, one JSON line per
    /// anchor; the same line goes to the log, to be shipped off the host).
    /// Unset: `audit-anchors.jsonl` in the data directory.
    pub anchor_file: Option<PathBuf>,
    /// Anchor at least once per this many audit records.
    pub anchor_every: u64,
    /// Anchor at most this many seconds after an audit record was written.
    pub anchor_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        // Five years, the common minimum for access logs of Dutch care records.
        Self {
            retention_days: 5 * 365,
            key_file: None,
            anchor_file: None,
            anchor_every: 10_000,
            anchor_interval_secs: 60,
        }
    }
}

impl AuditConfig {
    /// The key file: configured, or `audit.key` in `data_dir`.
    pub fn key_path(&self, data_dir: &std::path::Path) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(zorgpoort_store::AuditSettings::DEFAULT_KEY_FILE))
    }

    /// The anchor file: configured, or `audit-anchors.jsonl` in `data_dir`.
    pub fn anchor_path(&self, data_dir: &std::path::Path) -> PathBuf {
        self.anchor_file
            .clone()
            .unwrap_or_else(|| data_dir.join(zorgpoort_store::AuditSettings::DEFAULT_ANCHOR_FILE))
    }
}

/// The database (`[store]`): SQLite in the data directory unless a
/// PostgreSQL URL is given, which several gateway replicas can share.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; unset: SQLite
    /// (`zorgpoort.db` in `server.data_dir`). Holds a password: give it as
    /// the environment variable `ZORGPOORT_STORE_URL` (from a secret), not
    /// in a file others read. Never logged.
    pub url: Option<String>,
    /// The CA (PEM) of the PostgreSQL server's certificate: connections use
    /// TLS and check the certificate and host name. Unset: plaintext, for a
    /// database on loopback or in the same pod only.
    pub ca_file: Option<PathBuf>,
    /// Connections each gateway keeps to PostgreSQL at most.
    pub max_connections: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: None,
            ca_file: None,
            max_connections: zorgpoort_store::PostgresSettings::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    /// Without the URL, which holds the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("ca_file", &self.ca_file)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// How input formats are read (`[formats]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FormatsConfig {
    /// The mapping of nursing-home exports: a built-in mapping's name or a
    /// TOML mapping file. Unset, each export is read with the built-in
    /// mapping whose layout it has.
    pub ecd_mapping: Option<String>,
}

impl FormatsConfig {
    /// The configured export mapping, read and checked.
    pub fn ecd_mapping(&self) -> Result<Option<zorgpoort_ecd::Mapping>, ConfigError> {
        let Some(name) = &self.ecd_mapping else {
            return Ok(None);
        };
        if let Some(mapping) = zorgpoort_ecd::Mapping::builtin(name) {
            return Ok(Some(mapping));
        }
        let invalid = |reason: String| ConfigError::Value {
            key: "formats.ecd_mapping".into(),
            reason,
        };
        let text = std::fs::read_to_string(name).map_err(|e| {
            invalid(format!(
                "{name:?} is not a built-in mapping ({}) and cannot be read: {e}",
                zorgpoort_ecd::Mapping::BUILTIN.join(", ")
            ))
        })?;
        zorgpoort_ecd::Mapping::from_toml(&text)
            .map(Some)
            .map_err(|e| invalid(format!("{name}: {e}")))
    }
}

/// Listeners, limits and storage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// HTTP listen address.
    pub http: SocketAddr,
    /// MLLP listen address.
    pub mllp: SocketAddr,
    /// Directory of the embedded database.
    pub data_dir: PathBuf,
    /// Largest accepted request body or MLLP frame, in bytes.
    pub max_body_bytes: usize,
    /// Requests handled at once; more get 503 with Retry-After.
    pub max_concurrent_requests: usize,
    /// Time allowed for one HTTP request.
    pub request_timeout_ms: u64,
    /// An MLLP connection silent this long is closed.
    pub mllp_idle_timeout_ms: u64,
    /// MLLP connections open at once; past it a connection is closed at
    /// once (logged), so idle clients cannot exhaust file descriptors.
    pub mllp_max_connections: usize,
    /// `power-loss` (fsync every commit) or `process-crash` (no fsync).
    pub durability: String,
    /// Serve `/demo/inbox/{org}`, a receiver for the demo region's endpoints.
    pub demo_inbox: bool,
    /// DANGER, demo and loopback test regions only: nothing is
    /// authenticated; callers name their organisation in the
    /// `X-Zorgpoort-Requester` header. Every listener must be on loopback
    /// and every response says it is a demo. The embedded demo region sets
    /// it; a region with real patients never does.
    pub unauthenticated_demo: bool,
    /// A plaintext listener for `/healthz`, `/readyz` and `/metrics` only,
    /// on loopback (a sidecar or local agent scrapes it); off when unset.
    pub ops: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mllp: SocketAddr::from(([127, 0, 0, 1], 2575)),
            data_dir: PathBuf::from("zorgpoort-data"),
            max_body_bytes: 16 * 1024 * 1024,
            max_concurrent_requests: 512,
            request_timeout_ms: 30_000,
            mllp_idle_timeout_ms: 300_000,
            mllp_max_connections: 256,
            durability: "power-loss".into(),
            demo_inbox: false,
            unauthenticated_demo: false,
            ops: None,
        }
    }
}

/// Why the configuration cannot be used; names the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key or a value of the wrong type.
    #[error("{0}")]
    Invalid(String),
    /// A value that parses but cannot work.
    #[error("{key}: {reason}")]
    Value {
        /// The key, such as `server.durability`.
        key: String,
        /// Why.
        reason: String,
    },
}

/// The embedded demo region: a hospital sending HL7 v2, a GP practice and a
/// nursing home, with fictional URA and AGB codes. Its receivers are the
/// gateway's own demo inbox, so a message can be followed end to end.
pub const DEMO_REGION: &str = include_str!("demo-region.toml");

/// A commented configuration for a real region, written by `zorgpoort init`.
pub const TEMPLATE: &str = include_str!("zorgpoort.toml.template");

impl Config {
    /// Reads `toml` text (the demo region when `None`) and applies the
    /// environment overrides in `env`.
    pub fn load(toml_text: Option<&str>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let text = toml_text.unwrap_or(DEMO_REGION);
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        apply_env(&mut table, env)?;
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.resolve_demo_addresses();
        config.check()?;
        Ok(config)
    }

    /// Reads a file, or the demo region when `path` is `None`.
    pub fn from_file(path: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let text = match path {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?),
            None => None,
        };
        Self::load(
            text.as_deref(),
            std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX)),
        )
    }

    /// Demo endpoints say `{http}` for the gateway's own HTTP address. On
    /// port 0 the address is known only once bound: [`crate::start`] fills
    /// it in then.
    fn resolve_demo_addresses(&mut self) {
        if self.server.http.port() != 0 {
            resolve_own_address(&mut self.organizations, self.server.http);
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let value = |key: &str, reason: &str| {
            Err(ConfigError::Value {
                key: key.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if !matches!(self.server.durability.as_str(), "power-loss" | "process-crash") {
            return value("server.durability", "must be \"power-loss\" or \"process-crash\"");
        }
        if self.server.max_body_bytes < 1024 {
            return value("server.max_body_bytes", "must be at least 1024");
        }
        if self.server.max_concurrent_requests == 0 {
            return value("server.max_concurrent_requests", "must be at least 1");
        }
        if self.delivery.concurrency == 0 {
            return value("delivery.concurrency", "must be at least 1");
        }
        if self.delivery.batch == 0 {
            return value("delivery.batch", "must be at least 1");
        }
        if self.handover.pickup_timeout_secs == 0 {
            return value("handover.pickup_timeout_secs", "must be at least 1");
        }
        if self.handover.poll_interval_ms == 0 {
            return value("handover.poll_interval_ms", "must be at least 1");
        }
        let base = &self.handover.public_base_url;
        if !(base.is_empty() || base.starts_with("http://") || base.starts_with("https://")) {
            return value("handover.public_base_url", "must be an http(s) URL");
        }
        if self.audit.retention_days == 0 {
            return value("audit.retention_days", "must be at least 1");
        }
        if self.audit.anchor_every == 0 {
            return value("audit.anchor_every", "must be at least 1");
        }
        if self.audit.anchor_interval_secs == 0 {
            return value("audit.anchor_interval_secs", "must be at least 1");
        }
        if self.delivery.max_attempts == 0 {
            return value("delivery.max_attempts", "must be at least 1");
        }
        self.formats.ecd_mapping()?;
        let categories = &self.consent.organization_categories;
        let known = |kind: &String| categories.contains(kind);
        if let Some(org) = self.organizations.iter().find(|o| !known(&o.kind)) {
            return value(
                "organization.kind",
                &format!(
                    "{:?} of {:?} is not one of consent.organization_categories {categories:?}",
                    org.kind, org.id
                ),
            );
        }
        if let Some(kind) = self.consent.break_the_glass_for.iter().find(|k| !known(k)) {
            return value(
                "consent.break_the_glass_for",
                &format!("{kind:?} is not one of consent.organization_categories"),
            );
        }
        Ok(())
    }
}

/// Replaces `{http}` in the organisations' endpoint addresses by `http`,
/// the gateway's own HTTP address.
pub(crate) fn resolve_own_address(organizations: &mut [Organization], http: SocketAddr) {
    let own = http.to_string();
    for org in organizations {
        for endpoint in &mut org.endpoints {
            endpoint.address = endpoint.address.replace("{http}", &own);
        }
    }
}

/// Environment variables that override the file start with this.
pub const ENV_PREFIX: &str = "ZORGPOORT_";

/// `ZORGPOORT_SERVER_HTTP=0.0.0.0:8080` sets `server.http`; values are
/// read as integers or booleans when they look like one, else as text.
fn apply_env(table: &mut toml::Table, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
    let sections: BTreeMap<&str, &str> = [
        ("SERVER_", "server"),
        ("DELIVERY_", "delivery"),
        ("TLS_", "tls"),
        ("AUDIT_", "audit"),
        ("HANDOVER_", "handover"),
        ("STORE_", "store"),
    ]
    .into_iter()
    .collect();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((section, key)) = sections.iter().find_map(|(p, s)| rest.strip_prefix(p).map(|k| (*s, k))) else {
            return Err(ConfigError::Value {
                key: name.clone(),
                reason: "unknown setting (use ZORGPOORT_<SECTION>_<KEY> with SECTION one of SERVER, DELIVERY, TLS, \
                         AUDIT, HANDOVER, STORE)"
                    .into(),
            });
        };
        let key = key.to_ascii_lowercase();
        let value = if let Ok(n) = raw.parse::<i64>() {
            toml::Value::Integer(n)
        } else if let Ok(b) = raw.parse::<bool>() {
            toml::Value::Boolean(b)
        } else {
            toml::Value::String(raw)
        };
        let entry = table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section_table) = entry.as_table_mut() else {
            return Err(ConfigError::Value {
                key: section.to_owned(),
                reason: "must be a table".into(),
            });
        };
        section_table.insert(key, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load(text, env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    #[test]
    fn the_demo_region_loads_with_its_own_inbox() {
        let config = load(None, &[]).unwrap();
        assert_eq!(config.server.http.to_string(), "127.0.0.1:8080");
        assert_eq!(config.organizations.len(), 3);
        assert!(config.server.demo_inbox);
        let address = &config
            .organizations
            .iter()
            .find(|o| o.id == "de-linde")
            .unwrap()
            .endpoints[0]
            .address;
        assert_eq!(address, "http://127.0.0.1:8080/demo/inbox/de-linde");
    }

    #[test]
    fn an_export_mapping_is_a_built_in_name_or_a_file() {
        let builtin = load(Some("[formats]\necd_mapping = \"zorgdossier-wide\""), &[]).unwrap();
        assert_eq!(
            builtin.formats.ecd_mapping().unwrap().unwrap().name(),
            "zorgdossier-wide"
        );
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../adapters/ecd/mappings/carebook-json.toml"
        );
        let from_file = load(Some(&format!("[formats]\necd_mapping = {file:?}")), &[]).unwrap();
        assert!(from_file.formats.ecd_mapping().unwrap().is_some());
        assert!(load(None, &[]).unwrap().formats.ecd_mapping().unwrap().is_none());
    }

    #[test]
    fn the_template_loads() {
        let config = load(Some(TEMPLATE), &[]).unwrap();
        assert_eq!(config.organizations.len(), 2);
        assert_eq!(config.routes.len(), 1);
        assert!(!config.server.demo_inbox);
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = load(
            None,
            &[
                ("ZORGPOORT_SERVER_HTTP", "127.0.0.1:9999"),
                ("ZORGPOORT_DELIVERY_MAX_ATTEMPTS", "3"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.http.port(), 9999);
        assert_eq!(config.delivery.max_attempts, 3);
        let address = &config.organizations[2].endpoints[0].address;
        assert!(address.starts_with("http://127.0.0.1:9999/"), "{address}");
    }

    #[test]
    fn wrong_settings_name_the_key() {
        let err = |text: &str, env: &[(&str, &str)]| load(Some(text), env).unwrap_err().to_string();
        assert!(
            err("[server]\nhttp = \"nowhere\"", &[]).contains("server.http"),
            "{}",
            err("[server]\nhttp = \"nowhere\"", &[])
        );
        assert!(err("[server]\nport = 1", &[]).contains("unknown field `port`"));
        assert_eq!(
            err("[server]\ndurability = \"maybe\"", &[]),
            "server.durability: must be \"power-loss\" or \"process-crash\""
        );
        assert!(err("", &[("ZORGPOORT_NOPE", "1")]).starts_with("ZORGPOORT_NOPE: unknown setting"));
        assert!(err("", &[("ZORGPOORT_DELIVERY_CONCURRENCY", "0")]).starts_with("delivery.concurrency"));
        assert!(
            err("[formats]\necd_mapping = \"/nowhere/mapping.toml\"", &[])
                .starts_with("formats.ecd_mapping: \"/nowhere/mapping.toml\" is not a built-in mapping"),
            "{}",
            err("[formats]\necd_mapping = \"/nowhere/mapping.toml\"", &[])
        );
        let org = "[[organization]]\nid = \"a\"\nname = \"A\"\nkind = \"tandarts\"\n";
        assert!(err(org, &[]).starts_with("organization.kind: \"tandarts\" of \"a\""));
        let region = format!("[consent]\norganization_categories = [\"tandarts\"]\nbreak_the_glass_for = []\n\n{org}");
        assert!(load(Some(&region), &[]).is_ok(), "the region names its own categories");
        assert!(
            err("[consent]\nbreak_the_glass_for = [\"brandweer\"]", &[]).starts_with("consent.break_the_glass_for")
        );
    }
}
