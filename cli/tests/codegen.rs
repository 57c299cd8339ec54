//! The generator of the subcommands (cli/codegen.rs) as a pure function: a small table in,
//! the Rust it writes out (snapshotted), and its errors.

#[path = "../codegen.rs"]
#[allow(dead_code)]
mod codegen;

const FIXTURE: &str = r#"
[[endpoint]]
name = "get_thing"
verb = "GET"
path = "/{v}/{tenant}/things/{thing_id}"
ok = [200]
reply = "ThingList"
doc = "Returns a [`Thing`](crate::models::Thing).\n\nMore text."
params = [
  { name = "thing_id", in = "path", type = "string", example = "t1", doc = "Thing identifier." },
  { name = "verbose", in = "query", type = "bool", default = false, doc = "Say more." },
  { name = "strict", in = "query", type = "bool", optional = true, doc = "Server default if unset." },
  { name = "tags", in = "query", type = "string_list", optional = true, join = ",", doc = "Tags." },
]

[[endpoint]]
name = "put_thing"
verb = "PUT"
path = "/{v}/{tenant}/things"
ok = [201]
reply = "()"
auth = "optional"
exactly_one_of = ["a", "b"]
deprecated = "use get_thing"
doc = "Stores a thing."
params = [
  { name = "type", in = "json", type = "grant_type", example = "user", doc = "Its type." },
  { name = "emails", in = "json", type = "string_list", example = '["a@b.c"]', doc = "Emails." },
  { name = "a", in = "json", type = "string", optional = true, doc = "A." },
  { name = "b", in = "json", type = "string", optional = true, doc = "B." },
  { name = "body", in = "json", type = "json", optional = true, doc = "Free JSON." },
  { name = "client_id", in = "json", type = "string", source = "client_id", doc = "Sourced." },
]
"#;

#[test]
fn generated_code_for_a_small_table() {
    let code = codegen::generate(FIXTURE).unwrap();
    insta::assert_snapshot!("generated_fixture", code);
}

#[test]
fn errors_name_the_entry() {
    let e = codegen::generate("[[endpoint]]\nname = \"x\"\n").unwrap_err();
    assert!(e.contains("endpoint `x`"), "{e}");
}
