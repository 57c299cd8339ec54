//! The quickstart: provisions a small team with the Squirro user API, lists it, and cleans up.
//!
//! ```text
//! cargo run --example quickstart                  # against an embedded fake server
//! export SQUIRRO_CLUSTER=https://squirro.example.com SQUIRRO_TENANT=acme SQUIRRO_TOKEN=...
//! cargo run --example quickstart                  # reads from your cluster, changes nothing
//! cargo run --example quickstart -- --write       # provisions on your cluster, then cleans up
//! ```
//!
//! Without `SQUIRRO_CLUSTER` it starts the fake server this crate embeds (`squirro_user_api_fake`)
//! and signs in as its seeded admin. With it, the client is configured from the environment:
//! `SQUIRRO_CLUSTER`, `SQUIRRO_TOKEN` (a refresh token, from "API access"), and optionally
//! `SQUIRRO_TENANT` (else the token's own), `SQUIRRO_CLIENT_ID` and `SQUIRRO_CLIENT_SECRET`. A real cluster is only read
//! from unless `--write` (or `SQUIRRO_QUICKSTART_WRITE=1`) is given; `SQUIRRO_PROJECT_ID` then
//! names the project the group joins (without it, that step is skipped).
//!
//! Provisioning creates a workspace, two users, a group, a project membership and a service
//! grant; everything created is removed again, also when a step fails. Tokens and secrets are
//! never printed: only ids, emails and names.

use std::fmt::Display;
use std::process::ExitCode;
use std::time::Duration;

use squirro_user_api::{
    Client, ClientBuilder, Error, GrantType, ProjectRole, RetryPolicy, ServerRole,
};
use squirro_user_api_fake::FakeServer;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the quickstart runs, and what it may do there.
struct Target {
    client: Client,
    /// Whether to provision (always on the fake server).
    write: bool,
    /// The project the group joins, if there is one.
    project_id: Option<String>,
    /// On a real cluster, a tag for the names and emails made, so they collide with none there.
    tag: Option<String>,
    /// The fake server, kept alive for the whole run (it stops when dropped).
    _fake: Option<FakeServer>,
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let write = parse_args()?;
    let target = if env("SQUIRRO_CLUSTER").is_some() {
        println!("Squirro user API quickstart");
        // Give up on a call after 20 s of retries (by default, as in Python, failing
        // connections are retried for minutes).
        let retry = RetryPolicy::default().deadline(Duration::from_secs(20));
        let client = ClientBuilder::from_env()?.retry(retry).build()?;
        step("cluster", client.user_api_url());
        Target {
            client,
            write,
            project_id: env("SQUIRRO_PROJECT_ID"),
            tag: Some(format!("qs{}", unix_time())),
            _fake: None,
        }
    } else {
        println!("Squirro user API quickstart (no SQUIRRO_CLUSTER set: using the embedded fake)");
        let fake = FakeServer::builder().start()?;
        let creds = fake.credentials();
        let client = Client::builder()
            .cluster(fake.url())
            .tenant(&creds.tenant)
            .refresh_token(&creds.refresh_token)
            .build()?;
        step("fake server", fake.url());
        // The fake knows the projects it was seeded with (any other id is a 404 there).
        let project_id = fake.projects().first().map(|p| p.id.clone());
        Target {
            client,
            write: true,
            project_id,
            tag: None,
            _fake: Some(fake),
        }
    };
    let client = &target.client;

    // The client holds a refresh token: its first call gets an access token with it.
    let users = client.get_users().send()?;
    let session = client.session().unwrap_or_default();
    let me = session.user_id.as_deref().unwrap_or("?");
    let email = users
        .users
        .iter()
        .find(|u| u.id == me)
        .and_then(|u| u.email.as_deref());
    step(
        "signed in",
        format!(
            "{} (user {me}, {}) in tenant {}",
            email.unwrap_or("?"),
            or_unknown(&session.role),
            client.tenant().unwrap_or_default()
        ),
    );

