//! Typed configuration with Flask-Security's names.
//!
//! Every key keeps its Flask-Security name (`SECURITY_PASSWORD_LENGTH_MIN`, `SECRET_KEY`, …), so
//! an existing application's settings and Flask-Security's documentation carry over. Values come
//! from an optional TOML file whose top-level keys are those names, then from the environment
//! (which wins). Everything is validated when the configuration is loaded, and each error names
//! its key; `SECURITY_*` keys that Rampart does not read are reported as warnings instead of
//! being silently ignored.
//!
//! # Example
//! ```
//! use rampart::config::SecurityConfig;
//!
//! let loaded = SecurityConfig::from_toml_and_env(
//!     Some("SECURITY_PASSWORD_LENGTH_MIN = 12\nSECURITY_PASSWORD_SALT = \"pepper\""),
//!     [("SECURITY_TRACKABLE".to_owned(), "true".to_owned())],
//! )
//! .expect("valid configuration");
//! assert_eq!(loaded.config.password.length_min, 12);
//! assert!(loaded.config.trackable);
//! ```

pub mod audit;
mod csrf;
mod headers;
mod keys;
mod lifecycle;
mod mfa;
mod pages;
mod password;
mod pools;
mod source;
mod throttle;
mod webauthn;

use std::fmt;
use std::path::Path;

pub use lifecycle::{LifecycleConfig, VIEW_KEYS};
pub use mfa::MfaConfig;
pub(crate) use mfa::normalize_method;
pub use pages::{PAGE_NAMES, PagesConfig, template_key};
pub use pools::PoolConfig;
use source::Source;
pub use webauthn::WebAuthnConfig;

/// Default of `SECURITY_MAX_BODY_SIZE`: 64 KiB.
pub const DEFAULT_MAX_BODY_SIZE: usize = 64 * 1024;

