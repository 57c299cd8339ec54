//! The in-memory model of the user API: tenants and workspaces, users, groups, project
//! memberships, grants (which are also the sessions), access tokens and external
//! authentications. Handlers lock it, check and change it, and render replies from it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::clock::{GRANT_VALIDITY, format_datetime};
use super::ids::Rng;
use super::ordered::Ordered;

/// The shortest password the fake accepts (its password policy).
pub(crate) const MIN_PASSWORD_LENGTH: usize = 8;

/// Access tokens are swept of expired ones when there are more than this many (at least).
const ACCESS_TOKEN_SWEEP: usize = 4096;

/// A server role, which is also a workspace role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    Reader,
    Demo,
    User,
    Admin,
}

impl Role {
    pub(crate) const NAMES: &'static str = "admin, user, demo, reader";

    pub(crate) fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            "demo" => Some(Role::Demo),
            "reader" => Some(Role::Reader),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::Demo => "demo",
            Role::Reader => "reader",
        }
    }
}

/// A role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ProjectRole {
    Reader,
    Member,
    Admin,
}

const READER_PERMISSIONS: &[&str] = &[
    "fingerprints.read.*",
    "fingerprints.write.create.adhoc",
    "items.read.*",
    "previews.read.*",
    "projects.read.*",
    "savedsearches.read.*",
    "scores.read.*",
    "signals.read.*",
    "sources.read.*",
];
const MEMBER_PERMISSIONS: &[&str] = &[
    "fingerprints.*",
    "items.*",
    "previews.*",
    "projects.read.*",
    "projects.write.*",
    "savedsearches.*",
    "scores.*",
    "signals.*",
    "sources.*",
];
const ADMIN_PERMISSIONS: &[&str] = &[
    "fingerprints.*",
    "items.*",
    "previews.*",
    "projects.*",
    "savedsearches.*",
    "scores.*",
    "signals.*",
    "sources.*",
];

impl ProjectRole {
    pub(crate) const NAMES: &'static str = "reader, member, admin";

    pub(crate) fn parse(name: &str) -> Option<ProjectRole> {
        match name {
            "reader" => Some(ProjectRole::Reader),
            "member" => Some(ProjectRole::Member),
            "admin" => Some(ProjectRole::Admin),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProjectRole::Reader => "reader",
            ProjectRole::Member => "member",
            ProjectRole::Admin => "admin",
        }
    }

    /// The permissions a member has in the project: from the project role, raised to the
    /// admin list for a server admin and capped at the reader list for a server reader or demo.
    pub(crate) fn permissions(self, server_role: Option<Role>) -> &'static [&'static str] {
        let effective = match server_role {
            Some(Role::Admin) => ProjectRole::Admin,
            Some(Role::Reader | Role::Demo) => ProjectRole::Reader,
            _ => self,
        };
        match effective {
            ProjectRole::Reader => READER_PERMISSIONS,
            ProjectRole::Member => MEMBER_PERMISSIONS,
            ProjectRole::Admin => ADMIN_PERMISSIONS,
        }
    }
}

/// A tenant; a workspace is a tenant with a title and members from other tenants.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub(crate) seq: u64,
    /// `Some` for a workspace.
    pub(crate) title: Option<String>,
    /// Workspace members (user id to role), besides the users whose home tenant this is.
    pub(crate) members: BTreeMap<String, Role>,
    /// The users whose home tenant this is, by creation (seq to user id).
    home_users: BTreeMap<u64, String>,
    /// The groups of the tenant, by creation (seq to group id).
    groups: BTreeMap<u64, String>,
}

#[derive(Debug)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) seq: u64,
    /// The home tenant.
    pub(crate) tenant: String,
    /// Change it with [`State::set_email`], which keeps the email index.
    pub(crate) email: String,
    pub(crate) full_name: Option<String>,
    /// The role in the home tenant.
    pub(crate) role: Role,
    pub(crate) password: Option<String>,
    /// Values set with update_user_data, returned at the top level of the user.
    pub(crate) custom: Map<String, Value>,
    /// The groups the user is a member of, in any tenant: (group seq, group id).
    groups: BTreeSet<(u64, String)>,
}

#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) id: String,
    pub(crate) seq: u64,
    pub(crate) tenant: String,
    pub(crate) name: String,
    /// Member user ids in the order they were added.
    members: Ordered<String, ()>,
}

