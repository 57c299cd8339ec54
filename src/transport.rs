//! Sending: one ureq `Agent` (keep-alive pool), the retry policy, redirects, the reply size
//! limit, and one debug log line per HTTP exchange.

use crate::Error;
use crate::request::{Body, Method, Request};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use ureq::http;

/// The default limit on the size of a reply body.
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 10 * 1024 * 1024;

/// How many redirects one attempt follows.
const MAX_REDIRECTS: usize = 5;

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
    max_attempts: u32,
    backoff_factor: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    connect_retries: u32,
    read_retries: u32,
    statuses: Vec<u16>,
    retry_non_idempotent: bool,
    deadline: Option<Duration>,
    sleep: Arc<dyn Fn(Duration) + Send + Sync>,
}

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
            deadline: None,
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
    /// (default none). Each attempt's timeout is cut to the time left, and no wait starts that
    /// would end past the deadline: the call then ends with the last outcome.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
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

    /// When a call started now must end.
    pub(crate) fn deadline_from_now(&self) -> Option<Instant> {
        self.deadline.and_then(|d| Instant::now().checked_add(d))
    }

    fn retries_status(&self, status: u16, idempotent: bool, has_retry_after: bool) -> bool {
        // As urllib3: a 413, 429 or 503 that carries Retry-After is retried too.
        let listed = self.statuses.contains(&status)
            || (has_retry_after && matches!(status, 413 | 429 | 503));
        // 413, 429 and 503 say the request was not processed; 502 and 504 do not.
        listed && (idempotent || self.retry_non_idempotent || matches!(status, 413 | 429 | 503))
    }

    /// Whether a failed attempt is retried, and which budget it spends.
    fn retries_error(&self, e: &ureq::Error, idempotent: bool) -> Option<Failure> {
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
enum Failure {
    /// Nothing was sent: no connection.
    Connect,
    /// The connection broke or timed out after the request was sent.
    Read,
}

/// The wait a `Retry-After` value asks for: seconds, or an HTTP date (IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`); a date in the past is no wait.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
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
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y.div_euclid(400), y.rem_euclid(400));
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let at = UNIX_EPOCH
        + Duration::from_secs(u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()?);
    Some(at.duration_since(now).unwrap_or_default())
}

/// A reply read to the end.
pub struct Reply {
    pub(crate) operation: &'static str,
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("body", &crate::error::excerpt(&self.body))
            .finish()
    }
}

impl Reply {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Decodes the body as `T`. Not JSON: [`Error::Transport`]; JSON of another shape:
    /// [`Error::Decode`]. An empty body decodes as an empty object or list.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        match serde_json::from_slice(body) {
            Ok(v) => Ok(v),
            Err(e) if body == b"{}" => {
                serde_json::from_slice(b"[]").map_err(|_| self.decode_error::<T>(e))
            }
            Err(e) => Err(self.decode_error::<T>(e)),
        }
    }

    /// Decodes a list and returns its first element.
    pub fn first<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let list: Vec<T> = self.decode()?;
        list.into_iter().next().ok_or_else(|| Error::Decode {
            operation: self.operation,
            status: self.status,
            target: std::any::type_name::<T>(),
            excerpt: crate::error::excerpt(&self.body),
            source: serde::de::Error::custom("the reply list is empty"),
        })
    }

    /// Checks that a reply with no data is empty or JSON, as the Python client does.
    pub fn unit(&self) -> Result<(), Error> {
        crate::error::parse_body(self.status, &self.body).map(|_| ())
    }

    fn decode_error<T>(&self, e: serde_json::Error) -> Error {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => Error::transport(
                Some(self.status),
                "the body is not JSON",
                &self.body,
                Some(Box::new(e)),
            ),
            Category::Data => Error::Decode {
                operation: self.operation,
                status: self.status,
                target: std::any::type_name::<T>(),
                excerpt: crate::error::excerpt(&self.body),
                source: e,
            },
        }
    }
}

/// The agent and the settings every attempt uses.
#[derive(Clone)]
pub(crate) struct Transport {
    agent: ureq::Agent,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_reply_bytes: u64,
    /// The timeout of one attempt, redirects included (also the agent's `timeout_global`).
    timeout: Duration,
    /// `host[:port]` of the base URL, for error messages.
    pub(crate) host: String,
}

/// What a single request needs on the wire besides the [`Request`].
pub(crate) struct Outgoing<'a> {
    pub(crate) url: &'a str,
    pub(crate) request: &'a Request,
    pub(crate) bearer: Option<&'a str>,
    /// Repeating the request is harmless even when the server processed it.
    pub(crate) idempotent: bool,
}

