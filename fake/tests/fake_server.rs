//! The fake user API over real HTTP, driven by a plain ureq agent: token grants, errors in the
//! server's shape, state, faults, the journal, keep-alive and shutdown.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use squirro_user_api_fake::{FakeServer, Fault, SEEDED_PROJECTS};
use ureq::http::{Request, Response};
use ureq::{Agent, Body};

/// The seeded projects of tenant `acme`.
const SALES: &str = SEEDED_PROJECTS[0].0;
const SUPPORT: &str = SEEDED_PROJECTS[1].0;

/// An agent that reports 4xx/5xx as responses and ignores proxy environment variables.
fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// A request body: a form (pairs) or JSON, or raw bytes with a content type.
enum Payload<'a> {
    Nothing,
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
    Raw(&'a str, &'a [u8]),
}

/// A client of one fake server, with an access token (when logged in).
struct Client {
    agent: Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(server: &FakeServer) -> Client {
        Client {
            agent: agent(),
            base: server.user_api_url().to_owned(),
            token: None,
        }
    }

    /// Logged in as the seeded admin through the refresh token.
    fn admin(server: &FakeServer) -> Client {
        let mut client = Client::new(server);
        let creds = server.credentials();
        let (status, body) = client.call(
            "POST",
            "/oauth2/token",
            Payload::Form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &creds.refresh_token),
            ]),
        );
        assert_eq!(status, 200, "{body}");
        client.token = Some(body["access_token"].as_str().unwrap().to_owned());
        client
    }

    /// Logged in with a password.
    fn login(server: &FakeServer, email: &str, password: &str) -> Client {
        let mut client = Client::new(server);
        let (status, body) = client.call(
            "POST",
            "/oauth2/token",
            Payload::Form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ]),
        );
        assert_eq!(status, 200, "{body}");
        client.token = Some(body["access_token"].as_str().unwrap().to_owned());
        client
    }

    fn try_send(
        &self,
        method: &str,
        path: &str,
        body: Payload<'_>,
    ) -> Result<Response<Body>, ureq::Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        request = request.header("Accept", "application/json");
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let (content_type, bytes) = match body {
            Payload::Nothing => return self.agent.run(request.body(()).unwrap()),
            Payload::Form(pairs) => (
                "application/x-www-form-urlencoded",
                form(pairs).into_bytes(),
            ),
            Payload::Json(value) => ("application/json", serde_json::to_vec(&value).unwrap()),
            Payload::Raw(content_type, bytes) => (content_type, bytes.to_vec()),
        };
        let request = request
            .header("Content-Type", content_type)
            .body(bytes)
            .unwrap();
        self.agent.run(request)
    }

    /// Sends a request; the status and the body (`null` when empty).
    fn call(&self, method: &str, path: &str, body: Payload<'_>) -> (u16, Value) {
        let mut response = self.try_send(method, path, body).expect("request failed");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, value)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, Payload::Nothing)
    }
}

/// Form-encodes pairs the way Python `requests` does.
fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Adds a user as the admin; its id.
fn add_user(admin: &Client, tenant: &str, email: &str, password: &str, role: &str) -> String {
    let body = json!({ "email": email, "password": password, "role": role });
    let (status, user) = admin.call("POST", &format!("/v0/{tenant}/users"), Payload::Json(body));
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {body}"))
}

#[test]
fn every_grant_type_returns_the_documented_fields() {
    let server = FakeServer::start();
    let creds = server.credentials().clone();
    let client = Client::new(&server);
    let token = |pairs: &[(&str, &str)]| {
        let mut all = vec![
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
        ];
        all.extend_from_slice(pairs);
        client.call("POST", "/oauth2/token", Payload::Form(&all))
    };

    let (status, refreshed) = token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &creds.refresh_token),
        ("tenant", &creds.tenant),
        ("user_information", r#"{"ip": "10.0.0.1"}"#),
    ]);
    assert_eq!(status, 200, "{refreshed}");
    for field in [
        "access_token",
        "refresh_token",
        "tenant",
        "user_id",
        "session_id",
        "role",
        "role_permissions",
        "project_permissions",
        "user_information",
    ] {
        assert!(
            refreshed.get(field).is_some(),
            "{field} missing in {refreshed}"
        );
    }
    assert_eq!(refreshed["refresh_token"], creds.refresh_token.as_str());
    assert_eq!(refreshed["user_id"], creds.admin_user_id.as_str());
    assert_eq!(refreshed["tenant"], "acme");
    assert_eq!(refreshed["role"], "admin");
    assert_eq!(refreshed["role_permissions"], json!(["admin"]));
    assert_eq!(refreshed["user_information"], json!({ "ip": "10.0.0.1" }));

    let access = refreshed["access_token"].as_str().unwrap();
    let (status, exchanged) = token(&[("grant_type", "access_token"), ("access_token", access)]);
    assert_eq!(status, 200, "{exchanged}");
    assert_ne!(exchanged["access_token"], refreshed["access_token"]);
    assert_eq!(exchanged["session_id"], refreshed["session_id"]);

    let (status, logged_in) = token(&[
        ("grant_type", "password"),
        ("username", &creds.admin_email.to_uppercase()),
        ("password", &creds.admin_password),
    ]);
    assert_eq!(status, 200, "{logged_in}");
    assert_ne!(
        logged_in["session_id"], refreshed["session_id"],
        "a login is a new session"
    );
    assert_ne!(logged_in["refresh_token"], refreshed["refresh_token"]);

    // ext_id: log in through an external authentication.
    let mut admin = Client::new(&server);
    admin.token = Some(access.to_owned());
    let path = format!(
        "/v0/acme/authentications/salesforce/{}",
        creds.admin_user_id
    );
    let (status, _) = admin.call(
        "POST",
        &path,
        Payload::Json(json!({ "service_user": "sfdc01", "access_token": "t" })),
    );
    assert_eq!(status, 201);
    let (status, ext) = token(&[
        ("grant_type", "ext_id"),
        ("auth_service", "salesforce"),
        ("auth_user", "sfdc01"),
    ]);
    assert_eq!(status, 200, "{ext}");
    assert_eq!(ext["user_id"], creds.admin_user_id.as_str());

    // Without client credentials (SquirroClient(None, None, ...)) a refresh works too.
    let (status, _) = client.call(
        "POST",
        "/oauth2/token",
        Payload::Form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &creds.refresh_token),
        ]),
    );
    assert_eq!(status, 200);
}

