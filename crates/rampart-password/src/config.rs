//! Configuration of the password engine, with Flask-Security's defaults.
//!
//! Each field maps to a `SECURITY_*` key (see [`keys`]); another layer reads the
//! environment or TOML and fills this struct. [`PasswordConfig::validate`] reports what is
//! wrong by key name, when the application is built.

use std::time::Duration;

use crate::normalize::NormalizeForm;
use crate::schemes::Scheme;

/// The `SECURITY_*` configuration keys this module reads.
///
/// Keys marked *Rampart* do not exist in Flask-Security.
pub mod keys {
    /// Key of [`PasswordConfig::salt`](super::PasswordConfig::salt).
    pub const PASSWORD_SALT: &str = "SECURITY_PASSWORD_SALT";
    /// Key of [`PasswordConfig::single_hash`](super::PasswordConfig::single_hash).
    pub const PASSWORD_SINGLE_HASH: &str = "SECURITY_PASSWORD_SINGLE_HASH";
    /// Key of [`PasswordConfig::hash_scheme`](super::PasswordConfig::hash_scheme).
    pub const PASSWORD_HASH: &str = "SECURITY_PASSWORD_HASH";
    /// Key of [`PasswordConfig::argon2`](super::PasswordConfig::argon2): Flask-Security
    /// passes `argon2__memory_cost`, `argon2__rounds` and `argon2__parallelism` through it.
    pub const PASSWORD_HASH_PASSLIB_OPTIONS: &str = "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS";
    /// Key of [`PasswordConfig::length_min`](super::PasswordConfig::length_min).
    pub const PASSWORD_LENGTH_MIN: &str = "SECURITY_PASSWORD_LENGTH_MIN";
    /// Key of [`PasswordConfig::complexity_checker`](super::PasswordConfig::complexity_checker).
    pub const PASSWORD_COMPLEXITY_CHECKER: &str = "SECURITY_PASSWORD_COMPLEXITY_CHECKER";
    /// Key of [`PasswordConfig::zxcvbn_minimum_score`](super::PasswordConfig::zxcvbn_minimum_score).
    pub const ZXCVBN_MINIMUM_SCORE: &str = "SECURITY_ZXCVBN_MINIMUM_SCORE";
    /// Key of [`PasswordConfig::check_breached`](super::PasswordConfig::check_breached).
    pub const PASSWORD_CHECK_BREACHED: &str = "SECURITY_PASSWORD_CHECK_BREACHED";
    /// Key of [`PasswordConfig::breached_count`](super::PasswordConfig::breached_count).
    pub const PASSWORD_BREACHED_COUNT: &str = "SECURITY_PASSWORD_BREACHED_COUNT";
    /// Key of [`PasswordConfig::normalize_form`](super::PasswordConfig::normalize_form).
    pub const PASSWORD_NORMALIZE_FORM: &str = "SECURITY_PASSWORD_NORMALIZE_FORM";
    /// *Rampart*: key of [`PasswordConfig::hibp_base_url`](super::PasswordConfig::hibp_base_url).
    pub const PASSWORD_BREACHED_URL: &str = "SECURITY_PASSWORD_BREACHED_URL";
    /// *Rampart*: key of [`PasswordConfig::hibp_timeout`](super::PasswordConfig::hibp_timeout).
    pub const PASSWORD_BREACHED_TIMEOUT: &str = "SECURITY_PASSWORD_BREACHED_TIMEOUT";
    /// *Rampart*: key of [`PasswordConfig::allow_plaintext`](super::PasswordConfig::allow_plaintext).
    pub const PASSWORD_ALLOW_PLAINTEXT: &str = "SECURITY_PASSWORD_ALLOW_PLAINTEXT";
    /// *Rampart*: key of [`PasswordConfig::max_concurrency`](super::PasswordConfig::max_concurrency).
    pub const PASSWORD_HASH_CONCURRENCY: &str = "SECURITY_PASSWORD_HASH_CONCURRENCY";
}

