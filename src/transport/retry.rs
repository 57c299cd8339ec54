//! The retry policy: which failed attempts are tried again, how long to wait between them
//! (backoff, `Retry-After`), and the bound on a whole call.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How failed attempts are retried.
///
/// The default follows the Python client (urllib3's `Retry(total=10, connect=5, read=3,
/// backoff_factor=1, status_forcelist=[502, 503, 504])`, `Retry-After` honoured, and a 413,
/// 429 or 503 carrying `Retry-After` retried too), with 429 always treated like 503 and
/// one deliberate difference: a `POST` the server may have processed (a 502 or 504, or a
/// failure after the request was sent) is not retried unless
/// [`retry_non_idempotent`](RetryPolicy::retry_non_idempotent) is set, so a retry cannot
/// create a user or a grant twice. Connection failures before anything was sent (refused,
/// unreachable, DNS, connect timeout) are retried for every method; TLS failures (an
/// untrusted certificate) never are. The token request (`POST /oauth2/token`) counts as safe
/// to repeat: a repeated login at worst opens a second session.
///
/// ```
/// use squirro_user_api::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::default()
///     .max_attempts(4)
///     .backoff_factor(Duration::from_millis(200))
///     .deadline(Duration::from_secs(30));
/// assert_eq!(policy.backoff(1), Duration::ZERO);
/// assert_eq!(policy.backoff(3), Duration::from_millis(800));
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    backoff_factor: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    pub(crate) connect_retries: u32,
    pub(crate) read_retries: u32,
    statuses: Vec<u16>,
    retry_non_idempotent: bool,
    deadline: Option<Duration>,
    sleep: Arc<dyn Fn(Duration) + Send + Sync>,
}

/// The default bound on one whole call, retries and waits included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            backoff_factor: Duration::from_secs(1),
            max_backoff: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(120),
            connect_retries: 5,
            read_retries: 3,
            statuses: vec![429, 502, 503, 504],
            retry_non_idempotent: false,
            deadline: Some(DEFAULT_DEADLINE),
            sleep: Arc::new(std::thread::sleep),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("backoff_factor", &self.backoff_factor)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("connect_retries", &self.connect_retries)
            .field("read_retries", &self.read_retries)
            .field("statuses", &self.statuses)
            .field("retry_non_idempotent", &self.retry_non_idempotent)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// No retries at all: one attempt.
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(1)
    }
    /// Attempts in all, the first included (default 10; at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
    /// The backoff factor (default 1 s): the n-th retry waits `factor * 2^(n-1)`, the first
    /// none, as urllib3 does.
    pub fn backoff_factor(mut self, d: Duration) -> Self {
        self.backoff_factor = d;
        self
    }
    /// The longest backoff between two attempts (default 120 s).
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// The longest `Retry-After` honoured (default 120 s); a longer one is cut to this.
    /// `Retry-After` may be seconds or an HTTP date; it replaces the backoff of that retry.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
    /// Retries after a failure to connect, at most (default 5, as urllib3's `connect=5` in the
    /// Python client): an unreachable cluster fails after about 30 s of backoff, not minutes.
    pub fn connect_retries(mut self, n: u32) -> Self {
        self.connect_retries = n;
        self
    }
    /// Retries after a connection broke or timed out once the request was sent, at most
    /// (default 3, as urllib3's `read=3`).
    pub fn read_retries(mut self, n: u32) -> Self {
        self.read_retries = n;
        self
    }
    /// The statuses that are retried (default 429, 502, 503, 504).
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }
    /// Also retry a `POST` after a 502, a 504 or a failure once the request was sent: only for
    /// callers that know their calls are safe to repeat (default false).
    pub fn retry_non_idempotent(mut self, yes: bool) -> Self {
        self.retry_non_idempotent = yes;
        self
    }
    /// A bound on the whole of one call (`.send()` or [`Client::execute`](crate::Client::execute)):
    /// its attempts, the waits between them, a token refresh and the repeat after a 401
    /// (default [`DEFAULT_DEADLINE`], two minutes; `None` for no bound). Each attempt's
    /// timeout is cut to the time left, and no wait starts that would end past the deadline:
    /// the call then ends with the last outcome. A `Retry-After` that lies beyond the time
    /// left ends the call at once with that reply's error, which carries the server's wait
    /// ([`ErrorReply::retry_after`](crate::ErrorReply::retry_after)) so the caller can
    /// schedule the retry.
    ///
    /// ```
    /// # use squirro_user_api::RetryPolicy;
    /// # use std::time::Duration;
    /// let bounded = RetryPolicy::default().deadline(Duration::from_secs(30));
    /// let unbounded = RetryPolicy::default().deadline(None);
    /// # let _ = (bounded, unbounded);
    /// ```
    pub fn deadline(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.deadline = d.into();
        self
    }
    /// Replaces `std::thread::sleep` for the waits between attempts (for tests).
    pub fn sleep_with(mut self, f: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.sleep = Arc::new(f);
        self
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        if retry <= 1 {
            return Duration::ZERO;
        }
        let exp = 2u32.saturating_pow(retry - 1);
        self.backoff_factor
            .saturating_mul(exp)
            .min(self.max_backoff)
    }

    /// When a call that started at `started` must end (`None`: no bound, also for a deadline
    /// too far away to be an instant).
    pub(crate) fn deadline_from(&self, started: Instant) -> Option<Instant> {
        self.deadline.and_then(|d| started.checked_add(d))
    }

    /// The wait before the retry that follows attempt `attempt`, given the reply's
    /// `Retry-After`: the server's wait (capped at [`max_retry_after`](Self::max_retry_after))
    /// or the backoff.
    pub(crate) fn wait_after(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(ra) => ra.min(self.max_retry_after),
            None => self.backoff(attempt),
        }
    }

    pub(crate) fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            (self.sleep)(d);
        }
    }

    pub(crate) fn retries_status(
        &self,
        status: u16,
        idempotent: bool,
        has_retry_after: bool,
    ) -> bool {
        // As urllib3: a 413, 429 or 503 that carries Retry-After is retried too.
        let listed = self.statuses.contains(&status)
            || (has_retry_after && matches!(status, 413 | 429 | 503));
        // 413, 429 and 503 say the request was not processed; 502 and 504 do not.
        listed && (idempotent || self.retry_non_idempotent || matches!(status, 413 | 429 | 503))
    }

    /// Whether a failed attempt is retried, and which budget it spends.
    pub(crate) fn retries_error(&self, e: &ureq::Error, idempotent: bool) -> Option<Failure> {
        use std::io::ErrorKind as K;
        let unsent = matches!(
            e,
            ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve)
        ) || matches!(e, ureq::Error::Io(io) if matches!(
            io.kind(),
            K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable
        ));
        // rustls reports a bad certificate as an `InvalidData` I/O error: not transient.
        let transient = match e {
            ureq::Error::Io(io) => !matches!(
                io.kind(),
                K::InvalidData | K::InvalidInput | K::PermissionDenied | K::Unsupported
            ),
            ureq::Error::Timeout(_) | ureq::Error::Protocol(_) => true,
            _ => false,
        };
        if unsent {
            Some(Failure::Connect)
        } else if transient && (idempotent || self.retry_non_idempotent) {
            Some(Failure::Read)
        } else {
            None
        }
    }
}

