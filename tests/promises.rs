//! The promises a careless caller, a hostile server and a crowd of threads test: no panic on
//! any builder value or `Retry-After`, calls go only where the builder's URL says, one refresh
//! for a crowd (its failure shared and explained), authentication changes nothing unless it
//! succeeds, secrets scrubbed by value wherever a server quotes them, and bounded waits.

#[path = "support/server.rs"]
mod support;

use proptest::prelude::*;
use serde_json::json;
use squirro_user_api::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{Answer, Server, json as reply};

const ACCESS: &str = "ACCESS-SEKRIT-2";
const REFRESH: &str = "REFRESH-SEKRIT-4";
const CLIENT_SECRET: &str = "CLIENT-SEKRIT-1";

fn builder(server: &Server) -> ClientBuilder {
    Client::builder()
        .cluster(server.url())
        .tenant("acme")
        .client_id("tool")
        .client_secret(CLIENT_SECRET)
        .retry(RetryPolicy::default().sleep_with(|_| {}))
}

fn everything_shown(e: &Error) -> String {
    let mut shown = format!("{e}\n{e:?}\n");
    if let Some(body) = e.body() {
        shown.push_str(&body.to_string());
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        shown.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    shown
}

// ---- No panic on any duration or Retry-After ----------------------------------------------

fn durations() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        Just(Duration::from_millis(50)),
        Just(Duration::from_secs(u64::MAX / 2)),
        Just(Duration::MAX),
        (0u64..u64::MAX).prop_map(Duration::from_secs),
    ]
}

fn retry_after_values() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..3).prop_map(|s| s.to_string()),
        Just("18446744073709551615".to_string()),
        Just("99999999999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("Sun, 06 Nov 999999999999999 08:49:37 GMT".to_string()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_string()),
        Just("Thu, 01 Jan 1970 00:00:00 GMT".to_string()),
        "[ -~]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Every builder duration is either refused at build() naming the setting, or works.
    #[test]
    fn any_duration_is_refused_or_works(
        timeout in durations(),
        connect in durations(),
        backoff in durations(),
        max_backoff in durations(),
        max_retry_after in durations(),
        deadline in durations(),
    ) {
        let server = Server::script([
            reply(503, "").header("Retry-After", 0),
            reply(503, ""),
            reply(200, json!({"users": []})),
        ]);
        let built = builder(&server)
            .access_token(ACCESS)
            .timeout(timeout)
            .connect_timeout(connect)
            .retry(
                RetryPolicy::default()
                    .max_attempts(3)
                    .backoff_factor(backoff)
                    .max_backoff(max_backoff)
                    .max_retry_after(max_retry_after)
                    .deadline(deadline)
                    .sleep_with(|_| {}),
            )
            .build();
        match built {
            Err(Error::InvalidInput { param, .. }) => {
                prop_assert!(["timeout", "connect_timeout"].contains(&param.as_str()), "{param}");
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
            // Any outcome but a panic: a zero deadline, say, ends the call at once.
            Ok(client) => {
                let _ = client.get_users().send();
            }
        }
    }

    /// Any Retry-After a server sends ends in an outcome, never a panic or an endless wait.
    #[test]
    fn any_retry_after_ends_in_an_outcome(value in retry_after_values()) {
        let server = Server::script([
            reply(503, "").header("Retry-After", &value),
            reply(200, json!({"users": []})),
        ]);
        let waited = Arc::new(Mutex::new(Duration::ZERO));
        let total = waited.clone();
        let client = builder(&server)
            .access_token(ACCESS)
            .retry(RetryPolicy::default().sleep_with(move |d| {
                let mut t = total.lock().unwrap();
                *t = t.saturating_add(d);
            }))
            .build()
            .unwrap();
        let _ = client.get_users().send();
        prop_assert!(*waited.lock().unwrap() <= DEFAULT_DEADLINE);
    }
}

// ---- Where a call goes ---------------------------------------------------------------------

#[test]
fn a_url_that_could_change_where_calls_go_is_refused() {
    for (url, why) in [
        ("https://h:8443/#frag", "fragment"),
        ("https://h/api?x=1", "query"),
        ("https://user:pw@h", "user name"),
        ("https://h/a b", "blanks"),
        ("https://h/a/../b", "plain segments"),
        ("https://h/a/./b", "plain segments"),
        ("https://h//b", "plain segments"),
        ("https://h/a%2Fb", "encode"),
        ("https://h/a%2e%2e", "encode"),
        ("https://h/a\\b", "backslash"),
        ("https://h/a\nb", "control"),
    ] {
        for builder in [
            Client::builder().cluster(url),
            Client::builder().user_api_url(url),
        ] {
            let e = builder.build().unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { param, .. } if param == "cluster" || param == "user_api_url"),
                "{url}: {e:?}"
            );
            assert!(e.to_string().contains(why), "{url}: {e}");
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// For every cluster URL the builder accepts, every request goes to that URL's origin,
    /// under its path + `/api/user`.
    #[test]
    fn every_accepted_url_keeps_calls_under_it(
        scheme in prop_oneof![Just("http"), Just("https"), Just("ftp"), Just("HTTP")],
        host in prop_oneof![Just("squirro.example.com"), Just("127.0.0.1"), Just("[::1]"), Just("h")],
        port in prop_oneof![Just(String::new()), Just(":8443".to_string()), Just(":0".to_string()), Just(":99999".to_string())],
        path in proptest::collection::vec("[a-z0-9._~%/#?@ :;=-]{0,6}", 0..3),
        tail in prop_oneof![Just(""), Just("/"), Just("#x"), Just("?q=1"), Just("/.."), Just(" ")],
    ) {
        let url = format!("{scheme}://{host}{port}{}{tail}", path.iter().map(|p| format!("/{p}")).collect::<String>());
        let Ok(client) = Client::builder().cluster(&url).tenant("acme").access_token(ACCESS).build() else {
            return Ok(());
        };
        let base = url.trim().trim_end_matches('/');
        let expected = format!("{base}/api/user/");
        let origin: ureq::http::Uri = base.parse().unwrap();
        for request in [
            client.get_users().request().unwrap(),
            client.get_user_data("u/../x?#").request().unwrap(),
            client.signup("a@b.co", "pw").request().unwrap(),
            client.get_workspaces().request().unwrap(),
            client.authenticate(Grant::refresh_token("r")).request().unwrap(),
        ] {
            let sent = client.url(&request);
            prop_assert!(sent.starts_with(&expected), "{url} -> {sent}");
            let parsed: ureq::http::Uri = sent.parse().unwrap();
            prop_assert_eq!(parsed.authority(), origin.authority());
            prop_assert!(parsed.path().starts_with(&format!("{}/api/user/", origin.path().trim_end_matches('/'))), "{url} -> {sent}");
        }
    }
}

// ---- One refresh for a crowd, its failure shared and explained ---------------------------

/// `threads` threads sharing `client` call `get_users` at the same moment; their errors.
fn crowd_get_users(client: &squirro_user_api::Client, threads: usize) -> Vec<Error> {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                client.get_users().send().unwrap_err()
            })
        })
        .collect();
    handles.into_iter().map(|t| t.join().unwrap()).collect()
}