#[test]
fn token_endpoint_answers_400_for_malformed_and_403_for_bad_credentials() {
    let server = FakeServer::start();
    let creds = server.credentials().clone();
    let client = Client::new(&server);
    let post = |pairs: &[(&str, &str)]| client.call("POST", "/oauth2/token", Payload::Form(pairs));

    let (status, body) = post(&[("refresh_token", "x")]);
    assert_eq!(
        (status, error_of(&body)),
        (400, "missing field: grant_type")
    );
    let (status, _) = post(&[("grant_type", "magic")]);
    assert_eq!(status, 400);
    let (status, _) = post(&[
        ("grant_type", "password"),
        ("username", "admin@acme.example"),
    ]);
    assert_eq!(status, 400, "missing password");
    let (status, _) = post(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("user_information", "{not json"),
    ]);
    assert_eq!(status, 400);
    let json_body = json!({ "grant_type": "refresh_token", "refresh_token": creds.refresh_token });
    let (status, _) = client.call("POST", "/oauth2/token", Payload::Json(json_body));
    assert_eq!(status, 400, "the token endpoint takes a form");

    let (status, body) = post(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "unknown"),
    ]);
    assert_eq!((status, error_of(&body)), (403, "invalid refresh token"));
    let (status, _) = post(&[
        ("grant_type", "password"),
        ("username", &creds.admin_email),
        ("password", "wrong"),
    ]);
    assert_eq!(status, 403);
    let (status, _) = post(&[
        ("client_id", &creds.client_id),
        ("client_secret", "wrong"),
        ("grant_type", "refresh_token"),
        ("refresh_token", &creds.refresh_token),
    ]);
    assert_eq!(status, 403);
    let (status, _) = post(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &creds.refresh_token),
        ("tenant", "other"),
    ]);
    assert_eq!(status, 403, "not a member of that tenant");
    let (status, _) = post(&[
        ("grant_type", "ext_id"),
        ("auth_service", "x"),
        ("auth_user", "y"),
    ]);
    assert_eq!(status, 403);
}

#[test]
fn missing_unknown_and_expired_access_tokens_are_401() {
    let server = FakeServer::builder()
        .access_token_ttl(Duration::from_millis(800))
        .start()
        .unwrap();
    let creds = server.credentials().clone();
    let path = format!("/v0/acme/users/{}", creds.admin_user_id);

    let (status, body) = Client::new(&server).get(&path);
    assert_eq!((status, error_of(&body)), (401, "missing access token"));
    let mut bogus = Client::new(&server);
    bogus.token = Some("bogus".into());
    let (status, body) = bogus.get(&path);
    assert_eq!((status, error_of(&body)), (401, "invalid access token"));

    let admin = Client::admin(&server);
    assert_eq!(admin.get(&path).0, 200);
    std::thread::sleep(Duration::from_millis(1000));
    let (status, body) = admin.get(&path);
    assert_eq!((status, error_of(&body)), (401, "access token expired"));
    // The refresh token still works, and gives a working access token.
    let fresh = Client::admin(&server);
    assert_eq!(fresh.get(&path).0, 200);

    // expire_access_tokens() does the same at once.
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let path = format!("/v0/acme/users/{}", server.credentials().admin_user_id);
    assert_eq!(admin.get(&path).0, 200);
    server.expire_access_tokens();
    assert_eq!(admin.get(&path).0, 401);
}

