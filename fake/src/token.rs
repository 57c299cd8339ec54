//! Getting tokens: `POST /oauth2/token` (the four grant types), `POST /v2/signup`, and
//! `GET /msexchange/oauth2_token`.

use serde_json::{Value, json};

use super::access::{check_client, check_password_policy};
use super::input::{Input, is_valid_email, json_required, json_str};
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, Role, State};

/// The external-authentication service the MS Exchange lookup uses.
pub(crate) const MSEXCHANGE_SERVICE: &str = "msexchange";

/// `POST /oauth2/token` (form): refresh_token, access_token, password and ext_id grants.
/// 400 for a malformed request, 403 for bad credentials, as a real server answers.
pub(crate) fn token(st: &mut State, input: &Input) -> Outcome {
    let form = input.form()?;
    let client_id = form.get("client_id");
    check_client(st, client_id, form.get("client_secret"))?;
    let user_information = form.json("user_information")?.unwrap_or_else(|| json!({}));
    let grant_type = form.required("grant_type")?;

    // Either an existing grant (session) or a user who logs in and gets a new one.
    let (user_id, grant_id) = match grant_type {
        "refresh_token" => {
            let grant = st
                .grant_by_refresh_token(form.required("refresh_token")?)
                .ok_or_else(|| ApiError::forbidden("invalid refresh token"))?;
            (grant.user_id.clone(), Some(grant.id.clone()))
        }
        "access_token" => {
            let actor = st
                .check_access_token(form.required("access_token")?)
                .map_err(|problem| ApiError::forbidden(problem.message()))?;
            (actor.user_id, Some(actor.grant_id))
        }
        "password" => {
            let username = form.required("username")?;
            let password = form.required("password")?;
            let user = st
                .user_by_email(username)
                .filter(|u| u.password.as_deref() == Some(password))
                .ok_or_else(|| ApiError::forbidden("invalid username or password"))?;
            (user.id.clone(), None)
        }
        "ext_id" => {
            let service = form.required("auth_service")?;
            let service_user = form.required("auth_user")?;
            let user_id = st
                .user_by_service_user(service, service_user)
                .map(str::to_owned)
                .ok_or_else(|| ApiError::forbidden("unknown external authentication"))?;
            (user_id, None)
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unsupported grant_type: {other}"
            )));
        }
    };

    let tenant = login_tenant(st, &user_id, form.get("tenant"))?;
    let grant_id = match grant_id {
        Some(id) => id,
        None => st.add_grant(&user_id, "user", client_id, None, None),
    };
    let access_token = st.issue_access_token(&grant_id);
    let role = st.role_in(&user_id, &tenant).map_or("user", Role::as_str);
    let grant = &st.grants[&grant_id];
    Ok(Reply::ok(json!({
        "access_token": access_token,
        "refresh_token": grant.refresh_token,
        "tenant": tenant,
        "user_id": user_id,
        "session_id": grant_id,
        "role": role,
        "role_permissions": [role],
        "project_permissions": grant.project_permissions,
        "user_information": user_information,
    })))
}

/// The tenant a login lands in: the one asked for (the user must be a member, else 403), or the
/// user's home tenant, or their first workspace for a user who only belongs to workspaces.
fn login_tenant(st: &State, user_id: &str, asked: Option<&str>) -> Result<String, ApiError> {
    if let Some(tenant) = asked.filter(|t| !t.is_empty()) {
        return match st.role_in(user_id, tenant) {
            Some(_) => Ok(tenant.to_owned()),
            None => Err(ApiError::forbidden(format!("no access to tenant {tenant}"))),
        };
    }
    let home = st
        .users
        .get(user_id)
        .map(|u| u.tenant.clone())
        .unwrap_or_default();
    if st.tenants.contains_key(&home) {
        return Ok(home);
    }
    Ok(st
        .tenants
        .iter()
        .filter(|(_, t)| t.members.contains_key(user_id))
        .min_by_key(|(_, t)| t.seq)
        .map(|(domain, _)| domain.clone())
        .unwrap_or_default())
}

