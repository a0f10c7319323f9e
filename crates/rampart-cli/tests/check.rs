//! Black-box tests of `rampart check`: the findings it prints for weak configurations (from the
//! environment and from a TOML file) and the exit codes a deploy pipeline relies on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Run, rampart_env};

/// A configuration with nothing to report.
const HARDENED: &[(&str, &str)] = &[
    ("SECRET_KEY", "q7Vw2mZ9xL4rT8kP1sD6fH3jN5bC0gYeXw"),
    ("SECURITY_PASSWORD_SALT", "k3J9sL2mQ8vX5zR1aa"),
    ("SESSION_COOKIE_SECURE", "true"),
    ("SECURITY_FORCE_HTTPS", "true"),
    ("PROFILE", "strict"),
    ("SECURITY_PASSWORD_CHECK_BREACHED", "best-effort"),
    ("DATABASE_URL", "postgres://app@127.0.0.1:5432/app"),
    ("SMTP_URL", "smtp://127.0.0.1:2525"),
];

/// HARDENED with `changes` applied (a value of "" removes the variable).
fn check_with(changes: &[(&str, &str)], args: &[&str]) -> Run {
    let mut env: Vec<(&str, &str)> = HARDENED
        .iter()
        .copied()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    env.extend(changes.iter().copied().filter(|(_, v)| !v.is_empty()));
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    rampart_env(&all, &env)
}

fn finding_lines(run: &Run, severity: &str) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with(severity))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_hardened_configuration_passes() {
    let run = check_with(&[], &[]);
    run.ok().out_contains("rampart check: 0 unsafe, 0 warnings");
    check_with(&[], &["--strict"]).ok();
}

#[test]
fn the_defaults_are_unsafe() {
    let run = rampart_env(&["check"], &[]);
    run.code(6)
        .err_contains("not safe for production")
        .out_contains("unsafe   SECRET_KEY: not set")
        .out_contains("unsafe   SECURITY_PASSWORD_SALT: not set")
        .out_contains("unsafe   SESSION_COOKIE_SECURE")
        .out_contains("unsafe   SECURITY_FORCE_HTTPS")
        .out_contains("warning  SECURITY_RETURN_GENERIC_RESPONSES")
        .out_contains("warning  DATABASE_URL: SQLite");
    assert_eq!(finding_lines(&run, "unsafe").len(), 4, "{run:#?}");
}

/// One weakening at a time: each is named, and each alone fails the check.
#[test]
fn every_weakening_is_reported_alone() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("SECRET_KEY", "")], "SECRET_KEY: not set"),
        (&[("SECRET_KEY", "short-key-1234")], "SECRET_KEY: too short"),
        (
            &[("SECRET_KEY", "super-secret")],
            "SECRET_KEY: a published example",
        ),
        (
            &[("SECRET_KEY", "pf9Wkove4IKEAXvy-cQkeDPhv9Cb3Ag-wyJILbq_dFw")],
            "SECRET_KEY: a published example",
        ),
        (
            &[("SECURITY_PASSWORD_SALT", "")],
            "SECURITY_PASSWORD_SALT: not set",
        ),
        (
            &[("SECURITY_PASSWORD_SALT", "salty")],
            "SECURITY_PASSWORD_SALT: shorter",
        ),
        (
            &[("SESSION_COOKIE_SECURE", "false")],
            "SESSION_COOKIE_SECURE",
        ),
        (&[("SECURITY_FORCE_HTTPS", "false")], "SECURITY_FORCE_HTTPS"),
        (
            &[("SECURITY_HSTS_MAX_AGE", "0")],
            "SECURITY_HSTS_MAX_AGE: 0",
        ),
        (&[("SECURITY_HEADERS", "false")], "SECURITY_HEADERS"),
        (&[("WTF_CSRF_ENABLED", "false")], "WTF_CSRF_ENABLED"),
        (
            &[("SECURITY_PASSWORD_LENGTH_MIN", "6")],
            "SECURITY_PASSWORD_LENGTH_MIN",
        ),
        (
            &[("SECURITY_PASSWORD_ALLOW_PLAINTEXT", "true")],
            "SECURITY_PASSWORD_ALLOW_PLAINTEXT",
        ),
        (
            &[("SECURITY_THROTTLE_ENABLED", "false")],
            "SECURITY_THROTTLE_ENABLED",
        ),
        (&[("DEMO_TEST_HOOKS", "1")], "DEMO_TEST_HOOKS"),
    ];
    for (changes, expected) in cases {
        let run = check_with(changes, &[]);
        run.code(6);
        let lines = finding_lines(&run, "unsafe");
        assert_eq!(lines.len(), 1, "{changes:?}: {run:#?}");
        assert!(lines[0].contains(expected), "{changes:?}: {run:#?}");
    }
}

/// Warnings alone pass, unless `--strict`.
#[test]
fn warnings_fail_only_with_strict() {
    let weak = [("PROFILE", ""), ("DATABASE_URL", ""), ("RUST_LOG", "debug")];
    let run = check_with(&weak, &[]);
    run.ok()
        .out_contains("warning  SECURITY_RETURN_GENERIC_RESPONSES")
        .out_contains("warning  DATABASE_URL: SQLite")
        .out_contains("warning  RUST_LOG")
        .out_contains("0 unsafe, 3 warnings");
    check_with(&weak, &["--strict"])
        .code(6)
        .err_contains("0 unsafe, 3 warnings");
}

/// The TOML file is read like `rampart serve` reads it; the environment wins over it, and an
/// unknown key shows up as a warning. A broken file is exit code 1, not a finding.
#[test]
fn toml_configuration_is_inspected() {
    let dir = rampart_tests::TempDir::new("rampart-check").unwrap();
    let file = dir.path().join("prod.toml");
    std::fs::write(
        &file,
        "WTF_CSRF_ENABLED = false\nSECURITY_PASSWORD_LENGTH_MIN = 4\nSECURITY_TYPO_KEY = 1\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let run = check_with(&[], &["--config", path]);
    run.code(6)
        .out_contains("unsafe   WTF_CSRF_ENABLED")
        .out_contains("unsafe   SECURITY_PASSWORD_LENGTH_MIN: 4 is below 8")
        .out_contains("SECURITY_TYPO_KEY");
    // The environment overrides the file.
    let run = check_with(
        &[
            ("WTF_CSRF_ENABLED", "true"),
            ("SECURITY_PASSWORD_LENGTH_MIN", "12"),
        ],
        &["--config", path],
    );
    run.ok().out_contains("0 unsafe, 1 warnings");
    std::fs::write(&file, "SECURITY_PASSWORD_LENGTH_MIN = \"many\"\n").unwrap();
    check_with(&[], &["--config", path])
        .code(1)
        .err_contains("SECURITY_PASSWORD_LENGTH_MIN");
}
