//! Serves the fake Squirro user API until interrupted, for curl or any client.
//!
//! ```text
//! cargo run -p squirro-user-api-fake -- --addr 127.0.0.1:8080
//! SQUIRRO_FAKE_ADDR=127.0.0.1:8080 cargo run -p squirro-user-api-fake
//! cargo run -p squirro-user-api-fake -- --access-token-ttl 5
//! ```
//!
//! Without an address it picks a free port on 127.0.0.1. `--access-token-ttl SECONDS` makes
//! access tokens expire sooner than the default hour, to watch clients refresh them; `--help`
//! lists the other options (timeouts, journal, ...). It prints the URL and the seeded admin
//! credentials (secrets included: that is what this binary is for), then serves until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use squirro_user_api_fake::{FakeServer, FakeServerBuilder};

fn main() -> ExitCode {
    let builder = match parse(std::env::args().skip(1)) {
        Ok(Command::Serve(builder)) => builder,
        Ok(Command::Help) => {
            println!("Serves the fake Squirro user API until interrupted.\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("squirro-user-api-fake: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match builder.start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start the fake server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let creds = server.credentials();
    println!("Fake Squirro user API listening");
    println!("  cluster URL:    {}", server.url());
    println!("  user API URL:   {}", server.user_api_url());
    println!("  tenant:         {}", creds.tenant);
    println!("  admin user id:  {}", creds.admin_user_id);
    println!("  admin email:    {}", creds.admin_email);
    println!("  admin password: {}", creds.admin_password);
    println!("  refresh token:  {}", creds.refresh_token);
    println!("  client id:      {}", creds.client_id);
    println!("  client secret:  {}", creds.client_secret);
    println!(
        "  workspaces:     {}",
        if server.has_workspaces() {
            "on (signup is closed)"
        } else {
            "off (signup creates a tenant)"
        }
    );
    for project in server.projects() {
        println!(
            "  project:        {} {:?} (tenant {})",
            project.id, project.name, project.tenant
        );
    }
    println!();
    println!(
        "Python: SquirroClient(None, None, cluster={:?})",
        server.url()
    );
    println!(
        "        .authenticate(refresh_token={:?})",
        creds.refresh_token
    );
    println!("Press Ctrl-C to stop.");
    // The server runs on its own thread; Ctrl-C ends the process, and with it the server.
    loop {
        std::thread::park();
    }
}

const USAGE: &str = "\
usage: squirro-user-api-fake [OPTIONS]

  --addr HOST:PORT               where to listen (else SQUIRRO_FAKE_ADDR; default 127.0.0.1
                                 and a free port)
  --access-token-ttl SECONDS     lifetime of access tokens (default 3600)
  --header-read-timeout SECONDS  time a client has to send a request head, from its first
                                 byte (default 30; \"none\": no limit)
  --idle-timeout SECONDS         time a silent client is waited for: between requests, or in
                                 a head or body (default 60; \"none\": no limit)
  --no-workspaces                a cluster without workspaces: signup creates a tenant per
                                 user, /v2/workspaces is 404 (default: with workspaces, where
                                 signup fails once the cluster has a user)
  --project ID=NAME              declare a project of tenant acme, besides the two seeded
                                 ones (repeatable; other project ids are 404)
  --latency-ms MS                hold every reply back MS milliseconds, as a network round
                                 trip would (default 0; other connections are not held up)
  --journal N                    keep the last N requests in memory (default 0: none; nothing
                                 over HTTP reads them, the option is for measuring the server)
  -h, --help                     this text

SECONDS may have a fraction (0.5).";

/// What the command line asks for.
enum Command {
    Serve(FakeServerBuilder),
    Help,
}

/// Reads the options (`--name value` or `--name=value`) into a builder.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    // The binary keeps no journal unless asked: nothing over HTTP can read it.
    let mut builder = FakeServer::builder().journal_capacity(0);
    let mut addr = None;
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        builder = match name.as_str() {
            "--addr" => {
                addr = Some(value()?);
                builder
            }
            "--access-token-ttl" => builder.access_token_ttl(seconds(&name, &value()?, false)?),
            "--header-read-timeout" => {
                builder.header_read_timeout(seconds(&name, &value()?, true)?)
            }
            "--idle-timeout" => builder.idle_timeout(seconds(&name, &value()?, true)?),
            "--journal" => builder.journal_capacity(count(&name, &value()?)?),
            "--no-workspaces" => builder.workspaces(false),
            "--latency-ms" => {
                let ms = count(&name, &value()?)?;
                builder.latency(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
            }
            "--project" => {
                let text = value()?;
                match text.split_once('=') {
                    Some((id, project)) if !id.is_empty() => builder.project(id, project),
                    _ => return Err(format!("{name}: expected ID=NAME, got {text:?}")),
                }
            }
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(format!("unknown argument: {arg}")),
        };
    }
    let addr = addr.or_else(|| {
        std::env::var("SQUIRRO_FAKE_ADDR")
            .ok()
            .filter(|a| !a.is_empty())
    });
    if let Some(text) = addr {
        let addr: SocketAddr = text
            .parse()
            .map_err(|e| format!("--addr: invalid address {text:?}: {e}"))?;
        builder = builder.addr(addr);
    }
    Ok(Command::Serve(builder))
}

/// A number of seconds given to option `name` (`none` for no limit, when `none_allowed`).
fn seconds(name: &str, text: &str, none_allowed: bool) -> Result<Duration, String> {
    if none_allowed && text == "none" {
        return Ok(Duration::MAX);
    }
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or(format!("{name}: invalid number of seconds: {text:?}"))
}

/// A whole number given to option `name`.
fn count(name: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{name}: expected a whole number, got {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::{Command, parse};

    fn parsed(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn every_option_parses_and_bad_values_name_their_option() {
        let all = [
            "--addr=127.0.0.1:0",
            "--access-token-ttl",
            "0.5",
            "--header-read-timeout",
            "none",
            "--idle-timeout=2",
            "--latency-ms",
            "5",
            "--no-workspaces",
            "--project",
            "p1=Project One",
            "--project=p2=Two",
            "--journal",
            "100",
        ];
        assert!(matches!(parsed(&all), Ok(Command::Serve(_))));
        assert!(matches!(parsed(&["--help"]), Ok(Command::Help)));
        for (args, named) in [
            (&["--latency-ms", "-1"][..], "--latency-ms"),
            (&["--idle-timeout", "soon"], "--idle-timeout"),
            (&["--access-token-ttl", "none"], "--access-token-ttl"),
            (&["--journal", "lots"], "--journal"),
            (&["--project", "=nameless"], "--project"),
            (&["--addr", "nowhere"], "--addr"),
            (&["--journal"], "--journal needs a value"),
            (&["--bogus"], "unknown argument: --bogus"),
        ] {
            match parsed(args) {
                Err(message) => assert!(message.contains(named), "{args:?}: {message}"),
                Ok(_) => panic!("{args:?} was accepted"),
            }
        }
    }
}
