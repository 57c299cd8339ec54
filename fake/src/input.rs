//! Reading what a client sent: percent-decoding, query strings and form bodies (with Python's
//! `True`/`False` booleans and JSON-in-form fields), JSON bodies, and field validation.

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::reply::ApiError;

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`), leaving malformed escapes
/// as they are, like the Python web stack does; invalid UTF-8 is replaced, never an error.
pub(crate) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    if !s.contains(['%', '+']) {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `application/x-www-form-urlencoded` text (a query string or a form body) into pairs,
/// in order, keeping repeated keys.
pub(crate) fn parse_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect()
}

/// Decoded name/value pairs of a query string or a form body.
#[derive(Debug, Default)]
pub(crate) struct Pairs(pub(crate) Vec<(String, String)>);

impl Pairs {
    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of `name`; a 400 when it is missing or empty.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ApiError::bad_request(format!("missing field: {name}"))),
        }
    }

    /// `name` as a boolean: `True`/`False` as Python renders them, also `true`/`false`, `1`/`0`.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|value| parse_bool(name, value))
            .transpose()
    }

    /// `name` as JSON-in-form: the value is a compact JSON document.
    pub(crate) fn json(&self, name: &str) -> Result<Option<Value>, ApiError> {
        self.get(name)
            .map(|text| {
                serde_json::from_str(text).map_err(|e| {
                    ApiError::bad_request(format!("field {name} is not valid JSON: {e}"))
                })
            })
            .transpose()
    }
}

/// A boolean the Python way (`True`/`False`), or the JSON way, or `1`/`0`.
pub(crate) fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "True" | "true" | "1" => Ok(true),
        "False" | "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be a boolean (True or False), got {value:?}"
        ))),
    }
}

/// How a request body is encoded, from its `Content-Type` (parameters such as `charset` ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Form,
    Other,
}

impl BodyKind {
    pub(crate) fn from_content_type(value: Option<&str>) -> BodyKind {
        let mime = value
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match mime.as_str() {
            "application/json" => BodyKind::Json,
            "application/x-www-form-urlencoded" => BodyKind::Form,
            _ => BodyKind::Other,
        }
    }
}

/// The parts of a request a handler reads: the query, and the body with its encoding.
#[derive(Debug)]
pub(crate) struct Input {
    pub(crate) query: Pairs,
    pub(crate) kind: BodyKind,
    pub(crate) body: Bytes,
}

impl Input {
    /// The body as a form. A body of another type is a 400, as the real server would find the
    /// fields missing; an empty body is an empty form.
    pub(crate) fn form(&self) -> Result<Pairs, ApiError> {
        if self.body.is_empty() {
            return Ok(Pairs::default());
        }
        if self.kind != BodyKind::Form {
            return Err(ApiError::bad_request(
                "expected a form body (Content-Type: application/x-www-form-urlencoded)",
            ));
        }
        let text = std::str::from_utf8(&self.body)
            .map_err(|_| ApiError::bad_request("form body is not valid UTF-8"))?;
        Ok(Pairs(parse_pairs(text)))
    }

    /// The body as a JSON object; anything else (another content type, malformed JSON, a
    /// non-object) is a 400.
    pub(crate) fn json(&self) -> Result<Map<String, Value>, ApiError> {
        if self.kind != BodyKind::Json {
            return Err(ApiError::bad_request(
                "expected a JSON body (Content-Type: application/json)",
            ));
        }
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request("the JSON body must be an object")),
            Err(e) => Err(ApiError::bad_request(format!("malformed JSON body: {e}"))),
        }
    }
}

/// A JSON field that must be a string when present (`null` counts as absent).
pub(crate) fn json_str<'a>(
    map: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!(
            "field {name} must be a string"
        ))),
    }
}

/// A JSON string field that must be present and non-empty.
pub(crate) fn json_required<'a>(
    map: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, ApiError> {
    match json_str(map, name)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::bad_request(format!("missing field: {name}"))),
    }
}

/// An email address as the Python client checks it (`[^@]+@[^@]+\.[^@]+`), over the whole value.
pub(crate) fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// The id of a `{"id": ...}` entry (or a bare string) in a JSON list such as a group's members.
pub(crate) fn id_list(name: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::bad_request(format!("{name} must be a list of {{\"id\": ...}} objects"));
    let Value::Array(items) = value else {
        return Err(bad());
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(id) => Ok(id.clone()),
            Value::Object(map) => match map.get("id") {
                Some(Value::String(id)) => Ok(id.clone()),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes_and_plus() {
        assert_eq!(percent_decode("a%2Fb+c", true), "a/b c");
        assert_eq!(percent_decode("a%2Fb+c", false), "a/b+c");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%C3%A9", true), "é");
        assert_eq!(percent_decode("%FF", true), "\u{FFFD}");
    }

    #[test]
    fn parses_pairs_with_repeats_and_json_in_form() {
        let pairs = Pairs(parse_pairs(
            "name=Team+East&members=%5B%7B%22id%22%3A+%22x%22%7D%5D&tag=a&tag=b&flag",
        ));
        assert_eq!(pairs.get("name"), Some("Team East"));
        assert_eq!(pairs.get("flag"), Some(""));
        assert_eq!(pairs.0.iter().filter(|(k, _)| k == "tag").count(), 2);
        let members = pairs.json("members").unwrap().unwrap();
        assert_eq!(id_list("members", &members).unwrap(), vec!["x".to_owned()]);
        assert!(pairs.required("flag").is_err());
        assert!(pairs.json("name").is_err());
    }

    #[test]
    fn booleans_the_python_way() {
        let pairs = Pairs(parse_pairs("a=True&b=false&c=yes"));
        assert_eq!(pairs.bool("a").unwrap(), Some(true));
        assert_eq!(pairs.bool("b").unwrap(), Some(false));
        assert_eq!(pairs.bool("missing").unwrap(), None);
        assert_eq!(pairs.bool("c").unwrap_err().status.as_u16(), 400);
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("a@b.co"));
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email("@b.co"));
        assert!(!is_valid_email("a@.co"));
        assert!(!is_valid_email("a@b."));
        assert!(!is_valid_email("a@b@c.d"));
    }

    #[test]
    fn content_types() {
        let kind = BodyKind::from_content_type(Some("application/JSON; charset=utf-8"));
        assert_eq!(kind, BodyKind::Json);
        assert_eq!(BodyKind::from_content_type(None), BodyKind::Other);
    }
}
