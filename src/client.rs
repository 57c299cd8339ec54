//! The client and its builder: configuration, and `execute`, the one place a [`Request`] is
//! sent (token checks, refresh on 401, status mapping).

use crate::auth::{Grant, TokenState, Tokens};
use crate::request::{Auth, Method, Request};
use crate::transport::{DEFAULT_MAX_REPLY_BYTES, Outgoing, Reply, RetryPolicy, Transport};
use crate::{ApiVersion, Error};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default user API URL when neither a cluster nor a URL is given (as in Python).
pub const DEFAULT_USER_API_URL: &str = "https://user-api.squirro.com";
/// The default timeout of one attempt (as in Python).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(55);
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking client of the Squirro user API.
///
/// `Client` is cheap to clone: clones share one connection pool and one token state, so a
/// token refreshed by one thread serves all of them. Every method of the API is a method of
/// the client returning a request builder: set optional parameters on it, then call
/// `.send()` (or `.request()` for the request without sending it).
///
/// ```no_run
/// use squirro_user_api::{Client, Grant};
/// # fn main() -> Result<(), squirro_user_api::Error> {
/// let client = Client::builder()
///     .cluster("https://squirro.example.com")
///     .tenant("acme")
///     .build()?;
/// client.authenticate(Grant::refresh_token("...")).send()?;
/// for user in client.get_users().send()?.users {
///     println!("{} {:?}", user.id, user.email);
/// }
/// # Ok(()) }
/// ```
///
/// A session survives on its own: with only a refresh token the first call gets an access
/// token; a 401 refreshes the tokens (once for all clones) and repeats the call once; failures
/// are retried by the [`RetryPolicy`]. `Debug` never shows the tokens or the client secret.
///
/// Every HTTP exchange is logged through the `log` facade at `debug`: verb, path (never the
/// query, where some methods put the client secret), status, attempt and time taken. ureq's
/// own `debug` lines hide paths and credentials too, but at `trace` ureq logs full URLs:
/// keep the `ureq` target below `trace` where logs are kept.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) base: String,
    pub(crate) version: ApiVersion,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) transport: Transport,
    pub(crate) tokens: TokenState,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens = self.inner.tokens.snapshot();
        f.debug_struct("Client")
            .field("user_api_url", &self.inner.base)
            .field("tenant", &tokens.tenant)
            .field("version", &self.inner.version)
            .field("client_id", &self.inner.client_id)
            .field(
                "client_secret",
                &self
                    .inner
                    .client_secret
                    .as_ref()
                    .map(|_| crate::redact::Redacted),
            )
            .field("tokens", &tokens)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The user API base URL (`{cluster}/api/user`), without a trailing `/`.
    pub fn user_api_url(&self) -> &str {
        &self.inner.base
    }

    /// The tenant, set on the builder or adopted from the first authentication.
    pub fn tenant(&self) -> Option<String> {
        self.inner.tokens.snapshot().tenant.clone()
    }

    /// The API version used in paths (default `v0`).
    pub fn version(&self) -> ApiVersion {
        self.inner.version
    }

    pub(crate) fn config_client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    pub(crate) fn config_client_secret(&self) -> Option<&str> {
        self.inner.client_secret.as_deref()
    }

    /// The full URL of a request.
    pub fn url(&self, request: &Request) -> String {
        let mut url = String::with_capacity(self.inner.base.len() + request.path.len() + 64);
        url.push_str(&self.inner.base);
        request.write_path_and_query(&mut url);
        url
    }

    /// The request as it would go on the wire, written like HTTP: the request line, the headers
    /// this crate sets (in a fixed order, the token shown as `<redacted>`), a blank line and
    /// the body. For reviews and dry runs: the query and the body are shown as sent, so a
    /// client secret or password in them is shown too (`{request:?}` redacts them).
    pub fn render(&self, request: &Request) -> String {
        let bearer = match request.auth {
            Auth::None => false,
            Auth::Required | Auth::Optional => {
                let t = self.inner.tokens.snapshot();
                t.access_token.is_some()
                    || (request.auth == Auth::Required && t.refresh_token.is_some())
            }
        };
        let url = self.url(request);
        let (host, path) = split_url(&url);
        let mut s = format!(
            "{} {}\nHost: {}\nAccept: application/json\n",
            request.method, path, host
        );
        if bearer {
            s.push_str("Authorization: Bearer <redacted>\n");
        }
        if let Some(ct) = request.body.content_type() {
            s.push_str("Content-Type: ");
            s.push_str(ct);
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&String::from_utf8_lossy(request.body.as_bytes()));
        s
    }

    /// Sends a request: checks that a token and a tenant are there (for authenticated
    /// endpoints), gets an access token first when only a refresh token is held, sends with the
    /// retry policy, refreshes the tokens once on a 401 and repeats the call once, and maps a
    /// status the endpoint does not expect to an [`Error`]. The retry policy's
    /// [`deadline`](RetryPolicy::deadline) bounds all of it.
    ///
    /// # Errors
    ///
    /// [`Error::Authentication`] without a token; the status classes of [`Error`] for an
    /// unexpected status (a 401 that survived the refresh is [`Error::Authorization`]);
    /// [`Error::Connection`], [`Error::RetriesExhausted`] and [`Error::Transport`] from the
    /// transport.
    pub fn execute(&self, request: &Request) -> Result<Reply, Error> {
        let inner = &*self.inner;
        let deadline = inner.transport.retry.deadline_from_now();
        if request.auth == Auth::Required {
            let t = inner.tokens.snapshot();
            if t.access_token.is_none() && t.refresh_token.is_none() {
                return Err(Error::Authentication {
                    status: None,
                    message: Some("missing access and refresh token: authenticate first".into()),
                });
            }
            if t.tenant.is_none() {
                return Err(Error::invalid(
                    "tenant",
                    "missing tenant: set it on the builder or authenticate first",
                ));
            }
            if t.access_token.is_none() {
                // Spend no request on a certain 401.
                self.refresh_after(None, deadline)?;
            }
        }
        let url = self.url(request);
        let idempotent = request.method != Method::Post;
        let send = |bearer: Option<&str>| {
            inner.transport.send(
                &Outgoing {
                    url: &url,
                    request,
                    bearer,
                    idempotent,
                },
                deadline,
            )
        };
        let held = match request.auth {
            Auth::None => None,
            _ => Some(inner.tokens.snapshot()),
        };
        let used = held.as_ref().and_then(|t| t.access_token.as_deref());
        let mut reply = send(used)?;
        // As Python, an unauthenticated call that carried a token (signup) refreshes too.
        let may_refresh = match request.auth {
            Auth::Required => true,
            Auth::Optional => inner.tokens.snapshot().refresh_token.is_some(),
            Auth::None => false,
        };
        if reply.status == 401 && may_refresh {
            // One refresh and one repeat; a second 401 is reported, as is the first when the
            // refresh fails.
            match self.refresh_after(used, deadline) {
                Ok(()) => reply = send(inner.tokens.snapshot().access_token.as_deref())?,
                Err(e) => log::warn!(
                    "{} {}: the access token was refused and refreshing it failed: {e}",
                    request.method,
                    request.path
                ),
            }
        }
        if request.expected.contains(&reply.status) {
            Ok(reply)
        } else {
            Err(Error::from_status(reply.status, &reply.body))
        }
    }

    /// Before a method builds its request: with only a refresh token held, gets an access
    /// token first, which also adopts the token's tenant when the client has none (so a
    /// client built from a refresh token alone can call tenant paths at once).
    pub(crate) fn prepare_session(&self) -> Result<(), Error> {
        let t = self.inner.tokens.snapshot();
        if t.access_token.is_none() && t.refresh_token.is_some() {
            self.refresh_after(None, self.inner.transport.retry.deadline_from_now())?;
        }
        Ok(())
    }

    /// Refreshes the tokens after `used` was refused (or was missing). Clones racing here
    /// refresh once: the others wait, find a new token and return.
    fn refresh_after(&self, used: Option<&str>, deadline: Option<Instant>) -> Result<(), Error> {
        let tokens = &self.inner.tokens;
        let (fresh, result) = {
            let _guard = tokens.refresh_lock();
            let now = tokens.snapshot();
            if now.access_token.is_some() && now.access_token.as_deref() != used {
                return Ok(());
            }
            let mut refresh = now
                .refresh_token
                .clone()
                .ok_or_else(|| Error::Authentication {
                    status: None,
                    message: Some(
                        "the access token was refused and there is no refresh token".into(),
                    ),
                })?;
            // As Python: up to 3 token requests until a different access token comes back (on a
            // multi-node cluster, one node may still accept the token another refused).
            let mut fresh = None;
            let mut result = Err(Error::Authentication {
                status: None,
                message: Some("the token endpoint kept returning the refused access token".into()),
            });
            for _ in 0..3 {
                match self
                    .authenticate(Grant::refresh_token(refresh.clone()))
                    .send_until(deadline)
                {
                    Ok((_, t)) => {
                        let changed = t.access_token.as_deref() != used;
                        // A server that rotates refresh tokens gets the newest one next time.
                        if let Some(r) = &t.refresh_token {
                            refresh.clone_from(r);
                        }
                        fresh = Some(t);
                        if changed {
                            result = Ok(());
                            break;
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            (fresh, result)
        };
        if let Some(t) = &fresh {
            tokens.notify(t);
        }
        result
    }
}

fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// Called with the new access and refresh tokens after every successful authentication, so a
/// caller can persist them (Python's `_on_token_refresh`).
pub type TokenCallback = Arc<dyn Fn(&Tokens) + Send + Sync>;

/// Builds a [`Client`]; [`build`](ClientBuilder::build) checks the settings.
///
/// ```
/// use squirro_user_api::Client;
/// use std::time::Duration;
/// let client = Client::builder()
///     .cluster("https://squirro.example.com/")
///     .tenant("acme")
///     .client_id("my-tool")
///     .timeout(Duration::from_secs(20))
///     .build()
///     .unwrap();
/// assert_eq!(client.user_api_url(), "https://squirro.example.com/api/user");
/// ```
///
/// `Debug` shows the settings with the client secret and the tokens redacted.
#[derive(Clone, Default)]
pub struct ClientBuilder {
    cluster: Option<String>,
    user_api_url: Option<String>,
    tenant: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    version: Option<ApiVersion>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    retry: Option<RetryPolicy>,
    max_reply_bytes: Option<u64>,
    proxy: Option<ProxySetting>,
    root_certificates: Vec<Vec<u8>>,
    on_token_refresh: Option<TokenCallback>,
}

#[derive(Clone, Debug)]
enum ProxySetting {
    Disabled,
    Url(String),
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| crate::redact::Redacted);
        f.debug_struct("ClientBuilder")
            .field("cluster", &self.cluster)
            .field("user_api_url", &self.user_api_url)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &r(&self.client_secret))
            .field("version", &self.version)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("access_token", &r(&self.access_token))
            .field("refresh_token", &r(&self.refresh_token))
            .field("retry", &self.retry)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .field(
                "proxy",
                &self.proxy.as_ref().map(|p| match p {
                    ProxySetting::Disabled => "disabled".to_string(),
                    ProxySetting::Url(u) => crate::redact::scrub_url_userinfo(u),
                }),
            )
            .field("root_certificates", &self.root_certificates.len())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The cluster's base URL (`https://squirro.example.com`); the user API is at
    /// `{cluster}/api/user`.
    pub fn cluster(mut self, url: impl Into<String>) -> Self {
        self.cluster = Some(url.into());
        self
    }
    /// The user API's URL, when it is not under a cluster (default
    /// `https://user-api.squirro.com`). Ignored when [`cluster`](Self::cluster) is set.
    pub fn user_api_url(mut self, url: impl Into<String>) -> Self {
        self.user_api_url = Some(url.into());
        self
    }
    /// The tenant. Without one, the tenant of the first authentication is adopted.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
    /// The client id, sent on authentication and by the methods that need it.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }
    /// The client secret (never shown by `Debug`).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }
    /// The API version of paths with `{v}` (default `v0`).
    pub fn version(mut self, version: ApiVersion) -> Self {
        self.version = Some(version);
        self
    }
    /// The timeout of one attempt, from connecting to the last byte of the reply, redirects
    /// included (default 55 s). Retries make further attempts; to bound a whole call, set a
    /// [`RetryPolicy::deadline`].
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// The timeout of establishing a connection, TCP and TLS (default 10 s; the attempt's
    /// [`timeout`](Self::timeout) bounds it too).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }
    /// Starts with this access token (no authentication request needed).
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }
    /// Starts with this refresh token: the first call obtains an access token with it. This is
    /// the token Squirro shows under "API access" (`SQUIRRO_TOKEN`).
    pub fn refresh_token(mut self, token: impl Into<String>) -> Self {
        self.refresh_token = Some(token.into());
        self
    }
    /// The retry policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// The largest reply body read (default 10 MiB); a larger one is a
    /// [`Error::Transport`], and no more than the limit is read.
    pub fn max_reply_bytes(mut self, n: u64) -> Self {
        self.max_reply_bytes = Some(n);
        self
    }
    /// Sends through this HTTP(S) proxy (`http://proxy.example.com:3128`, with
    /// `user:password@` if it needs it) instead of the one from the environment, whatever the
    /// host and `NO_PROXY`. For an `https` cluster the proxy only sees a `CONNECT`.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(ProxySetting::Url(url.into()));
        self
    }
    /// Uses no proxy, whatever the environment says. By default the proxy comes from
    /// `HTTPS_PROXY` (for an `https` cluster) or `HTTP_PROXY` (for `http`), else `ALL_PROXY`
    /// (lower-case names too), unless `NO_PROXY` names the host (`example.com` also covers
    /// its subdomains; `*` covers all) or the host is a loopback address or `localhost`.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = Some(ProxySetting::Disabled);
        self
    }
    /// Trusts the certificates of this PEM bundle (an on-premise cluster's CA) *instead of*
    /// the built-in Mozilla roots, as `curl --cacert` and Python's `verify=` do: a cluster with
    /// a private CA is then trusted by that CA alone. Every certificate of the bundle counts,
    /// and further calls add more bundles. Certificate verification is always on.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = squirro_user_api::Client::builder()
    ///     .cluster("https://squirro.internal")
    ///     .root_certificates_pem(std::fs::read("/etc/squirro/ca.pem")?)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }
    /// Called with the new tokens after each successful authentication or refresh, so they can
    /// be persisted. It runs on the thread that authenticated, after the client holds the new
    /// tokens and with no lock held, so it may use the client.
    pub fn on_token_refresh(mut self, f: impl Fn(&Tokens) + Send + Sync + 'static) -> Self {
        self.on_token_refresh = Some(Arc::new(f));
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the setting (or the environment variable of a proxy): a
    /// URL that is not `http(s)://host...` or holds a query or a user name; an empty tenant,
    /// client id or token; a zero timeout; a proxy URL that is not `http(s)://`; a PEM bundle
    /// with no certificate.
    pub fn build(self) -> Result<Client, Error> {
        let (param, raw) = match (&self.cluster, &self.user_api_url) {
            (Some(c), _) => ("cluster", c.as_str()),
            (None, Some(u)) => ("user_api_url", u.as_str()),
            (None, None) => ("user_api_url", DEFAULT_USER_API_URL),
        };
        let url = check_url(param, raw)?;
        let base = if self.cluster.is_some() {
            format!("{}/api/user", url.trimmed)
        } else {
            url.trimmed.clone()
        };
        for (name, v) in [
            ("tenant", &self.tenant),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("access_token", &self.access_token),
            ("refresh_token", &self.refresh_token),
        ] {
            if let Some(v) = v {
                check_setting(name, v, name.ends_with("token"))?;
            }
        }
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::invalid("timeout", "must be more than zero"));
        }
        if connect_timeout.is_zero() {
            return Err(Error::invalid("connect_timeout", "must be more than zero"));
        }

        let proxy = match &self.proxy {
            Some(ProxySetting::Disabled) => None,
            Some(ProxySetting::Url(u)) => Some(proxy("proxy", u)?),
            None => match crate::env::proxy_for(&url.scheme, &url.host, |k| std::env::var_os(k))? {
                Some((var, u)) => Some(proxy(var, &u)?),
                None => None,
            },
        };
        let tls = crate::tls::config(&self.root_certificates)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(connect_timeout))
            .proxy(proxy)
            .tls_config(tls)
            // The transport follows redirects itself: ureq's `SameHost` ignores the port, so it
            // would hand the token to another service on the same host.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("squirro-user-api-rust/", env!("CARGO_PKG_VERSION")))
            .accept_encoding("identity")
            .build();
        // ureq resolves the host before looking in its pool, on every request, and with a
        // timeout set its default resolver does it on a new thread: a pooled connection must
        // not pay that (see `transport::PoolFriendlyResolver`).
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            crate::transport::PoolFriendlyResolver::default(),
        );
        let host_port = match url.port {
            Some(p) => format!("{}:{p}", url.host),
            None => url.host,
        };
        let transport = Transport::new(
            agent,
            self.retry.unwrap_or_default(),
            self.max_reply_bytes.unwrap_or(DEFAULT_MAX_REPLY_BYTES),
            timeout,
            host_port,
        );
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                version: self.version.unwrap_or_default(),
                client_id: self.client_id,
                client_secret: self.client_secret,
                transport,
                tokens: TokenState::new(
                    self.tenant,
                    self.access_token,
                    self.refresh_token,
                    self.on_token_refresh,
                ),
            }),
        })
    }
}

