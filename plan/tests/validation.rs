//! Bad files: every problem at once, with file, line and field, before any request.

mod support;

use squirro_user_plan::{PlanError, PlanOptions, Problem, load_state, plan};
use support::*;

fn problems(err: PlanError) -> Vec<Problem> {
    match err {
        PlanError::Invalid(p) => p,
        other => panic!("expected problems, got {other}"),
    }
}

fn short(p: &[Problem]) -> Vec<(Option<usize>, String)> {
    p.iter().map(|p| (p.line, p.field.clone())).collect()
}

#[test]
fn a_toml_file_with_many_problems_reports_them_all_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "people.csv",
        "email,full_name,shoe_size,colour\njane@example.com,Jane,42,red\n",
    );
    write(
        dir.path(),
        "more.csv",
        "email,role,groups\nJANE@example.com,user,\nnot-an-email,boss,Team\nok@example.com,reader,Team\n",
    );
    let path = write(
        dir.path(),
        "state.toml",
        r#"users_csv = ["more.csv", "missing.csv"]

[[users]]
email = "jane@example.com"
role = "boss"

[[users]]
email = "bob@example.com"
data = { id = "x" }

[[groups]]
name = "Team"
members = ["nobody"]

[[groups]]
name = "team"

[[projects]]
id = "p1"
members = [
  { user = "jane@example.com", group = "Team", role = "member" },
  { group = "Team", role = "owner" },
]
"#,
    );
    let p = problems(load_state(&path).unwrap_err());
    let file = path.display().to_string();
    let more = dir.path().join("more.csv").display().to_string();
    let got = short(&p);
    let expected = vec![
        (Some(5), "users[0].role".to_string()),
        (Some(9), "users[1].data.id".to_string()),
        (Some(13), "groups[0].members[0]".to_string()),
        (Some(16), "groups[1].name".to_string()),
        (Some(2), "email".to_string()),
        (Some(3), "email".to_string()),
        (Some(3), "role".to_string()),
        (Some(1), "users_csv[1]".to_string()),
        (Some(21), "projects[0].members[0]".to_string()),
        (Some(22), "projects[0].members[1].role".to_string()),
    ];
    for e in &expected {
        assert!(got.contains(e), "missing {e:?} in {p:#?}");
    }
    assert_eq!(p.len(), expected.len(), "{p:#?}");
    let dup = p
        .iter()
        .find(|p| p.file == more && p.line == Some(2))
        .unwrap();
    assert!(
        dup.message.contains("duplicate email jane@example.com"),
        "{dup}"
    );
    assert!(dup.message.contains(&format!("{file}:4")), "{dup}");
    let role = &p[0];
    assert_eq!(role.file, file);
    assert_eq!(
        role.to_string(),
        format!(
            "{file}:5: users[0].role: unknown role \"boss\"; expected one of: admin, user, demo, reader"
        )
    );
    // The display lists them all.
    let text = PlanError::Invalid(p.clone()).to_string();
    assert!(
        text.starts_with("10 problems in the desired state:"),
        "{text}"
    );

    // A CSV's unknown columns are all named, at line 1.
    let csv = dir.path().join("people.csv");
    let p = problems(load_state(&csv).unwrap_err());
    assert_eq!(
        short(&p),
        vec![
            (Some(1), "column \"shoe_size\"".into()),
            (Some(1), "column \"colour\"".into())
        ]
    );
}

#[test]
fn json_problems_have_lines_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.json",
        r#"{
  "users": [
    {"email": "a@example.com"},
    {"email": "b@example.com",
     "role": "root"},
    {"email": "A@EXAMPLE.COM"}
  ]
}"#,
    );
    let p = problems(load_state(&path).unwrap_err());
    assert_eq!(
        short(&p),
        vec![
            (Some(5), "users[1].role".into()),
            (Some(6), "users[2].email".into())
        ]
    );

    // Syntax and shape errors: one, with its line.
    let path = write(
        dir.path(),
        "bad.json",
        "{\n  \"users\": [\n    {\"email\": 3}\n  ]\n}",
    );
    let p = problems(load_state(&path).unwrap_err());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, Some(3));
    let path = write(
        dir.path(),
        "bad.toml",
        "[[users]]\nemail = \"a@example.com\"\nnickname = \"A\"\n",
    );
    let p = problems(load_state(&path).unwrap_err());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, Some(3));
    assert!(p[0].message.contains("nickname"), "{:?}", p[0]);
    // A CSV row with too many fields.
    let path = write(
        dir.path(),
        "rows.csv",
        "email,role\na@example.com,user\nb@example.com,user,extra\n",
    );
    let p = problems(load_state(&path).unwrap_err());
    assert_eq!(short(&p), vec![(Some(3), "row".into())]);
}

#[test]
fn members_unknown_to_the_state_and_the_tenant_are_reported_before_any_change() {
    let server = server();
    let client = client(&server);
    client.add_user().email("known@example.com").send().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "state.toml",
        r#"[[users]]
email = "jane@example.com"

[[groups]]
name = "Team"
members = ["jane@example.com", "known@example.com", "ghost@example.com"]

[[projects]]
id = "2sic33jZTi-ifflvQAVcfw"
members = [{ group = "Nobody's group", role = "member" }, { user = "phantom@example.com", role = "reader" }]

[[projects]]
id = "no-such-project"
"#,
    );
    let state = load_state(&path).unwrap();
    server.clear_journal();
    let p = problems(plan(&client, &state, &PlanOptions::default()).unwrap_err());
    assert_eq!(
        short(&p),
        vec![
            (Some(6), "group \"Team\" member".into()),
            (Some(10), "project 2sic33jZTi-ifflvQAVcfw member".into()),
            (Some(10), "project 2sic33jZTi-ifflvQAVcfw member".into()),
            (Some(12), "project no-such-project".into()),
        ],
        "{p:#?}"
    );
    assert!(
        p[0].message
            .contains("ghost@example.com is neither a user of the state nor of the tenant")
    );
    // Only reads were sent.
    assert!(
        server.journal().iter().all(|e| e.method == "GET"),
        "{:?}",
        server.journal()
    );
}
