//! What the SDK costs besides the network: building each request
//! (`client.<method>(..).request()`) and decoding each reply (`Reply::from_parts` +
//! `operations::decode_as`, the path `.send()` takes after the exchange), per method family.
//!
//! ```text
//! cargo bench --bench codec                  # everything (about two minutes)
//! cargo bench --bench codec -- build/groups  # one family
//! ```
//!
//! No network: the client is built with an access token and a tenant, so nothing is sent, and
//! the replies are bodies like the fake server's (a user list of 25 users, a group of 10).

use criterion::{BatchSize, Criterion};
use squirro_user_api::{
    Client, Error, Grant, GrantType, ProjectRole, Reply, Request, ServerRole, operations,
};
use std::hint::black_box;
use std::time::Duration;

const UID: &str = "z63dXPIz70iDYrSsgqaeWC";
const GID: &str = "Ao0YO3ZBUQpK34XBKAihWD";
const PID: &str = "2sic33jZTi-ifflvQAVcfw";
const WS: &str = "sales-9f3a";

type Build = fn(&Client) -> Result<Request, Error>;
/// The methods of one family and how each builds its request.
type Builds = Vec<(&'static str, Vec<(&'static str, Build)>)>;
/// The replies of one family: (method, status, body).
type Replies = Vec<(&'static str, Vec<(&'static str, u16, String)>)>;

/// The methods of each family, as a caller writes them.
fn builds() -> Builds {
    vec![
        (
            "users",
            vec![
                ("get_user_data", |c| c.get_user_data(UID).request()),
                ("get_users", |c| c.get_users().request()),
                ("add_user", |c| {
                    c.add_user()
                        .email("jane@example.com")
                        .role(ServerRole::User)
                        .request()
                }),
                ("update_user_data", |c| {
                    c.update_user_data(
                        UID,
                        serde_json::json!({"full_name": "Jane Doe", "department": "Sales"}),
                    )
                    .request()
                }),
                ("change_user_password", |c| {
                    c.change_user_password(UID, "old-password", "new-password", "new-password")
                        .request()
                }),
                ("delete_user", |c| c.delete_user(UID).request()),
                ("get_users_password_policy", |c| {
                    c.get_users_password_policy().request()
                }),
            ],
        ),
        (
            "groups",
            vec![
                ("get_groups", |c| c.get_groups().request()),
                ("create_group", |c| {
                    c.create_group("Team East").members([UID, GID]).request()
                }),
                ("get_group", |c| c.get_group(GID).request()),
                ("update_group", |c| {
                    c.update_group(GID, "Team West").request()
                }),
                ("add_group_member", |c| {
                    c.add_group_member(GID, UID).request()
                }),
                ("delete_group_member", |c| {
                    c.delete_group_member(GID, UID).request()
                }),
                ("delete_group", |c| c.delete_group(GID).request()),
            ],
        ),
        (
            "grants",
            vec![
                ("new_grant", |c| {
                    c.new_grant(UID, GrantType::Service)
                        .for_client_id("reporting-bot")
                        .project_permissions(["items.read.*", "projects.read.*"])
                        .request()
                }),
                ("get_user_grants", |c| c.get_user_grants(UID).request()),
                ("delete_grant", |c| c.delete_grant(UID, GID).request()),
            ],
        ),
        (
            "sessions",
            vec![
                ("get_session", |c| c.get_session(UID, GID).request()),
                ("delete_session", |c| c.delete_session(UID, GID).request()),
                ("authenticate", |c| {
                    c.authenticate(Grant::refresh_token("b4c5330d4e2bfc0f3d43"))
                        .request()
                }),
            ],
        ),
        (
            "authentications",
            vec![
                ("get_authentication", |c| {
                    c.get_authentication(UID, "msexchange").request()
                }),
                ("new_or_modify_authentication", |c| {
                    c.new_or_modify_authentication(UID, "msexchange", "jane", "service-token")
                        .display_name("Jane")
                        .request()
                }),
                ("delete_authentication", |c| {
                    c.delete_authentication(UID, "msexchange").request()
                }),
            ],
        ),
        (
            "projects",
            vec![
                ("get_project_members", |c| {
                    c.get_project_members(PID).request()
                }),
                ("add_project_member", |c| {
                    c.add_project_member(PID, ProjectRole::Member)
                        .user_id(UID)
                        .request()
                }),
                ("update_project_member", |c| {
                    c.update_project_member(PID, UID, ProjectRole::Admin)
                        .request()
                }),
                ("delete_project_member", |c| {
                    c.delete_project_member(PID, UID).request()
                }),
            ],
        ),
        (
            "workspaces",
            vec![
                ("get_workspaces", |c| c.get_workspaces().request()),
                ("create_workspace", |c| {
                    c.create_workspace("Sales").request()
                }),
                ("update_workspace", |c| {
                    c.update_workspace(WS, "Sales EU").request()
                }),
                ("add_workspace_users", |c| {
                    c.add_workspace_users(
                        WS,
                        ["bob@example.com", "eve@example.com"],
                        ServerRole::User,
                    )
                    .request()
                }),
                ("get_workspace_users", |c| {
                    c.get_workspace_users(WS).request()
                }),
                ("delete_workspace", |c| c.delete_workspace(WS).request()),
                ("signup", |c| {
                    c.signup("new@example.com", "long-password").request()
                }),
            ],
        ),
    ]
}

