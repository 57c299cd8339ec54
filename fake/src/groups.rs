//! Groups of a tenant and their members. Bodies are forms; `members` and `projects` are
//! JSON-in-form lists (`[{"id": ...}]`, bare ids accepted too).

use serde_json::Value;

use super::access::{enter, require_admin, target_user};
use super::input::{Input, Pairs, id_list};
use super::projects::project_of;
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, Group, MemberKind, ProjectRole, State};

/// A group of the tenant, or a 404.
fn group_in<'a>(st: &'a State, tenant: &str, group_id: &str) -> Result<&'a Group, ApiError> {
    st.groups
        .get(group_id)
        .filter(|g| g.tenant == tenant)
        .ok_or_else(|| ApiError::not_found(format!("group not found: {group_id}")))
}

/// The checks of admin work on one group: the actor enters the tenant as an admin (403;
/// `what` completes "only an admin can ..."), and the group is one of the tenant (404).
fn admin_on_group<'a>(
    st: &'a State,
    actor: &Actor,
    tenant: &str,
    group_id: &str,
    what: &str,
) -> Result<&'a Group, ApiError> {
    require_admin(enter(st, actor, tenant)?, what)?;
    group_in(st, tenant, group_id)
}

/// 409 when another group of the tenant has this name (compared case-insensitively).
fn check_name_free(
    st: &State,
    tenant: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let taken = st
        .group_by_name(tenant, name)
        .is_some_and(|g| Some(g.id.as_str()) != except);
    if taken {
        Err(ApiError::conflict(format!(
            "a group named {name:?} already exists"
        )))
    } else {
        Ok(())
    }
}

/// The `members` field as user ids of the tenant (each must exist: 404 otherwise), deduplicated.
fn members_field(st: &State, tenant: &str, form: &Pairs) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) = form.json("members")? else {
        return Ok(None);
    };
    let mut ids = id_list("members", &value)?;
    for id in &ids {
        target_user(st, tenant, id)?;
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(Some(ids))
}

/// `GET /{v}/{tenant}/groups`: a list of groups with their members, oldest first.
pub(crate) fn list(st: &mut State, actor: &Actor, tenant: &str) -> Outcome {
    enter(st, actor, tenant)?;
    let groups: Vec<Value> = st
        .tenant_groups(tenant)
        .into_iter()
        .map(|g| st.group_json(g, false))
        .collect();
    Ok(Reply::ok(Value::Array(groups)))
}

/// `POST /{v}/{tenant}/groups` (form `{name, members?}`), admins only. 201 the group.
pub(crate) fn create(st: &mut State, actor: &Actor, input: &Input, tenant: &str) -> Outcome {
    let role = enter(st, actor, tenant)?;
    require_admin(role, "create groups")?;
    let form = input.form()?;
    let name = form.required("name")?.to_owned();
    let members = members_field(st, tenant, &form)?.unwrap_or_default();
    check_name_free(st, tenant, &name, None)?;
    let id = st.add_group(tenant, name, members);
    Ok(Reply::created(st.group_json(&st.groups[&id], false)))
}

/// `GET /{v}/{tenant}/groups/{group_id}`, with `projects` when `include_projects=True`.
pub(crate) fn get(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    group_id: &str,
) -> Outcome {
    enter(st, actor, tenant)?;
    let include_projects = input.query.bool("include_projects")?.unwrap_or(false);
    let group = group_in(st, tenant, group_id)?;
    Ok(Reply::ok(st.group_json(group, include_projects)))
}

/// `PUT /{v}/{tenant}/groups/{group_id}` (form `{name, members?, projects?}`), admins only.
/// `members` replaces the members; `projects` (project ids) sets the projects the group is a
/// member of in this tenant: new ones get the role `member`, existing ones keep theirs.
pub(crate) fn update(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    group_id: &str,
) -> Outcome {
    admin_on_group(st, actor, tenant, group_id, "update groups")?;
    let form = input.form()?;
    let name = form.required("name")?.to_owned();
    let members = members_field(st, tenant, &form)?;
    let projects = match form.json("projects")? {
        Some(value) => Some(id_list("projects", &value)?),
        None => None,
    };
    for project_id in projects.iter().flatten() {
        project_of(st, tenant, project_id)?;
    }
    check_name_free(st, tenant, &name, Some(group_id))?;

    st.rename_group(group_id, name);
    if let Some(members) = members {
        st.set_group_members(group_id, members);
    }
    if let Some(projects) = projects {
        let key = (MemberKind::Group, group_id.to_owned());
        for (project_id, project) in st.projects.iter_mut().filter(|(_, p)| p.tenant == tenant) {
            if projects.contains(project_id) {
                // New ones get the role `member`, existing ones keep theirs.
                if !project.members.contains(&key) {
                    project.members.insert(key.clone(), ProjectRole::Member);
                }
            } else {
                project.members.remove(&key);
            }
        }
    }
    Ok(Reply::ok(st.group_json(&st.groups[group_id], false)))
}

/// `DELETE /{v}/{tenant}/groups/{group_id}`, admins only; its project memberships go too. 204.
pub(crate) fn delete(st: &mut State, actor: &Actor, tenant: &str, group_id: &str) -> Outcome {
    admin_on_group(st, actor, tenant, group_id, "delete groups")?;
    st.remove_group(group_id);
    Ok(Reply::no_content())
}

/// `POST /{v}/{tenant}/groups/{group_id}` (form `{user_id}`), admins only: adds the user (again
/// is fine) and answers the user.
pub(crate) fn add_member(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    group_id: &str,
) -> Outcome {
    admin_on_group(st, actor, tenant, group_id, "change group members")?;
    let form = input.form()?;
    let user_id = form.required("user_id")?;
    target_user(st, tenant, user_id)?;
    st.add_group_member(group_id, user_id);
    Ok(Reply::ok(st.user_json(&st.users[user_id], tenant)))
}

/// `DELETE /{v}/{tenant}/groups/{group_id}/members/{user_id}`, admins only; 404 when the user is
/// not a member. 204.
pub(crate) fn remove_member(
    st: &mut State,
    actor: &Actor,
    tenant: &str,
    group_id: &str,
    user_id: &str,
) -> Outcome {
    let group = admin_on_group(st, actor, tenant, group_id, "change group members")?;
    if !group.has_member(user_id) {
        return Err(ApiError::not_found(format!(
            "user {user_id} is not a member of group {group_id}"
        )));
    }
    st.remove_group_member(group_id, user_id);
    Ok(Reply::no_content())
}
