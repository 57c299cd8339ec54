//! What the network benchmarks share: the bare ureq loop the SDK is compared with, the check
//! that both put the same bytes on the wire, and the interleaved A/B measurement.

#![allow(dead_code)] // each bench uses its own part

#[path = "../../tests/support/server.rs"]
mod server;

use server::{Answer, Server};
use squirro_user_api::{Client, ClientBuilder};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// A reply body like the fake's `get_user_data` reply, for the capture server.
pub const USER_JSON: &str = r#"{"email":"admin@acme.example","full_name":"Acme Admin","id":"z63dXPIz70iDYrSsgqaeWC","role":"admin","role_permissions":["admin"],"tenant":"acme","groups":[]}"#;

/// The `get_user_data` URL, written by hand as the bare loop would write it.
pub fn user_url(cluster: &str, tenant: &str, user_id: &str) -> String {
    format!("{cluster}/api/user/v1/{tenant}/users/{user_id}?include_projects=False")
}

/// An SDK client as a script would make it: the defaults, only the cluster set.
pub fn sdk_client(cluster: &str) -> ClientBuilder {
    Client::builder().cluster(cluster)
}

/// The bare loop: a ureq agent with the settings that shape the request bytes (user agent,
/// `Accept-Encoding`) taken from the SDK's request, so both send the same bytes.
#[derive(Clone)]
pub struct Bare {
    agent: ureq::Agent,
    url: String,
    authorization: String,
    shape: Shape,
}

/// The agent settings that shape the request bytes.
#[derive(Clone)]
struct Shape {
    user_agent: Option<String>,
    accept_encoding: Option<String>,
}

impl Shape {
    fn config(&self) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None);
        if let Some(ua) = &self.user_agent {
            config = config.user_agent(ua);
        }
        if let Some(ae) = &self.accept_encoding {
            config = config.accept_encoding(ae);
        }
        config
    }
}

impl Bare {
    /// A bare loop for `url` with `Authorization: Bearer {token}`, shaped after `sdk_head`
    /// (the SDK's request head as captured).
    pub fn new(url: String, token: &str, sdk_head: &[u8]) -> Bare {
        let head = String::from_utf8_lossy(sdk_head);
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        Bare::with(
            url,
            token,
            header("user-agent").as_deref(),
            header("accept-encoding").as_deref(),
        )
    }

    /// A bare loop with this `User-Agent` and `Accept-Encoding` (ureq's defaults for `None`).
    pub fn with(
        url: String,
        token: &str,
        user_agent: Option<&str>,
        accept_encoding: Option<&str>,
    ) -> Bare {
        let shape = Shape {
            user_agent: user_agent.map(str::to_string),
            accept_encoding: accept_encoding.map(str::to_string),
        };
        Bare {
            agent: ureq::Agent::new_with_config(shape.config().build()),
            url,
            authorization: format!("Bearer {token}"),
            shape,
        }
    }

    /// This loop with ureq timeouts of 55 s per call and 10 s to connect (the SDK's timeout
    /// and connect timeout, which the SDK applies its own way: see `transport::steady`) and,
    /// when `cached_resolver`, the [`CachingResolver`]: what ureq's resolver costs once a
    /// timeout is set.
    pub fn with_sdk_timeouts(&self, cached_resolver: bool) -> Bare {
        let config = self
            .shape
            .config()
            .timeout_global(Some(Duration::from_secs(55)))
            .timeout_connect(Some(Duration::from_secs(10)))
            .build();
        let agent = if cached_resolver {
            ureq::Agent::with_parts(
                config,
                DefaultConnector::default(),
                CachingResolver::new(Duration::from_secs(30)),
            )
        } else {
            ureq::Agent::new_with_config(config)
        };
        Bare {
            agent,
            url: self.url.clone(),
            authorization: self.authorization.clone(),
            shape: self.shape.clone(),
        }
    }

    /// One `GET`, the body read to the end (so the connection goes back to the pool).
    pub fn get(&self) -> Result<Vec<u8>, ureq::Error> {
        let mut resp = self
            .agent
            .get(&self.url)
            .header("Accept", "application/json")
            .header("Authorization", &self.authorization)
            .call()?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec()?;
        assert_eq!(status, 200, "bare GET: {}", String::from_utf8_lossy(&body));
        Ok(body)
    }
}

