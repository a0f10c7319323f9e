//! Credential nicknames: Flask-Security's rules (NFKD, letters, numbers, connector and dash
//! punctuation and spaces, at most `SECURITY_WAN_NAME_MAX_LENGTH` characters).

use unicode_normalization::UnicodeNormalization;

/// Why a nickname is refused (the `SECURITY_MSG_*` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameProblem {
    /// Missing or blank: `WEBAUTHN_NAME_REQUIRED`.
    Required,
    /// Other characters, or too long: `WEBAUTHN_NAME_DISALLOWED_CHARACTERS`.
    Disallowed,
}

impl NameProblem {
    /// The message key.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Required => "WEBAUTHN_NAME_REQUIRED",
            Self::Disallowed => "WEBAUTHN_NAME_DISALLOWED_CHARACTERS",
        }
    }
}

/// Unicode categories Pc (connector punctuation) and Pd (dash punctuation), and Zs (space
/// separators), which `char` has no predicate for.
fn punctuation_or_space(c: char) -> bool {
    matches!(
        c,
        '_' | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}' | '\u{FE4D}'
            ..='\u{FE4F}' | '\u{FF3F}'
    ) || matches!(
        c,
        '-' | '\u{058A}' | '\u{05BE}' | '\u{1400}' | '\u{1806}' | '\u{2010}'
            ..='\u{2015}'
                | '\u{2E17}'
                | '\u{2E1A}'
                | '\u{2E3A}'
                | '\u{2E3B}'
                | '\u{2E40}'
                | '\u{301C}'
                | '\u{3030}'
                | '\u{30A0}'
                | '\u{FE31}'
                | '\u{FE32}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
    ) || matches!(
        c,
        ' ' | '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Combining marks that NFKD splits off letters (so `é` stays allowed, as in Python where the
/// check runs on the normalized text of a name typed with precomposed characters).
fn combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The normalized nickname, or why it is refused.
pub(crate) fn check(raw: Option<&str>, max_len: usize) -> Result<String, NameProblem> {
    let name: String = raw.unwrap_or_default().trim().nfkd().collect();
    if name.is_empty() {
        return Err(NameProblem::Required);
    }
    let ok = name
        .chars()
        .all(|c| c.is_alphanumeric() || combining_mark(c) || punctuation_or_space(c));
    if !ok || name.chars().count() > max_len {
        return Err(NameProblem::Disallowed);
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickname_rules() {
        let table: &[(Option<&str>, Result<&str, NameProblem>)] = &[
            (Some("My key"), Ok("My key")),
            (Some("  yubi_key-2 "), Ok("yubi_key-2")),
            (Some("Schlüssel"), Ok("Schlu\u{308}ssel")),
            (Some("ｋｅｙ"), Ok("key")),
            (None, Err(NameProblem::Required)),
            (Some("   "), Err(NameProblem::Required)),
            (Some("<script>"), Err(NameProblem::Disallowed)),
            (Some("a/b"), Err(NameProblem::Disallowed)),
            (Some("key\u{0}"), Err(NameProblem::Disallowed)),
            (Some("tab\tkey"), Err(NameProblem::Disallowed)),
        ];
        for (input, want) in table {
            let got = check(*input, 64);
            assert_eq!(got.as_deref().map_err(|e| *e), *want, "{input:?}");
        }
        assert_eq!(
            check(Some(&"a".repeat(65)), 64),
            Err(NameProblem::Disallowed)
        );
        assert!(check(Some(&"a".repeat(64)), 64).is_ok());
    }
}
