//! Where the fake must behave like a cluster so a script that passes offline does not fail on
//! one: signup per mode (with or without workspaces), and declared projects (any other project
//! id is a 404).

use serde_json::{Value, json};
use squirro_user_api_fake::{FakeServer, SEEDED_PROJECTS};
use ureq::Agent;

/// Sends a request (a JSON or form body, or none) with an optional bearer token; the status and
/// the JSON body (`null` when empty).
fn call(
    server: &FakeServer,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
) -> (u16, Value) {
    let agent: Agent = Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.user_api_url()));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = match body {
        Some((content_type, body)) => agent
            .run(
                request
                    .header("Content-Type", content_type)
                    .body(body)
                    .unwrap(),
            )
            .unwrap(),
        None => agent.run(request.body(()).unwrap()).unwrap(),
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value)
}

fn json_body(value: Value) -> Option<(&'static str, String)> {
    Some(("application/json", value.to_string()))
}

fn form_body(text: &str) -> Option<(&'static str, String)> {
    Some(("application/x-www-form-urlencoded", text.to_owned()))
}

/// An access token of the seeded admin.
fn admin_token(server: &FakeServer) -> String {
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        server.credentials().refresh_token
    );
    let (status, body) = call(server, None, "POST", "/oauth2/token", form_body(&form));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn signup(server: &FakeServer, email: &str) -> (u16, Value) {
    let body = json!({ "email": email, "password": "password-1", "full_name": null });
    call(server, None, "POST", "/v2/signup", json_body(body))
}

#[test]
fn with_workspaces_signup_fails_once_the_cluster_has_a_user() {
    let server = FakeServer::start();
    let token = admin_token(&server);
    assert_eq!(
        call(&server, Some(&token), "GET", "/v2/workspaces", None).0,
        200
    );

    // The seeded admin exists: signup is closed, for a new email too.
    let (status, body) = signup(&server, "founder@newco.example");
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("signup is closed"),
        "{body}"
    );
    // Bad input is still a 400.
    assert_eq!(signup(&server, "not an email").0, 400);

    // Once the global tenant has no user, the first signup creates its admin there.
    let admin = &server.credentials().admin_user_id;
    let path = format!("/v0/acme/users/{admin}");
    assert_eq!(call(&server, Some(&token), "DELETE", &path, None).0, 204);
    let (status, created) = signup(&server, "first@acme.example");
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["tenant"], "acme");
    let (status, _) = signup(&server, "second@acme.example");
    assert_eq!(status, 403);
    let form = "grant_type=password&username=first%40acme.example&password=password-1";
    let (status, login) = call(&server, None, "POST", "/oauth2/token", form_body(form));
    assert_eq!(status, 200, "{login}");
    assert_eq!(
        (login["tenant"].as_str(), login["role"].as_str()),
        (Some("acme"), Some("admin"))
    );
}

#[test]
fn without_workspaces_signup_creates_a_tenant_and_workspaces_are_404() {
    let server = FakeServer::builder().workspaces(false).start().unwrap();
    let token = admin_token(&server);
    for (method, path) in [
        ("GET", "/v2/workspaces"),
        ("POST", "/v2/workspaces"),
        ("GET", "/v2/workspaces/acme/users"),
        ("DELETE", "/v2/workspaces/acme"),
    ] {
        let (status, body) = call(&server, Some(&token), method, path, None);
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert_eq!(body["error"], "workspaces are not enabled on this cluster");
    }
    let (status, created) = signup(&server, "founder@newco.example");
    assert_eq!((status, created["tenant"].as_str()), (201, Some("newco")));
    let (status, again) = signup(&server, "other@newco.example");
    assert_eq!((status, again["tenant"].as_str()), (201, Some("newco-2")));
    assert_eq!(signup(&server, "FOUNDER@newco.example").0, 409);
}

#[test]
fn only_declared_projects_exist_and_others_are_404() {
    let server = FakeServer::builder()
        .project("p-extra", "Extra")
        .project_in("other", "p-elsewhere", "Elsewhere")
        .start()
        .unwrap();
    let ids: Vec<(&str, &str)> = server
        .projects()
        .iter()
        .map(|p| (p.tenant.as_str(), p.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("acme", SEEDED_PROJECTS[0].0),
            ("acme", SEEDED_PROJECTS[1].0),
            ("acme", "p-extra"),
            ("other", "p-elsewhere"),
        ]
    );
    let token = admin_token(&server);
    let admin = server.credentials().admin_user_id.clone();
    let t = Some(token.as_str());
    let add = format!("user_id={admin}&role=member");

    // A declared project: members can be added, changed, listed and removed.
    for project in [SEEDED_PROJECTS[0].0, SEEDED_PROJECTS[1].0, "p-extra"] {
        let members = format!("/v0/acme/projects/{project}/members");
        assert_eq!(
            call(&server, t, "GET", &members, None),
            (200, json!({"members": []}))
        );
        assert_eq!(call(&server, t, "POST", &members, form_body(&add)).0, 200);
        let member = format!("{members}/{admin}");
        let update = form_body("role=reader");
        assert_eq!(call(&server, t, "PUT", &member, update).0, 200);
        assert_eq!(call(&server, t, "DELETE", &member, None).0, 204);
    }

    // Unknown ids, and a project of another tenant, are 404 for every member route.
    for project in ["unknown", "p-elsewhere"] {
        let members = format!("/v0/acme/projects/{project}/members");
        let member = format!("{members}/{admin}");
        for (method, path, body) in [
            ("GET", &members, None),
            ("POST", &members, form_body(&add)),
            ("PUT", &member, form_body("role=reader")),
            ("DELETE", &member, None),
        ] {
            let (status, reply) = call(&server, t, method, path, body);
            assert_eq!(status, 404, "{method} {path}: {reply}");
            assert_eq!(reply["error"], format!("project not found: {project}"));
        }
    }
    // Nothing was created by those calls.
    let members = "/v0/acme/projects/unknown/members";
    assert_eq!(call(&server, t, "GET", members, None).0, 404);

    // update_group with an unknown project is a 404 and changes nothing.
    let (_, group) = call(
        &server,
        t,
        "POST",
        "/v0/acme/groups",
        form_body("name=Team"),
    );
    let group_path = format!("/v0/acme/groups/{}", group["id"].as_str().unwrap());
    let update = form_body("name=Renamed&projects=%5B%22unknown%22%5D");
    assert_eq!(call(&server, t, "PUT", &group_path, update).0, 404);
    let (_, got) = call(&server, t, "GET", &group_path, None);
    assert_eq!(got["name"], "Team");
}

#[test]
fn a_project_without_an_id_is_refused_at_start() {
    let e = FakeServer::builder()
        .project("", "Nameless")
        .start()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("project"), "{e}");
}
