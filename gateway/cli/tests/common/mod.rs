//! What the end-to-end tests share: `zorgpoort serve` as a process, a FHIR
//! receiver on loopback, and small HTTP and MLLP clients.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A FHIR receiver on loopback that records every body it is sent.
pub struct Receiver {
    pub address: SocketAddr,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let mut request = Vec::new();
                    let mut chunk = vec![0; 65536];
                    loop {
                        let Ok(n) = stream.read(&mut chunk) else { return };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&request).into_owned();
                        let Some((head, body)) = text.split_once("\r\n\r\n") else {
                            continue;
                        };
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() < length {
                            continue;
                        }
                        if status < 300 {
                            seen.lock().unwrap().push(body.to_owned());
                        }
                        let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                        let _ = stream.write_all(reply.as_bytes());
                        return;
                    }
                });
            }
        });
        Self { address, bodies }
    }

    pub fn received(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// A running `zorgpoort serve`.
pub struct Gateway {
    pub child: Child,
    pub http: SocketAddr,
    pub mllp: SocketAddr,
    /// Everything the gateway wrote to stderr (its logs).
    pub logs: Arc<Mutex<Vec<String>>>,
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-gateway-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Gateway {
    pub fn start(config_path: &Path) -> Self {
        Self::start_logging(config_path, "warn")
    }

    pub fn start_logging(config_path: &Path, level: &str) -> Self {
        Self::serve(&["--config", config_path.to_str().unwrap()], level)
    }

    /// `zorgpoort serve` without a configuration: the embedded demo region,
    /// as README's run command starts it, on ports the OS picks.
    pub fn start_demo(data_dir: &Path) -> Self {
        let data_dir = data_dir.to_str().unwrap();
        Self::serve(
            &["--http", "127.0.0.1:0", "--mllp", "127.0.0.1:0", "--data-dir", data_dir],
            "warn",
        )
    }

    fn serve(args: &[&str], level: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zorgpoort"))
            .arg("serve")
            .args(args)
            .env("RUST_LOG", level)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let banner = lines
            .by_ref()
            .map(Result::unwrap)
            .inspect(|l| logs.lock().unwrap().push(l.clone()))
            .find(|l| l.contains("HTTP on"))
            .expect("gateway did not start");
        // Keep draining stderr so the gateway never blocks on it.
        let collected = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        let words: Vec<&str> = banner.split_whitespace().collect();
        let http = words[words.iter().position(|w| *w == "on").unwrap() + 1]
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let mllp = words.last().unwrap().parse().unwrap();
        Self {
            child,
            http,
            mllp,
            logs,
        }
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn http(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String, String) {
        self.http_with(method, path, &[("Content-Type", content_type)], body)
    }

    pub fn http_with(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.http).unwrap();
        let headers = headers
            .iter()
            .fold(String::new(), |all, (k, v)| all + k + ": " + v + "\r\n");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send_mllp(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<String> {
    let mut frame = vec![0x0b];
    frame.extend_from_slice(message);
    frame.extend_from_slice(b"\x1c\r");
    stream.write_all(&frame)?;
    let mut reply = Vec::new();
    let mut chunk = [0; 4096];
    while !reply.ends_with(b"\x1c\r") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        reply.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// The `[server]` section of a gateway under test: ports the OS picks, data
/// in `data_dir`, a loopback test region whose callers name themselves.
pub fn server_section(data_dir: &Path) -> String {
    format!(
        "[server]\nunauthenticated_demo = true\nhttp = \"127.0.0.1:0\"\nmllp = \"127.0.0.1:0\"\ndata_dir = \"{}\"\ndurability = \"process-crash\"\n\n",
        data_dir.display()
    )
}

/// One `[[organization]]` of the region: `extra` holds further keys
/// (`senders = [...]`, `ura = "..."`), `endpoint` its endpoint as
/// `(protocol, address)`.
pub fn organization(id: &str, name: &str, kind: &str, extra: &str, endpoint: Option<(&str, &str)>) -> String {
    let mut block = format!("[[organization]]\nid = \"{id}\"\nname = \"{name}\"\nkind = \"{kind}\"\n{extra}\n");
    if let Some((protocol, address)) = endpoint {
        let _ = write!(
            block,
            "[[organization.endpoint]]\nprotocol = \"{protocol}\"\naddress = \"{address}\"\n\n"
        );
    }
    block
}
