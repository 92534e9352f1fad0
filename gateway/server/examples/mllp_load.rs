//! MLLP load generator for the benchmarks: C connections send N synthetic
//! Dutch messages in total, each waiting for its ACK, and report throughput
//! and ACK latency percentiles. Several addresses, comma-separated (the
//! replicas of one region), share the connections in turn.
//! `cargo run --release -p zorgpoort-server --example mllp_load -- 127.0.0.1:2575 8 20000`
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let addresses: Vec<String> = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:2575".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let mut generator = zorgpoort_hl7v2::synthetic::Generator::new(seed);
    // Control ids must be unique per run, or the gateway recognises resends.
    let messages: Vec<Vec<u8>> = (0..total)
        .map(|n| {
            let text = generator.next_message();
            let start = text.find("|P|").expect("MSH-11");
            let before = &text[..start];
            let id_start = before.rfind('|').unwrap();
            let mut framed = vec![0x0b];
            framed.extend_from_slice(format!("{}|LOAD{seed}-{n}{}", &text[..id_start], &text[start..]).as_bytes());
            framed.extend_from_slice(b"\x1c\r");
            framed
        })
        .collect();
    let per_connection = messages
        .chunks(total.div_ceil(connections))
        .map(<[Vec<u8>]>::to_vec)
        .collect::<Vec<_>>();
    let started = Instant::now();
    let workers: Vec<_> = per_connection
        .into_iter()
        .enumerate()
        .map(|(n, batch)| {
            let address = addresses[n % addresses.len()].clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&address).expect("connect");
                stream.set_nodelay(true).unwrap();
                let mut latencies = Vec::with_capacity(batch.len());
                let mut reply = Vec::new();
                let mut chunk = [0; 4096];
                let mut refused = 0usize;
                for message in batch {
                    let sent = Instant::now();
                    stream.write_all(&message).unwrap();
                    reply.clear();
                    while !reply.ends_with(b"\x1c\r") {
                        let n = stream.read(&mut chunk).unwrap();
                        assert!(n > 0, "connection closed");
                        reply.extend_from_slice(&chunk[..n]);
                    }
                    if !reply.windows(7).any(|w| w == b"MSA|AA|") {
                        refused += 1;
                    }
                    latencies.push(sent.elapsed());
                }
                (latencies, refused)
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::with_capacity(total);
    let mut refused = 0;
    for worker in workers {
        let (l, r) = worker.join().unwrap();
        latencies.extend(l);
        refused += r;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    println!(
        "{total} messages over {connections} connections in {:.2} s: {:.0} msg/s; ACK latency p50 {:?} p99 {:?} max {:?}; not AA: {refused}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
}
