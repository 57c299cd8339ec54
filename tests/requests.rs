//! The exact request of every method, pinned by snapshots rendered like HTTP.
//!
//! Each snapshot is named after the method (`requests__new_grant.snap`), with a suffix for a
//! variant (`requests__new_grant_all.snap` has every optional parameter set). A test fails when
//! a method of `endpoints.toml` has no snapshot.

use serde_json::json;
use squirro_user_api::*;

fn client() -> Client {
    Client::builder()
        .cluster("https://squirro.example.com")
        .tenant("acme")
        .client_id("the-client")
        .client_secret("client-s3cret")
        .access_token("access-t0ken")
        .build()
        .unwrap()
}

fn show(c: &Client, r: Result<Request, Error>) -> String {
    c.render_with_secrets(&r.expect("request builds"))
}

macro_rules! snap {
    ($name:literal, $c:ident, $e:expr) => {
        insta::assert_snapshot!($name, show(&$c, $e.request()));
    };
}

fn when() -> Timestamp {
    Timestamp::new(2014, 1, 9, 8, 40, 0).unwrap()
}

#[test]
fn users() {
    let c = client();
    snap!(
        "get_user_data",
        c,
        c.get_user_data("H5Qv-WhgSBGW0WL8xolSCQ")
    );
    snap!(
        "get_user_data_all",
        c,
        c.get_user_data("H5Qv-WhgSBGW0WL8xolSCQ")
            .include_projects(true)
            .api_version(ApiVersion::V0)
    );
    snap!(
        "update_user_data",
        c,
        c.update_user_data(
            "H5Qv",
            json!({"full_name": "Jane Doe", "score": 5, "tags": ["a", "b"]})
        )
    );
    snap!(
        "update_user_data_form",
        c,
        c.update_user_data("H5Qv", json!({"full_name": "Jane Doe", "score": 5, "active": true, "tags": ["a", "b"], "gone": null}))
            .api_version(ApiVersion::V0)
    );
    snap!(
        "change_user_password",
        c,
        c.change_user_password("H5Qv", "old pw", "n3w&pw", "n3w&pw")
    );
    snap!(
        "get_users_password_policy",
        c,
        c.get_users_password_policy()
    );
    snap!("get_users", c, c.get_users());
    snap!("get_users_all", c, c.get_users().include_config(false));
    snap!("add_user", c, c.add_user());
    snap!(
        "add_user_all",
        c,
        c.add_user()
            .email("user01@example.com")
            .password("pw")
            .role(ServerRole::Reader)
    );
    snap!("delete_user", c, c.delete_user("H5Qv"));
}

#[test]
fn authentications() {
    let c = client();
    snap!(
        "get_authentication",
        c,
        c.get_authentication("H5Qv", "facebook")
    );
    snap!(
        "new_or_modify_authentication",
        c,
        c.new_or_modify_authentication("H5Qv", "facebook", "1234567", "token")
    );
    snap!(
        "new_or_modify_authentication_all",
        c,
        c.new_or_modify_authentication("H5Qv", "facebook", "1234567", "token")
            .access_secret("secret")
            .display_name("John Smith")
            .access_token_expires(when())
            .access_secret_expires(when())
    );
    snap!(
        "delete_authentication",
        c,
        c.delete_authentication("H5Qv", "facebook")
    );
}

#[test]
fn grants_and_sessions() {
    let c = client();
    snap!("new_grant", c, c.new_grant("H5Qv", GrantType::User));
    // for_client_id is only sent for service grants; empty permissions are not sent.
    snap!(
        "new_grant_user_ignores_for_client_id",
        c,
        c.new_grant("H5Qv", GrantType::User)
            .for_client_id("svc")
            .project_permissions(Vec::<String>::new())
    );
    snap!(
        "new_grant_all",
        c,
        c.new_grant("H5Qv", GrantType::Service)
            .for_client_id("abdc0183029498f20c38")
            .project_permissions(["items.*", "projects.read.*"])
    );
    snap!(
        "delete_grant",
        c,
        c.delete_grant("H5Qv", "yL0dnd17RNe9Jpn7uAa8Bw")
    );
    snap!("get_user_grants", c, c.get_user_grants("H5Qv"));
    snap!(
        "get_session",
        c,
        c.get_session("H5Qv", "yL0dnd17RNe9Jpn7uAa8Bw")
    );
    snap!(
        "delete_session",
        c,
        c.delete_session("H5Qv", "yL0dnd17RNe9Jpn7uAa8Bw")
    );
}

#[test]
fn projects() {
    let c = client();
    snap!(
        "get_project_members",
        c,
        c.get_project_members("2sic33jZTi-ifflvQAVcfw")
    );
    snap!(
        "add_project_member",
        c,
        c.add_project_member("2sic33jZTi-ifflvQAVcfw", ProjectRole::Member)
            .user_id("H5Qv")
    );
    snap!(
        "add_project_member_group",
        c,
        c.add_project_member("2sic33jZTi-ifflvQAVcfw", ProjectRole::Reader)
            .group_id("1jo-Wmmy")
    );
    snap!(
        "update_project_member",
        c,
        c.update_project_member("2sic33jZTi-ifflvQAVcfw", "H5Qv", ProjectRole::Admin)
    );
    snap!(
        "delete_project_member",
        c,
        c.delete_project_member("2sic33jZTi-ifflvQAVcfw", "H5Qv")
    );
}