/// The fake server's reply to `get_user_data` for its admin, as sent.
const FAKE_USER: &str = r#"{"email":"admin@acme.example","full_name":"Acme Admin","id":"z63dXPIz70iDYrSsgqaeWC","role":"admin","role_permissions":["admin"],"tenant":"acme","groups":[]}"#;

/// `models::User`'s fields without `extra`: what the flattened map costs.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // only decoded
struct UserWithoutExtra {
    #[serde(default)]
    id: String,
    email: Option<String>,
    full_name: Option<String>,
    role: Option<String>,
    #[serde(default)]
    role_permissions: Vec<String>,
    tenant: Option<String>,
    groups: Option<Vec<serde_json::Value>>,
    projects: Option<Vec<serde_json::Value>>,
}

fn user(i: usize) -> String {
    format!(
        r#"{{"email":"user{i}@acme.example","full_name":"User Number {i}","id":"z63dXPIz70iDYrSsgq{i:04}","role":"user","role_permissions":["user"],"tenant":"acme","groups":[{{"id":"{GID}","name":"Team East"}}],"department":"Sales","custom_flag":true}}"#
    )
}

fn list(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect::<Vec<_>>().join(",")
}

/// Replies of each family: (method, status, body).
fn replies() -> Replies {
    let member = |i: usize| {
        format!(
            r#"{{"email":"user{i}@acme.example","full_name":"User {i}","member_id":"z63dXPIz70iDYrSsgq{i:04}","member_type":"user","server_role":"user","project_role":"member","project_id":"{PID}","permissions":["fingerprints.*","items.*","previews.*","projects.*","savedsearches.*","scores.*","signals.*","sources.*"]}}"#
        )
    };
    let grant = |i: usize| {
        format!(
            r#"{{"created_at":"2026-11-28 16:19:26","valid_to":"2036-11-25 16:19:26","id":"jp7b-Pf_S7s_gS4ht{i:04}","type":"service"}}"#
        )
    };
    let group = |i: usize| {
        format!(
            r#"{{"id":"{GID}{i}","name":"Team {i}","members":[{}]}}"#,
            list(10, user)
        )
    };
    let workspace = |i: usize| format!(r#"{{"domain":"ws-{i}","title":"Workspace {i}"}}"#);
    vec![
        (
            "users",
            vec![
                ("get_user_data", 200, user(1)),
                ("get_users", 200, format!(r#"{{"users":[{}]}}"#, list(25, user))),
                ("add_user", 201, user(2)),
                ("update_user_data", 200, user(3)),
                (
                    "get_users_password_policy",
                    200,
                    r#"{"min_length":8,"require_lowercase":false,"require_uppercase":false,"require_digit":false,"require_special":false}"#.into(),
                ),
                ("delete_user", 204, String::new()),
            ],
        ),
        (
            "groups",
            vec![
                ("get_groups", 200, format!("[{}]", list(5, group))),
                ("create_group", 201, group(0)),
                ("get_group", 200, group(1)),
                ("add_group_member", 200, user(4)),
                ("delete_group", 204, String::new()),
            ],
        ),
        (
            "grants",
            vec![
                (
                    "new_grant",
                    201,
                    r#"{"id":"3XUkRfN2OOOcBc4NMPOFMB","refresh_token":"226b8d47174289a2cb23b9773b9b90ca56962a34f9d69d26166577a45513ed64"}"#.into(),
                ),
                ("get_user_grants", 200, format!(r#"{{"grants":[{}]}}"#, list(10, grant))),
                ("delete_grant", 204, String::new()),
            ],
        ),
        (
            "sessions",
            vec![(
                "get_session",
                200,
                r#"{"created_at":"2026-11-28 16:19:26","valid_to":"2036-11-25 16:19:26","id":"jp7b-Pf_S7s_gS4ht1Nr-A","type":"user","user_id":"z63dXPIz70iDYrSsgqaeWC","client_id":null,"for_client_id":null,"project_permissions":null}"#.into(),
            )],
        ),
        (
            "authentications",
            vec![(
                "get_authentication",
                200,
                r#"{"access_secret_expires":null,"access_token_expires":"2026-12-01T00:00:00","display_name":"Jane","service_user":"jane","state":"ok","access_token":"service-token","access_secret":null}"#.into(),
            )],
        ),
        (
            "projects",
            vec![
                ("get_project_members", 200, format!(r#"{{"members":[{}]}}"#, list(10, member))),
                ("add_project_member", 200, member(1)),
            ],
        ),
        (
            "workspaces",
            vec![
                ("get_workspaces", 200, format!(r#"{{"workspaces":[{}]}}"#, list(5, workspace))),
                ("create_workspace", 201, workspace(1)),
                (
                    "add_workspace_users",
                    201,
                    r#"[{"user_id":"z63dXPIz70iDYrSsgqaeWC","workspace":"sales-9f3a"},{"user_id":"z63dXPIz70iDYrSsgqaeWD","workspace":"sales-9f3a"}]"#.into(),
                ),
                (
                    "get_workspace_users",
                    200,
                    format!(
                        "[{}]",
                        list(10, |i| format!(
                            r#"{{"id":"u{i}","email":"u{i}@example.com","role":"user","full_name":"U {i}"}}"#
                        ))
                    ),
                ),
                (
                    "signup",
                    201,
                    r#"{"user_id":"z63dXPIz70iDYrSsgqaeWC","tenant":"acme"}"#.into(),
                ),
            ],
        ),
    ]
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let client = Client::builder()
        .cluster("https://squirro.example.com")
        .tenant("acme")
        .access_token("d30fc1e8f1753a0661235070dfad3fbee4f08c3fcce4426eec30756b8b793470")
        .client_id("fake-client")
        .build()
        .expect("client");

    for (family, methods) in builds() {
        let mut group = c.benchmark_group(format!("build/{family}"));
        for (name, build) in methods {
            build(&client).unwrap_or_else(|e| panic!("{name}: {e}"));
            group.bench_function(name, |b| b.iter(|| build(black_box(&client))));
        }
        group.finish();
    }

    for (family, bodies) in replies() {
        let mut group = c.benchmark_group(format!("decode/{family}"));
        for (name, status, body) in bodies {
            let body = body.into_bytes();
            let reply = Reply::from_parts(name, status, body.clone());
            match operations::decode_as(name, &reply) {
                Some(Ok(())) => {}
                other => panic!("{name}: {other:?}"),
            }
            group.bench_function(name, |b| {
                b.iter_batched_ref(
                    || Reply::from_parts(name, status, body.clone()),
                    |reply| operations::decode_as(black_box(name), reply),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }

    // The SDK's own work in one keep-alive `get_user_data` call, on the fake's reply: the
    // request and its URL, and the typed decode beside an untyped one and beside the same
    // fields without `extra` (serde's `flatten`, which keeps unknown fields, buffers the
    // object first: this shows what that costs).
    let mut group = c.benchmark_group("call");
    let body = FAKE_USER.as_bytes();
    group.bench_function("get_user_data/request+url", |b| {
        b.iter(|| {
            let request = client.get_user_data(black_box(UID)).request().unwrap();
            client.url(&request)
        })
    });
    group.bench_function("get_user_data/decode User", |b| {
        b.iter(|| serde_json::from_slice::<squirro_user_api::models::User>(black_box(body)))
    });
    group.bench_function("get_user_data/decode serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)))
    });
    group.bench_function("get_user_data/decode User without extra", |b| {
        b.iter(|| serde_json::from_slice::<UserWithoutExtra>(black_box(body)))
    });
    // A listing: 25 users, each with two custom fields and a group (kept in `extra`).
    let users = format!(r#"{{"users":[{}]}}"#, list(25, user)).into_bytes();
    group.bench_function("get_users 25/decode UserList", |b| {
        b.iter(|| serde_json::from_slice::<squirro_user_api::models::UserList>(black_box(&users)))
    });
    group.bench_function("get_users 25/decode serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&users)))
    });
    group.finish();

    c.final_summary();
}