/// Runs `send` against the tests' scripted HTTP server on loopback and returns the bytes of
/// the request it received (head and body). The server answers 200 with [`USER_JSON`].
pub fn capture(send: impl FnOnce(&str)) -> Vec<u8> {
    let server = Server::start(|_| Answer::Reply {
        status: 200,
        headers: Vec::new(),
        body: USER_JSON.to_string(),
    });
    send(&server.url());
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "one request captured");
    seen.into_iter().next().map(|s| s.raw).unwrap_or_default()
}

/// Checks that the SDK's `get_user_data` and the bare loop put the same bytes on the wire
/// (same URL, same token); returns the bare loop's settings shaped after the SDK's request.
/// Panics, showing both, when they differ.
pub fn same_bytes_check(tenant: &str, user_id: &str, token: &str) -> Vec<u8> {
    let sdk = capture(|url| {
        let client = sdk_client(url)
            .tenant(tenant)
            .access_token(token)
            .build()
            .expect("client");
        client.get_user_data(user_id).send().expect("SDK GET");
    });
    let bare_bytes = capture(|url| {
        Bare::new(user_url(url, tenant, user_id), token, &sdk)
            .get()
            .expect("bare GET");
    });
    // The two capture servers listen on different ports: compare with the port masked.
    let mask = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        s.lines()
            .map(|l| {
                if l.to_ascii_lowercase().starts_with("host:") {
                    "host: 127.0.0.1:PORT".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        mask(&sdk),
        mask(&bare_bytes),
        "the SDK and the bare ureq loop must send the same request"
    );
    sdk
}

/// The SDK's request head with the token shown as `<token>`, for the report.
pub fn shown(head: &[u8], token: &str) -> String {
    String::from_utf8_lossy(head)
        .replace(token, "<token>")
        .trim_end()
        .to_string()
}

/// The median of `xs` (sorted in place).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The result of [`interleaved`].
#[derive(Debug, Clone)]
pub struct Paired {
    /// Rounds measured.
    pub rounds: usize,
    /// Calls per side per round.
    pub calls: usize,
    /// Median calls/s of side A over the rounds.
    pub a_per_s: f64,
    /// Median calls/s of side B over the rounds.
    pub b_per_s: f64,
    /// Median over the rounds of A's calls/s divided by B's in the same round.
    pub ratio: f64,
}

/// Measures two loops in alternating rounds (A B, then B A, ...), so drift on a noisy
/// machine hits both alike: `calls` calls of each per round, after one unmeasured round.
pub fn interleaved(
    rounds: usize,
    calls: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> Paired {
    let time = |f: &mut dyn FnMut()| {
        let t0 = Instant::now();
        for _ in 0..calls {
            f();
        }
        calls as f64 / t0.elapsed().as_secs_f64()
    };
    time(&mut a);
    time(&mut b);
    let (mut xa, mut xb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (ra, rb) = if round % 2 == 0 {
            let ra = time(&mut a);
            (ra, time(&mut b))
        } else {
            let rb = time(&mut b);
            (time(&mut a), rb)
        };
        xa.push(ra);
        xb.push(rb);
        ratios.push(ra / rb);
    }
    Paired {
        rounds,
        calls,
        a_per_s: median(&mut xa),
        b_per_s: median(&mut xb),
        ratio: median(&mut ratios),
    }
}

/// The peak resident set size of this process in KiB (`VmHWM`), where `/proc` has it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The fix proposed for the SDK's agent, tried out here on the bare loop: ureq 3.5 resolves
/// the host before it looks in its connection pool, on every request, and with a timeout set
/// (the SDK sets `timeout_global`) its `DefaultResolver` does each lookup on a new thread.
/// This resolver answers an IP literal at once and keeps the last lookup of a host name for a
/// short while, so a call on a pooled connection neither spawns a thread nor asks DNS.
#[derive(Debug)]
pub struct CachingResolver {
    inner: DefaultResolver,
    ttl: Duration,
    last: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    scheme: String,
    authority: String,
    addrs: ResolvedSocketAddrs,
    at: Instant,
}

impl CachingResolver {
    /// Keeps a lookup for `ttl`.
    pub fn new(ttl: Duration) -> CachingResolver {
        CachingResolver {
            inner: DefaultResolver::default(),
            ttl,
            last: Mutex::new(None),
        }
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return self.inner.resolve(uri, config, timeout);
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            let port = authority
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        {
            let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = last.as_ref().filter(|c| {
                c.scheme == scheme && c.authority == authority.as_str() && c.at.elapsed() < self.ttl
            }) {
                return Ok(c.addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            scheme: scheme.to_string(),
            authority: authority.as_str().to_string(),
            addrs: addrs.clone(),
            at: Instant::now(),
        });
        Ok(addrs)
    }
}
