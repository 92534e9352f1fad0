//! A FHIR receiver on loopback and a fresh store, for the delivery and
//! handover tests.
#![allow(clippy::unwrap_used, dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zorgpoort_handover::{Upstream, UpstreamConfig};
use zorgpoort_store::{Durability, SqliteStore};

/// A receiver answering with the statuses given, in turn (the last repeats),
/// recording the bodies it was sent.
pub struct Receiver {
    pub address: SocketAddr,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

pub fn receiver_on(listener: TcpListener, statuses: Vec<u16>) -> Receiver {
    let address = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    tokio::spawn(async move {
        let mut turn = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let status = statuses[turn.min(statuses.len() - 1)];
            turn += 1;
            let mut request = Vec::new();
            let mut buffer = [0; 8192];
            let body = loop {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break Some(body.to_owned());
                    }
                }
            };
            if let Some(body) = body {
                if status < 300 {
                    seen.lock().unwrap().push(body);
                }
                let answer = if status == 400 {
                    "{\"resourceType\":\"OperationOutcome\"}"
                } else {
                    ""
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
            }
        }
    });
    Receiver { address, bodies }
}

pub async fn receiver(statuses: Vec<u16>) -> Receiver {
    receiver_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), statuses)
}

pub fn store(name: &str) -> SqliteStore {
    let dir = std::env::temp_dir().join(format!("zorgpoort-handover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    SqliteStore::open(&dir.join("db"), Durability::ProcessCrash).unwrap()
}

/// A client for plain HTTP, as the tests' receivers speak.
pub fn client() -> Upstream {
    Upstream::new(&UpstreamConfig::default(), std::time::Duration::from_secs(2)).unwrap()
}
