//! `zorgpoort send`: an MLLP client that sends the messages of files to a
//! gateway (or any MLLP receiver) one at a time and reports each ACK.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use zorgpoort_hl7v2::framing::{MLLP_END, MLLP_START};
use zorgpoort_hl7v2::{Limits, Message, Splitter};

/// Arguments of `zorgpoort send`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: zorgpoort send --to 127.0.0.1:2575 admissions.hl7\n\
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
    /// Files of HL7 v2 messages (several per file, optionally framed).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Sends every message and waits for its ACK before the next.
pub fn run(args: &SendArgs) -> Result<ExitCode> {
    let mut stream = TcpStream::connect(&args.to).with_context(|| format!("cannot connect to {}", args.to))?;
    stream.set_read_timeout(Some(Duration::from_secs(args.timeout)))?;
    stream.set_nodelay(true)?;
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
            stream.write_all(&out).context("connection lost while sending")?;
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
                println!(
                    "{}: msg {}: {code}{}{}",
                    path.display(),
                    frame.number,
                    place
                        .filter(|p| !p.is_empty())
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default(),
                    error.map(|e| format!(": {e}")).unwrap_or_default()
                );
            }
        }
    }
    println!("{accepted} accepted (AA), {refused} not accepted");
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads one framed ACK.
fn read_ack(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<Vec<u8>> {
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
