//! Serves the fake Squirro user API until interrupted, for curl or any client.
//!
//! ```text
//! cargo run -p squirro-user-api-fake -- --addr 127.0.0.1:8080
//! SQUIRRO_FAKE_ADDR=127.0.0.1:8080 cargo run -p squirro-user-api-fake
//! cargo run -p squirro-user-api-fake -- --access-token-ttl 5
//! ```
//!
//! Without an address it picks a free port on 127.0.0.1. `--access-token-ttl SECONDS` makes
//! access tokens expire sooner than the default hour, to watch clients refresh them. It prints
//! the URL and the seeded admin credentials (secrets included: that is what this binary is
//! for), then serves until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use squirro_user_api_fake::FakeServer;

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut builder = FakeServer::builder();
    if let Some(addr) = options.addr {
        builder = builder.addr(addr);
    }
    if let Some(ttl) = options.access_token_ttl {
        builder = builder.access_token_ttl(ttl);
    }
    builder = builder.journal_capacity(options.journal);
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

  --addr HOST:PORT            where to listen (else SQUIRRO_FAKE_ADDR; default 127.0.0.1 and a
                              free port)
  --access-token-ttl SECONDS  lifetime of access tokens (default 3600)
  --journal N                 keep the last N requests in memory (default 0: none; nothing over
                              HTTP reads them, the option is for measuring the server)
  -h, --help                  this text";

/// The command line (see `USAGE`).
struct Options {
    addr: Option<SocketAddr>,
    access_token_ttl: Option<Duration>,
    journal: usize,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut args = std::env::args().skip(1);
        let mut addr = None;
        let mut ttl = None;
        let mut journal = 0;
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or(format!("{name} needs a value"))
            };
            match name.as_str() {
                "--addr" => addr = Some(value()?),
                "--access-token-ttl" => ttl = Some(value()?),
                "--journal" => journal = count(&name, &value()?)?,
                "-h" | "--help" => return Err("serves the fake Squirro user API".to_owned()),
                _ => return Err(format!("unknown argument: {arg}")),
            }
        }
        let addr = addr.or_else(|| {
            std::env::var("SQUIRRO_FAKE_ADDR")
                .ok()
                .filter(|a| !a.is_empty())
        });
        let addr = addr
            .map(|text| {
                text.parse()
                    .map_err(|e| format!("invalid address {text:?}: {e}"))
            })
            .transpose()?;
        let access_token_ttl = ttl
            .map(|text| {
                text.parse::<f64>()
                    .ok()
                    .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                    .ok_or(format!("invalid number of seconds: {text:?}"))
            })
            .transpose()?;
        Ok(Options {
            addr,
            access_token_ttl,
            journal,
        })
    }
}

/// A whole number given to option `name`.
fn count(name: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{name}: expected a whole number, got {text:?}"))
}