#[test]
fn admin_work_by_a_non_admin_is_403() {
    let server = FakeServer::start();
    let admin_id = server.credentials().admin_user_id.clone();
    let admin = Client::admin(&server);
    let user_id = add_user(&admin, "acme", "user01@example.com", "password-1", "user");
    let user = Client::login(&server, "user01@example.com", "password-1");

    let new_user = json!({ "email": "x@example.com", "password": "password-2" });
    let (status, body) = user.call("POST", "/v0/acme/users", Payload::Json(new_user));
    assert_eq!(
        (status, error_of(&body)),
        (403, "only an admin can add users")
    );
    assert_eq!(
        user.call(
            "DELETE",
            &format!("/v0/acme/users/{admin_id}"),
            Payload::Nothing
        )
        .0,
        403
    );
    assert_eq!(
        user.call("POST", "/v0/acme/groups", Payload::Form(&[("name", "G")]))
            .0,
        403
    );
    let grant = [("type", "user")];
    assert_eq!(
        user.call(
            "POST",
            &format!("/v0/acme/users/{admin_id}/grants"),
            Payload::Form(&grant)
        )
        .0,
        403
    );
    let member = [("user_id", user_id.as_str()), ("role", "admin")];
    assert_eq!(
        user.call(
            "POST",
            &format!("/v0/acme/projects/{SALES}/members"),
            Payload::Form(&member)
        )
        .0,
        403
    );
    let role = json!({ "role": "admin" });
    assert_eq!(
        user.call(
            "PUT",
            &format!("/v1/acme/users/{user_id}"),
            Payload::Json(role)
        )
        .0,
        403
    );
    assert_eq!(
        user.call(
            "POST",
            "/v2/workspaces",
            Payload::Json(json!({ "title": "W" }))
        )
        .0,
        403
    );

    // What a user may do for themselves works.
    assert_eq!(
        user.call(
            "POST",
            &format!("/v0/acme/users/{user_id}/grants"),
            Payload::Form(&grant)
        )
        .0,
        201
    );
    let name = json!({ "full_name": "User One" });
    let (status, me) = user.call(
        "PUT",
        &format!("/v1/acme/users/{user_id}"),
        Payload::Json(name),
    );
    assert_eq!((status, me["full_name"].as_str()), (200, Some("User One")));
    // Reading is open to members of the tenant.
    assert_eq!(user.get("/v0/acme/users").0, 200);
}

#[test]
fn unknown_ids_are_404_and_duplicates_409() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let admin_id = server.credentials().admin_user_id.clone();

    for path in [
        "/v0/acme/users/nobody".to_owned(),
        "/v0/acme/groups/nogroup".to_owned(),
        format!("/v0/acme/users/{admin_id}/sessions/nosession"),
        format!("/v0/acme/authentications/facebook/{admin_id}"),
        "/v2/workspaces/nowhere/users".to_owned(),
        "/v0/nosuchtenant/users".to_owned(),
    ] {
        let (status, body) = admin.get(&path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!error_of(&body).is_empty());
    }
    assert_eq!(
        admin
            .call(
                "DELETE",
                "/v0/acme/projects/p/members/nobody",
                Payload::Nothing
            )
            .0,
        404
    );

    add_user(&admin, "acme", "dup@example.com", "password-1", "user");
    let again = json!({ "email": "DUP@example.com", "password": "password-1" });
    let (status, body) = admin.call("POST", "/v0/acme/users", Payload::Json(again));
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        admin
            .call(
                "POST",
                "/v0/acme/groups",
                Payload::Form(&[("name", "Team")])
            )
            .0,
        201
    );
    let (status, body) = admin.call(
        "POST",
        "/v0/acme/groups",
        Payload::Form(&[("name", "team")]),
    );
    assert_eq!(status, 409, "{body}");
}

#[test]
fn bad_input_unknown_routes_and_wrong_methods_get_json_errors() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let admin_id = server.credentials().admin_user_id.clone();
    let user_path = format!("/v1/acme/users/{admin_id}");

    let cases: Vec<(&str, String, Payload<'_>, u16)> = vec![
        (
            "POST",
            "/v0/acme/users".into(),
            Payload::Raw("application/json", b"{not json"),
            400,
        ),
        (
            "POST",
            "/v0/acme/users".into(),
            Payload::Raw("application/json", b"[1, 2]"),
            400,
        ),
        (
            "POST",
            "/v0/acme/users".into(),
            Payload::Json(json!({ "email": 5 })),
            400,
        ),
        (
            "POST",
            "/v0/acme/users".into(),
            Payload::Json(json!({ "email": "a@b.co", "role": "king" })),
            400,
        ),
        (
            "POST",
            "/v0/acme/users".into(),
            Payload::Form(&[("email", "a@b.co")]),
            400,
        ),
        (
            "PUT",
            user_path.clone(),
            Payload::Json(json!({ "id": "other" })),
            400,
        ),
        (
            "PUT",
            user_path.clone(),
            Payload::Raw("text/plain", b"hello"),
            400,
        ),
        (
            "GET",
            format!("{user_path}?include_projects=maybe"),
            Payload::Nothing,
            400,
        ),
        (
            "POST",
            "/v0/acme/groups".into(),
            Payload::Form(&[("name", "G"), ("members", "[{")]),
            400,
        ),
        (
            "POST",
            "/v0/acme/groups".into(),
            Payload::Form(&[("name", "G"), ("members", "{\"id\": 1}")]),
            400,
        ),
        (
            "POST",
            format!("/v0/acme/projects/{SALES}/members"),
            Payload::Form(&[("role", "member")]),
            400,
        ),
        ("GET", "/nothing/here".into(), Payload::Nothing, 404),
        ("GET", "/v9/acme/users".into(), Payload::Nothing, 404),
        ("GET", "/v0/acme/users/x/y/z".into(), Payload::Nothing, 404),
        ("PATCH", user_path.clone(), Payload::Json(json!({})), 405),
        ("GET", "/oauth2/token".into(), Payload::Nothing, 405),
        ("DELETE", "/v0/acme/users".into(), Payload::Nothing, 405),
    ];
    for (method, path, body, expected) in cases {
        let (status, reply) = admin.call(method, &path, body);
        assert_eq!(status, expected, "{method} {path}: {reply}");
        assert!(!error_of(&reply).is_empty(), "{method} {path}");
    }
    let response = admin
        .try_send("PUT", "/v0/acme/users", Payload::Json(json!({})))
        .unwrap();
    assert_eq!(response.headers().get("allow").unwrap(), "GET, POST");
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    // Nothing was changed by the bad requests, and the server still answers.
    assert_eq!(admin.get("/v0/acme/groups"), (200, json!([])));
}

