//! Which configuration keys exist: Flask-Security's full list (generated from the real package
//! by `tools/fs_config_keys.py`), used to tell a typo from a setting Rampart does not implement.

const FLASK_SECURITY_KEYS: &str = include_str!("fs_keys.txt");

fn is_flask_security_key(key: &str) -> bool {
    FLASK_SECURITY_KEYS.lines().any(|k| k == key)
}

/// One warning per key that was given but not read.
pub(crate) fn report_unused<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    keys.map(|key| {
        if is_flask_security_key(key) {
            format!(
                "{key} is a Flask-Security setting that Rampart does not support; it is ignored"
            )
        } else {
            format!("{key} is an unknown configuration key (a typo?); it is ignored")
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_known_keys() {
        assert!(is_flask_security_key("SECURITY_PASSWORD_LENGTH_MIN"));
        assert!(is_flask_security_key("SECURITY_MSG_INVALID_PASSWORD"));
        assert!(!is_flask_security_key("SECURITY_PASSWORD_LENGHT_MIN"));
    }
}
