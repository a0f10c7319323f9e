//! Unicode normalisation of passwords (`SECURITY_PASSWORD_NORMALIZE_FORM`).
//!
//! Flask-Security normalises every password with `unicodedata.normalize("NFKD", …)`
//! before validating, hashing and verifying, so `ﬁ` and `fi`, or a composed `Å` and
//! `A` + combining ring, are the same password.

use unicode_normalization::UnicodeNormalization;

/// A Unicode normalisation form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NormalizeForm {
    /// Compatibility decomposition (Flask-Security's default).
    #[default]
    Nfkd,
    /// Compatibility decomposition followed by canonical composition.
    Nfkc,
    /// Canonical decomposition.
    Nfd,
    /// Canonical decomposition followed by canonical composition.
    Nfc,
    /// No normalisation (`SECURITY_PASSWORD_NORMALIZE_FORM = None`).
    None,
}

impl NormalizeForm {
    /// Parses Python's names: `"NFKD"`, `"NFKC"`, `"NFD"`, `"NFC"` (any case), or
    /// `""`/`"None"` for no normalisation.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "NFKD" => Self::Nfkd,
            "NFKC" => Self::Nfkc,
            "NFD" => Self::Nfd,
            "NFC" => Self::Nfc,
            "" | "NONE" => Self::None,
            _ => return None,
        })
    }

    /// Normalises `password` to this form.
    #[must_use]
    pub fn apply(self, password: &str) -> String {
        match self {
            Self::Nfkd => password.nfkd().collect(),
            Self::Nfkc => password.nfkc().collect(),
            Self::Nfd => password.nfd().collect(),
            Self::Nfc => password.nfc().collect(),
            Self::None => password.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NormalizeForm;

    #[test]
    fn forms_table() {
        // (input, form, expected)
        let cases: &[(&str, NormalizeForm, &str)] = &[
            ("\u{fb01}", NormalizeForm::Nfkd, "fi"),
            ("\u{fb01}", NormalizeForm::Nfkc, "fi"),
            ("\u{fb01}", NormalizeForm::Nfd, "\u{fb01}"),
            ("\u{fb01}", NormalizeForm::Nfc, "\u{fb01}"),
            ("\u{ff12}\u{ff10}", NormalizeForm::Nfkd, "20"),
            ("\u{212b}", NormalizeForm::Nfkd, "A\u{30a}"),
            ("\u{212b}", NormalizeForm::Nfc, "\u{c5}"),
            ("\u{c5}", NormalizeForm::Nfkd, "A\u{30a}"),
            ("A\u{30a}", NormalizeForm::Nfc, "\u{c5}"),
            ("A\u{30a}", NormalizeForm::Nfkc, "\u{c5}"),
            ("\u{2460}", NormalizeForm::Nfkd, "1"),
            ("x\u{00a0}y", NormalizeForm::Nfkd, "x y"),
            ("\u{1f510}", NormalizeForm::Nfkd, "\u{1f510}"),
            ("caf\u{e9}", NormalizeForm::None, "caf\u{e9}"),
        ];
        for (input, form, expected) in cases {
            assert_eq!(form.apply(input), *expected, "{form:?}({input:?})");
        }
    }

    #[test]
    fn names() {
        assert_eq!(NormalizeForm::from_name("nfkd"), Some(NormalizeForm::Nfkd));
        assert_eq!(NormalizeForm::from_name("NFC"), Some(NormalizeForm::Nfc));
        assert_eq!(NormalizeForm::from_name("None"), Some(NormalizeForm::None));
        assert_eq!(NormalizeForm::from_name("NFX"), None);
    }
}
