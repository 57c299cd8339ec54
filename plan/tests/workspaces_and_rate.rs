//! Workspace roles are planned and set (and converge); `rate` spaces requests out.

mod support;

use squirro_user_plan::{ApplyOptions, Kind, PlanOptions, apply, load_state, plan};
use std::time::Instant;
use support::*;

#[test]
fn workspace_roles_are_set_and_converge() {
    let server = server();
    let client = client(&server);
    let domain = client.create_workspace("Team Space").send().unwrap().domain;
    let bob = client
        .add_user()
        .email("bob@example.com")
        .send()
        .unwrap()
        .id;
    client
        .set_workspace_user_role(&domain, &bob, squirro_user_api::ServerRole::Reader)
        .send()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.toml",
        &format!(
            r#"[[users]]
email = "jane@example.com"

[[workspaces]]
domain = "{domain}"
users = [{{ email = "jane@example.com", role = "admin" }}, {{ email = "bob@example.com", role = "user" }}]
"#
        ),
    );
    let state = load_state(&path).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    let human = p.to_human();
    assert!(
        human.contains(&format!(
            "+ add jane@example.com to workspace {domain} as admin"
        )),
        "{human}"
    );
    assert!(
        human.contains(&format!(
            "~ change role of bob@example.com in workspace {domain}: reader -> user"
        )),
        "{human}"
    );
    assert_eq!(
        p.operations
            .iter()
            .filter(|o| o.kind() == Kind::Change)
            .count(),
        1
    );
    assert!(
        apply(&client, &p, &ApplyOptions::default())
            .unwrap()
            .is_complete()
    );
    let users = client.get_workspace_users(&domain).send().unwrap();
    let role = |email: &str| {
        users
            .iter()
            .find(|u| u.email.as_deref() == Some(email))
            .and_then(|u| u.role.clone())
    };
    assert_eq!(role("jane@example.com").as_deref(), Some("admin"));
    assert_eq!(role("bob@example.com").as_deref(), Some("user"));
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );

    // A workspace that does not exist is a problem of the file, found before any write.
    let path = write(
        dir.path(),
        "other.toml",
        "[[workspaces]]\ndomain = \"nowhere\"\nusers = [{ email = \"bob@example.com\", role = \"user\" }]\n",
    );
    let err = plan(
        &client,
        &load_state(&path).unwrap(),
        &PlanOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.problems()[0].line, Some(1), "{err}");
}

#[test]
fn rate_spaces_requests_over_all_workers() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("email\n");
    for i in 0..12 {
        csv.push_str(&format!("u{i}@example.com\n"));
    }
    let state = load_state(write(dir.path(), "users.csv", &csv)).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    server.clear_journal();
    let t = Instant::now();
    let report = apply(
        &client,
        &p,
        &ApplyOptions::default().concurrency(4).rate(Some(40.0)),
    )
    .unwrap();
    let elapsed = t.elapsed();
    assert!(report.is_complete());
    // 12 requests at 40 a second: the last one 11/40 s after the first.
    assert_eq!(server.journal().len(), 12);
    assert!(elapsed.as_secs_f64() >= 11.0 / 40.0, "{elapsed:?}");
    // Without a limit the same takes a fraction of that.
    let state = load_state(write(dir.path(), "more.csv", &csv.replace('u', "v"))).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    let t = Instant::now();
    apply(&client, &p, &ApplyOptions::default().concurrency(4)).unwrap();
    assert!(t.elapsed() < elapsed, "{:?} vs {elapsed:?}", t.elapsed());
}
