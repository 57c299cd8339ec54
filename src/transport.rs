//! Sending: one ureq `Agent` (keep-alive pool), the retry policy, the reply size limit.

use crate::request::{Body, Method, Request};
use crate::Error;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ureq::http;

/// The default limit on the size of a reply body.
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 10 * 1024 * 1024;

/// How failed attempts are retried.
///
/// The default follows the Python client (urllib3's `Retry(total=10, backoff_factor=1,
/// status_forcelist=[502, 503, 504])`, `Retry-After` honoured), with 429 treated like 503 and
/// one deliberate difference: a `POST` the server may have processed (a 502 or 504, or a
/// failure after the request was sent) is not retried unless
/// [`retry_non_idempotent`](RetryPolicy::retry_non_idempotent) is set, so a retry cannot
/// create a user or a grant twice.
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
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
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
    /// A bound on the whole call, retries and waits included: no wait starts that would end
    /// past it (default none; each attempt is still bounded by the client's timeout).
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
        self.backoff_factor.saturating_mul(exp).min(self.max_backoff)
    }

    fn retries_status(&self, status: u16, method: Method) -> bool {
        if !self.statuses.contains(&status) {
            return false;
        }
        // 429 and 503 say the request was not processed; 502 and 504 do not.
        method != Method::Post || self.retry_non_idempotent || matches!(status, 429 | 503)
    }

    fn retries_error(&self, e: &ureq::Error, method: Method) -> bool {
        let before_sending = matches!(
            e,
            ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve)
        ) || matches!(e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
        if before_sending {
            return true;
        }
        let transient = matches!(e, ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::Protocol(_));
        transient && (method != Method::Post || self.retry_non_idempotent)
    }
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
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &self.body };
        match serde_json::from_slice(body) {
            Ok(v) => Ok(v),
            Err(e) if body == b"{}" => serde_json::from_slice(b"[]").map_err(|_| self.decode_error::<T>(e)),
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
            Category::Syntax | Category::Eof | Category::Io => {
                Error::transport(Some(self.status), "the body is not JSON", &self.body, Some(Box::new(e)))
            }
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
    /// `host[:port]` of the base URL, for error messages.
    pub(crate) host: String,
}

/// What a single request needs on the wire besides the [`Request`].
pub(crate) struct Outgoing<'a> {
    pub(crate) url: &'a str,
    pub(crate) request: &'a Request,
    pub(crate) bearer: Option<&'a str>,
}

impl Transport {
    pub(crate) fn new(agent: ureq::Agent, retry: RetryPolicy, max_reply_bytes: u64, host: String) -> Self {
        Transport { agent, retry, max_reply_bytes, host }
    }

    /// Sends with retries; returns the first reply that is not retried (whatever its status).
    pub(crate) fn send(&self, out: &Outgoing<'_>) -> Result<Reply, Error> {
        let started = Instant::now();
        let policy = &self.retry;
        let method = out.request.method;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let t0 = Instant::now();
            let result = self.attempt(out);
            let last_status;
            let (wait, outcome) = match result {
                Ok((reply, retry_after)) => {
                    log::debug!(
                        "{} {} -> {} (attempt {attempt}, {:?})",
                        method,
                        out.request.path,
                        reply.status,
                        t0.elapsed()
                    );
                    if !policy.retries_status(reply.status, method) {
                        return Ok(reply);
                    }
                    last_status = Some(reply.status);
                    let wait = match retry_after {
                        Some(ra) => ra.min(policy.max_retry_after),
                        None => policy.backoff(attempt),
                    };
                    (wait, None)
                }
                Err(Attempt::Failed(e)) => {
                    log::debug!("{} {} -> {e} (attempt {attempt}, {:?})", method, out.request.path, t0.elapsed());
                    if !policy.retries_error(&e, method) {
                        return Err(self.connection_error(e));
                    }
                    last_status = None;
                    (policy.backoff(attempt), Some(self.connection_error(e)))
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            };
            let over_deadline = policy.deadline.is_some_and(|d| started.elapsed() + wait >= d);
            if attempt >= policy.max_attempts || over_deadline {
                if attempt == 1 {
                    if let Some(e) = outcome {
                        return Err(e);
                    }
                }
                return Err(Error::RetriesExhausted { attempts: attempt, last_status, last_error: outcome.map(Box::new) });
            }
            if !wait.is_zero() {
                (policy.sleep)(wait);
            }
        }
    }

    fn connection_error(&self, source: ureq::Error) -> Error {
        Error::Connection { host: self.host.clone(), source }
    }

    /// One attempt: send, and read the whole body (so the connection goes back to the pool).
    fn attempt(&self, out: &Outgoing<'_>) -> Result<(Reply, Option<Duration>), Attempt> {
        let req = out.request;
        let mut builder = http::Request::builder()
            .method(req.method.as_str())
            .uri(out.url)
            .header("Accept", "application/json");
        if let Some(token) = out.bearer {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(ct) = req.body.content_type() {
            builder = builder.header("Content-Type", ct);
        }
        let sent = match &req.body {
            Body::Empty if req.method == Method::Get => builder.body(()).map(|r| self.agent.run(r)),
            body => builder.body(body.as_bytes()).map(|r| self.agent.run(r)),
        };
        let mut resp = match sent {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => return Err(Attempt::Failed(e)),
            // Only a header value can fail here: a token with a newline, say.
            Err(e) => return Err(Attempt::Fatal(Error::invalid("request", format!("cannot build the HTTP request: {e}")))),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.body_mut().with_config().limit(self.max_reply_bytes).read_to_vec();
        match body {
            Ok(body) => Ok((Reply { operation: req.operation, status, body }, retry_after)),
            Err(ureq::Error::BodyExceedsLimit(limit)) => Err(Attempt::Fatal(Error::Transport {
                status: Some(status),
                reason: format!("the reply body is larger than the limit of {limit} bytes (see ClientBuilder::max_reply_bytes); reading stopped there"),
                excerpt: String::new(),
                source: None,
            })),
            Err(e) => Err(Attempt::Failed(e)),
        }
    }
}

enum Attempt {
    /// The transport failed; maybe retried.
    Failed(ureq::Error),
    /// Not retried.
    Fatal(Error),
}