#[test]
fn groups() {
    let c = client();
    snap!("get_groups", c, c.get_groups());
    snap!("create_group", c, c.create_group("Team East"));
    snap!(
        "create_group_all",
        c,
        c.create_group("Team East")
            .members(["5efzuNRpQ266E3O11b0h2w", "H5Qv"])
    );
    snap!("get_group", c, c.get_group("1jo-Wmmy"));
    snap!(
        "get_group_all",
        c,
        c.get_group("1jo-Wmmy").include_projects(true)
    );
    snap!("update_group", c, c.update_group("1jo-Wmmy", "Team West"));
    snap!(
        "update_group_all",
        c,
        c.update_group("1jo-Wmmy", "Team West")
            .members(["H5Qv"])
            .projects(json!(["2sic33jZTi-ifflvQAVcfw"]))
    );
    snap!("delete_group", c, c.delete_group("1jo-Wmmy"));
    snap!(
        "add_group_member",
        c,
        c.add_group_member("1jo-Wmmy", "H5Qv")
    );
    snap!(
        "delete_group_member",
        c,
        c.delete_group_member("1jo-Wmmy", "H5Qv")
    );
}

#[test]
#[allow(deprecated)]
fn msexchange() {
    let c = client();
    snap!(
        "get_token_from_msexchuid",
        c,
        c.get_token_from_msexchuid("89edf14d-90c4-834d-9efc-cd20a93fc74b")
    );
    snap!(
        "get_token_from_msexchuid_token",
        c,
        c.get_token_from_msexchuid_token("a.jwt+token/x=")
    );
}

#[test]
fn signup_and_workspaces() {
    let c = client();
    snap!("signup", c, c.signup("user@example.com", "aSKJL18274!"));
    snap!(
        "signup_all",
        c,
        c.signup("user@example.com", "aSKJL18274!")
            .full_name("Jane Doe")
    );
    // Without a token, tenant, client id or secret: nulls are kept, no Authorization header.
    let bare = Client::builder()
        .cluster("https://squirro.example.com")
        .build()
        .unwrap();
    snap!(
        "signup_anonymous",
        bare,
        bare.signup("user@example.com", "pw")
    );
    snap!("get_workspaces", c, c.get_workspaces());
    snap!(
        "get_workspaces_all",
        c,
        c.get_workspaces().include_projects(true).admin_only(true)
    );
    snap!("create_workspace", c, c.create_workspace("Project 5"));
    snap!(
        "update_workspace",
        c,
        c.update_workspace("workspace-5", "Workspace Five")
    );
    snap!("delete_workspace", c, c.delete_workspace("workspace-1"));
    snap!(
        "add_workspace_users",
        c,
        c.add_workspace_users(
            "project-1",
            ["user@example.com", "foo@example.com"],
            ServerRole::Reader
        )
    );
    snap!(
        "set_workspace_user_role",
        c,
        c.set_workspace_user_role("project-1", "wWzKOdx-TiiPV2k7FEu6_w", ServerRole::Admin)
    );
    snap!("get_workspace_users", c, c.get_workspace_users("project-1"));
}

#[test]
fn authenticate_grants() {
    let c = Client::builder()
        .cluster("https://squirro.example.com")
        .client_id("the-client")
        .client_secret("client-s3cret")
        .build()
        .unwrap();
    snap!(
        "authenticate_refresh_token",
        c,
        c.authenticate(Grant::refresh_token("r3fresh"))
            .tenant("acme")
    );
    snap!(
        "authenticate_access_token",
        c,
        c.authenticate(Grant::access_token("acc3ss")).tenant("acme")
    );
    snap!(
        "authenticate_password",
        c,
        c.authenticate(Grant::password("admin@example.com", "p@ss word"))
            .tenant("acme")
            .user_information(json!({"ip": "10.0.0.1"}))
    );
    snap!(
        "authenticate_ext_id",
        c,
        c.authenticate(Grant::external_id("facebook", "1234567"))
            .tenant("acme")
    );
}

#[test]
fn path_values_are_one_segment() {
    let c = client();
    snap!(
        "get_user_data_hostile_id",
        c,
        c.get_user_data("../x/y?z=1#f é")
    );
}

/// Every method of the table has a snapshot named after it.
#[test]
fn every_operation_has_a_snapshot() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let missing: Vec<&str> = OPERATIONS
        .iter()
        .map(|op| op.name)
        .filter(|name| !dir.join(format!("requests__{name}.snap")).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "methods without a request snapshot: {missing:?}"
    );
    assert_eq!(OPERATIONS.len(), 36);
}

/// Every optional parameter of the table is set in at least one snapshot of its method: its
/// name shows as a query or form key or a JSON field there.
#[test]
fn every_optional_parameter_is_in_a_snapshot() {
    let table: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/endpoints.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let snapshots: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    let mut missing = Vec::new();
    for ep in table["endpoint"].as_array().unwrap() {
        let name = ep["name"].as_str().unwrap();
        let mine: Vec<&str> = snapshots
            .iter()
            .filter(|(f, _)| {
                f == &format!("requests__{name}.snap")
                    || f.starts_with(&format!("requests__{name}_"))
            })
            .map(|(_, text)| text.as_str())
            .collect();
        for p in ep["params"].as_array().unwrap() {
            let optional = p.get("optional").and_then(|v| v.as_bool()).unwrap_or(false)
                || p.get("default").is_some();
            let location = p["in"].as_str().unwrap();
            if !optional || location == "path" {
                continue;
            }
            let key = p["name"].as_str().unwrap();
            let shown = |text: &&str| {
                text.contains(&format!("?{key}="))
                    || text.contains(&format!("&{key}="))
                    || text.contains(&format!("\n{key}="))
                    || text.contains(&format!("\"{key}\":"))
            };
            if !mine.iter().any(shown) {
                missing.push(format!("{name}.{key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "optional parameters in no snapshot: {missing:?}"
    );
}

#[test]
fn the_client_is_clone_send_sync() {
    fn clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn send_sync_error<T: std::error::Error + Send + Sync + 'static>() {}
    clone_send_sync::<Client>();
    send_sync_error::<Error>();
}
