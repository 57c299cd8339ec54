//! Requests as pure data, and the runtime the generated builders call to make them:
//! path segments, query and form encoding, JSON bodies, client-side checks.

use crate::session::State;
use crate::{ApiVersion, Error};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// An HTTP verb of the user API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The verb as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a request carries the client's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Needs a token and a tenant, checked before sending.
    Required,
    /// Sent with the token when the client holds one (signup).
    Optional,
    /// Never carries a token: the token endpoint, whose failures map to
    /// [`Error::Authentication`] and which is safe to repeat.
    None,
}

/// What building a request needs from the client: the tenant and the API version of paths,
/// and the client's OAuth credentials for the methods that send them. A snapshot, taken once
/// per call, so building stays pure.
pub(crate) struct Context {
    state: Arc<State>,
    version: ApiVersion,
}

impl Context {
    pub(crate) fn new(state: Arc<State>, version: ApiVersion) -> Self {
        Context { state, version }
    }
    pub(crate) fn tenant(&self) -> Option<&str> {
        self.state.tenant.as_deref()
    }
    pub(crate) fn client_id(&self) -> Option<&str> {
        self.state.client_id.as_deref()
    }
    pub(crate) fn client_secret(&self) -> Option<&str> {
        self.state.client_secret.as_deref()
    }
}

/// The body of a request, already encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`, compact.
    Json(String),
    /// `application/x-www-form-urlencoded`.
    Form(String),
}

impl Body {
    /// The `Content-Type` this body is sent with.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
        }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Json(s) | Body::Form(s) => s.as_bytes(),
        }
    }
}

/// One request of the user API, as pure data: what a method would put on the wire, relative
/// to the client's user API base URL. Built by the `.request()` of every method's builder;
/// [`Client::execute`](crate::Client::execute) sends it, [`Client::render`](crate::Client::render) shows it like HTTP.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Body,
    pub(crate) auth: Auth,
    pub(crate) expected: &'static [u16],
}

impl Request {
    /// Whether a query or body field of this name holds a secret: the rule by which
    /// [`Client::render`](crate::Client::render), `Debug` and errors redact values (`token`,
    /// `secret` or `password` in the name, but not a fact about one such as
    /// `access_token_expires` or `token_type`).
    pub fn is_secret_field(name: &str) -> bool {
        crate::redact::is_secret_key(name)
    }

    /// Repeating it is harmless even when the server processed it: anything but a `POST`,
    /// and the token request (a repeated login at worst opens a second session).
    pub(crate) fn idempotent(&self) -> bool {
        self.method != Method::Post || self.auth == Auth::None
    }

    /// The values of this request's secret-named query and body fields (a password being
    /// sent, the client secret), to keep out of what is shown of its reply.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        // Every call asks (to scrub a decoding error of its reply): answer the usual request,
        // with no field that could name a secret, without allocating.
        if !self
            .query
            .iter()
            .any(|(k, _)| may_name_secret(k.as_bytes()))
            && !may_name_secret(self.body.as_bytes())
        {
            return Vec::new();
        }
        let mut out: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| crate::redact::is_secret_key(k))
            .map(|(_, v)| v.clone())
            .collect();
        match &self.body {
            Body::Empty => {}
            Body::Form(form) => {
                for pair in form.split('&') {
                    if let Some((k, v)) = pair.split_once('=') {
                        if crate::redact::is_secret_key(k) {
                            out.push(form_decode(v));
                        }
                    }
                }
            }
            Body::Json(json) => {
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(json) {
                    for (k, v) in map {
                        if let (true, serde_json::Value::String(v)) =
                            (crate::redact::is_secret_key(&k), v)
                        {
                            out.push(v);
                        }
                    }
                }
            }
        }
        out
    }

    /// The method of the client that made this request (`"get_user_data"`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
    /// The HTTP verb.
    pub fn method(&self) -> Method {
        self.method
    }
    /// The path relative to the user API base, each value percent-encoded as one segment.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The query pairs, in order, not yet encoded.
    pub fn query(&self) -> &[(&'static str, String)] {
        &self.query
    }
    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }
    /// The status codes that mean success for this endpoint.
    pub fn expected_statuses(&self) -> &'static [u16] {
        self.expected
    }
    /// The path with the encoded query string, as it goes on the request line.
    pub fn path_and_query(&self) -> String {
        let mut s = String::with_capacity(self.path.len() + 64);
        self.write_path_and_query(&mut s);
        s
    }

    /// Appends the path and the encoded query to `s`.
    pub(crate) fn write_path_and_query(&self, s: &mut String) {
        s.push_str(&self.path);
        if !self.query.is_empty() {
            s.push('?');
            let mut first = true;
            for (k, v) in &self.query {
                if !first {
                    s.push('&');
                }
                first = false;
                form_encode_into(s, k);
                s.push('=');
                form_encode_into(s, v);
            }
        }
    }
}