/// A configuration problem found at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key has a value Rampart cannot use.
    #[error("{key}: {message}")]
    Invalid {
        /// The configuration key, e.g. `SECURITY_PASSWORD_LENGTH_MIN`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("configuration file {path}: {message}")]
    File {
        /// The file's path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// A secret string whose `Debug` output is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value; use it only to key a MAC or cipher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Rampart's configuration: the `SECURITY_*` keys it implements, with Flask-Security's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SecurityConfig {
    /// `SECRET_KEY`: signs sessions, tokens and links. Required by the web layer.
    pub secret_key: Option<Secret>,
    /// `SECRET_KEY_FALLBACKS`: older keys still accepted when verifying.
    pub secret_key_fallbacks: Vec<Secret>,
    /// Password engine settings (`SECURITY_PASSWORD_*`, `SECURITY_ZXCVBN_MINIMUM_SCORE`).
    pub password: rampart_password::PasswordConfig,
    /// `SECURITY_USERNAME_ENABLE`: usernames as a second identity attribute.
    pub username_enable: bool,
    /// `SECURITY_USERNAME_MIN_LENGTH` (default 4).
    pub username_min_length: usize,
    /// `SECURITY_USERNAME_MAX_LENGTH` (default 32).
    pub username_max_length: usize,
    /// `SECURITY_REGISTERABLE`.
    pub registerable: bool,
    /// `SECURITY_CONFIRMABLE`.
    pub confirmable: bool,
    /// `SECURITY_RECOVERABLE`.
    pub recoverable: bool,
    /// `SECURITY_CHANGEABLE`.
    pub changeable: bool,
    /// `SECURITY_CHANGE_EMAIL`.
    pub change_email: bool,
    /// `SECURITY_TRACKABLE`: record login times, addresses and counts.
    pub trackable: bool,
    /// `SECURITY_TWO_FACTOR`.
    pub two_factor: bool,
    /// `SECURITY_UNIFIED_SIGNIN`.
    pub unified_signin: bool,
    /// `SECURITY_WEBAUTHN`.
    pub webauthn: bool,
    /// `SECURITY_MULTI_FACTOR_RECOVERY_CODES`.
    pub multi_factor_recovery_codes: bool,
    /// `SECURITY_LOGIN_WITHOUT_CONFIRMATION`.
    pub login_without_confirmation: bool,
    /// `SECURITY_RETURN_GENERIC_RESPONSES`: answer the same whether or not an account exists.
    pub return_generic_responses: bool,
    /// `SECURITY_FRESHNESS` in seconds (default 24 h; negative disables freshness checks).
    pub freshness_secs: i64,
    /// `SECURITY_FRESHNESS_GRACE_PERIOD` in seconds (default 1 h).
    pub freshness_grace_period_secs: i64,
    /// `SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN` (default true): a token's `fs_paa` can satisfy
    /// freshness.
    pub freshness_allow_auth_token: bool,
    /// `SECURITY_VERIFY_URL` (default `/verify`); the endpoint exists unless
    /// `SECURITY_FRESHNESS` is negative.
    pub verify_url: String,
    /// `SECURITY_POST_VERIFY_VIEW` (default `/`): where browsers go after `/verify` without a
    /// `next`.
    pub post_verify_view: String,
    /// `SESSION_COOKIE_NAME` (Flask's key; default `session`).
    pub session_cookie_name: String,
    /// `SESSION_COOKIE_SECURE` (Flask's key): mark session and remember cookies `Secure`.
    /// Turn it on whenever the application is served over HTTPS.
    pub session_cookie_secure: bool,
    /// `PERMANENT_SESSION_LIFETIME` (Flask's key) in seconds: a session unused this long expires
    /// on the server (default 31 days).
    pub session_lifetime_secs: i64,
    /// `SECURITY_LOGIN_URL` (default `/login`).
    pub login_url: String,
    /// `SECURITY_LOGOUT_URL` (default `/logout`).
    pub logout_url: String,
    /// `SECURITY_POST_LOGIN_VIEW` (default `/`).
    pub post_login_view: String,
    /// `SECURITY_POST_LOGOUT_VIEW` (default `/`).
    pub post_logout_view: String,
    /// `SECURITY_DEFAULT_REMEMBER_ME`: remember the login when the form says nothing.
    pub default_remember_me: bool,
    /// `SECURITY_BACKWARDS_COMPAT_AUTH_TOKEN`: always include the auth token on login.
    pub backwards_compat_auth_token: bool,
    /// `SECURITY_TRUSTED_PROXIES` (Rampart-only): how many reverse proxies in front of the
    /// application append to `X-Forwarded-For`; 0 (default) ignores the header.
    pub trusted_proxies: usize,
    /// `SECURITY_AUTH_CACHE_TTL` (Rampart-only) in seconds: cache user look-ups and session
    /// records in the process for this long (default 0: off). Revocations made by this process
    /// apply at once; those made by other processes (another instance, the admin CLI) after at
    /// most this time.
    pub auth_cache_ttl_secs: i64,
    /// `SECURITY_MAX_BODY_SIZE` (Rampart-only) in bytes (default 64 KiB, 1 KiB to 64 MiB): a
    /// request whose body is larger is answered 413 by the security layer, before a handler
    /// reads it (a declared `Content-Length` at once, a chunked body when it passes the limit).
    /// Rampart's own endpoints read at most 64 KiB whatever this says.
    pub max_body_size: usize,
    /// `WTF_CSRF_ENABLED` (default true): false turns every CSRF check off.
    pub csrf_enabled: bool,
    /// `WTF_CSRF_TIME_LIMIT` in seconds (default 3600; 0 = tokens never expire, as the
    /// Flask-Security docs suggest for SPAs).
    pub csrf_time_limit_secs: i64,
    /// `SECURITY_CSRF_PROTECT_MECHANISMS` (default `["basic", "session", "token"]`): the
    /// mechanisms whose state-changing requests need a CSRF token. A request carrying a
    /// signed-in session cookie always does.
    pub csrf_protect_mechanisms: Vec<crate::authn::Mechanism>,
    /// `SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS`: anonymous callers of `/login` and the other
    /// unauthenticated endpoints skip CSRF.
    pub csrf_ignore_unauth_endpoints: bool,
    /// `SECURITY_LOGOUT_CSRF`: check CSRF on logout.
    pub logout_csrf: bool,
    /// The readable CSRF cookie for SPAs (`SECURITY_CSRF_COOKIE_NAME`, `SECURITY_CSRF_COOKIE`,
    /// `SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST`); `None` (default): no cookie.
    pub csrf_cookie: Option<crate::csrf_cookie::CsrfCookie>,
    /// `SECURITY_CSRF_HEADER` (default `X-XSRF-Token`): accepted besides `X-CSRFToken` and
    /// `X-CSRF-Token`.
    pub csrf_header: String,
    /// `SECURITY_CSRF_CROSS_SITE_CHECK` (Rampart-only, default false): refuse state-changing
    /// requests that the browser marks cross-site (`Sec-Fetch-Site`) or whose `Origin` is
    /// another host, unless the origin is in `SECURITY_CSRF_TRUSTED_ORIGINS`.
    pub csrf_cross_site_check: bool,
    /// `SECURITY_CSRF_TRUSTED_ORIGINS` (Rampart-only): origins such as
    /// `https://app.example.com` allowed to send cross-site state-changing requests.
    pub csrf_trusted_origins: Vec<String>,
    /// The security headers (Rampart-only `SECURITY_HEADERS`, `SECURITY_CSP*`,
    /// `SECURITY_HSTS_*`, `SECURITY_FORCE_HTTPS*`, … see [`crate::headers`]); `None` when
    /// `SECURITY_HEADERS` is false.
    pub headers: Option<crate::headers::SecurityHeaders>,
    /// Where `next` may point besides the request's host (`SERVER_NAME`,
    /// `SECURITY_REDIRECT_ALLOW_SUBDOMAINS`, `SECURITY_REDIRECT_BASE_DOMAIN`,
    /// `SECURITY_REDIRECT_ALLOWED_SUBDOMAINS`).
    pub redirect: crate::redirect::RedirectPolicy,
    /// `SECURITY_TOKEN_MAX_AGE` in seconds (default 15 min since Flask-Security 5.9). Must be
    /// positive: Flask-Security 5.9 turns 0 into a zero max age (tokens expire at once) while
    /// older documentation calls it "never"; Rampart refuses the ambiguous value at start-up.
    pub token_max_age_secs: i64,
    /// The throttle's limits (Rampart-only `SECURITY_THROTTLE_*` keys).
    pub throttle: crate::throttle::ThrottleConfig,
    /// Database and Redis connection pools (Rampart-only `SECURITY_DATABASE_POOL_*`,
    /// `SECURITY_REDIS_*` keys).
    pub pools: PoolConfig,
    /// Account lifecycle, mail and message settings (registration, confirmation, reset,
    /// change of password and email, `SECURITY_EMAIL_*`, `SECURITY_MSG_*`).
    pub lifecycle: LifecycleConfig,
    /// Two-factor, recovery codes and unified sign-in (`SECURITY_TWO_FACTOR_*`,
    /// `SECURITY_TOTP_*`, `SECURITY_US_*`, …).
    pub mfa: MfaConfig,
    /// HTML page settings (`SECURITY_TEMPLATE_DIR`, `SECURITY_*_TEMPLATE`,
    /// `SECURITY_FLASH_MESSAGES`, `SECURITY_STATIC_FOLDER_URL`).
    pub pages: PagesConfig,
    /// WebAuthn settings (`SECURITY_WAN_*`; the feature flag is [`Self::webauthn`]).
    pub wan: WebAuthnConfig,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            secret_key: None,
            secret_key_fallbacks: Vec::new(),
            password: rampart_password::PasswordConfig::default(),
            username_enable: false,
            username_min_length: 4,
            username_max_length: 32,
            registerable: false,
            confirmable: false,
            recoverable: false,
            changeable: false,
            change_email: false,
            trackable: false,
            two_factor: false,
            unified_signin: false,
            webauthn: false,
            multi_factor_recovery_codes: false,
            login_without_confirmation: false,
            return_generic_responses: false,
            freshness_secs: 86_400,
            freshness_grace_period_secs: 3600,
            freshness_allow_auth_token: true,
            verify_url: "/verify".to_owned(),
            post_verify_view: "/".to_owned(),
            token_max_age_secs: 900,
            session_cookie_name: "session".to_owned(),
            session_cookie_secure: false,
            session_lifetime_secs: 31 * 86_400,
            login_url: "/login".to_owned(),
            logout_url: "/logout".to_owned(),
            post_login_view: "/".to_owned(),
            post_logout_view: "/".to_owned(),
            default_remember_me: false,
            backwards_compat_auth_token: false,
            trusted_proxies: 0,
            auth_cache_ttl_secs: 0,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            csrf_enabled: true,
            csrf_time_limit_secs: 3600,
            csrf_protect_mechanisms: vec![
                crate::authn::Mechanism::Basic,
                crate::authn::Mechanism::Session,
                crate::authn::Mechanism::Token,
            ],
            csrf_ignore_unauth_endpoints: false,
            logout_csrf: false,
            redirect: crate::redirect::RedirectPolicy::default(),
            headers: Some(crate::headers::SecurityHeaders::default()),
            csrf_cookie: None,
            csrf_header: "X-XSRF-Token".to_owned(),
            csrf_cross_site_check: false,
            csrf_trusted_origins: Vec::new(),
            throttle: crate::throttle::ThrottleConfig::default(),
            pools: PoolConfig::default(),
            lifecycle: LifecycleConfig::default(),
            mfa: MfaConfig::default(),
            pages: PagesConfig::default(),
            wan: WebAuthnConfig::default(),
        }
    }
}

