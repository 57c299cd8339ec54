//! What the environment says: the `SQUIRRO_*` settings of [`Client::from_env`], and the proxy
//! for the cluster's host. Both read through a lookup function, so tests need not touch the
//! process environment.

use crate::client::{check_setting, check_url};
use crate::{Client, ClientBuilder, Error};
use std::ffi::OsString;
use std::net::IpAddr;

impl Client {
    /// A client configured from the environment (see [`ClientBuilder::from_env`]).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), squirro_user_api::Error> {
    /// // SQUIRRO_CLUSTER=https://squirro.example.com SQUIRRO_TENANT=acme SQUIRRO_TOKEN=...
    /// let client = squirro_user_api::Client::from_env()?;
    /// let users = client.get_users().send()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the variable that is missing or malformed, or the
    /// setting [`ClientBuilder::build`] refused.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }
}

impl ClientBuilder {
    /// A builder configured from the environment, to adjust before building:
    ///
    /// | variable | setting | |
    /// |---|---|---|
    /// | `SQUIRRO_CLUSTER` | [`cluster`](Self::cluster) | required, `http(s)://host` |
    /// | `SQUIRRO_TENANT` | [`tenant`](Self::tenant) | optional: else the token's tenant, adopted on the first call |
    /// | `SQUIRRO_TOKEN` | [`refresh_token`](Self::refresh_token) | required |
    /// | `SQUIRRO_CLIENT_ID` | [`client_id`](Self::client_id) | optional |
    /// | `SQUIRRO_CLIENT_SECRET` | [`client_secret`](Self::client_secret) | optional |
    ///
    /// A variable set to an empty value counts as not set. The proxy comes from the
    /// environment as always (see [`no_proxy`](Self::no_proxy)).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), squirro_user_api::Error> {
    /// use std::time::Duration;
    /// let client = squirro_user_api::ClientBuilder::from_env()?
    ///     .timeout(Duration::from_secs(20))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] whose `param` is the variable that is missing, not UTF-8, or
    /// malformed (a cluster that is not an `http(s)://` URL, a token with spaces).
    pub fn from_env() -> Result<ClientBuilder, Error> {
        settings(|name| std::env::var_os(name))
    }
}

/// The builder the `SQUIRRO_*` variables of `lookup` describe.
pub(crate) fn settings(lookup: impl Fn(&str) -> Option<OsString>) -> Result<ClientBuilder, Error> {
    let required = |name: &'static str| {
        read(&lookup, name)?
            .ok_or_else(|| Error::invalid(name, "the environment variable is not set"))
    };
    let cluster = required("SQUIRRO_CLUSTER")?;
    check_url("SQUIRRO_CLUSTER", &cluster)?;
    let token = required("SQUIRRO_TOKEN")?;
    check_setting("SQUIRRO_TOKEN", &token, true)?;
    let mut builder = Client::builder().cluster(cluster).refresh_token(token);
    if let Some(tenant) = read(&lookup, "SQUIRRO_TENANT")? {
        check_setting("SQUIRRO_TENANT", &tenant, false)?;
        builder = builder.tenant(tenant);
    }
    if let Some(id) = read(&lookup, "SQUIRRO_CLIENT_ID")? {
        builder = builder.client_id(id);
    }
    if let Some(secret) = read(&lookup, "SQUIRRO_CLIENT_SECRET")? {
        builder = builder.client_secret(secret);
    }
    Ok(builder)
}

/// The proxy the environment gives for `scheme://host`, with the variable it came from:
/// `https_proxy` for `https` or `http_proxy` for `http`, else `all_proxy`, each in lower case
/// first, then upper case (as Python's `urllib` reads them). None for a loopback host or
/// `localhost`, or a host `no_proxy` covers.
pub(crate) fn proxy_for(
    scheme: &str,
    host: &str,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<(&'static str, String)>, Error> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    {
        return Ok(None);
    }
    let no_proxy = match read(&lookup, "no_proxy")? {
        Some(list) => Some(list),
        None => read(&lookup, "NO_PROXY")?,
    };
    if no_proxy.is_some_and(|list| no_proxy_covers(&list, host)) {
        return Ok(None);
    }
    let names = if scheme == "https" {
        ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
    };
    for name in names {
        if let Some(url) = read(&lookup, name)? {
            return Ok(Some((name, url)));
        }
    }
    Ok(None)
}

/// Whether a `NO_PROXY` list (comma-separated) covers `host`: `*`, the host itself, or a
/// parent domain (`example.com`, `.example.com` and `*.example.com` all cover
/// `api.example.com`). Case-insensitive.
fn no_proxy_covers(list: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    list.split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .any(|entry| {
            let domain = entry.trim_start_matches('*').trim_start_matches('.');
            entry == "*"
                || (!domain.is_empty()
                    && (host == domain
                        || host
                            .strip_suffix(domain)
                            .is_some_and(|rest| rest.ends_with('.'))))
        })
}

