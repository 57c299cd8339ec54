//! Sending: one ureq `Agent` (keep-alive pool), the retry loop, redirects, the reply size
//! limit, and one debug log line per HTTP exchange. By concern: [`retry`] (the policy and its
//! waits), [`reply`] (a reply and its decoding, [`fast_json`] its fast path), [`redirect`]
//! (which redirects are followed, and with what), [`resolver`] (no lookup thread for pooled
//! connections), [`steady`] (each attempt's end bounds its I/O; no `setsockopt` per call for
//! a timeout that moved by microseconds).

mod fast_json;
mod redirect;
mod reply;
mod resolver;
mod retry;
mod steady;

pub use reply::Reply;
pub(crate) use resolver::PoolFriendlyResolver;
pub use retry::{DEFAULT_DEADLINE, RetryPolicy};
pub(crate) use steady::SteadyConnector;

use crate::Error;
use crate::request::{Body, Method, Request};
use redirect::redirect;
use retry::{Failure, parse_retry_after};
use std::time::{Duration, Instant, SystemTime};
use ureq::http;
use ureq::http::HeaderValue;

/// The default limit on the size of a reply body.
pub const DEFAULT_MAX_REPLY_BYTES: u64 = 10 * 1024 * 1024;

/// How many redirects one attempt follows.
const MAX_REDIRECTS: usize = 5;

/// The agent and the settings every attempt uses.
#[derive(Clone)]
pub(crate) struct Transport {
    agent: ureq::Agent,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_reply_bytes: u64,
    /// The timeout of one attempt, redirects included.
    timeout: Duration,
    /// The agent's connect timeout.
    connect_timeout: Duration,
    /// `host[:port]` of the base URL, for error messages.
    pub(crate) host: String,
}

/// One request on its way: the request, its full URL, the `Authorization` header value of
/// the token it carries, and when the whole call must end.
pub(crate) struct Outgoing<'a> {
    pub(crate) url: String,
    pub(crate) request: &'a Request,
    pub(crate) authorization: Option<&'a HeaderValue>,
    pub(crate) deadline: Option<Instant>,
    /// The call's overrides of the client's settings.
    pub(crate) options: &'a crate::CallOptions,
}

impl Transport {
    pub(crate) fn new(
        agent: ureq::Agent,
        retry: RetryPolicy,
        max_reply_bytes: u64,
        timeout: Duration,
        connect_timeout: Duration,
        host: String,
    ) -> Self {
        Transport {
            agent,
            retry,
            max_reply_bytes,
            timeout,
            connect_timeout,
            host,
        }
    }