impl fmt::Debug for Request {
    /// Shows the request with secret query values and body fields redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    if crate::redact::is_secret_key(k) {
                        crate::redact::MARK
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("Request")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field(
                "body",
                &crate::redact::scrub(&String::from_utf8_lossy(self.body.as_bytes())),
            )
            .finish()
    }
}

/// Appends `s` encoded as Python's `urllib.parse.quote_plus` does (what `requests` uses for
/// query strings and form bodies): unreserved characters stay, a space becomes `+`, every
/// other byte of the UTF-8 becomes `%XX`.
pub(crate) fn form_encode_into(out: &mut String, s: &str) {
    if s.bytes().all(unreserved) {
        // The usual key or value: nothing to encode.
        out.push_str(s);
        return;
    }
    for &b in s.as_bytes() {
        match b {
            b if unreserved(b) => out.push(b as char),
            b' ' => out.push('+'),
            _ => push_pct(out, b),
        }
    }
}

/// Whether `b` stands for itself in a path segment and a form value (RFC 3986 unreserved).
fn unreserved(b: u8) -> bool {
    // A table: every call checks each byte of its ids and query values, and one load per byte
    // is about a third of the instructions of the range tests.
    const TABLE: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            t[b] = matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~');
            b += 1;
        }
        t
    };
    TABLE[b as usize]
}

/// Whether `text` mentions a word a secret's name has (`token`, `secret`, `password`,
/// `authorization`), in any case: a cheap test before the exact one of
/// [`crate::redact::is_secret_key`], which it never contradicts (a name that test calls
/// secret mentions one of these words).
fn may_name_secret(text: &[u8]) -> bool {
    // The bytes that start one of the words, in either case: one load rejects most bytes.
    const STARTS: [bool; 256] = {
        let mut t = [false; 256];
        let starts = *b"tTsSpPaA";
        let mut i = 0;
        while i < starts.len() {
            t[starts[i] as usize] = true;
            i += 1;
        }
        t
    };
    text.iter().enumerate().any(|(i, b)| {
        if !STARTS[*b as usize] {
            return false;
        }
        // Each word starts with its own letter: most bytes start none, the others one.
        let word: &[u8] = match b.to_ascii_lowercase() {
            b't' => b"token",
            b's' => b"secret",
            b'p' => b"password",
            b'a' => b"authorization",
            _ => return false,
        };
        text.get(i..)
            .and_then(|rest| rest.get(..word.len()))
            .is_some_and(|s| s.eq_ignore_ascii_case(word))
    })
}

/// Appends `s` percent-encoded as one path segment: only unreserved characters stay, so a
/// value can never add a segment, a query or a fragment; a value of only dots (`.`, `..`) is
/// encoded too, so no server resolves it as a relative segment.
pub(crate) fn segment_encode_into(out: &mut String, s: &str) {
    let all_dots = s.bytes().all(|b| b == b'.');
    if !all_dots && s.bytes().all(unreserved) {
        // The usual id or tenant: nothing to encode.
        out.push_str(s);
        return;
    }
    for &b in s.as_bytes() {
        match b {
            b'.' if all_dots => push_pct(out, b),
            b if unreserved(b) => out.push(b as char),
            _ => push_pct(out, b),
        }
    }
}

