//! `squirro-user plan` and `apply` against the fake: a plan that changes nothing, an apply that
//! needs --yes without a terminal, convergence, the results file, all problems of a bad file,
//! and a saved plan refused once the tenant changed.

mod common;

use common::{Env, Out};

fn state(env: &Env, name: &str, text: &str) -> String {
    let path = env.home.join(name);
    std::fs::write(&path, text).expect("write the state file");
    path.display().to_string()
}

const STATE: &str = r#"
[[users]]
email = "jane@example.com"
full_name = "Jane Doe"
role = "user"

[[users]]
email = "john@example.com"
role = "reader"

[[groups]]
name = "Sales East"
members = ["jane@example.com", "john@example.com"]

[[projects]]
id = "2sic33jZTi-ifflvQAVcfw"
members = [{ group = "Sales East", role = "member" }]
"#;

#[test]
fn plan_then_apply_converges_and_records_every_operation() {
    let env = Env::new("plan-apply");
    let file = state(&env, "tenant.toml", STATE);
    let out = env.run(&["plan", &file, "--output", "text"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("+ create user jane@example.com"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("+ create group \"Sales East\""),
        "{out:?}"
    );
    assert!(out.stdout.contains("Plan: 6 to create"), "{out:?}");

    // Without a terminal, an apply needs --yes; nothing is changed without it.
    let out = env.run(&["apply", &file]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--yes"), "{out:?}");
    let out = env.run(&["get-users", "--output", "json"]);
    assert!(!out.stdout.contains("jane@example.com"), "{out:?}");

    let results = env.home.join("results.jsonl");
    let results_arg = results.display().to_string();
    let out = env.run(&[
        "apply",
        &file,
        "--yes",
        "--results",
        &results_arg,
        "--output",
        "json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    assert_eq!(report["total"], 6, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let lines = std::fs::read_to_string(&results).expect("results file");
    assert_eq!(lines.lines().count(), 6, "{lines}");

    // Converged: the same file plans nothing, and apply says so.
    let out = env.run(&["plan", &file, "--output", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["operations"].as_array().map(Vec::len),
        Some(0),
        "{out:?}"
    );
    let out = env.run(&["apply", &file, "--yes"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("no changes"), "{out:?}");
}

#[test]
fn a_bad_file_gives_all_its_problems_with_lines_and_changes_nothing() {
    let env = Env::new("plan-bad");
    let file = state(
        &env,
        "bad.toml",
        "[[users]]\nemail = \"not-an-email\"\n\n[[users]]\nemail = \"a@example.com\"\nrole = \"boss\"\n",
    );
    for cmd in ["plan", "apply"] {
        let out = env.run(&[cmd, &file, "--yes"][..if cmd == "plan" { 2 } else { 3 }]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("bad.toml:2"), "{out:?}");
        assert!(out.stderr.contains("bad.toml:6"), "{out:?}");
        assert!(out.stderr.contains("2 problem(s)"), "{out:?}");
    }
    let out: Out = env.run(&["get-users", "--output", "json"]);
    assert!(!out.stdout.contains("a@example.com"), "{out:?}");
}

#[test]
fn a_saved_plan_is_refused_once_the_tenant_changed() {
    let env = Env::new("plan-stale");
    let file = state(&env, "tenant.toml", STATE);
    let saved = env.home.join("tenant.plan").display().to_string();
    let out = env.run(&["plan", &file, "--out", &saved, "--output", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    // Someone else changes the tenant in between.
    let out = env.run(&["add-user", "--email", "jane@example.com"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = env.run(&["apply", &saved, "--yes"]);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stderr.contains("changed since the plan"), "{out:?}");
}
