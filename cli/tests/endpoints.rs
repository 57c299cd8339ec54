//! Every generated subcommand: run once against the fake, its --help, its dry run.

mod common;

use common::{EXAMPLES, Env, bare, endpoints, fill, tempdir};
use std::collections::BTreeSet;

fn kebab(s: &str) -> String {
    s.replace('_', "-")
}

#[test]
fn every_endpoint_has_an_example() {
    let covered: BTreeSet<&str> = EXAMPLES.iter().map(|e| e.endpoint).collect();
    let missing: Vec<String> = endpoints()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|n| !covered.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "endpoints without an example in tests/common: {missing:?}"
    );
}

#[test]
fn every_example_runs_against_the_fake() {
    let env = Env::new("examples");
    let c = env.server.credentials();
    let mut vars = vec![
        ("admin".to_string(), c.admin_user_id.clone()),
        ("admin_password".to_string(), c.admin_password.clone()),
    ];
    for ex in EXAMPLES {
        let mut args = vec![kebab(ex.endpoint)];
        args.extend(ex.args.iter().map(|a| fill(a, &vars)));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.run(&args);
        assert_eq!(out.code, ex.exit, "{args:?}: {out:?}");
        let wanted = fill(ex.contains, &vars);
        assert!(
            out.stdout.contains(&wanted),
            "{args:?} should print {wanted:?}: {out:?}"
        );
        if ex.exit == 0 {
            assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
        } else {
            assert!(
                out.stderr.starts_with("squirro-user: error: "),
                "{args:?}: {out:?}"
            );
        }
        if !out.stdout.is_empty() {
            out.json();
        }
        if let Some((name, field)) = ex.capture {
            let v = out.json()[field]
                .as_str()
                .unwrap_or_else(|| panic!("{args:?}: no {field}: {out:?}"))
                .to_string();
            vars.push((name.to_string(), v));
        }
    }
}

#[test]
fn every_subcommand_help_names_each_parameter() {
    let home = tempdir("help");
    for (name, params) in endpoints() {
        let out = common::Out::of(
            bare(&home)
                .args([&kebab(&name), "--help"])
                .output()
                .unwrap(),
        );
        assert_eq!(out.code, 0, "{name}: {out:?}");
        for (param, positional) in params {
            let shown = if positional {
                format!("<{}>", param.to_uppercase())
            } else {
                format!("--{}", kebab(&param))
            };
            assert!(
                out.stdout.contains(&shown),
                "{name} --help lacks {shown}:\n{}",
                out.stdout
            );
        }
    }
}

/// Fixed values for the placeholders of the examples, so dry runs are reproducible.
const FIXED: &[(&str, &str)] = &[
    ("user", "H5Qv-WhgSBGW0WL8xolSCQ"),
    ("admin", "wWzKOdx-TiiPV2k7FEu6_w"),
    ("admin_password", "old-SEKRIT"),
    ("grant", "yL0dnd17RNe9Jpn7uAa8Bw"),
    ("grant2", "zM1eoe28SOf0Kqo8vBb9Cx"),
    ("group", "1jo-WmmyRvC8UYtPMIQaoQ"),
    ("ws", "workspace-5"),
];

#[test]
fn every_subcommand_dry_run_is_snapshotted_without_secrets() {
    let home = tempdir("dry");
    let vars: Vec<(String, String)> = FIXED
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut seen = BTreeSet::new();
    for ex in EXAMPLES {
        // The first example of each endpoint.
        if !seen.insert(ex.endpoint) {
            continue;
        }
        let mut args = vec![
            kebab(ex.endpoint),
            "--cluster".into(),
            "https://squirro.example.com".into(),
            "--tenant".into(),
            "acme".into(),
            "--dry-run".into(),
        ];
        args.extend(ex.args.iter().map(|a| fill(a, &vars)));
        let mut cmd = bare(&home);
        cmd.env("SQUIRRO_TOKEN", "refresh-SEKRIT")
            .env("SQUIRRO_CLIENT_ID", "tool")
            .env("SQUIRRO_CLIENT_SECRET", "client-SEKRIT");
        let out = common::Out::of(cmd.args(&args).output().unwrap());
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(
            !out.stdout.contains("SEKRIT"),
            "{args:?} shows a secret:\n{}",
            out.stdout
        );
        insta::assert_snapshot!(
            format!("dry_run__{}", ex.endpoint),
            out.stdout,
            &args[5..].join(" ")
        );
    }
}

#[test]
fn curl_uses_variables_for_every_secret() {
    let home = tempdir("curl");
    let mut cmd = bare(&home);
    cmd.env("SQUIRRO_TOKEN", "refresh-SEKRIT")
        .env("SQUIRRO_CLIENT_SECRET", "client-SEKRIT")
        .args([
            "new-grant",
            "--cluster",
            "https://squirro.example.com",
            "--tenant",
            "acme",
            "--curl",
            "H5Qv-WhgSBGW0WL8xolSCQ",
            "service",
        ]);
    let out = common::Out::of(cmd.output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("SEKRIT"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(r#"'Authorization: Bearer '"$SQUIRRO_TOKEN""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r#"--data-urlencode 'client_secret='"$SQUIRRO_CLIENT_SECRET""#),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "'https://squirro.example.com/api/user/v0/acme/users/H5Qv-WhgSBGW0WL8xolSCQ/grants'"
        ),
        "{}",
        out.stdout
    );
}
