//! Running the built `squirro-user` against an in-process fake, in a clean environment.
#![allow(dead_code)] // each test file uses a part

use squirro_user_api_fake::FakeServer;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary with no `SQUIRRO_*` variables, and HOME and the configuration file in `home`.
pub fn bare(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_squirro-user"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("SQUIRRO_")
            || k.starts_with("XDG_")
            || k.ends_with("_proxy")
            || k.ends_with("_PROXY")
        {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home)
        .env("SQUIRRO_CONFIG", home.join("config.toml"))
        .stdin(Stdio::null());
    cmd
}

/// A fresh temporary directory.
pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "squirro-user-test-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A fake server and a home directory.
pub struct Env {
    pub server: FakeServer,
    pub home: PathBuf,
}

impl Env {
    pub fn new(tag: &str) -> Env {
        Env {
            server: FakeServer::start(),
            home: tempdir(tag),
        }
    }

    /// The binary with the fake's admin credentials in `SQUIRRO_*`.
    pub fn cmd(&self) -> Command {
        let c = self.server.credentials();
        let mut cmd = bare(&self.home);
        cmd.env("SQUIRRO_CLUSTER", self.server.url())
            .env("SQUIRRO_TOKEN", &c.refresh_token)
            .env("SQUIRRO_TENANT", &c.tenant);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Out {
        Out::of(self.cmd().args(args).output().expect("run squirro-user"))
    }
}

/// What a run gave.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn of(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// The endpoints of the SDK's table: (name, [(param, is_positional)]), read at test time.
pub fn endpoints() -> Vec<(String, Vec<(String, bool)>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../endpoints.toml"))
        .expect("endpoints.toml");
    let table: toml::Table = toml::from_str(&text).expect("endpoints.toml is TOML");
    let list = table["endpoint"].as_array().expect("[[endpoint]]");
    list.iter()
        .map(|ep| {
            let name = ep["name"].as_str().expect("name").to_string();
            let params = ep["params"]
                .as_array()
                .expect("params")
                .iter()
                .filter(|p| p.get("source").is_none())
                .map(|p| {
                    let flag = |k: &str| p.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
                    let positional = !flag("optional") && p.get("default").is_none();
                    (
                        p["name"].as_str().expect("param name").to_string(),
                        positional,
                    )
                })
                .collect();
            (name, params)
        })
        .collect()
}

/// One example run of an endpoint's subcommand: its arguments (`{placeholders}` filled from
/// earlier captures), the exit status, a text the output must contain, and a field of the
/// JSON reply to capture under a name.
pub struct Example {
    pub endpoint: &'static str,
    pub args: &'static [&'static str],
    pub exit: i32,
    pub contains: &'static str,
    pub capture: Option<(&'static str, &'static str)>,
}

const fn ex(
    endpoint: &'static str,
    args: &'static [&'static str],
    contains: &'static str,
) -> Example {
    Example {
        endpoint,
        args,
        exit: 0,
        contains,
        capture: None,
    }
}

const fn cap(
    endpoint: &'static str,
    args: &'static [&'static str],
    contains: &'static str,
    name: &'static str,
    field: &'static str,
) -> Example {
    Example {
        endpoint,
        args,
        exit: 0,
        contains,
        capture: Some((name, field)),
    }
}

