//! A faithful, stateful fake of the Squirro user API, for tests that need no real cluster.
//!
//! [`FakeServer::start`] serves the user API over real HTTP/1.1 (with keep-alive) on
//! `127.0.0.1` and an ephemeral port, from a background thread, until the handle is dropped.
//! Point a client at [`FakeServer::url`] as its cluster (the user API lives under
//! `{url}/api/user`, which [`FakeServer::user_api_url`] gives) and authenticate with the seeded
//! [`FakeServer::credentials`]: an admin with a password and a refresh token, in tenant `acme`.
//! Both this crate's client and the official Python client work against it.
//!
//! The server keeps its state in memory: tenants and workspaces, users with custom data and
//! passwords, groups, project members with role-derived permissions, grants and sessions,
//! external authentications. It answers like the real one: the reply shapes and status codes of
//! the user API, `{"error": "..."}` bodies with 400 for malformed input, 401 for a missing,
//! unknown or expired access token, 403 for work a non-admin may not do, 404 for unknown ids and
//! routes, 405 for wrong methods, 409 for a duplicate email or group name.
//!
//! Tests can also make it fail on purpose ([`FakeServer::inject`] a [`Fault`]: a status, a
//! delay, a dropped connection), let access tokens expire quickly
//! ([`FakeServerBuilder::access_token_ttl`]), simulate a network round trip
//! ([`FakeServerBuilder::latency`]) and read what clients sent ([`FakeServer::journal`], the
//! last 10,000 requests).
//!
//! As a server it bounds what a client can hold: a request head must arrive within
//! [`header_read_timeout`](FakeServerBuilder::header_read_timeout), a silent connection is
//! closed after [`idle_timeout`](FakeServerBuilder::idle_timeout), a body over 1 MiB is a 413
//! and a malformed one a 400. Its state is indexed (users by id and email, groups by id and
//! name, memberships both ways), so a tenant of 100,000 users stays fast.
//!
//! # Example
//!
//! ```
//! use squirro_user_api_fake::{Fault, FakeServer};
//! use squirro_user_api::{Client, Error};
//!
//! let server = FakeServer::start();
//! let creds = server.credentials();
//! let client = Client::builder()
//!     .cluster(server.url())
//!     .refresh_token(&creds.refresh_token)
//!     .build()?;
//!
//! // The code under test: add a user to a new group.
//! let jane = client.add_user().email("jane@example.com").send()?;
//! let team = client.create_group("Team East").send()?;
//! client.add_group_member(&team.id, &jane.id).send()?;
//! assert_eq!(client.get_group(&team.id).send()?.members[0].id, jane.id);
//!
//! // The next matching request fails as a cluster under load would: the client retries it.
//! server.inject(Fault::status(503).matching("GET", "/groups/"));
//! assert_eq!(client.get_group(&team.id).send()?.name.as_deref(), Some("Team East"));
//!
//! // The journal shows what went over the wire, all of it on one keep-alive connection.
//! let journal = server.journal();
//! assert_eq!(journal[0].path, "/api/user/oauth2/token");
//! assert!(journal.iter().all(|entry| entry.connection == journal[0].connection));
//! # Ok::<(), Error>(())
//! ```
//!
//! # What the fake decides where the real server is not documented
//!
//! - Projects are not created through the user API: they are declared when the server is
//!   built ([`FakeServerBuilder::project`]), each in a tenant. Every server starts with two in
//!   tenant `acme` ([`SEEDED_PROJECTS`]; [`FakeServer::projects`] lists them). Any other
//!   project id, or one of another tenant, is a 404 for `get_project_members`,
//!   `add_project_member`, `update_project_member`, `delete_project_member` and
//!   `update_group(projects=...)`.
//! - The cluster has workspaces unless built with
//!   [`workspaces(false)`](FakeServerBuilder::workspaces). With workspaces, `signup` creates
//!   the first user of the cluster (an admin of `acme`) only while `acme` has no user: with the
//!   seeded admin there it always fails, `403 {"error": "signup is closed: ..."}` (a valid
//!   request the cluster refuses: neither a 400 nor a 409, as no input is wrong and nothing
//!   conflicts with the email). Without workspaces, each signup creates a tenant named after
//!   the email's domain, and the `/v2/workspaces` routes answer 404.
//! - A login (password or `ext_id` grant) creates a grant of type `user`; sessions are grants, so
//!   `delete_session` and `delete_grant` revoke the same thing, with its access tokens.
//! - Passwords must have at least 8 characters (the password policy route says so).
//! - Only the user themselves may change their password; a wrong current password is a 403.
//! - `create_workspace` is for admins of their home tenant; the creator becomes the workspace
//!   admin. Unknown emails given to `add_workspace_users` become users who belong to workspaces
//!   only.
//! - The MS Exchange token lookup finds users by their external authentication with service
//!   `msexchange`.

