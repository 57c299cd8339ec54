//! Applying a plan: phases in dependency order, a pool of workers, a client-side rate limit, an
//! append-only journal (resume after a crash), a results file, and settling by looking up what a
//! lost reply would have said.

use crate::desired::{MemberRef, email_key, group_key};
use crate::error::PlanError;
use crate::plan::{Operation, Plan};
use crate::tenant;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use squirro_user_api::{Client, Error, ProjectRole, ServerRole};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// How many times a create whose reply was lost is sent again after a lookup found nothing.
const MAX_SENDS: usize = 3;

/// How to apply a plan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Operations in flight at once (default 4; at least 1).
    pub concurrency: usize,
    /// Requests per second at most, over all workers (default, and any value that is not
    /// positive and finite: no limit).
    pub rate: Option<f64>,
    /// The results file: one JSON line per operation (what, outcome, id or error).
    pub results: Option<PathBuf>,
    /// The journal: an append-only record of the apply, written before and after each
    /// operation, from which a later run of the same plan resumes.
    pub journal: Option<PathBuf>,
    /// Stop starting operations once this many have failed (default: never stop).
    pub max_errors: Option<usize>,
    /// Show a progress bar (only on a terminal; default true).
    pub progress: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 4,
            rate: None,
            results: None,
            journal: None,
            max_errors: None,
            progress: true,
        }
    }
}

impl ApplyOptions {
    /// Sets [`concurrency`](Self::concurrency).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
    /// Sets [`rate`](Self::rate) (a value that is not positive and finite means no limit).
    pub fn rate(mut self, per_second: Option<f64>) -> Self {
        self.rate = per_second.filter(|r| r.is_finite() && *r > 0.0);
        self
    }
    /// Sets [`results`](Self::results).
    pub fn results(mut self, path: impl Into<PathBuf>) -> Self {
        self.results = Some(path.into());
        self
    }
    /// Sets [`journal`](Self::journal).
    pub fn journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.journal = Some(path.into());
        self
    }
    /// Sets [`max_errors`](Self::max_errors).
    pub fn max_errors(mut self, n: Option<usize>) -> Self {
        self.max_errors = n;
        self
    }
    /// Sets [`progress`](Self::progress).
    pub fn progress(mut self, yes: bool) -> Self {
        self.progress = yes;
        self
    }
}

/// What happened to one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Created (or added).
    Created,
    /// Changed.
    Changed,
    /// Removed.
    Removed,
    /// It existed already (a 409 on create, or found before sending), and was then brought to
    /// the desired state.
    Exists,
    /// Its reply was lost (or the run was interrupted while it was in flight): a lookup found
    /// it done, and it was not sent again.
    Settled,
    /// A removal found nothing to remove (404).
    Absent,
    /// It failed.
    Failed,
}

/// A failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationError {
    /// Its index in the plan.
    pub index: usize,
    /// The human form of the operation.
    pub operation: String,
    /// The error.
    pub error: String,
}

/// The outcome of [`apply`].
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ApplyReport {
    /// Operations in the plan.
    pub total: usize,
    /// Done by an earlier, interrupted run of the same plan (from the journal).
    pub done_before: usize,
    /// Done in this run (created, changed, removed, existing, settled or absent).
    pub done: usize,
    /// Of those, settled by a lookup after a lost reply or an interruption.
    pub settled: usize,
    /// Failed in this run.
    pub failed: usize,
    /// Not started: the run stopped at `max_errors`.
    pub not_run: usize,
    /// Whether the run stopped early at `max_errors`.
    pub stopped: bool,
    /// Whether this run resumed an interrupted one.
    pub resumed: bool,
    /// How long it took.
    pub elapsed: Duration,
    /// The failures (the first 1,000).
    pub errors: Vec<OperationError>,
}

impl ApplyReport {
    /// Whether every operation of the plan is done.
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.not_run == 0
    }
}

// ------------------------------------------------------------------ journal

#[derive(Deserialize)]
struct Header {
    plan_id: String,
    plan: Plan,
}

/// The journal's first line: the plan it records (written without copying the plan).
#[derive(Serialize)]
struct HeaderOut<'a> {
    journal: u32,
    plan_id: &'a str,
    plan: &'a Plan,
}

