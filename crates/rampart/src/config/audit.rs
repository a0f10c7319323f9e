//! What in a configuration is unsafe for production: the checks behind `rampart check`.
//!
//! [`audit`] looks only at the [`SecurityConfig`]; an application adds its own findings (the
//! demo adds its database, profile and test hooks) and decides what to do with them.
//!
//! # Example
//! ```
//! use rampart::config::{SecurityConfig, audit::{audit, Severity}};
//!
//! let config = SecurityConfig::default();
//! let findings = audit(&config);
//! assert!(findings.iter().any(|f| f.key == "SECRET_KEY" && f.severity == Severity::Unsafe));
//! ```

use super::SecurityConfig;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; not wrong in every deployment.
    Warning,
    /// Unsafe in production.
    Unsafe,
}

impl Severity {
    /// `unsafe` or `warning`, as printed.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Unsafe => "unsafe",
            Self::Warning => "warning",
        }
    }
}

/// One problem: the key to change and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// The setting (or environment variable) concerned, e.g. `SESSION_COOKIE_SECURE`.
    pub key: &'static str,
    /// What is wrong and what to do, in one sentence.
    pub message: String,
}

impl Finding {
    /// An unsafe finding.
    pub fn unsafe_(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Unsafe,
            key,
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            key,
            message: message.into(),
        }
    }
}

/// Shortest `SECRET_KEY` accepted: 32 characters (e.g. 16 random bytes in hex, 24 in base64).
pub const SECRET_KEY_MIN_LEN: usize = 32;
/// Shortest `SECURITY_PASSWORD_SALT` accepted.
pub const SALT_MIN_LEN: usize = 16;
/// HSTS max-age below one year is flagged (ASVS 3.4.1 asks for at least a year).
pub const HSTS_MIN_AGE: u64 = 31_536_000;

/// Values copied from documentation, tutorials and test suites: never a real secret. Compared
/// case-insensitively. The first two are Flask-Security's quick-start examples.
const KNOWN_SECRETS: &[&str] = &[
    "pf9Wkove4IKEAXvy-cQkeDPhv9Cb3Ag-wyJILbq_dFw",
    "146585145368132386173505678016728509634",
    "rampart-api-test-secret-key-0123456789abcdef",
    "secret",
    "secret-key",
    "secret_key",
    "super-secret",
    "super secret key",
    "changeme",
    "change-me",
    "change_me",
    "dev",
    "development",
    "test",
    "testing",
    "your-secret-key",
];

/// Every check on the configuration, in a fixed order (secrets, cookies, transport, CSRF,
/// answers, passwords, throttling, tokens and sessions).
#[must_use]
pub fn audit(c: &SecurityConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    secrets(c, &mut out);
    cookies(c, &mut out);
    transport(c, &mut out);
    csrf(c, &mut out);
    if !c.return_generic_responses {
        out.push(Finding::warning(
            "SECURITY_RETURN_GENERIC_RESPONSES",
            "off: login, registration and reset answers tell whether an account exists",
        ));
    }
    passwords(c, &mut out);
    limits(c, &mut out);
    out
}

fn is_known(value: &str) -> bool {
    KNOWN_SECRETS.iter().any(|k| k.eq_ignore_ascii_case(value))
}

/// A string made of one or two distinct characters (`aaaa…`, `abab…`) has no entropy.
fn is_repetitive(value: &str) -> bool {
    let mut distinct: Vec<char> = value.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() <= 2
}

