//! The modes of `side_by_side` run against nginx (`scripts/bench.sh` starts it with
//! `scripts/bench/nginx.conf.in`): many threads sharing one client, idle connections' memory,
//! and big lists. nginx's `stub_status` counts the TCP connections it accepted.

use crate::common::{Bare, median, peak_rss_kib, sdk_client};
use serde::Deserialize;
use serde_json::{Value, json};
use squirro_user_api::Reply;
use squirro_user_api::models::UserList;
use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::Barrier;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The connections nginx has accepted so far (`stub_status`), this query's own included.
pub fn accepted(cluster: &str) -> Res<u64> {
    let hostport = cluster
        .strip_prefix("http://")
        .ok_or("the nginx URL must be http://")?;
    let mut s = std::net::TcpStream::connect(hostport)?;
    s.write_all(b"GET /nginx_status HTTP/1.0\r\nHost: bench\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    // "server accepts handled requests\n 12 12 345"
    let n = text
        .lines()
        .skip_while(|l| !l.starts_with("server accepts"))
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| format!("no stub_status in {text:?}"))?;
    Ok(n)
}

/// The connections nginx accepted since `accepted` said `before`, the queries not counted.
fn accepted_since(cluster: &str, before: u64) -> Res<u64> {
    Ok(accepted(cluster)?.saturating_sub(before).saturating_sub(1))
}

/// `calls` calls split over `threads` threads that start together; calls/s, and the TCP
/// connections nginx accepted meanwhile.
fn threaded(
    cluster: &str,
    threads: usize,
    calls: usize,
    call: &(dyn Fn() + Sync),
) -> Res<(f64, u64)> {
    let per = calls.div_ceil(threads);
    let c0 = accepted(cluster)?;
    let barrier = Barrier::new(threads + 1);
    let t0 = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..per {
                    call();
                }
            });
        }
        barrier.wait();
        Instant::now()
    });
    let rate = (per * threads) as f64 / t0.elapsed().as_secs_f64();
    Ok((rate, accepted_since(cluster, c0)?))
}

