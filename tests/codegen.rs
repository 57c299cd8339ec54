//! The generator on small fixture tables: what it writes, and how it refuses a bad table.

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
    assert!(code.contains("crate::Operation { name: \"get_thing\", verb: \"GET\""));
    assert!(code.contains("/// Sends `GET /{v}/{tenant}/things/{thing_id}`"));
    // Deterministic: the same table gives the same bytes (build.rs rewrites only on change).
    assert_eq!(code, generator::generate(GOOD).unwrap());
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
    assert_eq!(code.matches("crate::Operation { name:").count(), 36);
}
