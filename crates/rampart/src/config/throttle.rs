//! Reads the Rampart-only `SECURITY_THROTTLE_*` keys into [`ThrottleConfig`].

use super::ConfigError;
use super::source::{Source, invalid};
use crate::throttle::ThrottleConfig;

/// Reads every throttle key.
pub(crate) fn read(s: &mut Source) -> Result<ThrottleConfig, ConfigError> {
    let d = ThrottleConfig::default();
    let c = ThrottleConfig {
        enabled: s.bool("SECURITY_THROTTLE_ENABLED", d.enabled)?,
        account_limit: count(s, "SECURITY_THROTTLE_ACCOUNT_LIMIT", d.account_limit)?,
        account_window_secs: window(s, "SECURITY_THROTTLE_ACCOUNT_WINDOW", d.account_window_secs)?,
        address_limit: count(s, "SECURITY_THROTTLE_ADDRESS_LIMIT", d.address_limit)?,
        address_window_secs: window(s, "SECURITY_THROTTLE_ADDRESS_WINDOW", d.address_window_secs)?,
        max_delay_secs: window(s, "SECURITY_THROTTLE_MAX_DELAY", d.max_delay_secs)?,
        hard_limit: u32::try_from(s.int(
            "SECURITY_THROTTLE_HARD_LIMIT",
            i64::from(d.hard_limit),
            0,
            1_000_000,
        )?)
        .unwrap_or(d.hard_limit),
        forget_after_secs: window(s, "SECURITY_THROTTLE_FORGET_AFTER", d.forget_after_secs)?,
        key_prefix: s
            .string("SECURITY_THROTTLE_KEY_PREFIX")?
            .unwrap_or(d.key_prefix),
        refusal_delay_ms: u64::try_from(s.int(
            "SECURITY_THROTTLE_REFUSAL_DELAY_MS",
            i64::try_from(d.refusal_delay_ms).unwrap_or(250),
            0,
            10_000,
        )?)
        .unwrap_or(d.refusal_delay_ms),
    };
    if c.hard_limit > 0 && c.hard_limit < c.account_limit {
        return Err(invalid(
            "SECURITY_THROTTLE_HARD_LIMIT",
            "must be 0 (off) or at least SECURITY_THROTTLE_ACCOUNT_LIMIT",
        ));
    }
    Ok(c)
}

fn count(s: &mut Source, key: &str, default: u32) -> Result<u32, ConfigError> {
    let v = s.int(key, i64::from(default), 1, 1_000_000)?;
    Ok(u32::try_from(v).unwrap_or(default))
}

/// A duration of at least one second and at most 30 days.
fn window(s: &mut Source, key: &str, default: i64) -> Result<i64, ConfigError> {
    let v = s.duration_secs(key, default)?;
    if !(1..=30 * 86_400).contains(&v) {
        return Err(invalid(key, "must be between 1 second and 30 days"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, SecurityConfig};

    fn load(env: &[(&str, &str)]) -> Result<SecurityConfig, ConfigError> {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([(
                "SECURITY_PASSWORD_SINGLE_HASH".to_owned(),
                "true".to_owned(),
            )]);
        SecurityConfig::from_toml_and_env(None, env).map(|l| {
            assert!(l.warnings.is_empty(), "{:?}", l.warnings);
            l.config
        })
    }

    #[test]
    fn defaults_and_overrides() {
        let d = load(&[]).map(|c| c.throttle);
        assert_eq!(d.ok(), Some(crate::throttle::ThrottleConfig::default()));
        let c = load(&[
            ("SECURITY_THROTTLE_ENABLED", "false"),
            ("SECURITY_THROTTLE_ACCOUNT_LIMIT", "5"),
            ("SECURITY_THROTTLE_ACCOUNT_WINDOW", "10 minutes"),
            ("SECURITY_THROTTLE_ADDRESS_LIMIT", "50"),
            ("SECURITY_THROTTLE_ADDRESS_WINDOW", "60"),
            ("SECURITY_THROTTLE_MAX_DELAY", "2 hours"),
            ("SECURITY_THROTTLE_HARD_LIMIT", "0"),
            ("SECURITY_THROTTLE_FORGET_AFTER", "1 day"),
            ("SECURITY_THROTTLE_KEY_PREFIX", "app1:"),
            ("SECURITY_THROTTLE_REFUSAL_DELAY_MS", "0"),
        ])
        .map(|c| c.throttle);
        let c = c.unwrap_or_default();
        assert!(!c.enabled);
        assert_eq!(
            (
                c.account_limit,
                c.account_window_secs,
                c.address_limit,
                c.address_window_secs
            ),
            (5, 600, 50, 60)
        );
        assert_eq!(
            (c.max_delay_secs, c.hard_limit, c.forget_after_secs),
            (7200, 0, 86_400)
        );
        assert_eq!(c.refusal_delay_ms, 0);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("SECURITY_THROTTLE_ACCOUNT_LIMIT", "0"),
            ("SECURITY_THROTTLE_ACCOUNT_WINDOW", "-5"),
            ("SECURITY_THROTTLE_ADDRESS_LIMIT", "many"),
            ("SECURITY_THROTTLE_MAX_DELAY", "0"),
            ("SECURITY_THROTTLE_HARD_LIMIT", "3"),
            ("SECURITY_THROTTLE_ENABLED", "perhaps"),
            ("SECURITY_THROTTLE_REFUSAL_DELAY_MS", "20000"),
        ] {
            match load(&[(key, value)]) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}={value}: expected an error, got {other:?}"),
            }
        }
    }
}
