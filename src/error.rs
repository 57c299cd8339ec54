//! The one error type of the crate, and the mapping from HTTP replies to it.

use crate::redact;

/// How many bytes of a reply body an error keeps for display.
pub(crate) const EXCERPT_LIMIT: usize = 512;

/// Everything that can go wrong in a call.
///
/// The classes follow the official Python client's exceptions (`ClientError`,
/// `AuthenticationError`, `AuthorizationError`, `NotFoundError`, `ConflictError`,
/// `UnknownError`, `TransportError`, `ConnectionError`, `RetryError`), plus
/// [`Error::InvalidInput`] for what we check before sending and [`Error::Decode`] for a reply
/// whose JSON does not have the expected shape. Neither `Display` nor `Debug` ever shows a
/// token, password or client secret: messages, excerpts and the kept reply bodies have the
/// values of secret-named fields (`*token*`, `*secret*`, `*password*`) replaced by
/// `<redacted>`, and transport errors that carry a URL have its secret query values replaced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// HTTP 400 from an endpoint: the server refused the input.
    #[error("client error (HTTP {status}): {}", msg(.message))]
    Client {
        /// The HTTP status (400).
        status: u16,
        /// The body's `error` field.
        message: Option<String>,
        /// The whole reply body, parsed.
        body: serde_json::Value,
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
    /// HTTP 401 or 403: not allowed (after one token refresh on 401).
    #[error("not authorized (HTTP {status}): {}", msg(.message))]
    Authorization {
        /// 401 or 403.
        status: u16,
        /// The body's `error` field.
        message: Option<String>,
        /// The whole reply body, parsed (null when empty).
        body: serde_json::Value,
    },
    /// HTTP 404.
    #[error("not found (HTTP {status}): {}", msg(.message))]
    NotFound {
        /// 404.
        status: u16,
        /// The body's `error` field, or our reason.
        message: Option<String>,
        /// The whole reply body, parsed (null when empty).
        body: serde_json::Value,
    },
    /// HTTP 409: a duplicate (email, group name, ...).
    #[error("conflict (HTTP {status}): {}", msg(.message))]
    Conflict {
        /// 409.
        status: u16,
        /// The body's `error` field.
        message: Option<String>,
        /// The whole reply body, parsed (null when empty).
        body: serde_json::Value,
    },
    /// Any other status the endpoint does not expect.
    #[error("unexpected HTTP status {status}: {}", msg(.message))]
    UnknownStatus {
        /// The HTTP status.
        status: u16,
        /// The body's `error` field.
        message: Option<String>,
        /// The whole reply body, parsed (null when empty).
        body: serde_json::Value,
    },
    /// The reply could not be read as JSON (a proxy's HTML page, a truncated body, a body over
    /// the size limit).
    #[error("bad reply{}: {reason}; body starts {excerpt:?}", status_suffix(.status))]
    Transport {
        /// The HTTP status, when a reply came.
        status: Option<u16>,
        /// What was wrong.
        reason: String,
        /// The first bytes of the body (at most 512), lossily decoded.
        excerpt: String,
        /// The underlying cause.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
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
        /// The first bytes of the body (at most 512).
        excerpt: String,
        /// serde's error, with the line and column.
        #[source]
        source: serde_json::Error,
    },
    /// No connection, or it broke or timed out before a reply was read
    /// ([`is_timeout`](Error::is_timeout) tells a timeout).
    #[error("connection to {host} failed: {source}")]
    Connection {
        /// The host (and port) the client tried to reach.
        host: String,
        /// The transport's error.
        #[source]
        source: ureq::Error,
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

fn msg(m: &Option<String>) -> &str {
    m.as_deref().unwrap_or("(no message)")
}

fn status_suffix(s: &Option<u16>) -> String {
    s.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
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
            Error::Authentication { status, .. } | Error::Transport { status, .. } => *status,
            Error::RetriesExhausted { last_status, .. } => *last_status,
            Error::Connection { .. } | Error::InvalidInput { .. } => None,
        }
    }

    /// The server's `error` message (or our reason), if there is one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Client { message, .. }
            | Error::Authentication { message, .. }
            | Error::Authorization { message, .. }
            | Error::NotFound { message, .. }
            | Error::Conflict { message, .. }
            | Error::UnknownStatus { message, .. } => message.as_deref(),
            Error::Transport { reason, .. } | Error::InvalidInput { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The whole parsed reply body of an HTTP error, if there is one.
    pub fn body(&self) -> Option<&serde_json::Value> {
        match self {
            Error::Client { body, .. }
            | Error::Authorization { body, .. }
            | Error::NotFound { body, .. }
            | Error::Conflict { body, .. }
            | Error::UnknownStatus { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether the call failed because a timeout expired (the client's timeout, the connect
    /// timeout or the retry policy's deadline), on the last attempt when retries gave up.
    ///
    /// ```
    /// # use squirro_user_api::Error;
    /// let e = Error::RetriesExhausted { attempts: 3, last_status: Some(503), last_error: None };
    /// assert!(!e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Connection { source, .. } => {
                matches!(source, ureq::Error::Timeout(_))
                    || matches!(source, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
            }
            Error::RetriesExhausted {
                last_error: Some(e),
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

    pub(crate) fn transport(
        status: Option<u16>,
        reason: impl Into<String>,
        body: &[u8],
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Transport {
            status,
            reason: reason.into(),
            excerpt: excerpt(body),
            source,
        }
    }

    /// Maps a reply whose status the endpoint does not expect to the matching class.
    pub(crate) fn from_status(status: u16, body: &[u8]) -> Error {
        let body = match parse_error_body(status, body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let message = error_message(&body);
        match status {
            400 => Error::Client {
                status,
                message,
                body,
            },
            401 | 403 => Error::Authorization {
                status,
                message,
                body,
            },
            404 => Error::NotFound {
                status,
                message,
                body,
            },
            409 => Error::Conflict {
                status,
                message,
                body,
            },
            _ => Error::UnknownStatus {
                status,
                message,
                body,
            },
        }
    }

    /// Maps a failed reply of the token endpoint (`/oauth2/token`).
    pub(crate) fn from_token_status(status: u16, body: &[u8]) -> Error {
        let parsed = match parse_error_body(status, body) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let message = error_message(&parsed);
        match status {
            400 => Error::Client {
                status,
                message,
                body: parsed,
            },
            403 | 404 | 410 => Error::Authentication {
                status: Some(status),
                message,
            },
            _ => Error::UnknownStatus {
                status,
                message,
                body: parsed,
            },
        }
    }
}

/// A non-empty body must be JSON (as the Python client requires); an empty one is null.
pub(crate) fn parse_body(status: u16, body: &[u8]) -> Result<serde_json::Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        Error::transport(
            Some(status),
            "the body is not JSON",
            body,
            Some(Box::new(e)),
        )
    })
}

/// The body of an error reply, with secret-named values redacted, since errors get printed.
fn parse_error_body(status: u16, body: &[u8]) -> Result<serde_json::Value, Error> {
    let mut value = parse_body(status, body)?;
    redact::scrub_value(&mut value);
    Ok(value)
}

fn error_message(body: &serde_json::Value) -> Option<String> {
    match body.get("error")? {
        serde_json::Value::String(s) => Some(redact::scrub(s).into_owned()),
        serde_json::Value::Null => None,
        other => Some(redact::scrub(&other.to_string()).into_owned()),
    }
}

/// The first bytes of a body, for error messages, cut at a character boundary.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT_LIMIT)];
    let text = String::from_utf8_lossy(cut);
    let mut s = redact::scrub(&text).into_owned();
    if body.len() > EXCERPT_LIMIT {
        s.push('…');
    }
    s
}