#[test]
fn python_encodings_are_accepted_and_user_data_round_trips() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let admin_id = server.credentials().admin_user_id.clone();
    let path = format!("/v1/acme/users/{admin_id}");

    // v1: JSON; any value is kept and returned at the top level; null removes it.
    let changes = json!({ "name": "John Smith", "prefs": { "a": [1, 2] }, "full_name": "J. S." });
    let (status, user) = admin.call("PUT", &path, Payload::Json(changes));
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["name"].as_str(), user["full_name"].as_str()),
        (Some("John Smith"), Some("J. S."))
    );
    let (status, user) = admin.get(&format!("{path}?include_projects=False"));
    assert_eq!(status, 200);
    assert_eq!(user["prefs"], json!({ "a": [1, 2] }));
    assert!(user.get("projects").is_none());
    let (_, user) = admin.get(&format!("{path}?include_projects=True"));
    assert_eq!(user["projects"], json!([]));
    let (_, user) = admin.call("PUT", &path, Payload::Json(json!({ "prefs": null })));
    assert!(user.get("prefs").is_none(), "{user}");

    // v0: a form as Python requests encodes a dict: lists repeat the key, booleans are True/False.
    let form_path = format!("/v0/acme/users/{admin_id}");
    let pairs = [("age", "5"), ("tags", "x"), ("tags", "y"), ("flag", "True")];
    let (status, user) = admin.call("PUT", &form_path, Payload::Form(&pairs));
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (&user["age"], &user["tags"], &user["flag"]),
        (&json!("5"), &json!(["x", "y"]), &json!("True"))
    );

    // Python booleans in queries, true/false too.
    assert_eq!(admin.get("/v0/acme/users?include_config=False").0, 200);
    let (_, users) = admin.get("/v0/acme/users?include_config=false");
    assert!(users["users"][0].get("age").is_none());
    let (_, users) = admin.get("/v0/acme/users?include_config=True");
    assert_eq!(users["users"][0]["age"], "5");

    // JSON-in-form members; a group member reply is the user.
    let user_id = add_user(&admin, "acme", "u@example.com", "password-1", "user");
    let members = format!(r#"[{{"id": "{user_id}"}}]"#);
    let (status, group) = admin.call(
        "POST",
        "/v0/acme/groups",
        Payload::Form(&[("name", "Team East"), ("members", &members)]),
    );
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["members"][0]["id"], user_id.as_str());
    assert_eq!(group["members"][0]["role_permissions"], json!(["user"]));
}

#[test]
fn password_changes_are_checked() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let user_id = add_user(&admin, "acme", "u@example.com", "password-1", "user");
    let user = Client::login(&server, "u@example.com", "password-1");
    let path = format!("/v0/acme/users/{user_id}/password");
    let change = |current: &str, new: &str, confirm: &str| {
        let body = json!({
            "current_password": current,
            "new_password": new,
            "new_password_confirm": confirm,
        });
        user.call("PUT", &path, Payload::Json(body)).0
    };
    assert_eq!(
        change("password-1", "password-2", "password-3"),
        400,
        "confirmation differs"
    );
    assert_eq!(
        change("wrong", "password-2", "password-2"),
        403,
        "wrong current password"
    );
    assert_eq!(change("password-1", "short", "short"), 400, "policy");
    assert_eq!(change("password-1", "password-2", "password-2"), 200);
    Client::login(&server, "u@example.com", "password-2");
    let (_, policy) = user.get("/v0/acme/users/password_policy");
    assert_eq!(policy["min_length"], 8);
    // Someone else's password cannot be changed, even by an admin.
    let body = json!({
        "current_password": "x",
        "new_password": "password-9",
        "new_password_confirm": "password-9",
    });
    assert_eq!(admin.call("PUT", &path, Payload::Json(body)).0, 403);
}