mod access;
mod authentications;
mod clock;
mod faults;
mod grants;
mod groups;
mod ids;
mod input;
mod journal;
mod listener;
mod ordered;
mod projects;
mod reply;
mod routes;
mod service;
mod state;
mod token;
mod users;
mod workspaces;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use faults::Fault;
pub use journal::JournalEntry;

use faults::Faults;
use journal::Journal;
use listener::Timeouts;
use service::Shared;
use state::State;

/// How many requests the journal keeps by default (the last ones).
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

/// The default [`FakeServerBuilder::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default [`FakeServerBuilder::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The credentials the server was seeded with.
///
/// `Debug` shows the ids and the email but redacts the password, the client secret and the
/// refresh token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeCredentials {
    /// The tenant of the admin (`acme`).
    pub tenant: String,
    /// The id of the admin user.
    pub admin_user_id: String,
    /// The admin's email, which is also the username for a password login.
    pub admin_email: String,
    /// The admin's password.
    pub admin_password: String,
    /// A refresh token of the admin (a grant of type `user`), valid until the grant is deleted.
    pub refresh_token: String,
    /// The OAuth client id the server knows. Clients may also send no client credentials.
    pub client_id: String,
    /// The secret of that client.
    pub client_secret: String,
}

impl fmt::Debug for FakeCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeCredentials")
            .field("tenant", &self.tenant)
            .field("admin_user_id", &self.admin_user_id)
            .field("admin_email", &self.admin_email)
            .field("admin_password", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// A project the server knows (projects are not created through the user API: they are
/// declared with [`FakeServerBuilder::project`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeProject {
    /// The tenant (or workspace domain) the project belongs to.
    pub tenant: String,
    /// The project id, as used in `/projects/{project_id}/members`.
    pub id: String,
    /// Its name (for people: the user API does not show it).
    pub name: String,
}

