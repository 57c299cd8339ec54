//! Credentials precedence, login/logout, exit statuses by failure class, closed pipes.

mod common;

use common::{Env, Out, bare};
use squirro_user_api_fake::Fault;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

fn write_config(env: &Env, text: &str, mode: u32) -> std::path::PathBuf {
    let path = env.home.join("config.toml");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
    path
}

fn whoami(env: &Env, cmd: &mut std::process::Command) -> Out {
    let _ = env;
    Out::of(cmd.args(["whoami", "-o", "json"]).output().unwrap())
}

#[test]
fn flags_over_env_over_profile() {
    let env = Env::new("precedence");
    let c = env.server.credentials();
    let good = c.refresh_token.as_str();
    write_config(
        &env,
        &format!(
            "default_profile = \"fake\"\n\n[profiles.fake]\ncluster = \"{}\"\ntoken = \"{good}\"\n\n\
             [profiles.broken]\ncluster = \"{}\"\ntoken = \"bad-token\"\ntenant = \"nope\"\n",
            env.server.url(),
            env.server.url()
        ),
        0o600,
    );
    // The profile alone (the file's default profile).
    let out = whoami(&env, &mut bare(&env.home));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["profile"], "fake");
    assert_eq!(
        out.json()["user_id"].as_str(),
        Some(c.admin_user_id.as_str())
    );
    assert!(
        out.stderr.is_empty(),
        "a 0600 file gets no warning: {out:?}"
    );
    // A bad profile token: refused (auth).
    let out = whoami(&env, bare(&env.home).args(["--profile", "broken"]));
    assert_eq!(out.code, 3, "{out:?}");
    // SQUIRRO_TOKEN over the profile's token, --tenant over the profile's tenant.
    let out = whoami(
        &env,
        bare(&env.home).env("SQUIRRO_TOKEN", good).args([
            "--profile",
            "broken",
            "--tenant",
            "acme",
        ]),
    );
    assert_eq!(out.code, 0, "{out:?}");
    // SQUIRRO_PROFILE picks the profile; --token over SQUIRRO_TOKEN.
    let out = whoami(
        &env,
        bare(&env.home)
            .env("SQUIRRO_PROFILE", "broken")
            .env("SQUIRRO_TOKEN", "bad-too")
            .args(["--token", good, "--tenant", "acme"]),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["profile"], "broken");
    // Env tenant over the profile's; a flag over env.
    let out = Out::of(
        bare(&env.home)
            .env("SQUIRRO_TOKEN", good)
            .env("SQUIRRO_TENANT", "acme")
            .args(["--profile", "broken", "get-users", "--dry-run"])
            .output()
            .unwrap(),
    );
    assert!(
        out.stdout.starts_with("GET /api/user/v0/acme/users"),
        "{out:?}"
    );
    let out = Out::of(
        bare(&env.home)
            .env("SQUIRRO_TENANT", "acme")
            .args([
                "--profile",
                "broken",
                "--tenant",
                "flag",
                "get-users",
                "--dry-run",
            ])
            .output()
            .unwrap(),
    );
    assert!(
        out.stdout.starts_with("GET /api/user/v0/flag/users"),
        "{out:?}"
    );
    // A profile no file holds is a usage error naming it.
    let out = whoami(&env, bare(&env.home).args(["--profile", "missing"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no profile `missing`"), "{out:?}");
}

#[cfg(unix)]
#[test]
fn a_token_file_others_can_read_is_warned_about_by_name() {
    let env = Env::new("perms");
    let token = env.server.credentials().refresh_token.clone();
    let path = write_config(
        &env,
        &format!(
            "[profiles.default]\ncluster = \"{}\"\ntoken = \"{token}\"\n",
            env.server.url()
        ),
        0o644,
    );
    let out = whoami(&env, &mut bare(&env.home));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains(&path.display().to_string()), "{out:?}");
    assert!(out.stderr.contains("chmod 600"), "{out:?}");
    assert!(!out.stderr.contains(&token), "{out:?}");
}

#[test]
fn squirrorc_is_read_when_there_is_no_profile() {
    let env = Env::new("squirrorc");
    let c = env.server.credentials();
    std::fs::write(
        env.home.join(".squirrorc"),
        format!(
            "[squirro]\ncluster = {}\ntoken = {}\n",
            env.server.url(),
            c.refresh_token
        ),
    )
    .unwrap();
    let out = whoami(&env, &mut bare(&env.home));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.json()["config"]
            .as_str()
            .unwrap()
            .ends_with(".squirrorc"),
        "{out:?}"
    );
}