impl Group {
    pub(crate) fn has_member(&self, user_id: &str) -> bool {
        self.members.contains(&user_id.to_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MemberKind {
    User,
    Group,
}

/// A member of a project: a user or a group, by id.
pub(crate) type MemberKey = (MemberKind, String);

/// Projects are not created through the user API: they are declared when the server is built,
/// each in a tenant.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) tenant: String,
    /// Members in the order they were added, with their role.
    pub(crate) members: Ordered<MemberKey, ProjectRole>,
}

/// A grant: a refresh token for a user. Sessions are grants too (a password login creates one),
/// so `/users/{u}/sessions/{id}` reads and deletes grants.
#[derive(Debug)]
pub(crate) struct Grant {
    pub(crate) id: String,
    pub(crate) user_id: String,
    /// `user` or `service`.
    pub(crate) kind: String,
    pub(crate) client_id: Option<String>,
    pub(crate) for_client_id: Option<String>,
    pub(crate) project_permissions: Option<Vec<String>>,
    pub(crate) refresh_token: String,
    pub(crate) created_at: SystemTime,
    /// The access tokens issued from it and not yet forgotten.
    access_tokens: HashSet<String>,
}

#[derive(Debug)]
struct AccessToken {
    grant_id: String,
    user_id: String,
    expires_at: Instant,
}

/// An external authentication of a user with a service (keyed by user and service).
#[derive(Debug, Clone)]
pub(crate) struct Authentication {
    pub(crate) service_user: String,
    pub(crate) access_token: String,
    pub(crate) access_secret: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) access_token_expires: Option<String>,
    pub(crate) access_secret_expires: Option<String>,
}

impl Authentication {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "access_secret": self.access_secret,
            "access_secret_expires": self.access_secret_expires,
            "access_token": self.access_token,
            "access_token_expires": self.access_token_expires,
            "display_name": self.display_name,
            "service_user": self.service_user,
            "state": "ok",
        })
    }
}

/// The identity behind a valid access token.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) user_id: String,
    pub(crate) grant_id: String,
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Unknown,
    Expired,
}

impl TokenProblem {
    pub(crate) fn message(self) -> &'static str {
        match self {
            TokenProblem::Unknown => "invalid access token",
            TokenProblem::Expired => "access token expired",
        }
    }
}

/// What the server was seeded with (see `FakeCredentials`).
#[derive(Debug, Clone)]
pub(crate) struct Seed {
    pub(crate) tenant: String,
    pub(crate) admin_user_id: String,
    pub(crate) admin_email: String,
    pub(crate) admin_password: String,
    pub(crate) refresh_token: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

#[derive(Debug)]
pub(crate) struct State {
    /// Whether the cluster has workspaces (`/v2/workspaces`); it decides what signup does.
    pub(crate) workspaces: bool,
    /// The seeded tenant: the global tenant of a cluster with workspaces.
    pub(crate) global_tenant: String,
    rng: Rng,
    seq: u64,
    access_token_ttl: Duration,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) tenants: HashMap<String, Tenant>,
    pub(crate) users: HashMap<String, User>,
    pub(crate) groups: HashMap<String, Group>,
    pub(crate) projects: HashMap<String, Project>,
    pub(crate) grants: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, String>,
    access_tokens: HashMap<String, AccessToken>,
    /// The number of access tokens above which the next one issued sweeps the expired ones.
    access_token_sweep: usize,
    /// Keyed by (user id, service).
    authentications: BTreeMap<(String, String), Authentication>,
    // Indexes, so that no request scans every user, group, grant or authentication.
    /// Lower-cased email to user id (emails are unique, compared case-insensitively).
    emails: HashMap<String, String>,
    /// (tenant, lower-cased name) to group id (names are unique in a tenant).
    group_names: HashMap<(String, String), String>,
    /// User id to the ids of their grants.
    user_grants: HashMap<String, BTreeSet<String>>,
    /// (service, service user) to the user id with that external authentication.
    service_users: HashMap<(String, String), String>,
}

