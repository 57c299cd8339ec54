//! # squirro-user-api
//!
//! A blocking Rust SDK for the [Squirro](https://squirro.com) user API: users, passwords,
//! grants and sessions, external authentications, groups, project members and workspaces.
//! It puts on the wire what the official Python client (`SquirroClient` 3.17.3) puts there,
//! with typed replies, typed errors and safer defaults.
//!
//! ```no_run
//! use squirro_user_api::{Client, ProjectRole};
//! # fn main() -> Result<(), squirro_user_api::Error> {
//! let client = Client::builder()
//!     .cluster("https://squirro.example.com")
//!     .tenant("acme")
//!     .refresh_token("...")
//!     .build()?;
//! let group = client.create_group("Team East").send()?;
//! let user = client.add_user().email("jane@example.com").send()?;
//! client.add_group_member(&group.id, &user.id).send()?;
//! client
//!     .add_project_member("2sic33jZTi-ifflvQAVcfw", ProjectRole::Member)
//!     .group_id(&group.id)
//!     .send()?;
//! # Ok(()) }
//! ```
//!
//! Every method of the API is a method of [`Client`] named as in the Python client; it returns
//! a request builder: required parameters are positional, optional ones are setters, `.send()`
//! performs the call and returns the typed reply, and `.request()` returns the [`Request`] it
//! would send, which [`Client::render`] shows like HTTP for a dry run. The table of methods is
//! in the README and in [`OPERATIONS`].
//!
//! # Usage
//!
//! Build one [`Client`] and share it: it is `Clone + Send + Sync`, and clones share one
//! connection pool (keep-alive, [`ClientBuilder::max_idle_connections`]) and one session.
//! [`ClientBuilder::from_env`] reads `SQUIRRO_CLUSTER`, `SQUIRRO_TOKEN` (a refresh token), and
//! optionally `SQUIRRO_TENANT`, `SQUIRRO_CLIENT_ID` and `SQUIRRO_CLIENT_SECRET`;
//! [`ClientBuilder::from_profile`] reads a named profile of `~/.config/squirro/config.toml`
//! (or the Python tools' `~/.squirrorc`), with explicit setters over `SQUIRRO_*` variables
//! over the profile.
//!
//! A refresh token alone is enough: the first call gets an access token with it (and adopts
//! the token's tenant when none is set). A 401 refreshes the tokens once, for all clones
//! (threads that meet the same expired token share one refresh and its outcome, failure
//! included), and repeats the call once. [`ClientBuilder::on_token_refresh`] is called with the new
//! [`Tokens`] so they can be persisted; [`Client::authenticate`] signs in with any [`Grant`]
//! (refresh token, access token, password, external id).
//!
//! Replies are typed ([`models`]); every model keeps the fields it does not name in `extra`,
//! and ids must be present (a reply without one is an [`Error::Decode`] naming it). Any call
//! can override the client's settings with `.customize(`[`CallOptions`]`)` (a timeout, a
//! retry policy, a reply size limit, extra headers), and `.send_with_reply()` returns the
//! [`Reply`] (status, headers) beside the value.
//! Roles, grant types, API versions and dates are types ([`ServerRole`], [`ProjectRole`],
//! [`GrantType`], [`ApiVersion`], [`Timestamp`]).
//!
//! # Errors
//!
//! Every failure is an [`Error`] (`#[non_exhaustive]`), in the Python client's classes:
//! [`Error::Client`] (400), [`Error::Authentication`], [`Error::Authorization`] (401 after the
//! refresh, 403), [`Error::NotFound`], [`Error::Conflict`], [`Error::UnknownStatus`] for any
//! other status the method does not expect, [`Error::InvalidReply`] (a body that is not
//! JSON, or over the size limit), [`Error::Decode`] (JSON of the wrong shape),
//! [`Error::Connection`], [`Error::RetriesExhausted`], and [`Error::InvalidInput`], checked
//! before anything is sent and naming the parameter. The HTTP classes share one
//! [`ErrorReply`] (message, body, headers, `Retry-After`); [`Error::status`],
//! [`Error::message`], [`Error::body`], [`Error::reply`] and [`Error::is_timeout`] reach the
//! details; causes are kept as `source()` (a 401 whose refresh failed has the refresh's error
//! there, and names it in its message). `Error` is `Clone`. No `Display` or `Debug` output
//! shows a token, password or client secret: secret-named fields are redacted, and so is
//! every secret the client knows, wherever a server quotes it.
//!
//! ```no_run
//! # use squirro_user_api::{Client, Error};
//! # fn f(client: &Client) -> Result<(), Error> {
//! match client.create_group("Team East").send() {
//!     Ok(group) => println!("created {}", group.id),
//!     Err(Error::Conflict { .. }) => println!("the group exists already"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! # Retries, timeouts and deadlines
//!
//! Each attempt is bounded by [`ClientBuilder::timeout`] (default 55 s, from connecting to the
//! last byte of the reply) and [`ClientBuilder::connect_timeout`] (default 10 s). Failed
//! attempts are retried by the [`RetryPolicy`], which follows the Python client's urllib3
//! settings: up to 10 attempts, exponential backoff from 1 s, at most 5 retries after a failure
//! to connect and 3 after a connection broke, statuses 429, 502, 503 and 504, `Retry-After`
//! honoured (at most 120 s). A `POST` the server may have processed is not retried unless
//! [`RetryPolicy::retry_non_idempotent`] says so, and TLS failures never are.
//! [`RetryPolicy::deadline`] bounds a whole call (default [`DEFAULT_DEADLINE`], 120 s;
//! `deadline(None)` for no bound): its attempts, the waits between them, and a token refresh;
//! an attempt's timeout is cut to the time left, and a `Retry-After` beyond the time left ends
//! the call at once with that reply's error, which carries the server's wait
//! ([`ErrorReply::retry_after`]). Timeouts longer than [`MAX_TIMEOUT`] (a year) are taken as
//! that.
//!
//! ```
//! use squirro_user_api::{Client, RetryPolicy};
//! use std::time::Duration;
//! let client = Client::builder()
//!     .cluster("https://squirro.example.com")
//!     .timeout(Duration::from_secs(20))
//!     .retry(RetryPolicy::default().max_attempts(4).deadline(Duration::from_secs(60)))
//!     .build()?;
//! # Ok::<(), squirro_user_api::Error>(())
//! ```
//!
//! Redirects are followed (at most 5) by the client itself; the token and the body only follow
//! a redirect to the same scheme, host and port. Reply bodies are read up to 10 MiB
//! ([`ClientBuilder::max_reply_bytes`]).
//!
//! # TLS
//!
//! Certificate verification is always on. Which library checks certificates, and against
//! which roots, is chosen with Cargo features by the application (a library depending on
//! this crate should leave them to it):
//!
//! | features | TLS library | trusted roots |
//! |---|---|---|
//! | none (default) | rustls (`ring`) | Mozilla's, compiled in (`webpki-roots`): the machine's trust store is not used |
//! | `platform-verifier` | rustls | the operating system's trust store, through its verifier (`rustls-platform-verifier`) |
//! | `native-tls` | native-tls: OpenSSL on Linux (needs `libssl-dev`), the platform's library on macOS and Windows | the operating system's trust store |
//!
//! `native-tls` takes precedence when both are enabled. The two features are for corporate CAs
//! installed on the machine; on Linux both read the system bundle, and honour
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`.
//!
//! ```toml
//! [dependencies]
//! squirro-user-api = { version = "0.1", features = ["platform-verifier"] }
//! ```
//!
//! For an on-premises cluster with a private CA, [`ClientBuilder::root_certificates_pem`]
//! trusts the certificates of a PEM bundle *instead of* those roots, with any of the
//! libraries, as `curl --cacert` and Python's `verify=` do.
//!
//! # Proxies
//!
//! By default the proxy comes from the environment: `HTTPS_PROXY` for an `https` cluster,
//! `HTTP_PROXY` for `http`, else `ALL_PROXY` (lower-case names too), unless `NO_PROXY` names
//! the host (`example.com` also covers its subdomains, `*` covers all) or the host is a
//! loopback address or `localhost`. [`ClientBuilder::proxy`] sets one explicitly
//! (`http://user:password@proxy:3128`; the password never shows in `Debug` or errors),
//! [`ClientBuilder::no_proxy`] uses none. Only `http://` and `https://` proxies are supported;
//! an `https` cluster is reached through a `CONNECT` tunnel.
//!
//! # Logging
//!
//! The crate logs through the [`log`](https://docs.rs/log) facade; install any logger
//! (`env_logger`, ...) to see it. What each target shows:
//!
//! | target | level | what |
//! |---|---|---|
//! | `squirro_user_api::transport` | `debug` | one line per HTTP exchange: verb, path (never the query), status or error, attempt number, time taken; redirects |
//! | `ureq`, `ureq_proto` | `debug` | connections, pool use, the request and reply headers that are not sensitive; URLs as `scheme://host/******` |
//! | `ureq`, `ureq_proto` | `trace` | **full URLs with their query, and the raw bytes sent and received, headers and bodies included** |
//!
//! Some requests carry secrets where the wire requires them: `get_user_grants` sends the client
//! secret in its query, the token request sends refresh tokens and passwords in its body, and
//! every authenticated request carries `Authorization: Bearer`. ureq masks URLs and sensitive
//! headers unless `trace` is enabled for it, so where logs are kept, keep the `ureq` and
//! `ureq_proto` targets at `debug` or below, e.g. `RUST_LOG=debug,ureq=debug,ureq_proto=info`
//! with `env_logger`, never `RUST_LOG=trace`.
//!
//! # Testing offline
//!
//! The [`squirro-user-api-fake`](https://docs.rs/squirro-user-api-fake) crate is a stateful
//! fake of the user API over real HTTP on `127.0.0.1`: add it as a dev-dependency, start a
//! `FakeServer` in each test and point [`ClientBuilder::cluster`] at its URL. It answers like
//! a cluster (reply shapes, error statuses), injects faults (a status, a delay, a dropped
//! connection), expires tokens, and keeps a journal of the requests it received. This crate
//! does not depend on it.
//!
//! For unit tests without a server, `.request()` and [`Client::render`] show what a call
//! would send.
//!
//! # Versioning and MSRV
//!
//! The crate follows semantic versioning; before 1.0, a breaking change bumps the minor
//! version (0.1 → 0.2). The API is what this documentation shows: no type of a dependency
//! appears in it (the transport library's errors are kept as an opaque
//! [`ConnectionError`], reached through `source()`), so upgrading ureq, rustls or serde's
//! minor versions is not a breaking change here; `serde_json::Value` in bodies and `extra`
//! is the one exception, a 1.x crate. [`Error`], [`ApiVersion`] and the models are `#[non_exhaustive]`, and
//! the models keep fields they do not name, so a new error class or a new field is not a
//! breaking change. [`ServerRole`], [`ProjectRole`] and [`GrantType`] are `#[non_exhaustive]`
//! and keep a value a newer Squirro sends as `Other` (sent back as it came), so a new role
//! decodes and adding its variant later is not a breaking change either. Changes are listed in `CHANGELOG.md`.
//!
//! The minimum supported Rust version of the library is 1.85 (`rust-version` in
//! `Cargo.toml`), checked in CI by building the library and running its unit tests with Rust
//! 1.85. Raising it is a minor-version change. Developing the crate itself (its integration
//! tests and benchmarks) needs a newer toolchain; see the README.
//!
//! # Where to find things
//!
//! `endpoints.toml` declares every method; `build.rs` and `codegen/` generate [`operations`]
//! from it. [`request`](Request) builds requests as pure data; [`Client::execute`] is the one
//! way out: it consults the `session` (tokens, tenant, refresh), hands the request to the
//! `transport` (retries, redirects, limits) and maps the status; [`models`] decodes replies;
//! [`Error`] is every failure.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod composite;
mod config;
mod env;
mod error;
pub mod models;
pub mod operations;
mod options;
mod redact;
mod request;
mod session;
mod tls;
mod transport;
mod types;