    if !target.write {
        read_only(client, users.users.len())?;
        println!(
            "Read-only: pass --write (or SQUIRRO_QUICKSTART_WRITE=1) to provision and clean up."
        );
        return Ok(());
    }

    let mut created = Created::default();
    println!("Provisioning");
    let provisioned = provision(&target, &mut created).and_then(|()| {
        println!("Listing");
        list_team(client, &created)
    });
    println!("Cleaning up");
    let cleaned = clean_up(client, &created);
    provisioned?;
    cleaned?;
    println!("Done: everything created was removed again.");
    Ok(())
}

/// Looks around without changing anything.
fn read_only(client: &Client, users: usize) -> Result<(), Error> {
    step("users", users);
    let groups = client.get_groups().send()?;
    let names: Vec<&str> = groups.iter().filter_map(|g| g.name.as_deref()).collect();
    step("groups", format!("{} {}", groups.len(), list(&names)));
    let workspaces = client.get_workspaces().send()?.workspaces;
    let domains: Vec<&str> = workspaces.iter().map(|w| w.domain.as_str()).collect();
    step(
        "workspaces",
        format!("{} {}", workspaces.len(), list(&domains)),
    );
    Ok(())
}

/// What provisioning created, so that cleaning up removes exactly that, even after a failure.
#[derive(Default)]
struct Created {
    workspace: Option<String>,
    /// (id, email)
    users: Vec<(String, String)>,
    /// (id, name)
    group: Option<(String, String)>,
    /// (project id, member id)
    project_member: Option<(String, String)>,
    /// (user id, grant id)
    grant: Option<(String, String)>,
}

fn provision(target: &Target, created: &mut Created) -> Result<(), Error> {
    let client = &target.client;
    let named = |name: &str| match &target.tag {
        Some(tag) => format!("{name} {tag}"),
        None => name.to_owned(),
    };
    let email_of = |local: &str| match &target.tag {
        Some(tag) => format!("{local}+{tag}@example.com"),
        None => format!("{local}@example.com"),
    };

    let workspace = client.create_workspace(named("Quickstart Team")).send()?;
    created.workspace = Some(workspace.domain.clone());
    step(
        "created workspace",
        format!(
            "{} \"{}\"",
            workspace.domain,
            workspace.title.unwrap_or_default()
        ),
    );

    let mut add_user = |name: &str| -> Result<(String, String), Error> {
        let email = email_of(name);
        let user = client
            .add_user()
            .email(&email)
            .role(ServerRole::User)
            .send()?;
        step("added user", format!("{email}  id {}", user.id));
        created.users.push((user.id.clone(), email.clone()));
        Ok((user.id, email))
    };
    let (jane, jane_email) = add_user("jane.doe")?;
    let (john, john_email) = add_user("john.roe")?;

    let name = named("Team East");
    let group = client.create_group(&name).members([&jane]).send()?;
    created.group = Some((group.id.clone(), name.clone()));
    step(
        "created group",
        format!("{name}  id {}  with {jane_email}", group.id),
    );
    client.add_group_member(&group.id, &john).send()?;
    step("added to group", format!("{john_email} to {name}"));

    let emails = [jane_email.as_str(), john_email.as_str()];
    client
        .add_workspace_users(&workspace.domain, emails, ServerRole::Reader)
        .send()?;
    step("added to workspace", format!("{} as reader", list(&emails)));

    match &target.project_id {
        Some(project) => {
            client
                .add_project_member(project, ProjectRole::Member)
                .group_id(&group.id)
                .send()?;
            created.project_member = Some((project.clone(), group.id.clone()));
            step("added to project", format!("{name} as member of {project}"));
        }
        None => step(
            "skipped project",
            "set SQUIRRO_PROJECT_ID to add the group to one",
        ),
    }

    // A service grant lets a tool act for Jane, limited to reading items. The reply holds the
    // tool's refresh token: hand it over, never print it.
    let grant = client
        .new_grant(&jane, GrantType::Service)
        .for_client_id("reporting-bot")
        .project_permissions(["items.read.*"])
        .send()?;
    created.grant = Some((jane.clone(), grant.id.clone()));
    step(
        "created grant",
        format!("{}  for reporting-bot acting as {jane_email}", grant.id),
    );

    Ok(())
}