#[derive(Serialize, Deserialize, Default)]
struct Record {
    /// Started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<usize>,
    /// Done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<usize>,
    /// Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    /// The run ended: whether the plan is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    None,
    Started,
    Done,
    Failed,
}

/// What a journal says about a plan.
struct Past {
    marks: Vec<Mark>,
    outcomes: Vec<Option<(Outcome, Option<String>)>>,
    complete: bool,
}

fn read_journal(path: &Path) -> Result<Option<(Header, Past)>, PlanError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PlanError::io(path, e)),
    };
    let bad = |reason: String| PlanError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut lines = BufReader::new(file).lines();
    let Some(first) = lines.next() else {
        return Ok(None);
    };
    let first = first.map_err(|e| PlanError::io(path, e))?;
    if first.trim().is_empty() {
        return Ok(None);
    }
    let header: Header = match serde_json::from_str(&first) {
        Ok(h) => h,
        // A header cut by a crash, and nothing after it: no operation had started.
        Err(e) if e.is_eof() && lines.next().is_none() => return Ok(None),
        Err(e) => return Err(bad(format!("not a journal: {e}"))),
    };
    let n = header.plan.operations.len();
    let mut past = Past {
        marks: vec![Mark::None; n],
        outcomes: vec![None; n],
        complete: false,
    };
    for line in lines {
        let line = line.map_err(|e| PlanError::io(path, e))?;
        // A line cut by a crash is the last one: what it would have said is settled anew.
        let Ok(r) = serde_json::from_str::<Record>(&line) else {
            continue;
        };
        if let Some(i) = r.s.filter(|&i| i < n) {
            if past.marks[i] != Mark::Done {
                past.marks[i] = Mark::Started;
            }
        }
        if let Some(i) = r.d.filter(|&i| i < n) {
            past.marks[i] = Mark::Done;
            past.outcomes[i] = Some((r.o.unwrap_or(Outcome::Created), r.id.clone()));
        }
        if let Some(i) = r.f.filter(|&i| i < n) {
            if past.marks[i] != Mark::Done {
                past.marks[i] = Mark::Failed;
                past.outcomes[i] = r.id.clone().map(|id| (Outcome::Failed, Some(id)));
            }
        }
        if let Some(complete) = r.end {
            past.complete = complete;
        }
    }
    Ok(Some((header, past)))
}

/// The plan of an interrupted apply recorded in `journal`, when it was made from the same
/// desired-state files (same digest) and is not complete: re-running `apply FILE` after a crash
/// finishes that plan instead of planning anew.
pub fn resume_plan(
    journal: impl AsRef<Path>,
    state: &crate::DesiredState,
) -> Result<Option<Plan>, PlanError> {
    Ok(match read_journal(journal.as_ref())? {
        Some((header, past)) if !past.complete && header.plan.source_digest == state.digest => {
            Some(header.plan)
        }
        _ => None,
    })
}

