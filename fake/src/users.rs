//! Users of a tenant: listing, adding, reading and updating (custom values included),
//! deleting, changing a password, and the password policy.

use serde_json::{Map, Value, json};

use super::access::{
    check_password_policy, enter, require_admin, require_self_or_admin, target_user,
};
use super::input::{BodyKind, Input, is_valid_email, json_required, json_str};
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, MIN_PASSWORD_LENGTH, Role, State};

/// Fields of a user that update_user_data cannot set.
const READ_ONLY_FIELDS: [&str; 5] = ["id", "tenant", "role_permissions", "groups", "projects"];

/// `GET /{v}/{tenant}/users`: `{"users": [...]}`, custom values unless `include_config=False`.
pub(crate) fn list(st: &mut State, actor: &Actor, input: &Input, tenant: &str) -> Outcome {
    enter(st, actor, tenant)?;
    let include_config = input.query.bool("include_config")?.unwrap_or(true);
    let users: Vec<Value> = st
        .tenant_users(tenant)
        .into_iter()
        .map(|user| {
            if include_config {
                st.user_detail_json(user, tenant, true, false)
            } else {
                st.user_json(user, tenant)
            }
        })
        .collect();
    Ok(Reply::ok(json!({ "users": users })))
}

/// `POST /v0/{tenant}/users` (JSON `{email, password?, role?}`), admins only. 201 the user.
pub(crate) fn add(st: &mut State, actor: &Actor, input: &Input, tenant: &str) -> Outcome {
    let role = enter(st, actor, tenant)?;
    require_admin(role, "add users")?;
    let body = input.json()?;
    let email = json_required(&body, "email")?;
    if !is_valid_email(email) {
        return Err(ApiError::bad_request(format!(
            "invalid email address: {email}"
        )));
    }
    let new_role = match json_str(&body, "role")? {
        None => Role::User,
        Some(name) => Role::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!("invalid role {name:?}; one of: {}", Role::NAMES))
        })?,
    };
    let password = json_str(&body, "password")?.filter(|p| !p.is_empty());
    if let Some(password) = password {
        check_password_policy(password)?;
    }
    let full_name = json_str(&body, "full_name")?.map(str::to_owned);
    if st.user_by_email(email).is_some() {
        return Err(ApiError::conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let id = st.add_user(
        tenant,
        email,
        full_name,
        new_role,
        password.map(str::to_owned),
    );
    let user = &st.users[&id];
    Ok(Reply::created(
        st.user_detail_json(user, tenant, true, false),
    ))
}

/// `GET /{api_version}/{tenant}/users/{user_id}`: the user with custom values and groups, and
/// projects with `include_projects=True`.
pub(crate) fn get(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    user_id: &str,
) -> Outcome {
    enter(st, actor, tenant)?;
    let include_projects = input.query.bool("include_projects")?.unwrap_or(false);
    let user = target_user(st, tenant, user_id)?;
    Ok(Reply::ok(st.user_detail_json(
        user,
        tenant,
        true,
        include_projects,
    )))
}

/// `PUT /{api_version}/{tenant}/users/{user_id}`: a JSON object or a form (repeated keys become
/// lists). `email`, `full_name` and (admins only) `role` update the user; `null` removes a
/// custom value; anything else is stored and returned with the user.
pub(crate) fn update(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    user_id: &str,
) -> Outcome {
    let role = enter(st, actor, tenant)?;
    target_user(st, tenant, user_id)?;
    require_self_or_admin(actor, role, user_id, "update the data")?;
    let changes = match input.kind {
        BodyKind::Json => input.json()?,
        _ => form_changes(input)?,
    };

    // Check everything first, so a bad request changes nothing.
    for (key, value) in &changes {
        if READ_ONLY_FIELDS.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "field {key} cannot be changed"
            )));
        }
        match (key.as_str(), value) {
            ("password", _) => {
                return Err(ApiError::bad_request(
                    "use the password endpoint to change a password",
                ));
            }
            ("email", Value::String(email)) => {
                if !is_valid_email(email) {
                    return Err(ApiError::bad_request(format!(
                        "invalid email address: {email}"
                    )));
                }
                if st.user_by_email(email).is_some_and(|u| u.id != user_id) {
                    return Err(ApiError::conflict(format!(
                        "a user with email {email} already exists"
                    )));
                }
            }
            ("email", _) => return Err(ApiError::bad_request("email must be a string")),
            ("full_name", Value::String(_) | Value::Null) => {}
            ("full_name", _) => return Err(ApiError::bad_request("full_name must be a string")),
            ("role", value) => {
                require_admin(role, "change roles")?;
                if value.as_str().and_then(Role::parse).is_none() {
                    return Err(ApiError::bad_request(format!(
                        "invalid role; one of: {}",
                        Role::NAMES
                    )));
                }
            }
            _ => {}
        }
    }

    let in_home_tenant = st.users.get(user_id).is_some_and(|u| u.tenant == tenant);
    for (key, value) in changes {
        match key.as_str() {
            "role" => {
                let new_role = value.as_str().and_then(Role::parse).unwrap_or(Role::User);
                if in_home_tenant {
                    if let Some(user) = st.users.get_mut(user_id) {
                        user.role = new_role;
                    }
                } else if let Some(t) = st.tenants.get_mut(tenant) {
                    t.members.insert(user_id.to_owned(), new_role);
                }
            }
            _ => {
                if let ("email", Value::String(email)) = (key.as_str(), &value) {
                    st.set_email(user_id, email.clone());
                    continue;
                }
                let Some(user) = st.users.get_mut(user_id) else {
                    continue;
                };
                match (key.as_str(), value) {
                    ("full_name", Value::String(name)) => user.full_name = Some(name),
                    ("full_name", _) => user.full_name = None,
                    (_, Value::Null) => {
                        user.custom.remove(&key);
                    }
                    (_, value) => {
                        user.custom.insert(key, value);
                    }
                }
            }
        }
    }
    let user = &st.users[user_id];
    Ok(Reply::ok(st.user_detail_json(user, tenant, true, false)))
}