/// Reads back what was provisioned.
fn list_team(client: &Client, created: &Created) -> Result<(), Error> {
    if let Some(domain) = &created.workspace {
        let users = client.get_workspace_users(domain).send()?;
        let shown: Vec<String> = users
            .iter()
            .map(|u| format!("{} ({})", or_id(&u.email, &u.id), or_unknown(&u.role)))
            .collect();
        step("workspace users", list(&shown));
    }
    if let Some((id, _)) = &created.group {
        let group = client.get_group(id).send()?;
        let shown: Vec<&str> = group
            .members
            .iter()
            .map(|u| or_id(&u.email, &u.id))
            .collect();
        step("group members", list(&shown));
    }
    if let Some((project, _)) = &created.project_member {
        let members = client.get_project_members(project).send()?.members;
        let shown: Vec<String> = members
            .iter()
            .map(|m| {
                let name = m.full_name.clone().or(m.email.clone());
                format!(
                    "{} ({})",
                    or_id(&name, &m.member_id),
                    or_unknown(&m.project_role)
                )
            })
            .collect();
        step("project members", list(&shown));
    }
    if let Some((user, _)) = &created.grant {
        let grants = client.get_user_grants(user).send()?.grants;
        let shown: Vec<String> = grants
            .iter()
            .map(|g| format!("{} ({})", g.id, or_unknown(&g.r#type)))
            .collect();
        step("grants of jane", list(&shown));
    }
    Ok(())
}

/// Removes what `created` lists, newest first. Every step is tried; the first failure is
/// returned.
fn clean_up(client: &Client, created: &Created) -> Result<(), Error> {
    let mut first_error = None;
    let mut done = |what: &str, detail: &str, result: Result<(), Error>| match result {
        Ok(()) => step(what, detail),
        Err(e) => {
            step(what, format!("{detail}  FAILED: {e}"));
            first_error.get_or_insert(e);
        }
    };
    if let Some((user, grant)) = &created.grant {
        done(
            "deleted grant",
            grant,
            client.delete_grant(user, grant).send(),
        );
    }
    if let Some((project, member)) = &created.project_member {
        let result = client.delete_project_member(project, member).send();
        done("removed from project", project, result);
    }
    if let Some((id, name)) = &created.group {
        done("deleted group", name, client.delete_group(id).send());
    }
    if let Some(domain) = &created.workspace {
        done(
            "deleted workspace",
            domain,
            client.delete_workspace(domain).send(),
        );
    }
    for (id, email) in &created.users {
        done("deleted user", email, client.delete_user(id).send());
    }
    first_error.map_or(Ok(()), Err)
}

/// One line per step: what was done, then the details, aligned.
fn step(what: &str, details: impl Display) {
    println!("  {what:<20} {details}");
}

fn list<T: AsRef<str>>(items: &[T]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

fn or_unknown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("?")
}

fn or_id<'a>(name: &'a Option<String>, id: &'a str) -> &'a str {
    name.as_deref().unwrap_or(id)
}

/// `--write` or `SQUIRRO_QUICKSTART_WRITE=1`: whether to change a real cluster.
fn parse_args() -> Result<bool, String> {
    let mut write = env("SQUIRRO_QUICKSTART_WRITE").is_some_and(|v| v == "1");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--write" => write = true,
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; usage: quickstart [--write]"
                ));
            }
        }
    }
    Ok(write)
}

/// An environment variable; empty counts as not set.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
