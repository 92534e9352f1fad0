//! The HTTP listeners: accepting connections, TLS and who the peer is,
//! HTTP/1.1 and HTTP/2 over them, and graceful shutdown. What a request
//! then meets is [`crate::router`]'s business; the MLLP listener is
//! [`super::mllp`].

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;
use zorgpoort_handover::Registry;

use super::tls::{Peer, Tls};
use crate::router::App;

/// Limits of an HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time allowed per request; headers must come within it, at most 10 s.
    pub request_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` turns true, then lets open
/// connections finish their requests. With TLS, every request carries the
/// [`Peer`] its connection authenticated as.
pub async fn serve(
    listener: TcpListener,
    app: App,
    tls: Option<Arc<Tls>>,
    registry: Arc<Registry>,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    // Headers must arrive within the request time limit, at most 10 s
    // (slow-loris guard); the time limit layer covers the rest.
    let header_timeout = limits.request_timeout.min(Duration::from_secs(10));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let (app, tls, registry, stop) = (app.clone(), tls.clone(), Arc::clone(&registry), shutdown.clone());
                connections.spawn(async move {
                    match tls {
                        Some(tls) => {
                            if let Some((stream, peer)) = tls.accept(tcp, &registry, false).await {
                                serve_connection(stream, app, peer, header_timeout, stop).await;
                            }
                        }
                        None => serve_connection(tcp, app, Peer::Anonymous, header_timeout, stop).await,
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn serve_connection<IO>(
    io: IO,
    app: App,
    peer: Peer,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(peer.clone());
        app.clone().oneshot(request.map(Body::new))
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
