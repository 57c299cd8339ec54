//! Keeping secrets out of `Debug`, `Display`, logs and error excerpts.

use std::borrow::Cow;
use std::fmt;

/// Shown in place of a secret.
pub(crate) const MARK: &str = "<redacted>";

/// A `Debug` stand-in for a secret value.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MARK)
    }
}

/// Field names whose values are secrets, wherever they appear (JSON keys, form and query keys).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("token") || k.contains("secret") || k.contains("password") || k == "authorization"
}

/// Replaces the values of secret-named fields in a text that may hold JSON (`"key": "value"`)
/// or form / query pairs (`key=value`). Leaves the text borrowed when there is nothing to hide.
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    if !["token", "secret", "password", "authorization", "bearer"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        // A JSON key: "name" then optional spaces, a colon, optional spaces and a string value.
        if bytes[i] == b'"' {
            if let Some(end) = text[i + 1..].find('"').map(|e| i + 1 + e) {
                let key = &text[i + 1..end];
                let mut j = end + 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if is_secret_key(key) && j < bytes.len() && bytes[j] == b':' {
                    j += 1;
                    while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j] == b'"' {
                        let value_end = json_string_end(bytes, j + 1);
                        out.push_str(&text[copied..j]);
                        out.push('"');
                        out.push_str(MARK);
                        out.push('"');
                        copied = value_end.min(bytes.len());
                        i = copied;
                        continue;
                    }
                }
                i = end + 1;
                continue;
            }
        }
        // A form or query pair: name=value up to & or whitespace.
        if bytes[i] == b'=' {
            let start = text[..i]
                .char_indices()
                .rev()
                .find(|&(_, c)| c == '&' || c == '?' || c.is_whitespace())
                .map(|(s, c)| s + c.len_utf8())
                .unwrap_or(0);
            if is_secret_key(&text[start..i]) {
                let end = text[i + 1..]
                    .find(|c: char| c == '&' || c.is_whitespace())
                    .map(|e| i + 1 + e)
                    .unwrap_or(bytes.len());
                out.push_str(&text[copied..=i]);
                out.push_str(MARK);
                copied = end;
                i = end;
                continue;
            }
        }
        // "Bearer xyz" anywhere.
        if lower.as_bytes()[i..].starts_with(b"bearer ") {
            let start = i + "bearer ".len();
            let end = text[start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
                .map(|e| start + e)
                .unwrap_or(bytes.len());
            out.push_str(&text[copied..start]);
            out.push_str(MARK);
            copied = end;
            i = end;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied.min(text.len())..]);
    Cow::Owned(out)
}

/// Index just past the closing quote of a JSON string whose content starts at `from`
/// (or the end of the text when it is truncated).
fn json_string_end(bytes: &[u8], from: usize) -> usize {
    let mut k = from;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    bytes.len()
}

/// Replaces the values of secret-named fields in a parsed JSON value, recursively, and scrubs
/// every other string in it as [`scrub`] does (a message quoting `refresh_token=...`).
pub(crate) fn scrub_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) && !val.is_null() {
                    *val = serde_json::Value::String(MARK.to_string());
                } else {
                    scrub_value(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_value),
        serde_json::Value::String(text) => {
            if let Cow::Owned(clean) = scrub(text) {
                *text = clean;
            }
        }
        _ => {}
    }
}

/// A URL with any `user:password@` part replaced.
pub(crate) fn scrub_url_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{scheme}://{MARK}@{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_json_form_and_bearer() {
        let s = scrub(r#"{"error": "bad", "refresh_token": "abc\"def", "x": 1}"#);
        assert_eq!(
            s,
            r#"{"error": "bad", "refresh_token": "<redacted>", "x": 1}"#
        );
        let s = scrub("grant_type=password&username=u&password=hunter2&tenant=t");
        assert_eq!(
            s,
            "grant_type=password&username=u&password=<redacted>&tenant=t"
        );
        let s = scrub("Authorization: Bearer abc.def");
        assert_eq!(s, "Authorization: Bearer <redacted>");
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn scrubs_truncated_json() {
        let s = scrub(r#"{"access_token": "abcdef"#);
        assert_eq!(s, r#"{"access_token": "<redacted>""#);
    }

    #[test]
    fn scrubs_values() {
        let mut v = serde_json::json!({"a": {"client_secret": "s"}, "list": [{"password": "p"}], "ok": "x", "m": "bad token=abc"});
        scrub_value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": {"client_secret": MARK}, "list": [{"password": MARK}], "ok": "x", "m": "bad token=<redacted>"})
        );
    }
}
