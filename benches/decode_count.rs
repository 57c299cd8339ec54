//! Instructions per decode, for callgrind (repeatable where timings are not): decodes the
//! fake's `get_user_data` reply as a `User`, or a `get_users` reply read from a file, `N`
//! times through `Reply::decode` (as a method's `.send()` decodes), each result dropped.
//!
//! ```text
//! cargo bench --bench decode_count --no-run     # prints the executable's path
//! B=target/release/deps/decode_count-...
//! valgrind --tool=callgrind $B user 0           # the start-up alone
//! valgrind --tool=callgrind $B user 1000        # (this - that) / 1000 = decode + drop
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | grep Reply::decode  # decode alone
//! valgrind --tool=callgrind $B list 2 users-10000.json   # scripts/bench/fixtures.py writes it
//! ```

use squirro_user_api::Reply;
use squirro_user_api::models::{User, UserList};
use std::hint::black_box;
use std::process::ExitCode;

/// The fake server's reply to `get_user_data` for its admin (as `benches/common` has it).
const USER_JSON: &str = r#"{"email":"admin@acme.example","full_name":"Acme Admin","id":"z63dXPIz70iDYrSsgqaeWC","role":"admin","role_permissions":["admin"],"tenant":"acme","groups":[]}"#;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let times = |i: usize| args.get(i).and_then(|n| n.parse::<usize>().ok());
    match (args.first().map(String::as_str), times(1)) {
        (Some("user"), Some(n)) => {
            let reply = Reply::from_parts("get_user_data", 200, USER_JSON.as_bytes().to_vec());
            for _ in 0..n {
                match reply.decode::<User>() {
                    Ok(user) => drop(black_box(user)),
                    Err(e) => return fail(&e),
                }
            }
        }
        (Some("list"), Some(n)) => {
            let Some(body) = args.get(2).and_then(|path| std::fs::read(path).ok()) else {
                eprintln!("decode_count list N FILE: cannot read FILE");
                return ExitCode::FAILURE;
            };
            let reply = Reply::from_parts("get_users", 200, body);
            for _ in 0..n {
                match reply.decode::<UserList>() {
                    Ok(list) => drop(black_box(list)),
                    Err(e) => return fail(&e),
                }
            }
        }
        // `cargo bench` runs every bench with `--bench`: nothing to count then.
        (Some("--bench"), _) => {}
        _ => {
            eprintln!("usage: decode_count user N | decode_count list N FILE");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn fail(e: &squirro_user_api::Error) -> ExitCode {
    eprintln!("decode failed: {e}");
    ExitCode::FAILURE
}
