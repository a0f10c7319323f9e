//! Raw configuration values from a TOML file and the environment, and typed readers that name
//! the offending key in every error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::ConfigError;

/// A raw value: TOML values from a file, strings from the environment.
#[derive(Debug, Clone)]
pub(crate) enum Raw {
    Toml(toml::Value),
    Env(String),
}

/// All raw values by key, and the keys a reader has consumed.
#[derive(Debug, Default)]
pub(crate) struct Source {
    values: BTreeMap<String, Raw>,
    used: BTreeSet<String>,
}

/// Keys whose prefix marks them as configuration Rampart reads.
pub(crate) fn is_config_key(key: &str) -> bool {
    key.starts_with("SECURITY_")
        || matches!(
            key,
            "SECRET_KEY"
                | "SECRET_KEY_FALLBACKS"
                | "SESSION_COOKIE_NAME"
                | "SESSION_COOKIE_SECURE"
                | "PERMANENT_SESSION_LIFETIME"
                | "WTF_CSRF_ENABLED"
                | "WTF_CSRF_TIME_LIMIT"
                | "SERVER_NAME"
                | "PREFERRED_URL_SCHEME"
        )
}

impl Source {
    /// Reads a TOML file whose top-level keys are configuration keys.
    pub(crate) fn add_toml_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        self.add_toml_str(&text)
            .map_err(|message| ConfigError::File {
                path: path.display().to_string(),
                message,
            })
    }

    /// Adds the top-level keys of a TOML document.
    pub(crate) fn add_toml_str(&mut self, text: &str) -> Result<(), String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        for (k, v) in table {
            self.values.insert(k, Raw::Toml(v));
        }
        Ok(())
    }

    /// Adds configuration keys from environment-style pairs (later sources win).
    pub(crate) fn add_env<I: IntoIterator<Item = (String, String)>>(&mut self, vars: I) {
        for (k, v) in vars {
            if is_config_key(&k) {
                self.values.insert(k, Raw::Env(v));
            }
        }
    }

    fn take(&mut self, key: &str) -> Option<Raw> {
        let v = self.values.get(key).cloned();
        if v.is_some() {
            self.used.insert(key.to_owned());
        }
        v
    }

    /// Keys present in the source that no reader consumed.
    pub(crate) fn unused(&self) -> impl Iterator<Item = &str> {
        self.values
            .keys()
            .filter(|k| !self.used.contains(*k))
            .map(String::as_str)
    }

    /// A string value.
    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Raw::Env(s)) => Ok(Some(s)),
            Some(Raw::Toml(toml::Value::String(s))) => Ok(Some(s)),
            Some(Raw::Toml(_)) => Err(invalid(key, "expected a string")),
        }
    }

    /// A boolean; the environment accepts `true/false`, `True/False`, `1/0`, `yes/no`.
    pub(crate) fn bool(&mut self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Raw::Toml(toml::Value::Boolean(b))) => Ok(b),
            Some(Raw::Env(s)) => {
                parse_bool(&s).ok_or_else(|| invalid(key, "expected true or false"))
            }
            Some(Raw::Toml(_)) => Err(invalid(key, "expected true or false")),
        }
    }

    /// An integer within `min..=max`.
    pub(crate) fn int(
        &mut self,
        key: &str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        let v = match self.take(key) {
            None => return Ok(default),
            Some(Raw::Toml(toml::Value::Integer(i))) => i,
            Some(Raw::Env(s)) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid(key, "expected an integer"))?,
            Some(Raw::Toml(_)) => return Err(invalid(key, "expected an integer")),
        };
        if v < min || v > max {
            return Err(invalid(
                key,
                &format!("must be between {min} and {max}, got {v}"),
            ));
        }
        Ok(v)
    }

    /// A list of strings: a TOML array, or in the environment a JSON array or a comma-separated
    /// list.
    pub(crate) fn list(&mut self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Raw::Toml(toml::Value::Array(items))) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    _ => Err(invalid(key, "expected a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Raw::Env(s)) => Ok(Some(parse_env_list(&s).map_err(|m| invalid(key, &m))?)),
            Some(Raw::Toml(_)) => Err(invalid(key, "expected a list of strings")),
        }
    }

    /// A string-or-bool value (Flask-Security keys such as `SECURITY_PASSWORD_SINGLE_HASH`
    /// accept `True` or a list).
    pub(crate) fn bool_or_list(&mut self, key: &str) -> Result<Option<BoolOrList>, ConfigError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(Raw::Toml(toml::Value::Boolean(_))) => {
                Ok(Some(BoolOrList::Bool(self.bool(key, false)?)))
            }
            Some(Raw::Env(s)) if parse_bool(s).is_some() => {
                Ok(Some(BoolOrList::Bool(self.bool(key, false)?)))
            }
            Some(_) => Ok(self.list(key)?.map(BoolOrList::List)),
        }
    }

    /// A TOML table of integers (e.g. `SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS`); the
    /// environment gives it as a JSON object.
    pub(crate) fn int_table(
        &mut self,
        key: &str,
    ) -> Result<Option<BTreeMap<String, i64>>, ConfigError> {
        let bad = || {
            invalid(
                key,
                "expected a table of integers, e.g. {argon2__rounds = 3}",
            )
        };
        match self.take(key) {
            None => Ok(None),
            Some(Raw::Toml(toml::Value::Table(t))) => t
                .into_iter()
                .map(|(k, v)| v.as_integer().map(|i| (k, i)).ok_or_else(bad))
                .collect::<Result<_, _>>()
                .map(Some),
            Some(Raw::Env(s)) => {
                let v: serde_json::Value = serde_json::from_str(&s).map_err(|_| bad())?;
                let obj = v.as_object().ok_or_else(bad)?;
                obj.iter()
                    .map(|(k, v)| v.as_i64().map(|i| (k.clone(), i)).ok_or_else(bad))
                    .collect::<Result<_, _>>()
                    .map(Some)
            }
            Some(Raw::Toml(_)) => Err(bad()),
        }
    }

    /// A table of plain values (e.g. `SECURITY_CSRF_COOKIE`): a TOML table, or in the
    /// environment a JSON object.
    pub(crate) fn table(
        &mut self,
        key: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ConfigError> {
        let bad = || invalid(key, "expected a table, e.g. {samesite = \"Lax\"}");
        let value = match self.take(key) {
            None => return Ok(None),
            Some(Raw::Toml(t @ toml::Value::Table(_))) => {
                serde_json::to_value(t).map_err(|_| bad())?
            }
            Some(Raw::Env(s)) => serde_json::from_str(&s).map_err(|_| bad())?,
            Some(Raw::Toml(_)) => return Err(bad()),
        };
        match value {
            serde_json::Value::Object(map) => Ok(Some(map)),
            _ => Err(bad()),
        }
    }

    /// A duration: an integer number of seconds, or a string such as `"5 minutes"`,
    /// `"24 hours"`, `"1 day"`; negative values are allowed where Flask-Security allows them.
    pub(crate) fn duration_secs(&mut self, key: &str, default: i64) -> Result<i64, ConfigError> {
        match self.take(key) {
            None => Ok(default),
            Some(Raw::Toml(toml::Value::Integer(i))) => Ok(i),
            Some(Raw::Toml(toml::Value::String(s))) | Some(Raw::Env(s)) => parse_duration(&s)
                .ok_or_else(|| invalid(key, "expected seconds or e.g. \"5 minutes\"")),
            Some(Raw::Toml(_)) => Err(invalid(key, "expected seconds or e.g. \"5 minutes\"")),
        }
    }
}

