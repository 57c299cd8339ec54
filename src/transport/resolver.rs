//! A resolver that lets a call on a pooled connection skip the DNS lookup thread.

use std::time::{Duration, Instant};
use ureq::http;

/// The agent's resolver: ureq 3.5 resolves the host before it looks in its connection pool, on
/// every request, and with a timeout set (the client always sets one) its `DefaultResolver`
/// runs each lookup on a new thread. This one answers an IP literal at once and keeps the last
/// lookup of a host name for [`RESOLVE_TTL`], so a call on a pooled connection neither spawns a
/// thread nor asks DNS; a new connection after that time looks the host up again.
#[derive(Debug, Default)]
pub(crate) struct PoolFriendlyResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
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
            return self.inner.resolve(uri, config, timeout);
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            let port = authority
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            let mut addrs = self.empty();
            addrs.push(std::net::SocketAddr::new(ip, port));
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
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            format!("{scheme}://{authority}"),
            addrs.clone(),
            Instant::now(),
        ));
        Ok(addrs)
    }
}