/// Decodes a form-encoded value (`+` as a space, `%XX` as a byte); a bad escape stays as it is.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

/// A value that can stand in a query string or a form body, rendered as the Python client
/// renders it (`True`/`False` for booleans).
pub(crate) trait WireText {
    fn wire_text(&self) -> Cow<'_, str>;
}

impl WireText for str {
    fn wire_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}
impl WireText for String {
    fn wire_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}
impl WireText for bool {
    fn wire_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "True" } else { "False" })
    }
}
impl WireText for crate::Timestamp {
    fn wire_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}
macro_rules! wire_text_as_str {
    ($($t:ty),*) => {$(
        impl WireText for $t {
            fn wire_text(&self) -> Cow<'_, str> {
                Cow::Borrowed(self.as_str())
            }
        }
    )*};
}
wire_text_as_str!(
    crate::ServerRole,
    crate::ProjectRole,
    crate::GrantType,
    crate::ApiVersion
);

/// A list of ids sent as `[{"id": ...}, ...]` (group members).
pub(crate) struct IdList<'a>(pub &'a [String]);

impl Serialize for IdList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct Id<'a>(&'a str);
        impl Serialize for Id<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("id", self.0)?;
                m.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for id in self.0 {
            seq.serialize_element(&Id(id))?;
        }
        seq.end()
    }
}

/// Builds a [`Request`]; called by the generated code, one statement per table entry.
pub(crate) struct RequestBuilder {
    req: Request,
    json: Option<String>,
    form: Option<String>,
}

impl RequestBuilder {
    pub(crate) fn new(
        operation: &'static str,
        method: Method,
        expected: &'static [u16],
        auth: Auth,
    ) -> Self {
        RequestBuilder {
            req: Request {
                operation,
                method,
                path: String::with_capacity(64),
                query: Vec::new(),
                body: Body::Empty,
                auth,
                expected,
            },
            json: None,
            form: None,
        }
    }

    pub(crate) fn literal(&mut self, s: &str) {
        self.req.path.push_str(s);
    }

    /// A path value: required non-empty, encoded as exactly one segment.
    pub(crate) fn segment(&mut self, param: &'static str, value: &str) -> Result<(), Error> {
        if value.is_empty() {
            return Err(Error::invalid(
                param,
                "must not be empty (it is a path segment)",
            ));
        }
        segment_encode_into(&mut self.req.path, value);
        Ok(())
    }

    pub(crate) fn tenant(&mut self, ctx: &Context) -> Result<(), Error> {
        let tenant = ctx.tenant().ok_or_else(|| {
            Error::invalid(
                "tenant",
                "missing tenant: set it on the builder or authenticate first",
            )
        })?;
        self.segment("tenant", tenant)
    }

    pub(crate) fn version(&mut self, ctx: &Context) {
        self.req.path.push_str(ctx.version.as_str());
    }

    pub(crate) fn query<V: WireText + ?Sized>(&mut self, key: &'static str, value: &V) {
        self.req.query.push((key, value.wire_text().into_owned()));
    }

    pub(crate) fn form<V: WireText + ?Sized>(&mut self, key: &str, value: &V) {
        let form = self.form.get_or_insert_with(String::new);
        if !form.is_empty() {
            form.push('&');
        }
        form_encode_into(form, key);
        form.push('=');
        form_encode_into(form, &value.wire_text());
    }

