//! Hostile input: any path, query or form value, any reply bytes. No panic, no route change,
//! nothing lost, and client-side validation that names the parameter.

use proptest::prelude::*;
use squirro_user_api::*;

fn client() -> Client {
    Client::builder()
        .cluster("https://squirro.example.com")
        .tenant("acme")
        .client_id("the-client")
        .client_secret("client-s3cret")
        .access_token("access-t0ken")
        .build()
        .unwrap()
}

/// Percent-decoding of one path segment (no `+` rule in paths).
fn pct_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn decode_form(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just("../x".to_string()),
        Just("a/b".to_string()),
        Just("?".to_string()),
        Just("#".to_string()),
        Just("%".to_string()),
        Just("%2F".to_string()),
        Just(" ".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("ü/€/𝄞".to_string()),
        "[./?#% a-zé&=+]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A path value is exactly one segment, and decodes back to itself.
    #[test]
    fn path_values_stay_one_segment(a in tricky(), b in tricky()) {
        prop_assume!(!a.is_empty() && !b.is_empty());
        let c = client();
        let req = c.delete_group_member(a.clone(), b.clone()).request().unwrap();
        let path = req.path();
        let segs: Vec<&str> = path.split('/').collect();
        // "", "v0", "acme", "groups", a, "members", b
        prop_assert_eq!(segs.len(), 7, "{}", path);
        prop_assert_eq!(&segs[..4], &["", "v0", "acme", "groups"]);
        prop_assert_eq!(segs[5], "members");
        prop_assert_eq!(pct_decode(segs[4]), a.as_bytes().to_vec());
        prop_assert_eq!(pct_decode(segs[6]), b.as_bytes().to_vec());
        prop_assert!(!path.contains('?') && !path.contains('#'));
        prop_assert!(segs.iter().all(|s| *s != "." && *s != ".."));
        // The URL parses with the same path (no normalisation can take a segment away).
        let url = c.url(&req);
        let uri: ureq::http::Uri = url.parse().unwrap();
        prop_assert_eq!(uri.path(), format!("/api/user{path}"));
        prop_assert_eq!(uri.query(), None);
    }

    /// Query values round-trip through our encoding and the WHATWG form decoder.
    #[test]
    fn query_values_round_trip(token in any::<String>()) {
        let c = client();
        let req = c.get_token_from_msexchuid_token(token.clone()).request().unwrap();
        let url = c.url(&req);
        let (_, query) = url.split_once('?').unwrap();
        prop_assert_eq!(decode_form(query), vec![("msexchuid_token".to_string(), token)]);
        prop_assert!(!query.contains('#'));
    }

    /// Form values (and JSON-in-form values) round-trip too.
    #[test]
    fn form_values_round_trip(name in any::<String>(), member in any::<String>()) {
        let c = client();
        let req = c.create_group(name.clone()).members([member.clone()]).request().unwrap();
        let Body::Form(form) = req.body() else { panic!("create_group sends a form") };
        let pairs = decode_form(form);
        prop_assert_eq!(pairs.len(), 2);
        prop_assert_eq!(&pairs[0], &("name".to_string(), name));
        let members: serde_json::Value = serde_json::from_str(&pairs[1].1).unwrap();
        prop_assert_eq!(members, serde_json::json!([{"id": member}]));
    }

    /// Any status and any body: every method's reply handling returns a value or a typed
    /// error, never panics; an error keeps the status and at most a bounded excerpt.
    #[test]
    fn any_reply_is_a_value_or_a_typed_error(status in 100u16..600, body in reply_bodies()) {
        for op in OPERATIONS {
            let reply = Reply::from_parts(op.name, status, body.clone());
            let result = squirro_user_api::operations::decode_as(op.name, &reply).expect("known operation");
            if let Err(e) = result {
                if let Some(s) = e.status() {
                    prop_assert_eq!(s, status);
                }
                let shown = e.to_string();
                prop_assert!(shown.len() < 2_000, "error message of {} bytes", shown.len());
                if let Error::InvalidReply { excerpt, .. } | Error::Decode { excerpt, .. } = &e {
                    prop_assert!(excerpt.chars().count() <= 513);
                }
            } else {
                prop_assert!(op.ok.contains(&status));
            }
        }
    }
}

fn reply_bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(Vec::new()),
        Just(b"{}".to_vec()),
        Just(b"[]".to_vec()),
        Just(b"null".to_vec()),
        Just(br#"{"id": "u", "email": "e"#.to_vec()),
        Just(br#"{"error": "nope"}"#.to_vec()),
        Just(br#"{"error": {"nested": [1, 2]}}"#.to_vec()),
        Just(br#"{"users": 5}"#.to_vec()),
        Just(br#"[{"user_id": "u"}]"#.to_vec()),
        Just(br#"{"id": 1e999999}"#.to_vec()),
        Just(br#"{"n": 123456789012345678901234567890}"#.to_vec()),
        Just(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        Just(format!("{{\"a\": \"{}\"}}", "x".repeat(100_000)).into_bytes()),
        Just(b"<html>502 Bad Gateway</html>".to_vec()),
        Just(vec![0xff, 0xfe, b'{', b'}']),
    ]
}

/// The error a method's reply handling makes of this reply (which must be one).
fn decode_error(operation: &'static str, status: u16, body: Vec<u8>) -> Error {
    let reply = Reply::from_parts(operation, status, body);
    squirro_user_api::operations::decode_as(operation, &reply)
        .expect("known operation")
        .expect_err("the reply is an error")
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    let e = decode_error("get_groups", 200, body);
    assert!(
        matches!(
            e,
            Error::InvalidReply {
                status: Some(200),
                ..
            } | Error::Decode { .. }
        ),
        "{e}"
    );
}

#[test]
fn error_reply_keeps_status_message_and_body() {
    let e = decode_error(
        "create_group",
        409,
        br#"{"error": "Group name already in use", "code": 7}"#.to_vec(),
    );
    assert!(matches!(e, Error::Conflict { status: 409, .. }), "{e:?}");
    assert_eq!(e.message(), Some("Group name already in use"));
    assert_eq!(e.body().unwrap()["code"], 7);
    let e = decode_error("get_users", 200, b"<html>oops</html>".to_vec());
    assert!(
        matches!(
            e,
            Error::InvalidReply {
                status: Some(200),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("<html>oops</html>"), "{e}");
}

/// Client-side validation: a clear error naming the parameter, before anything is sent (the
/// client points at a closed port: a send would be a connection error instead).
#[test]
fn invalid_input_is_refused_before_sending() {
    let c = Client::builder()
        .user_api_url("http://127.0.0.1:9")
        .tenant("acme")
        .access_token("access-t0ken")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let param = |e: Error| match e {
        Error::InvalidInput { param, reason } => format!("{param}: {reason}"),
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert!(param(c.add_user().email("not-an-email").send().unwrap_err()).starts_with("email: "));
    assert!(
        param(
            c.add_project_member("p", ProjectRole::Member)
                .send()
                .unwrap_err()
        )
        .starts_with("user_id/group_id: one of")
    );
    assert!(
        param(
            c.add_project_member("p", ProjectRole::Member)
                .user_id("u")
                .group_id("g")
                .send()
                .unwrap_err()
        )
        .starts_with("user_id/group_id: only one")
    );
    assert!(
        param(c.get_user_data("").send().unwrap_err()).starts_with("user_id: must not be empty")
    );
    assert!(param(c.delete_workspace_user("", "u").unwrap_err()).starts_with("workspace_domain: "));
    assert!(
        param("superuser".parse::<ServerRole>().unwrap_err())
            .starts_with("role: unknown value \"superuser\"")
    );
    assert!(param("owner".parse::<ProjectRole>().unwrap_err()).starts_with("role: "));
    assert!(
        param(
            c.update_user_data("u", serde_json::json!([1]))
                .send()
                .unwrap_err()
        )
        .starts_with("changes: must be a JSON object")
    );
    assert!(
        param(
            c.update_user_data("u", serde_json::json!({"a": {"b": 1}}))
                .api_version(ApiVersion::V0)
                .send()
                .unwrap_err()
        )
        .starts_with("changes.a: a nested object cannot be form-encoded")
    );
    // Settings too.
    assert!(
        param(Client::builder().cluster("ftp://x").build().unwrap_err()).starts_with("cluster: ")
    );
    assert!(
        param(
            Client::builder()
                .cluster("https://x")
                .tenant("")
                .build()
                .unwrap_err()
        )
        .starts_with("tenant: ")
    );
    // And with no token at all, nothing is sent either.
    let anon = Client::builder()
        .user_api_url("http://127.0.0.1:9")
        .tenant("acme")
        .build()
        .unwrap();
    assert!(matches!(
        anon.get_users().send().unwrap_err(),
        Error::Authentication { status: None, .. }
    ));
}

/// Found by the fuzzer: a secret word next to multi-byte UTF-8 in an error body.
#[test]
fn redaction_survives_multibyte_text() {
    let body = "[token[\u{fffd} bearer x\u{e9}".as_bytes().to_vec();
    let e = decode_error("get_users", 500, body);
    assert!(
        matches!(
            e,
            Error::InvalidReply {
                status: Some(500),
                ..
            }
        ),
        "{e:?}"
    );
}

/// Found by the fuzzer: a multi-byte space before a `key=value` pair.
#[test]
fn redaction_survives_multibyte_space() {
    let body = "a\u{a0}password=x \u{2003}token=y".as_bytes().to_vec();
    let e = decode_error("get_users", 502, body);
    let shown = e.to_string();
    assert!(
        !shown.contains("password=x") && !shown.contains("token=y"),
        "{shown}"
    );
}
