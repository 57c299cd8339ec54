//! `plan` and `apply`: a tenant's users, groups and memberships brought to the state of a file,
//! with the engine of the `squirro-user-plan` crate.

use crate::creds;
use crate::failure::{self, Failure};
use crate::output::Format;
use crate::run::Run;
use clap::ArgMatches;
use squirro_user_plan::{ApplyOptions, Plan, PlanError, PlanOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// How many operations the human form of a plan lists on a terminal before "... and N more".
const SHOWN: usize = 200;

/// `squirro-user plan FILE [--out PLAN] [--allow-deletion]`.
pub fn plan(m: &ArgMatches, run: &Run) -> Result<(), Failure> {
    let file = path(m, "file")?;
    let state = squirro_user_plan::load_state(&file).map_err(failure_of)?;
    let client = client(m, 1)?;
    let options = PlanOptions::default().allow_deletion(m.get_flag("allow_deletion"));
    let plan = squirro_user_plan::plan(&client, &state, &options).map_err(failure_of)?;
    if let Some(out) = m.get_one::<String>("out") {
        plan.save(out).map_err(failure_of)?;
    }
    show(&plan, run)
}

/// `squirro-user apply FILE|PLAN [--concurrency N] [--rate R] [--results F] [--journal F]
/// [--max-errors N] [--allow-deletion] [--yes]`.
pub fn apply(m: &ArgMatches, run: &Run) -> Result<(), Failure> {
    let file = path(m, "file")?;
    let concurrency = m.get_one::<usize>("concurrency").copied().unwrap_or(4);
    if concurrency == 0 {
        return Err(Failure::usage("--concurrency: must be at least 1"));
    }
    let client = client(m, concurrency)?;
    // The journal makes a re-run after a crash finish the job: by default beside the file.
    let journal = m
        .get_one::<String>("journal")
        .map(PathBuf::from)
        .unwrap_or_else(|| with_suffix(&file, ".journal"));
    let plan = if Plan::is_plan_file(&file) {
        Plan::load(&file).map_err(failure_of)?
    } else {
        let state = squirro_user_plan::load_state(&file).map_err(failure_of)?;
        match squirro_user_plan::resume_plan(&journal, &state).map_err(failure_of)? {
            Some(unfinished) => {
                eprintln!(
                    "squirro-user: resuming the unfinished apply recorded in {}",
                    journal.display()
                );
                unfinished
            }
            None => {
                let options = PlanOptions::default().allow_deletion(m.get_flag("allow_deletion"));
                squirro_user_plan::plan(&client, &state, &options).map_err(failure_of)?
            }
        }
    };
    if plan.is_empty() {
        eprintln!(
            "squirro-user: no changes: the tenant is in the state of {}",
            file.display()
        );
        return Ok(());
    }
    confirm(m, &plan)?;
    let mut options = ApplyOptions::default()
        .concurrency(concurrency)
        .rate(m.get_one::<f64>("rate").copied())
        .max_errors(m.get_one::<usize>("max_errors").copied())
        .journal(journal)
        .progress(std::io::stderr().is_terminal());
    if let Some(results) = m.get_one::<String>("results") {
        options = options.results(results);
    }
    let report = squirro_user_plan::apply(&client, &plan, &options).map_err(failure_of)?;
    let text =
        serde_json::to_value(&report).map_err(|e| Failure::new(failure::OTHER, e.to_string()))?;
    match run.format {
        Format::Json | Format::Jsonl => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}").map_err(Failure::io)?;
        }
        Format::Table | Format::Text => {
            eprintln!(
                "squirro-user: {} of {} operations done ({} before, {} settled after a lost reply), {} failed, {} not run, in {:.1} s",
                report.done + report.done_before,
                report.total,
                report.done_before,
                report.settled,
                report.failed,
                report.not_run,
                report.elapsed.as_secs_f64()
            );
            for e in report.errors.iter().take(20) {
                eprintln!("squirro-user: failed: {}: {}", e.operation, e.error);
            }
        }
    }
    if report.is_complete() {
        Ok(())
    } else {
        Err(Failure::new(
            failure::OTHER,
            format!(
                "{} operations failed and {} were not run: fix the cause and run apply again (it resumes)",
                report.failed, report.not_run
            ),
        ))
    }
}

fn path(m: &ArgMatches, name: &str) -> Result<PathBuf, Failure> {
    m.get_one::<String>(name)
        .map(PathBuf::from)
        .ok_or_else(|| Failure::usage(format!("missing {name}")))
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The client of the engine: large replies and a pooled connection per worker.
fn client(m: &ArgMatches, concurrency: usize) -> Result<squirro_user_api::Client, Failure> {
    let (builder, _) = creds::builder(m)?;
    Ok(squirro_user_plan::tune_client(builder, concurrency).build()?)
}

/// The plan: its human form (at most [`SHOWN`] operations on a terminal) or JSON.
fn show(plan: &Plan, run: &Run) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match run.format {
        Format::Json | Format::Jsonl => writeln!(out, "{}", plan.to_json()),
        Format::Table => plan.write_human(&mut out, Some(SHOWN)),
        Format::Text => plan.write_human(&mut out, None),
    }
    .map_err(Failure::io)
}

/// Shows the plan's totals and asks on a terminal unless `--yes`; without a terminal `--yes`
/// is required, since an apply changes the tenant.
fn confirm(m: &ArgMatches, plan: &Plan) -> Result<(), Failure> {
    let s = plan.summary();
    let question = format!(
        "Apply {} to create, {} to change and {} to remove?",
        s.create, s.change, s.remove
    );
    if m.get_flag("yes") {
        return Ok(());
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let _ = plan.write_human(&mut std::io::stderr().lock(), Some(SHOWN));
    }
    crate::commands::confirm(m, &question)
}

/// The exit status of an engine error: a bad file is a usage error, a tenant that changed since
/// the plan a conflict, reading the tenant as the SDK's error.
fn failure_of(e: PlanError) -> Failure {
    let code = match &e {
        PlanError::Invalid(_) | PlanError::BadFile { .. } => failure::USAGE,
        PlanError::Stale { .. } => failure::CONFLICT,
        PlanError::Read { source, .. } => failure::code_of(source),
        _ => failure::OTHER,
    };
    // The problems of a file, one a line on stderr before the one-line summary.
    for p in e.problems() {
        eprintln!("squirro-user: {p}");
    }
    let message = match &e {
        PlanError::Invalid(p) => format!(
            "{} problem(s) in the desired state; nothing was changed",
            p.len()
        ),
        other => other.to_string(),
    };
    Failure::new(code, message)
}