/// Flask-Security's hard-coded maximum password length, in code points.
pub const LENGTH_MAX: usize = 128;

/// Default of [`PasswordConfig::hibp_base_url`].
pub const DEFAULT_HIBP_BASE_URL: &str = "https://api.pwnedpasswords.com/range/";

/// Which schemes skip the HMAC pre-hash (`SECURITY_PASSWORD_SINGLE_HASH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SingleHash {
    /// `True`: no scheme is pre-hashed.
    All,
    /// The passlib names of the schemes that are not pre-hashed (e.g. `"bcrypt"`).
    /// An empty list behaves like `{"plaintext"}`, as in Flask-Security.
    Schemes(Vec<String>),
}

impl SingleHash {
    /// Flask-Security's default set: the `django_*` schemes and `plaintext`, so every
    /// scheme Rampart hashes with is pre-hashed.
    #[must_use]
    pub fn flask_security_default() -> Self {
        Self::Schemes(
            [
                "django_argon2",
                "django_bcrypt_sha256",
                "django_pbkdf2_sha256",
                "django_pbkdf2_sha1",
                "django_bcrypt",
                "django_salted_md5",
                "django_salted_sha1",
                "django_des_crypt",
                "plaintext",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        )
    }

    /// Whether `scheme` (a passlib name) is hashed without the pre-hash.
    #[must_use]
    pub fn is_single(&self, scheme: &str) -> bool {
        match self {
            Self::All => true,
            Self::Schemes(list) if list.is_empty() => scheme == "plaintext",
            Self::Schemes(list) => list.iter().any(|s| s == scheme),
        }
    }
}

impl Default for SingleHash {
    fn default() -> Self {
        Self::flask_security_default()
    }
}

/// The scheme new hashes are made with (`SECURITY_PASSWORD_HASH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HashScheme {
    /// `argon2` (argon2id, the default).
    #[default]
    Argon2,
    /// `bcrypt` (`$2b$`, cost 12).
    Bcrypt,
    /// `pbkdf2_sha512` (25 000 rounds).
    Pbkdf2Sha512,
    /// `pbkdf2_sha256` (29 000 rounds).
    Pbkdf2Sha256,
    /// `sha512_crypt` (656 000 rounds).
    Sha512Crypt,
    /// `sha256_crypt` (535 000 rounds).
    Sha256Crypt,
}

impl HashScheme {
    /// Parses a passlib scheme name (`"argon2"`, `"bcrypt"`, …).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "argon2" => Self::Argon2,
            "bcrypt" => Self::Bcrypt,
            "pbkdf2_sha512" => Self::Pbkdf2Sha512,
            "pbkdf2_sha256" => Self::Pbkdf2Sha256,
            "sha512_crypt" => Self::Sha512Crypt,
            "sha256_crypt" => Self::Sha256Crypt,
            _ => return None,
        })
    }

    /// The passlib name of the scheme.
    #[must_use]
    pub fn name(self) -> &'static str {
        self.scheme().name()
    }

    pub(crate) fn scheme(self) -> Scheme {
        match self {
            Self::Argon2 => Scheme::Argon2,
            Self::Bcrypt => Scheme::Bcrypt,
            Self::Pbkdf2Sha512 => Scheme::Pbkdf2Sha512,
            Self::Pbkdf2Sha256 => Scheme::Pbkdf2Sha256,
            Self::Sha512Crypt => Scheme::Sha512Crypt,
            Self::Sha256Crypt => Scheme::Sha256Crypt,
        }
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB (`argon2__memory_cost`), default 65 536.
    pub memory_kib: u32,
    /// Passes (`argon2__rounds`), default 3.
    pub iterations: u32,
    /// Lanes (`argon2__parallelism`), default 4.
    pub parallelism: u32,
}

