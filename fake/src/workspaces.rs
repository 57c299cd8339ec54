//! Workspaces (`/v2/workspaces`): tenants with a title, whose members come from other tenants.
//! A workspace's domain works as a tenant in every `/{v}/{tenant}/...` route.

use serde_json::{Value, json};

use super::access::{enter, require_admin};
use super::input::{Input, is_valid_email, json_required, json_str};
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, Role, State};

/// A workspace (not a plain tenant), or a 404.
fn check_workspace(st: &State, domain: &str) -> Result<(), ApiError> {
    match st.tenants.get(domain) {
        Some(t) if t.title.is_some() => Ok(()),
        _ => Err(ApiError::not_found(format!(
            "workspace not found: {domain}"
        ))),
    }
}

fn workspace_json(st: &State, domain: &str, include_projects: bool) -> Value {
    let title = st.tenants.get(domain).and_then(|t| t.title.clone());
    let mut value = json!({ "domain": domain, "title": title });
    if include_projects {
        let mut projects: Vec<&String> = st
            .projects
            .iter()
            .filter(|(_, p)| p.tenant == domain)
            .map(|(id, _)| id)
            .collect();
        projects.sort();
        value["projects"] = projects.into_iter().map(|id| json!({ "id": id })).collect();
    }
    value
}

/// `GET /v2/workspaces?include_projects=...&admin_only=...`: `{"workspaces": [...]}`, the
/// workspaces the caller is a member of (an admin of, with `admin_only=True`), by domain.
pub(crate) fn list(st: &mut State, actor: &Actor, input: &Input) -> Outcome {
    let include_projects = input.query.bool("include_projects")?.unwrap_or(false);
    let admin_only = input.query.bool("admin_only")?.unwrap_or(false);
    let mut domains: Vec<&String> = st
        .tenants
        .iter()
        .filter(|(_, t)| t.title.is_some())
        .filter(|(domain, _)| match st.role_in(&actor.user_id, domain) {
            Some(role) => !admin_only || role == Role::Admin,
            None => false,
        })
        .map(|(domain, _)| domain)
        .collect();
    domains.sort();
    let workspaces: Vec<Value> = domains
        .into_iter()
        .map(|d| workspace_json(st, d, include_projects))
        .collect();
    Ok(Reply::ok(json!({ "workspaces": workspaces })))
}

/// `POST /v2/workspaces` (JSON `{title}`), for admins of their home tenant; the creator becomes
/// the workspace's admin and the domain is the title as a slug. 201 `{domain, title}`.
pub(crate) fn create(st: &mut State, actor: &Actor, input: &Input) -> Outcome {
    let body = input.json()?;
    let title = json_required(&body, "title")?.to_owned();
    let home_role = st
        .users
        .get(&actor.user_id)
        .and_then(|u| st.role_in(&u.id, &u.tenant))
        .unwrap_or(Role::Reader);
    require_admin(home_role, "create workspaces")?;
    let domain = st.unique_domain(&title);
    st.add_tenant(&domain, Some(title));
    if let Some(tenant) = st.tenants.get_mut(&domain) {
        tenant.members.insert(actor.user_id.clone(), Role::Admin);
    }
    Ok(Reply::created(workspace_json(st, &domain, false)))
}

/// `PUT /v2/workspaces/{domain}` (JSON `{title}`), workspace admins only.
pub(crate) fn update(st: &mut State, actor: &Actor, input: &Input, domain: &str) -> Outcome {
    check_workspace(st, domain)?;
    require_admin(enter(st, actor, domain)?, "update a workspace")?;
    let body = input.json()?;
    let title = json_required(&body, "title")?.to_owned();
    if let Some(tenant) = st.tenants.get_mut(domain) {
        tenant.title = Some(title);
    }
    Ok(Reply::ok(workspace_json(st, domain, false)))
}

