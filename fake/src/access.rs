//! Who may do what: tenant membership, admin work, acting on oneself, client credentials and
//! the password policy. Each check answers the error a real server would.

use super::reply::ApiError;
use super::state::{Actor, MIN_PASSWORD_LENGTH, Role, State, User};

/// Enters a tenant (or workspace) as the actor: 404 for an unknown tenant, 403 for one the
/// actor is not a member of; otherwise the actor's role there.
pub(crate) fn enter(st: &State, actor: &Actor, tenant: &str) -> Result<Role, ApiError> {
    if !st.tenants.contains_key(tenant) {
        return Err(ApiError::not_found(format!("tenant not found: {tenant}")));
    }
    st.role_in(&actor.user_id, tenant)
        .ok_or_else(|| ApiError::forbidden(format!("no access to tenant {tenant}")))
}

/// A 403 unless the role is admin; `what` completes "only an admin can ...".
pub(crate) fn require_admin(role: Role, what: &str) -> Result<(), ApiError> {
    if role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("only an admin can {what}")))
    }
}

/// A user of the tenant, or a 404.
pub(crate) fn target_user<'a>(
    st: &'a State,
    tenant: &str,
    user_id: &str,
) -> Result<&'a User, ApiError> {
    match st.users.get(user_id) {
        Some(user) if st.role_in(user_id, tenant).is_some() => Ok(user),
        _ => Err(ApiError::not_found(format!("user not found: {user_id}"))),
    }
}

/// A 403 unless the actor is the target user or an admin of the tenant.
pub(crate) fn require_self_or_admin(
    actor: &Actor,
    role: Role,
    target_id: &str,
    what: &str,
) -> Result<(), ApiError> {
    if actor.user_id == target_id {
        Ok(())
    } else {
        require_admin(role, &format!("{what} of other users"))
    }
}

/// The checks of work on a user's own things (grants, sessions, authentications, data): the
/// actor enters the tenant, the user is one of it (404), and the actor is that user or an
/// admin (403; `what` completes "only an admin can ... of other users").
pub(crate) fn acting_on(
    st: &State,
    actor: &Actor,
    tenant: &str,
    user_id: &str,
    what: &str,
) -> Result<(), ApiError> {
    let role = enter(st, actor, tenant)?;
    target_user(st, tenant, user_id)?;
    require_self_or_admin(actor, role, user_id, what)
}

/// Client credentials, when sent, must be the server's client (403 otherwise). Sending none is
/// accepted, as Squirro accepts `SquirroClient(None, None, ...)`.
pub(crate) fn check_client(
    st: &State,
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> Result<(), ApiError> {
    match (client_id, client_secret) {
        (None, None) => Ok(()),
        (Some(id), Some(secret)) if id == st.client_id && secret == st.client_secret => Ok(()),
        _ => Err(ApiError::forbidden("invalid client credentials")),
    }
}

/// The fake's password policy: at least `MIN_PASSWORD_LENGTH` characters.
pub(crate) fn check_password_policy(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        Err(ApiError::bad_request(format!(
            "password must be at least {MIN_PASSWORD_LENGTH} characters long"
        )))
    } else {
        Ok(())
    }
}