impl FakeProject {
    fn new(tenant: &str, id: &str, name: &str) -> FakeProject {
        FakeProject {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// The projects every server starts with, in tenant `acme`: `(id, name)`.
pub const SEEDED_PROJECTS: [(&str, &str); 2] = [
    ("2sic33jZTi-ifflvQAVcfw", "Sales"),
    ("hQ4bVtq7Sxe1pN0fG3mKzA", "Support"),
];

/// The seeded tenant (see [`FakeCredentials::tenant`]).
const SEEDED_TENANT: &str = "acme";

/// Options for a [`FakeServer`], from [`FakeServer::builder`].
///
/// ```
/// use std::time::Duration;
/// use squirro_user_api_fake::FakeServer;
///
/// let server = FakeServer::builder()
///     .access_token_ttl(Duration::from_millis(200))
///     .journal_capacity(100) // the last 100 requests
///     .header_read_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(10))
///     .latency(Duration::from_millis(5)) // as a remote cluster
///     .workspaces(false) // legacy: signup creates a tenant
///     .project("p-reports", "Reports") // besides the two seeded projects of acme
///     .start()?;
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(server.projects().len(), 3);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FakeServerBuilder {
    addr: SocketAddr,
    access_token_ttl: Duration,
    journal_capacity: usize,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    workspaces: bool,
    projects: Vec<FakeProject>,
    latency: Duration,
}

impl Default for FakeServerBuilder {
    fn default() -> FakeServerBuilder {
        FakeServerBuilder {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            access_token_ttl: Duration::from_secs(3600),
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            workspaces: true,
            latency: Duration::ZERO,
            projects: SEEDED_PROJECTS
                .iter()
                .map(|(id, name)| FakeProject::new(SEEDED_TENANT, id, name))
                .collect(),
        }
    }
}

impl FakeServerBuilder {
    /// The address to listen on; default `127.0.0.1:0` (an ephemeral port).
    pub fn addr(mut self, addr: SocketAddr) -> FakeServerBuilder {
        self.addr = addr;
        self
    }

    /// How long an access token is valid; default one hour. A request with an expired token is
    /// answered 401, so clients must refresh. Refresh tokens do not expire.
    pub fn access_token_ttl(mut self, ttl: Duration) -> FakeServerBuilder {
        self.access_token_ttl = ttl;
        self
    }

    /// Whether to keep the [journal](FakeServer::journal) of requests; default `true`, with
    /// the last [`DEFAULT_JOURNAL_CAPACITY`] requests. `journal(false)` is
    /// `journal_capacity(0)`; `journal(true)` restores the default capacity.
    pub fn journal(mut self, enabled: bool) -> FakeServerBuilder {
        self.journal_capacity = if enabled { DEFAULT_JOURNAL_CAPACITY } else { 0 };
        self
    }

    /// How many requests the [journal](FakeServer::journal) keeps: the last `capacity` ones;
    /// default [`DEFAULT_JOURNAL_CAPACITY`], `0` keeps none. When it is full, each new request
    /// pushes out the oldest one ([`FakeServer::journal_dropped`] counts them), so memory stays
    /// bounded however long the server runs: about 1 KiB per entry plus the request body (at
    /// most 1 MiB each).
    pub fn journal_capacity(mut self, capacity: usize) -> FakeServerBuilder {
        self.journal_capacity = capacity;
        self
    }

    /// How long a client may take to send the head of a request (request line and headers),
    /// from its first byte; default 30 s. A connection that has not sent a whole head by then
    /// is closed without a reply. [`Duration::MAX`] means no limit; zero is refused by
    /// [`start`](FakeServerBuilder::start).
    pub fn header_read_timeout(mut self, timeout: Duration) -> FakeServerBuilder {
        self.header_read_timeout = timeout;
        self
    }

    /// How long the server waits for a silent client; default 60 s. A keep-alive connection
    /// with no request for that long is closed; so is one that stops sending in the middle of a
    /// request head; a request body that stalls for that long is answered
    /// `408 {"error": ...}` and its connection closed. The time a request spends in the
    /// server (a [delay](Fault::delay), the [latency](FakeServerBuilder::latency)) does not
    /// count. [`Duration::MAX`] means no limit; zero is refused by
    /// [`start`](FakeServerBuilder::start).
    pub fn idle_timeout(mut self, timeout: Duration) -> FakeServerBuilder {
        self.idle_timeout = timeout;
        self
    }

    /// Whether the cluster has workspaces; default `true`. It decides what `signup` does (see
    /// the seed documentation of `UserApiMixin.signup`):
    ///
    /// - with workspaces (`/v2/workspaces` served): signup creates the first user of the
    ///   cluster, an admin of the global tenant (`acme`), but only while that tenant has no
    ///   user. As the server is seeded with an admin there, signup always fails: `403
    ///   {"error": "signup is closed: ..."}` (the request is valid; the cluster refuses it).
    /// - without (`false`, the legacy multi-tenancy): every signup creates a new tenant named
    ///   after the email's domain (`founder@newco.example` gets `newco`, then `newco-2`, ...)
    ///   with the new user as its admin; `/v2/workspaces` routes answer 404.
    pub fn workspaces(mut self, enabled: bool) -> FakeServerBuilder {
        self.workspaces = enabled;
        self
    }

    /// Declares a project of the seeded tenant `acme`, besides the seeded ones
    /// ([`SEEDED_PROJECTS`]: `2sic33jZTi-ifflvQAVcfw` "Sales" and `hQ4bVtq7Sxe1pN0fG3mKzA`
    /// "Support"). An id declared again replaces the earlier declaration. Project member
    /// routes, `update_group(projects=...)` and `include_projects` know only declared
    /// projects: any other project id is a 404. [`FakeServer::projects`] lists them.
    pub fn project(self, id: &str, name: &str) -> FakeServerBuilder {
        self.project_in(SEEDED_TENANT, id, name)
    }

    /// Declares a project of another tenant, e.g. of a workspace the test will create (its
    /// domain is its title as a slug: "Team Space" becomes `team-space`); the project is
    /// reachable once the tenant exists.
    pub fn project_in(mut self, tenant: &str, id: &str, name: &str) -> FakeServerBuilder {
        self.projects.retain(|p| p.id != id);
        self.projects.push(FakeProject::new(tenant, id, name));
        self
    }

    /// A simulated network latency: every reply is held back this long after the request was
    /// read and handled; default none. Only that request waits (the server sleeps on its
    /// timer, holding no lock), so concurrent connections overlap their waits as against a
    /// remote cluster: 8 connections at 5 ms each get about 8 times the calls per second of
    /// one. It adds to any [delay fault](Fault::delay) and does not count toward the
    /// [idle timeout](FakeServerBuilder::idle_timeout).
    pub fn latency(mut self, latency: Duration) -> FakeServerBuilder {
        self.latency = latency;
        self
    }

    /// Binds the address and starts serving from a background thread.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero timeout or a project with an empty id or tenant; otherwise when
    /// the address
    /// cannot be bound (e.g. it is in use) or the thread or its runtime cannot be started.
    pub fn start(self) -> io::Result<FakeServer> {
        for (name, timeout) in [
            ("header_read_timeout", self.header_read_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if timeout.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name}: must be more than zero (Duration::MAX for no limit)"),
                ));
            }
        }
        if let Some(project) = self
            .projects
            .iter()
            .find(|p| p.id.is_empty() || p.tenant.is_empty())
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "project: the id and the tenant must not be empty (id {:?}, tenant {:?})",
                    project.id, project.tenant
                ),
            ));
        }
        let std_listener = std::net::TcpListener::bind(self.addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };

        let (mut state, seed) = State::seeded(self.access_token_ttl);
        state.workspaces = self.workspaces;
        for project in &self.projects {
            state.declare_project(&project.tenant, &project.id);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            faults: Faults::default(),
            journal: Journal::new(self.journal_capacity),
            idle_timeout: finite(self.idle_timeout),
            latency: self.latency,
        });
        let timeouts = Timeouts {
            header_read: finite(self.header_read_timeout),
            idle: finite(self.idle_timeout),
        };
        let (stop, stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name(format!("squirro-fake-server-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || runtime.block_on(listener::serve(listener, shared, timeouts, stopped))
            })?;

        let url = format!("http://{addr}");
        Ok(FakeServer {
            user_api_url: format!("{url}/api/user"),
            url,
            addr,
            credentials: FakeCredentials {
                tenant: seed.tenant,
                admin_user_id: seed.admin_user_id,
                admin_email: seed.admin_email,
                admin_password: seed.admin_password,
                refresh_token: seed.refresh_token,
                client_id: seed.client_id,
                client_secret: seed.client_secret,
            },
            projects: self.projects,
            workspaces: self.workspaces,
            shared,
            stop,
            thread: Some(thread),
        })
    }
}

