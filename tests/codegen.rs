//! The generator on small fixture tables: what it writes, and how it refuses a bad table; and the
//! generated code, of the real table and of the fixtures, as rustfmt leaves it.

#[path = "../codegen/generator.rs"]
mod generator;

const GOOD: &str = r#"
[[endpoint]]
name = "get_thing"
verb = "GET"
path = "/{v}/{tenant}/things/{thing_id}"
ok = [200]
reply = "User"
doc = "Get a thing."
params = [
  { name = "thing_id", in = "path", type = "string", example = "t1", doc = "The thing." },
  { name = "deep", in = "query", type = "bool", default = false, doc = "Go deep." },
]
"#;

fn err(table: &str) -> String {
    generator::generate(table).expect_err("the table must be refused")
}

/// `GOOD` with one line replaced.
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "fixture has no {from:?}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn generates_method_builder_and_operation_list() {
    let code = generator::generate(GOOD).unwrap();
    assert!(code.starts_with("// @generated"));
    assert!(code.contains(
        "pub fn get_thing(&self, thing_id: impl Into<String>) -> crate::operations::GetThing<'_>"
    ));
    assert!(code.contains("pub fn deep(mut self, v: bool) -> Self"));
    assert!(code.contains(r#"r.segment("thing_id", &self.thing_id)?;"#));
    assert!(code.contains(r#"r.query("deep", &self.deep);"#));
    assert!(code.contains(
        "OPERATIONS: &[crate::Operation] = &[crate::Operation {\n    name: \"get_thing\",\n"
    ));
    assert!(code.contains("/// Sends `GET /{v}/{tenant}/things/{thing_id}`"));
    // Deterministic: the same table gives the same bytes (build.rs rewrites only on change).
    assert_eq!(code, generator::generate(GOOD).unwrap());
}

/// Switches test enum variants; nothing compares spellings or binds what it does not use.
#[test]
fn switches_match_on_enum_variants() {
    let code = generator::generate(SWITCHED).unwrap();
    assert!(code.contains(
        "        match self.api_version {\n            \
         crate::ApiVersion::V1 => r.json_body(\"changes\", &self.changes)?,\n            \
         _ => r.form_body(\"changes\", &self.changes)?,\n        }\n"
    ));
    assert!(code.contains(
        "        if matches!(self.r#type, crate::GrantType::Service) {\n            \
         if let Some(v) = &self.for_client_id {\n"
    ));
    assert!(code.contains("self.api_version = v;"));
    assert!(code.contains("api_version: crate::ApiVersion::V1,"));
    for stale in ["as_str() ==", "allow(unused", "let c = "] {
        assert!(!code.contains(stale), "{stale}");
    }
}

#[test]
fn refuses_unknown_verb() {
    let e = err(&good_with(r#"verb = "GET""#, r#"verb = "FETCH""#));
    assert!(
        e.contains("endpoint `get_thing`") && e.contains("unknown verb `FETCH`"),
        "{e}"
    );
}

#[test]
fn refuses_unknown_location_and_type() {
    let e = err(&good_with(r#"in = "query""#, r#"in = "header""#));
    assert!(
        e.contains("endpoint `get_thing`: parameter `deep`: unknown location `header`"),
        "{e}"
    );
    let e = err(&good_with(r#"type = "bool""#, r#"type = "float""#));
    assert!(e.contains("parameter `deep`: unknown type `float`"), "{e}");
}

/// Every closed value of the table is a type serde builds or refuses; the message names the
/// entry, the parameter when it is one of a parameter's, the value and what was expected.
#[test]
fn refuses_values_outside_their_closed_sets() {
    let e = err(&good_with("ok = [200]", "ok = [200]\nauth = \"sometimes\""));
    assert!(
        e.contains(
            "endpoint `get_thing`: unknown auth `sometimes` (expected one of required, optional)"
        ),
        "{e}"
    );
    let e = err(&good_with(
        r#"default = false,"#,
        r#"default = false, source = "client_key","#,
    ));
    assert!(
        e.contains("endpoint `get_thing`: parameter `deep`: unknown source `client_key`"),
        "{e}"
    );
    let e = err(&good_with(r#"reply = "User""#, r#"reply = "Vec<user>""#));
    assert!(
        e.contains("endpoint `get_thing`: reply `Vec<user>` is not `()`, `Name` or `Vec<Name>`"),
        "{e}"
    );
    let e = err(&good_with(r#"path = "/{v}"#, r#"path = "{v}"#));
    assert!(e.contains("endpoint `get_thing`: path `{v}/"), "{e}");
    assert!(e.contains("must start with `/`"), "{e}");
    let e = err(&good_with("default = false", "default = 3"));
    assert!(
        e.contains(
            "parameter `deep`: default is of TOML type integer, neither a boolean nor a string"
        ),
        "{e}"
    );
    // The message of an unknown type lists the known ones.
    let e = err(&good_with(r#"type = "bool""#, r#"type = "float""#));
    assert!(
        e.contains("(expected one of string, email, bool, date,"),
        "{e}"
    );
}

const SWITCHED: &str = r#"
[[endpoint]]
name = "put_thing"
verb = "PUT"
path = "/{api_version}/{tenant}/things/{thing_id}"
ok = [200]
reply = "User"
body_encoding = { when = "api_version", is = "v1", then = "json", else = "form" }
doc = "Put a thing."
params = [
  { name = "thing_id", in = "path", type = "string", example = "t1", doc = "The thing." },
  { name = "changes", in = "body", type = "map", example = '{"a": 1}', doc = "The changes." },
  { name = "api_version", in = "path", type = "api_version", default = "v1", doc = "The version." },
]

[[endpoint]]
name = "grant_thing"
verb = "POST"
path = "/{v}/{tenant}/things/{thing_id}/grants"
ok = [201]
reply = "User"
doc = "Grant a thing."
params = [
  { name = "thing_id", in = "path", type = "string", example = "t1", doc = "The thing." },
  { name = "type", in = "form", type = "grant_type", example = "service", doc = "The type." },
  { name = "for_client_id", in = "form", type = "string", optional = true, only_when = { param = "type", is = "service" }, doc = "For whom." },
]
"#;

fn switched_with(from: &str, to: &str) -> String {
    assert!(SWITCHED.contains(from), "fixture has no {from:?}");
    SWITCHED.replacen(from, to, 1)
}

#[test]
fn refuses_bad_switches_and_closed_values() {
    generator::generate(SWITCHED).unwrap();
    let e = err(&switched_with(r#"then = "json""#, r#"then = "xml""#));
    assert!(
        e.contains("endpoint `put_thing`")
            && e.contains("unknown encoding `xml` (expected one of json, form)"),
        "{e}"
    );
    let e = err(&switched_with(r#"is = "v1""#, r#"is = "v7""#));
    assert!(
        e.contains("endpoint `put_thing`: body_encoding: value `v7` is not a value of type api_version (expected one of v0, v1, v2)"),
        "{e}"
    );
    let e = err(&switched_with(
        r#"when = "api_version""#,
        r#"when = "thing_id""#,
    ));
    assert!(
        e.contains(
            "body_encoding: parameter `thing_id` of type string cannot be compared with a value"
        ),
        "{e}"
    );
    let e = err(&switched_with(r#"is = "service""#, r#"is = "servce""#));
    assert!(
        e.contains("endpoint `grant_thing`: parameter `for_client_id`: only_when: value `servce` is not a value of type grant_type (expected one of user, service)"),
        "{e}"
    );
    let e = err(&switched_with(r#"param = "type""#, r#"param = "kind""#));
    assert!(e.contains("only_when: no parameter `kind`"), "{e}");
    let e = err(&switched_with(
        r#"example = "service""#,
        r#"example = "robot""#,
    ));
    assert!(
        e.contains("endpoint `grant_thing`: parameter `type`: example `robot` is not a value of type grant_type"),
        "{e}"
    );
    let e = err(&switched_with(r#"default = "v1""#, r#"default = "v9""#));
    assert!(
        e.contains("parameter `api_version`: default \"v9\" does not fit type api_version"),
        "{e}"
    );
}

#[test]
fn refuses_placeholder_without_parameter_and_the_reverse() {
    let e = err(&good_with(
        "/things/{thing_id}",
        "/things/{thing_id}/{part}",
    ));
    assert!(
        e.contains("endpoint `get_thing`: path placeholder `{part}` has no parameter"),
        "{e}"
    );
    let e = err(&good_with("/things/{thing_id}", "/things"));
    assert!(
        e.contains("path parameter `thing_id` does not appear in path"),
        "{e}"
    );
}

#[test]
fn refuses_duplicates() {
    let twice = format!("{GOOD}\n{}", GOOD.replace("Get a thing.", "Again."));
    let e = err(&twice);
    assert!(
        e.contains("endpoint `get_thing`: duplicate endpoint name"),
        "{e}"
    );
    let e = err(&good_with(r#"name = "deep""#, r#"name = "thing_id""#));
    assert!(e.contains("duplicate parameter `thing_id`"), "{e}");
}

#[test]
fn refuses_missing_docs() {
    let e = err(&good_with(r#"doc = "Get a thing.""#, r#"doc = " ""#));
    assert!(e.contains("endpoint `get_thing`: missing doc"), "{e}");
    let e = err(&good_with(r#", doc = "Go deep." "#, " "));
    assert!(e.contains("parameter `deep`: missing doc"), "{e}");
}

#[test]
fn refuses_unknown_keys_and_missing_fields_naming_the_entry() {
    let e = err(&good_with("ok = [200]", "ok = [200]\ncolour = \"red\""));
    assert!(
        e.contains("endpoint `get_thing`") && e.contains("colour"),
        "{e}"
    );
    let e = err(&good_with("reply = \"User\"\n", ""));
    assert!(
        e.contains("endpoint `get_thing`") && e.contains("reply"),
        "{e}"
    );
    let e = err(&good_with(r#"name = "get_thing""#, ""));
    assert!(e.contains("endpoint #1 (no name)"), "{e}");
    let e = err(&good_with(r#"{ name = "deep", "#, "{ "));
    assert!(
        e.contains("endpoint `get_thing`: parameter #2 (no name): missing field `name`"),
        "{e}"
    );
    let e = err(&good_with(
        r#"default = false,"#,
        r#"default = false, colour = "red","#,
    ));
    assert!(
        e.contains("endpoint `get_thing`: parameter `deep`:") && e.contains("colour"),
        "{e}"
    );
}

#[test]
fn refuses_inconsistent_parameters() {
    let e = err(&good_with("default = false", "default = \"no\""));
    assert!(
        e.contains("parameter `deep`: default \"no\" does not fit type bool"),
        "{e}"
    );
    let e = err(&good_with(r#"example = "t1", "#, ""));
    assert!(
        e.contains("parameter `thing_id`: a required parameter needs an `example`"),
        "{e}"
    );
    let e = err(&good_with("ok = [200]", "ok = [999]"));
    assert!(e.contains("status 999"), "{e}");
    let e = err(&good_with(r#"in = "query""#, r#"in = "json""#));
    assert!(e.contains("a GET has no body"), "{e}");
}

#[test]
fn the_real_table_generates() {
    let table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/endpoints.toml")).unwrap();
    let code = generator::generate(&table).unwrap();
    assert_eq!(
        code.matches("    crate::Operation {\n        name:")
            .count(),
        36
    );
}

/// The fixture table next to the expected files (`tests/codegen/`).
const FIXTURE: &str = include_str!("codegen/fixture.toml");

/// Runs `rustfmt --edition 2024 --check` on `code` and fails with its diff. A missing rustfmt is
/// a failure, not a skip: CI installs it (`rustup component add rustfmt`).
fn assert_rustfmt_clean(name: &str, code: &str) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.rs"));
    std::fs::write(&path, code).unwrap();
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let out = std::process::Command::new(&rustfmt)
        .args(["--edition", "2024", "--check", "--color", "never"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {rustfmt:?} to check the generated code ({e}); \
                 install it with `rustup component add rustfmt`"
            )
        });
    assert!(
        out.status.success(),
        "the code generated for {name} is not as rustfmt formats it (fix the generator, \
         codegen/generator.rs; the file is {}):\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_generated_code_is_rustfmt_clean() {
    let table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/endpoints.toml")).unwrap();
    let code = generator::generate(&table).unwrap();
    assert_rustfmt_clean("endpoints", &code);
    let long: Vec<&str> = code.lines().filter(|l| l.chars().count() > 100).collect();
    assert!(
        long.is_empty(),
        "lines over 100 columns:\n{}",
        long.join("\n")
    );
    assert_rustfmt_clean("fixture", &generator::generate(FIXTURE).unwrap());
    assert_rustfmt_clean("switched", &generator::generate(SWITCHED).unwrap());
    assert_rustfmt_clean("good", &generator::generate(GOOD).unwrap());
}

/// The text of one builder (its struct, `Debug` and methods) in the generated code.
fn builder_text<'a>(code: &'a str, method: &str, builder: &str) -> &'a str {
    let start = code
        .find(&format!("/// The request builder of [`Client::{method}`]"))
        .expect("the builder's doc");
    let impl_start = start
        + code[start..]
            .find(&format!("\nimpl<'a> {builder}<'a> {{\n"))
            .expect("the builder's impl");
    let end = impl_start + code[impl_start..].find("\n}\n").expect("the impl's end") + 3;
    &code[start..end]
}

/// The generated builder of `grant_thing` (fixture table) as committed in
/// `tests/codegen/grant_thing.rs`, so a reviewer sees the shape of the code a table entry gives.
/// After a deliberate change of the generator, rewrite it with `UPDATE_EXPECT=1 cargo test
/// --test codegen` and review the diff.
#[test]
fn the_generated_builder_matches_the_expected_file() {
    let code = generator::generate(FIXTURE).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/codegen/grant_thing.rs");
    let header = "// The builder that codegen/generator.rs writes for `grant_thing` of \
                  tests/codegen/fixture.toml.\n// Checked by tests/codegen.rs; rewrite with \
                  `UPDATE_EXPECT=1 cargo test --test codegen`.\n\n";
    let actual = format!(
        "{header}{}",
        builder_text(&code, "grant_thing", "GrantThing")
    );
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if actual != expected {
        let first = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        panic!(
            "the generated builder differs from {path} from line {} on:\n\
             --- expected\n{}\n+++ generated\n{}\n\
             (after a deliberate change: UPDATE_EXPECT=1 cargo test --test codegen)",
            first + 1,
            expected
                .lines()
                .skip(first)
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
            actual
                .lines()
                .skip(first)
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    assert_rustfmt_clean("grant_thing", &actual);
}

/// Doc text is refilled to 100 columns by paragraph and list item; code blocks are kept.
#[test]
fn docs_are_refilled_to_100_columns() {
    let doc = "A first paragraph whose lines were wrapped at a narrower width than the generated \
               file\nuses, so they\nare joined again.\n\n\
               - an item long enough to be wrapped in the generated file, where a method's doc is \
               indented by four columns\n\
               1. a numbered item\n\n\
               ```\nlet kept = \"a code line longer than the width is kept as it is, never broken, \
               whatever its length\";\n```";
    let table = good_with(r#"doc = "Get a thing.""#, &format!("doc = {doc:?}"));
    let code = generator::generate(&table).unwrap();
    assert!(
        code.contains(
            "    /// A first paragraph whose lines were wrapped at a narrower width than the \
             generated file uses,\n    /// so they are joined again.\n    ///\n"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "    /// - an item long enough to be wrapped in the generated file, where a \
             method's doc is indented\n    ///   by four columns\n    /// 1. a numbered item\n"
        ),
        "{code}"
    );
    assert!(code.contains("    /// let kept = \"a code line longer than the width is kept"));
}
