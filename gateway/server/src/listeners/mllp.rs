//! The MLLP listener: frames are `0x0B message 0x1C 0x0D`; every frame gets
//! an ACK. AA only once the message is durably stored (a resend of a stored
//! message is acknowledged again, not processed twice); AE with an ERR
//! segment naming the field when the content is wrong (also a frame that
//! holds more than one message, data without a start block, a control id
//! reused with other content); AR when the gateway cannot take it now
//! (overload, store down) or will not (under mutual TLS, a message whose
//! sender MSH-3/MSH-4 is not the certificate's organisation's).
//!
//! Open connections are capped (`server.mllp_max_connections`): past the
//! cap a connection is closed at once, with a log line, so idle or hostile
//! clients cannot use up the process's file descriptors and take the HTTP
//! listener (and `/healthz`) down with them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_hl7v2::framing::{MLLP_END, MLLP_START};
use zorgpoort_hl7v2::{
    AckCode, AckRequest, Error, ErrorKind, Limits, Message, MllpDecoder, MllpItem, Splitter, ack, ack_unparsed,
};
use zorgpoort_model::datatypes::PartialDateTime;
use zorgpoort_store::Store;

use crate::intake::{Intake, IntakeError};
use crate::listeners::tls::{Peer, Tls};
use zorgpoort_handover::Registry;
use zorgpoort_metrics::{Metrics, catalogue};

/// Settings of the MLLP listener.
#[derive(Debug, Clone, Copy)]
pub struct MllpLimits {
    /// Largest frame.
    pub max_frame_bytes: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Messages processed at once; more are answered AR.
    pub max_in_flight: usize,
    /// Connections open at once; more are closed as they come.
    pub max_connections: usize,
}

