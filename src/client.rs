//! The client and its builder: configuration, and `execute`, the one way a [`Request`] goes
//! to the network: the session is consulted at its top (`pre`), the transport sends (`exec`),
//! and the status is mapped to the reply or an [`Error`] (`post`).

use crate::request::{Auth, Context, Request};
use crate::session::{Session, State, TokenCallback};
use crate::transport::{DEFAULT_MAX_REPLY_BYTES, Outgoing, Reply, RetryPolicy, Transport};
use crate::{ApiVersion, CallOptions, Error, Tokens};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The default user API URL when neither a cluster nor a URL is given (as in Python).
pub const DEFAULT_USER_API_URL: &str = "https://user-api.squirro.com";
/// The default timeout of one attempt (as in Python).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(55);
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many idle connections to a cluster the client keeps by default, for reuse by the next
/// calls: enough for up to 16 threads sharing one client to open no more connections than
/// there are threads (with 8, 16 threads opened 88 in the benchmark). An idle connection costs
/// about 34 KiB with the default buffers, and ureq closes one idle for 15 s.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 16;
/// The default size of each connection's input and output buffer. The user API's requests
/// and reply heads are small and bodies are streamed through the buffer, so a lean buffer
/// costs nothing in speed and keeps an idle pooled connection small.
pub const DEFAULT_IO_BUFFER_BYTES: usize = 16 * 1024;
/// The longest timeout honoured: a longer one (up to `Duration::MAX`) is taken as this.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// A blocking client of the Squirro user API.
///
/// `Client` is cheap to clone: clones share one connection pool and one session, so a
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
/// token; a 401 refreshes the tokens (once for all clones, which share its outcome, failure
/// included) and repeats the call once; failures are retried by the [`RetryPolicy`], within
/// its deadline. `Debug` never shows the tokens or the client secret.
///
/// Every HTTP exchange is logged through the `log` facade at `debug`, target
/// `squirro_user_api::transport`: verb, path (never the query, where some methods put the
/// client secret), status, attempt and time taken. ureq's own `debug` lines print request
/// URLs, query included, and at `trace` it logs more: keep the `ureq` target at `info` or
/// below where logs are kept.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) base: String,
    pub(crate) version: ApiVersion,
    pub(crate) transport: Transport,
    pub(crate) session: Session,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.session.snapshot();
        f.debug_struct("Client")
            .field("user_api_url", &self.inner.base)
            .field("tenant", &state.tenant)
            .field("version", &self.inner.version)
            .field("client_id", &state.client_id)
            .field(
                "client_secret",
                &state
                    .client_secret
                    .as_ref()
                    .map(|_| crate::redact::Redacted),
            )
            .field("tokens", &state)
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
        self.inner.session.snapshot().tenant.clone()
    }

    /// The API version used in paths (default `v0`).
    pub fn version(&self) -> ApiVersion {
        self.inner.version
    }

    /// What building a request needs, as the session is now.
    pub(crate) fn context(&self) -> Context {
        Context::new(self.inner.session.snapshot(), self.inner.version)
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
    /// the body. For reviews and dry runs. Secrets are redacted: the values of secret-named
    /// query and body fields (`client_secret`, `password`, ...) and every secret the client
    /// holds; [`render_with_secrets`](Self::render_with_secrets) shows them.
    pub fn render(&self, request: &Request) -> String {
        let state = self.inner.session.snapshot();
        let scrubber = state
            .scrubber()
            .with(request.secret_values().iter().map(String::as_str));
        scrubber
            .scrub(&self.render_as_sent(request, &state))
            .into_owned()
    }

    /// [`render`](Self::render) with the query and body exactly as sent, secrets included
    /// (the bearer token stays redacted). For tests that pin the wire.
    pub fn render_with_secrets(&self, request: &Request) -> String {
        self.render_as_sent(request, &self.inner.session.snapshot())
    }

    fn render_as_sent(&self, request: &Request, state: &State) -> String {
        let bearer = match request.auth {
            Auth::None => false,
            Auth::Required | Auth::Optional => {
                state.access_token.is_some()
                    || (request.auth == Auth::Required && state.refresh_token.is_some())
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

    /// Sends a request: with only a refresh token held, gets an access token first (once for
    /// all clones); sends with the retry policy; refreshes the tokens once on a 401 and repeats
    /// the call once; and maps a status the endpoint does not expect to an [`Error`]. The retry
    /// policy's [`deadline`](RetryPolicy::deadline) bounds all of it. Every method's `.send()`
    /// goes this way.
    ///
    /// # Errors
    ///
    /// [`Error::Authentication`] without a token; the status classes of [`Error`] for an
    /// unexpected status (a 401 that survived the refresh is [`Error::Authorization`], with
    /// the refresh's failure as its source when refreshing failed);
    /// [`Error::Connection`], [`Error::RetriesExhausted`] and [`Error::InvalidReply`] from the
    /// transport.
    pub fn execute(&self, request: &Request) -> Result<Reply, Error> {
        self.execute_with_options(request, &CallOptions::new())
    }

    /// [`execute`](Self::execute) with this call's overrides of the client's settings (a
    /// timeout, a retry policy, a reply size limit, extra headers): what a builder's
    /// `.customize(options).send_with_reply()` does, for a request built beforehand.
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute); [`Error::InvalidInput`] for invalid options.
    pub fn execute_with_options(
        &self,
        request: &Request,
        options: &CallOptions,
    ) -> Result<Reply, Error> {
        self.call(request.auth, options, |_| Ok(Cow::Borrowed(request)))
    }

    /// [`execute`](Self::execute) for a request built from the session as it is once the call
    /// has its credentials (so a client holding only a refresh token learns its tenant first).
    pub(crate) fn execute_with(
        &self,
        auth: Auth,
        options: &CallOptions,
        build: impl FnOnce(&Context) -> Result<Request, Error>,
    ) -> Result<Reply, Error> {
        self.call(auth, options, |ctx| build(ctx).map(Cow::Owned))
    }

    fn call<'r>(
        &self,
        auth: Auth,
        options: &CallOptions,
        build: impl FnOnce(&Context) -> Result<Cow<'r, Request>, Error>,
    ) -> Result<Reply, Error> {
        let inner = &*self.inner;
        let started = Instant::now();
        options.check()?;
        let deadline = options
            .retry
            .as_ref()
            .unwrap_or(&inner.transport.retry)
            .deadline_from(started);
        // pre: the session, once.
        let mut state = inner.session.snapshot();
        if auth == Auth::Required && state.access_token.is_none() {
            // Spend no request on a certain 401.
            state = inner
                .session
                .refresh(None, started, |rt| self.refresh_grant(rt, deadline))?;
        }
        let request = build(&Context::new(Arc::clone(&state), inner.version))?;
        let bearer = match auth {
            Auth::None => None,
            Auth::Required | Auth::Optional => state.access_token.as_deref(),
        };
        // exec.
        let mut reply = self.exchange(&request, bearer.and(Some(&*state)), deadline, options)?;
        // As Python, an unauthenticated call that carried a token (signup) refreshes too.
        let may_refresh = match auth {
            Auth::Required => true,
            Auth::Optional => state.refresh_token.is_some(),
            Auth::None => false,
        };
        let mut refresh_error = None;
        if reply.status == 401 && may_refresh {
            // One refresh and one repeat; a second 401 is reported, as is the first when the
            // refresh fails (with the reason as its source).
            match inner
                .session
                .refresh(bearer, started, |rt| self.refresh_grant(rt, deadline))
            {
                Ok(fresh) => {
                    reply = self.exchange(&request, Some(&*fresh), deadline, options)?;
                    state = fresh;
                }
                Err(e) => refresh_error = Some(Box::new(e)),
            }
        }
        // post.
        self.check(reply, &request, &state, refresh_error)
    }

    /// Sends a request that carries no session (the token request) and maps its status.
    pub(crate) fn send_checked(
        &self,
        request: &Request,
        deadline: Option<Instant>,
    ) -> Result<Reply, Error> {
        let reply = self.exchange(request, None, deadline, &CallOptions::new())?;
        self.check(reply, request, &self.inner.session.snapshot(), None)
    }

    /// The one place a request reaches the transport; with the access token of `session`
    /// when given (and it holds one).
    fn exchange(
        &self,
        request: &Request,
        session: Option<&State>,
        deadline: Option<Instant>,
        options: &CallOptions,
    ) -> Result<Reply, Error> {
        let authorization = match session {
            Some(State {
                access_token: Some(_),
                authorization,
                ..
            }) => Some(authorization.as_ref().ok_or_else(|| {
                Error::invalid(
                    "access_token",
                    "holds a character an HTTP header cannot carry (a control character, \
                     say), so it cannot be sent",
                )
            })?),
            _ => None,
        };
        self.inner.transport.send(Outgoing {
            url: self.url(request),
            request,
            authorization,
            deadline,
            options,
        })
    }

    /// The reply when its status is one the endpoint expects, else the matching [`Error`],
    /// with every secret of the session and of the request scrubbed from it.
    fn check(
        &self,
        mut reply: Reply,
        request: &Request,
        state: &Arc<State>,
        refresh_error: Option<Box<Error>>,
    ) -> Result<Reply, Error> {
        let secrets = request.secret_values();
        if request.expected.contains(&reply.status) {
            // Kept so that a decoding error can scrub them too; a reference count, and no
            // allocation for a request without secret fields.
            reply.secrets = Some((Arc::clone(state), secrets));
            return Ok(reply);
        }
        let scrubber = state.scrubber().with(secrets.iter().map(String::as_str));
        let mut e = if request.auth == Auth::None {
            Error::from_token_reply(&reply, &scrubber)
        } else {
            Error::from_reply(&reply, &scrubber)
        };
        if let Error::Authorization {
            refresh_error: slot,
            ..
        } = &mut e
        {
            *slot = refresh_error;
        }
        Err(e)
    }

    /// One refresh-token grant, for the session's refresh.
    fn refresh_grant(
        &self,
        refresh_token: &str,
        deadline: Option<Instant>,
    ) -> Result<crate::session::Granted, Error> {
        let request = self
            .authenticate(crate::Grant::refresh_token(refresh_token))
            .request()?;
        self.token_exchange(&request, deadline)
    }

    /// When a call started at `started` must end.
    pub(crate) fn deadline_from(&self, started: Instant) -> Option<Instant> {
        self.inner.transport.retry.deadline_from(started)
    }
}

fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

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
    max_idle_connections: Option<usize>,
    io_buffer_bytes: Option<usize>,
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
            .field("max_idle_connections", &self.max_idle_connections)
            .field("io_buffer_bytes", &self.io_buffer_bytes)
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
    /// [`Error::InvalidReply`], and no more than the limit is read.
    pub fn max_reply_bytes(mut self, n: u64) -> Self {
        self.max_reply_bytes = Some(n);
        self
    }
    /// How many idle connections to the cluster are kept for the next calls (default
    /// [`DEFAULT_MAX_IDLE_CONNECTIONS`]): set it to the number of threads that share the
    /// client, so none of them has to reconnect.
    pub fn max_idle_connections(mut self, n: usize) -> Self {
        self.max_idle_connections = Some(n);
        self
    }
    /// The size of each connection's input and output buffer (default
    /// [`DEFAULT_IO_BUFFER_BYTES`]; at least 4 KiB, which the longest reply head must fit).
    pub fn io_buffer_bytes(mut self, n: usize) -> Self {
        self.io_buffer_bytes = Some(n);
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
    /// the default roots of the TLS choice (Mozilla's unless a TLS feature is on), as
    /// `curl --cacert` and Python's `verify=` do: a cluster with a private CA is then trusted
    /// by that CA alone. Every certificate of the bundle counts, and further calls add more
    /// bundles. Certificate verification is always on.
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
        // A timeout longer than a year (`Duration::MAX` included) is taken as a year, so no
        // instant computed from it can overflow.
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT).min(MAX_TIMEOUT);
        let connect_timeout = self
            .connect_timeout
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
            .min(MAX_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::invalid("timeout", "must be more than zero"));
        }
        if connect_timeout.is_zero() {
            return Err(Error::invalid("connect_timeout", "must be more than zero"));
        }

        let idle = self
            .max_idle_connections
            .unwrap_or(DEFAULT_MAX_IDLE_CONNECTIONS);
        let buffer = self.io_buffer_bytes.unwrap_or(DEFAULT_IO_BUFFER_BYTES);
        if buffer < 4096 {
            return Err(Error::invalid("io_buffer_bytes", "must be at least 4096"));
        }
        let proxy_url = match &self.proxy {
            Some(ProxySetting::Disabled) => None,
            Some(ProxySetting::Url(u)) => Some(("proxy", u.clone())),
            None => crate::env::proxy_for(&url.scheme, &url.host, |k| std::env::var_os(k))?,
        };
        let proxy_password = proxy_url.as_ref().and_then(|(_, u)| userinfo_password(u));
        let proxy = match &proxy_url {
            Some((param, u)) => Some(proxy(param, u)?),
            None => None,
        };
        let tls = crate::tls::config(&self.root_certificates)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // No overall timeout here: the transport bounds each attempt itself
            // (`transport::steady`), for a fraction of what ureq's own bookkeeping costs.
            .timeout_connect(Some(connect_timeout))
            .proxy(proxy)
            .tls_config(tls)
            // The transport follows redirects itself: ureq's `SameHost` ignores the port, so it
            // would hand the token to another service on the same host.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("squirro-user-api-rust/", env!("CARGO_PKG_VERSION")))
            .accept_encoding("identity")
            .max_idle_connections_per_host(idle)
            .max_idle_connections(idle.max(10))
            .input_buffer_size(buffer)
            .output_buffer_size(buffer)
            .build();
        // ureq resolves the host before looking in its pool, on every request, and with a
        // timeout set its default resolver does it on a new thread: a pooled connection must
        // not pay that (see `transport::PoolFriendlyResolver`).
        // Nor must a pooled connection re-arm its socket timeouts on every call for a time
        // left that moved by microseconds (see `transport::SteadyConnector`).
        let agent = ureq::Agent::with_parts(
            config,
            crate::transport::SteadyConnector::default(),
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
            connect_timeout,
            host_port,
        );
        let mut state = State {
            refresh_token: self.refresh_token,
            tenant: self.tenant,
            info: None,
            client_id: self.client_id,
            client_secret: self.client_secret,
            other_secrets: proxy_password.into_iter().collect(),
            ..State::default()
        };
        state.set_access_token(self.access_token);
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                version: self.version.unwrap_or_default(),
                transport,
                session: Session::new(state, self.on_token_refresh),
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

