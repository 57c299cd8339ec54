//! Planning: read the tenant, compare it with the desired state, and list the operations that
//! bring it there, in the order they must run.

use crate::desired::{DesiredState, MemberRef, email_key, group_key, hex};
use crate::error::{PlanError, Problem};
use crate::tenant::{self, ReadScope, Tenant};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use squirro_user_api::{Client, ProjectRole, ServerRole};
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::io::Write;
use std::path::Path;

/// The version of the plan file format.
const FORMAT: u32 = 1;

/// One change of a user's field: `full_name`, `role` or a custom data key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// Its value on the tenant (`null` when absent).
    pub from: Value,
    /// The value wanted (`null` removes a custom value).
    pub to: Value,
}

/// One operation of a plan. Objects that exist carry their ids; objects the plan creates are
/// named (users by email, groups by name) and their ids are found when the plan is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// Create a group (`create_group`).
    CreateGroup {
        /// Its name.
        name: String,
    },
    /// Create a user (`add_user`), then set its name and data (`update_user_data`).
    CreateUser {
        /// The email.
        email: String,
        /// The tenant role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// The display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        full_name: Option<String>,
        /// Custom data.
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        data: Map<String, Value>,
    },
    /// Change a user's name, role or data (`update_user_data`).
    UpdateUser {
        /// The email.
        email: String,
        /// The user's id.
        user_id: String,
        /// The changes.
        changes: Vec<FieldChange>,
    },
    /// Add a user to a group (`add_group_member`).
    AddGroupMember {
        /// The group's name.
        group: String,
        /// The group's id, when it exists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group_id: Option<String>,
        /// The user's email.
        email: String,
        /// The user's id, when the user exists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// Remove a user from a group (`delete_group_member`).
    RemoveGroupMember {
        /// The group's name.
        group: String,
        /// The group's id.
        group_id: String,
        /// The user's email (or id, when the user is not visible).
        email: String,
        /// The user's id.
        user_id: String,
    },
    /// Set a user's role in a workspace (`set_workspace_user_role`).
    SetWorkspaceRole {
        /// The workspace's domain.
        domain: String,
        /// The user's email.
        email: String,
        /// The user's id, when the user exists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        /// The role wanted.
        role: String,
        /// The role now (`None`: not in the workspace).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// Add a user or group to a project (`add_project_member`).
    AddProjectMember {
        /// The project id.
        project: String,
        /// The member.
        member: MemberRef,
        /// The member's id, when it exists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_id: Option<String>,
        /// The role.
        role: String,
    },
    /// Change a project member's role (`update_project_member`).
    UpdateProjectMember {
        /// The project id.
        project: String,
        /// The member.
        member: MemberRef,
        /// The member's id.
        member_id: String,
        /// The role wanted.
        role: String,
        /// The role now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// Remove a user or group from a project (`delete_project_member`).
    RemoveProjectMember {
        /// The project id.
        project: String,
        /// The member as shown (email, group name, or id).
        member: String,
        /// The member's id.
        member_id: String,
    },
    /// Delete a user (`delete_user`).
    DeleteUser {
        /// The email.
        email: String,
        /// The id.
        user_id: String,
    },
}

/// Whether an operation creates, changes or removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `+`
    Create,
    /// `~`
    Change,
    /// `-`
    Remove,
}

impl Operation {
    /// Whether it creates, changes or removes.
    pub fn kind(&self) -> Kind {
        match self {
            Operation::CreateGroup { .. }
            | Operation::CreateUser { .. }
            | Operation::AddGroupMember { .. }
            | Operation::AddProjectMember { .. } => Kind::Create,
            Operation::SetWorkspaceRole { from: None, .. } => Kind::Create,
            Operation::UpdateUser { .. }
            | Operation::SetWorkspaceRole { .. }
            | Operation::UpdateProjectMember { .. } => Kind::Change,
            Operation::RemoveGroupMember { .. }
            | Operation::RemoveProjectMember { .. }
            | Operation::DeleteUser { .. } => Kind::Remove,
        }
    }

    /// The phase it runs in: users and groups, then group members and workspace roles, then
    /// project members, then deleted users. A phase starts when the one before has ended.
    pub fn phase(&self) -> u8 {
        match self {
            Operation::CreateGroup { .. }
            | Operation::CreateUser { .. }
            | Operation::UpdateUser { .. } => 0,
            Operation::AddGroupMember { .. }
            | Operation::RemoveGroupMember { .. }
            | Operation::SetWorkspaceRole { .. } => 1,
            Operation::AddProjectMember { .. }
            | Operation::UpdateProjectMember { .. }
            | Operation::RemoveProjectMember { .. } => 2,
            Operation::DeleteUser { .. } => 3,
        }
    }

    /// What it does, in a few words (`create user`, `add group member`, ...).
    pub fn action(&self) -> &'static str {
        match self {
            Operation::CreateGroup { .. } => "create group",
            Operation::CreateUser { .. } => "create user",
            Operation::UpdateUser { .. } => "change user",
            Operation::AddGroupMember { .. } => "add group member",
            Operation::RemoveGroupMember { .. } => "remove group member",
            Operation::SetWorkspaceRole { .. } => "set workspace role",
            Operation::AddProjectMember { .. } => "add project member",
            Operation::UpdateProjectMember { .. } => "change project member",
            Operation::RemoveProjectMember { .. } => "remove project member",
            Operation::DeleteUser { .. } => "delete user",
        }
    }

    /// What it acts on (`jane@example.com`, `Team East / jane@example.com`, ...).
    pub fn target(&self) -> String {
        match self {
            Operation::CreateGroup { name } => name.clone(),
            Operation::CreateUser { email, .. }
            | Operation::UpdateUser { email, .. }
            | Operation::DeleteUser { email, .. } => email.clone(),
            Operation::AddGroupMember { group, email, .. }
            | Operation::RemoveGroupMember { group, email, .. } => format!("{group} / {email}"),
            Operation::SetWorkspaceRole { domain, email, .. } => format!("{domain} / {email}"),
            Operation::AddProjectMember {
                project, member, ..
            }
            | Operation::UpdateProjectMember {
                project, member, ..
            } => format!("{project} / {member}"),
            Operation::RemoveProjectMember {
                project, member, ..
            } => format!("{project} / {member}"),
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        v => v.to_string(),
    }
}

impl fmt::Display for Operation {
    /// The human form: `+ create user jane@example.com (role user)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind() {
            Kind::Create => '+',
            Kind::Change => '~',
            Kind::Remove => '-',
        };
        write!(f, "{sign} ")?;
        match self {
            Operation::CreateGroup { name } => write!(f, "create group {name:?}"),
            Operation::CreateUser {
                email,
                role,
                full_name,
                data,
            } => {
                write!(f, "create user {email}")?;
                let mut details = Vec::new();
                if let Some(r) = role {
                    details.push(format!("role {r}"));
                }
                if let Some(n) = full_name {
                    details.push(format!("full_name {n:?}"));
                }
                for (k, v) in data {
                    details.push(format!("{k}={v}"));
                }
                if !details.is_empty() {
                    write!(f, " ({})", details.join(", "))?;
                }
                Ok(())
            }
            Operation::UpdateUser { email, changes, .. } => {
                write!(f, "change user {email}: ")?;
                let list: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} -> {}", c.field, show(&c.from), show(&c.to)))
                    .collect();
                f.write_str(&list.join(", "))
            }
            Operation::AddGroupMember { group, email, .. } => {
                write!(f, "add {email} to group {group:?}")
            }
            Operation::RemoveGroupMember { group, email, .. } => {
                write!(f, "remove {email} from group {group:?}")
            }
            Operation::SetWorkspaceRole {
                domain,
                email,
                role,
                from,
                ..
            } => match from {
                None => write!(f, "add {email} to workspace {domain} as {role}"),
                Some(from) => write!(
                    f,
                    "change role of {email} in workspace {domain}: {from} -> {role}"
                ),
            },
            Operation::AddProjectMember {
                project,
                member,
                role,
                ..
            } => write!(f, "add {member} to project {project} as {role}"),
            Operation::UpdateProjectMember {
                project,
                member,
                role,
                from,
                ..
            } => write!(
                f,
                "change {member} in project {project}: {} -> {role}",
                from.as_deref().unwrap_or("(none)")
            ),
            Operation::RemoveProjectMember {
                project, member, ..
            } => write!(f, "remove {member} from project {project}"),
            Operation::DeleteUser { email, .. } => write!(f, "delete user {email}"),
        }
    }
}

