//! The SDK's own first call, for `cli/bench/first-call.sh`: a fresh process that reads a
//! profile, refreshes, makes one call and prints it, the job `squirro-user get-users` does.
//!
//! ```text
//! SQUIRRO_CONFIG=/tmp/config.toml cargo run --release -p squirro-user --example first_call -- bench
//! ```

use squirro_user_api::ClientBuilder;
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile = std::env::args().nth(1);
    let client = ClientBuilder::from_profile(profile.as_deref())?.build()?;
    let users = client.get_users().send()?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &users.users)?;
    writeln!(out)?;
    Ok(())
}