/// `POST /v2/signup` (JSON, no token), per the cluster's mode (see the seed documentation of
/// `UserApiMixin.signup`). 201 `{user_id, tenant}`; the new user is an admin.
///
/// - With workspaces: the first user of the cluster signs up into the global tenant; once it
///   has a user, signup always fails: 403 (the request is valid, the cluster refuses it).
/// - Without workspaces (legacy multi-tenancy): each signup creates a tenant named after the
///   email's domain, and its first user.
pub(crate) fn signup(st: &mut State, input: &Input) -> Outcome {
    let body = input.json()?;
    check_client(
        st,
        json_str(&body, "client_id")?,
        json_str(&body, "client_secret")?,
    )?;
    let email = json_required(&body, "email")?;
    let password = json_required(&body, "password")?;
    let full_name = json_str(&body, "full_name")?.map(str::to_owned);
    if !is_valid_email(email) {
        return Err(ApiError::bad_request(format!(
            "invalid email address: {email}"
        )));
    }
    check_password_policy(password)?;
    let tenant = if st.workspaces {
        let global = st.global_tenant.clone();
        if st.has_home_users(&global) {
            return Err(ApiError::forbidden(
                "signup is closed: the cluster already has users (with workspaces, only its \
                 first user signs up; ask an admin to add you)",
            ));
        }
        global
    } else {
        let domain_label = email
            .rsplit_once('@')
            .and_then(|(_, domain)| domain.split('.').next())
            .unwrap_or("tenant");
        st.unique_domain(domain_label)
    };
    if st.user_by_email(email).is_some() {
        return Err(ApiError::conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    if !st.tenants.contains_key(&tenant) {
        st.add_tenant(&tenant, None);
    }
    let user_id = st.add_user(
        &tenant,
        email,
        full_name,
        Role::Admin,
        Some(password.to_owned()),
    );
    Ok(Reply::created(
        json!({ "user_id": user_id, "tenant": tenant }),
    ))
}

/// `GET /msexchange/oauth2_token?msexchuid=...` (legacy, no token needed) or
/// `?msexchuid_token=...` (needs a token). The MS Exchange id is looked up among the external
/// authentications of service `msexchange` (its `service_user`). A `msexchuid_token` that is a
/// JWT is read for the `msexchuid` claim (top level, or inside the `appctx` claim as Exchange
/// identity tokens carry it); any other value is taken as the id itself. 200
/// `{oauth2_token, user_id}` with a new access token for that user; 404 when no user has it.
pub(crate) fn msexchange(st: &mut State, auth: Result<Actor, ApiError>, input: &Input) -> Outcome {
    let uid = if let Some(token) = input.query.get("msexchuid_token") {
        auth?;
        msexchuid_of_token(token)
    } else if let Some(uid) = input.query.get("msexchuid") {
        uid.to_owned()
    } else {
        return Err(ApiError::bad_request("missing field: msexchuid_token"));
    };
    if uid.is_empty() {
        return Err(ApiError::bad_request("empty MS Exchange id"));
    }
    let user_id = st
        .user_by_service_user(MSEXCHANGE_SERVICE, &uid)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::not_found(format!("no user with MS Exchange id {uid}")))?;
    let grant_id = st.add_grant(&user_id, "user", None, None, None);
    let access_token = st.issue_access_token(&grant_id);
    Ok(Reply::ok(
        json!({ "oauth2_token": access_token, "user_id": user_id }),
    ))
}

/// The `msexchuid` claim of a JWT, or the token itself when it is not a JWT carrying one.
fn msexchuid_of_token(token: &str) -> String {
    let claims = token
        .split('.')
        .nth(1)
        .filter(|_| token.split('.').count() == 3)
        .and_then(base64url_decode)
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let claim = claims.and_then(|claims| {
        if let Some(Value::String(uid)) = claims.get("msexchuid") {
            return Some(uid.clone());
        }
        let appctx = match claims.get("appctx")? {
            Value::String(text) => serde_json::from_str::<Value>(text).ok()?,
            other => other.clone(),
        };
        appctx.get("msexchuid")?.as_str().map(str::to_owned)
    });
    claim.unwrap_or_else(|| token.to_owned())
}

/// Decodes unpadded (or padded) base64, URL-safe or standard alphabet.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64url_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64url_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64url_decode("a b").is_none());
    }

    #[test]
    fn reads_the_msexchuid_claim() {
        // {"appctx":"{\"msexchuid\":\"uid-1\",\"version\":\"ExIdTok.V1\"}"}
        let payload = concat!(
            "eyJhcHBjdHgiOiJ7XCJtc2V4Y2h1aWRcIjpcInVpZC0xXCIsXCJ2ZXJzaW9uXCI6",
            "XCJFeElkVG9rLlYxXCJ9In0"
        );
        assert_eq!(msexchuid_of_token(&format!("h.{payload}.s")), "uid-1");
        // {"msexchuid":"uid-2"}
        assert_eq!(
            msexchuid_of_token("h.eyJtc2V4Y2h1aWQiOiJ1aWQtMiJ9.s"),
            "uid-2"
        );
        assert_eq!(msexchuid_of_token("plain-id"), "plain-id");
    }
}
