//! The journal of requests the server received, for tests to assert what a client sent.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use super::input::parse_pairs;

/// One request the server received, with the status it answered.
///
/// Get them with [`FakeServer::journal`](super::FakeServer::journal).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// The method, e.g. `"GET"`.
    pub method: String,
    /// The path as sent (still percent-encoded), e.g. `/api/user/v0/acme/users/a%2Fb`.
    pub path: String,
    /// The query string as sent, without the `?`; empty when there was none.
    pub query: String,
    /// The headers in the order received, names lowercase. The value of `authorization` is
    /// redacted to its scheme followed by `[redacted]` (e.g. `Bearer [redacted]`).
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The client's address; its port tells the TCP connections apart.
    pub peer: SocketAddr,
    /// The number of the TCP connection the request came on: 1 for the first connection the
    /// server accepted, 2 for the second, ...
    pub connection: u64,
    /// The status answered, `None` when the connection was dropped by a fault.
    pub status: Option<u16>,
}

impl JournalEntry {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request carried an `Authorization` header.
    pub fn has_authorization(&self) -> bool {
        self.header("authorization").is_some()
    }

    /// The query string decoded into name/value pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_pairs(&self.query)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body decoded as a form (`application/x-www-form-urlencoded`) into pairs, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_pairs(&self.body_text())
    }

    /// The body parsed as JSON, `None` when it is not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The journal: the last `capacity` entries in the order their replies were made. When it is
/// full, each new entry pushes out the oldest one (counted in `dropped`).
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    ring: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<JournalEntry>,
    dropped: u64,
}

impl Journal {
    /// A journal keeping the last `capacity` entries; `0` keeps none.
    pub(crate) fn new(capacity: usize) -> Journal {
        Journal {
            capacity,
            ring: Mutex::new(Ring::default()),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn push(&self, entry: JournalEntry) {
        if self.capacity == 0 {
            return;
        }
        let mut ring = self.lock();
        while ring.entries.len() >= self.capacity {
            ring.entries.pop_front();
            ring.dropped = ring.dropped.saturating_add(1);
        }
        ring.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// How many entries were pushed out by newer ones since the last `clear`.
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    pub(crate) fn clear(&self) {
        let mut ring = self.lock();
        ring.entries.clear();
        ring.dropped = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The value recorded for an `Authorization` header: its scheme and a marker.
pub(crate) fn redact_authorization(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} [redacted]"),
        None => "[redacted]".to_owned(),
    }
}
