//! Sessions that survive: authentication, refresh on 401, retries, timeouts, TLS, proxies, the
//! environment, and secrets kept out of every message, against real HTTP on 127.0.0.1.
//!
//! The servers here are small scripted HTTP/1.1 servers (keep-alive, `Content-Length`) that
//! record every request; backoff waits go to an injected sleep, so no test sleeps for real
//! except the timeouts it measures.

use serde_json::json;
use squirro_user_api::{Client, ClientBuilder, Error, Grant, RetryPolicy, Tokens};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use server::{Answer, Seen, Server, json as reply};

const CLIENT_SECRET: &str = "CLIENT-SEKRIT-1";
const ACCESS: &str = "ACCESS-SEKRIT-2";
const FRESH: &str = "FRESH-SEKRIT-3";
const REFRESH: &str = "REFRESH-SEKRIT-4";
const PASSWORD: &str = "PASSWORD-SEKRIT-5";
const SECRETS: [&str; 5] = [CLIENT_SECRET, ACCESS, FRESH, REFRESH, PASSWORD];

#[path = "support/server.rs"]
mod server;

/// The waits the retry policy asked for, instead of sleeping them.
fn recorded_sleeps() -> (RetryPolicy, Arc<Mutex<Vec<Duration>>>) {
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let log = sleeps.clone();
    (
        RetryPolicy::default().sleep_with(move |d| log.lock().unwrap().push(d)),
        sleeps,
    )
}

fn no_sleep() -> RetryPolicy {
    RetryPolicy::default().sleep_with(|d| panic!("unexpected wait of {d:?}"))
}

/// A client of `server` in tenant `acme`, with a client secret and no waits.
fn builder(server: &Server) -> ClientBuilder {
    Client::builder()
        .cluster(server.url())
        .tenant("acme")
        .client_id("tool")
        .client_secret(CLIENT_SECRET)
        .retry(no_sleep())
}

/// A token reply with the session facts.
fn token(access: &str) -> Answer {
    reply(
        200,
        json!({
            "access_token": access, "refresh_token": REFRESH, "tenant": "acme", "user_id": "u1",
            "session_id": "s1", "role": "admin", "role_permissions": ["admin", "user"],
            "project_permissions": {"p1": ["items.read.*"]}, "user_information": {"ip": "10.0.0.1"},
            "id_token": "ID-SEKRIT",
        }),
    )
}

fn users() -> Answer {
    reply(200, json!({"users": [{"id": "u1"}]}))
}

const USERS: &str = "GET /api/user/v0/acme/users";
const TOKEN: &str = "POST /api/user/oauth2/token";

/// Every `Display` and `Debug` of an error and its sources, one a line.
fn everything_shown(e: &Error) -> String {
    let mut shown = format!("{e}\n{e:?}\n");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        writeln!(shown, "{s}\n{s:?}").unwrap();
        source = s.source();
    }
    shown
}

fn assert_no_secret(shown: &str) {
    for secret in SECRETS.iter().chain(&["ID-SEKRIT"]) {
        assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
    }
}

/// A private CA and a server certificate for 127.0.0.1 it signed (valid 2000 to 2099; made
/// with `openssl ca`), and an unrelated CA. The key is a test key, not a secret.
mod tls {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    pub const CA: &str = "\
-----BEGIN CERTIFICATE-----
MIIBfTCCASSgAwIBAgICEAAwCgYIKoZIzj0EAwIwJTEjMCEGA1UEAwwac3F1aXJy
by11c2VyLWFwaSB0ZXN0IHJvb3QwIBcNMDAwMTAxMDAwMDAwWhgPMjA5OTEyMzEy
MzU5NTlaMCUxIzAhBgNVBAMMGnNxdWlycm8tdXNlci1hcGkgdGVzdCByb290MFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUc0HJPm0DQylfiIHuvuFer5TPav6SIWd
Dqul4w9RViytnG5Ld12dpg7G4Dv8RGluxy938k0sNt5HdkntDYAIjaNCMEAwDwYD
VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFMive3CkFpTa
MW+Po7XZKmU9Jut+MAoGCCqGSM49BAMCA0cAMEQCIBC7ErHKWCvIe1xBjXAMi8sw
vMLojKiSb3qlbP3c8ViQAiAIOG5sKsF+rwmlZXboUQddPZmxZ2OEbK/27kgxDDV9
Cw==
-----END CERTIFICATE-----
";
    pub const OTHER_CA: &str = "\
-----BEGIN CERTIFICATE-----
MIIBiDCCAS6gAwIBAgICEAEwCgYIKoZIzj0EAwIwKjEoMCYGA1UEAwwfc3F1aXJy
by11c2VyLWFwaSB1bnJlbGF0ZWQgcm9vdDAgFw0wMDAxMDEwMDAwMDBaGA8yMDk5
MTIzMTIzNTk1OVowKjEoMCYGA1UEAwwfc3F1aXJyby11c2VyLWFwaSB1bnJlbGF0
ZWQgcm9vdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFjZmQ2JWudhlu60p2bM
xuPP6u7v7MDCsmI47jrDGbvNkvGo87K+yqsAmRyvOkh2kkFMZ9V6OzXMp196+yr2
qb+jQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQW
BBTFVxJqIFLB8ObtoaRYZIvxXbLXWzAKBggqhkjOPQQDAgNIADBFAiEAz/ft+iJ0
c0w3Kp7DG7Xfb/fLLB2XvfGb3eK7x72xM5gCICe5x/6nPQrZSoxtNRjTLyoLWtqc
iYuOYCA/Ysig8SOP
-----END CERTIFICATE-----
";
    const SERVER_CERT: &str = "\
-----BEGIN CERTIFICATE-----
MIIBvTCCAWSgAwIBAgICEAIwCgYIKoZIzj0EAwIwJTEjMCEGA1UEAwwac3F1aXJy
by11c2VyLWFwaSB0ZXN0IHJvb3QwIBcNMDAwMTAxMDAwMDAwWhgPMjA5OTEyMzEy
MzU5NTlaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABDPc6v/QaP+xj2VEzT5zHSDxhsrNgiopSS21WCrFCE2/wVCrPmCNRnLS
2AFJv8fX8HEc9lc0eCVMbIKhEYbOKHCjgZIwgY8wDAYDVR0TAQH/BAIwADAOBgNV
HQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYcEfwAA
AYIJbG9jYWxob3N0MB0GA1UdDgQWBBSIV7igVJs+YZwqdegYU+9qyyqSAzAfBgNV
HSMEGDAWgBTIr3twpBaU2jFvj6O12SplPSbrfjAKBggqhkjOPQQDAgNHADBEAiAN
5i2sssSNQ0aubRMfIEf1IPbTVQZaciqvOnTOw+DFtgIgLrmXMWyQnG/yulNR0Gb3
r/84hY/YNMBPta+4/PZR15k=
-----END CERTIFICATE-----
";
    const SERVER_KEY: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgadxBoBqP2EhwLeN9
okjx9ctBs122sYWDlTs62VgiFV6hRANCAAQz3Or/0Gj/sY9lRM0+cx0g8YbKzYIq
KUkttVgqxQhNv8FQqz5gjUZy0tgBSb/H1/BxHPZXNHglTGyCoRGGzihw
-----END PRIVATE KEY-----
";

