//! Removals are opt-in and scoped: without allow-deletion nothing is removed; with it, only
//! members of the groups and projects the file names, and users matching its patterns.

mod support;

use squirro_user_api::ProjectRole;
use squirro_user_plan::{ApplyOptions, Kind, PlanOptions, apply, load_state, plan};
use support::*;

#[test]
fn deletion_is_opt_in_and_stays_in_scope() {
    let server = server();
    let client = client(&server);
    let add = |email: &str| client.add_user().email(email).send().unwrap().id;
    let keep = add("keep@example.com");
    let old1 = add("old1@old.example.com");
    add("old2@old.example.com");
    let other = add("other@example.com");
    let team = client.create_group("Team").send().unwrap().id;
    let untouched = client.create_group("Untouched").send().unwrap().id;
    for u in [&keep, &old1, &other] {
        client.add_group_member(&team, u).send().unwrap();
    }
    for u in [&old1, &other] {
        client.add_group_member(&untouched, u).send().unwrap();
    }
    client
        .add_project_member(SALES, ProjectRole::Reader)
        .user_id(&keep)
        .send()
        .unwrap();
    client
        .add_project_member(SALES, ProjectRole::Member)
        .user_id(&other)
        .send()
        .unwrap();
    client
        .add_project_member(SALES, ProjectRole::Member)
        .group_id(&untouched)
        .send()
        .unwrap();
    client
        .add_project_member(SUPPORT, ProjectRole::Member)
        .user_id(&other)
        .send()
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.toml",
        r#"[scope]
remove_users_matching = ["*@OLD.example.com"]

[[users]]
email = "keep@example.com"

[[groups]]
name = "team"
members = ["keep@example.com"]

[[projects]]
id = "2sic33jZTi-ifflvQAVcfw"
members = [{ user = "keep@example.com", role = "reader" }]
"#,
    );
    let state = load_state(&path).unwrap();
    let before = view(&client);

    // Without allow-deletion: nothing to do, six removals withheld and shown.
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    assert!(p.is_empty(), "{}", p.to_human());
    assert_eq!(p.summary().withheld, 6);
    let human = p.to_human();
    for line in [
        "  - remove old1@old.example.com from group \"Team\"",
        "  - remove other@example.com from group \"Team\"",
        "  - remove user other@example.com from project 2sic33jZTi-ifflvQAVcfw",
        "  - remove group \"Untouched\" from project 2sic33jZTi-ifflvQAVcfw",
        "  - delete user old1@old.example.com",
        "  - delete user old2@old.example.com",
    ] {
        assert!(human.contains(line), "missing {line:?} in\n{human}");
    }
    assert!(human.contains("6 removals withheld"), "{human}");
    let report = apply(&client, &p, &ApplyOptions::default()).unwrap();
    assert_eq!(report.total, 0);
    assert_eq!(view(&client), before);
    assert_eq!(
        server
            .journal()
            .iter()
            .filter(|e| e.method == "DELETE")
            .count(),
        0
    );

    // With it: exactly those six.
    let p = plan(
        &client,
        &state,
        &PlanOptions::default().allow_deletion(true),
    )
    .unwrap();
    assert_eq!(p.operations.len(), 6, "{}", p.to_human());
    assert!(p.operations.iter().all(|o| o.kind() == Kind::Remove));
    assert_eq!(p.summary().withheld, 0);
    let report = apply(&client, &p, &ApplyOptions::default()).unwrap();
    assert!(report.is_complete(), "{report:?}");

    let after = view(&client);
    // Users outside the pattern stay, however unmentioned.
    assert!(after.users.contains_key("other@example.com"));
    assert!(after.users.contains_key("keep@example.com"));
    assert!(!after.users.contains_key("old1@old.example.com"));
    assert!(!after.users.contains_key("old2@old.example.com"));
    assert_eq!(after.groups["Team"], vec!["keep@example.com".to_string()]);
    // A group the file does not name keeps its members (old1 went with its user).
    assert_eq!(
        after.groups["Untouched"],
        vec!["other@example.com".to_string()]
    );
    // A project the file does not name keeps its members.
    assert_eq!(after.projects[SUPPORT], before.projects[SUPPORT]);
    assert_eq!(after.projects[SALES].len(), 1);
    assert!(
        plan(
            &client,
            &state,
            &PlanOptions::default().allow_deletion(true)
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn without_a_pattern_no_user_is_ever_deleted() {
    let server = server();
    let client = client(&server);
    client
        .add_user()
        .email("stranger@example.com")
        .send()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.csv",
        "email,full_name\nkeep@example.com,Keep\n",
    );
    let state = load_state(&path).unwrap();
    let p = plan(
        &client,
        &state,
        &PlanOptions::default().allow_deletion(true),
    )
    .unwrap();
    assert_eq!(p.operations.len(), 1, "{}", p.to_human());
    assert_eq!(p.summary().withheld, 0);
    apply(&client, &p, &ApplyOptions::default()).unwrap();
    assert!(view(&client).users.contains_key("stranger@example.com"));
}
