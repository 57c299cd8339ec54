//! The command line: global options, the generated endpoint subcommands, the hand-written
//! ones, and the exit statuses in `--help`.

use crate::endpoints;
use crate::output::Format;
use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

/// The exit statuses, as `--help` and the README show them.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  a local failure (a file that cannot be read or written)
  2  usage: a bad option or value (also one the SDK refuses before sending), a missing --yes
  3  authentication or authorization: no token, a refused token or password, HTTP 401/403
  4  not found (HTTP 404)
  5  conflict (HTTP 409), e.g. a duplicate email or group name
  6  client error (HTTP 400): the server refused the input
  7  server or transport: HTTP 5xx or another unexpected status, a reply that is not the
     API's, no connection, retries exhausted
  8  timeout";

const CREDENTIALS: &str = "\
Credentials, highest first: --cluster/--tenant/--token; SQUIRRO_CLUSTER, SQUIRRO_TENANT,
SQUIRRO_TOKEN, SQUIRRO_CLIENT_ID, SQUIRRO_CLIENT_SECRET; the profile (--profile NAME, else
SQUIRRO_PROFILE, else the file's default_profile, else `default`) of the configuration file
($SQUIRRO_CONFIG, else ~/.config/squirro/config.toml), else ~/.squirrorc's [squirro] section.
`squirro-user login` stores a refresh token in the profile (mode 0600).

Output: a table on a terminal, JSON when piped; --output json|jsonl|table|text.";

/// The whole command tree.
pub fn command() -> Command {
    let mut cmd = Command::new("squirro-user")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Every method of the Squirro user API from the shell")
        .long_about(
            "Every method of the Squirro user API from the shell: users, grants, sessions, groups, \
             project members and workspaces. One subcommand per method of the SDK \
             (squirro-user-api), named after the Python client's method in kebab case.",
        )
        .after_help(format!("{CREDENTIALS}\n\n{EXIT_CODES}"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .args(global_args());
    for sub in endpoints::commands() {
        let destructive = sub.get_name().starts_with("delete-");
        cmd = cmd.subcommand(if destructive { confirmable(sub) } else { sub });
    }
    cmd.subcommands(hand_written())
}

fn global_args() -> Vec<Arg> {
    let text = |id: &'static str, long: &'static str, value: &'static str, help: &'static str| {
        Arg::new(id)
            .long(long)
            .value_name(value)
            .global(true)
            .help(help)
            .help_heading("Connection")
    };
    vec![
        text("profile", "profile", "NAME", "The profile of the configuration file to use"),
        text("cluster", "cluster", "URL", "The cluster's URL (over SQUIRRO_CLUSTER and the profile)"),
        text("user_api_url", "user-api-url", "URL", "The user API's URL, when not under a cluster"),
        text("tenant", "tenant", "TENANT", "The tenant (over SQUIRRO_TENANT and the profile)"),
        text(
            "token",
            "token",
            "TOKEN",
            "A refresh token (over SQUIRRO_TOKEN and the profile; prefer those: a flag shows in `ps`)",
        ),
        text("timeout", "timeout", "SECONDS", "The timeout of one attempt [default: 55]")
            .value_parser(value_parser!(f64)),
        text(
            "retries",
            "retries",
            "N",
            "Retry a failed attempt at most N times (connection failures; 429, 502-504; \
             reads of safe requests) [default: 9, with backoff]",
        )
        .value_parser(value_parser!(u32)),
        Arg::new("output")
            .long("output")
            .short('o')
            .value_name("FORMAT")
            .global(true)
            .value_parser(clap::builder::PossibleValuesParser::new(Format::NAMES))
            .help("json, jsonl (a list's items one per line), table, or text (tab-separated) [default: table on a terminal, else json]")
            .help_heading("Output"),
        Arg::new("fields")
            .long("fields")
            .value_name("NAME,...")
            .global(true)
            .value_delimiter(',')
            .action(ArgAction::Append)
            .help("Only these fields of each object, in this order; a.b is field b of a (of each element of a list a)")
            .help_heading("Output"),
        Arg::new("dry_run")
            .long("dry-run")
            .global(true)
            .action(ArgAction::SetTrue)
            .help("Print the request as HTTP (secrets redacted) and send nothing")
            .help_heading("Output"),
        Arg::new("curl")
            .long("curl")
            .global(true)
            .action(ArgAction::SetTrue)
            .conflicts_with("dry_run")
            .help("Print an equivalent curl command (token as $SQUIRRO_TOKEN) and send nothing")
            .help_heading("Output"),
        Arg::new("verbose")
            .long("verbose")
            .short('v')
            .global(true)
            .action(ArgAction::Count)
            .help("Log each HTTP exchange on stderr (-vv: more)")
            .help_heading("Output"),
    ]
}

/// A destructive command: `--yes` skips the question (and is required without a terminal).
fn confirmable(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("yes")
            .long("yes")
            .short('y')
            .action(ArgAction::SetTrue)
            .help("Do not ask for confirmation (required when stdin is not a terminal)"),
    )
}

fn hand_written() -> Vec<Command> {
    vec![
        Command::new("login")
            .about("Log in with a password and store the refresh token in the profile")
            .long_about(
                "Log in with a user name (email) and password (the password grant), and store \
                 the refresh token, with the cluster and tenant given, in the profile \
                 (--profile, else `default`) of the configuration file, readable by its owner \
                 only. The password is read from the terminal without echo, or from stdin with \
                 --password-stdin.",
            )
            .arg(Arg::new("username").value_name("EMAIL").required(true).help("The user name (email)"))
            .arg(
                Arg::new("password_stdin")
                    .long("password-stdin")
                    .action(ArgAction::SetTrue)
                    .help("Read the password from stdin (its first line)"),
            ),
        Command::new("logout")
            .about("Remove the stored refresh token from the profile")
            .long_about(
                "Remove the refresh token from the profile of the configuration file. The grant \
                 stays valid on the server: delete it with `delete-grant` to revoke it.",
            ),
        Command::new("whoami").about("Show who the credentials authenticate as, and where they came from"),
        Command::new("plan")
            .about("Show what it takes to bring the tenant to the state of a file")
            .long_about(
                "Read the tenant and show the operations that bring it to the desired state of \
                 FILE (TOML or JSON: users, groups and their members, project memberships, \
                 workspace roles; or a CSV of users): `+ create`, `~ change`, `- remove`, as \
                 text on a terminal and JSON when piped. Nothing is changed. Removals are listed \
                 only with --allow-deletion, and only inside the file's scope. --out saves the \
                 plan, for `apply` to carry out exactly as shown (refused if the tenant changed \
                 since).",
            )
            .arg(Arg::new("file").value_name("FILE").required(true).help("The desired state"))
            .arg(Arg::new("out").long("out").value_name("PLAN").help("Save the plan to this file"))
            .arg(
                Arg::new("allow_deletion")
                    .long("allow-deletion")
                    .action(ArgAction::SetTrue)
                    .help("Plan removals inside the file's scope (members of the groups and projects it names, users matching its remove_users_matching)"),
            ),
        confirmable(
            Command::new("apply")
                .about("Bring the tenant to the state of a file (or carry out a saved plan)")
                .long_about(
                    "Plan (or load a plan saved with `plan --out`) and carry it out: users before \
                     group members before project members, --concurrency workers (default 4), \
                     at most --rate requests per second, retries as the SDK does them. Every \
                     operation is recorded in a journal (--journal, default FILE.journal): \
                     after a crash or an interruption, running the same command again finishes \
                     the job and creates nothing twice. --results writes one JSON line per \
                     operation. Asks for confirmation on a terminal unless --yes.",
                )
                .arg(Arg::new("file").value_name("FILE_OR_PLAN").required(true).help("The desired state, or a plan saved with `plan --out`"))
                .arg(
                    Arg::new("concurrency")
                        .long("concurrency")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .help("Operations in flight at once [default: 4]"),
                )
                .arg(
                    Arg::new("rate")
                        .long("rate")
                        .value_name("PER_SECOND")
                        .value_parser(value_parser!(f64))
                        .help("Requests per second at most, over all workers [default: no limit]"),
                )
                .arg(Arg::new("results").long("results").value_name("FILE").help("Write one JSON line per operation (what, outcome, id or error)"))
                .arg(Arg::new("journal").long("journal").value_name("FILE").help("The journal that makes a re-run resume [default: FILE.journal]"))
                .arg(
                    Arg::new("max_errors")
                        .long("max-errors")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .help("Stop starting operations after N failures"),
                )
                .arg(
                    Arg::new("allow_deletion")
                        .long("allow-deletion")
                        .action(ArgAction::SetTrue)
                        .help("Carry out removals inside the file's scope"),
                ),
        ),
        Command::new("resolve-workspace")
            .about("Find a workspace by domain or title and print its domain")
            .arg(
                Arg::new("identifier")
                    .value_name("DOMAIN_OR_TITLE")
                    .required(true)
                    .allow_hyphen_values(true)
                    .help("A workspace's domain, or its title (case-insensitive)"),
            ),
        confirmable(
            Command::new("delete-workspace-user")
                .about("Remove a user from each of its groups in a workspace, then from the workspace")
                .arg(Arg::new("workspace_domain").value_name("WORKSPACE_DOMAIN").required(true).allow_hyphen_values(true).help("Domain of the workspace"))
                .arg(Arg::new("user_id").value_name("USER_ID").required(true).allow_hyphen_values(true).help("Identifier of the user")),
        ),
        Command::new("completion")
            .about("Print a shell completion script")
            .long_about(
                "Print a shell completion script, e.g.\n  \
                 squirro-user completion bash > /etc/bash_completion.d/squirro-user\n  \
                 squirro-user completion zsh > \"${fpath[1]}/_squirro-user\"",
            )
            .arg(
                Arg::new("shell")
                    .value_name("SHELL")
                    .required(true)
                    .value_parser(["bash", "zsh", "fish", "powershell", "elvish"]),
            ),
        Command::new("man").about("Print the man page (roff)").long_about(
            "Print the man page in roff, e.g. squirro-user man > /usr/local/share/man/man1/squirro-user.1",
        ),
        Command::new("fake-server")
            .about("Serve a fake Squirro user API until Ctrl-C, for offline scripts")
            .long_about(
                "Serve the fake Squirro user API (the squirro-user-api-fake crate) until Ctrl-C, \
                 and print its URL and seeded credentials as shell exports, so scripts (and the \
                 Python client) can be tried offline.",
            )
            .arg(
                Arg::new("addr")
                    .long("addr")
                    .value_name("HOST:PORT")
                    .value_parser(value_parser!(std::net::SocketAddr))
                    .help("The address to listen on [default: 127.0.0.1 and a free port]"),
            )
            .arg(
                Arg::new("access_token_ttl")
                    .long("access-token-ttl")
                    .value_name("SECONDS")
                    .value_parser(value_parser!(u64))
                    .help("How long access tokens live [default: 3600]"),
            ),
    ]
}

/// A logger on stderr: warnings by default (a configuration file others may read), HTTP
/// exchanges with -v.
pub fn init_logging(m: &ArgMatches) {
    let level = match m.get_count("verbose") {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        // ureq's debug and trace lines show full URLs, with a query that may hold the client
        // secret (get-user-grants): only its warnings and errors pass.
        m.level() <= log::max_level()
            && !(m.target().starts_with("ureq") && m.level() > log::Level::Info)
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!(
                "squirro-user: {}: {}",
                r.level().as_str().to_lowercase(),
                r.args()
            );
        }
    }
    fn flush(&self) {}
}