/// How to plan.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Include removals (group and project members not in the state; users matching the
    /// state's `remove_users_matching` who are not in it). Without it they are listed as
    /// withheld and nothing is removed.
    pub allow_deletion: bool,
}

impl PlanOptions {
    /// Sets [`allow_deletion`](Self::allow_deletion).
    pub fn allow_deletion(mut self, yes: bool) -> Self {
        self.allow_deletion = yes;
        self
    }
}

/// Counts of a plan's operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// `+` operations.
    pub create: usize,
    /// `~` operations.
    pub change: usize,
    /// `-` operations.
    pub remove: usize,
    /// Removals left out because deletion was not allowed.
    pub withheld: usize,
}

/// The operations that bring a tenant to a desired state, in the order they run, and a
/// fingerprint of the tenant they were planned against.
///
/// Save it with [`save`](Plan::save) and apply it later with [`apply`](crate::apply): a plan
/// loaded from a file is applied only if the tenant still has the fingerprint it was planned
/// against ([`PlanError::Stale`] otherwise).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// The plan file format (1).
    pub format: u32,
    /// The user API the tenant was read from.
    pub user_api_url: String,
    /// The tenant.
    pub tenant: Option<String>,
    /// The desired-state file.
    pub source: String,
    /// A digest of the desired-state files.
    pub source_digest: String,
    /// The fingerprint of what was read from the tenant.
    pub fingerprint: String,
    /// Whether removals were allowed.
    pub allow_deletion: bool,
    /// The counts.
    pub summary: Summary,
    pub(crate) read_scope: ReadScope,
    /// The operations, in the order they run.
    pub operations: Vec<Operation>,
    /// Removals left out because deletion was not allowed (shown, never applied).
    pub withheld: Vec<Operation>,
    /// Set when the plan was read from a file: applying it checks the fingerprint first.
    #[serde(skip)]
    pub(crate) from_file: bool,
}

