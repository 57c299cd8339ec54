//! How fast could any decoder build the models of a big list? Decoding `get_users` of 10,000
//! users (the list `scripts/bench.sh` serves), microseconds per user, four ways:
//!
//! - the SDK (`Reply::decode::<UserList>`, as `.send()` decodes), with the system allocator;
//! - a hand-written decoder for exactly this list (no serde, no unknown fields, no escapes:
//!   it refuses anything else) into structs of the same field types, with the system
//!   allocator: what a second, special-purpose parser could gain;
//! - both again with allocation made free: a bump arena as the global allocator, reset after
//!   each decode (and drop), so no `malloc` or `free` runs: what the models' seven
//!   allocations per user (five strings, a list and its one string) cost.
//!
//! ```text
//! cargo bench --bench decode_floor                  # under a minute once built
//! cargo bench --bench decode_floor -- FILE          # a get_users reply from a file instead
//! ```
//!
//! Rounds alternate the four (medians of 41). The arena is this bench's global allocator,
//! switched on only around the measured decodes of the arena rows; it is for measuring only.

use serde_json::{Map, Value};
use squirro_user_api::Reply;
use squirro_user_api::models::UserList;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Bytes the arena may hand out between two resets (10,000 users take about 4 MiB).
const ARENA_BYTES: usize = 256 << 20;

/// The system allocator, or, while [`ARENA_ON`], a bump arena that never frees: `dealloc` of
/// an arena pointer does nothing, and [`reset`] starts the arena over once everything taken
/// from it has been dropped. Single-threaded by construction: only `main` switches it on.
struct Floor {
    base: UnsafeCell<*mut u8>,
    used: UnsafeCell<usize>,
}

// SAFETY: the cells are only touched by the thread that switches the arena on (`main`); other
// threads (none here) would only ever see `ARENA_ON` false and take the system path.
unsafe impl Sync for Floor {}

static ARENA_ON: AtomicBool = AtomicBool::new(false);

#[global_allocator]
static ALLOC: Floor = Floor {
    base: UnsafeCell::new(std::ptr::null_mut()),
    used: UnsafeCell::new(0),
};

impl Floor {
    fn owns(&self, p: *mut u8) -> bool {
        // SAFETY: see `Sync` above.
        let base = unsafe { *self.base.get() };
        !base.is_null() && p >= base && (p as usize) < base as usize + ARENA_BYTES
    }
}

unsafe impl GlobalAlloc for Floor {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARENA_ON.load(Ordering::Relaxed) {
            // SAFETY: see `Sync` above; `base` was set by `arena()` before `ARENA_ON`.
            unsafe {
                let used = &mut *self.used.get();
                let start = (*used + layout.align() - 1) & !(layout.align() - 1);
                if start + layout.size() <= ARENA_BYTES {
                    *used = start + layout.size();
                    return (*self.base.get()).add(start);
                }
            }
        }
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if !self.owns(p) {
            // SAFETY: not from the arena, so from `System` with this layout.
            unsafe { System.dealloc(p, layout) }
        }
    }
}

/// Makes the arena (once) and touches its pages, so that no round pays their first fault.
fn arena() {
    let layout = Layout::from_size_align(ARENA_BYTES, 4096).expect("arena layout");
    // SAFETY: a non-zero size; the arena lives as long as the process.
    let base = unsafe { System.alloc_zeroed(layout) };
    assert!(!base.is_null(), "no memory for the arena");
    for page in (0..ARENA_BYTES).step_by(4096) {
        // SAFETY: within the allocation just made.
        unsafe { base.add(page).write(0) };
    }
    // SAFETY: see `Sync` above; before `ARENA_ON` is ever set.
    unsafe { *ALLOC.base.get() = base };
}

/// Runs `f` with allocation from the arena, then starts the arena over: whatever `f`
/// allocated it has dropped.
fn in_arena<T>(f: impl FnOnce() -> T) -> T {
    ARENA_ON.store(true, Ordering::Relaxed);
    let out = f();
    ARENA_ON.store(false, Ordering::Relaxed);
    // SAFETY: see `Sync` above; nothing allocated in the arena is alive any more.
    unsafe { *ALLOC.used.get() = 0 };
    out
}

/// The field types of `models::User` (which cannot be built outside the crate).
#[derive(Default)]
#[allow(dead_code)]
struct FloorUser {
    id: String,
    email: Option<String>,
    full_name: Option<String>,
    role: Option<String>,
    role_permissions: Vec<String>,
    tenant: Option<String>,
    groups: Option<Vec<Value>>,
    projects: Option<Vec<Value>>,
    extra: Map<String, Value>,
}

/// A decoder of exactly `{"users":[{...}, ...]}` with the bench's fields: `None` on anything
/// else (a key it does not know, an escape, a number). The string scan is `fast_json`'s, a
/// word at a time, so that the difference to the SDK is what serde's way of decoding costs.
struct Hand<'a> {
    text: &'a [u8],
    pos: usize,
}

const ONES: u64 = u64::MAX / 255;
const HIGH: u64 = ONES << 7;

