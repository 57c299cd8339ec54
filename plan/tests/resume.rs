//! A run killed half way (`kill -9` of a child process) and resumed ends in the state of a clean
//! run: nothing created twice, every operation in the results file once. An operation that was
//! in flight is settled by a lookup, not sent again.

mod support;

use squirro_user_plan::{ApplyOptions, PlanOptions, apply, load_state, plan, resume_plan};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// Run as a child process by `a_killed_apply_resumes_and_finishes`: plans and applies the state
/// in `PLAN_CHILD_DIR` against `PLAN_CHILD_URL`. Does nothing when run by the test harness.
#[test]
fn child_apply() {
    let (Ok(url), Ok(token), Ok(dir)) = (
        std::env::var("PLAN_CHILD_URL"),
        std::env::var("PLAN_CHILD_TOKEN"),
        std::env::var("PLAN_CHILD_DIR"),
    ) else {
        return;
    };
    let dir = Path::new(&dir);
    let client = client_for(&url, &token);
    let state = load_state(dir.join("state.toml")).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    apply(
        &client,
        &p,
        &ApplyOptions::default()
            .concurrency(2)
            .journal(dir.join("journal"))
            .results(dir.join("results.jsonl")),
    )
    .unwrap();
}

fn done_lines(journal: &Path) -> usize {
    std::fs::read_to_string(journal)
        .map(|t| t.lines().filter(|l| l.starts_with("{\"d\"")).count())
        .unwrap_or(0)
}

