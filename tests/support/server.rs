//! One scripted HTTP/1.1 server for the tests and benchmarks that need a server we control
//! byte by byte: `tests/sessions.rs`, `tests/hostile_servers.rs` and the benches' capture.
//! Each connection is served on a thread of its own; every request is recorded as [`Seen`].

#![allow(dead_code)] // each user takes what it needs

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A request as received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request line and headers as they came, and the body: the bytes on the wire.
    pub raw: Vec<u8>,
    pub method: String,
    /// The request target: a path and query, or an absolute URL through a proxy.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Which connection it came on (counted from 0).
    pub connection: usize,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
    /// A field of a form body, decoded.
    pub fn form(&self, key: &str) -> Option<String> {
        self.body.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == key).then(|| decode(v))
        })
    }
    /// `METHOD path` (no query), for compact assertions.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path())
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// What the server does with a request.
pub enum Answer {
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Keep the connection open and never answer.
    Hang,
    /// Close the connection without answering.
    Close,
    /// Write these bytes as they are (a malformed reply, say), then read the next request.
    Raw(Vec<u8>),
    /// Do anything with the socket (write part of a reply, sleep, close), then read the next
    /// request if the connection is still open.
    Stream(Box<dyn FnOnce(&mut TcpStream) + Send>),
}

/// A reply with a JSON (or any) body.
pub fn json(status: u16, body: impl ToString) -> Answer {
    Answer::Reply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

impl Answer {
    pub fn header(mut self, name: &str, value: impl ToString) -> Answer {
        if let Answer::Reply { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

pub struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Answers every request with `handler`, each connection on a thread of its own.
    pub fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let (log, connections) = (seen.clone(), AtomicUsize::new(0));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, handler) = (log.clone(), handler.clone());
                let connection = connections.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || serve(stream, connection, &log, &*handler));
            }
        });
        Server { addr, seen }
    }

    /// Answers requests with these answers in turn (then with 599).
    pub fn script(answers: impl IntoIterator<Item = Answer>) -> Server {
        let queue = Mutex::new(answers.into_iter().collect::<VecDeque<_>>());
        Server::start(move |_| {
            queue
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| json(599, r#"{"error":"script exhausted"}"#))
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn lines(&self) -> Vec<String> {
        self.seen().iter().map(Seen::line).collect()
    }
}

fn serve(
    stream: TcpStream,
    connection: usize,
    log: &Mutex<Vec<Seen>>,
    handler: &(dyn Fn(&Seen) -> Answer + Send + Sync),
) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut raw = line.clone().into_bytes();
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            raw.extend_from_slice(h.as_bytes());
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap_or(0));
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        raw.extend_from_slice(&body);
        let seen = Seen {
            raw,
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            connection,
        };
        log.lock().unwrap().push(seen.clone());
        match handler(&seen) {
            Answer::Hang => {
                thread::sleep(Duration::from_secs(60));
                return;
            }
            Answer::Close => return,
            Answer::Raw(bytes) => {
                if reader.get_mut().write_all(&bytes).is_err() {
                    return;
                }
            }
            Answer::Stream(f) => f(reader.get_mut()),
            Answer::Reply {
                status,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                if reader.get_mut().write_all(out.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}
