//! What tests/decode_memory.rs and benches/decode_memory.rs share: an allocator that counts
//! the bytes in use and their peak, and big list replies shaped like the server's (WIRE.md's
//! examples, the fake's replies), each grown to a requested size.

#![allow(dead_code)] // the test and the bench each use their own part

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// The system allocator, counting (inside [`peak_of`]) the bytes in use and their peak. A
/// `realloc` counts as the change of size: glibc grows and shrinks large blocks in place
/// (`mremap`), so both blocks are not held at once.
pub struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grow(n: usize) {
    if !COUNTING.load(Relaxed) {
        return;
    }
    let n = isize::try_from(n).unwrap_or(isize::MAX);
    let now = CURRENT.fetch_add(n, Relaxed).saturating_add(n);
    PEAK.fetch_max(now, Relaxed);
}

fn shrink(n: usize) {
    if !COUNTING.load(Relaxed) {
        return;
    }
    CURRENT.fetch_sub(isize::try_from(n).unwrap_or(isize::MAX), Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters do not touch memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as it is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// The peak bytes `f` allocates above what was in use when it started, and its result (kept
/// alive until the peak is read). Counting is on only in here (outside, allocations cost
/// what they cost without this allocator): the count starts at 0 and goes below it when `f`
/// frees memory allocated before.
pub fn peak_of<T>(f: impl FnOnce() -> T) -> (usize, T) {
    CURRENT.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let out = f();
    COUNTING.store(false, Relaxed);
    (usize::try_from(PEAK.load(Relaxed)).unwrap_or(0), out)
}

/// The list reply types measured, with the method whose reply each is.
pub const KINDS: [(&str, &str); 5] = [
    ("users", "get_users"),
    ("groups", "get_groups"),
    ("members", "get_project_members"),
    ("grants", "get_user_grants"),
    ("workspaces", "get_workspaces"),
];

/// A 22-character id, like the server's, different for each `i` and `salt`.
fn id(out: &mut String, salt: char, i: usize) {
    let _ = write!(out, "{salt}{i:09}-WhgSBGW0WL8");
}

/// A user as `get_user_data` and group listings write it; with `custom`, from none to five
/// custom values set with `update_user_data` (unknown fields the models keep in `extra`),
/// three on average.
fn user(out: &mut String, i: usize, custom: bool) {
    out.push_str(r#"{"email":"user"#);
    let _ = write!(
        out,
        r#"{i:06}@example.com","full_name":"User {i:06}","id":""#
    );
    id(out, 'u', i);
    out.push_str(
        r#"","role":"user","role_permissions":["user"],"tenant":"lW8-FnZlQYWBimxFknYitw""#,
    );
    if custom {
        let values = [
            r#""department":"Sales""#,
            r#""favourite_colour":"teal""#,
            r#""employee_no":4711"#,
            r#""office":"Zurich""#,
            r#""start_date":"2024-03-01""#,
        ];
        // 3, 1, 5, 0, 4, 2, 3, 1, ...
        let n = [3, 1, 5, 0, 4, 2][i % 6];
        for value in &values[..n] {
            out.push(',');
            out.push_str(value);
        }
    }
    out.push('}');
}

/// One element of a list reply of `kind`.
fn element(out: &mut String, kind: &str, i: usize) {
    match kind {
        "users" => user(out, i, true),
        "users, id only" => {
            out.push_str(r#"{"id":""#);
            id(out, 'u', i);
            out.push_str(r#""}"#);
        }
        "groups" => {
            out.push_str(r#"{"id":""#);
            id(out, 'g', i);
            let _ = write!(out, r#"","name":"Group {i:06}","members":["#);
            for m in 0..4 {
                if m > 0 {
                    out.push(',');
                }
                user(out, i * 4 + m, false);
            }
            out.push_str("]}");
        }
        "members" => {
            let _ = write!(
                out,
                r#"{{"email":"user{i:06}@example.com","full_name":"User {i:06}","member_id":""#
            );
            id(out, 'u', i);
            out.push_str(r#"","member_type":"user","server_role":"user","project_role":"reader","project_id":"2sic33jZTi-ifflvQAVcfw","permissions":["items.read.*","project.read"]}"#);
        }
        "grants" => {
            out.push_str(
                r#"{"created_at":"2026-11-29T12:00:01","valid_to":"2027-11-29T12:00:01","id":""#,
            );
            id(out, 'g', i);
            out.push_str(r#"","type":"user"}"#);
        }
        "workspaces" => {
            let _ = write!(
                out,
                r#"{{"domain":"workspace-{i:06}","title":"Workspace {i:06}"}}"#
            );
        }
        _ => unreachable!("unknown kind {kind}"),
    }
}

/// A reply of `kind` with `count` elements.
pub fn reply_of(kind: &str, count: usize) -> Vec<u8> {
    reply_with(kind, |i| i < count)
}

/// A reply of `kind` of at least `bytes` bytes (just over).
pub fn reply_near(kind: &str, bytes: usize) -> Vec<u8> {
    let mut probe = String::new();
    element(&mut probe, kind, 0);
    let per = probe.len() + 1;
    let count = bytes.div_ceil(per).max(1);
    reply_of(kind, count)
}

fn reply_with(kind: &str, more: impl Fn(usize) -> bool) -> Vec<u8> {
    let mut out = String::new();
    let (open, close) = match kind {
        "users" | "users, id only" => (r#"{"users":["#, "]}"),
        "groups" => ("[", "]"),
        "members" => (r#"{"members":["#, "]}"),
        "grants" => (r#"{"grants":["#, "]}"),
        "workspaces" => (r#"{"workspaces":["#, "]}"),
        _ => unreachable!("unknown kind {kind}"),
    };
    out.push_str(open);
    let mut i = 0;
    while more(i) {
        if i > 0 {
            out.push(',');
        }
        element(&mut out, kind, i);
        i += 1;
    }
    out.push_str(close);
    out.into_bytes()
}