/// An append-only file written one whole line at a time (one `write` call each), so a kill
/// leaves at most the last line cut.
struct LineFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl LineFile {
    fn open(path: &Path, truncate: bool) -> Result<LineFile, PlanError> {
        let file = OpenOptions::new()
            .create(true)
            .append(!truncate)
            .write(true)
            .truncate(truncate)
            .open(path)
            .map_err(|e| PlanError::io(path, e))?;
        Ok(LineFile {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Writes a large value (the plan) through a buffer, without building the line in memory
    /// first. Only the header is written so: a crash while writing it leaves a journal with a
    /// cut first line and nothing else, which [`read_journal`] takes as no journal.
    fn write_streaming<T: Serialize>(&self, value: &T) -> Result<(), PlanError> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut *file);
        serde_json::to_writer(&mut out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(|e| PlanError::io(&self.path, e))
    }

    fn write<T: Serialize>(&self, value: &T) -> Result<(), PlanError> {
        let mut line = serde_json::to_vec(value).map_err(|e| PlanError::BadFile {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line)
            .map_err(|e| PlanError::io(&self.path, e))
    }
}

// ------------------------------------------------------------------ rate limit

/// Spaces requests `interval` apart over all workers.
struct RateLimit {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimit {
    fn new(per_second: f64) -> RateLimit {
        // A rate below one a day is taken as one a day.
        let interval = Duration::try_from_secs_f64(1.0 / per_second)
            .unwrap_or(Duration::from_secs(86_400))
            .min(Duration::from_secs(86_400));
        RateLimit {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    fn wait(&self) {
        let now = Instant::now();
        let at = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let at = (*next).max(now);
            *next = at.checked_add(self.interval).unwrap_or(at);
            at
        };
        let wait = at.saturating_duration_since(now);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

// ------------------------------------------------------------------ lookups

/// A value read from the tenant, shared by the workers that need one read after a moment.
struct Lookup<T> {
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for Lookup<T> {
    fn default() -> Self {
        Lookup {
            slot: Mutex::new(None),
        }
    }
}

impl<T> Lookup<T> {
    /// A value read after `since` (one read for all the workers waiting).
    fn get(
        &self,
        since: Instant,
        read: impl FnOnce() -> Result<T, Error>,
    ) -> Result<Arc<T>, Error> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, value)) = &*slot {
            if *at >= since {
                return Ok(Arc::clone(value));
            }
        }
        let started = Instant::now();
        let value = Arc::new(read()?);
        *slot = Some((started, Arc::clone(&value)));
        Ok(value)
    }
}

/// Whether the server may have acted although the call failed: no reply came, or one that could
/// not be read, or a gateway error after the request was sent.
fn uncertain(e: &Error) -> bool {
    match e {
        Error::Connection { .. }
        | Error::RetriesExhausted { .. }
        | Error::InvalidReply { .. }
        | Error::Decode { .. } => true,
        Error::UnknownStatus { status, .. } => *status >= 500,
        _ => false,
    }
}

// ------------------------------------------------------------------ the run

struct Done {
    outcome: Outcome,
    id: Option<String>,
}

struct Failed {
    error: String,
    /// An id learnt before failing (a user created whose data could not be set).
    id: Option<String>,
}

impl From<Error> for Failed {
    fn from(e: Error) -> Failed {
        Failed {
            error: e.to_string(),
            id: None,
        }
    }
}

fn failed(message: impl Into<String>) -> Failed {
    Failed {
        error: message.into(),
        id: None,
    }
}

struct Runner<'a> {
    client: &'a Client,
    rate: Option<RateLimit>,
    /// Email key -> user id.
    users: RwLock<HashMap<String, String>>,
    /// Group key -> group id.
    groups: RwLock<HashMap<String, String>>,
    user_lookup: Lookup<HashMap<String, String>>,
    group_lookup: Lookup<HashMap<String, String>>,
    project_lookups: Mutex<HashMap<String, Arc<Lookup<Vec<tenant::ProjectMember>>>>>,
}

impl Runner<'_> {
    fn gate(&self) {
        if let Some(r) = &self.rate {
            r.wait();
        }
    }

    fn user_id(&self, email: &str) -> Option<String> {
        read(&self.users).get(&email_key(email)).cloned()
    }

    fn group_id(&self, name: &str) -> Option<String> {
        read(&self.groups).get(&group_key(name)).cloned()
    }

    fn learn_user(&self, email: &str, id: &str) {
        write(&self.users).insert(email_key(email), id.to_string());
    }

    fn learn_group(&self, name: &str, id: &str) {
        write(&self.groups).insert(group_key(name), id.to_string());
    }

    fn find_user(&self, email: &str, since: Instant) -> Result<Option<String>, Error> {
        let map = self.user_lookup.get(since, || {
            self.gate();
            let users = tenant::read_users(self.client, &Default::default())?;
            Ok(users
                .into_iter()
                .map(|u| (email_key(&u.email), u.id))
                .collect())
        })?;
        Ok(map.get(&email_key(email)).cloned())
    }

    fn find_group(&self, name: &str, since: Instant) -> Result<Option<String>, Error> {
        let map = self.group_lookup.get(since, || {
            self.gate();
            Ok(tenant::read_groups(self.client)?
                .into_iter()
                .map(|(id, name)| (group_key(&name), id))
                .collect())
        })?;
        Ok(map.get(&group_key(name)).cloned())
    }

    /// The member's role in the project, read after `since` (`None`: not a member).
    fn project_role(
        &self,
        project: &str,
        member_id: &str,
        since: Instant,
    ) -> Result<Option<Option<String>>, Error> {
        let lookup = Arc::clone(
            lock(&self.project_lookups)
                .entry(project.to_string())
                .or_default(),
        );
        let members = lookup.get(since, || {
            self.gate();
            Ok(tenant::read_project_members(self.client, project)?.unwrap_or_default())
        })?;
        Ok(members
            .iter()
            .find(|m| m.id == member_id)
            .map(|m| m.role.clone()))
    }

    fn is_group_member(&self, group_id: &str, user_id: &str) -> Result<bool, Error> {
        self.gate();
        let user = self.client.get_user_data(user_id).send()?;
        if let Some(groups) = &user.groups {
            return Ok(groups
                .iter()
                .any(|g| g.get("id").and_then(Value::as_str) == Some(group_id)));
        }
        self.gate();
        Ok(tenant::read_group_members(self.client, group_id)?
            .iter()
            .any(|m| m == user_id))
    }

    fn workspace_role(&self, domain: &str, user_id: &str) -> Result<Option<String>, Error> {
        self.gate();
        Ok(tenant::read_workspace_users(self.client, domain)?
            .and_then(|users| users.get(user_id).cloned().flatten()))
    }

    /// Runs one operation; `settle_first` when an earlier run may have sent it already.
    fn run(&self, op: &Operation, settle_first: bool) -> Result<Done, Failed> {
        match op {
            Operation::CreateGroup { name } => self.create_group(name, settle_first),
            Operation::CreateUser {
                email,
                role,
                full_name,
                data,
            } => self.create_user(
                email,
                role.as_deref(),
                full_name.as_deref(),
                data,
                settle_first,
            ),
            Operation::UpdateUser {
                user_id, changes, ..
            } => {
                let map: Map<String, Value> = changes
                    .iter()
                    .map(|c| (c.field.clone(), c.to.clone()))
                    .collect();
                self.gate();
                self.client
                    .update_user_data(user_id, Value::Object(map))
                    .send()?;
                Ok(Done {
                    outcome: Outcome::Changed,
                    id: Some(user_id.clone()),
                })
            }
            Operation::AddGroupMember {
                group,
                group_id,
                email,
                user_id,
            } => {
                let gid = group_id
                    .clone()
                    .or_else(|| self.group_id(group))
                    .ok_or_else(|| {
                        failed(format!("group {group:?} has no id: it was not created"))
                    })?;
                let uid = user_id
                    .clone()
                    .or_else(|| self.user_id(email))
                    .ok_or_else(|| failed(format!("user {email} has no id: it was not created")))?;
                self.add_group_member(&gid, &uid, settle_first)
            }
            Operation::RemoveGroupMember {
                group_id, user_id, ..
            } => {
                self.gate();
                removal(self.client.delete_group_member(group_id, user_id).send())
            }
            Operation::SetWorkspaceRole {
                domain,
                email,
                user_id,
                role,
                ..
            } => {
                let uid = user_id
                    .clone()
                    .or_else(|| self.user_id(email))
                    .ok_or_else(|| failed(format!("user {email} has no id: it was not created")))?;
                let role: ServerRole = role.parse()?;
                self.set_workspace_role(domain, &uid, role, settle_first)
            }
            Operation::AddProjectMember {
                project,
                member,
                member_id,
                role,
            } => {
                let id = match (member_id, member) {
                    (Some(id), _) => id.clone(),
                    (None, MemberRef::User(email)) => self.user_id(email).ok_or_else(|| {
                        failed(format!("user {email} has no id: it was not created"))
                    })?,
                    (None, MemberRef::Group(name)) => self.group_id(name).ok_or_else(|| {
                        failed(format!("group {name:?} has no id: it was not created"))
                    })?,
                };
                let role: ProjectRole = role.parse()?;
                let is_group = matches!(member, MemberRef::Group(_));
                self.add_project_member(project, &id, is_group, role, settle_first)
            }
            Operation::UpdateProjectMember {
                project,
                member_id,
                role,
                ..
            } => {
                let role: ProjectRole = role.parse()?;
                self.gate();
                self.client
                    .update_project_member(project, member_id, role)
                    .send()?;
                Ok(Done {
                    outcome: Outcome::Changed,
                    id: Some(member_id.clone()),
                })
            }
            Operation::RemoveProjectMember {
                project, member_id, ..
            } => {
                self.gate();
                removal(self.client.delete_project_member(project, member_id).send())
            }
            Operation::DeleteUser { user_id, .. } => {
                self.gate();
                removal(self.client.delete_user(user_id).send())
            }
        }
    }

    /// The id of an object that must exist: `known` (the plan or an earlier operation knew
    /// it), else found by `find` when an earlier run may have created it, else created by
    /// `send`. A 409 means it exists: it is looked up. A reply that may have been lost is
    /// settled by looking it up, and the create is sent again only if it is not there (at most
    /// [`MAX_SENDS`] times).
    fn ensure_created(
        &self,
        what: &str,
        known: Option<String>,
        settle_first: bool,
        find: impl Fn(Instant) -> Result<Option<String>, Error>,
        send: impl Fn() -> Result<String, Error>,
    ) -> Result<(String, Outcome), Failed> {
        if let Some(id) = known {
            return Ok((id, Outcome::Exists));
        }
        if settle_first {
            if let Some(id) = find(Instant::now())? {
                return Ok((id, Outcome::Settled));
            }
        }
        for _ in 0..MAX_SENDS {
            self.gate();
            match send() {
                Ok(id) => return Ok((id, Outcome::Created)),
                Err(Error::Conflict { .. }) => {
                    return match find(Instant::now())? {
                        Some(id) => Ok((id, Outcome::Exists)),
                        None => Err(failed(format!(
                            "409 on create, but the tenant has no such {what}"
                        ))),
                    };
                }
                Err(e) if uncertain(&e) => {
                    if let Some(id) = find(Instant::now())? {
                        return Ok((id, Outcome::Settled));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(failed(format!(
            "sent {MAX_SENDS} times without a reply, and the {what} is not on the tenant"
        )))
    }

    fn create_user(
        &self,
        email: &str,
        role: Option<&str>,
        full_name: Option<&str>,
        data: &Map<String, Value>,
        settle_first: bool,
    ) -> Result<Done, Failed> {
        let role_typed = role.map(str::parse::<ServerRole>).transpose()?;
        let (id, outcome) = self.ensure_created(
            "user",
            self.user_id(email),
            settle_first,
            |since| self.find_user(email, since),
            || {
                let mut call = self.client.add_user().email(email);
                if let Some(r) = &role_typed {
                    call = call.role(r.clone());
                }
                call.send().map(|user| user.id)
            },
        )?;
        self.learn_user(email, &id);
        // The rest is set with one idempotent PUT (the role too when the user was there).
        let mut changes = data.clone();
        if let Some(name) = full_name {
            changes.insert("full_name".into(), Value::String(name.into()));
        }
        if let (Some(r), true) = (role, outcome != Outcome::Created) {
            changes.insert("role".into(), Value::String(r.into()));
        }
        if !changes.is_empty() {
            self.gate();
            if let Err(e) = self
                .client
                .update_user_data(&id, Value::Object(changes))
                .send()
            {
                return Err(Failed {
                    error: format!("the user is there ({id}), but setting its data failed: {e}"),
                    id: Some(id),
                });
            }
        }
        Ok(Done {
            outcome,
            id: Some(id),
        })
    }

    fn create_group(&self, name: &str, settle_first: bool) -> Result<Done, Failed> {
        let (id, outcome) = self.ensure_created(
            "group",
            self.group_id(name),
            settle_first,
            |since| self.find_group(name, since),
            || self.client.create_group(name).send().map(|group| group.id),
        )?;
        self.learn_group(name, &id);
        Ok(Done {
            outcome,
            id: Some(id),
        })
    }

    fn add_group_member(&self, gid: &str, uid: &str, settle_first: bool) -> Result<Done, Failed> {
        let settled = |id: &str| Done {
            outcome: Outcome::Settled,
            id: Some(id.to_string()),
        };
        if settle_first && self.is_group_member(gid, uid)? {
            return Ok(settled(uid));
        }
        for _ in 0..MAX_SENDS {
            self.gate();
            match self.client.add_group_member(gid, uid).send() {
                Ok(_) => {
                    return Ok(Done {
                        outcome: Outcome::Created,
                        id: Some(uid.to_string()),
                    });
                }
                Err(Error::Conflict { .. }) => {
                    return Ok(Done {
                        outcome: Outcome::Exists,
                        id: Some(uid.to_string()),
                    });
                }
                Err(e) if uncertain(&e) => {
                    if self.is_group_member(gid, uid)? {
                        return Ok(settled(uid));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(failed(format!(
            "sent {MAX_SENDS} times without a reply, and the user is not a member"
        )))
    }

    fn set_workspace_role(
        &self,
        domain: &str,
        uid: &str,
        role: ServerRole,
        settle_first: bool,
    ) -> Result<Done, Failed> {
        let settled = Done {
            outcome: Outcome::Settled,
            id: Some(uid.to_string()),
        };
        if settle_first && self.workspace_role(domain, uid)?.as_deref() == Some(role.as_str()) {
            return Ok(settled);
        }
        for _ in 0..MAX_SENDS {
            self.gate();
            match self
                .client
                .set_workspace_user_role(domain, uid, role.clone())
                .send()
            {
                Ok(_) => {
                    return Ok(Done {
                        outcome: Outcome::Changed,
                        id: Some(uid.to_string()),
                    });
                }
                Err(e) if uncertain(&e) => {
                    if self.workspace_role(domain, uid)?.as_deref() == Some(role.as_str()) {
                        return Ok(settled);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(failed(format!(
            "sent {MAX_SENDS} times without a reply, and the role is not set"
        )))
    }

    fn add_project_member(
        &self,
        project: &str,
        id: &str,
        is_group: bool,
        role: ProjectRole,
        settle_first: bool,
    ) -> Result<Done, Failed> {
        let done = |outcome| Done {
            outcome,
            id: Some(id.to_string()),
        };
        // After a lost reply or an interruption: done if the member is there with the role;
        // there with another role: changed with a PUT; else sent (again).
        let check = |since| -> Result<Option<Done>, Failed> {
            match self.project_role(project, id, since)? {
                Some(now) if now.as_deref() == Some(role.as_str()) => {
                    Ok(Some(done(Outcome::Settled)))
                }
                Some(_) => {
                    self.gate();
                    self.client
                        .update_project_member(project, id, role.clone())
                        .send()?;
                    Ok(Some(done(Outcome::Settled)))
                }
                None => Ok(None),
            }
        };
        if settle_first {
            if let Some(d) = check(Instant::now())? {
                return Ok(d);
            }
        }
        for _ in 0..MAX_SENDS {
            self.gate();
            let call = self.client.add_project_member(project, role.clone());
            let call = if is_group {
                call.group_id(id)
            } else {
                call.user_id(id)
            };
            match call.send() {
                Ok(_) => return Ok(done(Outcome::Created)),
                Err(Error::Conflict { .. }) => {
                    self.gate();
                    self.client
                        .update_project_member(project, id, role.clone())
                        .send()?;
                    return Ok(done(Outcome::Exists));
                }
                Err(e) if uncertain(&e) => {
                    if let Some(d) = check(Instant::now())? {
                        return Ok(d);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(failed(format!(
            "sent {MAX_SENDS} times without a reply, and the member is not in the project"
        )))
    }
}

fn removal(result: Result<(), Error>) -> Result<Done, Failed> {
    match result {
        Ok(()) => Ok(Done {
            outcome: Outcome::Removed,
            id: None,
        }),
        Err(Error::NotFound { .. }) => Ok(Done {
            outcome: Outcome::Absent,
            id: None,
        }),
        Err(e) => Err(e.into()),
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The ids a plan already knows: of the users and groups that existed when it was made.
fn known_ids(plan: &Plan) -> (HashMap<String, String>, HashMap<String, String>) {
    let (mut users, mut groups) = (HashMap::new(), HashMap::new());
    for op in &plan.operations {
        match op {
            Operation::UpdateUser { email, user_id, .. }
            | Operation::DeleteUser { email, user_id } => {
                users.insert(email_key(email), user_id.clone());
            }
            Operation::AddGroupMember {
                group,
                group_id,
                email,
                user_id,
            } => {
                if let Some(id) = group_id {
                    groups.insert(group_key(group), id.clone());
                }
                if let Some(id) = user_id {
                    users.insert(email_key(email), id.clone());
                }
            }
            Operation::RemoveGroupMember {
                group, group_id, ..
            } => {
                groups.insert(group_key(group), group_id.clone());
            }
            Operation::SetWorkspaceRole {
                email,
                user_id: Some(id),
                ..
            } => {
                users.insert(email_key(email), id.clone());
            }
            Operation::AddProjectMember {
                member,
                member_id: Some(id),
                ..
            }
            | Operation::UpdateProjectMember {
                member,
                member_id: id,
                ..
            } => match member {
                MemberRef::User(email) => {
                    users.insert(email_key(email), id.clone());
                }
                MemberRef::Group(name) => {
                    groups.insert(group_key(name), id.clone());
                }
            },
            _ => {}
        }
    }
    (users, groups)
}

/// The results file's line for an operation.
fn result_line(
    index: usize,
    op: &Operation,
    outcome: Outcome,
    id: Option<&str>,
    error: Option<&str>,
) -> Value {
    let mut line = json!({
        "index": index,
        "action": op.action(),
        "target": op.target(),
        "outcome": outcome,
    });
    if let Some(id) = id {
        line["id"] = Value::String(id.to_string());
    }
    if let Some(e) = error {
        line["error"] = Value::String(e.to_string());
    }
    line
}

/// Applies a plan: operations run phase by phase (users and groups; then group members and
/// workspace roles; then project members; then deleted users), each phase by `concurrency`
/// workers, at most `rate` requests a second, with the client's retry policy.
///
/// **Exactly once in effect.** A create whose reply is lost (the connection dropped after the
/// server acted, which the SDK does not retry for a POST) is settled by looking the object up,
/// and sent again only if it is not there; a 409 on create means it exists, and it is then
/// brought to the desired state. With a [journal](ApplyOptions::journal), every operation is
/// recorded before and after it runs: a later run of the same plan (after a crash, a `kill -9`,
/// or `max_errors`) skips what is done, settles by lookup what was in flight, and runs the rest.
///
/// A plan [loaded from a file](Plan::load) is applied only if the tenant still has the
/// fingerprint it was planned against ([`PlanError::Stale`]); a resumed plan is not checked (its
/// own first run changed the tenant).
///
/// Failures of single operations are in the report (and the results file), not an `Err`: the
/// `Err` is for what stops the run before it starts (a stale plan, a journal of another plan,
/// files that cannot be written).
pub fn apply(
    client: &Client,
    plan: &Plan,
    options: &ApplyOptions,
) -> Result<ApplyReport, PlanError> {
    let started = Instant::now();
    let n = plan.operations.len();
    let plan_id = plan.id();
    let mut past = None;
    if let Some(path) = &options.journal {
        if let Some((header, p)) = read_journal(path)? {
            if header.plan_id == plan_id {
                past = Some(p);
            } else if !p.complete {
                return Err(PlanError::BadFile {
                    path: path.clone(),
                    reason: format!(
                        "holds an unfinished apply of another plan ({}); apply that plan to finish it, or remove the journal",
                        header.plan_id
                    ),
                });
            }
        }
    }
    let resumed = past.is_some();
    if plan.from_file && !resumed {
        let now = tenant::read(client, &plan.read_scope)?;
        if now.fingerprint != plan.fingerprint {
            return Err(PlanError::Stale {
                planned: plan.fingerprint.clone(),
                now: now.fingerprint,
            });
        }
    }
    let past = past.unwrap_or(Past {
        marks: vec![Mark::None; n],
        outcomes: vec![None; n],
        complete: false,
    });

    // The journal: a new one starts with the plan; a resumed one is appended to.
    let journal = match &options.journal {
        Some(path) => {
            let file = LineFile::open(path, !resumed)?;
            if !resumed {
                file.write_streaming(&HeaderOut {
                    journal: 1,
                    plan_id: &plan_id,
                    plan,
                })?;
            }
            Some(file)
        }
        None => None,
    };
    // The results file holds one line per operation done: rewritten from the journal when
    // resuming, so a line cut by a crash is whole again.
    let results = match &options.results {
        Some(path) => {
            let file = LineFile::open(path, true)?;
            for (i, o) in past.outcomes.iter().enumerate() {
                if let (Mark::Done, Some((outcome, id))) = (past.marks[i], o) {
                    file.write(&result_line(
                        i,
                        &plan.operations[i],
                        *outcome,
                        id.as_deref(),
                        None,
                    ))?;
                }
            }
            Some(file)
        }
        None => None,
    };

    let (mut users, mut groups) = known_ids(plan);
    for (i, o) in past.outcomes.iter().enumerate() {
        if let Some((_, Some(id))) = o {
            match &plan.operations[i] {
                Operation::CreateUser { email, .. } => {
                    users.insert(email_key(email), id.clone());
                }
                Operation::CreateGroup { name } => {
                    groups.insert(group_key(name), id.clone());
                }
                _ => {}
            }
        }
    }
    let runner = Runner {
        client,
        rate: options
            .rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(RateLimit::new),
        users: RwLock::new(users),
        groups: RwLock::new(groups),
        user_lookup: Lookup::default(),
        group_lookup: Lookup::default(),
        project_lookups: Mutex::new(HashMap::new()),
    };

    let done_before = past.marks.iter().filter(|m| **m == Mark::Done).count();
    let progress = progress_bar(options.progress, n, done_before);
    let done = AtomicUsize::new(0);
    let settled = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let attempted = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let errors: Mutex<Vec<OperationError>> = Mutex::new(Vec::new());
    let io_error: Mutex<Option<PlanError>> = Mutex::new(None);
    let record = |r: Result<(), PlanError>| {
        if let Err(e) = r {
            stop.store(true, Ordering::SeqCst);
            lock(&io_error).get_or_insert(e);
        }
    };

    let run_one = |i: usize| {
        let op = &plan.operations[i];
        attempted.fetch_add(1, Ordering::Relaxed);
        let settle_first = past.marks[i] == Mark::Started;
        if let Some(j) = &journal {
            record(j.write(&Record {
                s: Some(i),
                ..Record::default()
            }));
        }
        match runner.run(op, settle_first) {
            Ok(d) => {
                done.fetch_add(1, Ordering::Relaxed);
                if d.outcome == Outcome::Settled {
                    settled.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(j) = &journal {
                    record(j.write(&Record {
                        d: Some(i),
                        o: Some(d.outcome),
                        id: d.id.clone(),
                        ..Record::default()
                    }));
                }
                if let Some(r) = &results {
                    record(r.write(&result_line(i, op, d.outcome, d.id.as_deref(), None)));
                }
            }
            Err(f) => {
                let count = failures.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(j) = &journal {
                    record(j.write(&Record {
                        f: Some(i),
                        id: f.id.clone(),
                        e: Some(f.error.clone()),
                        ..Record::default()
                    }));
                }
                if let Some(r) = &results {
                    record(r.write(&result_line(
                        i,
                        op,
                        Outcome::Failed,
                        f.id.as_deref(),
                        Some(&f.error),
                    )));
                }
                let mut list = lock(&errors);
                if list.len() < 1000 {
                    list.push(OperationError {
                        index: i,
                        operation: op.to_string(),
                        error: f.error,
                    });
                }
                if options.max_errors.is_some_and(|max| count >= max) {
                    stop.store(true, Ordering::SeqCst);
                }
            }
        }
        progress.inc(1);
    };

    let workers = options.concurrency.max(1);
    let mut start = 0;
    while start < n && !stop.load(Ordering::SeqCst) {
        let phase = plan.operations[start].phase();
        let end = plan.operations[start..]
            .iter()
            .position(|op| op.phase() != phase)
            .map_or(n, |k| start + k);
        let todo: Vec<usize> = (start..end)
            .filter(|&i| past.marks[i] != Mark::Done)
            .collect();
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers.min(todo.len()) {
                s.spawn(|| {
                    while !stop.load(Ordering::SeqCst) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = todo.get(k) else { break };
                        run_one(i);
                    }
                });
            }
        });
        start = end;
    }
    progress.finish_and_clear();
    if let Some(e) = lock(&io_error).take() {
        return Err(e);
    }
    let failed_count = failures.load(Ordering::SeqCst);
    let not_run = n
        .saturating_sub(done_before)
        .saturating_sub(attempted.load(Ordering::Relaxed));
    let report = ApplyReport {
        total: n,
        done_before,
        done: done.load(Ordering::Relaxed),
        settled: settled.load(Ordering::Relaxed),
        failed: failed_count,
        not_run,
        stopped: stop.load(Ordering::SeqCst) && not_run > 0,
        resumed,
        elapsed: started.elapsed(),
        errors: std::mem::take(&mut *lock(&errors)),
    };
    if let Some(j) = &journal {
        j.write(&Record {
            end: Some(report.is_complete()),
            ..Record::default()
        })?;
    }
    Ok(report)
}

fn progress_bar(wanted: bool, total: usize, done_before: usize) -> indicatif::ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} ({per_sec}, ETA {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_position(done_before as u64);
    bar.reset_eta();
    bar
}