    /// A form field whose value is compact JSON.
    pub(crate) fn form_json<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), Error> {
        let text = serde_json::to_string(value).map_err(|e| Error::invalid(key, e.to_string()))?;
        self.form(key, text.as_str());
        Ok(())
    }

    /// The body is a JSON object, even when no field is set.
    pub(crate) fn start_json(&mut self) {
        self.json.get_or_insert_with(|| String::from("{"));
    }

    /// A field of the JSON object body, in the order of the calls.
    pub(crate) fn json<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), Error> {
        let buf = self.json.get_or_insert_with(|| String::from("{"));
        if buf.len() > 1 {
            buf.push(',');
        }
        // serde_json writes valid UTF-8.
        let mut bytes = std::mem::take(buf).into_bytes();
        serde_json::to_writer(&mut bytes, key).map_err(|e| Error::invalid(key, e.to_string()))?;
        bytes.push(b':');
        serde_json::to_writer(&mut bytes, value).map_err(|e| Error::invalid(key, e.to_string()))?;
        *buf = String::from_utf8(bytes).map_err(|e| Error::invalid(key, e.to_string()))?;
        Ok(())
    }

    /// The whole body is this JSON object.
    pub(crate) fn json_body(
        &mut self,
        key: &'static str,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        if !value.is_object() {
            return Err(Error::invalid(key, "must be a JSON object"));
        }
        self.req.body = Body::Json(value.to_string());
        Ok(())
    }

    /// The whole body is this map, form-encoded as Python `requests` encodes a dict.
    pub(crate) fn form_body(
        &mut self,
        key: &'static str,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        use serde_json::Value;
        let map = value
            .as_object()
            .ok_or_else(|| Error::invalid(key, "must be a JSON object"))?;
        fn scalar(v: &Value) -> Option<Cow<'_, str>> {
            match v {
                Value::String(s) => Some(Cow::Borrowed(s)),
                Value::Bool(b) => Some(b.wire_text()),
                Value::Number(n) => Some(Cow::Owned(match n.as_f64() {
                    Some(f) if n.is_f64() => python_float(f),
                    _ => n.to_string(),
                })),
                _ => None,
            }
        }
        for (k, v) in map {
            match v {
                Value::Null => {}
                Value::Array(items) => {
                    for item in items {
                        match scalar(item) {
                            Some(text) => self.form(k, &*text),
                            None if item.is_null() => {}
                            None => {
                                return Err(Error::invalid(
                                    format!("{key}.{k}"),
                                    "a nested list or object cannot be form-encoded (use API version v1 for JSON)",
                                ));
                            }
                        }
                    }
                }
                Value::Object(_) => {
                    return Err(Error::invalid(
                        format!("{key}.{k}"),
                        "a nested object cannot be form-encoded (use API version v1 for JSON)",
                    ));
                }
                scalar_value => {
                    let text = scalar(scalar_value).expect("string, bool or number");
                    self.form(k, &*text);
                }
            }
        }
        // An empty map sends no body at all, as `requests` does for `data={}`.
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Request {
        if let Some(mut json) = self.json {
            json.push('}');
            self.req.body = Body::Json(json);
        } else if let Some(form) = self.form {
            self.req.body = Body::Form(form);
        }
        self.req
    }
}

