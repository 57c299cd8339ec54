//! Decoding big list replies: peak memory as a multiple of the reply's bytes, and decode time,
//! the SDK's models beside plain `#[derive(Deserialize)]` structs of the same named fields
//! (which drop unknown fields where the models keep them in `extra`).
//!
//! ```text
//! cargo bench --bench decode_memory             # prints a table, under a minute once built
//! cargo bench --bench decode_memory -- users    # the rows whose label has "users"
//! # one decoder only, 300 times, for a profiler (the first row asked for, then exits):
//! DECODE_BENCH_ONLY=sdk perf record target/release/deps/decode_memory-* get_users
//! ```
//!
//! Peak memory is what decoding allocates above the reply it reads (counted by a global
//! allocator; see `tests/support/decode_fixtures.rs`), through `Reply::decode` as a method's
//! `.send()` decodes. Times are medians of alternating rounds (SDK, plain, clone, SDK, ...),
//! the SDK through `Reply::decode`, the plain structs with `serde_json::from_slice`, each
//! result dropped. "clone" is the floor any decoder of the models has: cloning the decoded
//! models (the same allocations, copies and frees, no parsing).

#[path = "../tests/support/decode_fixtures.rs"]
mod fixtures;

use fixtures::{Counting, KINDS, peak_of, reply_near, reply_of};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use squirro_user_api::Reply;
use squirro_user_api::models::{GrantList, Group, ProjectMemberList, UserList, WorkspaceList};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: Counting = Counting;

// The plain structs: the models' named fields, no `extra`.
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainUser {
    id: String,
    email: Option<String>,
    full_name: Option<String>,
    role: Option<String>,
    #[serde(default)]
    role_permissions: Vec<String>,
    tenant: Option<String>,
    groups: Option<Vec<serde_json::Value>>,
    projects: Option<Vec<serde_json::Value>>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainUserList {
    #[serde(default)]
    users: Vec<PlainUser>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainGroup {
    id: String,
    name: Option<String>,
    #[serde(default)]
    members: Vec<PlainUser>,
    projects: Option<Vec<serde_json::Value>>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainMember {
    member_id: String,
    member_type: Option<String>,
    email: Option<String>,
    full_name: Option<String>,
    server_role: Option<String>,
    project_role: Option<String>,
    project_id: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainMemberList {
    #[serde(default)]
    members: Vec<PlainMember>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainGrant {
    id: String,
    r#type: Option<String>,
    created_at: Option<String>,
    valid_to: Option<String>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainGrantList {
    #[serde(default)]
    grants: Vec<PlainGrant>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainWorkspace {
    domain: String,
    title: Option<String>,
    projects: Option<Vec<serde_json::Value>>,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainWorkspaceList {
    #[serde(default)]
    workspaces: Vec<PlainWorkspace>,
}

/// One row: the reply's size, peak memory of each decoder as a multiple of it, decode times.
struct Row {
    bytes: usize,
    sdk_peak: f64,
    plain_peak: f64,
    sdk: Duration,
    plain: Duration,
    clone: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure<M: DeserializeOwned + Clone, P: DeserializeOwned>(
    operation: &'static str,
    body: Vec<u8>,
) -> Row {
    let bytes = body.len();
    let reply = Reply::from_parts(operation, 200, body);
    if let Ok(only) = std::env::var("DECODE_BENCH_ONLY") {
        for _ in 0..300 {
            match only.as_str() {
                "sdk" => drop(black_box(reply.decode::<M>().ok())),
                _ => drop(black_box(serde_json::from_slice::<P>(reply.body()).ok())),
            }
        }
        std::process::exit(0);
    }
    let (sdk_peak, models) = peak_of(|| reply.decode::<M>().expect("the SDK decodes"));
    let (plain_peak, decoded) =
        peak_of(|| serde_json::from_slice::<P>(reply.body()).expect("the plain struct decodes"));
    drop(decoded);
    // About 4 MiB decoded per timed sample, 15 rounds.
    let per_sample = (4 << 20) / bytes + 1;
    let (mut sdk, mut plain, mut clone) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..per_sample {
            black_box(black_box(&reply).decode::<M>().ok());
        }
        sdk.push(t.elapsed() / per_sample as u32);
        let t = Instant::now();
        for _ in 0..per_sample {
            black_box(serde_json::from_slice::<P>(black_box(reply.body())).ok());
        }
        plain.push(t.elapsed() / per_sample as u32);
        let t = Instant::now();
        for _ in 0..per_sample {
            black_box(black_box(&models).clone());
        }
        clone.push(t.elapsed() / per_sample as u32);
    }
    Row {
        bytes,
        sdk_peak: sdk_peak as f64 / bytes as f64,
        plain_peak: plain_peak as f64 / bytes as f64,
        sdk: median(sdk),
        plain: median(plain),
        clone: median(clone),
    }
}

fn row(kind: &str, operation: &'static str, body: Vec<u8>) -> Row {
    match kind {
        "users" | "users, id only" => measure::<UserList, PlainUserList>(operation, body),
        "groups" => measure::<Vec<Group>, Vec<PlainGroup>>(operation, body),
        "members" => measure::<ProjectMemberList, PlainMemberList>(operation, body),
        "grants" => measure::<GrantList, PlainGrantList>(operation, body),
        "workspaces" => measure::<WorkspaceList, PlainWorkspaceList>(operation, body),
        _ => unreachable!("unknown kind {kind}"),
    }
}

/// Whether a row is asked for: no filter, or its label contains one of the arguments.
fn wanted(label: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    filters.is_empty() || filters.iter().any(|f| label.contains(f.as_str()))
}

fn print(label: &str, r: &Row) {
    println!(
        "{label:<24} {:>9.0} KiB {:>9.1}x {:>9.1}x {:>10.3} ms {:>10.3} ms {:>8.2} {:>10.3} ms",
        r.bytes as f64 / 1024.0,
        r.sdk_peak,
        r.plain_peak,
        r.sdk.as_secs_f64() * 1e3,
        r.plain.as_secs_f64() * 1e3,
        r.sdk.as_secs_f64() / r.plain.as_secs_f64(),
        r.clone.as_secs_f64() * 1e3,
    );
}

fn main() {
    println!(
        "{:<24} {:>13} {:>10} {:>10} {:>13} {:>13} {:>8} {:>13}",
        "reply",
        "size",
        "SDK peak",
        "plain peak",
        "SDK decode",
        "plain decode",
        "SDK/plain",
        "clone (floor)"
    );
    for (kind, operation) in KINDS {
        for (size, bytes) in [
            ("100 KiB", 100 << 10),
            ("1 MiB", 1 << 20),
            ("9.7 MiB", 9_933 << 10),
        ] {
            let label = format!("{kind} {size}");
            if wanted(&label) {
                print(&label, &row(kind, operation, reply_near(kind, bytes)));
            }
        }
    }
    // The least a user can be: the model's size over the reply's bytes is the floor here.
    let label = "users, id only 9.7 MiB";
    if wanted(label) {
        let body = reply_near("users, id only", 9_933 << 10);
        print(label, &row("users, id only", "get_users", body));
    }
    let label = "get_users 10,000 users";
    if wanted(label) {
        print(label, &row("users", "get_users", reply_of("users", 10_000)));
    }
}
