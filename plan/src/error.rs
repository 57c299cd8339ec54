//! The crate's errors: a file's problems (all of them, with file, line and field), I/O, the API,
//! and a plan that no longer matches the tenant.

use std::fmt;
use std::path::PathBuf;

/// One problem in a desired-state file (or in what it refers to on the tenant).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, as it was given (a CSV file is named as the state file names it).
    pub file: String,
    /// The line (1-based), when known.
    pub line: Option<usize>,
    /// The field (`users[2].role`, the CSV column `role`, ...).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{}: {}: {}",
                self.file, line, self.field, self.message
            ),
            None => write!(f, "{}: {}: {}", self.file, self.field, self.message),
        }
    }
}

/// Everything that can go wrong in planning or applying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The desired state is invalid: every problem found, in file order. Nothing was changed
    /// (and, for problems found in the files alone, nothing was sent).
    #[error("{} problem{} in the desired state:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
    Invalid(Vec<Problem>),
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Reading the tenant failed (nothing was changed).
    #[error("reading the tenant failed ({what}): {source}")]
    Read {
        /// What was being read (`get_users`, `get_group Team East`, ...).
        what: String,
        /// The SDK's error.
        #[source]
        source: squirro_user_api::Error,
    },
    /// A saved plan was made from a tenant that has changed since: plan again.
    #[error(
        "the tenant has changed since the plan was made (fingerprint {planned}, now {now}); make a new plan"
    )]
    Stale {
        /// The fingerprint stored in the plan.
        planned: String,
        /// The fingerprint of the tenant now.
        now: String,
    },
    /// A plan file or journal is not one this crate wrote, or belongs to another plan.
    #[error("{}: {reason}", .path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PlanError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PlanError {
        PlanError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn read(what: impl Into<String>, source: squirro_user_api::Error) -> PlanError {
        PlanError::Read {
            what: what.into(),
            source,
        }
    }

    /// The problems of an [`Invalid`](PlanError::Invalid) desired state.
    pub fn problems(&self) -> &[Problem] {
        match self {
            PlanError::Invalid(p) => p,
            _ => &[],
        }
    }
}
