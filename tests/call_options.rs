//! Per-call overrides (`.customize(CallOptions)`), the reply of a success
//! (`.send_with_reply()`), and the connection pool's size.

#[path = "support/server.rs"]
mod support;

use serde_json::json;
use squirro_user_api::*;
use squirro_user_api_fake::FakeServer;
use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use support::{Answer, Server, json as reply};

fn client(server: &Server) -> Client {
    Client::builder()
        .cluster(server.url())
        .tenant("acme")
        .access_token("ACCESS-1")
        .retry(RetryPolicy::default().sleep_with(|_| {}))
        .build()
        .unwrap()
}

#[test]
fn a_call_can_have_its_own_timeout_and_retry_policy() {
    let server = Server::start(|_| Answer::Hang);
    let client = Client::builder()
        .cluster(server.url())
        .tenant("acme")
        .access_token("ACCESS-1")
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client
        .get_users()
        .customize(
            CallOptions::new()
                .timeout(Duration::from_millis(300))
                .retry(RetryPolicy::none()),
        )
        .send()
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // The client's policy retries a 503; the call's own policy does not.
    let server = Server::script([reply(503, "{}"), reply(200, json!({"users": []}))]);
    let e = client_of(&server)
        .get_users()
        .customize(CallOptions::new().retry(RetryPolicy::none()))
        .send()
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(server.seen().len(), 1);
}

fn client_of(server: &Server) -> Client {
    client(server)
}

#[test]
fn extra_headers_go_out_and_the_clients_own_cannot_be_replaced() {
    let server = Server::start(|_| reply(200, json!({"users": []})).header("X-Request-Id", "r-7"));
    let client = client(&server);
    let (list, reply) = client
        .get_users()
        .customize(CallOptions::new().header("X-Trace", "job-42"))
        .send_with_reply()
        .unwrap();
    assert!(list.users.is_empty());
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.header("x-request-id"), Some("r-7"));
    assert_eq!(server.seen()[0].header("x-trace"), Some("job-42"));

    for (name, value) in [
        ("Authorization", "Bearer x"),
        ("bad name", "v"),
        ("X-Ok", "a\nb"),
    ] {
        let e = client
            .get_users()
            .customize(CallOptions::new().header(name, value))
            .send()
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { param, .. } if param.contains(name)),
            "{name}: {e:?}"
        );
    }
    let e = client
        .get_users()
        .customize(CallOptions::new().timeout(Duration::ZERO))
        .send()
        .unwrap_err();
    assert!(matches!(&e, Error::InvalidInput { param, .. } if param == "timeout"));
    assert_eq!(server.seen().len(), 1, "nothing invalid was sent");
}

#[test]
fn a_call_can_read_a_larger_reply_than_the_client() {
    let users: Vec<_> = (0..2000)
        .map(|i| json!({"id": format!("u{i}"), "email": format!("user{i}@example.com")}))
        .collect();
    let body = json!({ "users": users }).to_string();
    assert!(body.len() > 64 * 1024);
    let server = Server::start(move |_| reply(200, &body));
    let client = Client::builder()
        .cluster(server.url())
        .tenant("acme")
        .access_token("ACCESS-1")
        .max_reply_bytes(64 * 1024)
        .build()
        .unwrap();
    let e = client.get_users().send().unwrap_err();
    assert!(e.to_string().contains("larger than the limit"), "{e}");
    let list = client
        .get_users()
        .customize(CallOptions::new().max_reply_bytes(1024 * 1024))
        .send()
        .unwrap();
    assert_eq!(list.users.len(), 2000);
}

/// Lean buffers still carry large bodies both ways.
#[test]
fn large_bodies_pass_through_lean_buffers() {
    let server = FakeServer::start();
    let creds = server.credentials();
    let client = Client::builder()
        .cluster(server.url())
        .refresh_token(&creds.refresh_token)
        .io_buffer_bytes(4096)
        .build()
        .unwrap();
    let big = "x".repeat(512 * 1024);
    let user = client
        .update_user_data(&creds.admin_user_id, json!({ "note": big }))
        .send()
        .unwrap();
    assert_eq!(user.extra["note"].as_str().map(str::len), Some(512 * 1024));
    let e = Client::builder()
        .cluster(server.url())
        .io_buffer_bytes(100)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { param, .. } if param == "io_buffer_bytes"));
}

/// Sixteen threads sharing a client, round after round: the default pool keeps a connection
/// for each of them, so they stop opening new ones (with ureq's default of 3 kept, every round
/// would open more).
#[test]
fn the_pool_keeps_a_connection_per_thread() {
    const THREADS: usize = 16;
    const ROUNDS: usize = 20;
    let server = FakeServer::start();
    let creds = server.credentials();
    let client = Client::builder()
        .cluster(server.url())
        .refresh_token(&creds.refresh_token)
        .build()
        .unwrap();
    client.get_users_password_policy().send().unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    barrier.wait();
                    client.get_users_password_policy().send().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let connections: HashSet<_> = server.journal().iter().map(|e| e.connection).collect();
    assert!(
        connections.len() <= 2 * THREADS,
        "{} connections for {THREADS} threads",
        connections.len()
    );
}

#[test]
fn a_prebuilt_request_can_be_sent_with_options() {
    let server = Server::start(|_| reply(200, json!({"users": []})));
    let client = client(&server);
    let request = client.get_users().request().unwrap();
    let reply = client
        .execute_with_options(&request, &CallOptions::new().header("X-Job", "j1"))
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(server.seen()[0].header("x-job"), Some("j1"));
}
