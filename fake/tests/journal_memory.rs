//! The binary's memory under a long keep-alive load: with a bounded journal it stays flat.
//!
//! Ignored by default (it takes a while and reads `/proc`); run it in release mode:
//!
//! ```text
//! cargo test --release -p squirro-user-api-fake --test journal_memory -- --ignored --nocapture
//! FAKE_LOAD_REQUESTS=1000000 FAKE_LOAD_JOURNAL=1000 cargo test --release \
//!     -p squirro-user-api-fake --test journal_memory -- --ignored --nocapture
//! ```
//!
//! It starts the `squirro-user-api-fake` binary with `--journal N` (`FAKE_LOAD_JOURNAL`, default
//! 1000), sends `FAKE_LOAD_REQUESTS` (default 200,000) authenticated GETs over one keep-alive
//! connection (pipelined 64 at a time), and prints the server's resident memory (`VmRSS`) every
//! tenth of the way. The assertion: from the first tenth (the ring is full by then) to the end,
//! RSS grows by less than 8 MiB when the journal is bounded below 10,000 entries.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// The child process, killed when dropped (also when an assertion fails).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Reads one response (status line, headers, `Content-Length` body): its status and body.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<u8>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, body)
}

#[test]
#[ignore = "a long load run; see the module documentation"]
fn rss_stays_flat_with_a_bounded_journal() {
    let requests = env_number("FAKE_LOAD_REQUESTS", 200_000);
    let journal = env_number("FAKE_LOAD_JOURNAL", 1000);
    let child = Command::new(env!("CARGO_BIN_EXE_squirro-user-api-fake"))
        .args(["--journal", &journal.to_string()])
        .env_remove("SQUIRRO_FAKE_ADDR")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let pid = server.0.id();
    let stdout = server.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = std::collections::HashMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("Press Ctrl-C") {
            break;
        }
        if let Some((key, value)) = line.split_once(": ") {
            printed.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    let url = &printed["cluster URL"];
    let addr = url.strip_prefix("http://").unwrap();
    let refresh = &printed["refresh token"];
    let admin = &printed["admin user id"];

    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    write!(
        writer,
        "POST /api/user/oauth2/token HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let (status, body) = read_response(&mut reader);
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();

    let request = format!(
        "GET /api/user/v0/acme/users/{admin} HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nAccept: application/json\r\n\
         User-Agent: journal-memory-test\r\n\r\n"
    );
    let batch = 64;
    let checkpoints = 10;
    let start = Instant::now();
    let rss_start = rss_kib(pid);
    println!("journal {journal}, {requests} requests; RSS at start: {rss_start} KiB");
    let mut sent = 0;
    let mut figures = Vec::new();
    for checkpoint in 1..=checkpoints {
        let until = requests * checkpoint / checkpoints;
        while sent < until {
            let n = batch.min(until - sent);
            writer.write_all(request.repeat(n).as_bytes()).unwrap();
            for _ in 0..n {
                assert_eq!(read_response(&mut reader).0, 200);
            }
            sent += n;
        }
        let rss = rss_kib(pid);
        println!(
            "{sent:>9} requests  RSS {rss:>7} KiB  ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
        figures.push(rss);
    }
    let growth = figures[checkpoints - 1].saturating_sub(figures[0]);
    println!("growth from the first tenth to the end: {growth} KiB");
    if journal < 10_000 {
        assert!(
            growth < 8 * 1024,
            "RSS grew by {growth} KiB with a journal of {journal}: {figures:?}"
        );
    }
}