fn secrets(c: &SecurityConfig, out: &mut Vec<Finding>) {
    match c.secret_key.as_ref().map(|s| s.expose().trim()) {
        None | Some("") => out.push(Finding::unsafe_(
            "SECRET_KEY",
            "not set: sessions, tokens and links cannot survive a restart or be shared by instances",
        )),
        Some(k) if is_known(k) => out.push(Finding::unsafe_(
            "SECRET_KEY",
            "a published example value: anyone can forge sessions and tokens",
        )),
        Some(k) if k.chars().count() < SECRET_KEY_MIN_LEN || is_repetitive(k) => {
            out.push(Finding::unsafe_(
                "SECRET_KEY",
                format!("too short or repetitive: use at least {SECRET_KEY_MIN_LEN} random characters"),
            ));
        }
        Some(_) => {}
    }
    match c.password.effective_salt() {
        None => out.push(Finding::unsafe_(
            "SECURITY_PASSWORD_SALT",
            "not set: passwords are hashed without the HMAC pre-hash, and a database from Flask-Security cannot be verified",
        )),
        Some(s) if is_known(s) => out.push(Finding::unsafe_(
            "SECURITY_PASSWORD_SALT",
            "a published example value",
        )),
        Some(s) if s.chars().count() < SALT_MIN_LEN => out.push(Finding::unsafe_(
            "SECURITY_PASSWORD_SALT",
            format!("shorter than {SALT_MIN_LEN} characters"),
        )),
        Some(_) => {}
    }
}

fn cookies(c: &SecurityConfig, out: &mut Vec<Finding>) {
    if !c.session_cookie_secure {
        out.push(Finding::unsafe_(
            "SESSION_COOKIE_SECURE",
            "false: session and remember-me cookies are sent over plain HTTP",
        ));
    }
    if c.csrf_cookie.as_ref().is_some_and(|k| !k.secure) {
        out.push(Finding::unsafe_(
            "SECURITY_CSRF_COOKIE",
            "the CSRF cookie is not marked Secure",
        ));
    }
    if c.session_lifetime_secs > 31 * 86_400 {
        out.push(Finding::warning(
            "PERMANENT_SESSION_LIFETIME",
            "longer than 31 days",
        ));
    }
}

fn transport(c: &SecurityConfig, out: &mut Vec<Finding>) {
    let Some(h) = &c.headers else {
        out.push(Finding::unsafe_(
            "SECURITY_HEADERS",
            "false: no HSTS, CSP, X-Frame-Options or nosniff headers, and HTTPS is not forced",
        ));
        return;
    };
    if !h.force_https {
        out.push(Finding::unsafe_(
            "SECURITY_FORCE_HTTPS",
            "false: plain-HTTP requests are served instead of redirected to HTTPS",
        ));
    }
    if h.hsts_max_age < HSTS_MIN_AGE {
        let message = if h.hsts_max_age == 0 {
            "0: no Strict-Transport-Security header".to_owned()
        } else {
            format!("{} s is less than one year", h.hsts_max_age)
        };
        out.push(Finding::unsafe_("SECURITY_HSTS_MAX_AGE", message));
    }
    if h.csp.is_none() {
        out.push(Finding::warning(
            "SECURITY_CSP",
            "no Content-Security-Policy is sent",
        ));
    }
}

fn csrf(c: &SecurityConfig, out: &mut Vec<Finding>) {
    if !c.csrf_enabled {
        out.push(Finding::unsafe_(
            "WTF_CSRF_ENABLED",
            "false: every CSRF check is off",
        ));
        return;
    }
    if !c
        .csrf_protect_mechanisms
        .contains(&crate::authn::Mechanism::Session)
    {
        out.push(Finding::unsafe_(
            "SECURITY_CSRF_PROTECT_MECHANISMS",
            "does not include `session`: cookie-authenticated requests skip CSRF",
        ));
    }
    if c.csrf_time_limit_secs == 0 {
        out.push(Finding::warning(
            "WTF_CSRF_TIME_LIMIT",
            "0: CSRF tokens never expire",
        ));
    }
}

fn passwords(c: &SecurityConfig, out: &mut Vec<Finding>) {
    let p = &c.password;
    if p.length_min < 8 {
        out.push(Finding::unsafe_(
            "SECURITY_PASSWORD_LENGTH_MIN",
            format!("{} is below 8 (ASVS 6.2.1)", p.length_min),
        ));
    }
    if p.allow_plaintext {
        out.push(Finding::unsafe_(
            "SECURITY_PASSWORD_ALLOW_PLAINTEXT",
            "true: stored strings of no hash format are compared as plain text",
        ));
    }
    if p.hash_scheme == rampart_password::HashScheme::Argon2 {
        let a = p.argon2;
        // OWASP's equivalent argon2id settings: 19 MiB and 2 passes, or more memory with fewer.
        if a.memory_kib < 7 * 1024 || u64::from(a.memory_kib) * u64::from(a.iterations) < 38_912 {
            out.push(Finding::unsafe_(
                "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS",
                format!(
                    "argon2 m={} KiB t={} is below OWASP's minimum (m=19456 KiB, t=2)",
                    a.memory_kib, a.iterations
                ),
            ));
        }
    }
    if p.check_breached.is_none() {
        out.push(Finding::warning(
            "SECURITY_PASSWORD_CHECK_BREACHED",
            "off: passwords known from breaches are accepted (ASVS 6.2.12)",
        ));
    }
}

