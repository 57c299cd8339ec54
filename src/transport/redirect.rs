//! Following redirects ourselves: the token and the body go only to the same origin.

use crate::request::{Body, Method};
use ureq::http;

/// Where a redirect from `from` leads, and whether the new URL is trusted with the
/// `Authorization` header and the body: the same origin (scheme, host and port), or the
/// upgrade from `http` on port 80 to `https` on port 443 of the same host. Not followed, so the
/// 3xx is the reply: a 301, 302 or 303 of anything but a `GET` (following would silently turn
/// the call into a `GET`), a request with a body redirected to another origin, and a
/// `Location` that is not an absolute URL or path.
pub(super) fn redirect(
    status: u16,
    method: Method,
    body: &Body,
    from: &str,
    location: &str,
) -> Option<(String, bool)> {
    let same_method = match status {
        307 | 308 => true,
        301..=303 => method == Method::Get,
        _ => false,
    };
    if !same_method {
        return None;
    }
    let from: http::Uri = from.parse().ok()?;
    let (scheme, authority) = (from.scheme_str()?, from.authority()?);
    let location = location.split('#').next().unwrap_or_default();
    let next = if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        location.to_string()
    };
    let to: http::Uri = next.parse().ok()?;
    let to_scheme = to.scheme_str().filter(|s| matches!(*s, "http" | "https"))?;
    let port = |u: &http::Uri| {
        u.port_u16().unwrap_or(if u.scheme_str() == Some("https") {
            443
        } else {
            80
        })
    };
    let same_host = to
        .host()
        .filter(|h| !h.is_empty())?
        .eq_ignore_ascii_case(from.host()?);
    let trusted = same_host
        && ((scheme == to_scheme && port(&from) == port(&to))
            || (scheme == "http" && to_scheme == "https" && port(&from) == 80 && port(&to) == 443));
    if !trusted && *body != Body::Empty {
        return None;
    }
    Some((next, trusted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_credentials_on_the_same_origin_only() {
        let (get, post) = (Method::Get, Method::Post);
        let form = Body::Form("password=x".into());
        let from = "http://127.0.0.1:8080/api/user/v0/acme/users?x=1";
        let to = |status, method, body: &Body, loc| redirect(status, method, body, from, loc);
        assert_eq!(
            to(302, get, &Body::Empty, "/elsewhere#frag"),
            Some(("http://127.0.0.1:8080/elsewhere".into(), true))
        );
        assert_eq!(
            to(301, get, &Body::Empty, "http://127.0.0.1:9090/x"),
            Some(("http://127.0.0.1:9090/x".into(), false))
        );
        assert_eq!(
            to(307, get, &Body::Empty, "//localhost:8080/x"),
            Some(("http://localhost:8080/x".into(), false))
        );
        assert_eq!(
            to(308, post, &form, "http://127.0.0.1:8080/y"),
            Some(("http://127.0.0.1:8080/y".into(), true))
        );
        assert_eq!(
            to(308, post, &form, "https://127.0.0.1:8080/y"),
            None,
            "a body never goes to another origin"
        );
        assert_eq!(
            to(302, post, &form, "/y"),
            None,
            "a POST is not turned into a GET"
        );
        assert_eq!(to(302, get, &Body::Empty, "relative/path"), None);
        assert_eq!(to(302, get, &Body::Empty, "ftp://127.0.0.1/x"), None);
        assert_eq!(to(304, get, &Body::Empty, "/x"), None);
        let upgrade = redirect(
            301,
            get,
            &Body::Empty,
            "http://squirro.example.com/a",
            "https://squirro.example.com/a",
        );
        assert_eq!(
            upgrade,
            Some(("https://squirro.example.com/a".into(), true))
        );
        let downgrade = redirect(
            301,
            get,
            &Body::Empty,
            "https://squirro.example.com/a",
            "http://squirro.example.com/a",
        );
        assert_eq!(downgrade.map(|(_, trusted)| trusted), Some(false));
    }
}