/// 8 threads share a client whose access token has expired; the token endpoint refuses the
/// refresh token. One token request is made, and every thread gets a 401 that says why.
#[test]
fn a_failed_refresh_is_shared_by_the_crowd_and_says_why() {
    const THREADS: usize = 8;
    let server = Server::start(|seen| {
        if seen.path().ends_with("/oauth2/token") {
            thread::sleep(Duration::from_millis(100));
            return reply(
                400,
                json!({"error": "invalid_grant", "error_description": format!("refresh token {REFRESH} was revoked")}),
            );
        }
        reply(401, json!({"error": "expired"}))
    });
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .build()
        .unwrap();
    for e in crowd_get_users(&client, THREADS) {
        assert!(
            matches!(&e, Error::Authorization { status: 401, .. }),
            "{e:?}"
        );
        let source = std::error::Error::source(&e).expect("the refresh failure is the source");
        assert!(source.to_string().contains("invalid_grant"), "{source}");
        assert!(
            e.to_string().contains("refreshing the access token failed"),
            "{e}"
        );
        assert!(e.to_string().contains("invalid_grant"), "{e}");
        let shown = everything_shown(&e);
        assert!(
            !shown.contains(REFRESH) && !shown.contains(ACCESS),
            "{shown}"
        );
    }
    let tokens = server
        .lines()
        .iter()
        .filter(|l| l.ends_with("/oauth2/token"))
        .count();
    assert_eq!(tokens, 1, "{:?}", server.lines());
}

