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
//! Where to find things:
//! - `endpoints.toml` declares every method; `build.rs` and `codegen/` generate
//!   [`operations`] from it;
//! - [`request`](Request) builds requests as pure data; [`Client::execute`] is the one way
//!   out: it consults the `session` (tokens, tenant, refresh), hands the request to the
//!   `transport` (retries, redirects, limits) and maps the status; [`models`] decodes replies;
//!   [`Error`] is every failure.
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