/// A Flask-Security value that is either a boolean or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BoolOrList {
    Bool(bool),
    List(Vec<String>),
}

pub(crate) fn invalid(key: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

fn parse_env_list(s: &str) -> Result<Vec<String>, String> {
    let t = s.trim();
    if t.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(t)
            .map_err(|_| "expected a JSON list of strings".to_owned());
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Parses `"90"`, `"-1"`, `"5 minutes"`, `"1 day"`, `"2 hours"`, `"30 seconds"` into seconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let mut parts = t.split_whitespace();
    let n: i64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let factor = match unit.trim_end_matches('s') {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (input, want) in [
            ("90", Some(90)),
            ("-1", Some(-1)),
            ("5 minutes", Some(300)),
            ("1 day", Some(86_400)),
            ("2 hours", Some(7200)),
            ("3 fortnights", None),
            ("soon", None),
            ("5 minutes extra", None),
        ] {
            assert_eq!(parse_duration(input), want, "{input}");
        }
    }

    #[test]
    fn env_values() {
        let mut s = Source::default();
        s.add_env([
            ("SECURITY_A".to_owned(), "True".to_owned()),
            ("SECURITY_B".to_owned(), "a, b".to_owned()),
            ("SECURITY_C".to_owned(), "[\"x\"]".to_owned()),
            ("SECURITY_D".to_owned(), "12".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ]);
        assert!(s.bool("SECURITY_A", false).is_ok_and(|b| b));
        assert_eq!(
            s.list("SECURITY_B").ok().flatten(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(s.list("SECURITY_C").ok().flatten(), Some(vec!["x".into()]));
        assert!(
            matches!(s.int("SECURITY_D", 0, 0, 10), Err(ConfigError::Invalid { ref key, .. }) if key == "SECURITY_D")
        );
        assert_eq!(s.unused().count(), 0);
    }
}
