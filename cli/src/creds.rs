//! The client of one invocation: `--cluster`/`--tenant`/`--token` over the `SQUIRRO_*`
//! variables over the profile (`--profile`, the SDK's configuration file).

use crate::failure::Failure;
use clap::ArgMatches;
use squirro_user_api::{Client, ClientBuilder, Config, Profile, ProfileSource, RetryPolicy};
use std::path::Path;
use std::time::Duration;

/// The builder the flags, the environment and the profile describe, and where the profile was.
pub fn builder(m: &ArgMatches) -> Result<(ClientBuilder, ProfileSource), Failure> {
    let profile = m.get_one::<String>("profile").map(String::as_str);
    let (b, source) = ClientBuilder::from_profile_with_source(profile)?;
    with_flags(b, m).map(|b| (b, source))
}

/// The builder of `login`, whose profile may not exist yet: the profile when the
/// configuration file has it, else the `SQUIRRO_*` variables alone; the flags over both.
pub fn login_builder(m: &ArgMatches, path: &Path, profile: &str) -> Result<ClientBuilder, Failure> {
    let known = path.exists() && Config::load(path)?.profile(profile).is_some();
    let b = if known {
        ClientBuilder::from_config_file(path, Some(profile))?
    } else {
        Profile::from_env()?.apply(Client::builder())
    };
    with_flags(b, m)
}

fn with_flags(mut b: ClientBuilder, m: &ArgMatches) -> Result<ClientBuilder, Failure> {
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
    if let Some(n) = m.get_one::<u32>("retries") {
        b = b.retry(
            RetryPolicy::default()
                .max_attempts(n.saturating_add(1))
                .connect_retries(*n)
                .read_retries(*n),
        );
    }
    Ok(b)
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
