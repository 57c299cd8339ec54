//! Dispatch, and the commands that are not one endpoint: login, logout, whoami, the
//! composites, completion, man, fake-server.

use crate::failure::{self, Failure};
use crate::output::{Data, Format};
use crate::run::{Run, Show};
use crate::{cli, creds, endpoints};
use clap::ArgMatches;
use serde_json::{Value, json};
use squirro_user_api::{Config, Grant, Profile};
use std::io::{BufRead, IsTerminal, Write};

pub fn dispatch(root: &ArgMatches) -> Result<(), Failure> {
    let Some((name, m)) = root.subcommand() else {
        return Err(Failure::usage("no command given (see --help)"));
    };
    let mut run = settings(m)?;
    match name {
        "completion" => completion(m),
        "man" => man(),
        "fake-server" => fake_server(m),
        "login" => login(m, &mut run),
        "logout" => logout(m),
        "whoami" => no_dry_run(name, &run).and_then(|()| whoami(m, &mut run)),
        "plan" => no_dry_run(name, &run).and_then(|()| crate::tenant_state::plan(m, &run)),
        "apply" => no_dry_run(name, &run).and_then(|()| crate::tenant_state::apply(m, &run)),
        "resolve-workspace" => {
            no_dry_run(name, &run)?;
            let client = creds::client(m)?;
            require_token(&client)?;
            let identifier = crate::args::text(m, "identifier")?;
            let domain = client.resolve_workspace(&identifier)?;
            run.write(Data::One(json!({ "domain": domain })))
        }
        "delete-workspace-user" => {
            no_dry_run(name, &run)?;
            let workspace = crate::args::text(m, "workspace_domain")?;
            let user = crate::args::text(m, "user_id")?;
            confirm(
                m,
                &format!("Remove user {user} from workspace {workspace} and its groups?"),
            )?;
            let client = creds::client(m)?;
            require_token(&client)?;
            client.delete_workspace_user(&workspace, &user)?;
            Ok(())
        }
        _ => {
            if name.starts_with("delete-") && !run.dry_run() {
                confirm(
                    m,
                    &format!("Run {name} {}?", positionals(name, m).join(" ")),
                )?;
            }
            let client = creds::client(m)?;
            if endpoints::needs_token(name) && !run.dry_run() {
                require_token(&client)?;
            }
            endpoints::run(&client, name, m, &mut run)
        }
    }
}

/// The output settings: `--output` (else a table on a terminal, JSON when piped), `--fields`,
/// `--dry-run`/`--curl`.
fn settings(m: &ArgMatches) -> Result<Run, Failure> {
    let format = match m.get_one::<String>("output") {
        Some(s) => Format::parse(s)
            .ok_or_else(|| Failure::usage(format!("--output: unknown format {s}")))?,
        None if std::io::stdout().is_terminal() => Format::Table,
        None => Format::Json,
    };
    let show = if m.get_flag("curl") {
        Some(Show::Curl)
    } else if m.get_flag("dry_run") {
        Some(Show::Http)
    } else {
        None
    };
    let fields = m
        .get_many::<String>("fields")
        .map(|f| f.filter(|s| !s.is_empty()).cloned().collect());
    Ok(Run {
        show,
        format,
        fields,
    })
}

fn no_dry_run(name: &str, run: &Run) -> Result<(), Failure> {
    if run.dry_run() {
        return Err(Failure::usage(format!(
            "--dry-run and --curl are for the endpoint commands and login, not {name}"
        )));
    }
    Ok(())
}

/// The subcommand's positional values (never an option's: `--token` is one), for the
/// confirmation question.
fn positionals(name: &str, m: &ArgMatches) -> Vec<String> {
    let cmd = cli::command();
    let Some(sub) = cmd.find_subcommand(name) else {
        return Vec::new();
    };
    sub.get_positionals()
        .filter_map(|a| m.get_raw(a.get_id().as_str()))
        .flat_map(|values| values.map(|v| v.to_string_lossy().into_owned()))
        .collect()
}

/// Asks on the terminal unless `--yes`; without a terminal, `--yes` is required.
pub(crate) fn confirm(m: &ArgMatches, question: &str) -> Result<(), Failure> {
    if m.get_flag("yes") {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Failure::usage(
            "this command changes the cluster: pass --yes to confirm (stdin is not a terminal)",
        ));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(failure::OTHER, format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(Failure::usage("not confirmed: nothing was changed"))
    }
}

fn completion(m: &ArgMatches) -> Result<(), Failure> {
    use clap_complete::Shell;
    let shell = match m.get_one::<String>("shell").map(String::as_str) {
        Some("bash") => Shell::Bash,
        Some("zsh") => Shell::Zsh,
        Some("fish") => Shell::Fish,
        Some("powershell") => Shell::PowerShell,
        Some("elvish") => Shell::Elvish,
        other => return Err(Failure::usage(format!("unknown shell {other:?}"))),
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli::command(), "squirro-user", &mut out);
    write_all(&out)
}

fn man() -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cli::command())
        .render(&mut out)
        .map_err(Failure::io)?;
    write_all(&out)
}

fn write_all(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).map_err(Failure::io)?;
    out.flush().map_err(Failure::io)
}