#[test]
fn login_stores_the_token_owner_only_and_logout_removes_it() {
    let env = Env::new("login");
    let c = env.server.credentials();
    let mut login = bare(&env.home);
    login
        .args([
            "--profile",
            "work",
            "--cluster",
            env.server.url(),
            "login",
            &c.admin_email,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", c.admin_password).unwrap();
    let out = Out::of(child.wait_with_output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stderr.contains(&c.admin_password) && out.stdout.is_empty(),
        "{out:?}"
    );
    let path = env.home.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[profiles.work]") && text.contains("tenant = \"acme\""),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The stored profile is enough.
    let out = whoami(&env, bare(&env.home).args(["--profile", "work"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["user_id"].as_str(),
        Some(c.admin_user_id.as_str())
    );
    // A wrong password: auth; without a terminal or --password-stdin: usage.
    let out = Out::of(
        bare(&env.home)
            .args(["--cluster", env.server.url(), "login", &c.admin_email])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    // Logout removes the token and keeps the rest.
    let out = Out::of(
        bare(&env.home)
            .args(["--profile", "work", "logout"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("token") && text.contains("cluster"),
        "{text}"
    );
    let out = whoami(&env, bare(&env.home).args(["--profile", "work"]));
    assert_eq!(out.code, 3, "{out:?}");
}

#[test]
fn exit_status_by_failure_class_with_the_server_message_on_one_line() {
    let env = Env::new("exit");
    let user = env.server.credentials().admin_user_id.clone();
    let get = ["get-user-data", user.as_str()];
    // Warm the session so faults hit the call itself, not the token request.
    for (fault, code) in [
        (Fault::status(400), 6),
        (Fault::status(401).times(2), 3),
        (Fault::status(403), 3),
        (Fault::status(404), 4),
        (Fault::status(409), 5),
        (Fault::status(500), 7),
    ] {
        let status = format!("{fault:?}");
        env.server.clear_faults();
        env.server.inject(fault.matching("GET", "/users/"));
        let out = env.run(&get);
        assert_eq!(out.code, code, "{status}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(
            out.stderr.contains("(injected fault)"),
            "the server's error: {out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    env.server.clear_faults();
    // Real replies of the fake.
    assert_eq!(env.run(&["get-user-data", "no-such-user"]).code, 4);
    // Ids are URL-safe base64: one may start with `-` and is still an id, not an option.
    let out = env.run(&["get-user-data", "-no-such-user"]);
    assert_eq!(out.code, 4, "{out:?}");
    let dup = env.run(&["add-user", "--email", "admin@acme.example"]);
    assert_eq!(dup.code, 5, "{dup:?}");
    assert!(dup.stderr.contains("already exists"), "{dup:?}");
    // Usage: a bad enum value lists the allowed ones; a value the SDK refuses before sending.
    let bad = env.run(&["add-user", "--role", "root"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("admin, user, demo, reader"), "{bad:?}");
    assert_eq!(env.run(&["add-user", "--email", "not-an-email"]).code, 2);
    assert_eq!(
        env.run(&["delete-user", &user]).code,
        2,
        "no --yes off a terminal"
    );
    // Authentication: no token at all, a refused one.
    let out = Out::of(
        bare(&env.home)
            .args(["--cluster", env.server.url(), "get-users"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 3, "{out:?}");
    let out = Out::of(
        env.cmd()
            .env("SQUIRRO_TOKEN", "refused")
            .args(["get-users"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 3, "{out:?}");
    // Timeout: every attempt waits longer than --timeout.
    env.server
        .inject(Fault::delay(Duration::from_secs(2)).times(20));
    let out = env.run(&["--timeout", "0.2", "--retries", "1", "get-users"]);
    assert_eq!(out.code, 8, "{out:?}");
    env.server.clear_faults();
    // No connection: a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = Out::of(
        env.cmd()
            .env("SQUIRRO_CLUSTER", url)
            .args(["--retries", "0", "get-users"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 7, "{out:?}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let env = Env::new("pipe");
    let c = env.server.credentials();
    let client = squirro_user_api::Client::builder()
        .cluster(env.server.url())
        .refresh_token(&c.refresh_token)
        .build()
        .unwrap();
    for i in 0..600 {
        client
            .add_user()
            .email(format!("user{i:04}@example.com"))
            .send()
            .unwrap();
    }
    for format in ["jsonl", "json", "table", "text"] {
        let mut child = env
            .cmd()
            .args(["get-users", "-o", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is dropped: the pipe is closed while the command still writes.
        let out = Out::of(child.wait_with_output().unwrap());
        assert!(!first.is_empty());
        assert_eq!(out.code, 0, "{format}: {out:?}");
        assert!(out.stderr.is_empty(), "{format}: {out:?}");
    }
}

#[test]
fn completions_man_page_and_the_fake_server() {
    let home = common::tempdir("extras");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = Out::of(bare(&home).args(["completion", shell]).output().unwrap());
        assert_eq!(out.code, 0, "{shell}: {out:?}");
        assert!(out.stdout.contains("get-user-data"), "{shell}");
    }
    let man = Out::of(bare(&home).arg("man").output().unwrap());
    assert_eq!(man.code, 0, "{man:?}");
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH squirro-user"),
        "{}",
        &man.stdout[..200]
    );
    assert!(
        man.stdout.contains("Exit status"),
        "the exit statuses are in the man page"
    );
    // The fake server serves until killed, and prints exports a script can eval.
    let mut child = bare(&home)
        .args([
            "fake-server",
            "--addr",
            "127.0.0.1:0",
            "--access-token-ttl",
            "60",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vars = Vec::new();
    for line in lines.by_ref().take(6) {
        let line = line.unwrap();
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            vars.push((k.to_string(), v.to_string()));
        }
    }
    assert_eq!(vars.len(), 5, "{vars:?}");
    let out = Out::of(
        bare(&home)
            .envs(vars)
            .args(["get-groups", "-o", "json"])
            .output()
            .unwrap(),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "[]");
}

/// Runs `squirro-user ARGS` on a pseudo-terminal (util-linux `script`), typing `answer`.
#[cfg(target_os = "linux")]
fn on_a_terminal(env: &Env, args: &str, answer: &str) -> Out {
    let bin = env!("CARGO_BIN_EXE_squirro-user");
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &format!("{bin} {args}; echo exit=$?"), "/dev/null"]);
    for (k, v) in env.cmd().get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` (bsdutils) runs the command on a pseudo-terminal");
    writeln!(child.stdin.take().unwrap(), "{answer}").unwrap();
    Out::of(child.wait_with_output().unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn delete_asks_on_a_terminal_and_shows_no_secret() {
    let env = Env::new("confirm");
    let token = env.server.credentials().refresh_token.clone();
    let group = env.run(&["create-group", "Doomed", "--fields", "id", "-o", "text"]);
    let id = group.stdout.trim().to_string();
    // "n": nothing deleted, usage status. The question shows the positional values only,
    // never an option's (here the token).
    let out = on_a_terminal(
        &env,
        &format!("delete-group {id} --token {token} --tenant acme"),
        "n",
    );
    assert!(
        out.stdout
            .contains(&format!("Run delete-group {id}? [y/N]")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("not confirmed") && out.stdout.contains("exit=2"),
        "{out:?}"
    );
    assert!(!out.stdout.contains(&token), "{out:?}");
    assert_eq!(env.run(&["get-group", &id, "-o", "json"]).code, 0);
    // "y": deleted.
    let out = on_a_terminal(&env, &format!("delete-group {id}"), "y");
    assert!(out.stdout.contains("exit=0"), "{out:?}");
    assert_eq!(env.run(&["get-group", &id]).code, 4);
}

#[test]
fn json_values_inline_from_a_file_or_stdin() {
    let env = Env::new("json-input");
    let user = env.server.credentials().admin_user_id.clone();
    let file = env.home.join("changes.json");
    std::fs::write(&file, r#"{"team": "from-file"}"#).unwrap();
    let arg = format!("@{}", file.display());
    let out = env.run(&[
        "update-user-data",
        &user,
        &arg,
        "--fields",
        "team",
        "-o",
        "text",
    ]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "from-file\n"),
        "{out:?}"
    );
    let mut child = env
        .cmd()
        .args([
            "update-user-data",
            &user,
            "-",
            "--fields",
            "team",
            "-o",
            "text",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    write!(child.stdin.take().unwrap(), r#"{{"team": "from-stdin"}}"#).unwrap();
    let out = Out::of(child.wait_with_output().unwrap());
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "from-stdin\n"),
        "{out:?}"
    );
    // Not JSON, a missing file: usage errors naming the parameter.
    let out = env.run(&["update-user-data", &user, "{team: x}"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("changes: the argument is not JSON"),
        "{out:?}"
    );
    let out = env.run(&["update-user-data", &user, "@/no/such/file.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("cannot read /no/such/file.json"),
        "{out:?}"
    );
}

#[test]
fn the_composite_commands() {
    let env = Env::new("composites");
    let ws = env.run(&[
        "create-workspace",
        "Workspace Five",
        "--fields",
        "domain",
        "-o",
        "text",
    ]);
    let domain = ws.stdout.trim().to_string();
    assert_eq!(ws.code, 0, "{ws:?}");
    // By title (any case) and by domain.
    for identifier in ["workspace five", domain.as_str()] {
        let out = env.run(&["resolve-workspace", identifier, "-o", "text"]);
        assert_eq!(
            (out.code, out.stdout.trim()),
            (0, domain.as_str()),
            "{out:?}"
        );
    }
    let out = env.run(&["resolve-workspace", "Nowhere"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("Workspace not found: Nowhere"),
        "{out:?}"
    );
    // A user in the workspace and in one of its groups, then removed from both.
    let added = env.run(&[
        "add-workspace-users",
        &domain,
        "jo@example.com",
        "user",
        "--fields",
        "user_id",
        "-o",
        "text",
    ]);
    assert_eq!(added.code, 0, "{added:?}");
    let user = added.stdout.trim().to_string();
    let group = env.run(&[
        "--tenant",
        &domain,
        "create-group",
        "G",
        "--members",
        &user,
        "--fields",
        "id",
        "-o",
        "text",
    ]);
    assert_eq!(group.code, 0, "{group:?}");
    let members = |env: &Env| {
        env.run(&[
            "get-workspace-users",
            &domain,
            "--fields",
            "id",
            "-o",
            "text",
        ])
        .stdout
    };
    assert!(members(&env).contains(&user));
    let out = env.run(&["delete-workspace-user", &domain, &user]);
    assert_eq!(out.code, 2, "no --yes off a terminal: {out:?}");
    let out = env.run(&["delete-workspace-user", &domain, &user, "--yes"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!members(&env).contains(&user));
    let g = env.run(&[
        "--tenant",
        &domain,
        "get-group",
        group.stdout.trim(),
        "--fields",
        "members",
        "-o",
        "json",
    ]);
    assert_eq!(g.json()["members"], serde_json::json!([]), "{g:?}");
    // Neither takes --dry-run (it would have to send the lookups).
    assert_eq!(
        env.run(&["resolve-workspace", &domain, "--dry-run"]).code,
        2
    );
}

#[test]
fn signup_on_a_cluster_without_users() {
    // A cluster without workspaces: every signup creates a tenant with its first user.
    let server = squirro_user_api_fake::FakeServer::builder()
        .workspaces(false)
        .start()
        .expect("start the fake");
    let home = common::tempdir("signup");
    let out = Out::of(
        bare(&home)
            .env("SQUIRRO_CLUSTER", server.url())
            .args([
                "signup",
                "founder@newco.example",
                "pw-SEKRIT-2",
                "--full-name",
                "Founder",
                "--output",
                "json",
            ])
            .output()
            .expect("run squirro-user"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("newco"), "{out:?}");
    assert!(!out.stdout.contains("pw-SEKRIT-2"), "{out:?}");
}

#[test]
fn verbose_logs_show_no_secret() {
    let env = Env::new("verbose");
    let c = env.server.credentials();
    for v in ["-v", "-vv"] {
        let out = Out::of(
            env.cmd()
                .env("SQUIRRO_CLIENT_ID", &c.client_id)
                .env("SQUIRRO_CLIENT_SECRET", &c.client_secret)
                .args([v, "get-user-grants", &c.admin_user_id, "--output", "json"])
                .output()
                .expect("run squirro-user"),
        );
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains("GET"),
            "the exchange is logged: {out:?}"
        );
        for secret in [&c.client_secret, &c.refresh_token] {
            assert!(
                !out.stderr.contains(secret.as_str()),
                "{v}: a secret in {}",
                out.stderr
            );
        }
    }
}