fn limits(c: &SecurityConfig, out: &mut Vec<Finding>) {
    if !c.throttle.enabled {
        out.push(Finding::unsafe_(
            "SECURITY_THROTTLE_ENABLED",
            "false: password and code guessing is not rate limited",
        ));
    }
    if c.token_max_age_secs > 86_400 {
        out.push(Finding::warning(
            "SECURITY_TOKEN_MAX_AGE",
            "auth tokens live longer than a day",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(c: &SecurityConfig, severity: Severity) -> Vec<&'static str> {
        audit(c)
            .into_iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.key)
            .collect()
    }

    fn hardened() -> SecurityConfig {
        let env = [
            ("SECRET_KEY", "q7Vw2mZ9xL4rT8kP1sD6fH3jN5bC0gYe"),
            ("SECURITY_PASSWORD_SALT", "k3J9sL2mQ8vX5zR1"),
            ("SESSION_COOKIE_SECURE", "true"),
            ("SECURITY_FORCE_HTTPS", "true"),
            ("SECURITY_RETURN_GENERIC_RESPONSES", "true"),
            ("SECURITY_PASSWORD_CHECK_BREACHED", "best-effort"),
        ];
        SecurityConfig::from_toml_and_env(
            None,
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .map(|l| l.config)
        .unwrap_or_default()
    }

    #[test]
    fn defaults_are_unsafe_and_a_hardened_config_is_clean() {
        let d = keys(&SecurityConfig::default(), Severity::Unsafe);
        for k in [
            "SECRET_KEY",
            "SECURITY_PASSWORD_SALT",
            "SESSION_COOKIE_SECURE",
            "SECURITY_FORCE_HTTPS",
        ] {
            assert!(d.contains(&k), "{k} missing from {d:?}");
        }
        let h = hardened();
        assert_eq!(audit(&h), Vec::new(), "{h:?}");
    }

    #[test]
    fn each_weakening_is_reported() {
        let mut c = hardened();
        c.secret_key = Some(super::super::Secret::new("secret"));
        c.csrf_enabled = false;
        c.headers = None;
        c.password.length_min = 6;
        c.password.allow_plaintext = true;
        c.throttle.enabled = false;
        let u = keys(&c, Severity::Unsafe);
        for k in [
            "SECRET_KEY",
            "WTF_CSRF_ENABLED",
            "SECURITY_HEADERS",
            "SECURITY_PASSWORD_LENGTH_MIN",
            "SECURITY_PASSWORD_ALLOW_PLAINTEXT",
            "SECURITY_THROTTLE_ENABLED",
        ] {
            assert!(u.contains(&k), "{k} missing from {u:?}");
        }
    }

    #[test]
    fn short_and_repetitive_keys() {
        let mut c = hardened();
        c.secret_key = Some(super::super::Secret::new("a".repeat(64)));
        assert_eq!(keys(&c, Severity::Unsafe), vec!["SECRET_KEY"]);
        c.secret_key = Some(super::super::Secret::new("q7Vw2mZ9xL4rT8kP1sD6"));
        assert_eq!(keys(&c, Severity::Unsafe), vec!["SECRET_KEY"]);
        c.secret_key = Some(super::super::Secret::new(
            "pf9Wkove4IKEAXvy-cQkeDPhv9Cb3Ag-wyJILbq_dFw",
        ));
        assert_eq!(keys(&c, Severity::Unsafe), vec!["SECRET_KEY"]);
    }
}