/// A loaded configuration and the warnings found while loading it.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The configuration.
    pub config: SecurityConfig,
    /// Human-readable warnings, e.g. unknown or unsupported `SECURITY_*` keys.
    pub warnings: Vec<String>,
}

impl SecurityConfig {
    /// Loads the configuration from an optional TOML file and the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first invalid key, or the unreadable file.
    pub fn load(toml_file: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
        Self::load_with(toml_file, |_| {})
    }

    /// Like [`SecurityConfig::load`], with an application hook that adjusts the parsed values
    /// before they are validated (application-specific defaults, feature sets).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first invalid key, or the unreadable file.
    pub fn load_with(
        toml_file: Option<&Path>,
        adjust: impl FnOnce(&mut SecurityConfig),
    ) -> Result<LoadedConfig, ConfigError> {
        let mut source = Source::default();
        if let Some(path) = toml_file {
            source.add_toml_file(path)?;
        }
        source.add_env(std::env::vars());
        Self::from_source(source, adjust)
    }

    /// Loads the configuration from TOML text and explicit environment pairs (tests, embedding).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first invalid key.
    pub fn from_toml_and_env<I>(toml: Option<&str>, env: I) -> Result<LoadedConfig, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut source = Source::default();
        if let Some(text) = toml {
            source
                .add_toml_str(text)
                .map_err(|message| ConfigError::File {
                    path: "<inline>".to_owned(),
                    message,
                })?;
        }
        source.add_env(env);
        Self::from_source(source, |_| {})
    }

    fn from_source(
        mut s: Source,
        adjust: impl FnOnce(&mut SecurityConfig),
    ) -> Result<LoadedConfig, ConfigError> {
        let d = Self::default();
        let mut config = Self {
            secret_key: s
                .string("SECRET_KEY")?
                .filter(|k| !k.is_empty())
                .map(Secret),
            secret_key_fallbacks: s
                .list("SECRET_KEY_FALLBACKS")?
                .unwrap_or_default()
                .into_iter()
                .map(Secret)
                .collect(),
            password: password::read(&mut s)?,
            username_enable: s.bool("SECURITY_USERNAME_ENABLE", d.username_enable)?,
            username_min_length: usize_of(s.int("SECURITY_USERNAME_MIN_LENGTH", 4, 1, 255)?),
            username_max_length: usize_of(s.int("SECURITY_USERNAME_MAX_LENGTH", 32, 1, 255)?),
            registerable: s.bool("SECURITY_REGISTERABLE", d.registerable)?,
            confirmable: s.bool("SECURITY_CONFIRMABLE", d.confirmable)?,
            recoverable: s.bool("SECURITY_RECOVERABLE", d.recoverable)?,
            changeable: s.bool("SECURITY_CHANGEABLE", d.changeable)?,
            change_email: s.bool("SECURITY_CHANGE_EMAIL", d.change_email)?,
            trackable: s.bool("SECURITY_TRACKABLE", d.trackable)?,
            two_factor: s.bool("SECURITY_TWO_FACTOR", d.two_factor)?,
            unified_signin: s.bool("SECURITY_UNIFIED_SIGNIN", d.unified_signin)?,
            webauthn: s.bool("SECURITY_WEBAUTHN", d.webauthn)?,
            multi_factor_recovery_codes: s.bool(
                "SECURITY_MULTI_FACTOR_RECOVERY_CODES",
                d.multi_factor_recovery_codes,
            )?,
            login_without_confirmation: s.bool(
                "SECURITY_LOGIN_WITHOUT_CONFIRMATION",
                d.login_without_confirmation,
            )?,
            return_generic_responses: s.bool(
                "SECURITY_RETURN_GENERIC_RESPONSES",
                d.return_generic_responses,
            )?,
            freshness_secs: s.duration_secs("SECURITY_FRESHNESS", d.freshness_secs)?,
            freshness_grace_period_secs: s.duration_secs(
                "SECURITY_FRESHNESS_GRACE_PERIOD",
                d.freshness_grace_period_secs,
            )?,
            freshness_allow_auth_token: s.bool(
                "SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN",
                d.freshness_allow_auth_token,
            )?,
            verify_url: url_key(&mut s, "SECURITY_VERIFY_URL", d.verify_url)?,
            post_verify_view: url_key(&mut s, "SECURITY_POST_VERIFY_VIEW", d.post_verify_view)?,
            token_max_age_secs: s.duration_secs("SECURITY_TOKEN_MAX_AGE", d.token_max_age_secs)?,
            session_cookie_name: s
                .string("SESSION_COOKIE_NAME")?
                .unwrap_or(d.session_cookie_name),
            session_cookie_secure: s.bool("SESSION_COOKIE_SECURE", d.session_cookie_secure)?,
            session_lifetime_secs: s
                .duration_secs("PERMANENT_SESSION_LIFETIME", d.session_lifetime_secs)?,
            login_url: url_key(&mut s, "SECURITY_LOGIN_URL", d.login_url)?,
            logout_url: url_key(&mut s, "SECURITY_LOGOUT_URL", d.logout_url)?,
            post_login_view: url_key(&mut s, "SECURITY_POST_LOGIN_VIEW", d.post_login_view)?,
            post_logout_view: url_key(&mut s, "SECURITY_POST_LOGOUT_VIEW", d.post_logout_view)?,
            default_remember_me: s.bool("SECURITY_DEFAULT_REMEMBER_ME", d.default_remember_me)?,
            backwards_compat_auth_token: s.bool(
                "SECURITY_BACKWARDS_COMPAT_AUTH_TOKEN",
                d.backwards_compat_auth_token,
            )?,
            trusted_proxies: usize_of(s.int("SECURITY_TRUSTED_PROXIES", 0, 0, 16)?),
            auth_cache_ttl_secs: s.int("SECURITY_AUTH_CACHE_TTL", 0, 0, 3600)?,
            max_body_size: usize_of(s.int(
                "SECURITY_MAX_BODY_SIZE",
                i64::try_from(DEFAULT_MAX_BODY_SIZE).unwrap_or(65_536),
                1024,
                64 * 1024 * 1024,
            )?),
            csrf_enabled: s.bool("WTF_CSRF_ENABLED", d.csrf_enabled)?,
            csrf_time_limit_secs: s.duration_secs("WTF_CSRF_TIME_LIMIT", d.csrf_time_limit_secs)?,
            csrf_protect_mechanisms: mechanisms(&mut s, d.csrf_protect_mechanisms)?,
            csrf_ignore_unauth_endpoints: s.bool(
                "SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS",
                d.csrf_ignore_unauth_endpoints,
            )?,
            logout_csrf: s.bool("SECURITY_LOGOUT_CSRF", d.logout_csrf)?,
            redirect: redirect_policy(&mut s)?,
            headers: headers::read(&mut s)?,
            csrf_cookie: csrf::cookie(&mut s)?,
            csrf_header: s.string("SECURITY_CSRF_HEADER")?.unwrap_or(d.csrf_header),
            csrf_cross_site_check: s.bool("SECURITY_CSRF_CROSS_SITE_CHECK", false)?,
            csrf_trusted_origins: s.list("SECURITY_CSRF_TRUSTED_ORIGINS")?.unwrap_or_default(),
            throttle: throttle::read(&mut s)?,
            pools: pools::read(&mut s)?,
            lifecycle: lifecycle::read(&mut s)?,
            mfa: mfa::read(&mut s)?,
            pages: pages::read(&mut s)?,
            wan: webauthn::read(&mut s)?,
        };
        adjust(&mut config);
        config.check()?;
        let warnings = keys::report_unused(s.unused());
        Ok(LoadedConfig { config, warnings })
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.username_min_length > self.username_max_length {
            return Err(source::invalid(
                "SECURITY_USERNAME_MIN_LENGTH",
                "must not exceed SECURITY_USERNAME_MAX_LENGTH",
            ));
        }
        if self.token_max_age_secs < 0 {
            return Err(source::invalid(
                "SECURITY_TOKEN_MAX_AGE",
                "must not be negative",
            ));
        }
        self.password.validate().map_err(|e| ConfigError::Invalid {
            key: e.key().to_owned(),
            message: e.to_string(),
        })
    }
}

