//! Typed values out of the matches: the runtime the generated subcommands call.

use crate::failure::Failure;
use clap::ArgMatches;
use std::io::Read;
use std::str::FromStr;

/// A required text value (clap has checked it is there).
pub fn text(m: &ArgMatches, id: &str) -> Result<String, Failure> {
    opt_text(m, id).ok_or_else(|| missing(id))
}

pub fn opt_text(m: &ArgMatches, id: &str) -> Option<String> {
    m.get_one::<String>(id).cloned()
}

/// A `SetTrue` flag.
pub fn flag(m: &ArgMatches, id: &str) -> bool {
    m.get_flag(id)
}

#[allow(dead_code)] // for a required bool, which the table has none of today
pub fn boolean(m: &ArgMatches, id: &str) -> Result<bool, Failure> {
    opt_bool(m, id).ok_or_else(|| missing(id))
}

pub fn opt_bool(m: &ArgMatches, id: &str) -> Option<bool> {
    m.get_one::<bool>(id).copied()
}

/// A value the SDK parses (roles, dates, API versions): its error names the parameter.
pub fn parsed<T>(m: &ArgMatches, id: &str) -> Result<T, Failure>
where
    T: FromStr<Err = squirro_user_api::Error>,
{
    opt_parsed(m, id)?.ok_or_else(|| missing(id))
}

pub fn opt_parsed<T>(m: &ArgMatches, id: &str) -> Result<Option<T>, Failure>
where
    T: FromStr<Err = squirro_user_api::Error>,
{
    match m.get_one::<String>(id) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e: squirro_user_api::Error| {
            Failure::usage(format!("--{}: {e}", id.replace('_', "-")))
        }),
    }
}

/// A comma-separated list (clap has split it).
pub fn list(m: &ArgMatches, id: &str) -> Result<Vec<String>, Failure> {
    opt_list(m, id).ok_or_else(|| missing(id))
}

pub fn opt_list(m: &ArgMatches, id: &str) -> Option<Vec<String>> {
    m.get_many::<String>(id)
        .map(|values| values.filter(|v| !v.is_empty()).cloned().collect())
}

/// A JSON value: inline, `@FILE`, or `-` for stdin.
pub fn json(m: &ArgMatches, id: &str) -> Result<serde_json::Value, Failure> {
    opt_json(m, id)?.ok_or_else(|| missing(id))
}

pub fn opt_json(m: &ArgMatches, id: &str) -> Result<Option<serde_json::Value>, Failure> {
    let Some(raw) = m.get_one::<String>(id) else {
        return Ok(None);
    };
    let name = id.replace('_', "-");
    let (text, from) = if raw == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::usage(format!("{name}: cannot read stdin: {e}")))?;
        (s, "stdin".to_string())
    } else if let Some(path) = raw.strip_prefix('@') {
        let s = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("{name}: cannot read {path}: {e}")))?;
        (s, path.to_string())
    } else {
        (raw.clone(), "the argument".to_string())
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Failure::usage(format!("{name}: {from} is not JSON: {e}")))
}

fn missing(id: &str) -> Failure {
    Failure::usage(format!("missing {}", id.to_uppercase()))
}