/// `DELETE /v2/workspaces/{domain}`, workspace admins only; its groups and projects go. 204.
pub(crate) fn delete(st: &mut State, actor: &Actor, domain: &str) -> Outcome {
    check_workspace(st, domain)?;
    require_admin(enter(st, actor, domain)?, "delete a workspace")?;
    st.remove_tenant(domain);
    Ok(Reply::no_content())
}

/// `GET /v2/workspaces/{domain}/users`: `[{id, email, role, full_name}]`, for members.
pub(crate) fn users(st: &mut State, actor: &Actor, domain: &str) -> Outcome {
    check_workspace(st, domain)?;
    enter(st, actor, domain)?;
    let users: Vec<Value> = st
        .tenant_users(domain)
        .into_iter()
        .map(|u| {
            let role = st.role_in(&u.id, domain).unwrap_or(u.role);
            json!({ "id": u.id, "email": u.email, "role": role.as_str(), "full_name": u.full_name })
        })
        .collect();
    Ok(Reply::ok(Value::Array(users)))
}

/// `POST /v2/workspaces/{domain}/users`, workspace admins only, JSON `{emails, role}` (unknown
/// emails become new users who belong to workspaces only) or `{user_id, role}` (sets the role).
/// `[{user_id, workspace}]`: 201 when someone joined, 200 when only roles changed.
pub(crate) fn add_users(st: &mut State, actor: &Actor, input: &Input, domain: &str) -> Outcome {
    check_workspace(st, domain)?;
    require_admin(enter(st, actor, domain)?, "manage workspace users")?;
    let body = input.json()?;
    let role_name = json_required(&body, "role")?;
    let role = Role::parse(role_name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid role {role_name:?}; one of: {}",
            Role::NAMES
        ))
    })?;

    let mut user_ids = Vec::new();
    if let Some(emails) = body.get("emails").filter(|v| !v.is_null()) {
        let emails = emails
            .as_array()
            .filter(|list| !list.is_empty())
            .ok_or_else(|| ApiError::bad_request("emails must be a non-empty list"))?;
        let mut valid = Vec::new();
        for email in emails {
            match email.as_str() {
                Some(email) if is_valid_email(email) => valid.push(email),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid email address: {email}"
                    )));
                }
            }
        }
        for email in valid {
            let id = match st.user_by_email(email) {
                Some(user) => user.id.clone(),
                None => st.add_user("", email, None, role, None),
            };
            user_ids.push(id);
        }
    } else if let Some(user_id) = json_str(&body, "user_id")? {
        if !st.users.contains_key(user_id) {
            return Err(ApiError::not_found(format!("user not found: {user_id}")));
        }
        user_ids.push(user_id.to_owned());
    } else {
        return Err(ApiError::bad_request("missing field: emails or user_id"));
    }

    let mut joined = false;
    for user_id in &user_ids {
        let in_home_tenant = st.users.get(user_id).is_some_and(|u| u.tenant == domain);
        if in_home_tenant {
            if let Some(user) = st.users.get_mut(user_id) {
                user.role = role;
            }
        } else if let Some(tenant) = st.tenants.get_mut(domain) {
            joined |= tenant.members.insert(user_id.clone(), role).is_none();
        }
    }
    let reply: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({ "user_id": id, "workspace": domain }))
        .collect();
    Ok(if joined {
        Reply::created(Value::Array(reply))
    } else {
        Reply::ok(Value::Array(reply))
    })
}

/// `DELETE /v2/workspaces/{domain}/users/{user_id}`, workspace admins only; 404 when the user is
/// not a member. Group memberships stay (the client removes them first). 204.
pub(crate) fn remove_user(st: &mut State, actor: &Actor, domain: &str, user_id: &str) -> Outcome {
    check_workspace(st, domain)?;
    require_admin(enter(st, actor, domain)?, "manage workspace users")?;
    let removed = st
        .tenants
        .get_mut(domain)
        .and_then(|t| t.members.remove(user_id))
        .is_some();
    if removed {
        Ok(Reply::no_content())
    } else {
        Err(ApiError::not_found(format!(
            "user {user_id} is not a member of workspace {domain}"
        )))
    }
}