/// Reads the tenant and plans the operations that bring it to `state`.
///
/// Only GET requests are sent. Members that name neither a user (or group) of the state nor one
/// of the tenant, and projects or workspaces the tenant does not have, are reported all at
/// once as [`PlanError::Invalid`], with their file and line.
///
/// The client should allow large replies: a 100,000-user tenant's `get_users` reply is larger
/// than the SDK's default limit (see [`tune_client`](crate::tune_client)).
pub fn plan(
    client: &Client,
    state: &DesiredState,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let scope = ReadScope {
        data_keys: state.data_keys(),
        groups: state.groups.iter().map(|g| group_key(&g.name)).collect(),
        projects: state.projects.iter().map(|p| p.id.clone()).collect(),
        workspaces: state.workspaces.iter().map(|w| w.domain.clone()).collect(),
    };
    let tenant = tenant::read(client, &scope)?;
    check_references(state, &tenant)?;
    let mut diff = Diff {
        allow: options.allow_deletion,
        ops: Vec::new(),
        withheld: Vec::new(),
    };
    diff.users(state, &tenant);
    diff.groups(state, &tenant);
    diff.workspaces(state, &tenant);
    diff.projects(state, &tenant);
    diff.deleted_users(state, &tenant);
    diff.ops.sort_by_key(Operation::phase);
    let mut summary = Summary {
        withheld: diff.withheld.len(),
        ..Summary::default()
    };
    for op in &diff.ops {
        match op.kind() {
            Kind::Create => summary.create += 1,
            Kind::Change => summary.change += 1,
            Kind::Remove => summary.remove += 1,
        }
    }
    Ok(Plan {
        format: FORMAT,
        user_api_url: client.user_api_url().to_string(),
        tenant: client.tenant(),
        source: state.source.clone(),
        source_digest: state.digest.clone(),
        fingerprint: tenant.fingerprint,
        allow_deletion: options.allow_deletion,
        summary,
        read_scope: scope,
        operations: diff.ops,
        withheld: diff.withheld,
        from_file: false,
    })
}

