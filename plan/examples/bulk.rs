//! The benchmark of issue 13 (run by `scripts/bench-plan.sh`): N users from a CSV into ten
//! groups, the groups into a project, against a fake server in another process.
//!
//! ```text
//! bulk gen N DIR                        DIR/users.csv (email, full_name, groups) and DIR/state.toml
//! bulk run DIR URL REFRESH_TOKEN C      plan, apply with C workers, plan again: one JSON line
//! ```

use squirro_user_api::Client;
use squirro_user_plan::{ApplyOptions, PlanOptions, apply, load_state, plan, tune_client};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

const GROUPS: usize = 10;
const PROJECT: &str = "2sic33jZTi-ifflvQAVcfw";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", n, dir] => generate(n, Path::new(dir)),
        ["run", dir, url, token, c] => run(Path::new(dir), url, token, c),
        _ => Err("usage: bulk gen N DIR | bulk run DIR URL REFRESH_TOKEN CONCURRENCY".into()),
    };
    if let Err(e) = result {
        eprintln!("bulk: {e}");
        std::process::exit(1);
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn generate(n: &str, dir: &Path) -> Result<()> {
    let n: usize = n.parse()?;
    std::fs::create_dir_all(dir)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("users.csv"))?);
    writeln!(csv, "email,full_name,groups")?;
    for i in 0..n {
        writeln!(csv, "user{i:06}@example.com,User {i},Group {}", i % GROUPS)?;
    }
    csv.flush()?;
    let mut toml = String::from("users_csv = [\"users.csv\"]\n\n[[projects]]\nid = \"");
    toml.push_str(PROJECT);
    toml.push_str("\"\nmembers = [\n");
    for g in 0..GROUPS {
        toml.push_str(&format!(
            "  {{ group = \"Group {g}\", role = \"member\" }},\n"
        ));
    }
    toml.push_str("]\n");
    std::fs::write(dir.join("state.toml"), toml)?;
    Ok(())
}

fn run(dir: &Path, url: &str, token: &str, concurrency: &str) -> Result<()> {
    let concurrency: usize = concurrency.parse()?;
    let client: Client = tune_client(Client::builder(), concurrency)
        .cluster(url)
        .tenant("acme")
        .refresh_token(token)
        .build()?;
    let t0 = Instant::now();
    let state = load_state(dir.join("state.toml"))?;
    let users = state.users.len();
    let p = plan(&client, &state, &PlanOptions::default())?;
    let planned = t0.elapsed();
    let rss_planned = rss_mib("VmRSS:");
    // As `squirro-user apply FILE` does: the state is not needed once planned.
    drop(state);
    let journal = dir.join(format!("journal-{concurrency}"));
    let _ = std::fs::remove_file(&journal);
    let t1 = Instant::now();
    let report = apply(
        &client,
        &p,
        &ApplyOptions::default()
            .concurrency(concurrency)
            .journal(&journal)
            .results(dir.join(format!("results-{concurrency}.jsonl")))
            .progress(false),
    )?;
    let applied = t1.elapsed();
    let rss_applied = rss_mib("VmRSS:");
    let operations = p.operations.len();
    drop(p);
    // The re-plan, as a second command would do it.
    let t2 = Instant::now();
    let state = load_state(dir.join("state.toml"))?;
    let again = plan(&client, &state, &PlanOptions::default())?;
    let replanned = t2.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "users": users,
            "concurrency": concurrency,
            "operations": operations,
            "plan_s": round(planned.as_secs_f64()),
            "apply_s": round(applied.as_secs_f64()),
            "replan_s": round(replanned.as_secs_f64()),
            "operations_per_s": (operations as f64 / applied.as_secs_f64()).round(),
            "complete": report.is_complete(),
            "failed": report.failed,
            "converged": again.is_empty(),
            "rss_after_plan_mib": rss_planned,
            "rss_after_apply_mib": rss_applied,
            "peak_rss_mib": rss_mib("VmHWM:"),
        })
    );
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The process's resident memory (`VmRSS:`) or its peak (`VmHWM:`), in MiB (Linux).
fn rss_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(round(kib / 1024.0))
}
