//! Flask-Security's messages: every `SECURITY_MSG_*` key with its category and default English
//! text (`messages.tsv`, as Flask-Security-Too 5.9.2 ships them). Clients match on these strings.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The message table: `key \t category \t text`, keys with their `SECURITY_MSG_` prefix.
const TABLE: &str = include_str!("messages.tsv");

/// The default English text of a message key (`"INVALID_PASSWORD"` or
/// `"SECURITY_MSG_INVALID_PASSWORD"`), with `%(name)s` placeholders left in place.
///
/// Unknown keys give the key itself, so a typo shows up instead of an empty message.
pub fn text(key: &str) -> &str {
    let short = key.strip_prefix("SECURITY_MSG_").unwrap_or(key);
    table().get(short).copied().unwrap_or(key)
}

/// The table parsed once: key without its prefix → text.
fn table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE_MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE_MAP.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.splitn(3, '\t');
                let key = cols.next()?.strip_prefix("SECURITY_MSG_")?;
                Some((key, cols.nth(1)?))
            })
            .collect()
    })
}

/// The text with `%(name)s`/`%(name)d` placeholders replaced.
pub fn format(key: &str, args: &[(&str, &str)]) -> String {
    let mut out = text(key).to_owned();
    for (name, value) in args {
        out = out
            .replace(&format!("%({name})s"), value)
            .replace(&format!("%({name})d"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_texts() {
        assert_eq!(text("INVALID_PASSWORD"), "Invalid password");
        assert_eq!(
            text("SECURITY_MSG_UNAUTHENTICATED"),
            "You must sign in to view this resource."
        );
        assert_eq!(
            format("PASSWORD_INVALID_LENGTH", &[("length", "8")]),
            "Password must be at least 8 characters"
        );
        assert_eq!(text("NO_SUCH_KEY"), "NO_SUCH_KEY");
        assert_eq!(TABLE.lines().skip(1).count(), 92);
        assert_eq!(table().len(), 92);
    }
}