/// `SECURITY_CSRF_PROTECT_MECHANISMS`: a list of `basic`, `session`, `token`.
fn mechanisms(
    s: &mut Source,
    default: Vec<crate::authn::Mechanism>,
) -> Result<Vec<crate::authn::Mechanism>, ConfigError> {
    use crate::authn::Mechanism;
    let key = "SECURITY_CSRF_PROTECT_MECHANISMS";
    let Some(list) = s.list(key)? else {
        return Ok(default);
    };
    list.iter()
        .map(|m| match m.as_str() {
            "basic" => Ok(Mechanism::Basic),
            "session" => Ok(Mechanism::Session),
            "token" => Ok(Mechanism::Token),
            other => Err(source::invalid(
                key,
                &format!("unknown mechanism {other:?}; use basic, session or token"),
            )),
        })
        .collect()
}

/// The redirect allow-list options.
fn redirect_policy(s: &mut Source) -> Result<crate::redirect::RedirectPolicy, ConfigError> {
    Ok(crate::redirect::RedirectPolicy {
        server_name: s.string("SERVER_NAME")?.filter(|v| !v.is_empty()),
        allow_subdomains: s.bool("SECURITY_REDIRECT_ALLOW_SUBDOMAINS", false)?,
        base_domain: s
            .string("SECURITY_REDIRECT_BASE_DOMAIN")?
            .filter(|v| !v.is_empty()),
        allowed_subdomains: s
            .list("SECURITY_REDIRECT_ALLOWED_SUBDOMAINS")?
            .unwrap_or_default(),
    })
}