/// Serves MLLP until `shutdown` turns true; open connections finish the
/// message in hand and close.
pub async fn serve<S: Store>(
    listener: TcpListener,
    intake: Arc<Intake<S>>,
    metrics: Arc<Metrics>,
    limits: MllpLimits,
    tls: Option<(Arc<Tls>, Arc<Registry>)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_in_flight));
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let mut refusals = Refusals::default();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Taken before the TLS handshake: a handshake holds a descriptor too.
                    let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                        metrics.increment(&catalogue::MLLP_CONNECTIONS_REFUSED, &[]);
                        refusals.note(peer, limits.max_connections);
                        drop(stream);
                        continue;
                    };
                    let mut connection = Connection {
                        intake: Arc::clone(&intake),
                        metrics: Arc::clone(&metrics),
                        slots: Arc::clone(&slots),
                        limits,
                        peer,
                        origin: None,
                    };
                    let _ = stream.set_nodelay(true);
                    let (tls, stop) = (tls.clone(), shutdown.clone());
                    connections.spawn(async move {
                        let _permit = permit;
                        match tls {
                            Some((tls, registry)) => {
                                if let Some((stream, peer)) = tls.accept(stream, &registry, true).await {
                                    if let Peer::Organization(id) = peer {
                                        connection.origin = Some(id);
                                    }
                                    connection.run(stream, stop).await;
                                }
                            }
                            None => connection.run(stream, stop).await,
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "MLLP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Connections refused at the cap, logged at most once a second so a flood
/// of connections does not become a flood of log lines.
#[derive(Default)]
struct Refusals {
    since_logged: u64,
    logged: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, peer: SocketAddr, cap: usize) {
        self.since_logged += 1;
        if self.logged.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        tracing::warn!(
            %peer,
            refused = self.since_logged,
            cap,
            "MLLP connection closed: {cap} connections are open, the most server.mllp_max_connections allows"
        );
        self.since_logged = 0;
        self.logged = Some(Instant::now());
    }
}

struct Connection<S> {
    intake: Arc<Intake<S>>,
    metrics: Arc<Metrics>,
    slots: Arc<Semaphore>,
    limits: MllpLimits,
    peer: SocketAddr,
    /// The organisation of the client certificate, under mutual TLS.
    origin: Option<String>,
}

static ACK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique control id for an ACK (MSH-10 allows 20 characters in v2.3).
fn ack_control_id() -> String {
    let n = ACK_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("ZP{:x}{:x}", now_ms() % 0x1_0000_0000, n % 0x10_0000)
}

/// Now as an HL7 DTM in UTC.
fn hl7_now() -> String {
    let t = PartialDateTime::from_unix_ms(now_ms());
    let (h, m, s) = t.time.unwrap_or_default();
    format!(
        "{:04}{:02}{:02}{h:02}{m:02}{s:02}+0000",
        t.year,
        t.month.unwrap_or(1),
        t.day.unwrap_or(1)
    )
}

fn framed(ack: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(ack.len() + 3);
    out.push(MLLP_START);
    out.extend_from_slice(ack.as_bytes());
    out.extend_from_slice(&[MLLP_END, b'\r']);
    out
}

impl<S: Store> Connection<S> {
    async fn run<IO: AsyncRead + AsyncWrite + Unpin>(self, mut stream: IO, mut shutdown: watch::Receiver<bool>) {
        let mut decoder = MllpDecoder::new(self.limits.max_frame_bytes);
        let mut chunk = vec![0; 64 * 1024];
        loop {
            while let Some(item) = decoder.next_item() {
                let reply = match item {
                    MllpItem::Frame(message) => self.handle(&message).await,
                    MllpItem::Unframed(bytes) => {
                        tracing::warn!(peer = %self.peer, bytes = bytes.len(), "MLLP data without a start block; answered AE");
                        self.count("AE");
                        reply(&bytes, AckCode::Error, Some(&Error::new(ErrorKind::Unframed)), None)
                    }
                    MllpItem::Noise(bytes) => {
                        tracing::warn!(peer = %self.peer, bytes, "MLLP bytes outside a frame dropped before a start block");
                        continue;
                    }
                    MllpItem::TooLarge { size } => {
                        let limit = self.limits.max_frame_bytes;
                        let error = Error::new(ErrorKind::TooLarge { size, limit });
                        let reply = ack_unparsed(&error, &ack_control_id(), &hl7_now());
                        self.count("AE");
                        // The stream cannot be resynchronised reliably: answer and close.
                        let _ = stream.write_all(&framed(&reply)).await;
                        return;
                    }
                };
                if stream.write_all(&framed(&reply)).await.is_err() {
                    return;
                }
            }
            let read = tokio::select! {
                _ = shutdown.changed() => return,
                read = tokio::time::timeout(self.limits.idle_timeout, stream.read(&mut chunk)) => read,
            };
            match read {
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(n)) => decoder.push(&chunk[..n]),
                Err(_) => {
                    tracing::info!(peer = %self.peer, "closing idle MLLP connection");
                    return;
                }
            }
        }
    }

    fn count(&self, ack: &'static str) {
        self.metrics.increment(&catalogue::MLLP_MESSAGES, &[ack]);
    }

    /// The ACK for one message, counted and timed.
    async fn handle(&self, bytes: &[u8]) -> String {
        let started = Instant::now();
        let (ack, reply) = self.answer(bytes).await;
        self.count(ack);
        self.metrics
            .observe(&catalogue::MLLP_ACK_SECONDS, &[ack], started.elapsed());
        reply
    }

    /// The ACK code and ACK for one message.
    async fn answer(&self, bytes: &[u8]) -> (&'static str, String) {
        let outcome = match self.slots.try_acquire() {
            Err(_) => Err((AckCode::Reject, Some(Error::new(ErrorKind::Overloaded)))),
            Ok(_slot) => match self.intake.accept_hl7v2(bytes, now_ms(), self.origin.as_deref()).await {
                Ok(received) => {
                    tracing::info!(message_id = %received.id, duplicate = received.duplicate, "MLLP message accepted");
                    // MSA-3 only when someone should look: nothing will reach anyone.
                    let noteworthy = !received.duplicate && received.receivers.is_empty();
                    Ok(noteworthy.then(|| received.summary()))
                }
                Err(IntakeError::Store(error)) => {
                    tracing::error!(%error, "store unavailable; answering AR");
                    Err((AckCode::Reject, Some(Error::new(ErrorKind::Unavailable))))
                }
                Err(error @ IntakeError::ForeignSender { .. }) => {
                    tracing::warn!(peer = %self.peer, %error, "MLLP message refused");
                    Err((AckCode::Reject, error.to_hl7v2()))
                }
                Err(error) => Err((AckCode::Error, error.to_hl7v2())),
            },
        };
        match outcome {
            Ok(summary) => ("AA", reply(bytes, AckCode::Accept, None, summary.as_deref())),
            Err((code, error)) => {
                let ack = if code == AckCode::Reject { "AR" } else { "AE" };
                (ack, reply(bytes, code, error.as_ref(), None))
            }
        }
    }
}

/// The ACK for `bytes`: addressed from its MSH when that parses (the first
/// message's, when the frame holds several), else a bare one.
fn reply(bytes: &[u8], code: AckCode, error: Option<&Error>, text: Option<&str>) -> String {
    let limits = Limits {
        max_message_bytes: usize::MAX,
        ..Limits::default()
    };
    let first;
    let parsed = match Message::parse(bytes, &limits) {
        Err(e) if matches!(e.kind, ErrorKind::AnotherMessage { .. }) => {
            first = first_message(bytes);
            Message::parse(&first, &limits)
        }
        parsed => parsed,
    };
    let (control_id, timestamp) = (ack_control_id(), hl7_now());
    match parsed {
        Ok(message) => ack(
            &message,
            AckRequest {
                code,
                error,
                control_id: &control_id,
                timestamp: &timestamp,
                text,
            },
        ),
        Err(parse_error) => ack_unparsed(error.unwrap_or(&parse_error), &control_id, &timestamp),
    }
}

/// The first message of bytes that hold several.
fn first_message(bytes: &[u8]) -> Vec<u8> {
    let mut splitter = Splitter::new(usize::MAX);
    splitter.push(bytes);
    match splitter.next_frame() {
        Some(Ok(frame)) => frame.bytes,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_of_several_messages_is_answered_for_the_first() {
        let two = b"MSH|^~\\&|HIS|RIJN|||20261124||ADT^A01|M1|P|2.5\rPID|1\rMSH|^~\\&|HIS|RIJN|||20261124||ADT^A03|M2|P|2.5\r";
        let error = Message::parse(two, &Limits::default()).unwrap_err();
        let text = reply(two, AckCode::Error, Some(&error), None);
        assert!(text.contains("\rMSA|AE|M1\r"), "{text}");
        assert!(text.contains("ERR||MSH^2|100^Segment sequence error"), "{text}");
        assert!(text.contains("segment 3 is a second MSH"), "{text}");
    }
}