/// A checked base URL.
pub(crate) struct BaseUrl {
    /// The URL without surrounding blanks and trailing `/`.
    pub(crate) trimmed: String,
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
}

/// Checks that `raw` is `http(s)://host[:port][/path]`, with no query and no user info
/// (credentials in a URL end up in logs and `Debug` output).
pub(crate) fn check_url(param: &str, raw: &str) -> Result<BaseUrl, Error> {
    let trimmed = raw.trim().trim_end_matches('/');
    let shown = crate::redact::scrub_url_userinfo(raw);
    let uri: ureq::http::Uri = trimmed
        .parse()
        .map_err(|e| Error::invalid(param, format!("{shown:?} is not a URL: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("");
    if scheme != "http" && scheme != "https" {
        return Err(Error::invalid(
            param,
            format!("{shown:?} must start with http:// or https://"),
        ));
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    if authority.contains('@') {
        return Err(Error::invalid(
            param,
            format!("{shown:?} must not hold a user name or password"),
        ));
    }
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Error::invalid(param, format!("{shown:?} has no host")))?;
    if uri.query().is_some() {
        return Err(Error::invalid(
            param,
            format!("{shown:?} must not have a query"),
        ));
    }
    Ok(BaseUrl {
        trimmed: trimmed.to_string(),
        scheme: scheme.to_string(),
        host: host.to_string(),
        port: uri.port_u16(),
    })
}

/// Checks a text setting: not blank, and for a token no spaces or control characters.
pub(crate) fn check_setting(param: &str, value: &str, token: bool) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(param, "must not be empty"));
    }
    if token && value.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::invalid(
            param,
            "must not contain spaces or control characters",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(param, "must not contain control characters"));
    }
    Ok(())
}

/// An HTTP(S) proxy; `param` names the setting or environment variable it came from.
fn proxy(param: &str, url: &str) -> Result<ureq::Proxy, Error> {
    let shown = crate::redact::scrub_url_userinfo(url);
    let proxy =
        ureq::Proxy::new(url).map_err(|e| Error::invalid(param, format!("{shown}: {e}")))?;
    if !matches!(
        proxy.protocol(),
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
    ) {
        return Err(Error::invalid(
            param,
            format!("{shown}: only http:// and https:// proxies are supported"),
        ));
    }
    Ok(proxy)
}
