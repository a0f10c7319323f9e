//! `rampart check`: reads the configuration the way `rampart serve` does (environment and
//! `--config` TOML, the demo's feature set on top) and reports what is unsafe for production.
//!
//! Exit codes: 0 nothing unsafe (warnings may be printed), 6 at least one unsafe finding (or,
//! with `--strict`, any finding), 1 the configuration cannot be loaded at all.

use std::path::Path;

use rampart::config::audit::{Finding, Severity, audit};

use crate::env::DemoEnv;
use crate::{context, serve};

/// The exit code of a configuration with findings.
pub const FINDINGS_EXIT_CODE: u8 = 6;

/// `rampart check` found something; carries the counts for the one-line error.
#[derive(Debug, thiserror::Error)]
#[error("the configuration is not safe for production: {unsafe_} unsafe, {warnings} warnings")]
pub struct Findings {
    /// Unsafe findings.
    pub unsafe_: usize,
    /// Warnings.
    pub warnings: usize,
}

/// Runs the checks and prints one line per finding, then a summary.
///
/// # Errors
/// [`Findings`] when the configuration fails the check; a loading error otherwise.
pub fn run(file: Option<&Path>, strict: bool) -> anyhow::Result<()> {
    let env = DemoEnv::from_env()?;
    let loaded = context::load(file)?;
    let config = serve::demo_features(loaded.config, &env);
    let mut findings = audit(&config);
    findings.extend(
        loaded
            .warnings
            .iter()
            .map(|w| Finding::warning("configuration", w.clone())),
    );
    findings.extend(environment(&env));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in &findings {
        println!("{:<8} {}: {}", f.severity.label(), f.key, f.message);
    }
    let unsafe_ = findings
        .iter()
        .filter(|f| f.severity == Severity::Unsafe)
        .count();
    let warnings = findings.len() - unsafe_;
    println!("rampart check: {unsafe_} unsafe, {warnings} warnings");
    if unsafe_ > 0 || (strict && warnings > 0) {
        return Err(Findings { unsafe_, warnings }.into());
    }
    Ok(())
}

/// The demo server's own settings: database, mail, test hooks and log level.
fn environment(env: &DemoEnv) -> Vec<Finding> {
    let mut out = Vec::new();
    if cfg!(feature = "scan-control") {
        out.push(Finding::unsafe_(
            "scan-control",
            "this binary is a scan build: the deliberately injectable /api/scan-control is mounted",
        ));
    }
    if env.test_hooks {
        out.push(Finding::unsafe_(
            "DEMO_TEST_HOOKS",
            "on: test-only endpoints (a deliberate panic, session ageing) are mounted",
        ));
    }
    if env.database_url.starts_with("sqlite:") {
        out.push(Finding::warning(
            "DATABASE_URL",
            "SQLite: one server process only and no replication; use PostgreSQL for production",
        ));
    }
    if env.smtp_url.is_none() {
        out.push(Finding::warning(
            "SMTP_URL",
            "not set: emails are written to the MAIL_OUTBOX directory instead of being sent",
        ));
    }
    if let Ok(level) = std::env::var("RUST_LOG") {
        let l = level.to_ascii_lowercase();
        if l.contains("debug") || l.contains("trace") {
            out.push(Finding::warning(
                "RUST_LOG",
                "debug or trace logging: requests and internals are logged in detail",
            ));
        }
    }
    out
}