impl<'a> Hand<'a> {
    fn next(&mut self) -> Option<u8> {
        while let Some(&b) = self.text.get(self.pos) {
            if b > b' ' {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then(|| self.pos += 1)
    }

    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let mut i = start;
        loop {
            let Some(chunk) = self.text.get(i..).and_then(<[u8]>::first_chunk::<8>) else {
                while self
                    .text
                    .get(i)
                    .is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20)
                {
                    i += 1;
                }
                break;
            };
            let w = u64::from_le_bytes(*chunk);
            let quote = w ^ (ONES * u64::from(b'"'));
            let backslash = w ^ (ONES * u64::from(b'\\'));
            let stops = ((w.wrapping_sub(ONES * 0x20) & !w)
                | (quote.wrapping_sub(ONES) & !quote)
                | (backslash.wrapping_sub(ONES) & !backslash))
                & HIGH;
            if stops != 0 {
                i += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        (self.text.get(i) == Some(&b'"')).then_some(())?;
        self.pos = i + 1;
        std::str::from_utf8(self.text.get(start..i)?).ok()
    }

    fn string_or_null(&mut self) -> Option<Option<String>> {
        if self.next()? == b'n' {
            (self.text.get(self.pos..self.pos + 4)? == b"null").then(|| self.pos += 4)?;
            return Some(None);
        }
        Some(Some(self.str()?.to_owned()))
    }

    fn list_of<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        loop {
            if self.next()? == b']' {
                self.pos += 1;
                return Some(out);
            }
            if !out.is_empty() {
                self.eat(b',')?;
            }
            out.push(item(self)?);
        }
    }

    fn user(&mut self) -> Option<FloorUser> {
        self.eat(b'{')?;
        let mut user = FloorUser::default();
        let mut first = true;
        loop {
            if self.next()? == b'}' {
                self.pos += 1;
                return Some(user);
            }
            if !first {
                self.eat(b',')?;
            }
            first = false;
            let key = self.str()?;
            self.eat(b':')?;
            match key {
                "id" => user.id = self.str()?.to_owned(),
                "email" => user.email = self.string_or_null()?,
                "full_name" => user.full_name = self.string_or_null()?,
                "role" => user.role = self.string_or_null()?,
                "tenant" => user.tenant = self.string_or_null()?,
                "role_permissions" => {
                    user.role_permissions = self.list_of(|h| Some(h.str()?.to_owned()))?
                }
                _ => return None,
            }
        }
    }

    /// The list, sized once from the count of users a caller knows (as the SDK estimates it).
    fn users(text: &'a [u8], count: usize) -> Option<Vec<FloorUser>> {
        let mut h = Hand { text, pos: 0 };
        h.eat(b'{')?;
        (h.str()? == "users").then_some(())?;
        h.eat(b':')?;
        h.eat(b'[')?;
        let mut users = Vec::with_capacity(count);
        loop {
            if h.next()? == b']' {
                h.pos += 1;
                break;
            }
            if !users.is_empty() {
                h.eat(b',')?;
            }
            users.push(h.user()?);
        }
        h.eat(b'}')?;
        Some(users)
    }
}

/// The list `scripts/bench/fixtures.py` writes for `get_users` of `n` users.
fn fixture(n: usize) -> Vec<u8> {
    let users: Vec<String> = (0..n)
        .map(|i| {
            let role = if i % 50 == 0 { "admin" } else { "user" };
            format!(
                r#"{{"email":"user{i:05}@acme.example","full_name":"User {i:05}","id":"{:A>22}","role":"{role}","role_permissions":["{role}"],"tenant":"n{n}"}}"#,
                format!("{i:x}")
            )
        })
        .collect();
    format!(r#"{{"users":[{}]}}"#, users.join(",")).into_bytes()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let body = match args.first() {
        Some(path) => std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}")),
        None => fixture(10_000),
    };
    let reply = Reply::from_parts("get_users", 200, body.clone());
    let n = reply
        .decode::<UserList>()
        .expect("the SDK decodes the list")
        .users
        .len();
    let hand = Hand::users(&body, n).expect("the hand-written decoder reads the list");
    assert_eq!(hand.len(), n, "both decoders see every user");
    drop(hand);
    arena();

    const ROUNDS: usize = 41;
    let per_user = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let mut rows: [(&str, Vec<f64>); 4] = [
        (
            "SDK `Reply::decode::<UserList>`, system allocator",
            Vec::with_capacity(ROUNDS),
        ),
        (
            "hand-written decoder, system allocator",
            Vec::with_capacity(ROUNDS),
        ),
        (
            "SDK, allocation free (bump arena)",
            Vec::with_capacity(ROUNDS),
        ),
        (
            "hand-written decoder, allocation free",
            Vec::with_capacity(ROUNDS),
        ),
    ];
    for round in 0..ROUNDS {
        for i in 0..4 {
            let which = (i + round) % 4; // alternate which goes first
            let t = Instant::now();
            match which {
                0 => drop(black_box(reply.decode::<UserList>())),
                1 => drop(black_box(Hand::users(&body, n))),
                2 => in_arena(|| drop(black_box(reply.decode::<UserList>()))),
                _ => in_arena(|| drop(black_box(Hand::users(&body, n)))),
            }
            let us = per_user(t);
            rows[which].1.push(us);
        }
    }
    println!(
        "get_users of {n} users ({} bytes): decode and drop, microseconds per user, medians of {ROUNDS} alternating rounds",
        body.len()
    );
    println!();
    println!("| decoder | us per user | / SDK |");
    println!("|---|---:|---:|");
    let sdk = median(&mut rows[0].1);
    for (label, xs) in &mut rows {
        let m = median(xs);
        println!("| {label} | {m:.3} | {:.2} |", m / sdk);
    }
}
