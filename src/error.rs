//! The one error type of the crate, and the mapping from HTTP replies to it.

use crate::redact::Scrubber;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How many bytes of a reply body an error keeps for display.
pub(crate) const EXCERPT_LIMIT: usize = 512;

/// Everything that can go wrong in a call.
///
/// The classes follow the official Python client's exceptions (`ClientError`,
/// `AuthenticationError`, `AuthorizationError`, `NotFoundError`, `ConflictError`,
/// `UnknownError`, `TransportError`, `ConnectionError`, `RetryError`), plus
/// [`Error::InvalidInput`] for what we check before sending and [`Error::Decode`] for a reply
/// whose JSON does not have the expected shape. The five HTTP classes share one
/// [`ErrorReply`] (the server's message, the whole body, the reply's headers), reached through
/// [`message`](Error::message), [`body`](Error::body) and [`reply`](Error::reply).
///
/// Neither `Display` nor `Debug` ever shows a token, password or client secret: the values
/// of secret-named fields (`*token*`, `*secret*`, `*password*`) are replaced by `<redacted>`,
/// and so is every secret the client knows (its tokens, its client secret, a proxy password,
/// and the secret parameters of the request that failed) wherever a server quotes it.
///
/// `Error` is `Clone`: when threads share one token refresh, each of them gets its outcome.
/// What causes are kept (`source()`) is opaque: the crate's transport library is not part of
/// its API.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// HTTP 400 from an endpoint: the server refused the input.
    #[error("client error (HTTP {status}): {}", reply.message_or_default())]
    Client {
        /// The HTTP status (400).
        status: u16,
        /// The server's message, the whole body and the headers.
        reply: Box<ErrorReply>,
    },
    /// Authenticating failed: the token endpoint refused the credentials (400, 403, 404, 410),
    /// or the client holds none.
    #[error("authentication failed{}: {}", status_suffix(.status), msg(.message))]
    Authentication {
        /// The HTTP status, when a reply came.
        status: Option<u16>,
        /// The server's `error` field or our reason.
        message: Option<String>,
    },
    /// HTTP 401 or 403: not allowed (after one token refresh on 401). When refreshing the
    /// token failed, the reason is in the message and is the error's `source()`.
    #[error("not authorized (HTTP {status}): {}{}", reply.message_or_default(), refresh_suffix(.refresh_error))]
    Authorization {
        /// 401 or 403.
        status: u16,
        /// The server's message, the whole body and the headers.
        reply: Box<ErrorReply>,
        /// Why the token could not be refreshed after a 401, if that was tried and failed.
        #[source]
        refresh_error: Option<Box<Error>>,
    },
    /// HTTP 404.
    #[error("not found (HTTP {status}): {}", reply.message_or_default())]
    NotFound {
        /// 404.
        status: u16,
        /// The server's message (or our reason), the whole body and the headers.
        reply: Box<ErrorReply>,
    },
    /// HTTP 409: a duplicate (email, group name, ...).
    #[error("conflict (HTTP {status}): {}", reply.message_or_default())]
    Conflict {
        /// 409.
        status: u16,
        /// The server's message, the whole body and the headers.
        reply: Box<ErrorReply>,
    },
    /// Any other status the endpoint does not expect (a 503 whose `Retry-After` lies beyond
    /// the call's deadline among them: see [`ErrorReply::retry_after`]).
    #[error("unexpected HTTP status {status}: {}{}", reply.message_or_default(), retry_after_suffix(reply))]
    UnknownStatus {
        /// The HTTP status.
        status: u16,
        /// The server's message, the whole body and the headers.
        reply: Box<ErrorReply>,
    },
    /// The reply could not be read as JSON (a proxy's HTML page, a truncated body, a body over
    /// the size limit). The Python client calls this a `TransportError`.
    #[error("invalid reply{}: {reason}; body starts {excerpt:?}", status_suffix(.status))]
    InvalidReply {
        /// The HTTP status, when a reply came.
        status: Option<u16>,
        /// What was wrong.
        reason: String,
        /// The first bytes of the body (at most 512), lossily decoded, secrets redacted.
        excerpt: String,
        /// The underlying cause.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The reply was JSON, but not of the shape this method returns.
    #[error(
        "cannot decode the reply of {operation} (HTTP {status}) as {target}: {source}; body starts {excerpt:?}"
    )]
    Decode {
        /// The method whose reply it was.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The Rust type expected.
        target: &'static str,
        /// The first bytes of the body (at most 512), secrets redacted.
        excerpt: String,
        /// serde's error, with the line and column.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// No connection, or it broke or timed out before a reply was read
    /// ([`is_timeout`](Error::is_timeout) tells a timeout).
    #[error("connection to {host} failed: {source}")]
    Connection {
        /// The host (and port) the client tried to reach.
        host: String,
        /// What went wrong, opaque.
        #[source]
        source: ConnectionError,
    },
    /// The retry policy gave up.
    #[error("gave up after {attempts} attempts{}{}", last_status.map(|s| format!(", last HTTP status {s}")).unwrap_or_default(), last_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The status of the last reply, when one came.
        last_status: Option<u16>,
        /// The last error, when the last attempt failed without a reply.
        #[source]
        last_error: Option<Box<Error>>,
    },
    /// A parameter or setting was rejected before anything was sent.
    #[error("invalid {param}: {reason}")]
    InvalidInput {
        /// The parameter (or setting, or environment variable) at fault.
        param: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// An HTTP error reply: the server's `error` message, the whole body and the headers, with
/// every secret redacted. Shared by the HTTP classes of [`Error`].
#[derive(Clone, PartialEq)]
pub struct ErrorReply {
    message: Option<String>,
    body: serde_json::Value,
    headers: Vec<(String, String)>,
    retry_after: Option<Duration>,
}

impl fmt::Debug for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorReply")
            .field("message", &self.message)
            .field("body", &self.body)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl ErrorReply {
    /// The body's `error` field (or our reason), if there is one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// The whole reply body, parsed (null when empty).
    pub fn body(&self) -> &serde_json::Value {
        &self.body
    }
    /// A header of the reply (the name in any case), e.g. a request id to quote to support.
    /// `Set-Cookie` is not kept.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The wait the server asked for with `Retry-After` (seconds or an HTTP date), if it did:
    /// when it lies beyond the call's deadline the call fails at once with it, so the caller
    /// can schedule the retry. Read from a reply with a status of 300 or more (RFC 9110 gives
    /// it no meaning on a success); [`header`](Self::header) has it on any reply.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    fn message_or_default(&self) -> &str {
        self.message.as_deref().unwrap_or("(no message)")
    }
}