/// Realistic examples, in an order that builds what later ones use. Values holding
/// `SEKRIT` are secrets: no dry run may show them.
pub const EXAMPLES: &[Example] = &[
    ex("get_users_password_policy", &[], "{"),
    cap(
        "add_user",
        &[
            "--email",
            "jane@example.com",
            "--role",
            "user",
            "--password",
            "pw-SEKRIT-1",
        ],
        "jane@example.com",
        "user",
        "id",
    ),
    ex(
        "get_user_data",
        &["{user}", "--include-projects"],
        "jane@example.com",
    ),
    ex(
        "update_user_data",
        &["{user}", r#"{"full_name": "Jane Doe", "team": "east"}"#],
        "Jane Doe",
    ),
    ex(
        "get_users",
        &["--include-config", "false"],
        "jane@example.com",
    ),
    ex(
        "new_or_modify_authentication",
        &[
            "{user}",
            "msexchange",
            "uid-123",
            "tok-SEKRIT",
            "--display-name",
            "Jane D",
            "--access-token-expires",
            "2030-01-09T08:40:00",
        ],
        "uid-123",
    ),
    ex("get_authentication", &["{user}", "msexchange"], "uid-123"),
    ex("get_token_from_msexchuid", &["uid-123"], "{user}"),
    ex("get_token_from_msexchuid_token", &["uid-123"], "{user}"),
    ex(
        "delete_authentication",
        &["{user}", "msexchange", "--yes"],
        "",
    ),
    cap(
        "new_grant",
        &[
            "{user}",
            "user",
            "--project-permissions",
            "items.*,projects.read.*",
        ],
        "refresh_token",
        "grant",
        "id",
    ),
    ex("get_user_grants", &["{user}"], "{grant}"),
    ex("get_session", &["{user}", "{grant}"], "{user}"),
    ex("delete_session", &["{user}", "{grant}", "--yes"], ""),
    cap(
        "new_grant",
        &[
            "{user}",
            "service",
            "--for-client-id",
            "abdc0183029498f20c38",
        ],
        "refresh_token",
        "grant2",
        "id",
    ),
    ex("delete_grant", &["{user}", "{grant2}", "--yes"], ""),
    cap(
        "create_group",
        &["Team East", "--members", "{user}"],
        "Team East",
        "group",
        "id",
    ),
    ex("get_groups", &[], "Team East"),
    ex("get_group", &["{group}", "--include-projects"], "{user}"),
    ex(
        "update_group",
        &["{group}", "Team West", "--members", "{user},{admin}"],
        "Team West",
    ),
    ex("delete_group_member", &["{group}", "{admin}", "--yes"], ""),
    ex("add_group_member", &["{group}", "{admin}"], "{admin}"),
    ex(
        "add_project_member",
        &["2sic33jZTi-ifflvQAVcfw", "member", "--user-id", "{user}"],
        "member",
    ),
    ex("get_project_members", &["2sic33jZTi-ifflvQAVcfw"], "{user}"),
    ex(
        "update_project_member",
        &["2sic33jZTi-ifflvQAVcfw", "{user}", "admin"],
        "admin",
    ),
    ex(
        "delete_project_member",
        &["2sic33jZTi-ifflvQAVcfw", "{user}", "--yes"],
        "",
    ),
    cap(
        "create_workspace",
        &["Project 5"],
        "Project 5",
        "ws",
        "domain",
    ),
    ex("get_workspaces", &["--admin-only"], "Project 5"),
    ex(
        "update_workspace",
        &["{ws}", "Workspace Five"],
        "Workspace Five",
    ),
    ex(
        "add_workspace_users",
        &["{ws}", "new@example.com,jane@example.com", "reader"],
        "{user}",
    ),
    ex(
        "set_workspace_user_role",
        &["{ws}", "{user}", "admin"],
        "{user}",
    ),
    ex("get_workspace_users", &["{ws}"], "{user}"),
    ex("delete_workspace", &["{ws}", "--yes"], ""),
    ex("delete_group", &["{group}", "--yes"], ""),
    ex(
        "change_user_password",
        &[
            "{admin}",
            "{admin_password}",
            "n3w-SEKRIT-pw",
            "n3w-SEKRIT-pw",
        ],
        "{admin}",
    ),
    ex("delete_user", &["{user}", "--yes"], ""),
    // A cluster with workspaces (the fake's default, as a real one) takes signups only
    // until its first user exists: exit 3 (refused). `signup_on_a_cluster_without_users` in
    // tests/behaviour.rs shows a signup that succeeds.
    Example {
        endpoint: "signup",
        args: &[
            "founder@newco.example",
            "pw-SEKRIT-2",
            "--full-name",
            "Founder",
        ],
        exit: 3,
        contains: "",
        capture: None,
    },
];

/// `{name}` placeholders replaced from `vars`.
pub fn fill(s: &str, vars: &[(String, String)]) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}
