//! `zorgpoort send`: an MLLP client that sends the messages of files to a
//! gateway (or any MLLP receiver) one at a time and reports each ACK; over
//! TLS or mutual TLS when asked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rustls::pki_types::{PrivateKeyDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use zorgpoort_handover::upstream::pem_certificates;
use zorgpoort_hl7v2::framing::{MLLP_END, MLLP_START};
use zorgpoort_hl7v2::{Limits, Message, Splitter};

/// Arguments of `zorgpoort send`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: zorgpoort send --to 127.0.0.1:2575 admissions.hl7
Over mutual TLS: zorgpoort send --to gateway.regio.example:2575 --ca regio-ca.pem \
    --client-cert ziekenhuis.pem --client-key ziekenhuis.key admissions.hl7
Exit status: 0 when every message got AA, 1 otherwise.")]
pub struct SendArgs {
    /// The MLLP receiver.
    #[arg(long, default_value = "127.0.0.1:2575", value_name = "HOST:PORT")]
    to: String,
    /// Seconds to wait for each ACK.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Print only the summary, not a line per message.
    #[arg(long, short)]
    quiet: bool,
    /// Speak MLLP over TLS; needs --ca (implied by --ca and --client-cert).
    #[arg(long)]
    tls: bool,
    /// PEM file of the certificate authorities the receiver's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// PEM file of this sender's certificate chain, for mutual TLS (with --client-key).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// PEM file of the private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// The name the receiver's certificate must carry (default: the host of --to).
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// Files of HL7 v2 messages (several per file, optionally framed).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// The connection to the receiver: plain TCP or TLS over it.
trait Connection: Read + Write {}
impl<T: Read + Write> Connection for T {}

/// Connects as the arguments say.
fn connect(args: &SendArgs) -> Result<Box<dyn Connection>> {
    let stream = TcpStream::connect(&args.to).with_context(|| format!("cannot connect to {}", args.to))?;
    stream.set_read_timeout(Some(Duration::from_secs(args.timeout)))?;
    stream.set_nodelay(true)?;
    let tls = args.tls || args.ca.is_some() || args.client_cert.is_some();
    if !tls {
        return Ok(Box::new(stream));
    }
    let config = tls_config(args)?;
    let host = match &args.server_name {
        Some(name) => name.as_str(),
        None => host_of(&args.to),
    };
    let name = ServerName::try_from(host.to_owned())
        .with_context(|| format!("{host:?} is not a DNS name or IP address (use --server-name)"))?;
    let mut connection = ClientConnection::new(Arc::new(config), name).context("TLS set-up")?;
    let mut stream = stream;
    // Shaken hands now, so that a refused certificate is reported as such.
    // (Under TLS 1.3 a refused client certificate shows on the first read.)
    while connection.is_handshaking() {
        connection
            .complete_io(&mut stream)
            .with_context(|| format!("TLS handshake with {} failed", args.to))?;
    }
    Ok(Box::new(StreamOwned::new(connection, stream)))
}

/// The host part of `HOST:PORT` (`[::1]:2575` included).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn tls_config(args: &SendArgs) -> Result<ClientConfig> {
    let Some(ca) = &args.ca else {
        bail!("--tls needs --ca FILE: the certificate authorities the receiver's certificate must chain to");
    };
    let mut roots = RootCertStore::empty();
    for certificate in pem_file(ca, pem_certificates)? {
        roots
            .add(certificate)
            .with_context(|| format!("--ca {}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match (&args.client_cert, &args.client_key) {
        (Some(chain), Some(key)) => {
            let chain = pem_file(chain, pem_certificates)?;
            let key = pem_file(key, |path| {
                PrivateKeyDer::from_pem_file(path).map_err(|e| e.to_string())
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .context("--client-cert and --client-key do not make a usable identity")?
        }
        // clap makes sure the two come together.
        _ => builder.with_no_client_auth(),
    })
}

fn pem_file<T>(path: &Path, read: impl FnOnce(&Path) -> Result<T, String>) -> Result<T> {
    read(path).map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))
}

/// Sends every message and waits for its ACK before the next.
pub fn run(args: &SendArgs) -> Result<ExitCode> {
    let mut stream = connect(args)?;
    let (mut accepted, mut refused) = (0usize, 0usize);
    let mut buffer = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut splitter = Splitter::new(Limits::default().max_message_bytes);
        splitter.push(&bytes);
        let mut frames = Vec::new();
        while let Some(frame) = splitter.next_frame() {
            frames.push(frame);
        }
        frames.extend(splitter.finish());
        for frame in frames {
            let frame = frame.with_context(|| path.display().to_string())?;
            let mut out = Vec::with_capacity(frame.bytes.len() + 3);
            out.push(MLLP_START);
            out.extend_from_slice(&frame.bytes);
            out.extend_from_slice(&[MLLP_END, b'\r']);
            stream
                .write_all(&out)
                .and_then(|()| stream.flush())
                .context("connection lost while sending")?;
            let ack = read_ack(&mut stream, &mut buffer)?;
            let parsed = Message::parse(&ack, &Limits::default()).context("unreadable ACK")?;
            let msa = parsed.segment("MSA");
            let code = msa
                .and_then(|s| s.field(1).text())
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            if code == "AA" || code == "CA" {
                accepted += 1;
            } else {
                refused += 1;
            }
            if !args.quiet || code != "AA" {
                let error = parsed
                    .segment("ERR")
                    .and_then(|e| e.field(8).text())
                    .map(std::borrow::Cow::into_owned);
                let place = parsed.segment("ERR").map(|e| {
                    let loc = e.field(2);
                    [loc.text_of(1), loc.text_of(3)]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("-")
                });
                outln!(
                    "{}: msg {}: {code}{}{}",
                    path.display(),
                    frame.number,
                    place
                        .filter(|p| !p.is_empty())
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default(),
                    error.map(|e| format!(": {e}")).unwrap_or_default()
                )?;
            }
        }
    }
    outln!("{accepted} accepted (AA), {refused} not accepted")?;
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads one framed ACK.
fn read_ack(stream: &mut impl Read, buffer: &mut Vec<u8>) -> Result<Vec<u8>> {
    let mut chunk = [0; 4096];
    loop {
        if let Some(start) = buffer.iter().position(|&b| b == MLLP_START) {
            if let Some(end) = buffer[start..].windows(2).position(|w| w == [MLLP_END, b'\r']) {
                let ack = buffer[start + 1..start + end].to_vec();
                buffer.drain(..start + end + 2);
                return Ok(ack);
            }
        }
        let n = stream.read(&mut chunk).context("no ACK")?;
        if n == 0 {
            bail!("the receiver closed the connection before acknowledging");
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}
