//! Shared by the plan tests: a fake server, a client for it, state files, and a normalized view
//! of a tenant to compare runs with.
#![allow(dead_code)]

use squirro_user_api::{Client, RetryPolicy};
use squirro_user_api_fake::{FakeServer, FakeServerBuilder};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const SALES: &str = "2sic33jZTi-ifflvQAVcfw";
pub const SUPPORT: &str = "hQ4bVtq7Sxe1pN0fG3mKzA";

pub fn server() -> FakeServer {
    FakeServer::builder().start().expect("fake server")
}

pub fn server_with(builder: FakeServerBuilder) -> FakeServer {
    builder.start().expect("fake server")
}

/// A client with short backoffs (Retry-After is still honoured).
pub fn client(server: &FakeServer) -> Client {
    client_for(server.url(), &server.credentials().refresh_token)
}

pub fn client_for(url: &str, refresh_token: &str) -> Client {
    squirro_user_plan::tune_client(Client::builder(), 4)
        .cluster(url)
        .tenant("acme")
        .refresh_token(refresh_token)
        .retry(
            RetryPolicy::default()
                .backoff_factor(Duration::from_millis(5))
                .deadline(Duration::from_secs(30)),
        )
        .build()
        .expect("client")
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// A tenant as the tests compare it: users (email -> full name, role, custom `dept`), groups
/// (name -> member emails), project members (project -> member -> role), all sorted.
/// A user's full name, role and custom `dept`.
pub type UserFields = (Option<String>, Option<String>, Option<String>);

#[derive(Debug, PartialEq, Eq)]
pub struct View {
    pub users: BTreeMap<String, UserFields>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub projects: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn view(client: &Client) -> View {
    let users = client.get_users().send().expect("get_users").users;
    let email_of: BTreeMap<String, String> = users
        .iter()
        .map(|u| (u.id.clone(), u.email.clone().unwrap_or_default()))
        .collect();
    let users = users
        .iter()
        .map(|u| {
            (
                u.email.clone().unwrap_or_default().to_lowercase(),
                (
                    u.full_name.clone(),
                    u.role.clone(),
                    u.extra
                        .get("dept")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                ),
            )
        })
        .collect();
    let mut groups = BTreeMap::new();
    let mut group_name = BTreeMap::new();
    for g in client.get_groups().send().expect("get_groups") {
        let detail = client.get_group(&g.id).send().expect("get_group");
        let mut members: Vec<String> = detail
            .members
            .iter()
            .map(|m| email_of.get(&m.id).cloned().unwrap_or_else(|| m.id.clone()))
            .collect();
        members.sort();
        let name = g.name.clone().unwrap_or_default();
        group_name.insert(g.id.clone(), name.clone());
        assert!(
            groups.insert(name, members).is_none(),
            "two groups of one name"
        );
    }
    let mut projects = BTreeMap::new();
    for p in [SALES, SUPPORT] {
        let members = client
            .get_project_members(p)
            .send()
            .expect("get_project_members")
            .members
            .into_iter()
            .map(|m| {
                let who = if m.member_type.as_deref() == Some("group") {
                    format!(
                        "group:{}",
                        group_name.get(&m.member_id).cloned().unwrap_or_default()
                    )
                } else {
                    format!(
                        "user:{}",
                        email_of.get(&m.member_id).cloned().unwrap_or_default()
                    )
                };
                (who, m.project_role.unwrap_or_default())
            })
            .collect();
        projects.insert(p.to_string(), members);
    }
    View {
        users,
        groups,
        projects,
    }
}

/// How many requests of this method had a path ending with `suffix`.
pub fn count(server: &FakeServer, method: &str, suffix: &str) -> usize {
    server
        .journal()
        .iter()
        .filter(|e| e.method == method && e.path.ends_with(suffix))
        .count()
}

/// The results file's lines as JSON.
pub fn results(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("results")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A state file of 3 inline users, a CSV of 20 more, 3 groups and both projects.
pub fn state_files(dir: &Path) -> PathBuf {
    let mut csv = String::from("email,full_name,role,groups,data.dept\n");
    for i in 0..20 {
        let group = if i % 2 == 0 { "Team East" } else { "Team West" };
        csv.push_str(&format!(
            "user{i:02}@example.com,User {i},reader,{group},D{}\n",
            i % 3
        ));
    }
    write(dir, "people.csv", &csv);
    write(
        dir,
        "state.toml",
        r#"
users_csv = ["people.csv"]

[[users]]
email = "Jane@Example.com"
full_name = "Jane Doe"
role = "admin"
data = { dept = "Sales" }

[[users]]
email = "bob@example.com"
full_name = "Bob"

[[users]]
email = "carl@example.com"

[[groups]]
name = "Team East"
members = ["jane@example.com", "bob@example.com"]

[[groups]]
name = "Leads"
members = ["jane@example.com"]

[[projects]]
id = "2sic33jZTi-ifflvQAVcfw"
members = [
  { user = "jane@example.com", role = "admin" },
  { group = "Team East", role = "member" },
  { group = "Team West", role = "reader" },
]

[[projects]]
id = "hQ4bVtq7Sxe1pN0fG3mKzA"
members = [{ user = "carl@example.com", role = "reader" }]
"#,
    )
}