impl Argon2Params {
    /// The argon2-cffi / libpass defaults Flask-Security uses: m=65536, t=3, p=4.
    pub const FLASK_SECURITY: Self = Self {
        memory_kib: 65_536,
        iterations: 3,
        parallelism: 4,
    };
    /// OWASP's minimum recommendation (and the `argon2` crate's default): m=19456, t=2, p=1.
    pub const OWASP: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::FLASK_SECURITY
    }
}

/// The complexity checker (`SECURITY_PASSWORD_COMPLEXITY_CHECKER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComplexityChecker {
    /// `"zxcvbn"`.
    Zxcvbn,
}

/// How to treat the breached-password service (`SECURITY_PASSWORD_CHECK_BREACHED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachedMode {
    /// `"strict"`: a failure to reach the service rejects the password.
    Strict,
    /// `"best-effort"`: a failure to reach the service is ignored.
    BestEffort,
}

/// Password settings. `Default` gives Flask-Security 5.9.2's defaults, except
/// [`allow_plaintext`](Self::allow_plaintext). `Debug` hides the salt, a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordConfig {
    /// `SECURITY_PASSWORD_SALT`: HMAC key of the pre-hash. No default; required unless
    /// the hash scheme is single-hashed.
    pub salt: Option<String>,
    /// `SECURITY_PASSWORD_SINGLE_HASH`.
    pub single_hash: SingleHash,
    /// `SECURITY_PASSWORD_HASH`: scheme of new hashes (default argon2).
    pub hash_scheme: HashScheme,
    /// Argon2 cost (`SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS`), default m=65536,t=3,p=4.
    pub argon2: Argon2Params,
    /// `SECURITY_PASSWORD_LENGTH_MIN` (8), in code points after normalisation.
    pub length_min: usize,
    /// Fixed at 128 code points, as in Flask-Security.
    pub length_max: usize,
    /// `SECURITY_PASSWORD_COMPLEXITY_CHECKER` (default none).
    pub complexity_checker: Option<ComplexityChecker>,
    /// `SECURITY_ZXCVBN_MINIMUM_SCORE` (3), 0 to 4.
    pub zxcvbn_minimum_score: u8,
    /// `SECURITY_PASSWORD_CHECK_BREACHED` (default off).
    pub check_breached: Option<BreachedMode>,
    /// `SECURITY_PASSWORD_BREACHED_COUNT` (1): rejected when seen at least this often.
    pub breached_count: u64,
    /// Base of the range API, default `https://api.pwnedpasswords.com/range/`; the
    /// first five hex digits of the SHA-1 are appended.
    pub hibp_base_url: String,
    /// Timeout of one range request (5 s).
    pub hibp_timeout: Duration,
    /// `SECURITY_PASSWORD_NORMALIZE_FORM` (NFKD).
    pub normalize_form: NormalizeForm,
    /// Whether a stored value of no known format is compared as plaintext.
    /// Default **false**, unlike Flask-Security (whose `plaintext` scheme matches any
    /// string): such a value simply fails to verify.
    pub allow_plaintext: bool,
    /// Maximum number of hashes computed at once (default: the number of cores).
    pub max_concurrency: usize,
}

