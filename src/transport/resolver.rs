//! A resolver that lets a call on a pooled connection skip the DNS lookup thread.

use std::time::{Duration, Instant};
use ureq::http;

/// The agent's resolver: ureq 3.5 resolves the host before it looks in its connection pool, on
/// every request, and with a timeout set (the client always sets one) its `DefaultResolver`
/// runs each lookup on a new thread. This one answers an IP literal at once and keeps the last
/// lookup of a host name for [`RESOLVE_TTL`], so a call on a pooled connection neither spawns a
/// thread nor asks DNS; a new connection after that time looks the host up again. The first
/// IP literal it answers (the cluster's, for a client of `http://10.0.0.5:8080`) it keeps
/// with its scheme and authority, so later calls compare two strings instead of parsing the
/// host, its port and the address again.
#[derive(Debug, Default)]
pub(crate) struct PoolFriendlyResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    literal: std::sync::OnceLock<(String, String, std::net::SocketAddr)>,
    last: std::sync::Mutex<
        Option<(
            String,
            ureq::unversioned::resolver::ResolvedSocketAddrs,
            Instant,
        )>,
    >,
}

/// How long a host name lookup is reused.
const RESOLVE_TTL: Duration = Duration::from_secs(30);

impl ureq::unversioned::resolver::Resolver for PoolFriendlyResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return self
                .inner
                .resolve(uri, config, super::steady::bounded(timeout));
        };
        if let Some((s, a, addr)) = self.literal.get() {
            if s == scheme && a == authority.as_str() {
                let mut addrs = self.empty();
                addrs.push(*addr);
                return Ok(addrs);
            }
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            let port = authority
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            let addr = std::net::SocketAddr::new(ip, port);
            // Only the first literal is kept: set fails for any other, harmlessly.
            let _ = self
                .literal
                .set((scheme.to_owned(), authority.as_str().to_owned(), addr));
            let mut addrs = self.empty();
            addrs.push(addr);
            return Ok(addrs);
        }
        let key = |(k, _, at): &&(String, _, Instant)| {
            k.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")) == Some(authority.as_str())
                && at.elapsed() < RESOLVE_TTL
        };
        if let Some((_, addrs, _)) = self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(key)
        {
            return Ok(addrs.clone());
        }
        let addrs = self
            .inner
            .resolve(uri, config, super::steady::bounded(timeout))?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            format!("{scheme}://{authority}"),
            addrs.clone(),
            Instant::now(),
        ));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::resolver::Resolver;

    fn resolve(r: &PoolFriendlyResolver, url: &str) -> Vec<std::net::SocketAddr> {
        let uri: http::Uri = url.parse().unwrap();
        let config = ureq::Agent::config_builder().build();
        r.resolve(&uri, &config, Default::default())
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn the_kept_literal_answers_only_its_own_authority() {
        let r = PoolFriendlyResolver::default();
        let a: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(resolve(&r, "http://127.0.0.1:8080/a"), [a]);
        assert_eq!(resolve(&r, "http://127.0.0.1:8080/b?c=d"), [a]);
        // Another port, address, scheme or family is not the kept one.
        let b: std::net::SocketAddr = "127.0.0.1:9090".parse().unwrap();
        assert_eq!(resolve(&r, "http://127.0.0.1:9090/a"), [b]);
        let c: std::net::SocketAddr = "127.0.0.2:8080".parse().unwrap();
        assert_eq!(resolve(&r, "http://127.0.0.2:8080/a"), [c]);
        let d: std::net::SocketAddr = "127.0.0.1:443".parse().unwrap();
        assert_eq!(resolve(&r, "https://127.0.0.1/a"), [d]);
        let e: std::net::SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(resolve(&r, "http://[::1]:8080/a"), [e]);
        assert_eq!(resolve(&r, "http://127.0.0.1:8080/a"), [a]);
    }
}