/// Checks that `raw` is `http(s)://host[:port][/path]` and nothing else that could change
/// where calls go: no query, no fragment, no user info (credentials in a URL end up in logs
/// and `Debug` output), no blanks or control characters inside, and a path of plain segments
/// (no `.` or `..`, no backslash, no encoded `/`, `.` or `\\`), so every call goes to this
/// origin under this path.
pub(crate) fn check_url(param: &str, raw: &str) -> Result<BaseUrl, Error> {
    let trimmed = raw.trim().trim_end_matches('/');
    let shown = crate::redact::scrub_url_userinfo(raw);
    let refuse = |why: &str| Err(Error::invalid(param, format!("{shown:?} {why}")));
    if trimmed.contains('#') {
        return refuse("must not have a fragment (#...)");
    }
    if trimmed.contains('?') {
        return refuse("must not have a query");
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("must not contain blanks or control characters");
    }
    if trimmed.contains('\\') {
        return refuse("must not contain a backslash");
    }
    let after_scheme = trimmed.split_once("://").map_or("", |(_, r)| r);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    for segment in path.split('/').skip(1) {
        let lower = segment.to_ascii_lowercase();
        if segment == "." || segment == ".." || segment.is_empty() {
            return refuse("must have a path of plain segments (no empty, `.` or `..` segment)");
        }
        if ["%2f", "%2e", "%5c"].iter().any(|e| lower.contains(e)) {
            return refuse("must not encode `/`, `.` or `\\` in its path");
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%".contains(c);
        if !segment.chars().all(plain) {
            return refuse("has a character that must be percent-encoded in its path");
        }
    }
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

/// The password (or the user info, when it has no `:`) of a URL's `user:password@` part.
fn userinfo_password(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let secret = userinfo.split_once(':').map_or(userinfo, |(_, p)| p);
    (!secret.is_empty()).then(|| secret.to_string())
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
