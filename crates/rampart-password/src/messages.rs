//! Validation outcomes as Flask-Security reports them: message key, default English
//! text (from `SECURITY_MSG_*`, see `spec/messages.tsv`), and the form field.

/// `SECURITY_MSG_PASSWORD_INVALID_LENGTH` (`%(length)s` is the minimum).
pub const PASSWORD_INVALID_LENGTH: &str = "PASSWORD_INVALID_LENGTH";
/// `SECURITY_MSG_PASSWORD_BREACHED`.
pub const PASSWORD_BREACHED: &str = "PASSWORD_BREACHED";
/// `SECURITY_MSG_PASSWORD_BREACHED_SITE_ERROR`.
pub const PASSWORD_BREACHED_SITE_ERROR: &str = "PASSWORD_BREACHED_SITE_ERROR";
/// `SECURITY_MSG_PASSWORD_TOO_SIMPLE`; also the key of zxcvbn's warnings.
pub const PASSWORD_TOO_SIMPLE: &str = "PASSWORD_TOO_SIMPLE";

/// The form field password issues belong to.
pub const PASSWORD_FIELD: &str = "password";

/// The default English text of a password message key, with `%(length)s` left in.
#[must_use]
pub fn default_text(key: &str) -> Option<&'static str> {
    Some(match key {
        PASSWORD_INVALID_LENGTH => "Password must be at least %(length)s characters",
        PASSWORD_BREACHED => "Password on breached list",
        PASSWORD_BREACHED_SITE_ERROR => "Failed to contact breached passwords site",
        PASSWORD_TOO_SIMPLE => "Password not complex enough",
        _ => return None,
    })
}

/// Why a password was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordIssue {
    /// Message key without the `SECURITY_MSG_` prefix, e.g. `"PASSWORD_INVALID_LENGTH"`.
    /// zxcvbn warnings carry [`PASSWORD_TOO_SIMPLE`] with zxcvbn's own text, as
    /// Flask-Security returns them (not localisable there either).
    pub key: &'static str,
    /// The rendered default English text.
    pub message: String,
    /// The form field, `"password"`.
    pub field: &'static str,
}

impl PasswordIssue {
    /// An issue on the `password` field with `key`'s default text.
    #[must_use]
    pub fn from_key(key: &'static str) -> Self {
        Self::with_message(key, default_text(key).unwrap_or(key).to_owned())
    }

    /// An issue on the `password` field with an explicit text.
    #[must_use]
    pub fn with_message(key: &'static str, message: String) -> Self {
        Self {
            key,
            message,
            field: PASSWORD_FIELD,
        }
    }

    /// `PASSWORD_INVALID_LENGTH` with `%(length)s` replaced by `min`.
    #[must_use]
    pub fn invalid_length(min: usize) -> Self {
        let text = default_text(PASSWORD_INVALID_LENGTH)
            .unwrap_or_default()
            .replace("%(length)s", &min.to_string());
        Self::with_message(PASSWORD_INVALID_LENGTH, text)
    }
}

impl std::fmt::Display for PasswordIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines copied verbatim from `spec/messages.tsv` (Flask-Security-Too 5.9.2).
    const TSV: &str = "SECURITY_MSG_PASSWORD_BREACHED\terror\tPassword on breached list
SECURITY_MSG_PASSWORD_BREACHED_SITE_ERROR\terror\tFailed to contact breached passwords site
SECURITY_MSG_PASSWORD_INVALID_LENGTH\terror\tPassword must be at least %(length)s characters
SECURITY_MSG_PASSWORD_TOO_SIMPLE\terror\tPassword not complex enough";

    #[test]
    fn texts_match_messages_tsv() {
        for line in TSV.lines() {
            let mut cols = line.splitn(3, '\t');
            let key = cols
                .next()
                .unwrap_or_default()
                .trim_start_matches("SECURITY_MSG_");
            let text = cols.nth(1).unwrap_or_default();
            assert_eq!(default_text(key), Some(text), "{key}");
        }
        assert_eq!(
            PasswordIssue::invalid_length(8).message,
            "Password must be at least 8 characters"
        );
        assert_eq!(PasswordIssue::from_key(PASSWORD_BREACHED).field, "password");
    }
}