/// The two kinds of failed attempts that have retry budgets of their own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing was sent: no connection.
    Connect,
    /// The connection broke or timed out after the request was sent.
    Read,
}

/// The wait a `Retry-After` value asks for: seconds, or an HTTP date (IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`); a date in the past is no wait.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let rest = value.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else { return None };
    // An HTTP date has a four-digit year; anything else is not one (and would overflow).
    if !(1970..=9999).contains(&year)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !(0..=60).contains(&s)
    {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y.div_euclid(400), y.rem_euclid(400));
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + s)?;
    let at = UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_767); // Sun, 06 Nov 1994 08:49:27 GMT
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:17 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", UNIX_EPOCH),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(
                "Tue, 29 Feb 2028 00:00:01 GMT",
                UNIX_EPOCH + Duration::from_secs(1_835_395_200)
            ),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX)),
            "huge seconds are a huge wait, not an overflow"
        );
        for bad in [
            "",
            "-1",
            "soon",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 999999999999999 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 99 Nov 1994 99:49:37 GMT",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn what_is_retried() {
        let p = RetryPolicy::default();
        assert!(p.retries_status(503, false, false) && p.retries_status(429, false, false));
        assert!(!p.retries_status(502, false, false) && !p.retries_status(504, false, false));
        assert!(p.retries_status(502, true, false) && !p.retries_status(500, true, false));
        assert!(
            RetryPolicy::default()
                .retry_non_idempotent(true)
                .retries_status(504, false, false)
        );

        let refused =
            || ureq::Error::Io(io::Error::new(io::ErrorKind::ConnectionRefused, "refused"));
        let reset = || ureq::Error::Io(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        let connect = Some(Failure::Connect);
        assert!(
            p.retries_error(&refused(), false) == connect,
            "nothing was sent"
        );
        assert!(p.retries_error(&ureq::Error::Timeout(ureq::Timeout::Connect), false) == connect);
        assert!(
            p.retries_error(&reset(), false).is_none(),
            "a POST may have been processed"
        );
        assert!(p.retries_error(&reset(), true) == Some(Failure::Read));
        assert!(
            p.retries_error(&ureq::Error::Timeout(ureq::Timeout::Global), false)
                .is_none()
        );
        let bad_cert = ureq::Error::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "invalid peer certificate",
        ));
        assert!(
            p.retries_error(&bad_cert, true).is_none(),
            "a TLS failure is not transient"
        );
    }
}
