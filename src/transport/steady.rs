//! Socket timeouts bounded by the attempt's end, and re-armed only when it matters.
//!
//! The end of the attempt running on a thread ([`attempt_ends`]) bounds every read and write
//! of its connection (and its host lookup): the agent itself has no overall timeout, only the
//! connect timeout. ureq recomputes each timeout it has at every step of a call (about 1,200
//! instructions of a keep-alive call, the profile showed); one clock read per read or write
//! here does the same job, and an attempt with its own, nearer end needs no request-level
//! configuration (which costs a TLS configuration of its own).
//!
//! With a timeout set, ureq gives each read and write of a connection the time left until the
//! attempt's end, and its TCP transport calls `setsockopt` whenever that value differs from
//! the one the socket has: on every call, since the time left is never the same twice to the
//! nanosecond. Two system calls a call (about 1.2 us of the issue-14 profile) for a timeout
//! that moves by microseconds. [`SteadyConnector`] wraps ureq's connector so that each
//! connection keeps the timeout its socket already has while that lies within [`slack`] of the
//! time actually left; only a larger difference (a slow server, a nearer call deadline)
//! re-arms the socket. The deadline holds to within that slack: at most 10 ms on the default
//! 55 s timeout, and never more than 1/64 of the time left.

use std::cell::Cell;
use std::time::{Duration, Instant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
    time::Duration as UreqDuration,
};

thread_local! {
    /// When the attempt this thread is running must end; `None` outside an attempt.
    static ATTEMPT_END: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Bounds the I/O of the attempt this thread runs by `end` until the guard is dropped (which
/// restores what was there before).
pub(crate) fn attempt_ends(end: Option<Instant>) -> AttemptEnd {
    AttemptEnd(ATTEMPT_END.replace(end))
}

/// Restores the thread's previous attempt end when dropped.
pub(crate) struct AttemptEnd(Option<Instant>);

impl Drop for AttemptEnd {
    fn drop(&mut self) {
        ATTEMPT_END.set(self.0);
    }
}

/// `timeout`, made to end no later than the end of this thread's attempt.
pub(crate) fn bounded(mut timeout: NextTimeout) -> NextTimeout {
    if let Some(end) = ATTEMPT_END.get() {
        let left = end.saturating_duration_since(Instant::now());
        let nearer = match timeout.after {
            UreqDuration::Exact(after) => left < after,
            UreqDuration::NotHappening => true,
        };
        if nearer {
            timeout.after = UreqDuration::Exact(left);
            timeout.reason = ureq::Timeout::Global;
        }
    }
    timeout
}

/// The most a socket timeout may differ from the time left before the socket is re-armed.
const MAX_SLACK: Duration = Duration::from_millis(10);

/// How far the socket's timeout may be from `left` and still be kept.
fn slack(left: Duration) -> Duration {
    (left / 64).min(MAX_SLACK)
}

/// ureq's default connector, whose connections re-arm their socket timeouts only when the
/// time left has moved by more than [`slack`].
#[derive(Debug, Default)]
pub(crate) struct SteadyConnector {
    inner: DefaultConnector,
}

impl Connector<()> for SteadyConnector {
    type Out = SteadyTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(self
            .inner
            .connect(details, chained)?
            .map(|inner| SteadyTransport { inner, armed: None }))
    }
}

/// A connection that passes on the timeout its socket already has while it is close enough.
#[derive(Debug)]
pub(crate) struct SteadyTransport {
    inner: Box<dyn Transport>,
    /// The last timeout passed on, which the socket now has (reads and writes alike).
    armed: Option<Duration>,
}

impl SteadyTransport {
    fn steady(&mut self, timeout: NextTimeout) -> NextTimeout {
        let mut timeout = bounded(timeout);
        // A per-read or per-write limit is applied by the transport below, which cannot be
        // steadied from here; this client sets neither, so they are `None`.
        if timeout.per_read.is_some() || timeout.per_write.is_some() {
            return timeout;
        }
        let UreqDuration::Exact(left) = timeout.after else {
            return timeout;
        };
        if left.is_zero() {
            // Out of time: the transport below reports the timeout.
            return timeout;
        }
        match self.armed {
            Some(armed) if armed.abs_diff(left) <= slack(left) => {
                timeout.after = UreqDuration::Exact(armed);
            }
            _ => self.armed = Some(left),
        }
        timeout
    }
}

impl Transport for SteadyTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = self.steady(timeout);
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = self.steady(timeout);
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> SteadyTransport {
        // Only `steady` is exercised: the inner transport is never used.
        #[derive(Debug)]
        struct Unused;
        impl Transport for Unused {
            fn buffers(&mut self) -> &mut dyn Buffers {
                unimplemented!("not used by these tests")
            }
            fn transmit_output(&mut self, _: usize, _: NextTimeout) -> Result<(), ureq::Error> {
                unimplemented!("not used by these tests")
            }
            fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
                unimplemented!("not used by these tests")
            }
            fn is_open(&mut self) -> bool {
                false
            }
        }
        SteadyTransport {
            inner: Box::new(Unused),
            armed: None,
        }
    }

    fn left(t: Duration) -> NextTimeout {
        NextTimeout {
            after: UreqDuration::Exact(t),
            ..NextTimeout::default()
        }
    }

    fn after(t: NextTimeout) -> Duration {
        match t.after {
            UreqDuration::Exact(d) => d,
            UreqDuration::NotHappening => Duration::MAX,
        }
    }

    #[test]
    fn a_timeout_within_the_slack_keeps_the_armed_one() {
        let mut t = transport();
        let s55 = Duration::from_secs(55);
        assert_eq!(after(t.steady(left(s55))), s55);
        let near = s55 - Duration::from_micros(30);
        assert_eq!(after(t.steady(left(near))), s55, "kept: 30 us off");
        let far = s55 - Duration::from_millis(11);
        assert_eq!(after(t.steady(left(far))), far, "re-armed: 11 ms off");
    }

    #[test]
    fn the_slack_shrinks_with_the_time_left() {
        let mut t = transport();
        let ms64 = Duration::from_millis(64);
        assert_eq!(after(t.steady(left(ms64))), ms64);
        // 1/64 of 62 ms is under 1 ms, so 2 ms off is re-armed.
        let ms62 = Duration::from_millis(62);
        assert_eq!(after(t.steady(left(ms62))), ms62);
        // Never more than the slack past the time left.
        let ms61 = ms62 - Duration::from_micros(500);
        let given = after(t.steady(left(ms61)));
        assert!(given.abs_diff(ms61) <= slack(ms61), "{given:?}");
    }

    #[test]
    fn no_timeout_and_zero_pass_unchanged() {
        let mut t = transport();
        t.steady(left(Duration::from_secs(55)));
        let none = NextTimeout::default();
        assert_eq!(t.steady(none), none);
        let zero = left(Duration::ZERO);
        assert_eq!(t.steady(zero), zero);
    }
}