/// With a token endpoint that hangs, the crowd waits for one timeout, not eight in series.
#[test]
fn a_hanging_token_endpoint_costs_the_crowd_one_timeout() {
    const THREADS: usize = 8;
    let timeout = Duration::from_millis(400);
    let server = Server::start(|seen| {
        if seen.path().ends_with("/oauth2/token") {
            return Answer::Hang;
        }
        reply(401, "{}")
    });
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .timeout(timeout)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    for e in crowd_get_users(&client, THREADS) {
        assert!(e.is_timeout(), "the timeout is the reason: {e:?}");
    }
    let took = started.elapsed();
    assert!(took < 3 * timeout, "{took:?} for {THREADS} threads");
    let tokens = server
        .lines()
        .iter()
        .filter(|l| l.ends_with("/oauth2/token"))
        .count();
    assert_eq!(tokens, 1, "{:?}", server.lines());
}

/// A later call, after a failed refresh, tries again: the failure is shared, not sticky.
#[test]
fn a_refresh_after_a_failed_one_is_tried_again() {
    let failures = Arc::new(AtomicUsize::new(1));
    let left = failures.clone();
    let server = Server::start(move |seen| {
        if seen.path().ends_with("/oauth2/token") {
            if left.fetch_sub(1, Ordering::SeqCst) > 0 {
                return reply(503, json!({"error": "busy"}));
            }
            return reply(200, json!({"access_token": "FRESH-1", "tenant": "acme"}));
        }
        if seen.bearer() == Some("FRESH-1") {
            return reply(200, json!({"users": []}));
        }
        reply(401, "{}")
    });
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(client.get_users().send().is_err());
    client.get_users().send().unwrap();
}

// ---- Authentication changes nothing unless it succeeds -----------------------------------

#[test]
fn a_failed_authentication_changes_neither_tenant_nor_tokens() {
    let server = Server::start(|_| reply(403, json!({"error": "bad credentials"})));
    let client = builder(&server).build().unwrap();
    let before = (client.tenant(), client.tokens());
    let e = client
        .authenticate(Grant::password("", "pw"))
        .tenant("other")
        .send()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
    let e = client
        .authenticate(Grant::password("admin@acme.example", "wrong"))
        .tenant("other")
        .send()
        .unwrap_err();
    assert!(matches!(e, Error::Authentication { .. }), "{e:?}");
    assert_eq!((client.tenant(), client.tokens()), before);
    assert!(server.seen().len() == 1, "only the second one was sent");
}

/// An access token no HTTP header can carry (a server handed one out with a newline, say; the
/// builder refuses such a token itself) is refused before the call is sent, naming the token
/// but not showing it.
#[test]
fn a_token_no_header_can_carry_is_refused_unsent_and_unshown() {
    let bad = "ACCESS-SEKRIT\r\nX-Injected: yes";
    let server = Server::start(move |_| {
        reply(
            200,
            json!({"access_token": bad, "refresh_token": REFRESH, "tenant": "acme"}),
        )
    });
    let client = builder(&server).refresh_token(REFRESH).build().unwrap();
    let e = client.get_user_data("u1").send().unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { param, .. } if param == "access_token"),
        "{e:?}"
    );
    assert!(!everything_shown(&e).contains("SEKRIT"));
    assert_eq!(server.seen().len(), 1, "only the token request was sent");
}

// ---- Secrets, by value ---------------------------------------------------------------------

