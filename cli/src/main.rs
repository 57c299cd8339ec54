//! `squirro-user`: every method of the Squirro user API from the shell.
//!
//! The per-endpoint subcommands are generated at build time from the SDK's `endpoints.toml`
//! (`build.rs`, `codegen.rs`) into `endpoints`; the few commands that are not one endpoint live
//! in `commands`. Where things are:
//! - `cli`: the command line (global options, the hand-written commands, the exit codes' help);
//! - `args`: reading typed values out of the matches (the generated code's runtime);
//! - `creds`: the client from flags, `SQUIRRO_*` and the profile;
//! - `run`: dry run, `--curl`, and printing replies (`output` formats them);
//! - `failure`: every error as one line and an exit code.

mod args;
mod cli;
mod commands;
mod creds;
mod failure;
mod output;
mod run;
mod tenant_state;

mod endpoints {
    //! The generated subcommands (see `codegen.rs`).
    use crate::args;
    use crate::failure::Failure;
    use crate::run::{Run, Shape};
    include!(concat!(env!("OUT_DIR"), "/commands.rs"));
}

use std::process::ExitCode;

fn main() -> ExitCode {
    let matches = match cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            // --help and --version are not failures; clap prints them.
            let code = if e.use_stderr() { failure::USAGE } else { 0 };
            if let Err(write) = e.print() {
                if write.kind() != std::io::ErrorKind::BrokenPipe {
                    return ExitCode::from(failure::USAGE);
                }
            }
            return ExitCode::from(code);
        }
    };
    cli::init_logging(&matches);
    match commands::dispatch(&matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.is_broken_pipe() => ExitCode::SUCCESS,
        Err(f) => {
            f.report();
            ExitCode::from(f.code)
        }
    }
}
