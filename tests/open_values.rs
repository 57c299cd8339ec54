//! Roles and grant types are open: a value a newer Squirro adds decodes, is kept as `Other`,
//! and goes back on the wire exactly as it came; typing an unknown value is still an error.

use squirro_user_api::{Client, GrantType, ProjectRole, RetryPolicy, ServerRole};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Serves one HTTP/1.1 reply per connection, in order, on a loopback port.
fn serve(bodies: Vec<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for body in bodies {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut sent = vec![0; length];
            reader.read_exact(&mut sent).unwrap();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            reader.get_mut().write_all(reply.as_bytes()).unwrap();
        }
    });
    url
}

fn client(cluster: &str) -> Client {
    Client::builder()
        .cluster(cluster)
        .tenant("acme")
        .access_token("access-t0ken")
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[test]
fn a_reply_with_roles_a_newer_squirro_added_decodes() {
    let url = serve(vec![
        r#"{"id": "u1", "email": "a@example.com", "role": "auditor", "role_permissions": []}"#,
        r#"{"members": [
            {"member_id": "u1", "member_type": "user", "project_role": "owner"},
            {"member_id": "g1", "member_type": "group", "project_role": "reader"}
        ]}"#,
    ]);
    let c = client(&url);
    let user = c
        .get_user_data("u1")
        .send()
        .expect("an unknown role decodes");
    let role = user.server_role().unwrap();
    assert_eq!(role, ServerRole::Other("auditor".into()));
    assert!(!role.is_known());
    assert_eq!(role.as_str(), "auditor");

    let members = c.get_project_members("p1").send().unwrap().members;
    let roles: Vec<_> = members.iter().map(|m| m.role().unwrap()).collect();
    assert_eq!(
        roles,
        [ProjectRole::Other("owner".into()), ProjectRole::Reader]
    );
    assert!(
        matches!(roles[1], ProjectRole::Reader),
        "known values get their variant"
    );
}

#[test]
fn every_value_round_trips_through_serde_display_and_from_wire() {
    let mut servers: Vec<ServerRole> = ServerRole::ALL.to_vec();
    servers.push(ServerRole::from_wire("auditor"));
    for role in servers {
        let json = serde_json::to_string(&role).unwrap();
        assert_eq!(json, format!("\"{role}\""));
        assert_eq!(serde_json::from_str::<ServerRole>(&json).unwrap(), role);
        assert_eq!(ServerRole::from_wire(role.to_string()), role);
    }
    let mut projects: Vec<ProjectRole> = ProjectRole::ALL.to_vec();
    projects.push(ProjectRole::from_wire("owner"));
    for role in projects {
        let back: ProjectRole =
            serde_json::from_value(serde_json::to_value(&role).unwrap()).unwrap();
        assert_eq!(back, role);
        assert_eq!(ProjectRole::from_wire(role.as_str()), role);
    }
    let mut grants: Vec<GrantType> = GrantType::ALL.to_vec();
    grants.push(GrantType::from_wire("robot"));
    for grant in grants {
        let back: GrantType =
            serde_json::from_str(&serde_json::to_string(&grant).unwrap()).unwrap();
        assert_eq!(back, grant);
    }
    // A known spelling always becomes its variant, whichever way it comes in.
    assert!(matches!(
        serde_json::from_str::<ServerRole>("\"admin\"").unwrap(),
        ServerRole::Admin
    ));
    assert!(matches!(
        GrantType::from_wire("service"),
        GrantType::Service
    ));
    // An `Other` built by hand with a known spelling is the same value.
    assert_eq!(ServerRole::Other("admin".into()), ServerRole::Admin);
    let set: std::collections::HashSet<_> = [ServerRole::Other("admin".into()), ServerRole::Admin]
        .into_iter()
        .collect();
    assert_eq!(set.len(), 1);
    // Only strings are roles.
    assert!(serde_json::from_str::<ServerRole>("3").is_err());
}

#[test]
fn parsing_typed_input_still_refuses_unknown_values() {
    let e = "superuser".parse::<ServerRole>().unwrap_err().to_string();
    assert!(
        e.contains("role") && e.contains("superuser") && e.contains("from_wire"),
        "{e}"
    );
    assert!("robot".parse::<GrantType>().is_err());
    assert_eq!(
        "member".parse::<ProjectRole>().unwrap(),
        ProjectRole::Member
    );
}

#[test]
fn unknown_values_go_on_the_wire_as_they_came() {
    let c = client("https://squirro.example.com");
    let show =
        |r: Result<squirro_user_api::Request, squirro_user_api::Error>| c.render(&r.unwrap());
    let add = show(
        c.add_user()
            .email("jane@example.com")
            .role(ServerRole::from_wire("auditor"))
            .request(),
    );
    assert!(
        add.ends_with("\n\n{\"email\":\"jane@example.com\",\"role\":\"auditor\"}"),
        "{add}"
    );
    // In a form body, a value needing encoding is encoded like any other text.
    let member = show(
        c.add_project_member("p1", ProjectRole::from_wire("owner&co=x"))
            .user_id("u1")
            .request(),
    );
    assert!(
        member.ends_with("\n\nuser_id=u1&role=owner%26co%3Dx"),
        "{member}"
    );
    let grant = show(c.new_grant("u1", GrantType::from_wire("robot")).request());
    assert!(grant.ends_with("\n\ntype=robot"), "{grant}");
}