    /// `get_users` from `url` by a client given no roots: it trusts those of its TLS choice.
    pub fn get_users_with_default_roots(
        url: &str,
    ) -> Result<squirro_user_api::models::UserList, squirro_user_api::Error> {
        squirro_user_api::Client::builder()
            .cluster(url)
            .tenant("acme")
            .access_token(super::ACCESS)
            .retry(squirro_user_api::RetryPolicy::none())
            .build()
            .unwrap()
            .get_users()
            .send()
    }

    /// An HTTPS server on 127.0.0.1 answering every request with `{"users": []}`, and the count
    /// of connections it accepted.
    pub fn server() -> (String, Arc<AtomicUsize>) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert = CertificateDer::from_pem_slice(SERVER_CERT.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let config = config.clone();
                thread::spawn(move || {
                    let mut tls = rustls::StreamOwned::new(
                        rustls::ServerConnection::new(config).unwrap(),
                        stream,
                    );
                    let (mut head, mut buf) = (Vec::new(), [0; 1024]);
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = r#"{"users":[]}"#;
                    let _ = write!(
                        tls,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        (url, accepted)
    }
}

// ---- Authentication ----------------------------------------------------------------------

#[test]
fn the_four_grants_send_their_fields_and_keep_the_session() {
    let grants = [
        (
            Grant::refresh_token(REFRESH),
            "refresh_token",
            vec![("refresh_token", REFRESH)],
        ),
        (
            Grant::access_token(ACCESS),
            "access_token",
            vec![("access_token", ACCESS)],
        ),
        (
            Grant::password("admin@example.com", PASSWORD),
            "password",
            vec![("username", "admin@example.com"), ("password", PASSWORD)],
        ),
        (
            Grant::external_id("salesforce", "sfdc01"),
            "ext_id",
            vec![("auth_service", "salesforce"), ("auth_user", "sfdc01")],
        ),
    ];
    for (grant, grant_type, fields) in grants {
        assert_no_secret(&format!("{grant:?}"));
        let server = Server::script([token(FRESH)]);
        let persisted = Arc::new(Mutex::new(Vec::new()));
        let keep = persisted.clone();
        // No tenant on the builder: the token reply's is adopted.
        let client = Client::builder()
            .cluster(server.url())
            .client_id("tool")
            .client_secret(CLIENT_SECRET)
            .on_token_refresh(move |t: &Tokens| keep.lock().unwrap().push(t.clone()))
            .build()
            .unwrap();
        assert!(client.session().is_none());
        let info = client
            .authenticate(grant)
            .user_information(json!({"ip": "10.0.0.1"}))
            .send()
            .unwrap();

        let seen = &server.seen()[0];
        assert_eq!(seen.line(), TOKEN);
        assert_eq!(seen.header("authorization"), None);
        assert_eq!(
            seen.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(seen.form("grant_type").as_deref(), Some(grant_type));
        for (key, value) in fields {
            assert_eq!(
                seen.form(key).as_deref(),
                Some(value),
                "{grant_type}: {key}"
            );
        }
        assert_eq!(seen.form("client_id").as_deref(), Some("tool"));
        assert_eq!(seen.form("client_secret").as_deref(), Some(CLIENT_SECRET));
        assert_eq!(seen.form("tenant"), None);
        assert_eq!(
            seen.form("user_information").as_deref(),
            Some(r#"{"ip":"10.0.0.1"}"#)
        );

        let session = client.session().unwrap();
        assert_eq!(session, info);
        assert_eq!(session.user_id.as_deref(), Some("u1"));
        assert_eq!(session.tenant.as_deref(), Some("acme"));
        assert_eq!(session.session_id.as_deref(), Some("s1"));
        assert_eq!(session.role.as_deref(), Some("admin"));
        assert_eq!(session.role_permissions, ["admin", "user"]);
        assert_eq!(
            session.project_permissions,
            Some(json!({"p1": ["items.read.*"]}))
        );
        assert_eq!(session.user_information, Some(json!({"ip": "10.0.0.1"})));
        assert!(
            session.extra.is_empty(),
            "secret-named fields are not kept: {:?}",
            session.extra
        );
        assert_eq!(client.tenant().as_deref(), Some("acme"));
        let tokens = Tokens {
            access_token: Some(FRESH.into()),
            refresh_token: Some(REFRESH.into()),
        };
        assert_eq!(client.tokens(), tokens);
        assert_eq!(*persisted.lock().unwrap(), vec![tokens.clone()]);
        assert_no_secret(&format!("{client:?} {session:?} {tokens:?}"));
    }
}

#[test]
fn with_only_a_refresh_token_the_first_call_gets_an_access_token_first() {
    let server = Server::script([token(FRESH), users()]);
    let client = builder(&server).refresh_token(REFRESH).build().unwrap();
    assert_eq!(client.get_users().send().unwrap().users[0].id, "u1");
    assert_eq!(server.lines(), [TOKEN, USERS]);
    let seen = server.seen();
    assert_eq!(seen[0].form("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(seen[0].form("refresh_token").as_deref(), Some(REFRESH));
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[1].bearer(), Some(FRESH));
}

#[test]
fn a_refresh_token_alone_is_enough_the_tenant_comes_from_the_token() {
    let server = Server::script([token(FRESH), users()]);
    let client = Client::builder()
        .cluster(server.url())
        .refresh_token(REFRESH)
        .retry(no_sleep())
        .build()
        .unwrap();
    assert_eq!(client.tenant(), None);
    assert_eq!(client.get_users().send().unwrap().users[0].id, "u1");
    assert_eq!(client.tenant().as_deref(), Some("acme"));
    assert_eq!(server.lines(), [TOKEN, USERS]);
}

// ---- Refresh -----------------------------------------------------------------------------

#[test]
fn a_401_refreshes_the_tokens_and_repeats_the_call_once() {
    let server = Server::script([reply(401, r#"{"error":"expired"}"#), token(FRESH), users()]);
    let persisted = Arc::new(Mutex::new(Vec::new()));
    let keep = persisted.clone();
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .on_token_refresh(move |t: &Tokens| keep.lock().unwrap().push(t.access_token.clone()))
        .build()
        .unwrap();
    client.get_users().send().unwrap();
    assert_eq!(server.lines(), [USERS, TOKEN, USERS]);
    let seen = server.seen();
    assert_eq!(seen[0].bearer(), Some(ACCESS));
    assert_eq!(seen[1].form("refresh_token").as_deref(), Some(REFRESH));
    assert_eq!(seen[2].bearer(), Some(FRESH));
    assert_eq!(*persisted.lock().unwrap(), [Some(FRESH.to_string())]);
}

#[test]
fn a_refused_refresh_reports_the_401_and_does_not_loop() {
    let is_token = |seen: &Seen| seen.path().ends_with("/oauth2/token");
    let check = |server: &Server, lines: &[&str]| {
        let client = builder(server)
            .access_token(ACCESS)
            .refresh_token(REFRESH)
            .build()
            .unwrap();
        let e = client.get_users().send().unwrap_err();
        assert!(
            matches!(&e, Error::Authorization { status: 401, .. }),
            "{e:?}"
        );
        assert_eq!(server.lines(), lines);
        e
    };

    // The token endpoint refuses the refresh token: the call's 401 is reported.
    let server = Server::script([
        reply(401, r#"{"error":"expired"}"#),
        reply(403, r#"{"error":"revoked"}"#),
    ]);
    assert_eq!(check(&server, &[USERS, TOKEN]).message(), Some("expired"));

    // It keeps handing out the refused token: three token requests, then the 401.
    let server = Server::start(move |seen| {
        if is_token(seen) {
            token(ACCESS)
        } else {
            reply(401, "{}")
        }
    });
    check(&server, &[USERS, TOKEN, TOKEN, TOKEN]);

    // The new token is refused too: one refresh, one repeat, then the 401.
    let server = Server::start(move |seen| {
        if is_token(seen) {
            token(FRESH)
        } else {
            reply(401, "{}")
        }
    });
    check(&server, &[USERS, TOKEN, USERS]);
}

#[test]
fn a_rotated_refresh_token_is_used_for_the_next_token_request() {
    // The first refresh hands back the refused access token but a new refresh token: the
    // second token request must use the new one (as the Python client does).
    let server = Server::script([
        reply(401, r#"{"error":"expired"}"#),
        reply(
            200,
            json!({"access_token": ACCESS, "refresh_token": "rotated-r3fresh"}),
        ),
        token(FRESH),
        users(),
    ]);
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .build()
        .unwrap();
    client.get_users().send().unwrap();
    assert_eq!(server.lines(), [USERS, TOKEN, TOKEN, USERS]);
    let seen = server.seen();
    assert_eq!(seen[1].form("refresh_token").as_deref(), Some(REFRESH));
    assert_eq!(
        seen[2].form("refresh_token").as_deref(),
        Some("rotated-r3fresh")
    );
    assert_eq!(seen[3].bearer(), Some(FRESH));
}

#[test]
fn signup_with_a_refused_token_refreshes_and_repeats_like_python() {
    const SIGNUP: &str = "POST /api/user/v2/signup";
    let server = Server::script([
        reply(401, r#"{"error":"expired"}"#),
        token(FRESH),
        reply(201, json!({"user_id": "u9", "tenant": "t9"})),
    ]);
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .build()
        .unwrap();
    assert_eq!(client.signup("a@b.c", "pw").send().unwrap().user_id, "u9");
    assert_eq!(server.lines(), [SIGNUP, TOKEN, SIGNUP]);
    assert_eq!(server.seen()[2].bearer(), Some(FRESH));

    // Without a token there is nothing to refresh: the 401 is reported at once.
    let server = Server::script([reply(401, r#"{"error":"no"}"#)]);
    let anonymous = builder(&server).build().unwrap();
    let e = anonymous.signup("a@b.c", "pw").send().unwrap_err();
    assert!(
        matches!(&e, Error::Authorization { status: 401, .. }),
        "{e:?}"
    );
    assert_eq!(server.lines(), [SIGNUP]);
}

#[test]
fn clones_that_hit_a_401_together_refresh_once() {
    const THREADS: usize = 4;
    let refused = Arc::new(AtomicUsize::new(0));
    let count = refused.clone();
    let server = Server::start(move |seen| {
        if seen.path().ends_with("/oauth2/token") {
            return token(FRESH);
        }
        if seen.bearer() == Some(FRESH) {
            return users();
        }
        // Hold each 401 until every thread has sent its call, so all of them refresh at once.
        count.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        while count.load(Ordering::SeqCst) < THREADS && start.elapsed() < Duration::from_secs(10) {
            thread::sleep(Duration::from_millis(2));
        }
        reply(401, "{}")
    });
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .build()
        .unwrap();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let client = client.clone();
            thread::spawn(move || client.get_users().send().map(|list| list.users.len()))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), 1);
    }
    let lines = server.lines();
    assert_eq!(refused.load(Ordering::SeqCst), THREADS, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| *l == TOKEN).count(), 1, "{lines:?}");
    assert_eq!(lines.len(), 2 * THREADS + 1, "{lines:?}");
}

// ---- Retries -----------------------------------------------------------------------------

#[test]
fn unavailable_twice_then_success_takes_three_attempts() {
    let server = Server::script([reply(503, ""), reply(503, ""), users()]);
    let (policy, sleeps) = recorded_sleeps();
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(policy)
        .build()
        .unwrap();
    client.get_users().send().unwrap();
    assert_eq!(server.lines(), [USERS; 3]);
    // As urllib3: no wait before the first retry, then factor * 2^(n-1).
    assert_eq!(*sleeps.lock().unwrap(), [Duration::from_secs(2)]);
    assert!(
        server.seen().iter().all(|s| s.connection == 0),
        "one keep-alive connection"
    );
}

#[test]
fn a_post_is_not_repeated_when_the_server_may_have_processed_it() {
    const ADD_USER: &str = "POST /api/user/v0/acme/users";
    let created = || reply(201, r#"{"id":"u2"}"#);

    // 502: not repeated by default ...
    let server = Server::script([reply(502, ""), created()]);
    let client = builder(&server).access_token(ACCESS).build().unwrap();
    let e = client.add_user().send().unwrap_err();
    assert!(
        matches!(&e, Error::UnknownStatus { status: 502, .. }),
        "{e:?}"
    );
    assert_eq!(server.lines(), [ADD_USER]);

    // ... repeated when the caller opts in.
    let server = Server::script([reply(502, ""), created()]);
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(no_sleep().retry_non_idempotent(true))
        .build()
        .unwrap();
    assert_eq!(client.add_user().send().unwrap().id, "u2");
    assert_eq!(server.lines(), [ADD_USER; 2]);

    // 503 and 429 say the request was not processed: repeated by default.
    let server = Server::script([reply(503, ""), reply(429, ""), created()]);
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(recorded_sleeps().0)
        .build()
        .unwrap();
    assert_eq!(client.add_user().send().unwrap().id, "u2");
    assert_eq!(server.lines(), [ADD_USER; 3]);

    // A connection that dies once the request was sent: a GET is repeated, a POST is not.
    let server = Server::script([
        Answer::Close,
        Answer::Close,
        users(),
        Answer::Close,
        created(),
    ]);
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(recorded_sleeps().0)
        .build()
        .unwrap();
    client.get_users().send().unwrap();
    let e = client.add_user().send().unwrap_err();
    assert!(matches!(&e, Error::Connection { .. }), "{e:?}");
    assert_eq!(server.lines(), [USERS, USERS, USERS, ADD_USER]);
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let in_5s = http_date(SystemTime::now() + Duration::from_secs(5));
    let server = Server::script([
        reply(503, "").header("Retry-After", 3),
        reply(429, "").header("Retry-After", 86_400),
        reply(503, "").header("Retry-After", in_5s),
        users(),
    ]);
    let (policy, sleeps) = recorded_sleeps();
    // Without a deadline, a long Retry-After is cut to max_retry_after (with the default
    // deadline it would end the call at once: see retry_after_beyond_the_deadline_fails_at_once).
    let policy = policy
        .max_retry_after(Duration::from_secs(30))
        .deadline(None);
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(policy)
        .build()
        .unwrap();
    client.get_users().send().unwrap();
    let sleeps = sleeps.lock().unwrap().clone();
    assert_eq!(
        sleeps[..2],
        [Duration::from_secs(3), Duration::from_secs(30)]
    );
    assert!(
        (Duration::from_secs(3)..=Duration::from_secs(5)).contains(&sleeps[2]),
        "{sleeps:?}"
    );
    assert_eq!(sleeps.len(), 3);
}

#[test]
fn a_413_with_retry_after_is_retried_like_urllib3() {
    // A 413 with Retry-After is retried (urllib3 does), even for a POST: it was not processed.
    const ADD: &str = "POST /api/user/v0/acme/groups/g1";
    let server = Server::script([
        reply(413, "").header("Retry-After", 0),
        reply(200, json!({"id": "u1"})),
    ]);
    let client = builder(&server).access_token(ACCESS).build().unwrap();
    client.add_group_member("g1", "u1").send().unwrap();
    assert_eq!(server.lines(), [ADD, ADD]);
    // Without Retry-After a 413 is an answer, not retried.
    let server = Server::script([reply(413, r#"{"error":"too large"}"#)]);
    let client = builder(&server).access_token(ACCESS).build().unwrap();
    let e = client.add_group_member("g1", "u1").send().unwrap_err();
    assert_eq!(e.status(), Some(413));
    assert_eq!(server.lines(), [ADD]);
}

#[test]
fn exhausted_retries_report_the_last_status() {
    let server = Server::script([reply(503, ""), reply(502, ""), reply(504, "")]);
    let (policy, sleeps) = recorded_sleeps();
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(policy.max_attempts(3))
        .build()
        .unwrap();
    let e = client.get_users().send().unwrap_err();
    assert!(
        matches!(
            &e,
            Error::RetriesExhausted {
                attempts: 3,
                last_status: Some(504),
                last_error: None
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "gave up after 3 attempts, last HTTP status 504"
    );
    assert_eq!(e.status(), Some(504));
    assert_eq!(*sleeps.lock().unwrap(), [Duration::from_secs(2)]);
}

#[test]
fn the_deadline_bounds_the_whole_call() {
    // No wait starts that would end past the deadline: the reply is the outcome.
    let server = Server::script([
        reply(503, r#"{"error":"busy"}"#).header("Retry-After", 60),
        users(),
    ]);
    let policy = no_sleep().deadline(Duration::from_secs(5));
    let client = builder(&server)
        .access_token(ACCESS)
        .retry(policy)
        .build()
        .unwrap();
    let e = client.get_users().send().unwrap_err();
    assert!(
        matches!(&e, Error::UnknownStatus { status: 503, .. }),
        "{e:?}"
    );
    assert_eq!(server.lines(), [USERS]);

    // An attempt's timeout is cut to the time left, the token refresh's included.
    let server = Server::start(|_| Answer::Hang);
    let deadline = Duration::from_millis(300);
    for client in [
        builder(&server).access_token(ACCESS),
        builder(&server).refresh_token(REFRESH),
    ] {
        let client = client
            .timeout(Duration::from_secs(30))
            .retry(RetryPolicy::default().deadline(deadline))
            .build()
            .unwrap();
        let t0 = Instant::now();
        let e = client.get_users().send().unwrap_err();
        assert!(e.is_timeout(), "{e:?}");
        assert!(
            t0.elapsed() >= deadline && t0.elapsed() < deadline + Duration::from_secs(2),
            "{:?}",
            t0.elapsed()
        );
    }
    assert_eq!(server.lines(), [USERS, TOKEN]);
}

// ---- Timeouts and connections ------------------------------------------------------------

#[test]
fn a_server_that_never_answers_times_out() {
    let server = Server::start(|_| Answer::Hang);
    let timeout = Duration::from_millis(300);
    let slack = Duration::from_secs(2);
    let (policy, sleeps) = recorded_sleeps();
    let client = builder(&server)
        .access_token(ACCESS)
        .timeout(timeout)
        .retry(policy.max_attempts(2))
        .build()
        .unwrap();

    let t0 = Instant::now();
    let e = client.get_users().send().unwrap_err();
    let took = t0.elapsed();
    assert!(
        matches!(
            &e,
            Error::RetriesExhausted {
                attempts: 2,
                last_status: None,
                ..
            }
        ) && e.is_timeout(),
        "{e:?}"
    );
    assert!(
        took >= 2 * timeout && took < 2 * timeout + slack,
        "{took:?}"
    );
    assert!(sleeps.lock().unwrap().is_empty());

    // A POST the server may be processing is not repeated.
    let t0 = Instant::now();
    let e = client.add_user().send().unwrap_err();
    assert!(
        matches!(&e, Error::Connection { .. }) && e.is_timeout(),
        "{e:?}"
    );
    assert!(t0.elapsed() < timeout + slack, "{:?}", t0.elapsed());
    assert_eq!(server.lines().len(), 3);
}

#[test]
fn a_refused_connection_is_a_connection_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = |policy| {
        let url = format!("http://127.0.0.1:{port}");
        Client::builder()
            .cluster(url)
            .tenant("acme")
            .access_token(ACCESS)
            .retry(policy)
            .build()
            .unwrap()
    };
    let e = client(RetryPolicy::none()).get_users().send().unwrap_err();
    assert!(
        matches!(&e, Error::Connection { host, .. } if *host == format!("127.0.0.1:{port}")),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("connection to 127.0.0.1:{port} failed: ")),
        "{e}"
    );
    assert!(!e.is_timeout());

    // Nothing was sent, so even a POST is tried again.
    let (policy, sleeps) = recorded_sleeps();
    let e = client(policy.max_attempts(3))
        .add_user()
        .send()
        .unwrap_err();
    let Error::RetriesExhausted {
        attempts: 3,
        last_status: None,
        last_error: Some(last),
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(**last, Error::Connection { .. }), "{e:?}");
    assert_eq!(*sleeps.lock().unwrap(), [Duration::from_secs(2)]);

    // By default, as urllib3's connect=5: six attempts, about 30 s of backoff, not minutes.
    let (policy, sleeps) = recorded_sleeps();
    let e = client(policy).get_users().send().unwrap_err();
    assert!(
        matches!(&e, Error::RetriesExhausted { attempts: 6, .. }),
        "{e:?}"
    );
    let waited: Duration = sleeps.lock().unwrap().iter().sum();
    assert_eq!(waited, Duration::from_secs(2 + 4 + 8 + 16));
}

// ---- TLS ---------------------------------------------------------------------------------

#[test]
fn tls_trusts_the_given_roots_only() {
    let (url, accepted) = tls::server();
    let (policy, sleeps) = recorded_sleeps();
    let client = |pems: &[&str]| {
        let mut b = Client::builder()
            .cluster(&url)
            .tenant("acme")
            .access_token(ACCESS)
            .retry(policy.clone());
        for pem in pems {
            b = b.root_certificates_pem(*pem);
        }
        b.build()
    };

    // A bundle of two: the second certificate counts as much as the first.
    let bundle = format!("{}{}", tls::OTHER_CA, tls::CA);
    assert!(
        client(&[&bundle])
            .unwrap()
            .get_users()
            .send()
            .unwrap()
            .users
            .is_empty()
    );
    client(&[tls::OTHER_CA, tls::CA])
        .unwrap()
        .get_users()
        .send()
        .unwrap();

    // Another CA, or the built-in roots: refused, and not retried.
    let before = accepted.load(Ordering::SeqCst);
    for roots in [&[tls::OTHER_CA][..], &[]] {
        let e = client(roots).unwrap().get_users().send().unwrap_err();
        assert!(matches!(&e, Error::Connection { .. }), "{e:?}");
        assert!(e.to_string().contains("certificate"), "{e}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst) - before, 2);
    assert!(sleeps.lock().unwrap().is_empty());

    // Bundles that are not PEM certificates.
    let bad = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
    for pem in [bad, "no PEM here"] {
        let e = client(&[pem]).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { param, .. } if param == "root_certificates"),
            "{e:?}"
        );
    }
}

/// Without `root_certificates_pem` the client trusts the default roots of its TLS choice:
/// Mozilla's, compiled in, by default; the operating system's with `platform-verifier` or
/// `native-tls`. A child process points the OS store at the test CA with `SSL_CERT_FILE`
/// (read by OpenSSL and by rustls-native-certs on Linux), so the machine's own trust store is
/// never changed; the parent, without it, is refused by every choice (the machine does not
/// trust the test CA).
#[test]
fn tls_default_roots_are_those_of_the_tls_choice() {
    let (url, _) = tls::server();
    let e = tls::get_users_with_default_roots(&url).unwrap_err();
    assert!(matches!(&e, Error::Connection { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");

    let ca = std::env::temp_dir().join(format!(
        "squirro-user-api-test-ca-{}.pem",
        std::process::id()
    ));
    std::fs::write(&ca, tls::CA).unwrap();
    let ca_path = ca.to_str().unwrap().to_owned();
    run_child(
        "tls-os-store",
        &[
            ("SESSIONS_TLS_URL", url.as_str()),
            ("SSL_CERT_FILE", ca_path.as_str()),
        ],
    );
    std::fs::remove_file(&ca).unwrap();
}

// ---- Secrets -----------------------------------------------------------------------------

#[test]
fn secrets_never_show_in_errors_or_debug() {
    let echo = json!({
        "error": format!("bad refresh_token={REFRESH}"),
        "refresh_token": REFRESH,
        "request": {"password": PASSWORD, "client_secret": CLIENT_SECRET, "authorization": format!("Bearer {ACCESS}")},
    });
    let server = Server::script([
        reply(400, &echo),
        reply(403, &echo),
        reply(
            502,
            format!(
                "<html>Bearer {ACCESS} access_token={ACCESS}&client_secret={CLIENT_SECRET}</html>"
            ),
        ),
        reply(409, &echo),
        reply(401, &echo),
        reply(403, &echo),
    ]);
    let builder = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .retry(RetryPolicy::none());
    let client = builder.clone().build().unwrap();
    let mut errors = vec![
        client
            .authenticate(Grant::password("admin@example.com", PASSWORD))
            .send()
            .unwrap_err(),
        client
            .authenticate(Grant::refresh_token(REFRESH))
            .send()
            .unwrap_err(),
        client.get_user_grants("u1").send().unwrap_err(),
        client.add_user().send().unwrap_err(),
        client.get_users().send().unwrap_err(),
    ];
    assert!(
        matches!(errors[0], Error::Client { status: 400, .. }),
        "{:?}",
        errors[0]
    );
    assert!(
        matches!(
            errors[1],
            Error::Authentication {
                status: Some(403),
                ..
            }
        ),
        "{:?}",
        errors[1]
    );
    assert!(
        matches!(
            errors[2],
            Error::InvalidReply {
                status: Some(502),
                ..
            }
        ),
        "{:?}",
        errors[2]
    );
    assert!(
        matches!(errors[3], Error::Conflict { status: 409, .. }),
        "{:?}",
        errors[3]
    );
    assert!(
        matches!(errors[4], Error::Authorization { status: 401, .. }),
        "{:?}",
        errors[4]
    );
    assert_eq!(errors[0].message(), Some("bad refresh_token=<redacted>"));
    assert_eq!(
        errors[0].body().unwrap()["request"]["password"],
        "<redacted>"
    );

    // The client secret goes in the query of get_user_grants: a failed connection shows none.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = builder.cluster(format!("http://127.0.0.1:{port}"));
    errors.push(
        dead.clone()
            .build()
            .unwrap()
            .get_user_grants("u1")
            .send()
            .unwrap_err(),
    );
    let (policy, _) = recorded_sleeps();
    errors.push(
        dead.clone()
            .retry(policy.max_attempts(2))
            .build()
            .unwrap()
            .get_user_grants("u1")
            .send()
            .unwrap_err(),
    );
    assert!(
        matches!(errors[6], Error::RetriesExhausted { .. }),
        "{:?}",
        errors[6]
    );

    for e in &errors {
        assert_no_secret(&everything_shown(e));
    }
    assert_no_secret(&format!(
        "{client:?}\n{dead:?}\n{:?}\n{:?}",
        client.tokens(),
        Grant::password("a@b.c", PASSWORD)
    ));
}

#[test]
fn a_redirect_to_another_origin_never_carries_the_token() {
    let other = Server::start(|_| users());
    let elsewhere = format!("{}/api/user/v0/acme/users", other.url());
    let server = Server::start(move |seen| match (seen.method.as_str(), seen.path()) {
        ("GET", "/api/user/v0/acme/users") | ("POST", "/api/user/v0/acme/users") => {
            reply(if seen.method == "GET" { 302 } else { 307 }, "").header("Location", &elsewhere)
        }
        ("GET", "/api/user/v0/acme/groups") => {
            reply(301, "").header("Location", "/api/user/v0/acme/moved")
        }
        ("POST", "/api/user/v0/acme/groups") => {
            reply(308, "").header("Location", "/api/user/v0/acme/moved")
        }
        ("GET", "/api/user/v0/acme/moved") => reply(200, "[]"),
        ("POST", "/api/user/v0/acme/moved") => reply(201, r#"{"id":"g1","name":"Team"}"#),
        _ => reply(404, "{}"),
    });
    let client = builder(&server).access_token(ACCESS).build().unwrap();

    // Another port of the same host is another origin: followed without the token.
    assert_eq!(client.get_users().send().unwrap().users.len(), 1);
    let there = other.seen();
    assert_eq!(there.len(), 1);
    assert_eq!(there[0].header("authorization"), None);

    // A request with a body is not sent to another origin: the 307 is the outcome.
    let e = client.add_user().send().unwrap_err();
    assert_eq!(e.status(), Some(307), "{e:?}");
    assert_eq!(other.seen().len(), 1);

    // On the same origin the token (and the body) follow.
    assert!(client.get_groups().send().unwrap().is_empty());
    assert_eq!(client.create_group("Team").send().unwrap().id, "g1");
    let seen = server.seen();
    let moved: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.path() == "/api/user/v0/acme/moved")
        .collect();
    assert_eq!(moved.len(), 2);
    assert!(moved.iter().all(|s| s.bearer() == Some(ACCESS)));
    assert_eq!(moved[1].method, "POST");
    assert_eq!(
        moved[1].body,
        seen.iter()
            .find(|s| s.line() == "POST /api/user/v0/acme/groups")
            .unwrap()
            .body
    );
}

// ---- Logging -----------------------------------------------------------------------------

mod logs {
    use std::sync::Mutex;
    use std::thread::{self, ThreadId};

    static RECORDS: Mutex<Vec<(ThreadId, String)>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::Level::Debug
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            RECORDS.lock().unwrap().push((thread::current().id(), line));
        }
        fn flush(&self) {}
    }

    /// Captures log records up to `debug` from now on (for the whole test binary).
    pub fn capture() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            log::set_logger(&Capture).unwrap();
            log::set_max_level(log::LevelFilter::Debug);
        });
    }

    /// The records logged on this thread.
    pub fn mine() -> Vec<String> {
        let me = thread::current().id();
        RECORDS
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == me)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

#[test]
fn one_debug_line_per_request_and_no_secret_in_any_log_line() {
    logs::capture();
    let server = Server::script([
        reply(401, "{}"),
        token(FRESH),
        reply(200, r#"{"grants":[]}"#),
        reply(503, ""),
        users(),
    ]);
    let client = builder(&server)
        .access_token(ACCESS)
        .refresh_token(REFRESH)
        .retry(recorded_sleeps().0)
        .build()
        .unwrap();
    client.get_user_grants("u1").send().unwrap();
    client.get_users().send().unwrap();
    client
        .authenticate(Grant::password("admin@example.com", PASSWORD))
        .send()
        .unwrap_err();

    let lines = logs::mine();
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("DEBUG squirro_user_api"))
        .collect();
    let expected = [
        "GET /v0/acme/users/u1/grants -> 401 (attempt 1, ",
        "POST /oauth2/token -> 200 (attempt 1, ",
        "GET /v0/acme/users/u1/grants -> 200 (attempt 1, ",
        "GET /v0/acme/users -> 503 (attempt 1, ",
        "GET /v0/acme/users -> 200 (attempt 2, ",
        "POST /oauth2/token -> 599 (attempt 1, ",
    ];
    assert_eq!(ours.len(), expected.len(), "{ours:#?}");
    for (line, start) in ours.iter().zip(expected) {
        assert!(line.contains(start), "{line:?} does not contain {start:?}");
    }
    assert!(
        lines.iter().any(|l| l.contains(" ureq")),
        "ureq's own debug lines are checked too: {lines:#?}"
    );
    assert_no_secret(&lines.join("\n"));
}

// ---- The environment: child processes, since the environment is the process's -----------

const CHILD: &str = "SESSIONS_TEST_CHILD";

/// Runs the test `child` in a process of its own, whose `SQUIRRO_*` and proxy variables are
/// `vars` and nothing else.
fn run_child(scenario: &str, vars: &[(&str, &str)]) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["child", "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD, scenario);
    for (name, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
        if name.starts_with("SQUIRRO_") || name.to_ascii_lowercase().ends_with("_proxy") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "child {scenario}:\n{text}"
    );
}

/// The other half of the tests below; does nothing unless run by `run_child`.
#[test]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    if scenario == "tls-os-store" {
        // SSL_CERT_FILE holds the test CA: the OS store trusts it, the compiled-in roots do not.
        let url = std::env::var("SESSIONS_TLS_URL").unwrap();
        let result = tls::get_users_with_default_roots(&url);
        if cfg!(any(feature = "native-tls", feature = "platform-verifier")) {
            assert!(result.unwrap().users.is_empty());
        } else {
            let e = result.unwrap_err();
            assert!(e.to_string().contains("certificate"), "{e}");
        }
        return;
    }
    if scenario == "proxy" {
        // A loopback cluster is reached directly, whatever the proxy variables say.
        assert_eq!(
            Client::from_env()
                .unwrap()
                .get_users()
                .send()
                .unwrap()
                .users
                .len(),
            1
        );
        // Another host goes through the proxy (which answers itself).
        let client = Client::builder()
            .cluster("http://squirro.invalid")
            .tenant("acme")
            .access_token(ACCESS)
            .retry(RetryPolicy::none());
        assert_eq!(
            client
                .build()
                .unwrap()
                .get_users()
                .send()
                .unwrap()
                .users
                .len(),
            1
        );
        return;
    }
    // Otherwise the scenario is the variable the error must name.
    for e in [
        Client::from_env().unwrap_err(),
        ClientBuilder::from_env().unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::InvalidInput { param, .. } if *param == scenario),
            "{e:?}"
        );
        assert!(
            e.to_string().starts_with(&format!("invalid {scenario}: ")),
            "{e}"
        );
        assert_no_secret(&everything_shown(&e));
    }
}

#[test]
fn the_environment_proxy_is_used_except_for_loopback() {
    let api = Server::script([token(FRESH), users()]);
    let proxy = Server::start(|seen| {
        if seen.method == "CONNECT" {
            reply(200, "")
        } else {
            users()
        }
    });
    let (cluster, proxy_url) = (api.url(), proxy.url());
    let mut vars = vec![
        ("SQUIRRO_CLUSTER", cluster.as_str()),
        ("SQUIRRO_TENANT", "acme"),
        ("SQUIRRO_TOKEN", REFRESH),
    ];
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        vars.push((name, &proxy_url));
    }
    run_child("proxy", &vars);
    assert_eq!(api.lines(), [TOKEN, USERS]);
    let through: Vec<String> = proxy
        .seen()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s.method,
                s.target,
                s.header("host").unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        through,
        [
            "CONNECT squirro.invalid:80 squirro.invalid:80",
            "GET /api/user/v0/acme/users squirro.invalid"
        ]
    );
}

#[test]
fn from_env_names_the_missing_or_malformed_variable() {
    let cluster = ("SQUIRRO_CLUSTER", "https://squirro.example.com");
    let tenant = ("SQUIRRO_TENANT", "acme");
    run_child("SQUIRRO_CLUSTER", &[]);
    run_child(
        "SQUIRRO_CLUSTER",
        &[
            ("SQUIRRO_CLUSTER", "squirro.example.com"),
            tenant,
            ("SQUIRRO_TOKEN", REFRESH),
        ],
    );
    // The tenant is optional, but a blank-looking one that is set must be well-formed.
    run_child(
        "SQUIRRO_TENANT",
        &[
            cluster,
            ("SQUIRRO_TENANT", "acme\u{7}"),
            ("SQUIRRO_TOKEN", REFRESH),
        ],
    );
    run_child("SQUIRRO_TOKEN", &[cluster, tenant]);
    run_child(
        "SQUIRRO_TOKEN",
        &[
            cluster,
            tenant,
            ("SQUIRRO_TOKEN", &format!("{REFRESH} {REFRESH}")),
        ],
    );
}

/// An HTTP date (IMF-fixdate) for `Retry-After`.
fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][month as usize - 1];
    format!(
        "{weekday}, {day:02} {name} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