#[test]
fn grants_are_refresh_tokens_and_deleting_one_revokes_its_tokens() {
    let server = FakeServer::start();
    let creds = server.credentials().clone();
    let admin = Client::admin(&server);
    let user_id = add_user(&admin, "acme", "u@example.com", "password-1", "user");
    let grants_path = format!("/v0/acme/users/{user_id}/grants");

    let pairs = [
        ("type", "service"),
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.as_str()),
        ("for_client_id", "other-client"),
        ("project_permissions", "items.*,projects.read.*"),
    ];
    let (status, grant) = admin.call("POST", &grants_path, Payload::Form(&pairs));
    assert_eq!(status, 201, "{grant}");
    let grant_id = grant["id"].as_str().unwrap();
    let refresh = grant["refresh_token"].as_str().unwrap();
    assert_eq!(
        admin
            .call("POST", &grants_path, Payload::Form(&[("type", "service")]))
            .0,
        400,
        "for_client_id missing"
    );
    assert_eq!(
        admin
            .call("POST", &grants_path, Payload::Form(&[("type", "nope")]))
            .0,
        400
    );
    let wrong_client = [("type", "user"), ("client_id", "x"), ("client_secret", "y")];
    assert_eq!(
        admin
            .call("POST", &grants_path, Payload::Form(&wrong_client))
            .0,
        403
    );

    let anonymous = Client::new(&server);
    let (status, tokens) = anonymous.call(
        "POST",
        "/oauth2/token",
        Payload::Form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]),
    );
    assert_eq!(status, 200);
    assert_eq!(tokens["user_id"], user_id.as_str());
    assert_eq!(
        tokens["project_permissions"],
        json!(["items.*", "projects.read.*"])
    );
    let mut as_grant = Client::new(&server);
    as_grant.token = Some(tokens["access_token"].as_str().unwrap().to_owned());
    assert_eq!(as_grant.get(&format!("/v0/acme/users/{user_id}")).0, 200);

    let query = format!(
        "{grants_path}?client_id={}&client_secret={}",
        creds.client_id, creds.client_secret
    );
    let (status, list) = admin.get(&query);
    assert_eq!(status, 200);
    let listed: Vec<&str> = list["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [grant_id]);
    assert!(list["grants"][0]["created_at"].as_str().unwrap().len() == 19);
    let (status, session) = admin.get(&format!("/v0/acme/users/{user_id}/sessions/{grant_id}"));
    assert_eq!((status, session["type"].as_str()), (200, Some("service")));

    // delete_grant is DELETE .../sessions/{id}: the refresh and access tokens stop working.
    let session_path = format!("/v0/acme/users/{user_id}/sessions/{grant_id}");
    let (status, body) = admin.call("DELETE", &session_path, Payload::Nothing);
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(as_grant.get(&format!("/v0/acme/users/{user_id}")).0, 401);
    let (status, _) = anonymous.call(
        "POST",
        "/oauth2/token",
        Payload::Form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]),
    );
    assert_eq!(status, 403);
    assert_eq!(admin.call("DELETE", &session_path, Payload::Nothing).0, 404);
}

#[test]
fn groups_and_project_members_with_role_permissions() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let user_id = add_user(&admin, "acme", "u@example.com", "password-1", "user");
    let reader_id = add_user(&admin, "acme", "r@example.com", "password-1", "reader");

    let (_, group) = admin.call(
        "POST",
        "/v0/acme/groups",
        Payload::Form(&[("name", "Team")]),
    );
    let group_id = group["id"].as_str().unwrap().to_owned();
    let group_path = format!("/v0/acme/groups/{group_id}");
    let (status, member) = admin.call("POST", &group_path, Payload::Form(&[("user_id", &user_id)]));
    assert_eq!(
        (status, member["id"].as_str()),
        (200, Some(user_id.as_str()))
    );
    let (_, got) = admin.get(&group_path);
    assert_eq!(got["members"].as_array().unwrap().len(), 1);

    let members = &format!("/v0/acme/projects/{SALES}/members");
    let (status, m) = admin.call(
        "POST",
        members,
        Payload::Form(&[("user_id", &user_id), ("role", "member")]),
    );
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (
            m["member_type"].as_str(),
            m["project_role"].as_str(),
            m["server_role"].as_str()
        ),
        (Some("user"), Some("member"), Some("user"))
    );
    assert!(
        m["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("projects.write.*"))
    );
    let (_, m) = admin.call(
        "POST",
        members,
        Payload::Form(&[("user_id", &reader_id), ("role", "admin")]),
    );
    assert!(
        !m["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("items.*")),
        "a server reader reads only"
    );
    let (status, _) = admin.call(
        "POST",
        members,
        Payload::Form(&[("group_id", &group_id), ("role", "reader")]),
    );
    assert_eq!(status, 200);
    let both = [
        ("user_id", user_id.as_str()),
        ("group_id", group_id.as_str()),
        ("role", "reader"),
    ];
    assert_eq!(admin.call("POST", members, Payload::Form(&both)).0, 400);

    let (_, list) = admin.get(members);
    let types: Vec<&str> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["user", "user", "group"]);
    let (status, m) = admin.call(
        "PUT",
        &format!("{members}/{user_id}"),
        Payload::Form(&[("role", "reader")]),
    );
    assert_eq!((status, m["project_role"].as_str()), (200, Some("reader")));
    let (_, user) = admin.get(&format!("/v0/acme/users/{user_id}?include_projects=True"));
    assert_eq!(user["projects"], json!([{ "id": SALES, "role": "reader" }]));
    assert_eq!(user["groups"][0]["id"], group_id.as_str());
    let (_, got) = admin.get(&format!("{group_path}?include_projects=True"));
    assert_eq!(got["projects"], json!([{ "id": SALES, "role": "reader" }]));

    // update_group replaces name, members and projects.
    let (status, updated) = admin.call(
        "PUT",
        &group_path,
        Payload::Form(&[
            ("name", "Renamed"),
            ("members", "[]"),
            ("projects", &format!("[\"{SUPPORT}\"]")),
        ]),
    );
    assert_eq!(
        (status, updated["name"].as_str(), updated["members"].clone()),
        (200, Some("Renamed"), json!([]))
    );
    let (_, got) = admin.get(&format!("{group_path}?include_projects=True"));
    assert_eq!(
        got["projects"],
        json!([{ "id": SUPPORT, "role": "member" }])
    );

    assert_eq!(
        admin
            .call("DELETE", &format!("{members}/{user_id}"), Payload::Nothing)
            .0,
        204
    );
    assert_eq!(
        admin
            .call(
                "DELETE",
                &format!("{group_path}/members/{user_id}"),
                Payload::Nothing
            )
            .0,
        404,
        "removed by update"
    );
    assert_eq!(admin.call("DELETE", &group_path, Payload::Nothing).0, 204);
    assert_eq!(admin.get(&group_path).0, 404);
}