fn fake_server(m: &ArgMatches) -> Result<(), Failure> {
    let mut builder = squirro_user_api_fake::FakeServer::builder();
    if let Some(addr) = m.get_one::<std::net::SocketAddr>("addr") {
        builder = builder.addr(*addr);
    }
    if let Some(ttl) = m.get_one::<u64>("access_token_ttl") {
        builder = builder.access_token_ttl(std::time::Duration::from_secs(*ttl));
    }
    let server = builder
        .start()
        .map_err(|e| Failure::new(failure::OTHER, format!("cannot start the fake server: {e}")))?;
    let c = server.credentials();
    // The fake's own seeded credentials: printing them is what this command is for.
    let text = format!(
        "# Fake Squirro user API at {url} (admin {email}, password {password}); Ctrl-C stops it.\n\
         export SQUIRRO_CLUSTER={url}\n\
         export SQUIRRO_TENANT={tenant}\n\
         export SQUIRRO_TOKEN={token}\n\
         export SQUIRRO_CLIENT_ID={id}\n\
         export SQUIRRO_CLIENT_SECRET={secret}\n",
        url = server.url(),
        email = c.admin_email,
        password = c.admin_password,
        tenant = c.tenant,
        token = c.refresh_token,
        id = c.client_id,
        secret = c.client_secret,
    );
    write_all(text.as_bytes())?;
    // The server runs on its own thread; Ctrl-C ends the process, and the server with it.
    loop {
        std::thread::park();
    }
}

/// The configuration file `login` and `logout` write.
fn config_path() -> Result<std::path::PathBuf, Failure> {
    Config::default_path()
        .ok_or_else(|| Failure::usage("no configuration file: set SQUIRRO_CONFIG or HOME"))
}

fn profile_name(m: &ArgMatches) -> Result<String, Failure> {
    if let Some(p) = m.get_one::<String>("profile") {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var("SQUIRRO_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(p);
    }
    let path = config_path()?;
    Ok(match path.exists() {
        true => Config::load(&path)?.default_profile().to_string(),
        false => squirro_user_api::DEFAULT_PROFILE.to_string(),
    })
}

fn login(m: &ArgMatches, run: &mut Run) -> Result<(), Failure> {
    let username = crate::args::text(m, "username")?;
    let path = config_path()?;
    let name = profile_name(m)?;
    let client = creds::login_builder(m, &path, &name)?.build()?;
    if run.dry_run() {
        let request = client
            .authenticate(Grant::password(username, ""))
            .request()?;
        return run.show(&client, &request);
    }
    let password = read_password(m.get_flag("password_stdin"))?;
    let session = client
        .authenticate(Grant::password(username, password))
        .send()?;
    let Some(token) = client.tokens().refresh_token else {
        return Err(Failure::new(
            failure::AUTH,
            "the server gave no refresh token",
        ));
    };
    let path = config_path()?;
    let name = profile_name(m)?;
    let mut profile = Profile::default();
    profile.token = Some(token);
    profile.cluster = m.get_one::<String>("cluster").cloned().or_else(|| {
        std::env::var("SQUIRRO_CLUSTER")
            .ok()
            .filter(|c| !c.is_empty())
    });
    if profile.cluster.is_none() {
        profile.user_api_url = m.get_one::<String>("user_api_url").cloned();
    }
    profile.tenant = session.tenant.clone();
    squirro_user_api::store_profile(&path, &name, &profile)?;
    eprintln!(
        "Logged in as {} in tenant {}; the token is in profile `{name}` of {}",
        session.user_id.as_deref().unwrap_or("?"),
        session.tenant.as_deref().unwrap_or("?"),
        path.display()
    );
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<String, Failure> {
    let read_err =
        |e: std::io::Error| Failure::new(failure::OTHER, format!("cannot read the password: {e}"));
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(read_err)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").map_err(read_err)?
    } else {
        return Err(Failure::usage(
            "stdin is not a terminal: pass the password with --password-stdin",
        ));
    };
    if password.is_empty() {
        return Err(Failure::usage("empty password"));
    }
    Ok(password)
}

fn logout(m: &ArgMatches) -> Result<(), Failure> {
    let path = config_path()?;
    let name = profile_name(m)?;
    if squirro_user_api::remove_token(&path, &name)? {
        eprintln!(
            "Removed the token of profile `{name}` from {}",
            path.display()
        );
    } else {
        eprintln!("Profile `{name}` of {} holds no token", path.display());
    }
    Ok(())
}

/// A clear message, before the SDK would stop at the missing tenant a token brings.
fn require_token(client: &squirro_user_api::Client) -> Result<String, Failure> {
    client.tokens().refresh_token.ok_or_else(|| {
        Failure::new(
            failure::AUTH,
            "no token: pass --token, set SQUIRRO_TOKEN, or run `squirro-user login`",
        )
    })
}

fn whoami(m: &ArgMatches, run: &mut Run) -> Result<(), Failure> {
    let (builder, source) = creds::builder(m)?;
    let client = builder.build()?;
    let token = require_token(&client)?;
    let session = client.authenticate(Grant::refresh_token(token)).send()?;
    let mut me = json!({
        "user_id": session.user_id,
        "tenant": session.tenant,
        "role": session.role,
        "session_id": session.session_id,
        "user_api_url": client.user_api_url(),
        "profile": source.profile,
        "config": source.path.as_ref().map(|p| p.display().to_string()),
    });
    if let Some(id) = &session.user_id {
        if let Ok(user) = client.get_user_data(id).send() {
            me["email"] = user.email.map_or(Value::Null, Value::String);
            me["full_name"] = user.full_name.map_or(Value::Null, Value::String);
        }
    }
    run.write(Data::One(me))
}
