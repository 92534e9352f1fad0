//! TLS for both listeners: rustls with the ring provider installed
//! explicitly, TLS 1.2 and 1.3 only. With a client CA configured, TLS is
//! mutual: a client certificate must chain to that CA and be registered to
//! an organisation of the region (by SHA-256 fingerprint), else the
//! connection is refused. Certificate and key files are re-read when they
//! change on disk, without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;
use zorgpoort_handover::Registry;

/// TLS settings (`[tls]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the server certificate chain.
    pub certificate: PathBuf,
    /// PEM file with the server's private key.
    pub private_key: PathBuf,
    /// PEM file with the CA(s) client certificates must chain to; turns on mutual TLS.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// How often the certificate files are checked for changes.
    #[serde(default = "default_reload_check_ms")]
    pub reload_check_ms: u64,
}

fn default_reload_check_ms() -> u64 {
    5_000
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The client CA cannot verify clients.
    #[error("tls.client_ca: {0}")]
    ClientCa(String),
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// No TLS, or TLS without client certificates.
    Anonymous,
    /// Mutual TLS: the registered organisation the certificate belongs to.
    Organization(String),
}

/// The TLS side of the listeners.
pub struct Tls {
    acceptor: TlsAcceptor,
    mutual: bool,
}

impl Tls {
    /// Loads the certificates and builds the server configuration.
    pub fn new(config: &TlsConfig) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let resolver = Arc::new(ReloadingCertificate::load(
            config.certificate.clone(),
            config.private_key.clone(),
            Arc::clone(&provider),
            Duration::from_millis(config.reload_check_ms),
        )?);
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
        let server = match &config.client_ca {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certificates(path)? {
                    roots.add(cert).map_err(|e| TlsError::ClientCa(e.to_string()))?;
                }
                // Anonymous handshakes are let through so HTTP callers can use
                // bearer tokens; `accept` decides per listener.
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .allow_unauthenticated()
                    .build()
                    .map_err(|e| TlsError::ClientCa(e.to_string()))?;
                builder.with_client_cert_verifier(verifier).with_cert_resolver(resolver)
            }
            None => builder.with_no_client_auth().with_cert_resolver(resolver),
        };
        let mut server = server;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            mutual: config.client_ca.is_some(),
        })
    }

    /// Whether clients must authenticate (mutual TLS is configured).
    pub fn is_mutual(&self) -> bool {
        self.mutual
    }

    /// Completes the handshake and names the peer; `None` when the peer is
    /// refused: the handshake failed, a client certificate is not registered,
    /// or there is none while `certificate_required` (MLLP has no tokens).
    pub async fn accept(
        &self,
        stream: tokio::net::TcpStream,
        registry: &Registry,
        certificate_required: bool,
    ) -> Option<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, Peer)> {
        let handshake = tokio::time::timeout(Duration::from_secs(10), self.acceptor.accept(stream)).await;
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::warn!(%error, "TLS handshake refused");
                return None;
            }
            Err(_) => {
                tracing::warn!("TLS handshake timed out");
                return None;
            }
        };
        if !self.mutual {
            return Some((stream, Peer::Anonymous));
        }
        let Some(certificate) = stream.get_ref().1.peer_certificates().and_then(|c| c.first()) else {
            if certificate_required {
                tracing::warn!("client without certificate refused");
                return None;
            }
            return Some((stream, Peer::Anonymous));
        };
        let fingerprint = fingerprint(certificate.as_ref());
        if let Some(org) = registry.by_certificate(&fingerprint) {
            let id = org.id.clone();
            return Some((stream, Peer::Organization(id)));
        }
        tracing::warn!(fingerprint, "client certificate not registered to an organisation");
        None
    }
}

/// SHA-256 of a DER certificate as lowercase hex, the form the registry uses.
pub fn fingerprint(der: &[u8]) -> String {
    zorgpoort_audit::sha256_hex(der)
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    zorgpoort_handover::upstream::pem_certificates(path).map_err(|reason| TlsError::File {
        path: path.to_owned(),
        reason,
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The server certificate, re-read when its files change.
struct ReloadingCertificate {
    certificate: PathBuf,
    private_key: PathBuf,
    provider: Arc<CryptoProvider>,
    check_every: Duration,
    checked: Mutex<(Instant, Option<SystemTime>, Option<SystemTime>)>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl ReloadingCertificate {
    fn load(
        certificate: PathBuf,
        private_key: PathBuf,
        provider: Arc<CryptoProvider>,
        check_every: Duration,
    ) -> Result<Self, TlsError> {
        let key = certified_key(&certificate, &private_key, &provider)?;
        let stamps = (Instant::now(), modified(&certificate), modified(&private_key));
        Ok(Self {
            certificate,
            private_key,
            provider,
            check_every,
            checked: Mutex::new(stamps),
            current: RwLock::new(Arc::new(key)),
        })
    }

    fn reload_if_changed(&self) {
        let Ok(mut checked) = self.checked.lock() else { return };
        if checked.0.elapsed() < self.check_every {
            return;
        }
        let stamps = (modified(&self.certificate), modified(&self.private_key));
        checked.0 = Instant::now();
        if (checked.1, checked.2) == stamps {
            return;
        }
        match certified_key(&self.certificate, &self.private_key, &self.provider) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = Arc::new(key);
                }
                (checked.1, checked.2) = stamps;
                tracing::info!(certificate = %self.certificate.display(), "TLS certificate reloaded");
            }
            // A half-written pair: keep serving the old one and look again later.
            Err(error) => tracing::warn!(%error, "TLS certificate not reloaded"),
        }
    }
}

fn certified_key(certificate: &Path, private_key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let chain = read_certificates(certificate)?;
    let key = PrivateKeyDer::from_pem_file(private_key).map_err(|e| TlsError::File {
        path: private_key.to_owned(),
        reason: e.to_string(),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::File {
            path: private_key.to_owned(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsError::File {
        path: private_key.to_owned(),
        reason: format!("does not match the certificate: {e}"),
    })?;
    Ok(certified)
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.reload_if_changed();
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}