#[test]
fn workspaces_and_the_delete_workspace_user_flow() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let (status, ws) = admin.call(
        "POST",
        "/v2/workspaces",
        Payload::Json(json!({ "title": "Project 5" })),
    );
    assert_eq!(
        (status, ws.clone()),
        (201, json!({ "domain": "project-5", "title": "Project 5" }))
    );
    let (status, list) = admin.get("/v2/workspaces?include_projects=False&admin_only=True");
    assert_eq!((status, list), (200, json!({ "workspaces": [ws] })));

    let (status, added) = admin.call(
        "POST",
        "/v2/workspaces/project-5/users",
        Payload::Json(json!({ "emails": ["a@example.com", "b@example.com"], "role": "reader" })),
    );
    assert_eq!(status, 201, "{added}");
    let a_id = added[0]["user_id"].as_str().unwrap().to_owned();
    assert_eq!(added[0]["workspace"], "project-5");
    let (status, set) = admin.call(
        "POST",
        "/v2/workspaces/project-5/users",
        Payload::Json(json!({ "user_id": a_id, "role": "admin" })),
    );
    assert_eq!(
        (status, set),
        (200, json!([{ "user_id": a_id, "workspace": "project-5" }]))
    );
    let (_, users) = admin.get("/v2/workspaces/project-5/users");
    let a = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == a_id.as_str())
        .unwrap();
    assert_eq!(a["role"], "admin");

    // The workspace domain is a tenant for the v0 routes.
    let members = format!(r#"[{{"id": "{a_id}"}}]"#);
    let (status, group) = admin.call(
        "POST",
        "/v0/project-5/groups",
        Payload::Form(&[("name", "WS"), ("members", &members)]),
    );
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap();
    let (status, user) = admin.get(&format!("/v0/project-5/users/{a_id}"));
    assert_eq!(
        (status, user["groups"][0]["id"].as_str()),
        (200, Some(group_id))
    );
    assert_eq!(
        admin
            .call(
                "DELETE",
                &format!("/v0/project-5/groups/{group_id}/members/{a_id}"),
                Payload::Nothing
            )
            .0,
        204
    );
    assert_eq!(
        admin
            .call(
                "DELETE",
                &format!("/v2/workspaces/project-5/users/{a_id}"),
                Payload::Nothing
            )
            .0,
        204
    );
    assert_eq!(admin.get(&format!("/v0/project-5/users/{a_id}")).0, 404);

    assert_eq!(
        admin
            .call(
                "PUT",
                "/v2/workspaces/project-5",
                Payload::Json(json!({ "title": "Five" }))
            )
            .1["title"],
        "Five"
    );
    assert_eq!(
        admin
            .call("DELETE", "/v2/workspaces/project-5", Payload::Nothing)
            .0,
        204
    );
    assert_eq!(admin.get("/v2/workspaces").1, json!({ "workspaces": [] }));
    assert_eq!(admin.get("/v0/project-5/groups").0, 404);
}

#[test]
fn signup_and_the_msexchange_lookup() {
    // Without workspaces, every signup creates a tenant (see the fidelity tests for the mode
    // with workspaces).
    let server = FakeServer::builder().workspaces(false).start().unwrap();
    let creds = server.credentials().clone();
    let anonymous = Client::new(&server);
    let body = json!({
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "email": "f@example.org",
        "password": "password-1",
        "full_name": null,
    });
    let (status, signed_up) = anonymous.call("POST", "/v2/signup", Payload::Json(body.clone()));
    assert_eq!(status, 201, "{signed_up}");
    assert_eq!(signed_up["tenant"], "example");
    assert_eq!(
        anonymous.call("POST", "/v2/signup", Payload::Json(body)).0,
        409
    );
    let founder = Client::login(&server, "f@example.org", "password-1");
    let (_, me) = founder.get(&format!(
        "/v0/example/users/{}",
        signed_up["user_id"].as_str().unwrap()
    ));
    assert_eq!(me["role"], "admin");

    let admin = Client::admin(&server);
    let path = format!(
        "/v0/acme/authentications/msexchange/{}",
        creds.admin_user_id
    );
    admin.call(
        "POST",
        &path,
        Payload::Json(json!({ "service_user": "89edf14d", "access_token": "t" })),
    );
    let (status, token) = admin.get("/msexchange/oauth2_token?msexchuid_token=89edf14d");
    assert_eq!(
        (status, token["user_id"].as_str()),
        (200, Some(creds.admin_user_id.as_str()))
    );
    let mut exchanged = Client::new(&server);
    exchanged.token = Some(token["oauth2_token"].as_str().unwrap().to_owned());
    assert_eq!(exchanged.get("/v0/acme/users").0, 200);
    assert_eq!(
        Client::new(&server)
            .get("/msexchange/oauth2_token?msexchuid_token=89edf14d")
            .0,
        401
    );
    assert_eq!(
        Client::new(&server)
            .get("/msexchange/oauth2_token?msexchuid=89edf14d")
            .0,
        200
    );
    assert_eq!(
        admin
            .get("/msexchange/oauth2_token?msexchuid_token=unknown")
            .0,
        404
    );
}