/// A variable's value; empty counts as not set.
pub(crate) fn read(
    lookup: &impl Fn(&str) -> Option<OsString>,
    name: &'static str,
) -> Result<Option<String>, Error> {
    match lookup(name) {
        None => Ok(None),
        Some(value) => match value.into_string() {
            Ok(s) => Ok(Some(s).filter(|s| !s.trim().is_empty())),
            Err(_) => Err(Error::invalid(
                name,
                "the environment variable is not valid UTF-8",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    const FULL: &[(&str, &str)] = &[
        ("SQUIRRO_CLUSTER", "https://squirro.example.com/"),
        ("SQUIRRO_TENANT", "acme"),
        ("SQUIRRO_TOKEN", "refresh-SEKRIT"),
        ("SQUIRRO_CLIENT_ID", "tool"),
        ("SQUIRRO_CLIENT_SECRET", "secret-SEKRIT"),
    ];

    fn with<'a>(change: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
        let mut pairs: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != change.0)
            .collect();
        pairs.push(change);
        pairs
    }

    fn failing_param(pairs: &[(&str, &str)]) -> String {
        match settings(env(pairs)) {
            Err(Error::InvalidInput { param, reason }) => {
                assert!(!reason.contains("SEKRIT"), "{reason}");
                param
            }
            other => panic!("expected an invalid input, got {other:?}"),
        }
    }

    #[test]
    fn reads_every_variable() {
        let builder = settings(env(FULL)).unwrap();
        let shown = format!("{builder:?}");
        assert!(
            shown.contains("squirro.example.com") && shown.contains("\"tool\""),
            "{shown}"
        );
        assert!(!shown.contains("SEKRIT"), "{shown}");
        let client = builder.no_proxy().build().unwrap();
        assert_eq!(
            client.user_api_url(),
            "https://squirro.example.com/api/user"
        );
        assert_eq!(client.tenant().as_deref(), Some("acme"));
        assert_eq!(
            client.tokens().refresh_token.as_deref(),
            Some("refresh-SEKRIT")
        );
        // The optional ones may be missing or empty.
        let pairs = with(("SQUIRRO_CLIENT_SECRET", ""));
        settings(env(&pairs[..3])).unwrap();
        settings(env(&pairs)).unwrap();
    }

    #[test]
    fn a_missing_variable_is_named() {
        for name in ["SQUIRRO_CLUSTER", "SQUIRRO_TOKEN"] {
            let pairs: Vec<_> = FULL.iter().copied().filter(|(k, _)| *k != name).collect();
            assert_eq!(failing_param(&pairs), name);
            assert_eq!(
                failing_param(&with((name, "  "))),
                name,
                "blank counts as missing"
            );
            let e = settings(env(&pairs)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid {name}: the environment variable is not set")
            );
        }
    }

    #[test]
    fn a_malformed_variable_is_named() {
        for (name, value) in [
            ("SQUIRRO_CLUSTER", "squirro.example.com"),
            ("SQUIRRO_CLUSTER", "ftp://squirro.example.com"),
            (
                "SQUIRRO_CLUSTER",
                "https://user:pw-SEKRIT@squirro.example.com",
            ),
            ("SQUIRRO_CLUSTER", "https://squirro.example.com/?x=1"),
            ("SQUIRRO_TOKEN", "refresh SEKRIT"),
            ("SQUIRRO_TOKEN", "refresh-SEKRIT\n"),
        ] {
            assert_eq!(failing_param(&with((name, value))), name, "{value:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let lookup = |name: &str| {
            if name == "SQUIRRO_TENANT" {
                Some(OsString::from_vec(vec![0x61, 0xff]))
            } else {
                env(FULL)(name)
            }
        };
        let e = settings(lookup).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidInput { param, .. } if param == "SQUIRRO_TENANT"),
            "{e}"
        );
    }

    #[test]
    fn proxy_by_scheme_with_no_proxy() {
        let vars = [
            ("HTTPS_PROXY", "http://s:1"),
            ("http_proxy", "http://h:1"),
            ("HTTP_PROXY", "http://H:1"),
        ];
        let p = |scheme, host, extra: &[(&str, &str)]| {
            let pairs: Vec<_> = vars.iter().chain(extra).copied().collect();
            proxy_for(scheme, host, env(&pairs)).unwrap()
        };
        assert_eq!(
            p("https", "squirro.example.com", &[]),
            Some(("HTTPS_PROXY", "http://s:1".into()))
        );
        assert_eq!(
            p("http", "squirro.example.com", &[]),
            Some(("http_proxy", "http://h:1".into()))
        );
        for loopback in ["127.0.0.1", "127.8.9.10", "[::1]", "localhost", "LOCALHOST"] {
            assert_eq!(p("http", loopback, &[]), None, "{loopback}");
        }
        for list in [
            "*",
            "example.com",
            ".example.com",
            "other.org, *.EXAMPLE.com",
            "squirro.example.com",
        ] {
            assert_eq!(
                p("https", "squirro.example.com", &[("NO_PROXY", list)]),
                None,
                "{list}"
            );
        }
        for list in ["ample.com", "other.org", "api.squirro.example.com", ""] {
            assert!(
                p("https", "squirro.example.com", &[("no_proxy", list)]).is_some(),
                "{list}"
            );
        }
        let only_all = env(&[("ALL_PROXY", "http://a:1")]);
        assert_eq!(
            proxy_for("https", "h.example", only_all).unwrap(),
            Some(("ALL_PROXY", "http://a:1".into()))
        );
        assert_eq!(
            proxy_for("https", "h.example", env(&[("HTTP_PROXY", "http://h:1")])).unwrap(),
            None
        );
    }
}