/// `None` for [`Duration::MAX`], the "no limit" of the builder.
fn finite(duration: Duration) -> Option<Duration> {
    (duration != Duration::MAX).then_some(duration)
}

/// A running fake user API; it stops when dropped or [shut down](FakeServer::shutdown).
///
/// See the [module documentation](self) for an example.
pub struct FakeServer {
    url: String,
    user_api_url: String,
    addr: SocketAddr,
    credentials: FakeCredentials,
    projects: Vec<FakeProject>,
    workspaces: bool,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Starts a server on `127.0.0.1` and an ephemeral port with the default options.
    ///
    /// # Panics
    ///
    /// When it cannot bind a loopback port or start its thread; use
    /// [`FakeServer::builder`]`().start()` to get the error instead.
    pub fn start() -> FakeServer {
        match FakeServer::builder().start() {
            Ok(server) => server,
            Err(e) => panic!("cannot start the fake Squirro user API: {e}"),
        }
    }

    /// Options for a server: address, access token lifetime, journal, timeouts, mode, projects,
    /// latency.
    pub fn builder() -> FakeServerBuilder {
        FakeServerBuilder::default()
    }

    /// The cluster base URL, e.g. `http://127.0.0.1:40123` (no trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The user API base URL: [`url`](FakeServer::url) followed by `/api/user`.
    pub fn user_api_url(&self) -> &str {
        &self.user_api_url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The seeded tenant, admin and OAuth client.
    pub fn credentials(&self) -> &FakeCredentials {
        &self.credentials
    }

    /// The projects the server knows: the [seeded ones](SEEDED_PROJECTS) and those declared
    /// with [`FakeServerBuilder::project`], in that order.
    ///
    /// ```
    /// use squirro_user_api_fake::FakeServer;
    ///
    /// let server = FakeServer::start();
    /// let sales = &server.projects()[0];
    /// assert_eq!((sales.tenant.as_str(), sales.id.as_str()), ("acme", "2sic33jZTi-ifflvQAVcfw"));
    /// ```
    pub fn projects(&self) -> &[FakeProject] {
        &self.projects
    }

    /// Whether the cluster has workspaces (see [`FakeServerBuilder::workspaces`]).
    pub fn has_workspaces(&self) -> bool {
        self.workspaces
    }

    /// Makes the next matching requests fail as the [`Fault`] says.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.push(fault);
    }

