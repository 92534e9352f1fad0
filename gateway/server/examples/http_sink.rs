//! A receiver for the delivery benchmark (`scripts/bench`): answers every
//! HTTP/1.1 request with 200 and an empty body, keeping connections open,
//! and prints how many requests it took when stdin closes.
//! `cargo run --release -p zorgpoort-server --example http_sink -- 127.0.0.1:18200`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18200".into());
    let listener = TcpListener::bind(&address).expect("bind");
    let requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || serve(stream, &counted));
        }
    });
    // Runs until stdin closes (the script's pipe), then reports.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    println!("{} requests", requests.load(Ordering::Relaxed));
}

fn serve(stream: TcpStream, requests: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut length = 0;
        // The head: request line and headers up to the empty line.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::Relaxed);
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}
