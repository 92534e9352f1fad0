//! The one HTTP client for everything the gateway sends on: deliveries,
//! handover notifications and proxied reads. Connections are pooled per
//! host. `https` goes over rustls (ring provider, TLS 1.2 and 1.3) trusting
//! only the region's CA(s) from the configuration, and presents the
//! gateway's own client certificate when one is configured: mutual TLS to
//! the upstream. Without a CA, `https` upstreams cannot be reached, and say so.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, Error as ClientError};
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// How the gateway reaches upstreams (`[upstream]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// PEM file with the CA(s) upstream servers' certificates must chain to.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// PEM file with the gateway's client certificate chain, for mutual TLS.
    #[serde(default)]
    pub client_certificate: Option<PathBuf>,
    /// PEM file with that certificate's private key.
    #[serde(default)]
    pub client_private_key: Option<PathBuf>,
}

/// Why the client cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// A file could not be read or holds no usable PEM.
    #[error("upstream.{key}: {path}: {reason}")]
    File {
        /// The setting.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A client certificate without its key, or the other way round.
    #[error("upstream: client_certificate and client_private_key go together")]
    HalfIdentity,
    /// rustls refused the configuration.
    #[error("upstream TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

fn certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, UpstreamError> {
    pem_certificates(path).map_err(|reason| UpstreamError::File {
        key,
        path: path.to_owned(),
        reason,
    })
}

/// The certificates of a PEM file, or why it has none: for the gateway's
/// client side here and for its listeners alike.
pub fn pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certificates.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    Ok(certificates)
}

/// A pooled HTTP(S) client; cheap to clone.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    /// A client after `config`, connecting within `connect_timeout`.
    pub fn new(config: &UpstreamConfig, connect_timeout: Duration) -> Result<Self, UpstreamError> {
        let mut roots = RootCertStore::empty();
        if let Some(path) = &config.ca {
            for certificate in certificates("ca", path)? {
                roots.add(certificate)?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let tls = match (&config.client_certificate, &config.client_private_key) {
            (Some(chain), Some(key)) => {
                let chain = certificates("client_certificate", chain)?;
                let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| UpstreamError::File {
                    key: "client_private_key",
                    path: key.clone(),
                    reason: e.to_string(),
                })?;
                builder.with_client_auth_cert(chain, private_key)?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(UpstreamError::HalfIdentity),
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self { client })
    }

    /// Sends a request.
    pub async fn request(&self, request: Request<Full<Bytes>>) -> Result<Response<Incoming>, ClientError> {
        self.client.request(request).await
    }
}