    /// Removes the injected faults not yet used up.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// The requests received so far, in the order they were answered: the last
    /// [`journal_capacity`](FakeServerBuilder::journal_capacity) of them (10,000 by default;
    /// older ones were pushed out, see [`journal_dropped`](FakeServer::journal_dropped)). Empty
    /// when the journal is [disabled](FakeServerBuilder::journal).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.entries()
    }

    /// How many requests were pushed out of the full journal by newer ones since it was last
    /// [cleared](FakeServer::clear_journal) (0 while it has room).
    pub fn journal_dropped(&self) -> u64 {
        self.shared.journal.dropped()
    }

    /// The capacity of the journal (0 when it is disabled).
    pub fn journal_capacity(&self) -> usize {
        self.shared.journal.capacity()
    }

    /// Forgets the requests received so far (and resets [`journal_dropped`](FakeServer::journal_dropped)).
    pub fn clear_journal(&self) {
        self.shared.journal.clear();
    }

    /// Makes every access token issued so far expired, as if their lifetime had passed: the
    /// next request with one is answered 401 (refresh tokens keep working).
    pub fn expire_access_tokens(&self) {
        self.shared.state().expire_access_tokens();
    }

    /// Stops the server: no new connections, requests in flight get a short grace period
    /// (idle keep-alive connections are closed at once), then the thread ends. Dropping the
    /// server does the same.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // Fails only when the server thread is already gone.
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            // A panic in the server thread has already been reported by it.
            let _ = thread.join();
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
