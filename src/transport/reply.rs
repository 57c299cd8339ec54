//! A reply read to the end, and decoding it into the method's type.

use crate::Error;
use crate::redact::Scrubber;
use crate::session::State;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use ureq::http::HeaderMap;

/// A reply read to the end: the status, the headers and the raw body.
pub struct Reply {
    pub(crate) operation: &'static str,
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: HeaderMap,
    pub(crate) retry_after: Option<Duration>,
    /// The session and the request's secret values, to scrub from a decoding error.
    pub(crate) secrets: Option<(Arc<State>, Vec<String>)>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("body", &crate::error::excerpt(&self.body, &self.scrubber()))
            .finish()
    }
}

impl Reply {
    /// A reply from its parts, as if `operation` had received it (for tests and fuzzing).
    #[doc(hidden)]
    pub fn from_parts(operation: &'static str, status: u16, body: Vec<u8>) -> Self {
        Reply {
            operation,
            status,
            body,
            headers: HeaderMap::new(),
            retry_after: None,
            secrets: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// A header of the reply (the name in any case), e.g. a request id; `None` when absent
    /// or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes the body as `T`. Not JSON: [`Error::InvalidReply`]; JSON of another shape
    /// (a required field missing included): [`Error::Decode`]. An empty body decodes as an
    /// empty object or list for types that need nothing; otherwise it is a [`Error::Decode`]
    /// naming the missing field.
    ///
    /// The body is read by a fast path first and, when that gives up (on anything it does not
    /// read the way `serde_json` would, errors included), by `serde_json`: `T`'s
    /// `Deserialize` may then run twice on the same body, and the result and the error are
    /// always `serde_json`'s.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        if !self.body.iter().all(u8::is_ascii_whitespace) {
            // Valid UTF-8 checked once for the whole body (fast, a word at a time) lets the
            // fast path and serde_json skip checking each string they read; a body that is not
            // UTF-8 is left to `from_slice`, which reports where it breaks. The fast path
            // decodes what serde_json would, or gives up, and serde_json decodes the body
            // again and says what is wrong (see `fast_json`).
            let decoded = match std::str::from_utf8(&self.body) {
                Ok(text) => match super::fast_json::from_str(text) {
                    Ok(value) => Ok(value),
                    Err(super::fast_json::Bail) => serde_json::from_str(text),
                },
                Err(_) => serde_json::from_slice(&self.body),
            };
            return decoded.map_err(|e| self.decode_error::<T>(e));
        }
        match serde_json::from_slice(b"{}").or_else(|_| serde_json::from_slice(b"[]")) {
            Ok(v) => Ok(v),
            Err(_) => {
                // Name what `{}` lacks, without the line and column of a text never sent.
                let missing = serde_json::from_slice::<T>(b"{}")
                    .err()
                    .map(|e| {
                        let text = e.to_string();
                        text.split(" at line ")
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .unwrap_or_default();
                Err(Error::Decode {
                    operation: self.operation,
                    status: self.status,
                    target: std::any::type_name::<T>(),
                    excerpt: String::new(),
                    source: Arc::new(serde::de::Error::custom(format!(
                        "the reply body is empty: {missing}"
                    ))),
                })
            }
        }
    }

    /// Decodes a list and returns its first element.
    pub fn first<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        let list: Vec<T> = self.decode()?;
        list.into_iter().next().ok_or_else(|| Error::Decode {
            operation: self.operation,
            status: self.status,
            target: std::any::type_name::<T>(),
            excerpt: crate::error::excerpt(&self.body, &self.scrubber()),
            source: Arc::new(serde::de::Error::custom("the reply list is empty")),
        })
    }

    /// Checks that a reply with no data is empty or JSON, as the Python client does.
    pub fn unit(&self) -> Result<(), Error> {
        crate::error::parse_body(self.status, &self.body, &self.scrubber()).map(|_| ())
    }

    /// What to scrub from anything shown of this reply.
    fn scrubber(&self) -> Scrubber {
        match &self.secrets {
            Some((state, request)) => state.scrubber().with(request.iter().map(String::as_str)),
            None => Scrubber::default(),
        }
    }

    fn decode_error<T>(&self, e: serde_json::Error) -> Error {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => Error::invalid_reply(
                Some(self.status),
                "the body is not JSON",
                &self.body,
                &self.scrubber(),
                Some(Arc::new(e)),
            ),
            Category::Data => Error::Decode {
                operation: self.operation,
                status: self.status,
                target: std::any::type_name::<T>(),
                excerpt: crate::error::excerpt(&self.body, &self.scrubber()),
                source: Arc::new(e),
            },
        }
    }
}