/// A path setting: must start with `/`.
fn url_key(s: &mut Source, key: &str, default: String) -> Result<String, ConfigError> {
    match s.string(key)? {
        None => Ok(default),
        Some(v) if v.starts_with('/') && !v.starts_with("//") => Ok(v),
        Some(_) => Err(source::invalid(
            key,
            "must be a path starting with a single /",
        )),
    }
}

fn usize_of(v: i64) -> usize {
    usize::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<LoadedConfig, ConfigError> {
        SecurityConfig::from_toml_and_env(
            Some(toml),
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn defaults_are_flask_security_defaults() {
        let c = SecurityConfig::default();
        assert_eq!(c.password.length_min, 8);
        assert_eq!(c.token_max_age_secs, 900);
        assert_eq!(c.freshness_secs, 86_400);
        assert!(!c.registerable && !c.trackable);
    }

    #[test]
    fn env_overrides_file() {
        let l = load(
            "SECURITY_PASSWORD_LENGTH_MIN = 10\nSECURITY_PASSWORD_SALT = \"s\"",
            &[("SECURITY_PASSWORD_LENGTH_MIN", "12")],
        );
        assert!(l.is_ok_and(|l| l.config.password.length_min == 12));
    }

    #[test]
    fn errors_name_the_key() {
        for (toml, key) in [
            ("SECURITY_TRACKABLE = \"maybe\"", "SECURITY_TRACKABLE"),
            (
                "SECURITY_PASSWORD_LENGTH_MIN = 0",
                "SECURITY_PASSWORD_LENGTH_MIN",
            ),
            (
                "SECURITY_PASSWORD_LENGTH_MIN = 200",
                "SECURITY_PASSWORD_LENGTH_MIN",
            ),
            (
                "SECURITY_ZXCVBN_MINIMUM_SCORE = 9",
                "SECURITY_ZXCVBN_MINIMUM_SCORE",
            ),
            (
                "SECURITY_PASSWORD_CHECK_BREACHED = \"always\"",
                "SECURITY_PASSWORD_CHECK_BREACHED",
            ),
            ("SECURITY_FRESHNESS = \"soon\"", "SECURITY_FRESHNESS"),
            (
                "SECURITY_USERNAME_MIN_LENGTH = 40",
                "SECURITY_USERNAME_MIN_LENGTH",
            ),
        ] {
            match load(toml, &[]) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{toml}"),
                other => panic!("{toml}: expected an error naming {key}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_and_unsupported_keys_are_reported() {
        let l = load(
            "SECURITY_PASSWORD_LENGHT_MIN = 9\nSECURITY_OAUTH_ENABLE = true\nSECURITY_TRACKABLE = true\n\
             SECURITY_PASSWORD_SALT = \"s\"",
            &[],
        );
        let w = l.map(|l| l.warnings).unwrap_or_default();
        assert!(
            w.iter()
                .any(|m| m.contains("SECURITY_PASSWORD_LENGHT_MIN") && m.contains("unknown")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("SECURITY_OAUTH_ENABLE") && m.contains("does not support")),
            "{w:?}"
        );
        assert!(!w.iter().any(|m| m.contains("SECURITY_TRACKABLE")), "{w:?}");
    }

    #[test]
    fn double_hash_without_salt_names_the_salt_key() {
        match load("", &[]) {
            Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "SECURITY_PASSWORD_SALT"),
            other => panic!("expected a missing-salt error, got {other:?}"),
        }
        assert!(load("SECURITY_PASSWORD_SINGLE_HASH = true", &[]).is_ok());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let l = load(
            "SECRET_KEY = \"hunter2-very-secret\"\nSECURITY_PASSWORD_SALT = \"pepper-9\"",
            &[],
        );
        assert!(l.is_ok());
        let text = format!("{l:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("pepper-9"),
            "{text}"
        );
    }
}