#[test]
fn a_killed_apply_resumes_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    state_files(dir.path());
    let expected = {
        let server = server();
        let client = client(&server);
        let state = load_state(dir.path().join("state.toml")).unwrap();
        let p = plan(&client, &state, &PlanOptions::default()).unwrap();
        assert!(
            apply(&client, &p, &ApplyOptions::default())
                .unwrap()
                .is_complete()
        );
        view(&client)
    };

    // A round trip of 20 ms, so the child is killed in the middle of its work.
    let server = server_with(
        squirro_user_api_fake::FakeServer::builder().latency(Duration::from_millis(20)),
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_apply", "--exact", "--nocapture", "--test-threads=1"])
        .env("PLAN_CHILD_URL", server.url())
        .env("PLAN_CHILD_TOKEN", &server.credentials().refresh_token)
        .env("PLAN_CHILD_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = dir.path().join("journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    while done_lines(&journal) < 12 {
        assert!(Instant::now() < deadline, "the child made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // A request the child sent just before it died is still carried out by the server (after
    // its 20 ms latency): let it land, as it would long before an operator re-runs the job.
    // Otherwise the resume's lookup may miss a user that appears a moment later, send it again
    // and get a 409 (an "exists", correct but not the path this test pins).
    std::thread::sleep(Duration::from_millis(250));
    let done_at_kill = done_lines(&journal);
    assert!(done_at_kill < 53, "killed too late: {done_at_kill}");

    // Re-running `apply state.toml` finds the interrupted plan in the journal and finishes it.
    let client = client(&server);
    let state = load_state(dir.path().join("state.toml")).unwrap();
    let p = resume_plan(&journal, &state)
        .unwrap()
        .expect("an unfinished plan");
    assert_eq!(p.operations.len(), 53);
    let results = dir.path().join("results.jsonl");
    let report = apply(
        &client,
        &p,
        &ApplyOptions::default()
            .concurrency(4)
            .journal(&journal)
            .results(&results),
    )
    .unwrap();
    assert!(report.resumed);
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.done_before + report.done, 53);
    assert!(report.done_before >= done_at_kill);

    assert_eq!(view(&client), expected);
    let posts = |suffix| {
        server
            .journal()
            .iter()
            .filter(|e| e.method == "POST" && e.path.ends_with(suffix))
            .count()
    };
    // The fake journals a request when it answers: one the child sent just before it was killed
    // may be missing. A create sent twice would be here, or answered 409.
    assert!(posts("/v0/acme/users") <= 23, "a user was created twice");
    assert!(posts("/v0/acme/groups") <= 3, "a group was created twice");
    assert!(server.journal().iter().all(|e| e.status != Some(409)));
    let lines = support::results(&results);
    let indexes: BTreeSet<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert_eq!((lines.len(), indexes.len()), (53, 53));
    // The journal now says complete: a new apply of the file plans afresh (and finds nothing).
    assert!(resume_plan(&journal, &state).unwrap().is_none());
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_operation_in_flight_at_the_crash_is_settled_by_lookup_not_sent_again() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.toml",
        r#"[[users]]
email = "a@example.com"
full_name = "A"

[[users]]
email = "b@example.com"

[[groups]]
name = "Team"
members = ["a@example.com"]
"#,
    );
    let state = load_state(&path).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    let create_a = p
        .operations
        .iter()
        .position(|o| o.to_string() == "+ create user a@example.com (full_name \"A\")")
        .unwrap();
    // A run that crashed with "create a@example.com" sent and its user created, before the
    // journal recorded its outcome.
    let journal = dir.path().join("journal");
    let plan_json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    let header = serde_json::json!({"journal": 1, "plan_id": p.id(), "plan": plan_json});
    std::fs::write(
        &journal,
        format!("{header}\n{{\"s\":{create_a}}}\n{{\"d\":"),
    )
    .unwrap();
    client.add_user().email("a@example.com").send().unwrap();
    server.clear_journal();

    let results = dir.path().join("r.jsonl");
    let report = apply(
        &client,
        &p,
        &ApplyOptions::default().journal(&journal).results(&results),
    )
    .unwrap();
    assert!(report.resumed && report.is_complete(), "{report:#?}");
    assert_eq!(report.settled, 1);
    let lines = support::results(&results);
    let line = lines.iter().find(|l| l["index"] == create_a).unwrap();
    assert_eq!(line["outcome"], "settled");
    // a@ was looked up, not created again; its name was still set.
    assert!(
        server
            .journal()
            .iter()
            .all(|e| !(e.method == "POST" && e.body.windows(13).any(|w| w == b"a@example.com")))
    );
    assert_eq!(view(&client).users["a@example.com"].0.as_deref(), Some("A"));
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_journal_of_another_unfinished_plan_is_refused() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let one = load_state(write(dir.path(), "one.csv", "email\none@example.com\n")).unwrap();
    let two = load_state(write(dir.path(), "two.csv", "email\ntwo@example.com\n")).unwrap();
    let p1 = plan(&client, &one, &PlanOptions::default()).unwrap();
    let journal = dir.path().join("journal");
    let header = serde_json::json!({"journal": 1, "plan_id": p1.id(), "plan": serde_json::from_str::<serde_json::Value>(&p1.to_json()).unwrap()});
    std::fs::write(&journal, format!("{header}\n")).unwrap();
    let p2 = plan(&client, &two, &PlanOptions::default()).unwrap();
    let err = apply(&client, &p2, &ApplyOptions::default().journal(&journal)).unwrap_err();
    assert!(
        err.to_string().contains("unfinished apply of another plan"),
        "{err}"
    );
    assert!(resume_plan(&journal, &two).unwrap().is_none());
    assert!(resume_plan(&journal, &one).unwrap().is_some());
}

#[test]
fn a_header_cut_by_a_crash_is_no_journal() {
    let server = server();
    let client = client(&server);
    let dir = tempfile::tempdir().unwrap();
    let state = load_state(write(dir.path(), "one.csv", "email\none@example.com\n")).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    let journal = dir.path().join("journal");
    std::fs::write(&journal, "{\"journal\":1,\"plan_id\":\"ab").unwrap();
    assert!(resume_plan(&journal, &state).unwrap().is_none());
    let report = apply(&client, &p, &ApplyOptions::default().journal(&journal)).unwrap();
    assert!(!report.resumed && report.is_complete(), "{report:#?}");
    // Anything else that is not a journal is refused, not overwritten.
    std::fs::write(&journal, "hello\n{\"d\":0}\n").unwrap();
    let err = apply(&client, &p, &ApplyOptions::default().journal(&journal)).unwrap_err();
    assert!(err.to_string().contains("not a journal"), "{err}");
}