fn check_references(state: &DesiredState, tenant: &Tenant) -> Result<(), PlanError> {
    let mut problems: Vec<Problem> = Vec::new();
    let known_user = |email: &str| state.user(email).is_some() || tenant.user(email).is_some();
    let state_groups: HashSet<String> = state.groups.iter().map(|g| group_key(&g.name)).collect();
    for g in &state.groups {
        for (email, origin) in &g.members {
            if !known_user(email) {
                problems.push(origin.problem(
                    format!("group {:?} member", g.name),
                    format!("{email} is neither a user of the state nor of the tenant"),
                ));
            }
        }
    }
    for p in &state.projects {
        if matches!(tenant.projects.get(&p.id), Some(None) | None) {
            problems.push(p.origin.problem(
                format!("project {}", p.id),
                "the tenant has no such project",
            ));
        }
        for (member, _, origin) in &p.members {
            match member {
                MemberRef::User(email) if !known_user(email) => problems.push(origin.problem(
                    format!("project {} member", p.id),
                    format!("{email} is neither a user of the state nor of the tenant"),
                )),
                MemberRef::Group(name)
                    if !state_groups.contains(&group_key(name)) && tenant.group(name).is_none() =>
                {
                    problems.push(origin.problem(
                        format!("project {} member", p.id),
                        format!("group {name:?} is neither a group of the state nor of the tenant"),
                    ))
                }
                _ => {}
            }
        }
    }
    for w in &state.workspaces {
        if matches!(tenant.workspaces.get(&w.domain), Some(None) | None) {
            problems.push(w.origin.problem(
                format!("workspace {}", w.domain),
                "the cluster has no such workspace",
            ));
        }
        for (email, _, origin) in &w.users {
            if !known_user(email) {
                problems.push(origin.problem(
                    format!("workspace {} user", w.domain),
                    format!("{email} is neither a user of the state nor of the tenant"),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(PlanError::Invalid(problems))
    }
}

struct Diff {
    allow: bool,
    ops: Vec<Operation>,
    withheld: Vec<Operation>,
}

impl Diff {
    fn remove(&mut self, op: Operation) {
        if self.allow {
            self.ops.push(op);
        } else {
            self.withheld.push(op);
        }
    }

    fn users(&mut self, state: &DesiredState, tenant: &Tenant) {
        for u in &state.users {
            let Some(t) = tenant.user(&u.email) else {
                self.ops.push(Operation::CreateUser {
                    email: u.email.clone(),
                    role: u.role.as_ref().map(|r| r.as_str().to_string()),
                    full_name: u.full_name.clone(),
                    data: u.data.clone(),
                });
                continue;
            };
            let mut changes = Vec::new();
            if let Some(name) = &u.full_name {
                if t.full_name.as_ref() != Some(name) {
                    changes.push(FieldChange {
                        field: "full_name".into(),
                        from: t.full_name.clone().map_or(Value::Null, Value::String),
                        to: Value::String(name.clone()),
                    });
                }
            }
            if let Some(role) = &u.role {
                if t.role.as_deref() != Some(role.as_str()) {
                    changes.push(FieldChange {
                        field: "role".into(),
                        from: t.role.clone().map_or(Value::Null, Value::String),
                        to: Value::String(role.as_str().to_string()),
                    });
                }
            }
            for (k, v) in &u.data {
                let now = t.data.get(k);
                let differs = if v.is_null() {
                    now.is_some()
                } else {
                    now != Some(v)
                };
                if differs {
                    changes.push(FieldChange {
                        field: k.clone(),
                        from: now.cloned().unwrap_or(Value::Null),
                        to: v.clone(),
                    });
                }
            }
            if !changes.is_empty() {
                self.ops.push(Operation::UpdateUser {
                    email: t.email.clone(),
                    user_id: t.id.clone(),
                    changes,
                });
            }
        }
    }

    fn groups(&mut self, state: &DesiredState, tenant: &Tenant) {
        for g in &state.groups {
            let existing = tenant.group(&g.name);
            if existing.is_none() {
                self.ops.push(Operation::CreateGroup {
                    name: g.name.clone(),
                });
            }
            let current: HashSet<&str> = existing
                .and_then(|t| t.members.as_ref())
                .map(|m| m.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut wanted_ids: HashSet<&str> = HashSet::new();
            for (email, _) in &g.members {
                let user = tenant.user(email);
                if let Some(u) = user {
                    wanted_ids.insert(&u.id);
                    if current.contains(u.id.as_str()) {
                        continue;
                    }
                }
                self.ops.push(Operation::AddGroupMember {
                    group: existing.map_or_else(|| g.name.clone(), |t| t.name.clone()),
                    group_id: existing.map(|t| t.id.clone()),
                    email: user.map_or_else(
                        || {
                            state
                                .user(email)
                                .map_or_else(|| email.clone(), |d| d.email.clone())
                        },
                        |u| u.email.clone(),
                    ),
                    user_id: user.map(|u| u.id.clone()),
                });
            }
            if let Some(t) = existing {
                for id in t.members.iter().flatten() {
                    if !wanted_ids.contains(id.as_str()) {
                        self.remove(Operation::RemoveGroupMember {
                            group: t.name.clone(),
                            group_id: t.id.clone(),
                            email: tenant.email_of(id).unwrap_or(id).to_string(),
                            user_id: id.clone(),
                        });
                    }
                }
            }
        }
    }

    fn workspaces(&mut self, state: &DesiredState, tenant: &Tenant) {
        for w in &state.workspaces {
            let current = tenant.workspaces.get(&w.domain).and_then(Option::as_ref);
            for (email, role, _) in &w.users {
                let user = tenant.user(email);
                let now = user
                    .and_then(|u| current.and_then(|c| c.get(&u.id)))
                    .map(|r| r.clone().unwrap_or_default());
                if now.as_deref() == Some(role.as_str()) {
                    continue;
                }
                self.ops.push(Operation::SetWorkspaceRole {
                    domain: w.domain.clone(),
                    email: user.map_or_else(|| email.clone(), |u| u.email.clone()),
                    user_id: user.map(|u| u.id.clone()),
                    role: role.as_str().to_string(),
                    from: now,
                });
            }
        }
    }

    fn projects(&mut self, state: &DesiredState, tenant: &Tenant) {
        for p in &state.projects {
            let current: HashMap<(bool, &str), Option<&str>> = tenant
                .projects
                .get(&p.id)
                .and_then(Option::as_ref)
                .map(|m| {
                    m.iter()
                        .map(|m| ((m.is_group, m.id.as_str()), m.role.as_deref()))
                        .collect()
                })
                .unwrap_or_default();
            let mut wanted: HashSet<(bool, String)> = HashSet::new();
            for (member, role, _) in &p.members {
                let (is_group, id, shown) = match member {
                    MemberRef::User(email) => {
                        let u = tenant.user(email);
                        let shown = u.map_or_else(
                            || {
                                state
                                    .user(email)
                                    .map_or_else(|| email.clone(), |d| email_key(&d.email))
                            },
                            |u| email_key(&u.email),
                        );
                        (false, u.map(|u| u.id.clone()), MemberRef::User(shown))
                    }
                    MemberRef::Group(name) => {
                        let g = tenant.group(name);
                        let shown = state
                            .groups
                            .iter()
                            .find(|d| group_key(&d.name) == group_key(name))
                            .map_or_else(|| name.clone(), |d| d.name.clone());
                        (
                            true,
                            g.map(|g| g.id.clone()),
                            MemberRef::Group(g.map_or(shown, |g| g.name.clone())),
                        )
                    }
                };
                if let Some(id) = &id {
                    wanted.insert((is_group, id.clone()));
                    if let Some(now) = current.get(&(is_group, id.as_str())) {
                        if *now != Some(role.as_str()) {
                            self.ops.push(Operation::UpdateProjectMember {
                                project: p.id.clone(),
                                member: shown,
                                member_id: id.clone(),
                                role: role.as_str().to_string(),
                                from: now.map(str::to_string),
                            });
                        }
                        continue;
                    }
                }
                self.ops.push(Operation::AddProjectMember {
                    project: p.id.clone(),
                    member: shown,
                    member_id: id,
                    role: role.as_str().to_string(),
                });
            }
            let mut extra: Vec<(bool, &str)> = current
                .keys()
                .filter(|(g, id)| !wanted.contains(&(*g, (*id).to_string())))
                .copied()
                .collect();
            extra.sort();
            for (is_group, id) in extra {
                let shown = if is_group {
                    format!("group {:?}", tenant.group_name_of(id).unwrap_or(id))
                } else {
                    format!("user {}", tenant.email_of(id).unwrap_or(id))
                };
                self.remove(Operation::RemoveProjectMember {
                    project: p.id.clone(),
                    member: shown,
                    member_id: id.to_string(),
                });
            }
        }
    }

    fn deleted_users(&mut self, state: &DesiredState, tenant: &Tenant) {
        if state.remove_users_matching.is_empty() {
            return;
        }
        for u in &tenant.users {
            if state.user(&u.email).is_none() && state.removable(&u.email) {
                self.remove(Operation::DeleteUser {
                    email: u.email.clone(),
                    user_id: u.id.clone(),
                });
            }
        }
    }
}

impl Plan {
    /// The counts of the plan's operations.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// An identifier of this plan: a digest of its fingerprint and its operations. A journal
    /// belongs to one plan.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.fingerprint.as_bytes());
        h.update([0]);
        h.update(self.user_api_url.as_bytes());
        h.update([0]);
        h.update(self.tenant.as_deref().unwrap_or("").as_bytes());
        for op in &self.operations {
            h.update([0]);
            // Serializing a value of this enum cannot fail (no maps with non-string keys).
            h.update(serde_json::to_vec(op).unwrap_or_default());
        }
        hex(&h.finalize()[..16])
    }

    /// Writes the human form: one line per operation (`+ create`, `~ change`, `- remove`), at
    /// most `limit` of them (then how many more), the totals, and the withheld removals.
    pub fn write_human(&self, w: &mut impl Write, limit: Option<usize>) -> std::io::Result<()> {
        let limit = limit.unwrap_or(usize::MAX);
        for op in self.operations.iter().take(limit) {
            writeln!(w, "{op}")?;
        }
        if self.operations.len() > limit {
            writeln!(w, "... and {} more", self.operations.len() - limit)?;
        }
        let s = self.summary;
        if self.is_empty() {
            writeln!(w, "No changes: the tenant is in the desired state.")?;
        } else {
            writeln!(
                w,
                "Plan: {} to create, {} to change, {} to remove.",
                s.create, s.change, s.remove
            )?;
        }
        if !self.withheld.is_empty() {
            writeln!(
                w,
                "{} removal{} withheld (deletion not allowed; allow it to include them):",
                self.withheld.len(),
                if self.withheld.len() == 1 { "" } else { "s" }
            )?;
            for op in self.withheld.iter().take(limit) {
                writeln!(w, "  {op}")?;
            }
            if self.withheld.len() > limit {
                writeln!(w, "  ... and {} more", self.withheld.len() - limit)?;
            }
        }
        Ok(())
    }

    /// The human form as a string (every operation).
    pub fn to_human(&self) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_human(&mut out, None);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The plan as JSON (the plan file's content).
    pub fn to_json(&self) -> String {
        // Serializing a plan cannot fail: all its maps have string keys.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Saves the plan as JSON, to apply it later.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), PlanError> {
        let path = path.as_ref();
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
            serde_json::to_writer(&mut f, self)?;
            f.write_all(b"\n")?;
            f.flush()?;
            f.get_ref().sync_all()
        };
        write().map_err(|e| PlanError::io(path, e))
    }

    /// Loads a saved plan. Applying it checks that the tenant has not changed since.
    pub fn load(path: impl AsRef<Path>) -> Result<Plan, PlanError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| PlanError::io(path, e))?;
        let mut plan: Plan = serde_json::from_slice(&bytes).map_err(|e| PlanError::BadFile {
            path: path.to_path_buf(),
            reason: format!("not a plan file: {e}"),
        })?;
        if plan.format != FORMAT {
            return Err(PlanError::BadFile {
                path: path.to_path_buf(),
                reason: format!("plan format {} (this version reads {FORMAT})", plan.format),
            });
        }
        plan.check_roles().map_err(|reason| PlanError::BadFile {
            path: path.to_path_buf(),
            reason,
        })?;
        plan.from_file = true;
        Ok(plan)
    }

    /// Whether a file holds a saved plan (rather than a desired state): a JSON file with
    /// `"format"` and `"operations"` at the top.
    pub fn is_plan_file(path: impl AsRef<Path>) -> bool {
        #[derive(Deserialize)]
        struct Probe {
            #[allow(dead_code)]
            format: u32,
            #[allow(dead_code)]
            fingerprint: String,
        }
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Probe>(&b).ok())
            .is_some()
    }

    fn check_roles(&self) -> Result<(), String> {
        let mut bad = String::new();
        for (i, op) in self.operations.iter().enumerate() {
            let ok = match op {
                Operation::CreateUser { role: Some(r), .. }
                | Operation::SetWorkspaceRole { role: r, .. } => r.parse::<ServerRole>().is_ok(),
                Operation::AddProjectMember { role, .. }
                | Operation::UpdateProjectMember { role, .. } => {
                    role.parse::<ProjectRole>().is_ok()
                }
                _ => true,
            };
            if !ok {
                let _ = write!(bad, "operation {i} has an unknown role; ");
            }
        }
        if bad.is_empty() { Ok(()) } else { Err(bad) }
    }
}
