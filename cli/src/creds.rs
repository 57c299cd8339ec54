//! The client of one invocation: `--cluster`/`--tenant`/`--token` over the `SQUIRRO_*`
//! variables over the profile (`--profile`, the SDK's configuration file).

use crate::failure::Failure;
use clap::ArgMatches;
use squirro_user_api::{Client, ClientBuilder, ProfileSource};
use std::time::Duration;

/// The builder the flags, the environment and the profile describe, and where the profile was.
pub fn builder(m: &ArgMatches) -> Result<(ClientBuilder, ProfileSource), Failure> {
    let profile = m.get_one::<String>("profile").map(String::as_str);
    let (mut b, source) = ClientBuilder::from_profile_with_source(profile)?;
    if let Some(v) = m.get_one::<String>("cluster") {
        b = b.cluster(v);
    }
    if let Some(v) = m.get_one::<String>("user_api_url") {
        b = b.user_api_url(v);
    }
    if let Some(v) = m.get_one::<String>("tenant") {
        b = b.tenant(v);
    }
    if let Some(v) = m.get_one::<String>("token") {
        b = b.refresh_token(v);
    }
    if let Some(secs) = m.get_one::<f64>("timeout") {
        let d = Duration::try_from_secs_f64(*secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Failure::usage(format!(
                    "--timeout: {secs} is not a positive number of seconds"
                ))
            })?;
        b = b.timeout(d);
    }
    Ok((b, source))
}

/// The client; a refresh token that came from a TOML profile is written back there when the
/// server hands out a new one.
pub fn client(m: &ArgMatches) -> Result<Client, Failure> {
    let (mut b, source) = builder(m)?;
    let token_from_profile = m.get_one::<String>("token").is_none()
        && std::env::var_os("SQUIRRO_TOKEN").is_none_or(|v| v.is_empty());
    if let (true, false, Some(path)) = (token_from_profile, source.squirrorc, &source.path) {
        b = b.save_refreshed_token(path.clone(), &source.profile);
    }
    Ok(b.build()?)
}
