//! The README's command-line one-liners, run as written against the fake.

mod common;

use common::{Env, Out};
use squirro_user_api::{Client, Grant, ProjectRole, ServerRole};

const START: &str = "<!-- cli-oneliners:start -->";
const END: &str = "<!-- cli-oneliners:end -->";

/// The ```sh blocks between the markers.
fn oneliners() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme.find(START).expect("the one-liners' start marker") + START.len();
    let end = readme.find(END).expect("the one-liners' end marker");
    readme[start..end]
        .split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or("").trim().to_string())
        .collect()
}

fn client(env: &Env, tenant: &str) -> Client {
    Client::builder()
        .cluster(env.server.url())
        .tenant(tenant)
        .refresh_token(&env.server.credentials().refresh_token)
        .build()
        .unwrap()
}

#[test]
fn the_readme_oneliners_do_what_they_say() {
    let lines = oneliners();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let env = Env::new("readme");
    let c = env.server.credentials();
    let admin = client(&env, &c.tenant);
    let project = "2sic33jZTi-ifflvQAVcfw";
    admin
        .add_project_member(project, ProjectRole::Admin)
        .user_id(&c.admin_user_id)
        .send()
        .unwrap();
    let workspace = admin.create_workspace("Team space").send().unwrap().domain;
    let member = admin
        .add_workspace_users(&workspace, ["jo@example.com"], ServerRole::User)
        .send()
        .unwrap()[0]
        .user_id
        .clone();
    let in_workspace = client(&env, &workspace);
    for name in ["Group A", "Group B"] {
        in_workspace
            .create_group(name)
            .members([member.as_str()])
            .send()
            .unwrap();
    }
    let groups = || {
        in_workspace
            .get_user_data(&member)
            .send()
            .unwrap()
            .groups
            .unwrap_or_default()
            .len()
    };
    assert_eq!(groups(), 2);

    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_squirro-user"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let run = |line: &str| {
        let mut cmd = env.cmd();
        cmd.env("PATH", &path)
            .env("PROJECT_ID", project)
            .env("WORKSPACE", &workspace)
            .env("USER_ID", &member)
            .args(["-c", line]);
        // Run the line with bash, not the binary: it is a shell one-liner.
        let mut bash = std::process::Command::new("bash");
        bash.arg("-o").arg("pipefail").arg("-c").arg(line);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => bash.env(k, v),
                None => bash.env_remove(k),
            };
        }
        bash.stdin(std::process::Stdio::null());
        Out::of(bash.output().unwrap())
    };

    // 1. A service account's refresh token: it authenticates as the new user.
    let out = run(&lines[0]);
    assert_eq!(out.code, 0, "{out:?}");
    let token = out.stdout.trim();
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "{out:?}"
    );
    let bot = Client::builder().cluster(env.server.url()).build().unwrap();
    let session = bot
        .authenticate(Grant::refresh_token(token))
        .send()
        .unwrap();
    let bot_user = admin
        .get_user_data(session.user_id.unwrap())
        .send()
        .unwrap();
    assert_eq!(bot_user.email.as_deref(), Some("ci-bot@example.com"));

    // 2. A project's members as a table.
    let out = run(&lines[1]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut rows = out.stdout.lines();
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["MEMBER_ID", "MEMBER_TYPE", "EMAIL", "PROJECT_ROLE"]
    );
    let row: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(
        row,
        [
            c.admin_user_id.as_str(),
            "user",
            c.admin_email.as_str(),
            "admin"
        ]
    );

    // 3. The user is in no group of the workspace any more, and still in the workspace.
    let out = run(&lines[2]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(groups(), 0);
    let users = admin.get_workspace_users(&workspace).send().unwrap();
    assert!(users.iter().any(|u| u.id == member), "{users:?}");
}
