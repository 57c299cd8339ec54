//! The README's method table is the table of `endpoints.toml`: this test fails when they drift,
//! and prints the table to paste.

use squirro_user_api::OPERATIONS;

const START: &str = "<!-- methods:start -->";
const END: &str = "<!-- methods:end -->";

fn expected_table() -> String {
    let mut s = String::from("| method | request | ok | what it does |\n|---|---|---|---|\n");
    for op in OPERATIONS {
        let ok: Vec<String> = op.ok.iter().map(u16::to_string).collect();
        s.push_str(&format!(
            "| `{}` | `{} {}` | {} | {} |\n",
            op.name,
            op.verb,
            op.path,
            ok.join(", "),
            op.summary.replace('|', "\\|")
        ));
    }
    s
}

#[test]
fn readme_method_table_matches_endpoints_toml() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find(START)
        .expect("README has the methods:start marker")
        + START.len();
    let end = readme.find(END).expect("README has the methods:end marker");
    let actual = readme[start..end].trim();
    let expected = expected_table();
    assert_eq!(
        actual,
        expected.trim(),
        "README method table is stale; replace it with:\n{expected}"
    );
}

#[test]
fn readme_keeps_its_two_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("cargo run --example quickstart"));
    assert!(readme.contains("cargo test"));
}
