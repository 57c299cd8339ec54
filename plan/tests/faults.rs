//! Faults on the way (503 storms, 429 with Retry-After, replies lost after the server acted, a
//! 409 for an object created by someone else) end in the state a clean run gives, with nothing
//! created twice and every operation in the results file once.

mod support;

use squirro_user_api_fake::Fault;
use squirro_user_plan::{ApplyOptions, PlanOptions, apply, load_state, plan};
use std::collections::BTreeSet;
use support::*;

fn clean_view(dir: &std::path::Path) -> View {
    let server = server();
    let client = client(&server);
    let state = load_state(dir.join("state.toml")).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    assert!(
        apply(&client, &p, &ApplyOptions::default())
            .unwrap()
            .is_complete()
    );
    view(&client)
}

/// Requests the server handled (not refused by a fault before handling).
fn handled(server: &squirro_user_api_fake::FakeServer, method: &str, suffix: &str) -> usize {
    server
        .journal()
        .iter()
        .filter(|e| e.method == method && e.path.ends_with(suffix))
        .filter(|e| !matches!(e.status, Some(429 | 503)))
        .count()
}

#[test]
fn storms_throttling_and_lost_replies_end_in_the_clean_state() {
    let dir = tempfile::tempdir().unwrap();
    state_files(dir.path());
    let expected = clean_view(dir.path());

    let server = server();
    let client = client(&server);
    let state = load_state(dir.path().join("state.toml")).unwrap();
    // Reads under a storm while planning.
    server.inject(Fault::status(503).times(3).matching("GET", "/groups"));
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    assert_eq!(p.operations.len(), 53);

    server.inject(
        Fault::status(503)
            .times(4)
            .matching("POST", "/v0/acme/users"),
    );
    server.inject(
        Fault::status(429)
            .retry_after(1)
            .matching("POST", "/v0/acme/groups"),
    );
    // Replies lost after the server acted: two user creations, a group creation, two group
    // memberships, a project membership, a data update.
    server.inject(
        Fault::drop_connection()
            .after_handling()
            .times(2)
            .matching("POST", "/v0/acme/users"),
    );
    server.inject(
        Fault::drop_connection()
            .after_handling()
            .times(3)
            .matching("POST", "/v0/acme/groups"),
    );
    server.inject(
        Fault::drop_connection()
            .after_handling()
            .matching("POST", "/members"),
    );
    server.inject(
        Fault::drop_connection()
            .after_handling()
            .matching("PUT", "/users/"),
    );
    let results = dir.path().join("results.jsonl");
    let report = apply(
        &client,
        &p,
        &ApplyOptions::default()
            .concurrency(4)
            .results(&results)
            .journal(dir.path().join("j")),
    )
    .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert!(report.settled >= 6, "{report:#?}");

    assert_eq!(view(&client), expected);
    // Each user and group was created once: lost replies were looked up, not sent again.
    assert_eq!(handled(&server, "POST", "/v0/acme/users"), 23);
    assert_eq!(handled(&server, "POST", "/v0/acme/groups"), 3);
    assert!(server.journal().iter().all(|e| e.status != Some(409)));

    let lines = support::results(&results);
    let indexes: BTreeSet<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert_eq!(lines.len(), 53);
    assert_eq!(indexes.len(), 53);
    let settled = lines.iter().filter(|l| l["outcome"] == "settled").count();
    assert_eq!(settled, report.settled);
    assert!(
        lines
            .iter()
            .all(|l| l["outcome"] == "created" || l["outcome"] == "settled"),
        "{lines:#?}"
    );
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_conflict_on_create_means_exists_and_is_then_brought_to_the_state() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.toml",
        "[[users]]\nemail = \"jane@example.com\"\nfull_name = \"Jane\"\nrole = \"admin\"\n\n[[groups]]\nname = \"Team\"\n",
    );
    let state = load_state(&path).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    // Someone else creates both between plan and apply.
    client.add_user().email("JANE@example.com").send().unwrap();
    client.create_group("Team").send().unwrap();
    let results = dir.path().join("r.jsonl");
    let report = apply(&client, &p, &ApplyOptions::default().results(&results)).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    let lines = support::results(&results);
    assert!(lines.iter().all(|l| l["outcome"] == "exists"), "{lines:#?}");
    let v = view(&client);
    assert_eq!(
        v.users["jane@example.com"],
        (Some("Jane".into()), Some("admin".into()), None)
    );
    assert_eq!(v.groups.len(), 1);
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn max_errors_stops_and_a_rerun_finishes() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("email\n");
    for i in 0..10 {
        csv.push_str(&format!("u{i}@example.com\n"));
    }
    let path = write(dir.path(), "users.csv", &csv);
    let state = load_state(&path).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    // Refused outright (a 400 is not retried): two failures stop the run.
    server.inject(Fault::status(400).times(2).matching("POST", "/users"));
    let journal = dir.path().join("journal");
    let results = dir.path().join("r.jsonl");
    let options = ApplyOptions::default()
        .concurrency(1)
        .max_errors(Some(2))
        .journal(&journal)
        .results(&results);
    let report = apply(&client, &p, &options).unwrap();
    assert!(report.stopped, "{report:#?}");
    assert_eq!(report.failed, 2);
    assert_eq!(report.not_run, 8);
    assert_eq!(report.errors.len(), 2);
    assert!(
        report.errors[0].error.contains("HTTP 400"),
        "{:?}",
        report.errors
    );
    assert_eq!(support::results(&results).len(), 2);

    // The same plan again: the failed ones are retried, the rest run, nothing twice.
    let report = apply(&client, &p, &options).unwrap();
    assert!(report.resumed);
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.done, 10);
    let lines = support::results(&results);
    assert_eq!(lines.len(), 10, "{lines:#?}");
    assert_eq!(handled(&server, "POST", "/v0/acme/users") - 2, 10);
    // Applying a complete plan again does nothing.
    let again = apply(&client, &p, &options).unwrap();
    assert_eq!((again.done_before, again.done), (10, 0));
}

#[test]
fn a_create_lost_before_the_server_acted_is_looked_up_then_sent_again() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let state = load_state(write(
        dir.path(),
        "u.csv",
        "email,full_name\nann@example.com,Ann\n",
    ))
    .unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    // The connection drops twice before the server handles the POST: nothing was created.
    server.inject(
        Fault::drop_connection()
            .times(2)
            .matching("POST", "/v0/acme/users"),
    );
    server.clear_journal();
    let results = dir.path().join("r.jsonl");
    let report = apply(&client, &p, &ApplyOptions::default().results(&results)).unwrap();
    assert!(report.is_complete(), "{report:#?}");
    let calls: Vec<(String, Option<u16>)> = server
        .journal()
        .iter()
        .filter(|e| e.path.ends_with("/v0/acme/users"))
        .map(|e| (e.method.clone(), e.status))
        .collect();
    // Each loss is settled by a lookup that finds nothing; then the create is sent again.
    let expected: Vec<(String, Option<u16>)> = vec![
        ("POST".into(), None),
        ("GET".into(), Some(200)),
        ("POST".into(), None),
        ("GET".into(), Some(200)),
        ("POST".into(), Some(201)),
    ];
    assert_eq!(calls, expected);
    assert_eq!(support::results(&results)[0]["outcome"], "created");
    assert_eq!(
        view(&client).users["ann@example.com"].0.as_deref(),
        Some("Ann")
    );
}
