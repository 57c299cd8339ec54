//! Hostile servers: a reply over the size limit, a connection closed mid-body, a malformed
//! status line, a server that never answers, redirect loops. Each gives a typed error within
//! the timeout, never a panic, and no error shows a secret.

#[path = "support/server.rs"]
mod support;

use squirro_user_api::*;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Answer, Server};

const ACCESS: &str = "ACCESS-SEKRIT-1";
const SECRET: &str = "CLIENT-SEKRIT-2";

/// A server that lets `answer` write whatever it likes to the socket, for every request.
/// Returns the base URL and the server (which records what it was sent).
fn server(answer: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> (String, Server) {
    let answer = Arc::new(answer);
    let server = Server::start(move |_| {
        let answer = Arc::clone(&answer);
        Answer::Stream(Box::new(move |s| answer(s)))
    });
    (server.url(), server)
}

fn client(url: &str) -> Client {
    Client::builder()
        .user_api_url(url)
        .tenant("acme")
        .client_id("tool")
        .client_secret(SECRET)
        .access_token(ACCESS)
        .timeout(Duration::from_secs(2))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Every Display and Debug of the error and its sources, checked for secrets.
fn assert_clean(e: &Error) {
    let mut shown = format!("{e}\n{e:?}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        shown.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    assert!(
        !shown.contains(ACCESS) && !shown.contains(SECRET),
        "a secret shows in: {shown}"
    );
}

#[test]
fn a_reply_over_the_limit_is_refused_without_reading_it_all() {
    // Announces 1 GiB and streams it; the client must stop at its limit.
    let (url, _) = server(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n[");
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..16_384 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let c = Client::builder()
        .user_api_url(&url)
        .tenant("acme")
        .access_token(ACCESS)
        .client_secret(SECRET)
        .max_reply_bytes(256 * 1024)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get_user_grants("u1").send().unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidReply {
                status: Some(200),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("larger than the limit of 262144 bytes"),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_clean(&e);
}

#[test]
fn a_connection_closed_mid_body_is_a_connection_error() {
    let (url, _) = server(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"users\": [");
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let e = client(&url).get_user_grants("u1").send().unwrap_err();
    assert!(matches!(&e, Error::Connection { .. }), "{e:?}");
    assert_clean(&e);
}

#[test]
fn a_malformed_status_line_is_an_error() {
    let (url, _) = server(|s| {
        let _ = s.write_all(b"HTTP/1.1 two-hundred OK\r\nContent-Length: 2\r\n\r\n{}");
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let started = Instant::now();
    let e = client(&url).get_user_grants("u1").send().unwrap_err();
    assert!(
        matches!(&e, Error::Connection { .. } | Error::InvalidReply { .. }),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_clean(&e);
}

#[test]
fn garbage_instead_of_http_is_an_error() {
    let (url, _) = server(|s| {
        let _ = s.write_all(&[0xde, 0xad, 0xbe, 0xef, b'\r', b'\n', b'\r', b'\n']);
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let e = client(&url).get_users().send().unwrap_err();
    assert!(
        matches!(&e, Error::Connection { .. } | Error::InvalidReply { .. }),
        "{e:?}"
    );
    assert_clean(&e);
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out_within_the_bound() {
    let server = Server::start(|_| Answer::Hang);
    let url = server.url();
    let c = Client::builder()
        .user_api_url(&url)
        .tenant("acme")
        .access_token(ACCESS)
        .timeout(Duration::from_millis(400))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let e = c.get_user_grants("u1").send().unwrap_err();
    let took = started.elapsed();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_clean(&e);
}

#[test]
fn redirect_loops_stop() {
    let (url, server) = server(|s| {
        let _ =
            s.write_all(b"HTTP/1.1 302 Found\r\nLocation: /api/loop\r\nContent-Length: 0\r\n\r\n");
    });
    let e = client(&url).get_users().send().unwrap_err();
    assert!(
        e.status().is_some_and(|s| (300..400).contains(&s))
            || matches!(e, Error::Connection { .. }),
        "{e:?}"
    );
    let sent = server.seen().len();
    assert!(
        (2..=12).contains(&sent),
        "{sent} requests for a redirect loop"
    );
    assert_clean(&e);
}

#[test]
fn a_huge_error_body_keeps_a_bounded_excerpt() {
    let (url, _) = server(|s| {
        let body = format!("<html>{}</html>", "x".repeat(200_000));
        let _ = write!(
            s,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    });
    let e = client(&url).get_users().send().unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidReply {
                status: Some(502),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().len() < 2_000,
        "{} bytes of message",
        e.to_string().len()
    );
    assert_clean(&e);
}
