//! The MLLP listener: frames are `0x0B message 0x1C 0x0D`; every frame gets
//! an ACK. AA only once the message is durably stored (a resend of a stored
//! message is acknowledged again, not processed twice); AE with an ERR
//! segment naming the field when the content is wrong; AR when the gateway
//! cannot take it now (overload, store down).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_hl7v2::framing::{MLLP_END, MLLP_START};
use zorgpoort_hl7v2::{AckCode, AckRequest, Error, ErrorKind, Limits, Message, ack, ack_unparsed};
use zorgpoort_model::datatypes::PartialDateTime;
use zorgpoort_store::Store;

use crate::intake::{Intake, IntakeError};
use crate::metrics::Metrics;
use crate::tls::Tls;
use zorgpoort_handover::Registry;

/// Settings of the MLLP listener.
#[derive(Debug, Clone, Copy)]
pub struct MllpLimits {
    /// Largest frame.
    pub max_frame_bytes: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Messages processed at once; more are answered AR.
    pub max_in_flight: usize,
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
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = Connection {
                        intake: Arc::clone(&intake),
                        metrics: Arc::clone(&metrics),
                        slots: Arc::clone(&slots),
                        limits,
                        peer,
                    };
                    let _ = stream.set_nodelay(true);
                    let (tls, stop) = (tls.clone(), shutdown.clone());
                    connections.spawn(async move {
                        match tls {
                            Some((tls, registry)) => {
                                if let Some((stream, _peer)) = tls.accept(stream, &registry, true).await {
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

struct Connection<S> {
    intake: Arc<Intake<S>>,
    metrics: Arc<Metrics>,
    slots: Arc<Semaphore>,
    limits: MllpLimits,
    peer: SocketAddr,
}

/// What the buffer holds at its start.
enum Frame {
    /// A whole message (between the framing bytes) and the bytes it used.
    Complete(Vec<u8>, usize),
    /// Not yet all there.
    Partial,
    /// Larger than allowed.
    TooLarge,
}

fn next_frame(buffer: &mut Vec<u8>, max: usize) -> Frame {
    // Bytes before a start block are noise between frames.
    if let Some(start) = buffer.iter().position(|&b| b == MLLP_START) {
        drop(buffer.drain(..start));
    } else {
        buffer.clear();
        return Frame::Partial;
    }
    let end = buffer.windows(2).position(|w| w[0] == MLLP_END && w[1] == b'\r');
    match end {
        Some(end) if end - 1 > max => Frame::TooLarge,
        Some(end) => Frame::Complete(buffer[1..end].to_vec(), end + 2),
        None if buffer.len() > max + 3 => Frame::TooLarge,
        None => Frame::Partial,
    }
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
        let mut buffer = Vec::with_capacity(8192);
        let mut chunk = vec![0; 64 * 1024];
        loop {
            loop {
                match next_frame(&mut buffer, self.limits.max_frame_bytes) {
                    Frame::Complete(message, used) => {
                        buffer.drain(..used);
                        let reply = self.handle(&message).await;
                        if stream.write_all(&framed(&reply)).await.is_err() {
                            return;
                        }
                    }
                    Frame::Partial => break,
                    Frame::TooLarge => {
                        let limit = self.limits.max_frame_bytes;
                        let error = Error::new(ErrorKind::TooLarge {
                            size: buffer.len(),
                            limit,
                        });
                        let reply = ack_unparsed(&error, &ack_control_id(), &hl7_now());
                        self.metrics
                            .increment("zorgpoort_mllp_messages_total", &[("ack", "AE")]);
                        // The stream cannot be resynchronised reliably: answer and close.
                        let _ = stream.write_all(&framed(&reply)).await;
                        return;
                    }
                }
            }
            let read = tokio::select! {
                _ = shutdown.changed() => return,
                read = tokio::time::timeout(self.limits.idle_timeout, stream.read(&mut chunk)) => read,
            };
            match read {
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
                Err(_) => {
                    tracing::info!(peer = %self.peer, "closing idle MLLP connection");
                    return;
                }
            }
        }
    }

    /// The ACK for one message.
    async fn handle(&self, bytes: &[u8]) -> String {
        let (code, error) = match self.slots.try_acquire() {
            Err(_) => (AckCode::Reject, Some(Error::new(ErrorKind::Overloaded))),
            Ok(_slot) => match self.intake.accept_hl7v2(bytes, now_ms()).await {
                Ok(received) => {
                    tracing::info!(message = %received.id, duplicate = received.duplicate, "MLLP message accepted");
                    (AckCode::Accept, None)
                }
                Err(IntakeError::Content(error)) => (AckCode::Error, Some(error)),
                Err(IntakeError::Nonconformant(findings)) => {
                    let kind = ErrorKind::Nonconformant(findings.to_string());
                    (AckCode::Error, Some(Error::new(kind)))
                }
                Err(IntakeError::Store(error)) => {
                    tracing::error!(%error, "store unavailable; answering AR");
                    (AckCode::Reject, Some(Error::new(ErrorKind::Unavailable)))
                }
            },
        };
        let label = match code {
            AckCode::Accept => "AA",
            AckCode::Error => "AE",
            AckCode::Reject => "AR",
        };
        self.metrics
            .increment("zorgpoort_mllp_messages_total", &[("ack", label)]);
        let (control_id, timestamp) = (ack_control_id(), hl7_now());
        match Message::parse(
            bytes,
            &Limits {
                max_message_bytes: usize::MAX,
                ..Limits::default()
            },
        ) {
            Ok(message) => ack(
                &message,
                AckRequest {
                    code,
                    error: error.as_ref(),
                    control_id: &control_id,
                    timestamp: &timestamp,
                },
            ),
            Err(parse_error) => ack_unparsed(error.as_ref().unwrap_or(&parse_error), &control_id, &timestamp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_at_the_end_block() {
        let mut buffer = b"noise\x0bMSH|a\x1c\r\x0bMSH|b".to_vec();
        let Frame::Complete(first, used) = next_frame(&mut buffer, 100) else {
            panic!("first frame")
        };
        assert_eq!(first, b"MSH|a");
        buffer.drain(..used);
        assert!(matches!(next_frame(&mut buffer, 100), Frame::Partial));
        buffer.extend_from_slice(b"\x1c\r");
        assert!(matches!(next_frame(&mut buffer, 100), Frame::Complete(ref m, _) if m == b"MSH|b"));
        let mut big = vec![MLLP_START];
        big.extend(std::iter::repeat_n(b'x', 200));
        assert!(matches!(next_frame(&mut big, 100), Frame::TooLarge));
    }
}
