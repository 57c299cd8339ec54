//! The Rust side of `scripts/bench.sh`: one client, one job, one line of JSON on stdout.
//!
//! ```text
//! cargo bench --bench side_by_side -- MODE --url CLUSTER --refresh-token TOKEN --user-id ID
//!                                          [--client CLIENT] [--calls N] [--rounds R]
//! ```
//!
//! Modes (`get` and `mix` print calls/s and `peak_rss_kib`, this process's `VmHWM`):
//! - `get`: authenticate, then `--calls` times the `get_user_data` GET over keep-alive, with the
//!   SDK (`--client sdk`, default) or a bare ureq loop sending the same bytes (`--client ureq`;
//!   `ureq-sdk-timeouts` and `ureq-sdk-timeouts-cached` add ureq timeouts of the SDK's values,
//!   and with them a resolver that answers from a cache: what ureq's resolver costs then);
//! - `mix`: authenticate, then `--calls` calls of reads and writes, six per round:
//!   `get_user_data`, `get_users`, `create_group`, `add_group_member`, `get_group`,
//!   `delete_group` (SDK only);
//! - `first-call`: build a client, authenticate, one GET, exit (the script times the process);
//! - `pair`: the SDK and the bare ureq loop in alternating rounds of `--calls` GETs each (after
//!   checking that both send the same bytes); prints both medians and the ratio (`--client
//!   ureq-serde`: the bare loop also decodes each reply into a plain serde struct);
//! - `token`: authenticate and print the access token (for wrk);
//! - against nginx (`scripts/bench/nginx.conf.in`), whose `stub_status` counts connections:
//!   `threads`: one client (and one bare agent) shared by each of `--threads` thread counts,
//!   alternating rounds of `--calls` calls split over the threads; calls/s and new TCP
//!   connections of each side (`--pool N`: the SDK's `max_idle_connections`); `idle-memory`: `--calls` clients (`--client sdk` or `ureq`)
//!   each left holding one idle pooled connection, the resident memory added per connection;
//!   `users`: `get_users` of `--sizes` users, the SDK beside bare ureq + a plain serde struct,
//!   whole call and decoding alone, microseconds per user (`--io-buffer BYTES`: the SDK's
//!   `io_buffer_bytes`).
//!
//! The server is one the script started (`--url` and the seeded credentials, or the variables
//! `SQUIRRO_BENCH_URL`, `SQUIRRO_BENCH_REFRESH_TOKEN`, `SQUIRRO_BENCH_USER_ID`): this binary
//! does not use the embedded fake, so it holds no server code and its peak RSS is the
//! client's. `cargo bench --bench keep_alive` is the same comparison with the embedded fake.

mod common;
#[path = "side_by_side/neutral.rs"]
mod neutral;

use common::{Bare, interleaved, peak_rss_kib, same_bytes_check, sdk_client, shown, user_url};
use serde_json::json;
use squirro_user_api::Grant;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: side_by_side get|mix|first-call|pair|token|threads|idle-memory|users \
--url CLUSTER --refresh-token TOKEN --user-id ID \
[--client sdk|ureq|ureq-sdk-timeouts|ureq-sdk-timeouts-cached] [--calls N] [--rounds R] \
[--threads 1,2,4,8,16] [--pool N] [--sizes 10,1000,10000] [--io-buffer BYTES]";

/// The SDK's own `User-Agent`, for the bare loop run on its own (`get --client ureq`).
const SDK_USER_AGENT: &str = concat!("squirro-user-api-rust/", env!("CARGO_PKG_VERSION"));

struct Options {
    mode: String,
    url: Option<String>,
    refresh_token: Option<String>,
    user_id: Option<String>,
    client: String,
    calls: usize,
    rounds: usize,
    threads: Vec<usize>,
    sizes: Vec<usize>,
    pool: Option<usize>,
    io_buffer: Option<usize>,
}