#[test]
fn status_faults_answer_json_with_retry_after_and_respect_matching() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    server.inject(
        Fault::status(503)
            .retry_after(2)
            .times(2)
            .matching("GET", "/v0/"),
    );

    // A POST does not match; two GETs do; the third GET is served.
    let (status, _) = admin.call("POST", "/v0/acme/groups", Payload::Form(&[("name", "G")]));
    assert_eq!(status, 201);
    for _ in 0..2 {
        let mut response = admin
            .try_send("GET", "/v0/acme/groups", Payload::Nothing)
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers().get("retry-after").unwrap(), "2");
        let body: Value = response.body_mut().read_json().unwrap();
        assert_eq!(
            body,
            json!({ "error": "Service Unavailable (injected fault)" })
        );
    }
    assert_eq!(admin.get("/v0/acme/groups").0, 200);

    // A status fault before handling changes nothing; after handling, the change happens.
    server.inject(Fault::status(502).matching("post", "/groups"));
    assert_eq!(
        admin
            .call("POST", "/v0/acme/groups", Payload::Form(&[("name", "H")]))
            .0,
        502
    );
    server.inject(
        Fault::status(504)
            .matching("POST", "/groups")
            .after_handling(),
    );
    assert_eq!(
        admin
            .call("POST", "/v0/acme/groups", Payload::Form(&[("name", "I")]))
            .0,
        504
    );
    let (_, groups) = admin.get("/v0/acme/groups");
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["G", "I"]);

    server.inject(Fault::status(500).times(5));
    server.clear_faults();
    assert_eq!(admin.get("/v0/acme/groups").0, 200);
}

#[test]
fn delay_faults_hold_the_reply() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    server.inject(Fault::delay(Duration::from_millis(300)).matching("GET", ""));
    let started = Instant::now();
    assert_eq!(admin.get("/v0/acme/users").0, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(admin.get("/v0/acme/users").0, 200);
    assert!(started.elapsed() < Duration::from_millis(300), "only once");
}

#[test]
fn dropped_connections_get_no_reply() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    assert_eq!(admin.get("/v0/acme/users").0, 200);
    server.clear_journal();

    server.inject(Fault::drop_connection().matching("GET", "/users"));
    let started = Instant::now();
    let result = admin.try_send("GET", "/v0/acme/users", Payload::Nothing);
    // ureq sees the peer disconnect before any response byte.
    assert!(
        matches!(result, Err(ureq::Error::Io(_))),
        "expected an I/O error, got {:?}",
        result.map(|r| r.status())
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the client must not wait for a timeout"
    );
    // The next request works, on a new connection.
    assert_eq!(admin.get("/v0/acme/users").0, 200);
    let journal = server.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].status, None);
    assert_eq!(journal[1].status, Some(200));
    assert_ne!(journal[0].connection, journal[1].connection);

    // Dropped after handling: the user was created although the client saw no reply.
    server.inject(
        Fault::drop_connection()
            .matching("POST", "/users")
            .after_handling(),
    );
    let body = json!({ "email": "lost@example.com", "password": "password-1" });
    assert!(
        admin
            .try_send("POST", "/v0/acme/users", Payload::Json(body.clone()))
            .is_err()
    );
    assert_eq!(
        admin.call("POST", "/v0/acme/users", Payload::Json(body)).0,
        409
    );
}

#[test]
fn the_journal_records_requests_with_the_token_redacted() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let token = admin.token.clone().unwrap();
    server.clear_journal();
    admin.call(
        "PUT",
        "/v0/acme/users/a%2Fb?x=1",
        Payload::Form(&[("flag", "True")]),
    );
    admin.get("/v0/acme/users?include_config=False");

    let journal = server.journal();
    assert_eq!(journal.len(), 2);
    let put = &journal[0];
    assert_eq!(
        (put.method.as_str(), put.path.as_str(), put.query.as_str()),
        ("PUT", "/api/user/v0/acme/users/a%2Fb", "x=1")
    );
    assert_eq!(put.status, Some(404));
    assert_eq!(
        put.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(put.header("authorization"), Some("Bearer [redacted]"));
    assert!(put.has_authorization());
    assert_eq!(put.form(), [("flag".to_owned(), "True".to_owned())]);
    assert_eq!(put.body_text(), "flag=True");
    assert!(
        !format!("{put:?}").contains(&token),
        "the access token leaked into the journal"
    );
    let get = &journal[1];
    assert_eq!(
        get.query_pairs(),
        [("include_config".to_owned(), "False".to_owned())]
    );
    assert!(get.body.is_empty() && get.json().is_none());
    assert_eq!(get.peer.ip().to_string(), "127.0.0.1");

    server.clear_journal();
    assert!(server.journal().is_empty());
    let quiet = FakeServer::builder().journal(false).start().unwrap();
    Client::admin(&quiet);
    assert!(quiet.journal().is_empty());
}

