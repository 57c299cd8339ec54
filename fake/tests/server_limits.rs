//! The fake as a server under careless or hostile clients: a bounded journal, connection
//! timeouts, malformed and oversized bodies, and a simulated network latency.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use squirro_user_api_fake::FakeServer;

/// A plain request over a new connection that asks to close it; the status and the body.
fn get(server: &FakeServer, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    write!(
        stream,
        "GET /api/user{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let reply = read_until_closed(&mut stream, Duration::from_secs(5)).0;
    split_reply(&reply)
}

/// Everything the server sends until it closes the connection (or `limit` passes), and how long
/// that took.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            // A reset also closes the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the connection is still open after {:?}: {e}",
                started.elapsed()
            ),
        }
    }
    (
        String::from_utf8_lossy(&reply).into_owned(),
        started.elapsed(),
    )
}

/// The status and body of a raw reply.
fn split_reply(reply: &str) -> (u16, String) {
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply:?}"));
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

#[test]
fn the_journal_keeps_the_last_n_requests() {
    let server = FakeServer::builder().journal_capacity(3).start().unwrap();
    assert_eq!(server.journal_capacity(), 3);
    for i in 0..5 {
        assert_eq!(get(&server, &format!("/v0/acme/users/u{i}")).0, 401);
    }
    let paths: Vec<String> = server.journal().into_iter().map(|e| e.path).collect();
    assert_eq!(
        paths,
        [
            "/api/user/v0/acme/users/u2",
            "/api/user/v0/acme/users/u3",
            "/api/user/v0/acme/users/u4"
        ]
    );
    assert_eq!(server.journal_dropped(), 2);
    server.clear_journal();
    assert!(server.journal().is_empty());
    assert_eq!(server.journal_dropped(), 0);
    get(&server, "/v0/acme/users/again");
    assert_eq!(server.journal().len(), 1);

    let off = FakeServer::builder().journal_capacity(0).start().unwrap();
    get(&off, "/v0/acme/users");
    assert!(off.journal().is_empty());
    assert_eq!((off.journal_capacity(), off.journal_dropped()), (0, 0));
    let default = FakeServer::start();
    assert_eq!(default.journal_capacity(), 10_000);
}

fn error_message(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    value["error"].as_str().unwrap().to_owned()
}

/// A request head for `path` with extra header lines, asking to close the connection after it.
fn head(method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} /api/user{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\n{extra}\r\n"
    )
}

#[test]
fn an_oversized_body_is_413_and_a_malformed_one_400() {
    let server = FakeServer::start();
    let addr = server.addr();

    // A Content-Length over the 1 MiB limit is refused before the body is read.
    let request = head("POST", "/v0/acme/users", "Content-Length: 2000000\r\n");
    let (reply, _) = send_and_wait(addr, request.as_bytes());
    let (status, body) = split_reply(&reply);
    assert_eq!(status, 413, "{reply}");
    assert!(
        error_message(&body).contains("larger than 1048576 bytes"),
        "{body}"
    );

    // A chunked body whose chunk size is not hexadecimal.
    let request = head("POST", "/v0/acme/users", "Transfer-Encoding: chunked\r\n") + "zz\r\n";
    let (reply, _) = send_and_wait(addr, request.as_bytes());
    let (status, body) = split_reply(&reply);
    assert_eq!(status, 400, "{reply}");
    assert!(
        error_message(&body).starts_with("malformed request body"),
        "{body}"
    );

    // Both are in the journal, with their status and no body.
    let statuses: Vec<Option<u16>> = server.journal().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [Some(413), Some(400)]);

    // A well-formed chunked body is read whole.
    let request = head("POST", "/oauth2/token", "Transfer-Encoding: chunked\r\n")
        .replace("application/json", "application/x-www-form-urlencoded")
        + "b\r\ngrant_type=\r\n5\r\nbogus\r\n0\r\n\r\n";
    let (reply, _) = send_and_wait(addr, request.as_bytes());
    let (status, body) = split_reply(&reply);
    assert_eq!(status, 400, "{reply}");
    assert!(error_message(&body).contains("grant_type: bogus"), "{body}");
}

/// Connects and sends `bytes`, then waits for the server to close the connection.
fn send_and_wait(addr: SocketAddr, bytes: &[u8]) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(bytes).unwrap();
    read_until_closed(&mut stream, Duration::from_secs(10))
}

/// A server closing silent connections after 300 ms and slow heads after `header` (or never).
fn with_timeouts(header: Duration, idle: Duration) -> FakeServer {
    FakeServer::builder()
        .header_read_timeout(header)
        .idle_timeout(idle)
        .start()
        .unwrap()
}

const SHORT: Duration = Duration::from_millis(300);

fn assert_closed_after(took: Duration, limit: Duration) {
    assert!(
        // The upper bound leaves room for a busy machine; every other timeout in these tests
        // is far longer.
        took >= limit.mul_f64(0.8) && took < limit + Duration::from_millis(1500),
        "closed after {took:?}, expected about {limit:?}"
    );
}