/// A form body as changes: one value is a string, a repeated key a list of strings.
fn form_changes(input: &Input) -> Result<Map<String, Value>, ApiError> {
    let mut changes = Map::new();
    for (key, value) in input.form()?.0 {
        match changes.get_mut(&key) {
            Some(Value::Array(list)) => list.push(Value::String(value)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value)]);
            }
            None => {
                changes.insert(key, Value::String(value));
            }
        }
    }
    Ok(changes)
}

/// `DELETE /{v}/{tenant}/users/{user_id}`, admins only: the user, their memberships, grants,
/// sessions and authentications go. 204.
pub(crate) fn delete(st: &mut State, actor: &Actor, tenant: &str, user_id: &str) -> Outcome {
    let role = enter(st, actor, tenant)?;
    require_admin(role, "delete users")?;
    target_user(st, tenant, user_id)?;
    st.remove_user(user_id);
    Ok(Reply::no_content())
}

/// `PUT /{v}/{tenant}/users/{user_id}/password` (JSON), only for oneself: 400 when the new
/// password and its confirmation differ or break the policy, 403 for a wrong current password.
pub(crate) fn change_password(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    user_id: &str,
) -> Outcome {
    enter(st, actor, tenant)?;
    target_user(st, tenant, user_id)?;
    if actor.user_id != user_id {
        return Err(ApiError::forbidden(
            "users can only change their own password",
        ));
    }
    let body = input.json()?;
    let current = json_str(&body, "current_password")?.unwrap_or_default();
    let new = json_required(&body, "new_password")?;
    let confirm = json_required(&body, "new_password_confirm")?;
    if new != confirm {
        return Err(ApiError::bad_request(
            "new_password and new_password_confirm do not match",
        ));
    }
    let user = &st.users[user_id];
    if user.password.as_deref().is_some_and(|p| p != current) {
        return Err(ApiError::forbidden("current password is incorrect"));
    }
    check_password_policy(new)?;
    if let Some(user) = st.users.get_mut(user_id) {
        user.password = Some(new.to_owned());
    }
    let user = &st.users[user_id];
    Ok(Reply::ok(st.user_json(user, tenant)))
}

/// `GET /{v}/{tenant}/users/password_policy`: the rules the fake enforces.
pub(crate) fn password_policy(st: &mut State, actor: &Actor, tenant: &str) -> Outcome {
    enter(st, actor, tenant)?;
    Ok(Reply::ok(json!({
        "min_length": MIN_PASSWORD_LENGTH,
        "require_lowercase": false,
        "require_uppercase": false,
        "require_digit": false,
        "require_special": false,
    })))
}