#[test]
fn sequential_requests_share_one_keep_alive_connection() {
    let server = FakeServer::start();
    let admin = Client::admin(&server);
    let path = format!("/v0/acme/users/{}", server.credentials().admin_user_id);
    for _ in 0..20 {
        assert_eq!(admin.get(&path).0, 200);
    }
    let journal = server.journal();
    assert_eq!(journal.len(), 21);
    assert!(
        journal
            .iter()
            .all(|e| e.peer == journal[0].peer && e.connection == journal[0].connection)
    );
    // Another agent opens another connection.
    let other = Client::admin(&server);
    other.get(&path);
    let last = server.journal().pop().unwrap();
    assert_ne!(last.connection, journal[0].connection);
    assert_ne!(last.peer.port(), journal[0].peer.port());
}

#[test]
fn shutdown_is_prompt_with_an_idle_keep_alive_connection() {
    let server = FakeServer::start();
    let addr = server.addr();
    let admin = Client::admin(&server);
    assert_eq!(admin.get("/v0/acme/users").0, 200); // the connection is now idle in the pool
    let started = Instant::now();
    server.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "shutdown took {took:?}");
    assert!(
        admin
            .try_send("GET", "/v0/acme/users", Payload::Nothing)
            .is_err()
    );
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting connections"
    );

    // Dropping stops it as well, even with a request held by a long delay (grace period).
    let server = FakeServer::start();
    let addr = server.addr();
    let admin = Client::admin(&server);
    server.inject(Fault::delay(Duration::from_secs(30)));
    let waiting = std::thread::spawn(move || {
        admin
            .try_send("GET", "/v0/acme/users", Payload::Nothing)
            .is_err()
    });
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "drop took {:?}",
        started.elapsed()
    );
    assert!(waiting.join().unwrap(), "the held request was cut off");
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn builder_address_and_redacted_credentials() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = FakeServer::builder().addr(free).start().unwrap();
    assert_eq!(server.url(), format!("http://{free}"));
    assert_eq!(server.user_api_url(), format!("http://{free}/api/user"));
    assert!(
        FakeServer::builder().addr(free).start().is_err(),
        "the port is taken"
    );

    let creds = server.credentials();
    let shown = format!("{creds:?} {server:?}");
    for secret in [
        &creds.admin_password,
        &creds.client_secret,
        &creds.refresh_token,
    ] {
        assert!(!shown.contains(secret.as_str()), "{shown}");
    }
    assert!(shown.contains(&creds.admin_email) && shown.contains("[redacted]"));
}

#[test]
fn the_handle_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>(_: &T) {}
    let server = std::sync::Arc::new(FakeServer::start());
    shareable(&server);
    let other = std::sync::Arc::clone(&server);
    let status = std::thread::spawn(move || Client::admin(&other).get("/v0/acme/users").0);
    assert_eq!(status.join().unwrap(), 200);
    assert_eq!(server.journal().len(), 2);
}

/// Throughput of sequential keep-alive GETs of a user (with the journal off and on), and the
/// shutdown time with an idle keep-alive connection open. Run with:
/// `cargo test --release --features fake --test fake_server -- --ignored --nocapture bench`
#[test]
#[ignore = "benchmark; run in release mode"]
fn bench_sequential_keep_alive_gets() {
    for journal in [false, true] {
        let server = FakeServer::builder().journal(journal).start().unwrap();
        let admin = Client::admin(&server);
        let path = format!("/v0/acme/users/{}", server.credentials().admin_user_id);
        for _ in 0..200 {
            admin.get(&path);
        }
        let n = 20_000;
        let started = Instant::now();
        for _ in 0..n {
            let mut response = admin.try_send("GET", &path, Payload::Nothing).unwrap();
            assert_eq!(response.status(), 200);
            response.body_mut().read_to_vec().unwrap();
        }
        let elapsed = started.elapsed();
        let per_second = f64::from(n) / elapsed.as_secs_f64();
        println!("journal {journal}: {n} keep-alive GETs in {elapsed:?}: {per_second:.0} calls/s");
        if journal {
            let connections: std::collections::HashSet<u64> =
                server.journal().iter().map(|e| e.connection).collect();
            assert_eq!(connections.len(), 1, "all calls on one connection");
        }
        let started = Instant::now();
        server.shutdown();
        let shutdown = started.elapsed();
        println!("journal {journal}: shutdown with an idle keep-alive connection: {shutdown:?}");
        assert!(per_second > 1_000.0);
        assert!(shutdown < Duration::from_millis(200));
    }
}
