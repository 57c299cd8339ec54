//! # squirro-user-plan
//!
//! Bring a Squirro tenant's users, groups, project memberships and workspace roles to a state
//! declared in a file, the way Terraform brings infrastructure: read the file
//! ([`load_state`]), [`plan`] the operations against the tenant (`+ create`, `~ change`,
//! `- remove`), review or save the plan, then [`apply`] it: concurrently, rate-limited,
//! resumable after a crash, and exactly once in effect.
//!
//! ```no_run
//! use squirro_user_plan::{ApplyOptions, PlanOptions, apply, load_state, plan, tune_client};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = tune_client(squirro_user_api::Client::builder(), 8)
//!     .cluster("https://squirro.example.com")
//!     .tenant("acme")
//!     .refresh_token("...")
//!     .build()?;
//! let state = load_state("tenant.toml")?; // every problem at once, with file and line
//! let plan = plan(&client, &state, &PlanOptions::default())?;
//! print!("{}", plan.to_human());
//! let report = apply(
//!     &client,
//!     &plan,
//!     &ApplyOptions::default()
//!         .concurrency(8)
//!         .journal("tenant.journal")
//!         .results("results.jsonl"),
//! )?;
//! assert!(report.is_complete());
//! # Ok(()) }
//! ```
//!
//! Safe by default: nothing is removed unless deletion is allowed
//! ([`PlanOptions::allow_deletion`]), and then only inside the state's scope: members of the
//! groups and projects it names, and users matching its `remove_users_matching` patterns. A user
//! the file does not name is otherwise never touched.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod apply;
mod desired;
mod error;
mod plan;
mod tenant;

pub use apply::{ApplyOptions, ApplyReport, OperationError, Outcome, apply, resume_plan};
pub use desired::{
    DesiredGroup, DesiredProject, DesiredState, DesiredUser, DesiredWorkspace, MemberRef, Origin,
    load_state,
};
pub use error::{PlanError, Problem};
pub use plan::{FieldChange, Kind, Operation, Plan, PlanOptions, Summary, plan};

/// The reply size the engine allows: a 100,000-user `get_users` reply is about 30 MB.
pub const MAX_REPLY_BYTES: u64 = 1024 * 1024 * 1024;

/// Sets what a client used by the engine needs: replies large enough for a big tenant's user
/// list ([`MAX_REPLY_BYTES`]), and an idle connection kept for each of `concurrency` workers
/// (and the one that reads), so none of them reconnects. Call it on the builder, then set the
/// cluster and credentials.
pub fn tune_client(
    builder: squirro_user_api::ClientBuilder,
    concurrency: usize,
) -> squirro_user_api::ClientBuilder {
    builder
        .max_reply_bytes(MAX_REPLY_BYTES)
        .max_idle_connections(concurrency.max(1).saturating_add(1))
}
