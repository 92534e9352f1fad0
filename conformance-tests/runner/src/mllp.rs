//! zorgpoort's own `TestScript` step `mllp-send`: one HL7 v2 message over
//! MLLP (0x0B, the message, 0x1C 0x0D) to a listener, and the ACK back.
//! The framing lives here; of the ACK only what asserts need is read: the
//! MSA and ERR fields, as pseudo response headers (`MSA-1`, `ERR-3`), so a
//! script asserts on them with `headerField`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const START: u8 = 0x0B;
const END: [u8; 2] = [0x1C, 0x0D];
/// The largest ACK read.
const MAX_ACK: usize = 1 << 20;

/// Why no ACK came.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MllpError {
    /// Connecting, writing or reading failed.
    #[error("MLLP {target}: {source}")]
    Io {
        /// `host:port`.
        target: String,
        /// Why.
        source: std::io::Error,
    },
    /// Nothing complete within the timeout.
    #[error("MLLP {target}: no ACK within {timeout:?}")]
    Timeout {
        /// `host:port`.
        target: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The connection closed before a whole frame came.
    #[error("MLLP {target}: the connection closed before a complete ACK frame ({received} bytes received)")]
    Closed {
        /// `host:port`.
        target: String,
        /// How much arrived.
        received: usize,
    },
    /// More than [`MAX_ACK`] bytes without the end of a frame.
    #[error("MLLP {target}: no end of frame in the first {MAX_ACK} bytes")]
    TooLong {
        /// `host:port`.
        target: String,
    },
}

/// `message` framed for MLLP; segment separators are normalised to `\r`.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(message.len() + 3);
    framed.push(START);
    let mut bytes = message.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\r' if bytes.peek() == Some(&b'\n') => {}
            b'\n' => framed.push(b'\r'),
            other => framed.push(other),
        }
    }
    if framed.last() != Some(&b'\r') {
        framed.push(b'\r');
    }
    framed.extend_from_slice(&END);
    framed
}

/// Sends `wire` (already framed, or deliberately not) to `target` and
/// reads one frame back, unframed.
pub async fn exchange(target: &str, wire: &[u8], timeout: Duration) -> Result<Vec<u8>, MllpError> {
    let io = |source| MllpError::Io {
        target: target.to_owned(),
        source,
    };
    let exchange = async {
        let mut stream = TcpStream::connect(target).await.map_err(io)?;
        stream.write_all(wire).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let read = stream.read(&mut buffer).await.map_err(io)?;
            if read == 0 {
                return Err(MllpError::Closed {
                    target: target.to_owned(),
                    received: received.len(),
                });
            }
            received.extend_from_slice(&buffer[..read]);
            if let Some(end) = received.windows(2).position(|pair| pair == END) {
                let start = received.iter().position(|&b| b == START).map_or(0, |p| p + 1);
                return Ok(received[start.min(end)..end].to_vec());
            }
            if received.len() > MAX_ACK {
                return Err(MllpError::TooLong {
                    target: target.to_owned(),
                });
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| MllpError::Timeout {
            target: target.to_owned(),
            timeout,
        })?
}

/// The fields of an ACK's MSA and first ERR segment as `(name, value)`
/// pairs: `MSA-1` (AA/AE/AR/CA/CE/CR), `MSA-2` (the control id
/// acknowledged), `MSA-3` (text), and `ERR-1`...`ERR-8`; also `MSH-9` and
/// `MSH-10`. Fields that are absent or empty are left out.
pub fn ack_fields(ack: &str) -> Vec<(String, String)> {
    let field_separator = ack
        .strip_prefix("MSH")
        .and_then(|rest| rest.chars().next())
        .unwrap_or('|');
    let mut fields = Vec::new();
    let mut seen_err = false;
    for segment in ack.split(['\r', '\n']).filter(|s| !s.is_empty()) {
        let mut values: Vec<&str> = segment.split(field_separator).collect();
        let name = values.first().copied().unwrap_or_default();
        let wanted: &[usize] = match name {
            // MSH-1 is the separator itself, so MSH-n is at index n - 1.
            "MSH" => {
                values.insert(1, "");
                &[9, 10]
            }
            "MSA" => &[1, 2, 3],
            "ERR" if !seen_err => {
                seen_err = true;
                &[1, 2, 3, 4, 5, 6, 7, 8]
            }
            _ => &[],
        };
        for &n in wanted {
            if let Some(value) = values.get(n).filter(|v| !v.is_empty()) {
                fields.push((format!("{name}-{n}"), (*value).to_owned()));
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_wraps_and_normalises_segment_ends() {
        assert_eq!(frame(b"MSH|a\nPID|b\n"), b"\x0bMSH|a\rPID|b\r\x1c\x0d");
        assert_eq!(frame(b"MSH|a\r\nPID|b"), b"\x0bMSH|a\rPID|b\r\x1c\x0d");
    }

    #[test]
    fn ack_fields_reads_msa_and_err() {
        let ack = "MSH|^~\\&|GW|ZP|HIS|OG|20261207||ACK^A01^ACK|ack-1|P|2.5\rMSA|AE|msg-1|bad PID\rERR||PID^1^3|101^Required field missing^HL70357|E";
        let fields = ack_fields(ack);
        let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("MSH-9"), Some("ACK^A01^ACK"));
        assert_eq!(get("MSH-10"), Some("ack-1"));
        assert_eq!(get("MSA-1"), Some("AE"));
        assert_eq!(get("MSA-2"), Some("msg-1"));
        assert_eq!(get("MSA-3"), Some("bad PID"));
        assert_eq!(get("ERR-2"), Some("PID^1^3"));
        assert_eq!(get("ERR-3"), Some("101^Required field missing^HL70357"));
        assert_eq!(get("ERR-1"), None);
    }
}
