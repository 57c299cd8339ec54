//! External authentications of a user, one per service; the `ext_id` grant logs in with them.

use super::access::{acting_on, check_client};
use super::input::{Input, json_required, json_str};
use super::reply::{ApiError, Outcome, Reply};
use super::state::{Actor, Authentication, State};

/// Access checks shared by the three methods.
fn check(st: &State, actor: &Actor, tenant: &str, user_id: &str) -> Result<(), ApiError> {
    acting_on(st, actor, tenant, user_id, "manage the authentications")
}

/// `GET /{v}/{tenant}/authentications/{service}/{user_id}`.
pub(crate) fn get(
    st: &mut State,
    actor: &Actor,
    tenant: &str,
    service: &str,
    user_id: &str,
) -> Outcome {
    check(st, actor, tenant, user_id)?;
    let auth = st
        .authentication(user_id, service)
        .ok_or_else(|| ApiError::not_found(format!("no {service} authentication for {user_id}")))?;
    Ok(Reply::ok(auth.to_json()))
}

/// `POST /{v}/{tenant}/authentications/{service}/{user_id}` (query client_id/client_secret, JSON
/// body): 201 when created, 200 when modified. 409 when the service user is already linked to
/// another user of the same service.
pub(crate) fn put(
    st: &mut State,
    actor: &Actor,
    input: &Input,
    tenant: &str,
    service: &str,
    user_id: &str,
) -> Outcome {
    check(st, actor, tenant, user_id)?;
    check_client(
        st,
        input.query.get("client_id"),
        input.query.get("client_secret"),
    )?;
    let body = input.json()?;
    let service_user = json_required(&body, "service_user")?;
    let access_token = json_required(&body, "access_token")?;
    let date = |name: &str| -> Result<Option<String>, ApiError> {
        let value = json_str(&body, name)?;
        match value {
            Some(text) if !is_iso_datetime(text) => Err(ApiError::bad_request(format!(
                "{name} must be formatted %Y-%m-%dT%H:%M:%S"
            ))),
            _ => Ok(value.map(str::to_owned)),
        }
    };
    let auth = Authentication {
        service_user: service_user.to_owned(),
        access_token: access_token.to_owned(),
        access_secret: json_str(&body, "access_secret")?.map(str::to_owned),
        display_name: json_str(&body, "display_name")?.map(str::to_owned),
        access_token_expires: date("access_token_expires")?,
        access_secret_expires: date("access_secret_expires")?,
    };
    let taken = st
        .user_by_service_user(service, service_user)
        .is_some_and(|other| other != user_id);
    if taken {
        return Err(ApiError::conflict(format!(
            "{service} user {service_user} is already linked to another user"
        )));
    }
    let body = auth.to_json();
    let created = st.put_authentication(user_id, service, auth);
    Ok(if created {
        Reply::created(body)
    } else {
        Reply::ok(body)
    })
}

/// `DELETE /{v}/{tenant}/authentications/{service}/{user_id}`. 204.
pub(crate) fn delete(
    st: &mut State,
    actor: &Actor,
    tenant: &str,
    service: &str,
    user_id: &str,
) -> Outcome {
    check(st, actor, tenant, user_id)?;
    if st.remove_authentication(user_id, service) {
        Ok(Reply::no_content())
    } else {
        Err(ApiError::not_found(format!(
            "no {service} authentication for {user_id}"
        )))
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, the format the Python client sends dates in.
fn is_iso_datetime(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_datetimes() {
        assert!(super::is_iso_datetime("2014-01-09T08:40:00"));
        assert!(!super::is_iso_datetime("2014-01-09 08:40:00"));
        assert!(!super::is_iso_datetime("2014-01-09T08:40"));
    }
}
