//! Reads the password engine's `SECURITY_PASSWORD_*` keys into
//! [`rampart_password::PasswordConfig`].

use std::time::Duration;

use rampart_password::config::keys;
use rampart_password::{
    BreachedMode, ComplexityChecker, HashScheme, NormalizeForm, PasswordConfig, SingleHash,
};

use super::ConfigError;
use super::source::{BoolOrList, Source, invalid};

/// Reads every password key; cross-key checks happen in [`PasswordConfig::validate`].
pub(crate) fn read(s: &mut Source) -> Result<PasswordConfig, ConfigError> {
    let d = PasswordConfig::default();
    let mut c = PasswordConfig {
        salt: s.string(keys::PASSWORD_SALT)?,
        ..d.clone()
    };
    c.single_hash = match s.bool_or_list(keys::PASSWORD_SINGLE_HASH)? {
        None | Some(BoolOrList::Bool(false)) => d.single_hash,
        Some(BoolOrList::Bool(true)) => SingleHash::All,
        Some(BoolOrList::List(l)) => SingleHash::Schemes(l),
    };
    if let Some(name) = s.string(keys::PASSWORD_HASH)? {
        c.hash_scheme = HashScheme::from_name(&name).ok_or_else(|| {
            invalid(
                keys::PASSWORD_HASH,
                &format!("unsupported scheme {name:?}; use argon2, bcrypt, pbkdf2_sha512, pbkdf2_sha256, sha512_crypt or sha256_crypt"),
            )
        })?;
    }
    if let Some(opts) = s.int_table(keys::PASSWORD_HASH_PASSLIB_OPTIONS)? {
        for (k, v) in opts {
            let v = u32::try_from(v).map_err(|_| {
                invalid(
                    keys::PASSWORD_HASH_PASSLIB_OPTIONS,
                    &format!("{k} must be a positive integer"),
                )
            })?;
            match k.as_str() {
                "argon2__memory_cost" => c.argon2.memory_kib = v,
                "argon2__rounds" | "argon2__time_cost" => c.argon2.iterations = v,
                "argon2__parallelism" => c.argon2.parallelism = v,
                other => {
                    return Err(invalid(
                        keys::PASSWORD_HASH_PASSLIB_OPTIONS,
                        &format!(
                            "unsupported option {other:?} (argon2__memory_cost, argon2__rounds, argon2__parallelism)"
                        ),
                    ));
                }
            }
        }
    }
    c.length_min = to_usize(s.int(keys::PASSWORD_LENGTH_MIN, 8, 1, 128)?);
    c.complexity_checker = match s.string(keys::PASSWORD_COMPLEXITY_CHECKER)?.as_deref() {
        None | Some("" | "None" | "none") => None,
        Some("zxcvbn") => Some(ComplexityChecker::Zxcvbn),
        Some(other) => {
            return Err(invalid(
                keys::PASSWORD_COMPLEXITY_CHECKER,
                &format!("unsupported checker {other:?}; only \"zxcvbn\""),
            ));
        }
    };
    c.zxcvbn_minimum_score = u8::try_from(s.int(keys::ZXCVBN_MINIMUM_SCORE, 3, 0, 4)?).unwrap_or(3);
    c.check_breached = match s.string(keys::PASSWORD_CHECK_BREACHED)?.as_deref() {
        None | Some("" | "None" | "none" | "false" | "False") => None,
        Some("strict") => Some(BreachedMode::Strict),
        Some("best-effort") => Some(BreachedMode::BestEffort),
        Some(other) => {
            return Err(invalid(
                keys::PASSWORD_CHECK_BREACHED,
                &format!("expected \"strict\" or \"best-effort\", got {other:?}"),
            ));
        }
    };
    c.breached_count =
        u64::try_from(s.int(keys::PASSWORD_BREACHED_COUNT, 1, 1, i64::MAX)?).unwrap_or(1);
    if let Some(url) = s.string(keys::PASSWORD_BREACHED_URL)? {
        c.hibp_base_url = url;
    }
    let timeout = s.int(keys::PASSWORD_BREACHED_TIMEOUT, 5, 1, 600)?;
    c.hibp_timeout = Duration::from_secs(u64::try_from(timeout).unwrap_or(5));
    if let Some(form) = s.string(keys::PASSWORD_NORMALIZE_FORM)? {
        c.normalize_form = NormalizeForm::from_name(&form).ok_or_else(|| {
            invalid(
                keys::PASSWORD_NORMALIZE_FORM,
                "expected NFKD, NFKC, NFD, NFC or None",
            )
        })?;
    }
    c.allow_plaintext = s.bool(keys::PASSWORD_ALLOW_PLAINTEXT, false)?;
    let cores = i64::try_from(d.max_concurrency).unwrap_or(1);
    c.max_concurrency = to_usize(s.int(keys::PASSWORD_HASH_CONCURRENCY, cores, 1, 1024)?);
    Ok(c)
}

fn to_usize(v: i64) -> usize {
    usize::try_from(v).unwrap_or(1)
}