/// Why a connection failed, kept as an opaque cause (the transport library's error is not
/// part of this crate's API). Its `Display` says what happened.
#[derive(Clone)]
pub struct ConnectionError {
    inner: Arc<ureq::Error>,
}

impl ConnectionError {
    pub(crate) fn new(e: ureq::Error) -> Self {
        ConnectionError { inner: Arc::new(e) }
    }
    /// Whether a timeout expired.
    pub fn is_timeout(&self) -> bool {
        matches!(*self.inner, ureq::Error::Timeout(_))
            || matches!(&*self.inner, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
    }
}

impl fmt::Debug for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.inner, f)
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

fn msg(m: &Option<String>) -> &str {
    m.as_deref().unwrap_or("(no message)")
}

fn status_suffix(s: &Option<u16>) -> String {
    s.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

fn refresh_suffix(e: &Option<Box<Error>>) -> String {
    e.as_ref()
        .map(|e| format!("; refreshing the access token failed: {e}"))
        .unwrap_or_default()
}

fn retry_after_suffix(reply: &ErrorReply) -> String {
    reply
        .retry_after
        .map(|d| format!(" (the server asks to retry after {} s)", d.as_secs()))
        .unwrap_or_default()
}

impl Error {
    /// The HTTP status of the reply behind this error, if a reply came.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Client { status, .. }
            | Error::Authorization { status, .. }
            | Error::NotFound { status, .. }
            | Error::Conflict { status, .. }
            | Error::UnknownStatus { status, .. }
            | Error::Decode { status, .. } => Some(*status),
            Error::Authentication { status, .. } | Error::InvalidReply { status, .. } => *status,
            Error::RetriesExhausted { last_status, .. } => *last_status,
            Error::Connection { .. } | Error::InvalidInput { .. } => None,
        }
    }

    /// The error reply of the HTTP classes (`Client`, `Authorization`, `NotFound`,
    /// `Conflict`, `UnknownStatus`).
    pub fn reply(&self) -> Option<&ErrorReply> {
        match self {
            Error::Client { reply, .. }
            | Error::Authorization { reply, .. }
            | Error::NotFound { reply, .. }
            | Error::Conflict { reply, .. }
            | Error::UnknownStatus { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// The server's `error` message (or our reason), if there is one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Authentication { message, .. } => message.as_deref(),
            Error::InvalidReply { reason, .. } | Error::InvalidInput { reason, .. } => Some(reason),
            e => e.reply().and_then(ErrorReply::message),
        }
    }

    /// The whole parsed reply body of an HTTP error, if there is one.
    pub fn body(&self) -> Option<&serde_json::Value> {
        self.reply().map(ErrorReply::body)
    }

    /// Whether the call failed because a timeout expired (the client's timeout, the connect
    /// timeout or the retry policy's deadline), on the last attempt when retries gave up, or
    /// while refreshing the token.
    ///
    /// ```
    /// # use squirro_user_api::Error;
    /// let e = Error::RetriesExhausted { attempts: 3, last_status: Some(503), last_error: None };
    /// assert!(!e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Connection { source, .. } => source.is_timeout(),
            Error::RetriesExhausted {
                last_error: Some(e),
                ..
            }
            | Error::Authorization {
                refresh_error: Some(e),
                ..
            } => e.is_timeout(),
            _ => false,
        }
    }

    pub(crate) fn invalid(param: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            param: param.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_reply(
        status: Option<u16>,
        reason: impl Into<String>,
        body: &[u8],
        scrubber: &Scrubber,
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::InvalidReply {
            status,
            reason: reason.into(),
            excerpt: excerpt(body, scrubber),
            source,
        }
    }

    /// Maps a reply whose status the endpoint does not expect to the matching class.
    pub(crate) fn from_reply(reply: &crate::Reply, scrubber: &Scrubber) -> Error {
        let status = reply.status;
        let details = match ErrorReply::from_reply(reply, scrubber) {
            Ok(r) => Box::new(r),
            Err(e) => return e,
        };
        match status {
            400 => Error::Client {
                status,
                reply: details,
            },
            401 | 403 => Error::Authorization {
                status,
                reply: details,
                refresh_error: None,
            },
            404 => Error::NotFound {
                status,
                reply: details,
            },
            409 => Error::Conflict {
                status,
                reply: details,
            },
            _ => Error::UnknownStatus {
                status,
                reply: details,
            },
        }
    }

    /// Maps a failed reply of the token endpoint (`/oauth2/token`).
    pub(crate) fn from_token_reply(reply: &crate::Reply, scrubber: &Scrubber) -> Error {
        match reply.status {
            403 | 404 | 410 => match ErrorReply::from_reply(reply, scrubber) {
                Ok(details) => Error::Authentication {
                    status: Some(reply.status),
                    message: details.message,
                },
                Err(e) => e,
            },
            _ => Error::from_reply(reply, scrubber),
        }
    }

    /// A `NotFound` of our own making (a composite method that found nothing).
    pub(crate) fn not_found(message: String) -> Error {
        Error::NotFound {
            status: 404,
            reply: Box::new(ErrorReply {
                message: Some(message),
                body: serde_json::Value::Null,
                headers: Vec::new(),
                retry_after: None,
            }),
        }
    }
}

