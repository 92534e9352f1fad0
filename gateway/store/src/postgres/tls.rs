//! TLS to PostgreSQL through rustls (the gateway's one TLS library): the
//! server's certificate is checked against a configured CA and the host
//! name. No channel binding (SCRAM without `-PLUS`).

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, InvalidDnsNameError, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::StoreError;

/// Makes a TLS connection per database connection; without a CA it is
/// only handed out with `sslmode=disable`, where it is never used.
#[derive(Clone)]
pub(super) struct RustlsConnector(Option<Arc<rustls::ClientConfig>>);

impl RustlsConnector {
    /// Trusts the CA certificates in the PEM file `ca_file`, and no other.
    pub(super) fn with_ca_file(ca_file: &Path) -> Result<Self, StoreError> {
        let invalid = |reason: String| StoreError::Connection(format!("store.ca_file {}: {reason}", ca_file.display()));
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_file_iter(ca_file).map_err(|e| invalid(e.to_string()))? {
            let certificate = certificate.map_err(|e| invalid(e.to_string()))?;
            roots.add(certificate).map_err(|e| invalid(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(invalid("holds no certificate".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self(Some(Arc::new(config))))
    }

    /// For `sslmode=disable`.
    pub(super) fn plaintext() -> Self {
        Self(None)
    }
}

impl MakeTlsConnect<Socket> for RustlsConnector {
    type Stream = TlsStream;
    type TlsConnect = Connect;
    type Error = InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, InvalidDnsNameError> {
        Ok(Connect {
            config: self.0.clone(),
            server: ServerName::try_from(domain.to_owned())?,
        })
    }
}

/// One handshake.
pub(super) struct Connect {
    config: Option<Arc<rustls::ClientConfig>>,
    server: ServerName<'static>,
}

impl TlsConnect<Socket> for Connect {
    type Stream = TlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("TLS to PostgreSQL needs store.ca_file"))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(self.server, socket)
                .await?;
            Ok(TlsStream(stream))
        })
    }
}

/// A TLS connection to the database.
pub(super) struct TlsStream(tokio_rustls::client::TlsStream<Socket>);

impl tokio_postgres::tls::TlsStream for TlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