pub use auth::{Authenticate, Grant, Tokens};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IO_BUFFER_BYTES,
    DEFAULT_MAX_IDLE_CONNECTIONS, DEFAULT_TIMEOUT, DEFAULT_USER_API_URL, MAX_TIMEOUT,
};
pub use config::{
    Config, DEFAULT_PROFILE, Profile, ProfileSource, remove_token, store_profile, store_token,
};
pub use error::{ConnectionError, Error, ErrorReply};
pub use operations::OPERATIONS;
pub use options::CallOptions;
pub use request::{Body, Method, Request};
pub use session::TokenCallback;
pub use transport::{DEFAULT_DEADLINE, DEFAULT_MAX_REPLY_BYTES, Reply, RetryPolicy};
pub use types::{ApiVersion, GrantType, ProjectRole, ServerRole, Timestamp};

/// One method of the user API as declared in `endpoints.toml` (see [`OPERATIONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The method name (as in the Python client).
    pub name: &'static str,
    /// The HTTP verb.
    pub verb: &'static str,
    /// The path template relative to the user API base.
    pub path: &'static str,
    /// The expected status codes.
    pub ok: &'static [u16],
    /// The first sentence of its doc.
    pub summary: &'static str,
}

/// The README's Rust examples, compiled (and run where they can) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
