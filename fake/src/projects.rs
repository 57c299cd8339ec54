//! Project memberships of users and groups, with permissions derived from the project role
//! (and the server role). Projects are declared when the server is built, each in a tenant; an
//! unknown project, or one of another tenant, is a 404.

use serde_json::{Value, json};

use super::access::{enter, require_admin, target_user};
use super::input::Input;
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, MemberKey, MemberKind, Project, ProjectRole, Role, State};

/// The project of the tenant, or a 404.
pub(crate) fn project_of<'a>(
    st: &'a State,
    tenant: &str,
    project_id: &str,
) -> Result<&'a Project, ApiError> {
    st.project_in(tenant, project_id)
        .ok_or_else(|| ApiError::not_found(format!("project not found: {project_id}")))
}

/// Managing members is for tenant admins and the project's own admins (403 otherwise).
fn may_manage(st: &State, actor: &Actor, role: Role, project_id: &str) -> Result<(), ApiError> {
    let key = (MemberKind::User, actor.user_id.clone());
    let project_admin = st
        .projects
        .get(project_id)
        .and_then(|p| p.members.get(&key))
        .is_some_and(|role| *role == ProjectRole::Admin);
    if project_admin {
        Ok(())
    } else {
        require_admin(role, "manage project members")
    }
}

fn parse_role(name: &str) -> Result<ProjectRole, ApiError> {
    ProjectRole::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid role {name:?}; one of: {}",
            ProjectRole::NAMES
        ))
    })
}

/// `GET /{v}/{tenant}/projects/{project_id}/members`: `{"members": [...]}`.
pub(crate) fn members(st: &mut State, actor: &Actor, tenant: &str, project_id: &str) -> Outcome {
    enter(st, actor, tenant)?;
    let members: Vec<Value> = project_of(st, tenant, project_id)?
        .members
        .iter()
        .map(|(key, role)| st.member_json(project_id, tenant, key, *role))
        .collect();
    Ok(Reply::ok(json!({ "members": members })))
}

/// The checks of work on a project's members: the actor enters the tenant, the project is
/// one of the tenant (404), and the actor may manage it (403).
fn managing(st: &State, actor: &Actor, tenant: &str, project_id: &str) -> Result<(), ApiError> {
    let role = enter(st, actor, tenant)?;
    project_of(st, tenant, project_id)?;
    may_manage(st, actor, role, project_id)
}

/// The project of the tenant to change, once [`managing`] has found it.
fn project_mut<'a>(
    st: &'a mut State,
    tenant: &str,
    project_id: &str,
) -> Result<&'a mut Project, ApiError> {
    st.project_in_mut(tenant, project_id)
        .ok_or_else(|| ApiError::not_found(format!("project not found: {project_id}")))
}

/// `POST /{v}/{tenant}/projects/{project_id}/members` (form `{user_id | group_id, role}`):
/// exactly one of user_id and group_id (400 otherwise); adding an existing member sets its
/// role. 200 the member.
pub(crate) fn add_member(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    project_id: &str,
) -> Outcome {
    managing(st, actor, tenant, project_id)?;
    let form = input.form()?;
    let new_role = parse_role(form.required("role")?)?;
    let user_id = form.get("user_id").filter(|v| !v.is_empty());
    let group_id = form.get("group_id").filter(|v| !v.is_empty());
    let (kind, id) = match (user_id, group_id) {
        (Some(user_id), None) => {
            target_user(st, tenant, user_id)?;
            (MemberKind::User, user_id)
        }
        (None, Some(group_id)) => {
            if st.groups.get(group_id).is_none_or(|g| g.tenant != tenant) {
                return Err(ApiError::not_found(format!("group not found: {group_id}")));
            }
            (MemberKind::Group, group_id)
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of user_id and group_id",
            ));
        }
    };
    let key = (kind, id.to_owned());
    project_mut(st, tenant, project_id)?
        .members
        .insert(key.clone(), new_role);
    Ok(Reply::ok(
        st.member_json(project_id, tenant, &key, new_role),
    ))
}

/// The member (user or group id) of the project, or a 404.
fn find_member(st: &State, project_id: &str, member_id: &str) -> Result<MemberKey, ApiError> {
    let members = st.projects.get(project_id).map(|p| &p.members);
    [MemberKind::User, MemberKind::Group]
        .into_iter()
        .map(|kind| (kind, member_id.to_owned()))
        .find(|key| members.is_some_and(|m| m.contains(key)))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "{member_id} is not a member of project {project_id}"
            ))
        })
}

/// `PUT /{v}/{tenant}/projects/{project_id}/members/{member_id}` (form `{role}`). 200 the member.
pub(crate) fn update_member(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    project_id: &str,
    member_id: &str,
) -> Outcome {
    managing(st, actor, tenant, project_id)?;
    let new_role = parse_role(input.form()?.required("role")?)?;
    let key = find_member(st, project_id, member_id)?;
    if let Some(role) = project_mut(st, tenant, project_id)?.members.get_mut(&key) {
        *role = new_role;
    }
    Ok(Reply::ok(
        st.member_json(project_id, tenant, &key, new_role),
    ))
}

/// `DELETE /{v}/{tenant}/projects/{project_id}/members/{member_id}`. 204.
pub(crate) fn remove_member(
    st: &mut State,
    actor: &Actor,
    tenant: &str,
    project_id: &str,
    member_id: &str,
) -> Outcome {
    managing(st, actor, tenant, project_id)?;
    let key = find_member(st, project_id, member_id)?;
    project_mut(st, tenant, project_id)?.members.remove(&key);
    Ok(Reply::no_content())
}
