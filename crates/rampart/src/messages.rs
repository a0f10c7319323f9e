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

/// Every message key, without its `SECURITY_MSG_` prefix.
pub fn keys() -> impl Iterator<Item = &'static str> {
    table().keys().copied()
}

/// The category of a message (`error`, `info` or `success`): the query parameter name of SPA
/// redirects. Unknown keys are `error`.
pub fn category(key: &str) -> &'static str {
    static CATS: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let short = key.strip_prefix("SECURITY_MSG_").unwrap_or(key);
    CATS.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.splitn(3, '\t');
                let key = cols.next()?.strip_prefix("SECURITY_MSG_")?;
                Some((key, cols.next()?))
            })
            .collect()
    })
    .get(short)
    .copied()
    .unwrap_or("error")
}

/// Translates message texts; plug one in with
/// [`SecurityBuilder::translator`](crate::security::SecurityBuilder::translator).
pub trait Translate: Send + Sync + 'static {
    /// The translation of `key` whose (possibly overridden) English text is `english`, or
    /// `None` to keep the English text. Placeholders such as `%(email)s` must be kept.
    fn translate(&self, key: &str, english: &str) -> Option<String>;
}

/// The message texts an application answers with: Flask-Security's defaults, the
/// `SECURITY_MSG_*` overrides of the configuration, then an optional [`Translate`].
#[derive(Clone, Default)]
pub struct Messages {
    overrides: std::sync::Arc<HashMap<String, String>>,
    translator: Option<std::sync::Arc<dyn Translate>>,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("overrides", &self.overrides.len())
            .field("translator", &self.translator.is_some())
            .finish()
    }
}

impl Messages {
    /// Messages with overrides (keys with or without the `SECURITY_MSG_` prefix).
    pub fn new<I, K, V>(overrides: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        Self {
            overrides: std::sync::Arc::new(
                overrides
                    .into_iter()
                    .map(|(k, v)| {
                        let k = k.as_ref();
                        (
                            k.strip_prefix("SECURITY_MSG_").unwrap_or(k).to_owned(),
                            v.into(),
                        )
                    })
                    .collect(),
            ),
            translator: None,
        }
    }

    /// Adds a translator.
    #[must_use]
    pub fn with_translator(mut self, t: std::sync::Arc<dyn Translate>) -> Self {
        self.translator = Some(t);
        self
    }

    /// The text of `key`, placeholders left in place.
    pub fn text(&self, key: &str) -> String {
        let short = key.strip_prefix("SECURITY_MSG_").unwrap_or(key);
        let english = self
            .overrides
            .get(short)
            .map_or_else(|| text(short), String::as_str);
        self.translator
            .as_ref()
            .and_then(|t| t.translate(short, english))
            .unwrap_or_else(|| english.to_owned())
    }

    /// The text with `%(name)s` / `%(name)d` placeholders replaced.
    pub fn format(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.text(key);
        for (name, value) in args {
            out = out
                .replace(&format!("%({name})s"), value)
                .replace(&format!("%({name})d"), value);
        }
        out
    }
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
        assert_eq!(category("EMAIL_CONFIRMED"), "success");
        assert_eq!(category("SECURITY_MSG_INVALID_PASSWORD"), "error");
    }

    struct Upper;
    impl Translate for Upper {
        fn translate(&self, key: &str, english: &str) -> Option<String> {
            (key == "INVALID_PASSWORD").then(|| english.to_uppercase())
        }
    }

    #[test]
    fn overrides_and_translations() {
        let m = Messages::new([("SECURITY_MSG_EMAIL_CONFIRMED", "Done, %(email)s.")]);
        assert_eq!(
            m.format("EMAIL_CONFIRMED", &[("email", "a@b.c")]),
            "Done, a@b.c."
        );
        assert_eq!(m.text("INVALID_PASSWORD"), "Invalid password");
        let m = m.with_translator(std::sync::Arc::new(Upper));
        assert_eq!(m.text("INVALID_PASSWORD"), "INVALID PASSWORD");
        assert_eq!(keys().count(), 92);
    }
}
