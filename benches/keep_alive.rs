//! A full call against the embedded fake server over one keep-alive connection: the SDK's
//! `get_user_data(..).send()` (build, send, read, typed decode) beside a bare ureq loop that
//! sends the same bytes (checked before measuring) to the same server and only reads the body.
//!
//! ```text
//! cargo bench --bench keep_alive
//! ```
//!
//! Two more loops show where the SDK's time goes: the bare loop with the SDK's timeouts
//! (`timeout_global` makes ureq 3.5 resolve the host on a new thread for every request, pooled
//! connection or not), and with those timeouts and a resolver that answers from a cache.
//!
//! Criterion measures each loop on its own; the closing lines measure both again in
//! alternating rounds and print the ratio SDK / bare ureq, the figure that counts on a noisy
//! machine (the fake server is the same for both; `scripts/bench.sh` shows its own ceiling).

mod common;

use common::{Bare, interleaved, same_bytes_check, sdk_client, shown, user_url};
use criterion::Criterion;
use squirro_user_api::Grant;
use squirro_user_api_fake::FakeServer;
use std::hint::black_box;
use std::time::Duration;

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) criterion runs each
    // benchmark once, and the closing rounds shrink to a few calls.
    let test_mode = !std::env::args().any(|a| a == "--bench");
    let server = FakeServer::builder()
        .journal(false)
        .start()
        .expect("start the fake server");
    let creds = server.credentials().clone();
    let client = sdk_client(server.url()).build().expect("client");
    client
        .authenticate(Grant::refresh_token(&creds.refresh_token))
        .send()
        .expect("authenticate");
    let token = client.tokens().access_token.expect("an access token");
    let head = same_bytes_check(&creds.tenant, &creds.admin_user_id, &token);
    println!(
        "same request from both (checked byte for byte):\n{}\n",
        shown(&head, &token)
    );
    let bare = Bare::new(
        user_url(server.url(), &creds.tenant, &creds.admin_user_id),
        &token,
        &head,
    );
    let uid = creds.admin_user_id.as_str();
    let sdk_call = || {
        client
            .get_user_data(black_box(uid))
            .send()
            .expect("SDK call");
    };
    let bare_call = || {
        bare.get().expect("bare call");
    };

    let mut c = Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut group = c.benchmark_group("keep_alive/get_user_data");
    group.bench_function("sdk", |b| b.iter(sdk_call));
    group.bench_function("bare_ureq", |b| b.iter(bare_call));
    // Where the SDK's time goes: the bare loop with the SDK's timeouts, and with those and
    // a resolver that does not look the host up again for a pooled connection.
    let timeouts = bare.with_sdk_timeouts(false);
    group.bench_function("bare_ureq+sdk_timeouts", |b| {
        b.iter(|| timeouts.get().expect("bare call"))
    });
    let cached = bare.with_sdk_timeouts(true);
    group.bench_function("bare_ureq+sdk_timeouts+cached_resolver", |b| {
        b.iter(|| cached.get().expect("bare call"))
    });
    group.finish();
    c.final_summary();

    let (rounds, calls) = if test_mode { (2, 10) } else { (21, 2000) };
    let p = interleaved(rounds, calls, sdk_call, bare_call);
    println!(
        "interleaved, {} rounds of {} calls each: SDK {:.0} calls/s, bare ureq {:.0} calls/s, ratio SDK/bare {:.3} (median of per-round ratios)",
        p.rounds, p.calls, p.a_per_s, p.b_per_s, p.ratio
    );
}