#[test]
fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let server = with_timeouts(Duration::MAX, SHORT);
    // Nothing sent at all.
    let (reply, took) = send_and_wait(server.addr(), b"");
    assert_eq!(reply, "");
    assert_closed_after(took, SHORT);

    // A whole keep-alive request, answered; then silence.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"GET /api/user/v0/acme/users HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (reply, took) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert_eq!(split_reply(&reply).0, 401, "{reply}");
    assert_closed_after(took, SHORT);
}

#[test]
fn a_half_sent_head_is_closed_after_the_header_read_timeout_even_when_it_trickles() {
    let server = with_timeouts(SHORT, Duration::from_secs(30));
    let (reply, took) = send_and_wait(
        server.addr(),
        b"GET /api/user/v0/acme/users HTTP/1.1\r\nHost: x\r\n",
    );
    assert_eq!(reply, "");
    assert_closed_after(took, SHORT);

    // A slow client sending a header line every 50 ms keeps the connection busy, not its head
    // complete: the header-read timeout still closes it.
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"GET /api/user/v0/acme/users HTTP/1.1\r\n")
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for i in 0..100 {
            std::thread::sleep(Duration::from_millis(50));
            if writer
                .write_all(format!("X-{i}: y\r\n").as_bytes())
                .is_err()
            {
                break;
            }
        }
    });
    let (reply, took) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert_eq!(reply, "");
    assert_closed_after(took, SHORT);
    trickle.join().unwrap();
}

#[test]
fn a_stalled_body_is_408_and_closed_after_the_idle_timeout() {
    let server = with_timeouts(Duration::MAX, SHORT);
    let request = head("POST", "/v0/acme/users", "Content-Length: 100\r\n") + "{\"email\":";
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let (reply, took) = read_until_closed(&mut stream, Duration::from_secs(10));
    let (status, body) = split_reply(&reply);
    assert_eq!(status, 408, "{reply}");
    assert!(error_message(&body).contains("stalled"), "{body}");
    assert_closed_after(took, SHORT);
    assert_eq!(server.journal()[0].status, Some(408));
}

#[test]
fn time_spent_in_the_server_does_not_count_as_idle() {
    let server = with_timeouts(SHORT, SHORT);
    server.inject(squirro_user_api_fake::Fault::delay(Duration::from_millis(
        900,
    )));
    let (status, _) = get(&server, "/v0/acme/users");
    assert_eq!(status, 401);
}

#[test]
fn latency_delays_every_reply_without_holding_up_other_connections() {
    let latency = Duration::from_millis(300);
    let server = std::sync::Arc::new(FakeServer::builder().latency(latency).start().unwrap());
    let started = Instant::now();
    let threads: Vec<_> = (0..10)
        .map(|i| {
            let server = std::sync::Arc::clone(&server);
            std::thread::spawn(move || {
                let started = Instant::now();
                let (status, _) = get(&server, &format!("/v0/acme/users/u{i}"));
                (status, started.elapsed())
            })
        })
        .collect();
    for thread in threads {
        let (status, took) = thread.join().unwrap();
        assert_eq!(status, 401);
        assert!(took >= latency, "a reply came after {took:?}");
    }
    let total = started.elapsed();
    // One after the other, the ten would take 3 s.
    assert!(
        total < Duration::from_secs(2),
        "took {total:?}: replies were serialised"
    );
    assert_eq!(server.journal().len(), 10);
}

#[test]
fn zero_timeouts_are_refused_and_the_largest_durations_work() {
    for builder in [
        FakeServer::builder().idle_timeout(Duration::ZERO),
        FakeServer::builder().header_read_timeout(Duration::ZERO),
    ] {
        let e = builder.start().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            e.to_string().contains("timeout: must be more than zero"),
            "{e}"
        );
    }
    // The largest values are no limit, and work (an access token that never expires too).
    let server = FakeServer::builder()
        .header_read_timeout(Duration::MAX)
        .idle_timeout(Duration::MAX)
        .access_token_ttl(Duration::MAX)
        .start()
        .unwrap();
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        server.credentials().refresh_token
    );
    let request = head(
        "POST",
        "/oauth2/token",
        &format!("Content-Length: {}\r\n", form.len()),
    )
    .replace("application/json", "application/x-www-form-urlencoded")
        + &form;
    let (reply, _) = send_and_wait(server.addr(), request.as_bytes());
    let (status, body) = split_reply(&reply);
    assert_eq!(status, 200, "{reply}");
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["access_token"].as_str().unwrap();
    let request = head(
        "GET",
        "/v0/acme/users",
        &format!("Authorization: Bearer {token}\r\n"),
    );
    let (reply, _) = send_and_wait(server.addr(), request.as_bytes());
    assert_eq!(split_reply(&reply).0, 200, "{reply}");
}
