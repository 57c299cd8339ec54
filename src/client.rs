//! The client and its builder: configuration, and `execute`, the one place a [`Request`] is
//! sent (token checks, refresh on 401, status mapping).

use crate::auth::{Grant, TokenState, Tokens};
use crate::request::{Auth, Request};
use crate::transport::{DEFAULT_MAX_REPLY_BYTES, Outgoing, Reply, RetryPolicy, Transport};
use crate::{ApiVersion, Error};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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
            .field("client_secret", &self.inner.client_secret.as_ref().map(|_| crate::redact::Redacted))
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
        self.inner.tokens.snapshot().tenant
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
        format!("{}{}", self.inner.base, request.path_and_query())
    }

    /// The request as it would go on the wire, written like HTTP: the request line, the headers
    /// this crate sets (in a fixed order, the token shown as `<redacted>`), a blank line and
    /// the body. For reviews, logs and dry runs.
    pub fn render(&self, request: &Request) -> String {
        let bearer = match request.auth {
            Auth::None => false,
            Auth::Required | Auth::Optional => {
                let t = self.inner.tokens.snapshot();
                t.access_token.is_some() || (request.auth == Auth::Required && t.refresh_token.is_some())
            }
        };
        let url = self.url(request);
        let (host, path) = split_url(&url);
        let mut s = format!("{} {}\nHost: {}\nAccept: application/json\n", request.method, path, host);
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
    /// retry policy, refreshes the tokens once on a 401 and repeats the call, and maps a status
    /// the endpoint does not expect to an [`Error`].
    ///
    /// # Errors
    ///
    /// [`Error::Authentication`] without a token; the status classes of [`Error`] for an
    /// unexpected status; [`Error::Connection`], [`Error::RetriesExhausted`] and
    /// [`Error::Transport`] from the transport.
    pub fn execute(&self, request: &Request) -> Result<Reply, Error> {
        let inner = &*self.inner;
        if request.auth == Auth::Required {
            let t = inner.tokens.snapshot();
            if t.access_token.is_none() && t.refresh_token.is_none() {
                return Err(Error::Authentication {
                    status: None,
                    message: Some("missing access and refresh token: authenticate first".into()),
                });
            }
            if t.tenant.is_none() {
                return Err(Error::invalid("tenant", "missing tenant: set it on the builder or authenticate first"));
            }
            if t.access_token.is_none() {
                // Spend no request on a certain 401.
                self.refresh_after(None)?;
            }
        }
        let url = self.url(request);
        let used = match request.auth {
            Auth::None => None,
            _ => inner.tokens.snapshot().access_token,
        };
        let reply = inner.transport.send(&Outgoing { url: &url, request, bearer: used.as_deref() })?;
        let reply = if reply.status == 401 && request.auth == Auth::Required && self.refresh_after(used.as_deref()).is_ok() {
            let fresh = inner.tokens.snapshot().access_token;
            inner.transport.send(&Outgoing { url: &url, request, bearer: fresh.as_deref() })?
        } else {
            reply
        };
        if request.expected.contains(&reply.status) {
            Ok(reply)
        } else {
            Err(Error::from_status(reply.status, &reply.body))
        }
    }

    /// Refreshes the tokens after `used` was refused (or was missing). Clones racing here
    /// refresh once: the second finds a new token already and returns.
    fn refresh_after(&self, used: Option<&str>) -> Result<(), Error> {
        let tokens = &self.inner.tokens;
        let _guard = tokens.refresh_lock();
        let now = tokens.snapshot();
        if now.access_token.is_some() && now.access_token.as_deref() != used {
            return Ok(());
        }
        let refresh = now.refresh_token.ok_or_else(|| Error::Authentication {
            status: None,
            message: Some("the access token was refused and there is no refresh token".into()),
        })?;
        // As Python: up to 3 token requests until a different access token comes back.
        for _ in 0..3 {
            self.authenticate(Grant::refresh_token(refresh.clone())).send()?;
            if tokens.snapshot().access_token.as_deref() != used {
                return Ok(());
            }
        }
        Err(Error::Authentication { status: None, message: Some("the token endpoint kept returning the refused access token".into()) })
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
            .field("proxy", &self.proxy.as_ref().map(|p| match p {
                ProxySetting::Disabled => "disabled".to_string(),
                ProxySetting::Url(u) => crate::redact::scrub_url_userinfo(u),
            }))
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
    /// The timeout of one attempt, connecting and reading included (default 55 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// The timeout of establishing a connection (default 10 s).
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
    /// Sends through this proxy (`http://host:port`, `socks5://...`) instead of the one from
    /// the environment.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(ProxySetting::Url(url.into()));
        self
    }
    /// Uses no proxy, whatever the environment says. (By default the proxy comes from
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` with `NO_PROXY` honoured, and never for a
    /// loopback host.)
    pub fn no_proxy(mut self) -> Self {
        self.proxy = Some(ProxySetting::Disabled);
        self
    }
    /// Trusts the certificates of this PEM bundle (an on-premise cluster's CA) as the roots,
    /// instead of the built-in Mozilla roots; every certificate of the bundle counts, and the
    /// method can be called again to add more bundles. Certificate verification is always on.
    pub fn add_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }
    /// Called with the new tokens after each successful authentication or refresh, so they can
    /// be persisted.
    pub fn on_token_refresh(mut self, f: impl Fn(&Tokens) + Send + Sync + 'static) -> Self {
        self.on_token_refresh = Some(Arc::new(f));
        self
    }

    /// Checks the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the setting: a URL that is not `http(s)://host...`, an
    /// empty tenant, client id or token, a zero timeout, a bad proxy URL or PEM bundle.
    pub fn build(self) -> Result<Client, Error> {
        let (param, raw) = match (&self.cluster, &self.user_api_url) {
            (Some(c), _) => ("cluster", c.as_str()),
            (None, Some(u)) => ("user_api_url", u.as_str()),
            (None, None) => ("user_api_url", DEFAULT_USER_API_URL),
        };
        let trimmed = raw.trim().trim_end_matches('/');
        let uri: ureq::http::Uri = trimmed
            .parse()
            .map_err(|e| Error::invalid(param, format!("{raw:?} is not a URL: {e}")))?;
        let scheme = uri.scheme_str().unwrap_or("");
        if scheme != "http" && scheme != "https" {
            return Err(Error::invalid(param, format!("{raw:?} must start with http:// or https://")));
        }
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| Error::invalid(param, format!("{raw:?} has no host")))?.to_string();
        if uri.query().is_some() {
            return Err(Error::invalid(param, format!("{raw:?} must not have a query")));
        }
        let base = if self.cluster.is_some() { format!("{trimmed}/api/user") } else { trimmed.to_string() };
        for (name, v) in [
            ("tenant", &self.tenant),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("access_token", &self.access_token),
            ("refresh_token", &self.refresh_token),
        ] {
            if let Some(v) = v {
                if v.trim().is_empty() {
                    return Err(Error::invalid(name, "must not be empty"));
                }
                if name.ends_with("token") && v.chars().any(|c| c.is_control() || c == ' ') {
                    return Err(Error::invalid(name, "must not contain spaces or control characters"));
                }
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

        let loopback = is_loopback(&host);
        let proxy = match &self.proxy {
            Some(ProxySetting::Disabled) => None,
            Some(ProxySetting::Url(u)) => Some(ureq::Proxy::new(u).map_err(|e| Error::invalid("proxy", format!("{}: {e}", crate::redact::scrub_url_userinfo(u))))?),
            None if loopback => None,
            None => ureq::Proxy::try_from_env(),
        };
        let mut tls = ureq::tls::TlsConfig::builder();
        if !self.root_certificates.is_empty() {
            let mut roots = Vec::new();
            for pem in &self.root_certificates {
                let mut n = 0;
                for item in ureq::tls::parse_pem(pem) {
                    match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => {
                            roots.push(c.to_owned());
                            n += 1;
                        }
                        Ok(_) => {}
                        Err(e) => return Err(Error::invalid("root_certificates", format!("bad PEM: {e}"))),
                    }
                }
                if n == 0 {
                    return Err(Error::invalid("root_certificates", "the PEM bundle holds no certificate"));
                }
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(connect_timeout))
            .proxy(proxy)
            .tls_config(tls.build())
            .max_redirects(5)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .user_agent(concat!("squirro-user-api-rust/", env!("CARGO_PKG_VERSION")))
            .accept_encoding("identity")
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let host_port = match uri.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let transport = Transport::new(
            agent,
            self.retry.unwrap_or_default(),
            self.max_reply_bytes.unwrap_or(DEFAULT_MAX_REPLY_BYTES),
            host_port,
        );
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                version: self.version.unwrap_or_default(),
                client_id: self.client_id,
                client_secret: self.client_secret,
                transport,
                tokens: TokenState::new(self.tenant, self.access_token, self.refresh_token, self.on_token_refresh),
            }),
        })
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