/// Exactly one of the named optional parameters must be set.
pub(crate) fn exactly_one_of(params: &[(&'static str, bool)]) -> Result<(), Error> {
    let set: Vec<&str> = params.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect();
    if set.len() == 1 {
        return Ok(());
    }
    let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
    let reason = if set.is_empty() {
        format!("one of {} must be set", names.join(", "))
    } else {
        format!(
            "only one of {} may be set, got {}",
            names.join(", "),
            set.join(" and ")
        )
    };
    Err(Error::invalid(names.join("/"), reason))
}

/// An email address as the Python client accepts one: a prefix matching
/// `[^@]+@[^@]+\.[^@]+` (Python's `re.match`). Python silently drops an email that fails
/// this; we refuse it loudly instead, and send everything Python would send.
pub(crate) fn check_email(param: &'static str, email: &str) -> Result<(), Error> {
    let accepted = email.find('@').is_some_and(|at| {
        let domain = &email[at + 1..];
        let run = &domain[..domain.find('@').unwrap_or(domain.len())];
        at > 0
            && run
                .char_indices()
                .any(|(i, c)| c == '.' && i > 0 && i + 1 < run.len())
    });
    if accepted {
        Ok(())
    } else {
        Err(Error::invalid(
            param,
            format!(
                "{email:?} is not an email address (expected name@domain.tld; the Python client would silently drop it)"
            ),
        ))
    }
}

/// A float as Python's `str()` writes it (what `requests` sends for a float in a form):
/// the shortest round-trip digits, fixed notation with at least one decimal for exponents from
/// -4 to 15, else scientific with a signed exponent of at least two digits (`1e-05`, `1e+16`).
pub(crate) fn python_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan".into()
        } else if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e20", "5e-324", "0e0".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let body = if exp >= 0 {
            let point = exp as usize + 1;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_matches_quote_plus() {
        let mut s = String::new();
        form_encode_into(&mut s, "a b/c?d=e&f+g~h.i_j-k%é");
        assert_eq!(s, "a+b%2Fc%3Fd%3De%26f%2Bg~h.i_j-k%25%C3%A9");
    }

    #[test]
    fn the_cheap_secret_test_never_misses_a_secret_name() {
        for name in [
            "token",
            "access_TOKEN",
            "client_secret",
            "Password",
            "new_password",
            "Authorization",
            "refresh_token",
            "include_projects",
            "email",
            "token_type",
        ] {
            if crate::redact::is_secret_key(name) {
                assert!(may_name_secret(name.as_bytes()), "{name}");
            }
        }
        assert!(!may_name_secret(b"include_projects"));
        assert!(!may_name_secret(b""));
        assert!(may_name_secret(br#"{"passWord":"x"}"#));
    }

    #[test]
    fn encoding_fast_paths_match_the_slow_ones() {
        for (input, form, segment) in [
            ("abc-._~XYZ09", "abc-._~XYZ09", "abc-._~XYZ09"),
            ("a b", "a+b", "a%20b"),
            ("...", "...", "%2E%2E%2E"),
            (
                "z63dXPIz70iDYrSsgqaeWC",
                "z63dXPIz70iDYrSsgqaeWC",
                "z63dXPIz70iDYrSsgqaeWC",
            ),
            ("é/", "%C3%A9%2F", "%C3%A9%2F"),
        ] {
            let (mut f, mut g) = (String::new(), String::new());
            form_encode_into(&mut f, input);
            segment_encode_into(&mut g, input);
            assert_eq!((f.as_str(), g.as_str()), (form, segment), "{input}");
        }
    }

    #[test]
    fn the_unreserved_table_is_rfc_3986s_set() {
        for b in 0..=255u8 {
            let rfc = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            assert_eq!(unreserved(b), rfc, "byte {b}");
        }
    }

    #[test]
    fn segments_cannot_escape() {
        let mut s = String::new();
        segment_encode_into(&mut s, "../x y#?");
        assert_eq!(s, "..%2Fx%20y%23%3F");
        let mut s = String::new();
        segment_encode_into(&mut s, "..");
        assert_eq!(s, "%2E%2E");
    }

    #[test]
    fn emails_as_python_accepts_them() {
        // Python's re.match("[^@]+@[^@]+\.[^@]+", email) accepts these: we send them.
        for ok in [
            "a@b.c",
            "first.last+tag@example.co.uk",
            "first last@example.com",
            "user@example.com.",
            "a@b.c@d.e",
        ] {
            check_email("email", ok).unwrap();
        }
        // ... and drops these silently: we refuse them.
        for bad in [
            "", "a", "a@b", "@b.c", "a@b@c.d", "a@.c", "a@b.", "a@.", "ab.c",
        ] {
            let e = check_email("email", bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidInput { param, .. } if param == "email"),
                "{bad}"
            );
        }
    }

    #[test]
    fn floats_as_python_str() {
        let cases = [
            (2.0, "2.0"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1e-7, "1e-07"),
            (-3.5, "-3.5"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345678901234568e20, "1.2345678901234568e+20"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-10, "1.5e-10"),
            (-0.0, "-0.0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (100.0, "100.0"),
            (1234567.125, "1234567.125"),
            (0.0, "0.0"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float(f), want, "{f:e}");
        }
    }

    #[test]
    fn exactly_one() {
        assert!(exactly_one_of(&[("user_id", true), ("group_id", false)]).is_ok());
        let e = exactly_one_of(&[("user_id", false), ("group_id", false)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid user_id/group_id: one of user_id, group_id must be set"
        );
        let e = exactly_one_of(&[("user_id", true), ("group_id", true)]).unwrap_err();
        assert!(e.to_string().contains("only one"), "{e}");
    }
}
