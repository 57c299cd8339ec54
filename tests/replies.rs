//! Every reply type decodes the documentation's examples, and keeps what it does not name.

use serde_json::json;
use squirro_user_api::models::*;

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("decodes")
}

fn user_json() -> serde_json::Value {
    json!({"email": "user01@example.com", "full_name": "User 1", "id": "H5Qv-WhgSBGW0WL8xolSCQ",
           "role": "user", "role_permissions": ["user"], "tenant": "lW8-FnZlQYWBimxFknYitw"})
}

#[test]
fn users_and_custom_values() {
    let mut v = user_json();
    v["favourite_colour"] = json!("teal");
    v["projects"] = json!([{"id": "p1"}]);
    let u: User = decode(v);
    assert_eq!(u.id, "H5Qv-WhgSBGW0WL8xolSCQ");
    assert_eq!(u.server_role(), Some(squirro_user_api::ServerRole::User));
    assert_eq!(u.role_permissions, ["user"]);
    assert_eq!(u.projects.as_ref().unwrap().len(), 1);
    assert_eq!(u.extra["favourite_colour"], "teal");
    let list: UserList = decode(json!({"users": [user_json()], "count": 1}));
    assert_eq!(list.users.len(), 1);
    assert_eq!(list.extra["count"], 1);
    // Missing optional fields are fine.
    let sparse: User = decode(json!({"id": "x"}));
    assert_eq!(sparse.email, None);
    assert!(sparse.role_permissions.is_empty());
}

#[test]
fn groups_and_members() {
    let g: Group = decode(
        json!({"id": "1jo", "name": "Team East", "members": [user_json()], "projects": ["p"]}),
    );
    assert_eq!(g.members[0].email.as_deref(), Some("user01@example.com"));
    let m: ProjectMemberList = decode(json!({"members": [{
        "email": "user01@example.com", "full_name": "User 1", "member_id": "H5Qv", "member_type": "user",
        "server_role": "user", "project_role": "reader", "project_id": "2sic", "permissions": ["items.read.*"]
    }]}));
    assert_eq!(
        m.members[0].role(),
        Some(squirro_user_api::ProjectRole::Reader)
    );
    assert_eq!(m.members[0].permissions, ["items.read.*"]);
}

#[test]
fn authentications_grants_tokens() {
    let a: Authentication = decode(
        json!({"access_secret": "secret", "access_secret_expires": "2014-01-09T08:40:00",
        "access_token": "token", "access_token_expires": "2014-01-09T08:40:00", "display_name": "John Smith",
        "service_user": "1234567", "state": "ok"}),
    );
    assert_eq!(a.access_token.as_deref(), Some("token"));
    assert_eq!(a.state.as_deref(), Some("ok"));
    let debug = format!("{a:?}");
    assert!(
        !debug.contains("\"token\"") && !debug.contains("\"secret\""),
        "{debug}"
    );

    let gl: GrantList = decode(
        json!({"grants": [{"created_at": "2012-12-21 16:00:01", "valid_to": "2022-12-21 16:00:01",
        "id": "yL0d", "type": "user"}]}),
    );
    assert_eq!(gl.grants[0].r#type.as_deref(), Some("user"));
    let ng: NewGrant = decode(json!({"id": "yL0d", "refresh_token": "b4c7440364afb80c2"}));
    assert!(!format!("{ng:?}").contains("b4c7440364afb80c2"));
    let t: MsExchangeToken = decode(json!({"oauth2_token": "5ad37930dda85a7", "user_id": "vP7h"}));
    assert_eq!(t.user_id.as_deref(), Some("vP7h"));
    assert!(!format!("{t:?}").contains("5ad37930dda85a7"));
    let s: SignupResult = decode(json!({"user_id": "ixLk", "tenant": "example"}));
    assert_eq!(s.tenant.as_deref(), Some("example"));
    let p: PasswordPolicy = decode(json!({"min_length": 8, "require_digits": true}));
    assert_eq!(p.extra["min_length"], 8);
    let sess: Session = decode(json!({"id": "s1", "created_at": "2012-12-21"}));
    assert_eq!(sess.id.as_deref(), Some("s1"));
}

#[test]
fn workspaces() {
    let w: WorkspaceList = decode(
        json!([{"domain": "other-project", "title": "Other Project"}, {"domain": "project-1", "title": "Project 1"}]),
    );
    assert_eq!(w.workspaces[1].domain, "project-1");
    let w: WorkspaceList = decode(
        json!({"workspaces": [{"domain": "project-1", "title": "Project 1", "projects": []}]}),
    );
    assert_eq!(w.workspaces[0].projects.as_deref(), Some(&[][..]));
    let users: Vec<WorkspaceUser> = decode(
        json!([{"id": "wWz", "email": "user@example.com", "role": "admin", "full_name": "User Example"}]),
    );
    assert_eq!(users[0].role.as_deref(), Some("admin"));
    let ms: Vec<WorkspaceMembership> =
        decode(json!([{"user_id": "wWz", "workspace": "project-1"}]));
    assert_eq!(ms[0].workspace.as_deref(), Some("project-1"));
}

#[test]
fn a_wrong_shape_is_an_error_not_a_panic() {
    assert!(serde_json::from_value::<User>(json!({"id": 5})).is_err());
    assert!(serde_json::from_value::<UserList>(json!({"users": {"a": 1}})).is_err());
    assert!(serde_json::from_value::<WorkspaceList>(json!("workspaces")).is_err());
}

#[test]
fn a_reply_without_a_required_field_is_a_decode_error_naming_it() {
    use squirro_user_api::{Error, Reply};
    for body in ["", "  \n", "{}", r#"{"email":"user01@example.com"}"#] {
        let reply = Reply::from_parts("get_user_data", 200, body.as_bytes().to_vec());
        let e = reply.decode::<User>().unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{body:?}: {e:?}");
        assert!(
            e.to_string().contains("missing field `id`"),
            "{body:?}: {e}"
        );
    }
    let reply = Reply::from_parts("get_users", 200, br#"{"users":[{"email":"x"}]}"#.to_vec());
    let e = reply.decode::<UserList>().unwrap_err();
    assert!(e.to_string().contains("missing field `id`"), "{e}");
    // Types with nothing required still take an empty body as empty.
    let empty = |op| Reply::from_parts(op, 200, Vec::new());
    assert!(
        empty("get_users")
            .decode::<UserList>()
            .unwrap()
            .users
            .is_empty()
    );
    assert!(
        empty("get_groups")
            .decode::<Vec<Group>>()
            .unwrap()
            .is_empty()
    );
    assert!(empty("get_session").decode::<Session>().is_ok());
}

#[test]
fn an_empty_body_names_the_missing_field_not_a_made_up_position() {
    let reply = squirro_user_api::Reply::from_parts("get_user_data", 200, Vec::new());
    let e = reply
        .decode::<squirro_user_api::models::User>()
        .unwrap_err();
    let shown = e.to_string();
    assert!(matches!(e, squirro_user_api::Error::Decode { .. }), "{e:?}");
    assert!(
        shown.contains("the reply body is empty: missing field `id`"),
        "{shown}"
    );
    assert!(!shown.contains("line 1 column"), "{shown}");
}
