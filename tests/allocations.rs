//! A regression guard for the per-call cost that is not a timed test: the heap allocations
//! one keep-alive `get_user_data` call makes on the calling thread, counted by a counting
//! global allocator against the tests' scripted server on loopback. The count is the same on
//! every run (no clock, no machine load in it); a per-call thread spawn (the DNS lookup thread
//! ureq's default resolver starts when a timeout is set), a re-built agent or TLS
//! configuration, or another allocation storm in the call path pushes it over the budget.

#[path = "support/server.rs"]
mod server;

use server::{Server, json};
use squirro_user_api::Client;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Allocations (and reallocations) one call may make on the calling thread: the count
/// measured when this test was written, plus a small margin. Lower it when the call path gets
/// leaner. Of the 44 (a bare ureq GET with its body read takes 37): building the request 3
/// (its path, query list and query value), its URL 1 (moved into the `Uri`, not copied), the
/// `Authorization` value none (the session makes it once per token; a call shares it),
/// decoding the `User` 7 (its strings), looking for the request's secret values (to scrub a
/// decoding error) none, and the exchange itself 33: ureq's request and reply heads, the
/// reply's `HeaderMap`, and the body read into a buffer sized from `Content-Length`.
const BUDGET_PER_CALL: u64 = ALLOCATIONS_MEASURED + 2;
const ALLOCATIONS_MEASURED: u64 = 44;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: an allocation while the thread's locals are being torn down is not counted.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to the system allocator with the caller's arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const USER: &str = r#"{"email":"admin@acme.example","full_name":"Acme Admin","id":"z63dXPIz70iDYrSsgqaeWC","role":"admin","role_permissions":["admin"],"tenant":"acme","groups":[]}"#;

#[test]
fn a_keep_alive_call_allocates_within_its_budget() {
    let server = Server::start(|_| json(200, USER));
    let client = Client::builder()
        .cluster(server.url())
        .tenant("acme")
        .access_token("a-token")
        .build()
        .expect("client");
    let call = || {
        let user = client
            .get_user_data("z63dXPIz70iDYrSsgqaeWC")
            .send()
            .expect("get_user_data");
        assert_eq!(user.id, "z63dXPIz70iDYrSsgqaeWC");
    };
    // The first calls open the connection and fill the caches.
    for _ in 0..5 {
        call();
    }
    const CALLS: u64 = 50;
    let before = allocations();
    for _ in 0..CALLS {
        call();
    }
    let spent = allocations() - before;
    // Every call went over the one keep-alive connection.
    let seen = server.seen();
    assert!(seen.iter().all(|s| s.connection == 0), "one connection");
    assert_eq!(
        spent % CALLS,
        0,
        "the same count each call: {spent} in {CALLS} calls"
    );
    let per_call = spent / CALLS;
    // For the record: a bare ureq agent's GET of the same reply, body read, no decoding.
    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    let url = format!(
        "{}/api/user/v1/acme/users/z63dXPIz70iDYrSsgqaeWC",
        server.url()
    );
    let bare = || {
        let mut r = agent.get(&url).call().expect("bare GET");
        r.body_mut().read_to_vec().expect("bare body");
    };
    bare();
    let before = allocations();
    for _ in 0..CALLS {
        bare();
    }
    let bare_per_call = (allocations() - before) / CALLS;
    eprintln!("allocations per call: SDK {per_call}, bare ureq {bare_per_call}");
    assert!(
        per_call <= BUDGET_PER_CALL,
        "a keep-alive call allocates {per_call} times, the budget is {BUDGET_PER_CALL}: what did \
         the call path gain?"
    );
}
