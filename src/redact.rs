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
/// Names that mention a secret but hold a fact about it (when it expires, what kind it is, a
/// policy) are not secrets: `access_token_expires`, `token_type`, `password_policy`.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let names_one = k.contains("token")
        || k.contains("secret")
        || k.contains("password")
        || k == "authorization";
    const FACTS: &[&str] = &[
        "_expires",
        "_expires_in",
        "_expires_at",
        "_expiry",
        "_type",
        "_policy",
        "_hint",
    ];
    names_one && !FACTS.iter().any(|f| k.ends_with(f))
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

/// The secrets a client knows at one moment (its tokens, its client secret, a proxy's
/// password, the secret parameters of the request at hand), to be removed from anything the
/// crate shows or logs wherever they appear, whatever the field is called: a server that
/// echoes a form as `[key, value]` pairs, quotes a token in free text or lists the submitted
/// fields in an HTML page must not leak them. Each secret is also looked for as the
/// Python/`requests` form encoding and the JSON string encoding write it.
///
/// Built only where something is about to be shown (an error, a log line, a rendering), so
/// a call that succeeds pays nothing for it.
#[derive(Default, Clone)]
pub(crate) struct Scrubber {
    needles: Vec<String>,
}

/// Secrets shorter than this are not searched for as values (they would blank out common
/// words); secret-named fields are redacted whatever their length.
const MIN_SECRET_LEN: usize = 4;

impl Scrubber {
    /// Adds a secret value (and its encodings).
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let mut form = String::new();
        crate::request::form_encode_into(&mut form, secret);
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        for needle in [secret.to_string(), form, json] {
            if !self.needles.contains(&needle) {
                self.needles.push(needle);
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// Adds every secret of an iterator.
    pub(crate) fn with<'a>(mut self, secrets: impl IntoIterator<Item = &'a str>) -> Self {
        for s in secrets {
            self.add(s);
        }
        self
    }

    /// The text with secret-named fields (see [`scrub`]) and every known secret value
    /// replaced by `<redacted>`.
    pub(crate) fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = scrub(text);
        for needle in &self.needles {
            if let Some(replaced) = replace_whole(&out, needle) {
                out = Cow::Owned(replaced);
            }
        }
        out
    }

    /// [`scrub_value`] plus every known secret value in every string and key.
    pub(crate) fn scrub_value(&self, v: &mut serde_json::Value) {
        scrub_value(v);
        if self.needles.is_empty() {
            return;
        }
        match v {
            serde_json::Value::Object(map) => {
                let dirty = map.keys().any(|k| matches!(self.scrub(k), Cow::Owned(_)));
                if dirty {
                    let old = std::mem::take(map);
                    for (k, mut val) in old {
                        self.scrub_value(&mut val);
                        map.insert(self.scrub(&k).into_owned(), val);
                    }
                } else {
                    map.values_mut().for_each(|val| self.scrub_value(val));
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_value(i)),
            serde_json::Value::String(text) => {
                if let Cow::Owned(clean) = self.scrub(text) {
                    *text = clean;
                }
            }
            _ => {}
        }
    }
}

/// `text` with every occurrence of `needle` that stands as a whole word (not inside a longer
/// run of letters, digits, `_` or `-`, so a secret `token` leaves `access_token` alone)
/// replaced by [`MARK`]; `None` when there is none.
fn replace_whole(text: &str, needle: &str) -> Option<String> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in text.match_indices(needle) {
        if at < copied {
            continue;
        }
        let end = at + needle.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        let starts_word = needle.chars().next().is_some_and(is_word);
        let ends_word = needle.chars().next_back().is_some_and(is_word);
        if (starts_word && before.is_some_and(is_word)) || (ends_word && after.is_some_and(is_word))
        {
            continue;
        }
        out.push_str(&text[copied..at]);
        out.push_str(MARK);
        copied = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
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
    fn facts_about_secrets_are_not_secrets() {
        for fact in [
            "access_token_expires",
            "token_type",
            "password_policy",
            "expires_in",
        ] {
            assert!(!is_secret_key(fact), "{fact}");
        }
        for secret in [
            "access_token",
            "refresh_token",
            "client_secret",
            "new_password",
            "id_token",
        ] {
            assert!(is_secret_key(secret), "{secret}");
        }
    }

    #[test]
    fn scrubs_truncated_json() {
        let s = scrub(r#"{"access_token": "abcdef"#);
        assert_eq!(s, r#"{"access_token": "<redacted>""#);
    }

    #[test]
    fn scrubs_known_secrets_wherever_they_stand() {
        let s = Scrubber::default().with(["rt-S3cret/x+y", "abc"]);
        // As a [key, value] pair, in free text, form-encoded and JSON-escaped.
        let text = r#"[["refresh", "rt-S3cret/x+y"]] token rt-S3cret/x+y expired; form rt-S3cret%2Fx%2By; abc"#;
        let clean = s.scrub(text);
        assert!(!clean.contains("S3cret"), "{clean}");
        assert!(
            clean.ends_with("; abc"),
            "short values are not searched: {clean}"
        );
        // A secret that is also a word inside a field name leaves the name alone.
        let word = Scrubber::default().with(["token"]);
        assert_eq!(
            word.scrub(r#"{"access_token":"token"}"#),
            r#"{"access_token":"<redacted>"}"#
        );
        assert_eq!(
            word.scrub("the token token-2 xtoken"),
            "the <redacted> token-2 xtoken"
        );
        let mut v = serde_json::json!({"echo": [["r", "rt-S3cret/x+y"]], "rt-S3cret/x+y": 1});
        s.scrub_value(&mut v);
        assert!(!v.to_string().contains("S3cret"), "{v}");
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
