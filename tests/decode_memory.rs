//! Decoding a big list reply takes a small multiple of its bytes (issue: bounded memory):
//! serde's `flatten` used to copy every object into an intermediate tree first, and
//! `get_workspaces` the whole reply. Peak bytes are counted by a global allocator.

#[path = "support/decode_fixtures.rs"]
mod fixtures;

use fixtures::{Counting, KINDS, peak_of, reply_near};
use serde::de::DeserializeOwned;
use squirro_user_api::Reply;
use squirro_user_api::models::{GrantList, Group, ProjectMemberList, UserList, WorkspaceList};

#[global_allocator]
static ALLOC: Counting = Counting;

/// The counter sees every thread: the tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The peak bytes of decoding `body` as `T` the way a method's `.send()` does, and how many
/// elements the list had.
fn peak<T: DeserializeOwned>(
    operation: &'static str,
    body: Vec<u8>,
    len: fn(&T) -> usize,
) -> (usize, usize) {
    let reply = Reply::from_parts(operation, 200, body);
    let (peak, decoded) = peak_of(|| reply.decode::<T>());
    let decoded = decoded.unwrap_or_else(|e| panic!("{operation}: {e}"));
    (peak, len(&decoded))
}

#[test]
fn every_list_reply_decodes_within_4x_its_bytes() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const BYTES: usize = 3 << 20;
    for (kind, operation) in KINDS {
        let body = reply_near(kind, BYTES);
        let bytes = body.len();
        let (peak, count) = match kind {
            "users" => peak::<UserList>(operation, body, |l| l.users.len()),
            "groups" => peak::<Vec<Group>>(operation, body, |l| l.len()),
            "members" => peak::<ProjectMemberList>(operation, body, |l| l.members.len()),
            "grants" => peak::<GrantList>(operation, body, |l| l.grants.len()),
            "workspaces" => peak::<WorkspaceList>(operation, body, |l| l.workspaces.len()),
            _ => unreachable!("{kind}"),
        };
        let ratio = peak as f64 / bytes as f64;
        eprintln!("{kind}: {bytes} bytes, {count} elements, peak {peak} bytes = {ratio:.2}x");
        assert!(count > 1_000, "{kind}: {count} elements");
        assert!(
            ratio <= 4.0,
            "{kind}: peak {peak} bytes for a {bytes}-byte reply ({ratio:.2}x)"
        );
    }
}

#[test]
fn unknown_fields_are_kept_in_a_big_list() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let list = Reply::from_parts("get_users", 200, fixtures::reply_of("users", 2_000))
        .decode::<UserList>()
        .expect("decodes");
    assert_eq!(list.users.len(), 2_000);
    // User i has [3, 1, 5, 0, 4, 2][i % 6] custom values (see the fixture).
    let five = &list.users[1_994];
    assert_eq!(five.full_name.as_deref(), Some("User 001994"));
    let keys: Vec<_> = five.extra.keys().collect();
    let all = [
        "department",
        "favourite_colour",
        "employee_no",
        "office",
        "start_date",
    ];
    assert_eq!(keys, all);
    assert_eq!(five.extra["employee_no"], 4711);
    assert_eq!(list.users[1_995].extra.len(), 0);
    assert_eq!(list.users[1_999].extra.len(), 1);
}