impl Transport {
    pub(crate) fn new(
        agent: ureq::Agent,
        retry: RetryPolicy,
        max_reply_bytes: u64,
        timeout: Duration,
        host: String,
    ) -> Self {
        Transport {
            agent,
            retry,
            max_reply_bytes,
            timeout,
            host,
        }
    }

    /// Sends with retries until `deadline`; returns the first reply that is not retried
    /// (whatever its status). Giving up after a retry is [`Error::RetriesExhausted`]; when
    /// nothing was retried, the reply or the error is returned as it is.
    pub(crate) fn send(
        &self,
        out: &Outgoing<'_>,
        deadline: Option<Instant>,
    ) -> Result<Reply, Error> {
        let policy = &self.retry;
        let method = out.request.method;
        let path = &out.request.path;
        let mut attempt = 0u32;
        let (mut connect_failures, mut read_failures) = (0u32, 0u32);
        loop {
            attempt += 1;
            let t0 = Instant::now();
            let (outcome, wait) = match self.attempt(out, deadline) {
                Ok((reply, retry_after)) => {
                    log::debug!(
                        "{method} {path} -> {} (attempt {attempt}, {:?})",
                        reply.status,
                        t0.elapsed()
                    );
                    if !policy.retries_status(reply.status, out.idempotent, retry_after.is_some()) {
                        return Ok(reply);
                    }
                    let wait = match retry_after {
                        Some(ra) => ra.min(policy.max_retry_after),
                        None => policy.backoff(attempt),
                    };
                    (Ok(reply), wait)
                }
                Err(Attempt::Failed(e)) => {
                    let e = sanitize(e);
                    log::debug!(
                        "{method} {path} -> {e} (attempt {attempt}, {:?})",
                        t0.elapsed()
                    );
                    let failure = policy.retries_error(&e, out.idempotent);
                    let e = Error::Connection {
                        host: self.host.clone(),
                        source: e,
                    };
                    let budget_left = match failure {
                        None => return Err(e),
                        Some(Failure::Connect) => {
                            connect_failures += 1;
                            connect_failures <= policy.connect_retries
                        }
                        Some(Failure::Read) => {
                            read_failures += 1;
                            read_failures <= policy.read_retries
                        }
                    };
                    if !budget_left && attempt == 1 {
                        return Err(e);
                    }
                    if !budget_left {
                        return Err(Error::RetriesExhausted {
                            attempts: attempt,
                            last_status: None,
                            last_error: Some(Box::new(e)),
                        });
                    }
                    (Err(e), policy.backoff(attempt))
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            };
            let past_deadline = deadline.is_some_and(|d| Instant::now() + wait >= d);
            if attempt >= policy.max_attempts || past_deadline {
                return match outcome {
                    Ok(reply) if attempt == 1 => Ok(reply),
                    Err(e) if attempt == 1 => Err(e),
                    Ok(reply) => Err(Error::RetriesExhausted {
                        attempts: attempt,
                        last_status: Some(reply.status),
                        last_error: None,
                    }),
                    Err(e) => Err(Error::RetriesExhausted {
                        attempts: attempt,
                        last_status: None,
                        last_error: Some(Box::new(e)),
                    }),
                };
            }
            if !wait.is_zero() {
                (policy.sleep)(wait);
            }
        }
    }

    /// One attempt: send, follow redirects, and read the whole body (so the connection goes
    /// back to the pool). Bounded by the client's timeout, or by the deadline when it is nearer.
    fn attempt(
        &self,
        out: &Outgoing<'_>,
        deadline: Option<Instant>,
    ) -> Result<(Reply, Option<Duration>), Attempt> {
        let req = out.request;
        let natural_end = Instant::now() + self.timeout;
        let ends = deadline.map_or(natural_end, |d| d.min(natural_end));
        let mut url = std::borrow::Cow::Borrowed(out.url);
        let mut bearer = out.bearer;
        let mut hops = 0;
        loop {
            // The agent's own timeout serves a first exchange that the deadline does not cut.
            let limit = (hops > 0 || ends < natural_end)
                .then(|| ends.saturating_duration_since(Instant::now()));
            let mut resp = self.exchange(req, &url, bearer, limit)?;
            let status = resp.status().as_u16();
            let location = resp.headers().get("location").and_then(|v| v.to_str().ok());
            if let Some((next, trusted)) = location
                .filter(|_| hops < MAX_REDIRECTS)
                .and_then(|l| redirect(status, req.method, &req.body, &url, l))
            {
                log::debug!(
                    "{} {} -> {status}, redirected{}",
                    req.method,
                    req.path,
                    if trusted { "" } else { " to another origin" }
                );
                // A redirect's body is small or empty; reading it lets the connection be reused.
                let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
                url = std::borrow::Cow::Owned(next);
                bearer = bearer.filter(|_| trusted);
                hops += 1;
                continue;
            }
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            return match resp
                .body_mut()
                .with_config()
                .limit(self.max_reply_bytes)
                .read_to_vec()
            {
                Ok(body) => Ok((
                    Reply {
                        operation: req.operation,
                        status,
                        body,
                    },
                    retry_after,
                )),
                Err(ureq::Error::BodyExceedsLimit(limit)) => {
                    Err(Attempt::Fatal(Error::Transport {
                        status: Some(status),
                        reason: format!(
                            "the reply body is larger than the limit of {limit} bytes (see ClientBuilder::max_reply_bytes); reading stopped there"
                        ),
                        excerpt: String::new(),
                        source: None,
                    }))
                }
                Err(e) => Err(Attempt::Failed(e)),
            };
        }
    }

    /// One HTTP exchange, under `limit` instead of the agent's timeout when given.
    fn exchange(
        &self,
        req: &Request,
        url: &str,
        bearer: Option<&str>,
        limit: Option<Duration>,
    ) -> Result<http::Response<ureq::Body>, Attempt> {
        let mut builder = http::Request::builder()
            .method(req.method.as_str())
            .uri(url)
            .header("Accept", "application/json");
        if let Some(token) = bearer {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(ct) = req.body.content_type() {
            builder = builder.header("Content-Type", ct);
        }
        let sent = match &req.body {
            Body::Empty if req.method == Method::Get => {
                builder.body(()).map(|r| self.run(r, limit))
            }
            body => builder.body(body.as_bytes()).map(|r| self.run(r, limit)),
        };
        match sent {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(Attempt::Failed(e)),
            // Only a header value can fail here: a token with a newline, say.
            Err(e) => Err(Attempt::Fatal(Error::invalid(
                "request",
                format!("cannot build the HTTP request: {e}"),
            ))),
        }
    }

    fn run(
        &self,
        r: http::Request<impl ureq::AsSendBody>,
        limit: Option<Duration>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        use ureq::RequestExt;
        match limit {
            // Request-level settings cost a TLS configuration of their own: only when needed.
            Some(left) => r
                .with_agent(&self.agent)
                .configure()
                .timeout_global(Some(left))
                .run(),
            None => self.agent.run(r),
        }
    }
}

enum Attempt {
    /// The transport failed; maybe retried.
    Failed(ureq::Error),
    /// Not retried.
    Fatal(Error),
}

/// Where a redirect from `from` leads, and whether the new URL is trusted with the
/// `Authorization` header and the body: the same origin (scheme, host and port), or the
/// upgrade from `http` on port 80 to `https` on port 443 of the same host. Not followed, so the
/// 3xx is the reply: a 301, 302 or 303 of anything but a `GET` (following would silently turn
/// the call into a `GET`), a request with a body redirected to another origin, and a
/// `Location` that is not an absolute URL or path.
fn redirect(
    status: u16,
    method: Method,
    body: &Body,
    from: &str,
    location: &str,
) -> Option<(String, bool)> {
    let same_method = match status {
        307 | 308 => true,
        301..=303 => method == Method::Get,
        _ => false,
    };
    if !same_method {
        return None;
    }
    let from: http::Uri = from.parse().ok()?;
    let (scheme, authority) = (from.scheme_str()?, from.authority()?);
    let location = location.split('#').next().unwrap_or_default();
    let next = if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        location.to_string()
    };
    let to: http::Uri = next.parse().ok()?;
    let to_scheme = to.scheme_str().filter(|s| matches!(*s, "http" | "https"))?;
    let port = |u: &http::Uri| {
        u.port_u16().unwrap_or(if u.scheme_str() == Some("https") {
            443
        } else {
            80
        })
    };
    let same_host = to
        .host()
        .filter(|h| !h.is_empty())?
        .eq_ignore_ascii_case(from.host()?);
    let trusted = same_host
        && ((scheme == to_scheme && port(&from) == port(&to))
            || (scheme == "http" && to_scheme == "https" && port(&from) == 80 && port(&to) == 443));
    if !trusted && *body != Body::Empty {
        return None;
    }
    Some((next, trusted))
}

/// ureq errors that carry a URL carry it with its query, where some calls put the client
/// secret: scrub them before they reach an [`Error`] or a log line.
fn sanitize(e: ureq::Error) -> ureq::Error {
    let scrub = |s: String| crate::redact::scrub(&s).into_owned();
    match e {
        ureq::Error::BadUri(s) => ureq::Error::BadUri(scrub(s)),
        ureq::Error::RequireHttpsOnly(s) => ureq::Error::RequireHttpsOnly(scrub(s)),
        ureq::Error::ConnectProxyFailed(s) => ureq::Error::ConnectProxyFailed(scrub(s)),
        e => e,
    }
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
        for bad in [
            "",
            "-1",
            "soon",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
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

    #[test]
    fn redirects_keep_credentials_on_the_same_origin_only() {
        let (get, post) = (Method::Get, Method::Post);
        let form = Body::Form("password=x".into());
        let from = "http://127.0.0.1:8080/api/user/v0/acme/users?x=1";
        let to = |status, method, body: &Body, loc| redirect(status, method, body, from, loc);
        assert_eq!(
            to(302, get, &Body::Empty, "/elsewhere#frag"),
            Some(("http://127.0.0.1:8080/elsewhere".into(), true))
        );
        assert_eq!(
            to(301, get, &Body::Empty, "http://127.0.0.1:9090/x"),
            Some(("http://127.0.0.1:9090/x".into(), false))
        );
        assert_eq!(
            to(307, get, &Body::Empty, "//localhost:8080/x"),
            Some(("http://localhost:8080/x".into(), false))
        );
        assert_eq!(
            to(308, post, &form, "http://127.0.0.1:8080/y"),
            Some(("http://127.0.0.1:8080/y".into(), true))
        );
        assert_eq!(
            to(308, post, &form, "https://127.0.0.1:8080/y"),
            None,
            "a body never goes to another origin"
        );
        assert_eq!(
            to(302, post, &form, "/y"),
            None,
            "a POST is not turned into a GET"
        );
        assert_eq!(to(302, get, &Body::Empty, "relative/path"), None);
        assert_eq!(to(302, get, &Body::Empty, "ftp://127.0.0.1/x"), None);
        assert_eq!(to(304, get, &Body::Empty, "/x"), None);
        let upgrade = redirect(
            301,
            get,
            &Body::Empty,
            "http://squirro.example.com/a",
            "https://squirro.example.com/a",
        );
        assert_eq!(
            upgrade,
            Some(("https://squirro.example.com/a".into(), true))
        );
        let downgrade = redirect(
            301,
            get,
            &Body::Empty,
            "https://squirro.example.com/a",
            "http://squirro.example.com/a",
        );
        assert_eq!(downgrade.map(|(_, trusted)| trusted), Some(false));
    }

    #[test]
    fn ureq_errors_with_urls_are_scrubbed() {
        let e = sanitize(ureq::Error::BadUri(
            "http://h/x?client_id=c&client_secret=SEKRIT is missing host".into(),
        ));
        let e = Error::Connection {
            host: "h".into(),
            source: e,
        };
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                !shown.contains("SEKRIT") && shown.contains("client_id=c"),
                "{shown}"
            );
        }
    }
}