impl State {
    /// A state with one tenant, its admin, an OAuth client and a refresh token for the admin.
    pub(crate) fn seeded(access_token_ttl: Duration) -> (State, Seed) {
        let mut rng = Rng::new();
        let client_id = format!("fake-client-{}", &rng.token()[..8]);
        let client_secret = rng.token();
        let mut state = State {
            workspaces: true,
            global_tenant: "acme".to_owned(),
            rng,
            seq: 0,
            access_token_ttl,
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            tenants: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
            projects: HashMap::new(),
            grants: HashMap::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            access_token_sweep: ACCESS_TOKEN_SWEEP,
            authentications: BTreeMap::new(),
            emails: HashMap::new(),
            group_names: HashMap::new(),
            user_grants: HashMap::new(),
            service_users: HashMap::new(),
        };
        let tenant = state.global_tenant.clone();
        state.add_tenant(&tenant, None);
        let admin_email = "admin@acme.example".to_owned();
        let admin_password = format!("pw-{}", &state.rng.token()[..24]);
        let admin_user_id = state.add_user(
            &tenant,
            &admin_email,
            Some("Acme Admin".to_owned()),
            Role::Admin,
            Some(admin_password.clone()),
        );
        let grant_id = state.add_grant(&admin_user_id, "user", None, None, None);
        let refresh_token = state.grants[&grant_id].refresh_token.clone();
        let seed = Seed {
            tenant,
            admin_user_id,
            admin_email,
            admin_password,
            refresh_token,
            client_id,
            client_secret,
        };
        (state, seed)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn new_id(&mut self) -> String {
        self.rng.id()
    }

    // ----- tenants -----

    pub(crate) fn add_tenant(&mut self, domain: &str, title: Option<String>) {
        let seq = self.next_seq();
        self.tenants.insert(
            domain.to_owned(),
            Tenant {
                seq,
                title,
                members: BTreeMap::new(),
                home_users: BTreeMap::new(),
                groups: BTreeMap::new(),
            },
        );
    }

    /// `base` made into a tenant domain (lowercase letters, digits and dashes) not yet in use.
    pub(crate) fn unique_domain(&self, base: &str) -> String {
        let mut slug = String::new();
        for c in base.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = match slug.trim_end_matches('-') {
            "" => "workspace".to_owned(),
            s => s.to_owned(),
        };
        if !self.tenants.contains_key(&slug) {
            return slug;
        }
        (2..)
            .map(|n| format!("{slug}-{n}"))
            .find(|candidate| !self.tenants.contains_key(candidate))
            .unwrap_or(slug)
    }

    /// The role of a user in a tenant: their home role, or their workspace role.
    pub(crate) fn role_in(&self, user_id: &str, tenant: &str) -> Option<Role> {
        let user = self.users.get(user_id)?;
        if user.tenant == tenant && self.tenants.contains_key(tenant) {
            return Some(user.role);
        }
        self.tenants.get(tenant)?.members.get(user_id).copied()
    }

    /// Users of a tenant (home users and workspace members), oldest first.
    pub(crate) fn tenant_users(&self, tenant: &str) -> Vec<&User> {
        let Some(t) = self.tenants.get(tenant) else {
            return Vec::new();
        };
        let mut users: Vec<&User> = t
            .home_users
            .values()
            .filter_map(|id| self.users.get(id))
            .collect();
        if !t.members.is_empty() {
            users.extend(
                t.members
                    .keys()
                    .filter_map(|id| self.users.get(id))
                    .filter(|u| u.tenant != tenant),
            );
            users.sort_by_key(|u| u.seq);
        }
        users
    }

    /// Whether some user has `tenant` as their home tenant.
    pub(crate) fn has_home_users(&self, tenant: &str) -> bool {
        self.tenants
            .get(tenant)
            .is_some_and(|t| !t.home_users.is_empty())
    }

    /// Removes a workspace and what lives in it: its groups and projects.
    pub(crate) fn remove_tenant(&mut self, domain: &str) {
        let Some(tenant) = self.tenants.remove(domain) else {
            return;
        };
        for group_id in tenant.groups.values() {
            self.remove_group(group_id);
        }
        self.projects.retain(|_, p| p.tenant != domain);
    }

    // ----- users -----

    pub(crate) fn add_user(
        &mut self,
        tenant: &str,
        email: &str,
        full_name: Option<String>,
        role: Role,
        password: Option<String>,
    ) -> String {
        let id = self.new_id();
        let seq = self.next_seq();
        self.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                seq,
                tenant: tenant.to_owned(),
                email: email.to_owned(),
                full_name,
                role,
                password,
                custom: Map::new(),
                groups: BTreeSet::new(),
            },
        );
        self.emails.insert(email.to_ascii_lowercase(), id.clone());
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.home_users.insert(seq, id.clone());
        }
        id
    }

    /// Emails are unique on the server, compared case-insensitively.
    pub(crate) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .get(self.emails.get(&email.to_ascii_lowercase())?)
    }

    /// Changes a user's email (the caller has checked it is free).
    pub(crate) fn set_email(&mut self, user_id: &str, email: String) {
        let Some(user) = self.users.get_mut(user_id) else {
            return;
        };
        let old = std::mem::replace(&mut user.email, email);
        let new_key = user.email.to_ascii_lowercase();
        self.emails.remove(&old.to_ascii_lowercase());
        self.emails.insert(new_key, user_id.to_owned());
    }

    /// Removes a user and everything that refers to them.
    pub(crate) fn remove_user(&mut self, user_id: &str) {
        let Some(user) = self.users.remove(user_id) else {
            return;
        };
        self.emails.remove(&user.email.to_ascii_lowercase());
        if let Some(t) = self.tenants.get_mut(&user.tenant) {
            t.home_users.remove(&user.seq);
        }
        for tenant in self.tenants.values_mut() {
            tenant.members.remove(user_id);
        }
        for (_, group_id) in &user.groups {
            if let Some(group) = self.groups.get_mut(group_id) {
                group.members.remove(&user.id);
            }
        }
        let key = (MemberKind::User, user.id.clone());
        for project in self.projects.values_mut() {
            project.members.remove(&key);
        }
        for grant in self.user_grants.remove(user_id).unwrap_or_default() {
            self.remove_grant(&grant);
        }
        let services: Vec<String> = self
            .authentications
            .range((user.id.clone(), String::new())..)
            .take_while(|((user, _), _)| *user == user_id)
            .map(|((_, service), _)| service.clone())
            .collect();
        for service in services {
            self.remove_authentication(user_id, &service);
        }
    }

    /// Groups of a tenant containing the user, oldest first.
    pub(crate) fn user_groups(&self, tenant: &str, user_id: &str) -> Vec<&Group> {
        let Some(user) = self.users.get(user_id) else {
            return Vec::new();
        };
        user.groups
            .iter()
            .filter_map(|(_, id)| self.groups.get(id))
            .filter(|g| g.tenant == tenant)
            .collect()
    }

    /// A user as the API shows it in lists: `email, full_name, id, role, role_permissions,
    /// tenant`, with the role they have in `tenant`.
    pub(crate) fn user_json(&self, user: &User, tenant: &str) -> Value {
        let role = self.role_in(&user.id, tenant).unwrap_or(user.role);
        json!({
            "email": user.email,
            "full_name": user.full_name,
            "id": user.id,
            "role": role.as_str(),
            "role_permissions": [role.as_str()],
            "tenant": tenant,
        })
    }

    /// A user with their custom values (when `custom`), their groups in `tenant`, and, when
    /// asked, their projects there.
    pub(crate) fn user_detail_json(
        &self,
        user: &User,
        tenant: &str,
        custom: bool,
        include_projects: bool,
    ) -> Value {
        let mut value = self.user_json(user, tenant);
        let Value::Object(map) = &mut value else {
            return value;
        };
        if custom {
            for (key, v) in &user.custom {
                map.insert(key.clone(), v.clone());
            }
        }
        let groups = self.user_groups(tenant, &user.id);
        let listed: Vec<Value> = groups
            .iter()
            .map(|g| json!({ "id": g.id, "name": g.name }))
            .collect();
        map.insert("groups".to_owned(), Value::Array(listed));
        if include_projects {
            let mut keys = vec![(MemberKind::User, user.id.clone())];
            keys.extend(groups.iter().map(|g| (MemberKind::Group, g.id.clone())));
            map.insert("projects".to_owned(), self.projects_json(tenant, &keys));
        }
        value
    }

    // ----- groups and projects -----

    pub(crate) fn add_group(&mut self, tenant: &str, name: String, members: Vec<String>) -> String {
        let id = self.new_id();
        let seq = self.next_seq();
        self.group_names
            .insert((tenant.to_owned(), name.to_ascii_lowercase()), id.clone());
        if let Some(t) = self.tenants.get_mut(tenant) {
            t.groups.insert(seq, id.clone());
        }
        self.groups.insert(
            id.clone(),
            Group {
                id: id.clone(),
                seq,
                tenant: tenant.to_owned(),
                name,
                members: Ordered::default(),
            },
        );
        self.set_group_members(&id, members);
        id
    }

    /// Groups of a tenant, oldest first.
    pub(crate) fn tenant_groups(&self, tenant: &str) -> Vec<&Group> {
        self.tenants
            .get(tenant)
            .map(|t| {
                t.groups
                    .values()
                    .filter_map(|id| self.groups.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The group of a tenant with this name (compared case-insensitively).
    pub(crate) fn group_by_name(&self, tenant: &str, name: &str) -> Option<&Group> {
        let key = (tenant.to_owned(), name.to_ascii_lowercase());
        self.groups.get(self.group_names.get(&key)?)
    }

    /// Renames a group (the caller has checked the name is free).
    pub(crate) fn rename_group(&mut self, group_id: &str, name: String) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let old = std::mem::replace(&mut group.name, name);
        let tenant = group.tenant.clone();
        let new_key = (tenant.clone(), group.name.to_ascii_lowercase());
        self.group_names.remove(&(tenant, old.to_ascii_lowercase()));
        self.group_names.insert(new_key, group_id.to_owned());
    }

    /// Adds a user to a group (again is fine).
    pub(crate) fn add_group_member(&mut self, group_id: &str, user_id: &str) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        group.members.insert(user_id.to_owned(), ());
        let entry = (group.seq, group.id.clone());
        if let Some(user) = self.users.get_mut(user_id) {
            user.groups.insert(entry);
        }
    }

    /// Removes a user from a group; whether they were a member.
    pub(crate) fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> bool {
        let Some(group) = self.groups.get_mut(group_id) else {
            return false;
        };
        let removed = group.members.remove(&user_id.to_owned()).is_some();
        let entry = (group.seq, group.id.clone());
        if let Some(user) = self.users.get_mut(user_id) {
            user.groups.remove(&entry);
        }
        removed
    }

    /// Replaces the members of a group, in the order given (duplicates ignored).
    pub(crate) fn set_group_members(&mut self, group_id: &str, members: Vec<String>) {
        let old: Vec<String> = self
            .groups
            .get(group_id)
            .map(|g| g.members.keys().cloned().collect())
            .unwrap_or_default();
        for user_id in old {
            self.remove_group_member(group_id, &user_id);
        }
        for user_id in members {
            self.add_group_member(group_id, &user_id);
        }
    }

    /// Removes a group, its members' memberships and its project memberships.
    pub(crate) fn remove_group(&mut self, group_id: &str) {
        self.set_group_members(group_id, Vec::new());
        let Some(group) = self.groups.remove(group_id) else {
            return;
        };
        self.group_names
            .remove(&(group.tenant.clone(), group.name.to_ascii_lowercase()));
        if let Some(t) = self.tenants.get_mut(&group.tenant) {
            t.groups.remove(&group.seq);
        }
        let key = (MemberKind::Group, group.id);
        for project in self.projects.values_mut() {
            project.members.remove(&key);
        }
    }

    /// Declares a project of `tenant`, without members.
    pub(crate) fn declare_project(&mut self, tenant: &str, project_id: &str) {
        let project = Project {
            tenant: tenant.to_owned(),
            members: Ordered::default(),
        };
        self.projects.insert(project_id.to_owned(), project);
    }

    /// A project of `tenant`, `None` when there is none with this id there.
    pub(crate) fn project_in(&self, tenant: &str, project_id: &str) -> Option<&Project> {
        self.projects.get(project_id).filter(|p| p.tenant == tenant)
    }

    /// A project of `tenant`, to change; `None` when there is none with this id there.
    pub(crate) fn project_in_mut(
        &mut self,
        tenant: &str,
        project_id: &str,
    ) -> Option<&mut Project> {
        self.projects
            .get_mut(project_id)
            .filter(|p| p.tenant == tenant)
    }

    pub(crate) fn group_json(&self, group: &Group, include_projects: bool) -> Value {
        let members: Vec<Value> = group
            .members
            .keys()
            .filter_map(|id| self.users.get(id))
            .map(|u| self.user_json(u, &group.tenant))
            .collect();
        let mut value = json!({ "id": group.id, "name": group.name, "members": members });
        if include_projects {
            let keys = [(MemberKind::Group, group.id.clone())];
            value["projects"] = self.projects_json(&group.tenant, &keys);
        }
        value
    }

    /// `[{"id", "role"}]` of the projects of `tenant` where one of `keys` is a member, with the
    /// highest role among them; sorted by project id.
    fn projects_json(&self, tenant: &str, keys: &[MemberKey]) -> Value {
        let mut projects: Vec<(&String, ProjectRole)> = self
            .projects
            .iter()
            .filter(|(_, p)| p.tenant == tenant)
            .filter_map(|(id, p)| {
                let best = keys.iter().filter_map(|k| p.members.get(k)).max()?;
                Some((id, *best))
            })
            .collect();
        projects.sort();
        Value::Array(
            projects
                .into_iter()
                .map(|(id, role)| json!({ "id": id, "role": role.as_str() }))
                .collect(),
        )
    }

    /// A project member as `get_project_members` shows it.
    pub(crate) fn member_json(
        &self,
        project_id: &str,
        tenant: &str,
        (kind, id): &MemberKey,
        role: ProjectRole,
    ) -> Value {
        match kind {
            MemberKind::User => {
                let user = self.users.get(id);
                let server_role = self.role_in(id, tenant);
                json!({
                    "email": user.map(|u| u.email.as_str()),
                    "full_name": user.and_then(|u| u.full_name.as_deref()),
                    "member_id": id,
                    "member_type": "user",
                    "server_role": server_role.map(Role::as_str),
                    "project_role": role.as_str(),
                    "project_id": project_id,
                    "permissions": role.permissions(server_role),
                })
            }
            MemberKind::Group => {
                let name = self.groups.get(id).map(|g| g.name.as_str());
                json!({
                    "email": null,
                    "full_name": name,
                    "name": name,
                    "member_id": id,
                    "member_type": "group",
                    "server_role": null,
                    "project_role": role.as_str(),
                    "project_id": project_id,
                    "permissions": role.permissions(None),
                })
            }
        }
    }

    // ----- grants, sessions and tokens -----

    pub(crate) fn add_grant(
        &mut self,
        user_id: &str,
        kind: &str,
        client_id: Option<&str>,
        for_client_id: Option<&str>,
        project_permissions: Option<Vec<String>>,
    ) -> String {
        let id = self.new_id();
        let refresh_token = self.rng.token();
        self.refresh_tokens
            .insert(refresh_token.clone(), id.clone());
        self.user_grants
            .entry(user_id.to_owned())
            .or_default()
            .insert(id.clone());
        self.grants.insert(
            id.clone(),
            Grant {
                id: id.clone(),
                user_id: user_id.to_owned(),
                kind: kind.to_owned(),
                client_id: client_id.map(str::to_owned),
                for_client_id: for_client_id.map(str::to_owned),
                project_permissions,
                refresh_token,
                created_at: SystemTime::now(),
                access_tokens: HashSet::new(),
            },
        );
        id
    }

    /// The grants of a user, oldest first.
    pub(crate) fn user_grants(&self, user_id: &str) -> Vec<&Grant> {
        let mut grants: Vec<&Grant> = self
            .user_grants
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.grants.get(id))
            .collect();
        grants.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        grants
    }

    /// Removes a grant: its refresh token and every access token issued from it stop working.
    pub(crate) fn remove_grant(&mut self, grant_id: &str) {
        if let Some(grant) = self.grants.remove(grant_id) {
            self.refresh_tokens.remove(&grant.refresh_token);
            for token in &grant.access_tokens {
                self.access_tokens.remove(token);
            }
            if let Some(ids) = self.user_grants.get_mut(&grant.user_id) {
                ids.remove(grant_id);
                if ids.is_empty() {
                    self.user_grants.remove(&grant.user_id);
                }
            }
        }
    }

    pub(crate) fn grant_by_refresh_token(&self, refresh_token: &str) -> Option<&Grant> {
        self.grants.get(self.refresh_tokens.get(refresh_token)?)
    }

    /// A new access token for a grant, valid for the configured time.
    pub(crate) fn issue_access_token(&mut self, grant_id: &str) -> String {
        let now = Instant::now();
        if self.access_tokens.len() > self.access_token_sweep {
            self.sweep_access_tokens(now);
        }
        let user_id = self
            .grants
            .get(grant_id)
            .map(|g| g.user_id.clone())
            .unwrap_or_default();
        let token = self.rng.token();
        if let Some(grant) = self.grants.get_mut(grant_id) {
            grant.access_tokens.insert(token.clone());
        }
        // A lifetime too long for the clock never expires: a century is as good.
        let expires_at = now
            .checked_add(self.access_token_ttl)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
            .unwrap_or(now);
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                grant_id: grant_id.to_owned(),
                user_id,
                expires_at,
            },
        );
        token
    }

    /// Forgets the expired access tokens; the next sweep comes when there are twice as many
    /// left (at least [`ACCESS_TOKEN_SWEEP`]), so sweeping stays O(1) per token issued.
    fn sweep_access_tokens(&mut self, now: Instant) {
        let expired: Vec<(String, String)> = self
            .access_tokens
            .iter()
            .filter(|(_, t)| t.expires_at <= now)
            .map(|(token, t)| (token.clone(), t.grant_id.clone()))
            .collect();
        for (token, grant_id) in expired {
            self.forget_access_token(&token, &grant_id);
        }
        self.access_token_sweep = self
            .access_tokens
            .len()
            .saturating_mul(2)
            .max(ACCESS_TOKEN_SWEEP);
    }

    fn forget_access_token(&mut self, token: &str, grant_id: &str) {
        self.access_tokens.remove(token);
        if let Some(grant) = self.grants.get_mut(grant_id) {
            grant.access_tokens.remove(token);
        }
    }

    /// Who an access token belongs to; an expired token is forgotten.
    pub(crate) fn check_access_token(&mut self, token: &str) -> Result<Actor, TokenProblem> {
        let entry = self.access_tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if entry.expires_at <= Instant::now() {
            let grant_id = entry.grant_id.clone();
            self.forget_access_token(token, &grant_id);
            return Err(TokenProblem::Expired);
        }
        Ok(Actor {
            user_id: entry.user_id.clone(),
            grant_id: entry.grant_id.clone(),
        })
    }

    /// Makes every access token expired now (refresh tokens keep working).
    pub(crate) fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for token in self.access_tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// A grant as `get_user_grants` lists it.
    pub(crate) fn grant_json(grant: &Grant) -> Value {
        json!({
            "created_at": format_datetime(grant.created_at),
            "valid_to": format_datetime(grant.created_at + GRANT_VALIDITY),
            "id": grant.id,
            "type": grant.kind,
        })
    }

    /// A grant as `get_session` shows it.
    pub(crate) fn session_json(grant: &Grant) -> Value {
        let mut value = State::grant_json(grant);
        value["user_id"] = json!(grant.user_id);
        value["client_id"] = json!(grant.client_id);
        value["for_client_id"] = json!(grant.for_client_id);
        value["project_permissions"] = json!(grant.project_permissions);
        value
    }

    // ----- external authentications -----

    pub(crate) fn authentication(&self, user_id: &str, service: &str) -> Option<&Authentication> {
        self.authentications
            .get(&(user_id.to_owned(), service.to_owned()))
    }

    /// The user linked to `service_user` of `service`.
    pub(crate) fn user_by_service_user(&self, service: &str, service_user: &str) -> Option<&str> {
        self.service_users
            .get(&(service.to_owned(), service_user.to_owned()))
            .map(String::as_str)
    }

    /// Sets a user's authentication with a service; whether it is new.
    pub(crate) fn put_authentication(
        &mut self,
        user_id: &str,
        service: &str,
        auth: Authentication,
    ) -> bool {
        let key = (service.to_owned(), auth.service_user.clone());
        let old = self
            .authentications
            .insert((user_id.to_owned(), service.to_owned()), auth);
        if let Some(old) = &old {
            self.service_users
                .remove(&(service.to_owned(), old.service_user.clone()));
        }
        self.service_users.insert(key, user_id.to_owned());
        old.is_none()
    }

    /// Removes a user's authentication with a service; whether there was one.
    pub(crate) fn remove_authentication(&mut self, user_id: &str, service: &str) -> bool {
        let Some(old) = self
            .authentications
            .remove(&(user_id.to_owned(), service.to_owned()))
        else {
            return false;
        };
        self.service_users
            .remove(&(service.to_owned(), old.service_user));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_state_has_a_usable_admin() {
        let (mut state, seed) = State::seeded(Duration::from_secs(60));
        assert_eq!(
            state.role_in(&seed.admin_user_id, &seed.tenant),
            Some(Role::Admin)
        );
        let grant = state.grant_by_refresh_token(&seed.refresh_token).unwrap();
        let grant_id = grant.id.clone();
        let token = state.issue_access_token(&grant_id);
        assert_eq!(
            state.check_access_token(&token).unwrap().user_id,
            seed.admin_user_id
        );
        state.remove_grant(&grant_id);
        assert_eq!(
            state.check_access_token(&token).unwrap_err(),
            TokenProblem::Unknown
        );
        assert!(state.grant_by_refresh_token(&seed.refresh_token).is_none());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let (mut state, seed) = State::seeded(Duration::ZERO);
        let grant_id = state
            .grant_by_refresh_token(&seed.refresh_token)
            .unwrap()
            .id
            .clone();
        let token = state.issue_access_token(&grant_id);
        assert_eq!(
            state.check_access_token(&token).unwrap_err(),
            TokenProblem::Expired
        );
    }

    #[test]
    fn domains_are_slugs_and_unique() {
        let (mut state, _) = State::seeded(Duration::from_secs(60));
        assert_eq!(state.unique_domain("Project 5!"), "project-5");
        assert_eq!(state.unique_domain("ACME"), "acme-2");
        assert_eq!(state.unique_domain("  "), "workspace");
        state.add_tenant("workspace", Some("w".into()));
        assert_eq!(state.unique_domain("***"), "workspace-2");
    }

    #[test]
    fn the_indexes_follow_every_change() {
        let (mut st, seed) = State::seeded(Duration::from_secs(60));
        let jane = st.add_user("acme", "Jane@Example.com", None, Role::User, None);
        assert_eq!(st.user_by_email("jane@EXAMPLE.com").unwrap().id, jane);
        st.set_email(&jane, "j@example.com".into());
        assert!(st.user_by_email("jane@example.com").is_none());
        assert_eq!(st.user_by_email("J@example.com").unwrap().id, jane);

        let team = st.add_group("acme", "Team".into(), vec![jane.clone(), jane.clone()]);
        assert_eq!(st.group_by_name("acme", "TEAM").unwrap().id, team);
        assert!(st.group_by_name("other", "Team").is_none());
        st.rename_group(&team, "Crew".into());
        assert!(st.group_by_name("acme", "team").is_none());
        assert_eq!(st.user_groups("acme", &jane)[0].name, "Crew");
        st.declare_project("acme", "p");
        st.project_in_mut("acme", "p")
            .unwrap()
            .members
            .insert((MemberKind::Group, team.clone()), ProjectRole::Reader);

        let grant = st.add_grant(&jane, "user", None, None, None);
        let token = st.issue_access_token(&grant);
        let auth = Authentication {
            service_user: "jd".into(),
            access_token: "t".into(),
            access_secret: None,
            display_name: None,
            access_token_expires: None,
            access_secret_expires: None,
        };
        assert!(st.put_authentication(&jane, "svc", auth.clone()));
        assert_eq!(st.user_by_service_user("svc", "jd"), Some(jane.as_str()));
        let renamed = Authentication {
            service_user: "jd2".into(),
            ..auth
        };
        assert!(!st.put_authentication(&jane, "svc", renamed));
        assert!(st.user_by_service_user("svc", "jd").is_none());

        st.remove_user(&jane);
        assert!(st.user_by_email("j@example.com").is_none());
        assert!(!st.groups[&team].has_member(&jane));
        assert!(st.user_by_service_user("svc", "jd2").is_none());
        assert_eq!(
            st.check_access_token(&token).unwrap_err(),
            TokenProblem::Unknown
        );
        assert!(st.user_grants(&jane).is_empty());
        assert_eq!(st.tenant_users("acme").len(), 1);

        st.remove_group(&team);
        assert!(
            st.project_in("acme", "p")
                .unwrap()
                .members
                .iter()
                .next()
                .is_none()
        );
        assert!(st.tenant_groups("acme").is_empty());
        assert!(st.has_home_users(&seed.tenant));
    }

    #[test]
    fn sweeping_expired_access_tokens_is_amortised() {
        let (mut st, seed) = State::seeded(Duration::from_secs(60));
        let grant = st
            .grant_by_refresh_token(&seed.refresh_token)
            .unwrap()
            .id
            .clone();
        for _ in 0..(ACCESS_TOKEN_SWEEP + 10) {
            st.issue_access_token(&grant);
        }
        // Nothing had expired: the next sweep waits until there are twice as many.
        assert!(st.access_token_sweep >= 2 * ACCESS_TOKEN_SWEEP);
        st.expire_access_tokens();
        st.access_token_sweep = 0;
        st.issue_access_token(&grant);
        assert_eq!(st.access_tokens.len(), 1);
        assert_eq!(st.grants[&grant].access_tokens.len(), 1);
    }

    #[test]
    fn permissions_follow_project_and_server_roles() {
        assert!(
            ProjectRole::Member
                .permissions(Some(Role::User))
                .contains(&"projects.write.*")
        );
        assert!(
            !ProjectRole::Member
                .permissions(Some(Role::Reader))
                .contains(&"items.*")
        );
        assert!(
            ProjectRole::Reader
                .permissions(Some(Role::Admin))
                .contains(&"projects.*")
        );
    }
}
