//! Fault injection: the next requests (optionally only those matching a method and a path)
//! fail with a status, are delayed, or lose their connection.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// A failure to inject into the next matching requests, built with [`Fault::status`],
/// [`Fault::delay`] or [`Fault::drop_connection`] and handed to
/// [`FakeServer::inject`](super::FakeServer::inject).
///
/// By default a fault hits the next request of any kind, once, before the request is handled
/// (so it changes nothing on the server). Faults are consumed in the order they were injected;
/// a request meets at most one.
///
/// ```
/// use std::time::Duration;
/// use squirro_user_api_fake::Fault;
///
/// // The next two GETs under /v0/ answer 503 with `Retry-After: 1`.
/// let outage = Fault::status(503).retry_after(1).times(2).matching("GET", "/v0/");
/// // The next request is answered after half a second.
/// let slow = Fault::delay(Duration::from_millis(500));
/// // The next POST is handled, then its connection is closed without a reply.
/// let lost_reply = Fault::drop_connection().matching("POST", "").after_handling();
/// # let _ = (outage, slow, lost_reply);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) action: FaultAction,
    remaining: u32,
    method: Option<String>,
    path: Option<String>,
    pub(crate) after_handling: bool,
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Answer this status with `{"error": ...}`, and `Retry-After` when set.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the TCP connection without answering.
    Drop,
}

impl Fault {
    fn new(action: FaultAction) -> Fault {
        Fault {
            action,
            remaining: 1,
            method: None,
            path: None,
            after_handling: false,
        }
    }

    /// Answer `status` (e.g. 503) with a JSON error body `{"error": "..."}`. A number that is not
    /// a valid HTTP status (outside 100..=999) is answered as 500.
    pub fn status(status: u16) -> Fault {
        Fault::new(FaultAction::Status {
            status,
            retry_after: None,
        })
    }

    /// Wait `duration` before answering normally.
    pub fn delay(duration: Duration) -> Fault {
        Fault::new(FaultAction::Delay(duration))
    }

    /// Close the TCP connection without sending any reply (the client sees the connection
    /// closed while it waits for the response).
    pub fn drop_connection() -> Fault {
        Fault::new(FaultAction::Drop)
    }

    /// Hit the next `n` matching requests instead of one (`0` disarms the fault).
    pub fn times(mut self, n: u32) -> Fault {
        self.remaining = n;
        self
    }

    /// Only hit requests with this method (case-insensitive; `""` or `"*"` for any) whose path
    /// contains `path` (e.g. `"/v0/"`, `"/oauth2/token"`; `""` for any). Paths are as sent,
    /// including the `/api/user` prefix and any percent-encoding.
    pub fn matching(mut self, method: &str, path: &str) -> Fault {
        self.method = match method {
            "" | "*" => None,
            m => Some(m.to_ascii_uppercase()),
        };
        self.path = (!path.is_empty()).then(|| path.to_owned());
        self
    }

    /// Add a `Retry-After: seconds` header to a status fault (ignored by the other kinds).
    pub fn retry_after(mut self, seconds: u64) -> Fault {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds);
        }
        self
    }

    /// Handle the request first (its changes happen on the server), then apply the fault to
    /// the reply: replace it with the status, delay it, or drop the connection instead of
    /// sending it. This is how a reply lost after the server acted looks to a client.
    pub fn after_handling(mut self) -> Fault {
        self.after_handling = true;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.path.as_deref().is_none_or(|p| path.contains(p))
    }
}

/// The injected faults not yet used up.
#[derive(Debug, Default)]
pub(crate) struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    pub(crate) fn push(&self, fault: Fault) {
        if fault.remaining > 0 {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(fault);
        }
    }

    pub(crate) fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The first fault matching the request, used up by one.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut faults = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let index = faults.iter().position(|f| f.matches(method, path))?;
        let fault = &mut faults[index];
        fault.remaining -= 1;
        let taken = fault.clone();
        if fault.remaining == 0 {
            faults.remove(index);
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up_in_order_and_match() {
        let faults = Faults::default();
        faults.push(Fault::status(503).times(2).matching("get", "/v0/"));
        faults.push(Fault::drop_connection());
        faults.push(Fault::status(500).times(0));
        let take = |m, p| faults.take(m, p).map(|f| f.action);
        let s503 = Some(FaultAction::Status {
            status: 503,
            retry_after: None,
        });
        assert_eq!(take("GET", "/api/user/v0/acme/users"), s503);
        // A POST does not match the first fault, so the second one takes it.
        assert_eq!(
            take("POST", "/api/user/v0/acme/users"),
            Some(FaultAction::Drop)
        );
        assert_eq!(take("GET", "/api/user/v0/acme/users"), s503);
        assert_eq!(take("GET", "/api/user/v0/acme/users"), None);
    }
}
