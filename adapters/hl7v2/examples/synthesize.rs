//! Writes synthetic Dutch HL7 v2 messages (fictional data) to stdout, one
//! per line group, for benchmarks and load tests:
//! `cargo run --release -p zorgpoort-hl7v2 --example synthesize -- COUNT [SEED] > file.hl7`
#![allow(missing_docs)]

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2026);
    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(seed);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for _ in 0..count {
        out.write_all(generator.next_message().as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