/// Servers that quote secrets where no field name says so: the form echoed as pairs, free
/// text, an error description, an HTML page. No error shows them.
#[test]
fn secrets_quoted_anywhere_by_a_server_are_scrubbed() {
    const PASSWORD: &str = "PW-sekrit-9/x";
    type Echo = Box<dyn Fn(&support::Seen) -> Answer + Send + Sync>;
    let echoes: Vec<Echo> = vec![
        Box::new(|seen| {
            let pairs: Vec<(String, String)> = seen
                .body
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            reply(400, json!({"error": "bad form", "form": pairs}))
        }),
        Box::new(|seen| {
            reply(
                400,
                json!({"error": format!("access token {} has expired; body was {}", seen.bearer().unwrap_or(""), seen.body)}),
            )
        }),
        Box::new(|seen| Answer::Reply {
            status: 500,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!("<html><pre>{}\n{:?}</pre></html>", seen.body, seen.headers),
        }),
    ];
    for echo in echoes {
        let server = Server::start(echo);
        let client = builder(&server)
            .access_token(ACCESS)
            .refresh_token(REFRESH)
            .build()
            .unwrap();
        let mut errors = vec![
            client
                .change_user_password("u1", PASSWORD, PASSWORD, PASSWORD)
                .send()
                .unwrap_err(),
            client
                .add_user()
                .email("a@b.co")
                .password(PASSWORD)
                .send()
                .unwrap_err(),
            client.get_user_grants("u1").send().unwrap_err(),
            client
                .authenticate(Grant::password("admin", PASSWORD))
                .send()
                .unwrap_err(),
        ];
        errors.push(
            client
                .authenticate(Grant::refresh_token(REFRESH))
                .send()
                .unwrap_err(),
        );
        for e in &errors {
            let shown = everything_shown(e);
            for secret in [PASSWORD, ACCESS, REFRESH, CLIENT_SECRET, "PW-sekrit-9%2Fx"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        // render() redacts what the request sends; render_with_secrets() shows the wire.
        let request = client.add_user().password(PASSWORD).request().unwrap();
        assert!(!client.render(&request).contains(PASSWORD));
        assert!(client.render_with_secrets(&request).contains(PASSWORD));
    }
}

#[test]
fn a_proxy_password_never_shows() {
    let e = Client::builder()
        .cluster("http://squirro.example.com")
        .proxy("http://user:PROXY-sekrit@127.0.0.1:9")
        .access_token(ACCESS)
        .tenant("acme")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let shown = format!("{e:?}");
    assert!(!shown.contains("PROXY-sekrit"), "{shown}");
    let err = e.get_users().send().unwrap_err();
    let shown = everything_shown(&err);
    assert!(!shown.contains("PROXY-sekrit"), "{shown}");
}

// ---- Bounded waits -------------------------------------------------------------------------

#[test]
fn calls_are_bounded_by_default() {
    assert!(format!("{:?}", RetryPolicy::default()).contains("deadline: Some(120s)"));
    assert_eq!(DEFAULT_DEADLINE, Duration::from_secs(120));
}

/// The client's timeout bounds an attempt wherever the server stalls: before the reply's
/// head, in the middle of its body, and on a connection that was pooled from a call before.
#[test]
fn the_client_timeout_bounds_a_stalled_reply_head_and_body() {
    let timeout = Duration::from_millis(300);
    let stalls: [fn() -> Answer; 2] = [
        || Answer::Hang,
        || {
            Answer::Stream(Box::new(|s| {
                use std::io::Write;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"users\": [",
                );
                let _ = s.flush();
                thread::sleep(Duration::from_secs(5));
            }))
        },
    ];
    for stall in stalls {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        // The first call is answered (its connection goes back to the pool), the second stalls.
        let server = Server::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
            0 => reply(200, json!({"users": []})),
            _ => stall(),
        });
        let client = builder(&server)
            .access_token(ACCESS)
            .timeout(timeout)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        client.get_users().send().unwrap();
        let t0 = Instant::now();
        // On a thread, so that a call the timeout does not end fails the test, not hangs it.
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || tx.send(client.get_users().send()));
        let e = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the client's timeout did not end the call")
            .unwrap_err();
        assert!(e.is_timeout(), "{e:?}");
        assert!(
            t0.elapsed() >= timeout && t0.elapsed() < timeout + Duration::from_secs(2),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}

/// A 503 asking for an hour ends the call at once, with the status and the server's wait.
#[test]
fn retry_after_beyond_the_deadline_fails_at_once() {
    for value in ["3600".to_string(), http_date_in(Duration::from_secs(7200))] {
        let server = Server::script([reply(503, json!({"error": "maintenance"}))
            .header("Retry-After", &value)
            .header("X-Request-Id", "req-42")]);
        let client = builder(&server)
            .access_token(ACCESS)
            .retry(RetryPolicy::default().sleep_with(|d| panic!("waited {d:?}")))
            .build()
            .unwrap();
        let started = Instant::now();
        let e = client.get_users().send().unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            matches!(&e, Error::UnknownStatus { status: 503, .. }),
            "{e:?}"
        );
        let reply = e.reply().unwrap();
        let wait = reply.retry_after().unwrap();
        assert!(wait > Duration::from_secs(3000), "{wait:?}");
        assert_eq!(reply.header("x-request-id"), Some("req-42"));
        assert_eq!(e.message(), Some("maintenance"));
        assert!(e.to_string().contains("retry after"), "{e}");
    }
}

fn http_date_in(d: Duration) -> String {
    let t = std::time::SystemTime::now() + d;
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let names = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "Mon, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        names[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