/// One client (and one bare agent) per thread count, shared by the threads; alternating
/// rounds after one unmeasured round each. One JSON line per thread count.
#[allow(clippy::too_many_arguments)] // one call site, each argument named there
pub fn threads(
    cluster: &str,
    tenant: &str,
    token: &str,
    uid: &str,
    bare_head: &[u8],
    counts: &[usize],
    rounds: usize,
    calls: usize,
    only: Option<&str>,
    pool: Option<usize>,
) -> Res<()> {
    let url = crate::common::user_url(cluster, tenant, uid);
    let sdk_side = only.is_none_or(|o| o == "sdk");
    let bare_side = only.is_none_or(|o| o == "ureq");
    for &n in counts {
        let mut builder = sdk_client(cluster).tenant(tenant).access_token(token);
        if let Some(p) = pool {
            builder = builder.max_idle_connections(p);
        }
        let client = builder.build()?;
        let bare = Bare::new(url.clone(), token, bare_head);
        let sdk_call = || {
            if sdk_side {
                black_box(client.get_user_data(uid).send().expect("SDK call"));
            }
        };
        let bare_call = || {
            if bare_side {
                black_box(bare.get().expect("bare call"));
            }
        };
        let (mut conns_sdk, mut conns_bare) = (0, 0);
        let (mut xs, mut xb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..=rounds {
            let (s, b) = if round % 2 == 0 {
                let s = threaded(cluster, n, calls, &sdk_call)?;
                (s, threaded(cluster, n, calls, &bare_call)?)
            } else {
                let b = threaded(cluster, n, calls, &bare_call)?;
                (threaded(cluster, n, calls, &sdk_call)?, b)
            };
            conns_sdk += s.1;
            conns_bare += b.1;
            if round > 0 {
                xs.push(s.0);
                xb.push(b.0);
                ratios.push(s.0 / b.0);
            }
        }
        println!(
            "{}",
            json!({
                "mode": "threads",
                "threads": n,
                "sdk_max_idle_connections": pool,
                "rounds": rounds,
                "calls_per_round": calls,
                "sdk_calls_per_s": median(&mut xs).round(),
                "ureq_calls_per_s": median(&mut xb).round(),
                "ratio_sdk_over_ureq": (median(&mut ratios) * 1000.0).round() / 1000.0,
                "sdk_new_connections": conns_sdk,
                "ureq_new_connections": conns_bare,
            })
        );
    }
    Ok(())
}

/// This process's resident set in KiB (`VmRSS`).
fn rss_kib() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

/// `n` clients (SDK, or bare ureq agents with ureq's defaults), each left holding one idle
/// pooled connection: the resident memory that adds, per connection.
pub fn idle_memory(
    cluster: &str,
    tenant: &str,
    token: &str,
    uid: &str,
    which: &str,
    n: usize,
) -> Res<()> {
    let c0 = accepted(cluster)?;
    let (base, after) = match which {
        "sdk" => {
            let clients = (0..n)
                .map(|_| {
                    sdk_client(cluster)
                        .tenant(tenant)
                        .access_token(token)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let base = rss_kib()?;
            for c in &clients {
                black_box(c.get_user_data(uid).send()?);
            }
            let after = rss_kib()?;
            black_box(&clients);
            (base, after)
        }
        "ureq" => {
            let url = crate::common::user_url(cluster, tenant, uid);
            let agents = (0..n)
                .map(|_| Bare::with(url.clone(), token, None, None))
                .collect::<Vec<_>>();
            let base = rss_kib()?;
            for a in &agents {
                black_box(a.get()?);
            }
            let after = rss_kib()?;
            black_box(&agents);
            (base, after)
        }
        other => return Err(format!("no client {other} for idle-memory").into()),
    };
    let conns = accepted_since(cluster, c0)?;
    println!(
        "{}",
        json!({
            "mode": "idle-memory",
            "client": which,
            "clients": n,
            "connections": conns,
            "rss_before_kib": base,
            "rss_after_kib": after,
            "kib_per_connection": ((after.saturating_sub(base)) as f64 / conns.max(1) as f64 * 10.0).round() / 10.0,
        })
    );
    Ok(())
}

/// The fields the SDK's `User` names, as a plain serde struct (no catch-all): the yardstick
/// for decoding.
#[derive(Deserialize)]
#[allow(dead_code)] // read only by `black_box`
pub struct PlainUser {
    #[serde(default)]
    id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    role_permissions: Vec<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    groups: Option<Vec<Value>>,
    #[serde(default)]
    projects: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct PlainList {
    #[serde(default)]
    users: Vec<PlainUser>,
}

/// Times `calls` runs of `f`, `rounds` times (after one unmeasured run); the median per run.
fn per_run(rounds: usize, calls: usize, f: &mut dyn FnMut()) -> Vec<f64> {
    let mut once = || {
        let t0 = Instant::now();
        for _ in 0..calls {
            f();
        }
        t0.elapsed().as_secs_f64() / calls as f64
    };
    once();
    (0..rounds).map(|_| once()).collect()
}

/// `get_users` of tenant `n{size}` (nginx serves `size` users): the SDK's whole call beside a
/// bare ureq GET decoded into [`PlainList`], and decoding alone (the SDK's `UserList` beside
/// `PlainList`, from the same bytes); alternating rounds, microseconds per user.
/// `io_buffer`: the SDK's `io_buffer_bytes` (its default when `None`).
pub fn users(
    cluster: &str,
    token: &str,
    sizes: &[usize],
    rounds: usize,
    io_buffer: Option<usize>,
) -> Res<()> {
    for &size in sizes {
        let tenant = format!("n{size}");
        let mut builder = sdk_client(cluster).tenant(&tenant).access_token(token);
        if let Some(n) = io_buffer {
            builder = builder.io_buffer_bytes(n);
        }
        let client = builder.build()?;
        let bare = Bare::with(
            format!("{cluster}/api/user/v0/{tenant}/users"),
            token,
            None,
            None,
        );
        let body = bare.get()?;
        let plain: PlainList = serde_json::from_slice(&body)?;
        let typed = client.get_users().send()?;
        if plain.users.len() != size || typed.users.len() != size {
            return Err(format!("nginx served {} users, not {size}", plain.users.len()).into());
        }
        let calls = (20_000 / size).max(2);
        let mut sdk = || {
            black_box(client.get_users().send().expect("SDK get_users"));
        };
        let mut bare_call = || {
            let body = bare.get().expect("bare get_users");
            black_box(serde_json::from_slice::<PlainList>(&body).expect("plain decode"));
        };
        // The SDK's own decoding path: `Reply::decode`, as `.send()` takes it.
        let reply = Reply::from_parts("get_users", 200, body.clone());
        let mut dec_sdk = || {
            black_box(reply.decode::<UserList>().expect("SDK decode"));
        };
        let mut dec_plain = || {
            black_box(serde_json::from_slice::<PlainList>(&body).expect("plain decode"));
        };
        let (mut s, mut b, mut ds, mut dp) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut r_call, mut r_dec) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // One round each, order alternating.
            let (x, y) = if round % 2 == 0 {
                let x = median(&mut per_run(1, calls, &mut sdk));
                (x, median(&mut per_run(1, calls, &mut bare_call)))
            } else {
                let y = median(&mut per_run(1, calls, &mut bare_call));
                (median(&mut per_run(1, calls, &mut sdk)), y)
            };
            let (u, v) = if round % 2 == 0 {
                let u = median(&mut per_run(1, calls, &mut dec_sdk));
                (u, median(&mut per_run(1, calls, &mut dec_plain)))
            } else {
                let v = median(&mut per_run(1, calls, &mut dec_plain));
                (median(&mut per_run(1, calls, &mut dec_sdk)), v)
            };
            s.push(x);
            b.push(y);
            ds.push(u);
            dp.push(v);
            r_call.push(x / y);
            r_dec.push(u / v);
        }
        let us_per_user =
            |xs: &mut Vec<f64>| (median(xs) * 1e6 / size as f64 * 1000.0).round() / 1000.0;
        println!(
            "{}",
            json!({
                "mode": "users",
                "users": size,
                "sdk_io_buffer_bytes": io_buffer,
                "bytes": body.len(),
                "rounds": rounds,
                "calls_per_round": calls,
                "sdk_us_per_user": us_per_user(&mut s),
                "ureq_serde_us_per_user": us_per_user(&mut b),
                "sdk_over_ureq_serde": (median(&mut r_call) * 1000.0).round() / 1000.0,
                "decode_sdk_us_per_user": us_per_user(&mut ds),
                "decode_plain_us_per_user": us_per_user(&mut dp),
                "decode_sdk_over_plain": (median(&mut r_dec) * 1000.0).round() / 1000.0,
                "peak_rss_kib": peak_rss_kib(),
            })
        );
    }
    Ok(())
}