    /// Sends with retries until the deadline; returns the first reply that is not retried
    /// (whatever its status). Giving up after a retry is [`Error::RetriesExhausted`]; when
    /// nothing was retried, the reply or the error is returned as it is. A reply whose
    /// `Retry-After` lies beyond the deadline is returned at once: its error will carry it.
    pub(crate) fn send(&self, mut out: Outgoing<'_>) -> Result<Reply, Error> {
        // Parsed once for all attempts, from the string it owns (no copy).
        let uri = http::Uri::try_from(std::mem::take(&mut out.url)).map_err(|e| {
            Error::invalid("request", format!("cannot build the HTTP request: {e}"))
        })?;
        let out = &out;
        let policy = out.options.retry.as_ref().unwrap_or(&self.retry);
        let method = out.request.method;
        let path = &out.request.path;
        let idempotent = out.request.idempotent();
        let deadline = out.deadline;
        let mut attempt = 0u32;
        let (mut connect_failures, mut read_failures) = (0u32, 0u32);
        loop {
            attempt = attempt.saturating_add(1);
            // The attempt's time is only logged: no clock read unless it is.
            let t0 = log::log_enabled!(log::Level::Debug).then(Instant::now);
            let took = || t0.map(|t| t.elapsed()).unwrap_or_default();
            let (outcome, wait) = match self.attempt(out, &uri) {
                Ok(reply) => {
                    log::debug!(
                        "{method} {path} -> {} (attempt {attempt}, {:?})",
                        reply.status,
                        took()
                    );
                    let retry_after = reply.retry_after;
                    if !policy.retries_status(reply.status, idempotent, retry_after.is_some()) {
                        return Ok(reply);
                    }
                    if retry_after.is_some_and(|ra| ends_after(ra, deadline)) {
                        // The server's wait lies beyond the call's deadline: say so now.
                        return Ok(reply);
                    }
                    (Ok(reply), policy.wait_after(attempt, retry_after))
                }
                Err(Attempt::Failed(e)) => {
                    let e = sanitize(e);
                    log::debug!("{method} {path} -> {e} (attempt {attempt}, {:?})", took());
                    let failure = policy.retries_error(&e, idempotent);
                    let e = Error::Connection {
                        host: self.host.clone(),
                        source: crate::error::ConnectionError::new(e),
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
            if attempt >= policy.max_attempts || ends_after(wait, deadline) {
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
            policy.sleep(wait);
        }
    }

    /// One attempt: send, follow redirects, and read the whole body (so the connection goes
    /// back to the pool). Bounded by the client's timeout, or by the deadline when it is nearer:
    /// every read and write, and a host lookup ([`steady::attempt_ends`]), and a connection
    /// opened on the way (the connect timeout, nearer when less time is left).
    fn attempt(&self, out: &Outgoing<'_>, uri: &http::Uri) -> Result<Reply, Attempt> {
        let req = out.request;
        // `None`: the timeout reaches past any instant (it cannot: it is at most a year).
        let timeout = out
            .options
            .timeout
            .map_or(self.timeout, |t| t.min(crate::MAX_TIMEOUT));
        let mut started = Some(Instant::now());
        let natural_end = started.and_then(|n| n.checked_add(timeout));
        let ends = match (out.deadline, natural_end) {
            (Some(d), Some(n)) => Some(d.min(n)),
            (d, n) => d.or(n),
        };
        let _bounded = steady::attempt_ends(ends);
        let mut uri = std::borrow::Cow::Borrowed(uri);
        let mut authorization = out.authorization;
        let mut hops = 0;
        loop {
            // The agent's connect timeout, unless less time is left (then a request-level
            // setting, which costs a TLS configuration of its own: only then).
            // (The first hop reads the clock the attempt's end was taken from.)
            let now = started.take().unwrap_or_else(Instant::now);
            let connect_limit = match ends.map(|e| e.saturating_duration_since(now)) {
                Some(left) if left.is_zero() => {
                    return Err(Attempt::Failed(ureq::Error::Timeout(ureq::Timeout::Global)));
                }
                Some(left) if left < self.connect_timeout => Some(left),
                _ => None,
            };
            let mut resp = self.exchange(
                req,
                uri.as_ref().clone(),
                authorization,
                connect_limit,
                &out.options.headers,
            )?;
            let status = resp.status().as_u16();
            // Only a redirect's status is followed (see `redirect`): no lookup for others.
            let location = (300..400)
                .contains(&status)
                .then(|| resp.headers().get(http::header::LOCATION))
                .flatten()
                .and_then(|v| v.to_str().ok());
            if let Some((next, trusted)) = location
                .filter(|_| hops < MAX_REDIRECTS)
                .and_then(|l| redirect(status, req.method, &req.body, &uri.to_string(), l))
            {
                log::debug!(
                    "{} {} -> {status}, redirected{}",
                    req.method,
                    req.path,
                    if trusted { "" } else { " to another origin" }
                );
                // A redirect's body is small or empty; reading it lets the connection be reused.
                let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
                let Ok(next) = http::Uri::try_from(next) else {
                    return Err(Attempt::Fatal(Error::InvalidReply {
                        status: Some(status),
                        reason: "the redirect's location is not a URL".into(),
                        excerpt: String::new(),
                        source: None,
                    }));
                };
                uri = std::borrow::Cow::Owned(next);
                authorization = authorization.filter(|_| trusted);
                hops += 1;
                continue;
            }
            // Retry-After means something on a redirect or an error (RFC 9110, 10.2.3), never
            // on a success: no lookup then (the header stays in the reply's headers).
            let retry_after = (status >= 300)
                .then(|| resp.headers().get(http::header::RETRY_AFTER))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let (parts, mut body) = resp.into_parts();
            let max_reply_bytes = out.options.max_reply_bytes.unwrap_or(self.max_reply_bytes);
            return match read_body(&mut body, max_reply_bytes) {
                Ok(body) => Ok(Reply {
                    operation: req.operation,
                    status,
                    body,
                    headers: parts.headers,
                    retry_after,
                    secrets: None,
                }),
                Err(ureq::Error::BodyExceedsLimit(limit)) => {
                    Err(Attempt::Fatal(Error::InvalidReply {
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

    /// One HTTP exchange, with `connect_limit` as the connect timeout when given. The
    /// request is assembled in place: typed header names, static values, and the session's
    /// ready-made `Authorization` value (a reference count), so nothing fixed is parsed, copied
    /// or formatted per call.
    fn exchange(
        &self,
        req: &Request,
        uri: http::Uri,
        authorization: Option<&HeaderValue>,
        connect_limit: Option<Duration>,
        extra_headers: &[(String, String)],
    ) -> Result<http::Response<ureq::Body>, Attempt> {
        use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName};
        let mut headers = http::HeaderMap::with_capacity(3 + extra_headers.len());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value.clone());
        }
        if let Some(ct) = req.body.content_type() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (name, value) in extra_headers {
            // `CallOptions::check` has refused what cannot be a header; this cannot fail.
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(Attempt::Fatal(Error::invalid(
                    format!("header {name}"),
                    "is not a valid HTTP header",
                )));
            };
            headers.append(name, value);
        }
        let method = match req.method {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Delete => http::Method::DELETE,
        };
        let sent = match &req.body {
            Body::Empty if req.method == Method::Get => {
                self.run(assemble(method, uri, headers, ()), connect_limit)
            }
            body => self.run(
                assemble(method, uri, headers, body.as_bytes()),
                connect_limit,
            ),
        };
        sent.map_err(Attempt::Failed)
    }

    fn run(
        &self,
        r: http::Request<impl ureq::AsSendBody>,
        connect_limit: Option<Duration>,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        use ureq::RequestExt;
        match connect_limit {
            Some(left) => r
                .with_agent(&self.agent)
                .configure()
                .timeout_connect(Some(left))
                .run(),
            None => self.agent.run(r),
        }
    }
}

/// An HTTP request of these parts (HTTP/1.1, no extensions).
fn assemble<B>(
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: B,
) -> http::Request<B> {
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request
}

/// Reads a reply body to the end, at most `limit` bytes, into a buffer sized from the
/// `Content-Length` (within the limit): a large list is read without growing and copying the
/// buffer again and again, a small reply with one allocation.
fn read_body(body: &mut ureq::Body, limit: u64) -> Result<Vec<u8>, ureq::Error> {
    use std::io::Read;
    let expected = body.content_length().map_or(0, |n| n.min(limit));
    // At most `limit` (10 MiB by default), which the server could make us hold anyway.
    let mut buf = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    body.with_config()
        .limit(limit)
        .reader()
        .read_to_end(&mut buf)
        .map_err(ureq::Error::from)?;
    Ok(buf)
}

enum Attempt {
    /// The transport failed; maybe retried.
    Failed(ureq::Error),
    /// Not retried.
    Fatal(Error),
}

/// ureq errors that carry a URL carry it with its query, where some calls put the client
/// secret: scrub them before they reach an [`Error`] or a log line.
/// Whether a wait started now would end at or past the deadline.
fn ends_after(wait: Duration, deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now().checked_add(wait).is_none_or(|end| end >= d))
}

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

    #[test]
    fn ureq_errors_with_urls_are_scrubbed() {
        let e = sanitize(ureq::Error::BadUri(
            "http://h/x?client_id=c&client_secret=SEKRIT is missing host".into(),
        ));
        let e = Error::Connection {
            host: "h".into(),
            source: crate::error::ConnectionError::new(e),
        };
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(
                !shown.contains("SEKRIT") && shown.contains("client_id=c"),
                "{shown}"
            );
        }
    }
}