fn list(v: &str, name: &str) -> Result<Vec<usize>, String> {
    v.split(',')
        .map(|x| x.trim().parse().map_err(|e| format!("{name}: {e}")))
        .collect()
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        mode: String::new(),
        url: std::env::var("SQUIRRO_BENCH_URL").ok(),
        refresh_token: std::env::var("SQUIRRO_BENCH_REFRESH_TOKEN").ok(),
        user_id: std::env::var("SQUIRRO_BENCH_USER_ID").ok(),
        client: "sdk".into(),
        calls: 10_000,
        rounds: 15,
        threads: vec![1, 2, 4, 8, 16],
        sizes: vec![10, 1_000, 10_000],
        pool: None,
        io_buffer: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            // What `cargo bench` adds.
            "--bench" => {}
            "--url" => o.url = Some(value()?),
            "--refresh-token" => o.refresh_token = Some(value()?),
            "--user-id" => o.user_id = Some(value()?),
            "--client" => o.client = value()?,
            "--calls" => o.calls = value()?.parse().map_err(|e| format!("--calls: {e}"))?,
            "--rounds" => o.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--threads" => o.threads = list(&value()?, "--threads")?,
            "--sizes" => o.sizes = list(&value()?, "--sizes")?,
            "--io-buffer" => {
                o.io_buffer = Some(value()?.parse().map_err(|e| format!("--io-buffer: {e}"))?)
            }
            "--pool" => o.pool = Some(value()?.parse().map_err(|e| format!("--pool: {e}"))?),
            "-h" | "--help" => return Err(String::new()),
            m if !m.starts_with('-') && o.mode.is_empty() => o.mode = m.to_string(),
            _ => return Err(format!("unknown argument: {arg}")),
        }
    }
    if o.mode.is_empty() {
        return Err("a mode is needed".into());
    }
    Ok(o)
}

/// Where to send: the script's server and its seeded admin.
struct Target {
    url: String,
    refresh_token: String,
    user_id: String,
}

fn target(o: &Options) -> Result<Target, String> {
    let need = |v: &Option<String>, name: &str| v.clone().ok_or(format!("{name} is needed"));
    Ok(Target {
        url: need(&o.url, "--url")?,
        refresh_token: need(&o.refresh_token, "--refresh-token")?,
        user_id: need(&o.user_id, "--user-id")?,
    })
}

