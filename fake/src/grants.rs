//! Grants and sessions of a user. A session is a grant (a login creates one), so the session
//! routes read and delete grants: deleting one revokes its refresh and access tokens.

use serde_json::{Value, json};

use super::access::{acting_on, check_client};
use super::input::Input;
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, Grant, State};

/// `POST /{v}/{tenant}/users/{user_id}/grants` (form `{type, client_id?, client_secret?,
/// for_client_id?, project_permissions?}`): 201 `{id, refresh_token}`; the refresh token works
/// on `/oauth2/token`. Others' grants are admin work.
pub(crate) fn create(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    user_id: &str,
) -> Outcome {
    acting_on(st, actor, tenant, user_id, "create grants")?;
    let form = input.form()?;
    let client_id = form.get("client_id");
    check_client(st, client_id, form.get("client_secret"))?;
    let kind = form.required("type")?;
    let for_client_id = match kind {
        "user" => None,
        "service" => Some(form.required("for_client_id")?),
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid grant type {other:?}; one of: user, service"
            )));
        }
    };
    let project_permissions = form.get("project_permissions").map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let project_permissions = project_permissions.filter(|list| !list.is_empty());
    let id = st.add_grant(user_id, kind, client_id, for_client_id, project_permissions);
    let refresh_token = &st.grants[&id].refresh_token;
    Ok(Reply::created(
        json!({ "id": id, "refresh_token": refresh_token }),
    ))
}

/// `GET /{v}/{tenant}/users/{user_id}/grants`: `{"grants": [{created_at, valid_to, id, type}]}`,
/// oldest first.
pub(crate) fn list(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    user_id: &str,
) -> Outcome {
    acting_on(st, actor, tenant, user_id, "list the grants")?;
    check_client(
        st,
        input.query.get("client_id"),
        input.query.get("client_secret"),
    )?;
    let grants: Vec<Value> = st
        .user_grants(user_id)
        .into_iter()
        .map(State::grant_json)
        .collect();
    Ok(Reply::ok(json!({ "grants": grants })))
}

/// The user's grant `session_id`, after the access checks; 404 when it is not theirs.
fn session<'a>(
    st: &'a State,
    actor: &Actor,
    tenant: &str,
    user_id: &str,
    session_id: &str,
) -> Result<&'a Grant, ApiError> {
    acting_on(st, actor, tenant, user_id, "manage the sessions")?;
    st.grants
        .get(session_id)
        .filter(|g| g.user_id == user_id)
        .ok_or_else(|| ApiError::not_found(format!("session not found: {session_id}")))
}

/// `GET /{v}/{tenant}/users/{user_id}/sessions/{session_id}`.
pub(crate) fn get_session(
    st: &mut State,
    actor: &Actor,
    tenant: &str,
    user_id: &str,
    session_id: &str,
) -> Outcome {
    let grant = session(st, actor, tenant, user_id, session_id)?;
    Ok(Reply::ok(State::session_json(grant)))
}

/// `DELETE /{v}/{tenant}/users/{user_id}/sessions/{session_id}` (also delete_grant). 204.
pub(crate) fn delete_session(
    st: &mut State,
    actor: &Actor,
    tenant: &str,
    user_id: &str,
    session_id: &str,
) -> Outcome {
    let id = session(st, actor, tenant, user_id, session_id)?.id.clone();
    st.remove_grant(&id);
    Ok(Reply::no_content())
}
