//! Project memberships of users and groups, with permissions derived from the project role
//! (and the server role). A project exists once it has had a member, and belongs to the tenant
//! it was first used in; another tenant gets a 404 for it.

use serde_json::{Value, json};

use super::access::{enter, require_admin, target_user};
use super::input::Input;
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, MemberKind, ProjectMember, ProjectRole, Role, State};

/// 404 when the project belongs to another tenant.
fn check_project(st: &State, tenant: &str, project_id: &str) -> Result<(), ApiError> {
    match st.projects.get(project_id) {
        Some(project) if project.tenant != tenant => Err(ApiError::not_found(format!(
            "project not found: {project_id}"
        ))),
        _ => Ok(()),
    }
}

/// Managing members is for tenant admins and the project's own admins (403 otherwise).
fn may_manage(st: &State, actor: &Actor, role: Role, project_id: &str) -> Result<(), ApiError> {
    let project_admin = st.projects.get(project_id).is_some_and(|p| {
        p.members.iter().any(|m| {
            m.kind == MemberKind::User && m.id == actor.user_id && m.role == ProjectRole::Admin
        })
    });
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
    check_project(st, tenant, project_id)?;
    let members: Vec<Value> = st
        .projects
        .get(project_id)
        .map(|p| {
            p.members
                .iter()
                .map(|m| st.member_json(project_id, tenant, m))
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply::ok(json!({ "members": members })))
}

/// The checks of work on a project's members: the actor enters the tenant, the project is
/// not another tenant's (404), and the actor may manage it (403).
fn managing(st: &State, actor: &Actor, tenant: &str, project_id: &str) -> Result<(), ApiError> {
    let role = enter(st, actor, tenant)?;
    check_project(st, tenant, project_id)?;
    may_manage(st, actor, role, project_id)
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
    let project = st.project_mut(tenant, project_id);
    let index = match project
        .members
        .iter()
        .position(|m| m.kind == kind && m.id == id)
    {
        Some(index) => {
            project.members[index].role = new_role;
            index
        }
        None => {
            project.members.push(ProjectMember {
                kind,
                id: id.to_owned(),
                role: new_role,
            });
            project.members.len() - 1
        }
    };
    let member = &st.projects[project_id].members[index];
    Ok(Reply::ok(st.member_json(project_id, tenant, member)))
}

/// The position of a member (user or group id) in the project, or a 404.
fn find_member(st: &State, project_id: &str, member_id: &str) -> Result<usize, ApiError> {
    st.projects
        .get(project_id)
        .and_then(|p| p.members.iter().position(|m| m.id == member_id))
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
    let index = find_member(st, project_id, member_id)?;
    let project = st.project_mut(tenant, project_id);
    project.members[index].role = new_role;
    let member = &st.projects[project_id].members[index];
    Ok(Reply::ok(st.member_json(project_id, tenant, member)))
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
    let index = find_member(st, project_id, member_id)?;
    st.project_mut(tenant, project_id).members.remove(index);
    Ok(Reply::no_content())
}
