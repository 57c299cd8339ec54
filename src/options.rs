//! Settings for one call that override the client's: a timeout, a retry policy, a reply size
//! limit and extra headers (what `aws-sdk` users asked `.customize()` for).

use crate::{Error, RetryPolicy};
use std::fmt;
use std::time::Duration;

/// Overrides of the client's settings for one call, given to any method's builder with
/// `.customize(...)`.
///
/// ```no_run
/// use squirro_user_api::{CallOptions, Client, RetryPolicy};
/// use std::time::Duration;
/// # fn main() -> Result<(), squirro_user_api::Error> {
/// # let client = Client::builder().cluster("https://squirro.example.com").refresh_token("t").build()?;
/// // A tenant of 100,000 users: a longer timeout and a larger reply for this one call.
/// let (users, reply) = client
///     .get_users()
///     .customize(
///         CallOptions::new()
///             .timeout(Duration::from_secs(300))
///             .retry(RetryPolicy::default().deadline(Duration::from_secs(600)))
///             .max_reply_bytes(200 * 1024 * 1024)
///             .header("X-Request-Id", "onboarding-42"),
///     )
///     .send_with_reply()?;
/// println!("{} users, request id {:?}", users.users.len(), reply.header("x-request-id"));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) max_reply_bytes: Option<u64>,
    pub(crate) headers: Vec<(String, String)>,
}

impl fmt::Debug for CallOptions {
    /// Header values are not shown: one may carry a credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .field("headers", &names)
            .finish()
    }
}

/// Headers the crate sets itself, which a call may not replace.
const OWN_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
];

impl CallOptions {
    /// No overrides: the client's settings.
    pub fn new() -> Self {
        CallOptions::default()
    }
    /// The timeout of each attempt of this call (the client's is
    /// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)); more than zero; a longer
    /// one than [`MAX_TIMEOUT`](crate::MAX_TIMEOUT) is taken as that.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// The retry policy of this call, its deadline included.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// The largest reply body this call reads (the client's is
    /// [`ClientBuilder::max_reply_bytes`](crate::ClientBuilder::max_reply_bytes)).
    pub fn max_reply_bytes(mut self, n: u64) -> Self {
        self.max_reply_bytes = Some(n);
        self
    }
    /// A header to send with this call (added to the crate's own; `Authorization`, `Host`,
    /// `Content-Type`, `Content-Length`, `Transfer-Encoding` and `Connection` are refused).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Checks the overrides before anything is sent.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid("timeout", "must be more than zero"));
        }
        for (name, value) in &self.headers {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                return Err(Error::invalid(
                    format!("header {name:?}"),
                    "is not a valid header name",
                ));
            }
            if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(Error::invalid(
                    format!("header {name}"),
                    "is set by the client and cannot be replaced",
                ));
            }
            if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(Error::invalid(
                    format!("header {name}"),
                    "its value must not contain control characters",
                ));
            }
        }
        Ok(())
    }
}