impl std::fmt::Debug for PasswordConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordConfig")
            .field("salt", &self.salt.as_ref().map(|_| "***"))
            .field("single_hash", &self.single_hash)
            .field("hash_scheme", &self.hash_scheme)
            .field("argon2", &self.argon2)
            .field("length_min", &self.length_min)
            .field("length_max", &self.length_max)
            .field("complexity_checker", &self.complexity_checker)
            .field("zxcvbn_minimum_score", &self.zxcvbn_minimum_score)
            .field("check_breached", &self.check_breached)
            .field("breached_count", &self.breached_count)
            .field("hibp_base_url", &self.hibp_base_url)
            .field("hibp_timeout", &self.hibp_timeout)
            .field("normalize_form", &self.normalize_form)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            salt: None,
            single_hash: SingleHash::default(),
            hash_scheme: HashScheme::Argon2,
            argon2: Argon2Params::default(),
            length_min: 8,
            length_max: LENGTH_MAX,
            complexity_checker: None,
            zxcvbn_minimum_score: 3,
            check_breached: None,
            breached_count: 1,
            hibp_base_url: DEFAULT_HIBP_BASE_URL.to_owned(),
            hibp_timeout: Duration::from_secs(5),
            normalize_form: NormalizeForm::Nfkd,
            allow_plaintext: false,
            max_concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// A configuration value that cannot work. [`key`](Self::key) names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The salt is missing (or empty) although the hash scheme is pre-hashed.
    #[error(
        "SECURITY_PASSWORD_SALT must be set (and not empty) to hash or verify with \"{scheme}\", which is not in SECURITY_PASSWORD_SINGLE_HASH"
    )]
    MissingSalt {
        /// The scheme (passlib name) that needs the pre-hash.
        scheme: &'static str,
    },
    /// A value is out of its range.
    #[error("{key}: {message}")]
    Invalid {
        /// The `SECURITY_*` key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// The `SECURITY_*` key at fault.
    #[must_use]
    pub fn key(&self) -> &'static str {
        match self {
            Self::MissingSalt { .. } => keys::PASSWORD_SALT,
            Self::Invalid { key, .. } => key,
        }
    }

    fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            message: message.into(),
        }
    }
}

impl PasswordConfig {
    /// The pre-hash salt, if set and not empty (Flask-Security treats `""` as unset).
    #[must_use]
    pub fn effective_salt(&self) -> Option<&str> {
        self.salt.as_deref().filter(|s| !s.is_empty())
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// The first problem found, naming its `SECURITY_*` key: a missing salt while the
    /// hash scheme is pre-hashed, a minimum length of 0 or above 128, a zxcvbn score
    /// above 4, a breached count of 0, an HIBP URL that is not http(s), a zero timeout,
    /// argon2 parameters argon2 rejects, or a concurrency of 0.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let scheme = self.hash_scheme.name();
        if !self.single_hash.is_single(scheme) && self.effective_salt().is_none() {
            return Err(ConfigError::MissingSalt { scheme });
        }
        if self.length_max != LENGTH_MAX {
            return Err(ConfigError::invalid(
                keys::PASSWORD_LENGTH_MIN,
                format!("the maximum length is fixed at {LENGTH_MAX}"),
            ));
        }
        if self.length_min == 0 || self.length_min > LENGTH_MAX {
            return Err(ConfigError::invalid(
                keys::PASSWORD_LENGTH_MIN,
                format!(
                    "must be between 1 and {LENGTH_MAX}, got {}",
                    self.length_min
                ),
            ));
        }
        if self.zxcvbn_minimum_score > 4 {
            return Err(ConfigError::invalid(
                keys::ZXCVBN_MINIMUM_SCORE,
                format!("must be between 0 and 4, got {}", self.zxcvbn_minimum_score),
            ));
        }
        if self.breached_count == 0 {
            return Err(ConfigError::invalid(
                keys::PASSWORD_BREACHED_COUNT,
                "must be at least 1 (0 would reject every password)",
            ));
        }
        if self.check_breached.is_some() {
            let url = self.hibp_base_url.as_str();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::invalid(
                    keys::PASSWORD_BREACHED_URL,
                    format!("must be an http(s) URL, got {url:?}"),
                ));
            }
            if self.hibp_timeout.is_zero() {
                return Err(ConfigError::invalid(
                    keys::PASSWORD_BREACHED_TIMEOUT,
                    "must be greater than zero",
                ));
            }
        }
        crate::schemes::argon2::params(&self.argon2).map_err(|e| {
            ConfigError::invalid(
                keys::PASSWORD_HASH_PASSLIB_OPTIONS,
                format!("invalid argon2 parameters {:?}: {e}", self.argon2),
            )
        })?;
        if self.max_concurrency == 0 {
            return Err(ConfigError::invalid(
                keys::PASSWORD_HASH_CONCURRENCY,
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
