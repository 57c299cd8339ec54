//! Plan, apply, plan again: the second plan is empty, and the tenant is as the file says.

mod support;

use squirro_user_plan::{ApplyOptions, Kind, PlanOptions, apply, load_state, plan};
use support::*;

#[test]
fn plan_apply_plan_converges() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let state = load_state(state_files(dir.path())).unwrap();
    assert_eq!(state.users.len(), 23);

    let first = plan(&client, &state, &PlanOptions::default()).unwrap();
    // 23 users, 3 groups (Team West is named only by the CSV), 23 group memberships,
    // 4 project memberships.
    let s = first.summary();
    assert_eq!(
        (s.create, s.change, s.remove),
        (53, 0, 0),
        "{}",
        first.to_human()
    );
    let human = first.to_human();
    assert!(
        human.contains(
            "+ create user Jane@Example.com (role admin, full_name \"Jane Doe\", dept=\"Sales\")"
        ),
        "{human}"
    );
    assert!(
        human.contains("+ add group \"Team East\" to project 2sic33jZTi-ifflvQAVcfw as member"),
        "{human}"
    );
    assert!(
        human.contains("Plan: 53 to create, 0 to change, 0 to remove."),
        "{human}"
    );
    // Users and groups come before their memberships.
    let phases: Vec<u8> = first.operations.iter().map(|o| o.phase()).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]));
    // Planning only reads.
    assert!(
        server
            .journal()
            .iter()
            .all(|e| e.method == "GET" || e.path.ends_with("/oauth2/token"))
    );

    let results = dir.path().join("results.jsonl");
    let report = apply(
        &client,
        &first,
        &ApplyOptions::default()
            .concurrency(4)
            .results(&results)
            .journal(dir.path().join("journal")),
    )
    .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.done, 53);
    let lines = support::results(&results);
    assert_eq!(lines.len(), 53);
    assert!(
        lines
            .iter()
            .all(|l| l["outcome"] == "created" && l["id"].is_string()),
        "{lines:?}"
    );

    let second = plan(
        &client,
        &state,
        &PlanOptions::default().allow_deletion(true),
    )
    .unwrap();
    assert!(second.is_empty(), "{}", second.to_human());
    assert!(second.to_human().contains("No changes"));

    let v = view(&client);
    assert_eq!(
        v.users["jane@example.com"],
        (
            Some("Jane Doe".into()),
            Some("admin".into()),
            Some("Sales".into())
        )
    );
    assert_eq!(
        v.users["user07@example.com"],
        (
            Some("User 7".into()),
            Some("reader".into()),
            Some("D1".into())
        )
    );
    assert_eq!(v.groups["Team East"].len(), 12);
    assert_eq!(v.groups["Team West"].len(), 10);
    assert_eq!(v.projects[SALES]["group:Team West"], "reader");
    assert_eq!(v.projects[SUPPORT]["user:carl@example.com"], "reader");
    // Each user was created once.
    assert_eq!(count(&server, "POST", "/v0/acme/users"), 23);
}

#[test]
fn changes_are_planned_as_changes_and_a_saved_plan_refuses_a_changed_tenant() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let jane = client.add_user().email("jane@example.com").send().unwrap();
    client
        .update_user_data(
            &jane.id,
            serde_json::json!({"full_name": "J", "dept": "Ops"}),
        )
        .send()
        .unwrap();
    let path = write(
        dir.path(),
        "state.json",
        r#"{
  "users": [
    {"email": "jane@example.com", "full_name": "Jane Doe", "role": "admin", "data": {"dept": "Sales"}}
  ]
}"#,
    );
    let state = load_state(&path).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    assert_eq!(p.operations.len(), 1);
    assert_eq!(p.operations[0].kind(), Kind::Change);
    assert_eq!(
        p.operations[0].to_string(),
        "~ change user jane@example.com: full_name \"J\" -> \"Jane Doe\", role \"user\" -> \"admin\", dept \"Ops\" -> \"Sales\""
    );
    let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    assert_eq!(json["operations"][0]["op"], "update_user");
    assert_eq!(json["summary"]["change"], 1);

    // Saved, then the tenant changes: applying the saved plan is refused.
    let saved = dir.path().join("plan.json");
    p.save(&saved).unwrap();
    assert!(squirro_user_plan::Plan::is_plan_file(&saved));
    assert!(!squirro_user_plan::Plan::is_plan_file(&path));
    client
        .update_user_data(&jane.id, serde_json::json!({"full_name": "Someone else"}))
        .send()
        .unwrap();
    let loaded = squirro_user_plan::Plan::load(&saved).unwrap();
    let err = apply(&client, &loaded, &ApplyOptions::default()).unwrap_err();
    assert!(
        matches!(err, squirro_user_plan::PlanError::Stale { .. }),
        "{err}"
    );
    assert_eq!(
        client
            .get_user_data(&jane.id)
            .send()
            .unwrap()
            .full_name
            .as_deref(),
        Some("Someone else")
    );

    // A fresh plan, saved and loaded, applies when nothing changed in between.
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    p.save(&saved).unwrap();
    let loaded = squirro_user_plan::Plan::load(&saved).unwrap();
    assert_eq!(loaded.id(), p.id());
    let report = apply(&client, &loaded, &ApplyOptions::default()).unwrap();
    assert!(report.is_complete());
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
}
