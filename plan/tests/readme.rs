//! The README's worked example is the file in plan/examples, and the plan it shows is the one
//! the engine prints for it against a fresh tenant; applying it converges.

mod support;

use squirro_user_plan::{ApplyOptions, PlanOptions, apply, load_state, plan};
use std::path::Path;
use support::*;

/// The fenced block of the README after the line `marker`.
fn block(readme: &str, marker: &str) -> String {
    let after = &readme[readme.find(marker).unwrap_or_else(|| panic!("no {marker}"))..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_readme_example_is_real() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let examples = root.join("examples");
    assert_eq!(
        block(&readme, "<!-- plan: tenant.toml -->"),
        std::fs::read_to_string(examples.join("tenant.toml")).unwrap()
    );
    assert_eq!(
        block(&readme, "<!-- plan: people.csv -->"),
        std::fs::read_to_string(examples.join("people.csv")).unwrap()
    );

    let server = server();
    let client = client(&server);
    client
        .add_user()
        .email("ann@contractors.example.com")
        .send()
        .unwrap();
    let state = load_state(examples.join("tenant.toml")).unwrap();
    let p = plan(&client, &state, &PlanOptions::default()).unwrap();
    assert_eq!(block(&readme, "<!-- plan: output -->"), p.to_human());
    let p = plan(
        &client,
        &state,
        &PlanOptions::default().allow_deletion(true),
    )
    .unwrap();
    assert!(
        apply(&client, &p, &ApplyOptions::default())
            .unwrap()
            .is_complete()
    );
    assert!(
        plan(&client, &state, &PlanOptions::default())
            .unwrap()
            .is_empty()
    );
    assert!(
        !view(&client)
            .users
            .contains_key("ann@contractors.example.com")
    );
}