/// The agent's resolver: ureq 3.5 resolves the host before it looks in its connection pool, on
/// every request, and with a timeout set (the client always sets one) its `DefaultResolver`
/// runs each lookup on a new thread. This one answers an IP literal at once and keeps the last
/// lookup of a host name for [`RESOLVE_TTL`], so a call on a pooled connection neither spawns a
/// thread nor asks DNS; a new connection after that time looks the host up again.
#[derive(Debug, Default)]
pub(crate) struct PoolFriendlyResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    last: std::sync::Mutex<
        Option<(
            String,
            ureq::unversioned::resolver::ResolvedSocketAddrs,
            Instant,
        )>,
    >,
}

/// How long a host name lookup is reused.
const RESOLVE_TTL: Duration = Duration::from_secs(30);

impl ureq::unversioned::resolver::Resolver for PoolFriendlyResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return self.inner.resolve(uri, config, timeout);
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            let port = authority
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            let mut addrs = self.empty();
            addrs.push(std::net::SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = |(k, _, at): &&(String, _, Instant)| {
            k.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")) == Some(authority.as_str())
                && at.elapsed() < RESOLVE_TTL
        };
        if let Some((_, addrs, _)) = self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(key)
        {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            format!("{scheme}://{authority}"),
            addrs.clone(),
            Instant::now(),
        ));
        Ok(addrs)
    }
}
