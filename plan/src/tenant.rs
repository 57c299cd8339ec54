//! Reading the tenant: users (streamed, keeping only what a plan compares), groups and the
//! members of the groups named, the members of the projects named, the users of the workspaces
//! named; and a fingerprint of all of it.
//!
//! Replies are decoded into lean shapes straight from the bytes (a 100,000-user `get_users`
//! reply is about 30 MB; each user is read as a map, its managed fields kept, the rest dropped),
//! so memory stays a small multiple of the reply.

use crate::desired::{email_key, group_key};
use crate::error::PlanError;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use squirro_user_api::{Client, Error, Request};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// What a plan reads besides all users: stored in the plan, so applying it (and resuming)
/// reads the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReadScope {
    /// Custom data keys compared.
    pub data_keys: BTreeSet<String>,
    /// Groups whose members are read (keys: names in lower case).
    pub groups: BTreeSet<String>,
    /// Projects whose members are read.
    pub projects: BTreeSet<String>,
    /// Workspaces whose users are read.
    pub workspaces: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TenantUser {
    pub id: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: Option<String>,
    /// The managed custom data keys the user has.
    pub data: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct TenantGroup {
    pub id: String,
    pub name: String,
    /// Member user ids, for the groups in the read scope.
    pub members: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectMember {
    pub id: String,
    pub is_group: bool,
    pub role: Option<String>,
}

/// The tenant as read.
#[derive(Debug, Default)]
pub(crate) struct Tenant {
    pub users: Vec<TenantUser>,
    pub by_email: HashMap<String, usize>,
    pub by_id: HashMap<String, usize>,
    pub groups: Vec<TenantGroup>,
    pub group_by_key: HashMap<String, usize>,
    /// Project id -> its members (`None`: the project does not exist).
    pub projects: BTreeMap<String, Option<Vec<ProjectMember>>>,
    /// Workspace domain -> user id -> role (`None`: the workspace does not exist).
    pub workspaces: BTreeMap<String, Option<BTreeMap<String, Option<String>>>>,
    pub fingerprint: String,
}

impl Tenant {
    pub fn user(&self, email: &str) -> Option<&TenantUser> {
        self.by_email
            .get(&email_key(email))
            .map(|&i| &self.users[i])
    }
    pub fn group(&self, name: &str) -> Option<&TenantGroup> {
        self.group_by_key
            .get(&group_key(name))
            .map(|&i| &self.groups[i])
    }
    pub fn email_of(&self, user_id: &str) -> Option<&str> {
        self.by_id
            .get(user_id)
            .map(|&i| self.users[i].email.as_str())
    }
    pub fn group_name_of(&self, group_id: &str) -> Option<&str> {
        self.groups
            .iter()
            .find(|g| g.id == group_id)
            .map(|g| g.name.as_str())
    }
}

/// Builds a request from the client's context; a client holding only a refresh token learns
/// its tenant from a first (small) call.
pub(crate) fn request(
    client: &Client,
    build: impl Fn() -> Result<Request, Error>,
) -> Result<Request, Error> {
    match build() {
        Err(Error::InvalidInput { param, .. })
            if param == "tenant" && client.tenant().is_none() =>
        {
            client.get_users_password_policy().send()?;
            build()
        }
        other => other,
    }
}

fn fetch<T: DeserializeOwned>(
    client: &Client,
    build: impl Fn() -> Result<Request, Error>,
) -> Result<T, Error> {
    let request = request(client, build)?;
    let reply = client.execute(&request)?;
    decode(request.operation(), reply.status(), reply.body())
}

fn decode<T: DeserializeOwned>(
    operation: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| decode_error(operation, status, body, e))
}

fn decode_error(operation: &'static str, status: u16, body: &[u8], e: serde_json::Error) -> Error {
    Error::Decode {
        operation,
        status,
        target: "the shape the planner reads",
        excerpt: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        source: std::sync::Arc::new(e),
    }
}

#[derive(Deserialize)]
struct LeanGroup {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct LeanId {
    id: String,
}

#[derive(Deserialize)]
struct LeanGroupDetail {
    #[serde(default)]
    members: Option<Vec<LeanId>>,
}

#[derive(Deserialize)]
struct LeanMember {
    member_id: String,
    #[serde(default)]
    member_type: Option<String>,
    #[serde(default)]
    project_role: Option<String>,
}

#[derive(Deserialize)]
struct LeanMembers {
    #[serde(default)]
    members: Option<Vec<LeanMember>>,
}

#[derive(Deserialize)]
struct LeanWorkspaceUser {
    id: String,
    #[serde(default)]
    role: Option<String>,
}

/// All users, with the custom data keys in `data_keys` (none: the reply leaves out custom
/// data altogether).
pub(crate) fn read_users(
    client: &Client,
    data_keys: &BTreeSet<String>,
) -> Result<Vec<TenantUser>, Error> {
    let include_config = !data_keys.is_empty();
    let request = request(client, || {
        client.get_users().include_config(include_config).request()
    })?;
    let reply = client.execute(&request)?;
    let mut users = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(reply.body());
    UsersReply {
        keys: data_keys,
        out: &mut users,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| decode_error(request.operation(), reply.status(), reply.body(), e))?;
    Ok(users)
}

/// All groups: id and name.
pub(crate) fn read_groups(client: &Client) -> Result<Vec<(String, String)>, Error> {
    let groups: Vec<LeanGroup> = fetch(client, || client.get_groups().request())?;
    Ok(groups
        .into_iter()
        .map(|g| (g.id, g.name.unwrap_or_default()))
        .collect())
}

/// The member ids of a group.
pub(crate) fn read_group_members(client: &Client, group_id: &str) -> Result<Vec<String>, Error> {
    let group: LeanGroupDetail = fetch(client, || client.get_group(group_id).request())?;
    Ok(group
        .members
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.id)
        .collect())
}

/// The members of a project; `None` when it does not exist (404).
pub(crate) fn read_project_members(
    client: &Client,
    project_id: &str,
) -> Result<Option<Vec<ProjectMember>>, Error> {
    match fetch::<LeanMembers>(client, || client.get_project_members(project_id).request()) {
        Ok(list) => Ok(Some(
            list.members
                .unwrap_or_default()
                .into_iter()
                .map(|m| ProjectMember {
                    id: m.member_id,
                    is_group: m.member_type.as_deref() == Some("group"),
                    role: m.project_role,
                })
                .collect(),
        )),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The users of a workspace and their roles; `None` when it does not exist (404).
pub(crate) fn read_workspace_users(
    client: &Client,
    domain: &str,
) -> Result<Option<BTreeMap<String, Option<String>>>, Error> {
    match fetch::<Vec<LeanWorkspaceUser>>(client, || client.get_workspace_users(domain).request()) {
        Ok(list) => Ok(Some(list.into_iter().map(|u| (u.id, u.role)).collect())),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads what a plan compares, and fingerprints it.
pub(crate) fn read(client: &Client, scope: &ReadScope) -> Result<Tenant, PlanError> {
    let mut users =
        read_users(client, &scope.data_keys).map_err(|e| PlanError::read("get_users", e))?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut groups: Vec<TenantGroup> = read_groups(client)
        .map_err(|e| PlanError::read("get_groups", e))?
        .into_iter()
        .map(|(id, name)| TenantGroup {
            id,
            name,
            members: None,
        })
        .collect();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    for g in &mut groups {
        if scope.groups.contains(&group_key(&g.name)) {
            let mut members = read_group_members(client, &g.id)
                .map_err(|e| PlanError::read(format!("get_group {:?}", g.name), e))?;
            members.sort();
            g.members = Some(members);
        }
    }
    let mut projects = BTreeMap::new();
    for id in &scope.projects {
        let mut members = read_project_members(client, id)
            .map_err(|e| PlanError::read(format!("get_project_members {id}"), e))?;
        if let Some(m) = &mut members {
            m.sort_by(|a, b| (a.is_group, &a.id).cmp(&(b.is_group, &b.id)));
        }
        projects.insert(id.clone(), members);
    }
    let mut workspaces = BTreeMap::new();
    for domain in &scope.workspaces {
        let users = read_workspace_users(client, domain)
            .map_err(|e| PlanError::read(format!("get_workspace_users {domain}"), e))?;
        workspaces.insert(domain.clone(), users);
    }
    let mut tenant = Tenant {
        by_email: users
            .iter()
            .enumerate()
            .map(|(i, u)| (email_key(&u.email), i))
            .collect(),
        by_id: users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect(),
        group_by_key: groups
            .iter()
            .enumerate()
            .map(|(i, g)| (group_key(&g.name), i))
            .collect(),
        users,
        groups,
        projects,
        workspaces,
        fingerprint: String::new(),
    };
    tenant.fingerprint = fingerprint(&tenant);
    Ok(tenant)
}

/// A digest of everything read, in a canonical order.
fn fingerprint(t: &Tenant) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update(s.as_bytes());
        h.update([0]);
    };
    for u in &t.users {
        field("u");
        field(&u.id);
        field(&u.email);
        field(u.full_name.as_deref().unwrap_or("\u{1}"));
        field(u.role.as_deref().unwrap_or("\u{1}"));
        field(&Value::Object(u.data.clone()).to_string());
    }
    for g in &t.groups {
        field("g");
        field(&g.id);
        field(&g.name);
        for m in g.members.iter().flatten() {
            field(m);
        }
    }
    for (id, members) in &t.projects {
        field("p");
        field(id);
        for m in members.iter().flatten() {
            field(&m.id);
            field(if m.is_group { "group" } else { "user" });
            field(m.role.as_deref().unwrap_or("\u{1}"));
        }
    }
    for (domain, users) in &t.workspaces {
        field("w");
        field(domain);
        for (id, role) in users.iter().flatten() {
            field(id);
            field(role.as_deref().unwrap_or("\u{1}"));
        }
    }
    crate::desired::hex(&h.finalize()[..16])
}

// ------------------------------------------------------------------ streaming users

struct UsersReply<'a> {
    keys: &'a BTreeSet<String>,
    out: &'a mut Vec<TenantUser>,
}

impl<'de> DeserializeSeed<'de> for UsersReply<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UsersReply<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with `users`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "users" {
                map.next_value_seed(UserList {
                    keys: self.keys,
                    out: &mut *self.out,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct UserList<'a> {
    keys: &'a BTreeSet<String>,
    out: &'a mut Vec<TenantUser>,
}

impl<'de> DeserializeSeed<'de> for UserList<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for UserList<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of users")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            self.out.reserve(n);
        }
        while let Some(user) = seq.next_element_seed(OneUser { keys: self.keys })? {
            if let Some(user) = user {
                self.out.push(user);
            }
        }
        Ok(())
    }
}

struct OneUser<'a> {
    keys: &'a BTreeSet<String>,
}

impl<'de> DeserializeSeed<'de> for OneUser<'_> {
    type Value = Option<TenantUser>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneUser<'_> {
    type Value = Option<TenantUser>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut email, mut full_name, mut role) = (None, None, None, None);
        let mut data = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => id = map.next_value::<Option<String>>()?,
                "email" => email = map.next_value::<Option<String>>()?,
                "full_name" => full_name = map.next_value::<Option<String>>()?,
                "role" => role = map.next_value::<Option<String>>()?,
                k if self.keys.contains(k) => {
                    let v: Value = map.next_value()?;
                    if !v.is_null() {
                        data.insert(key, v);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // A user without an id or email cannot be matched: it is left alone.
        Ok(match (id, email) {
            (Some(id), Some(email)) => Some(TenantUser {
                id,
                email,
                full_name,
                role,
                data,
            }),
            _ => None,
        })
    }
}