impl ErrorReply {
    fn from_reply(reply: &crate::Reply, scrubber: &Scrubber) -> Result<ErrorReply, Error> {
        let mut body = parse_body(reply.status, &reply.body, scrubber)?;
        scrubber.scrub_value(&mut body);
        let message = match body.get("error") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let headers = reply
            .headers
            .iter()
            .filter(|(k, _)| *k != "set-cookie")
            .filter_map(|(k, v)| {
                let v = v.to_str().ok()?;
                Some((k.as_str().to_string(), scrubber.scrub(v).into_owned()))
            })
            .collect();
        Ok(ErrorReply {
            message,
            body,
            headers,
            retry_after: reply.retry_after,
        })
    }
}

/// A non-empty body must be JSON (as the Python client requires); an empty one is null.
pub(crate) fn parse_body(
    status: u16,
    body: &[u8],
    scrubber: &Scrubber,
) -> Result<serde_json::Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid_reply(
            Some(status),
            "the body is not JSON",
            body,
            scrubber,
            Some(Arc::new(e)),
        )
    })
}

/// The first bytes of a body, for error messages, cut at a character boundary, secrets
/// redacted.
pub(crate) fn excerpt(body: &[u8], scrubber: &Scrubber) -> String {
    // Scrub a little more than is shown, so a secret cut at the limit is still found.
    let cut = &body[..body.len().min(EXCERPT_LIMIT + 256)];
    let text = String::from_utf8_lossy(cut);
    let clean = scrubber.scrub(&text);
    let mut s: String = clean.chars().take(EXCERPT_LIMIT).collect();
    if body.len() > EXCERPT_LIMIT || clean.chars().count() > EXCERPT_LIMIT {
        s.push('…');
    }
    s
}
