//! The HTTP(S) client of a run: hyper over rustls (ring, TLS 1.2 and 1.3),
//! trusting the CA file given (no built-in roots: a vendor's test server
//! usually has a private CA), presenting a client certificate for mutual
//! TLS when one is given, a bearer token when one is given, and a timeout
//! on every request. It sends one request and hands back the whole
//! response; it knows nothing of `TestScripts`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The largest response body read, so a misbehaving server cannot exhaust
/// memory.
pub const MAX_BODY: usize = 32 << 20;

/// How the client connects.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// PEM file with the CA(s) the server's certificate must chain to.
    pub ca: Option<PathBuf>,
    /// PEM file with the client certificate chain (mutual TLS).
    pub client_certificate: Option<PathBuf>,
    /// PEM file with its private key.
    pub client_key: Option<PathBuf>,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

/// Why the client could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A client certificate without its key or the other way round.
    #[error("a client certificate needs its key, and a key its certificate")]
    HalfIdentity,
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The method, URL or a header is not valid HTTP.
    #[error("not a valid request: {0}")]
    Invalid(String),
    /// Connecting, TLS or the exchange failed (the message leaves the URL
    /// to the caller, who shows it with the request).
    #[error("{reason}")]
    Transport {
        /// The URL.
        url: String,
        /// Why, with its causes.
        reason: String,
    },
    /// No complete response within the timeout.
    #[error("{url}: no response within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A client for one run; cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    token: Option<String>,
    timeout: Duration,
}

impl HttpClient {
    /// A client after `options`, giving up on a request after `timeout`.
    pub fn new(options: &ClientOptions, timeout: Duration) -> Result<Self, ClientError> {
        let mut roots = RootCertStore::empty();
        if let Some(path) = &options.ca {
            for certificate in certificates(path)? {
                roots.add(certificate)?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let tls = match (&options.client_certificate, &options.client_key) {
            (Some(chain), Some(key)) => {
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ClientError::File {
                    path: key.clone(),
                    reason: e.to_string(),
                })?;
                builder.with_client_auth_cert(certificates(chain)?, key)?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(ClientError::HalfIdentity),
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            token: options.token.clone(),
            timeout,
        })
    }

    /// The headers every request carries unless the script sets them.
    pub fn default_headers(&self) -> Vec<(String, String)> {
        self.token
            .iter()
            .map(|token| ("Authorization".to_owned(), format!("Bearer {token}")))
            .collect()
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, RequestError> {
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = Full::new(Bytes::from(request.body.clone().unwrap_or_default()));
        let built = builder.body(body).map_err(|e| RequestError::Invalid(e.to_string()))?;
        let transport = |error: &dyn std::error::Error| RequestError::Transport {
            url: request.url.clone(),
            reason: with_causes(error),
        };
        let exchange = async {
            let response = self.client.request(built).await.map_err(|e| transport(&e))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| transport(e.as_ref()))?
                .to_bytes()
                .to_vec();
            Ok(HttpResponse { status, headers, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| RequestError::Timeout {
                url: request.url.clone(),
                timeout: self.timeout,
            })?
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let file = |reason: String| ClientError::File {
        path: path.to_owned(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| file(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file(e.to_string()))?;
    if certificates.is_empty() {
        return Err(file("no PEM certificate in the file".to_owned()));
    }
    Ok(certificates)
}

/// An error and its sources on one line: hyper's own message ("client
/// error (Connect)") says little without them.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