fn main() -> ExitCode {
    if std::env::args().len() == 1 {
        // `cargo test --benches` runs it with no arguments: nothing to measure.
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("side_by_side {}: {e}", o.mode);
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let t = target(o)?;
    let uid = t.user_id.as_str();
    match (o.mode.as_str(), o.client.as_str()) {
        ("first-call", _) => {
            let client = sdk_client(&t.url).build()?;
            client
                .authenticate(Grant::refresh_token(&t.refresh_token))
                .send()?;
            let user = client.get_user_data(uid).send()?;
            println!(
                "{}",
                json!({"client": "rust-sdk", "mode": "first-call", "user": user.id})
            );
        }
        ("token", _) => {
            let client = sdk_client(&t.url).build()?;
            client
                .authenticate(Grant::refresh_token(&t.refresh_token))
                .send()?;
            println!("{}", client.tokens().access_token.unwrap_or_default());
        }
        ("get", "sdk") => {
            let client = sdk_client(&t.url).build()?;
            client
                .authenticate(Grant::refresh_token(&t.refresh_token))
                .send()?;
            client.get_user_data(uid).send()?; // the connection is open from here on
            let t0 = Instant::now();
            for _ in 0..o.calls {
                std::hint::black_box(client.get_user_data(uid).send()?);
            }
            report("rust-sdk", "get", o.calls, t0);
        }
        ("get", client @ ("ureq" | "ureq-sdk-timeouts" | "ureq-sdk-timeouts-cached")) => {
            let (token, tenant) = bare_login(&t)?;
            let mut bare = Bare::with(
                user_url(&t.url, &tenant, uid),
                &token,
                Some(SDK_USER_AGENT),
                Some("identity"),
            );
            // Diagnosis: the bare loop with ureq timeouts, with and without a resolver
            // that answers from a cache (see `common::CachingResolver`).
            if client != "ureq" {
                bare = bare.with_sdk_timeouts(client.ends_with("cached"));
            }
            bare.get()?;
            let t0 = Instant::now();
            for _ in 0..o.calls {
                std::hint::black_box(bare.get()?);
            }
            let name = format!("bare-{client}");
            report(&name, "get", o.calls, t0);
        }
        ("mix", "sdk") => {
            let client = sdk_client(&t.url).build()?;
            client
                .authenticate(Grant::refresh_token(&t.refresh_token))
                .send()?;
            client.get_user_data(uid).send()?;
            let rounds = o.calls.div_ceil(6);
            let pid = std::process::id();
            let t0 = Instant::now();
            for i in 0..rounds {
                std::hint::black_box(client.get_user_data(uid).send()?);
                std::hint::black_box(client.get_users().send()?);
                let group = client.create_group(format!("bench-rs-{pid}-{i}")).send()?;
                std::hint::black_box(client.add_group_member(&group.id, uid).send()?);
                let got = client.get_group(&group.id).send()?;
                if got.members.len() != 1 {
                    return Err(
                        format!("group {} has {} members", group.id, got.members.len()).into(),
                    );
                }
                client.delete_group(&group.id).send()?;
            }
            report("rust-sdk", "mix", rounds * 6, t0);
        }
        ("pair", _) => {
            let client = sdk_client(&t.url).build()?;
            let session = client
                .authenticate(Grant::refresh_token(&t.refresh_token))
                .send()?;
            let tenant = session.tenant.unwrap_or_default();
            let token = client.tokens().access_token.unwrap_or_default();
            let head = same_bytes_check(&tenant, uid, &token);
            let bare = Bare::new(user_url(&t.url, &tenant, uid), &token, &head);
            // `--client ureq-serde`: the bare loop decodes the body into a plain serde struct of
            // the fields `User` names, as the SDK decodes it (a diagnosis: what is left of the
            // difference once both sides decode).
            let decode = match o.client.as_str() {
                "sdk" | "ureq" => false,
                "ureq-serde" => true,
                other => return Err(format!("pair: --client {other}? (ureq or ureq-serde)").into()),
            };
            let p = interleaved(
                o.rounds,
                o.calls,
                || {
                    std::hint::black_box(client.get_user_data(uid).send().expect("SDK call"));
                },
                || {
                    let body = bare.get().expect("bare call");
                    if decode {
                        std::hint::black_box(
                            serde_json::from_slice::<neutral::PlainUser>(&body).expect("decode"),
                        );
                    }
                    std::hint::black_box(body);
                },
            );
            println!(
                "{}",
                json!({
                    "mode": "pair",
                    "bare_decodes": decode,
                    "rounds": p.rounds,
                    "calls_per_round": p.calls,
                    "sdk_calls_per_s": p.a_per_s.round(),
                    "ureq_calls_per_s": p.b_per_s.round(),
                    "ratio_sdk_over_ureq": (p.ratio * 1000.0).round() / 1000.0,
                    "request": shown(&head, &token),
                })
            );
        }
        ("threads", _) => {
            let (tenant, token) = sdk_login(&t)?;
            let head = same_bytes_check(&tenant, uid, &token);
            // `--client sdk-only` or `ureq-only`: one side alone (for a profile).
            let only = o.client.strip_suffix("-only");
            neutral::threads(
                &t.url, &tenant, &token, uid, &head, &o.threads, o.rounds, o.calls, only, o.pool,
            )?;
        }
        ("idle-memory", client) => {
            let (tenant, token) = sdk_login(&t)?;
            neutral::idle_memory(&t.url, &tenant, &token, uid, client, o.calls)?;
        }
        ("users", _) => {
            let (_, token) = sdk_login(&t)?;
            neutral::users(&t.url, &token, &o.sizes, o.rounds, o.io_buffer)?;
        }
        (mode, client) => return Err(format!("no mode {mode} with --client {client}").into()),
    }
    Ok(())
}

/// The tenant and access token of an SDK login with the refresh token.
fn sdk_login(t: &Target) -> Result<(String, String), Box<dyn std::error::Error>> {
    let client = sdk_client(&t.url).build()?;
    let session = client
        .authenticate(Grant::refresh_token(&t.refresh_token))
        .send()?;
    let token = client.tokens().access_token.unwrap_or_default();
    Ok((session.tenant.unwrap_or_default(), token))
}

/// The token request of the bare loop: `POST /oauth2/token` with the refresh token.
fn bare_login(t: &Target) -> Result<(String, String), Box<dyn std::error::Error>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .user_agent(SDK_USER_AGENT)
        .accept_encoding("identity")
        .build()
        .into();
    let reply: serde_json::Value = agent
        .post(format!("{}/api/user/oauth2/token", t.url))
        .header("Accept", "application/json")
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", t.refresh_token.as_str()),
        ])?
        .body_mut()
        .read_json()?;
    let text = |k: &str| reply[k].as_str().unwrap_or_default().to_string();
    Ok((text("access_token"), text("tenant")))
}

fn report(client: &str, mode: &str, calls: usize, t0: Instant) {
    let seconds = t0.elapsed().as_secs_f64();
    let line = json!({
        "client": client,
        "mode": mode,
        "calls": calls,
        "seconds": (seconds * 1e4).round() / 1e4,
        "calls_per_s": (calls as f64 / seconds).round(),
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{line}");
}
