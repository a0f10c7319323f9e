//! Length and complexity rules (`SECURITY_PASSWORD_LENGTH_MIN`,
//! `SECURITY_PASSWORD_COMPLEXITY_CHECKER`), applied to the normalised password.

use zxcvbn::feedback::Warning;

use crate::messages::{PASSWORD_TOO_SIMPLE, PasswordIssue};

/// Length in code points must be within `min..=max`; the message names only `min`,
/// as in Flask-Security.
#[must_use]
pub fn check_length(normalized: &str, min: usize, max: usize) -> Option<PasswordIssue> {
    let len = normalized.chars().count();
    (len < min || len > max).then(|| PasswordIssue::invalid_length(min))
}

/// zxcvbn score must be at least `minimum_score` (0–4), taking `user_inputs` (the
/// user's e-mail, username, …) into account. The issue text is zxcvbn's English
/// warning when it has one, else `PASSWORD_TOO_SIMPLE`.
#[must_use]
pub fn check_complexity(
    normalized: &str,
    user_inputs: &[&str],
    minimum_score: u8,
) -> Option<PasswordIssue> {
    let entropy = zxcvbn::zxcvbn(normalized, user_inputs);
    if u8::from(entropy.score()) >= minimum_score {
        return None;
    }
    match entropy.feedback().and_then(|f| f.warning()) {
        Some(warning) => Some(PasswordIssue::with_message(
            PASSWORD_TOO_SIMPLE,
            warning_text(warning),
        )),
        None => Some(PasswordIssue::from_key(PASSWORD_TOO_SIMPLE)),
    }
}

/// zxcvbn's warning in the wording of Python's `zxcvbn` 4.5 (which Flask-Security
/// returns); the Rust crate words one of them differently.
fn warning_text(warning: Warning) -> String {
    match warning {
        Warning::SequencesLikeAbcAreEasyToGuess => {
            "Sequences like \"abc\" or \"6543\" are easy to guess.".to_owned()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_table() {
        // (password, min, rejected)
        let cases: &[(String, usize, bool)] = &[
            ("a".repeat(7), 8, true),
            ("a".repeat(8), 8, false),
            ("a".repeat(128), 8, false),
            ("a".repeat(129), 8, true),
            ("\u{1f980}".repeat(8), 8, false), // code points, not bytes
            ("\u{1f980}".repeat(7), 8, true),
            (String::new(), 1, true),
            ("ab".to_owned(), 2, false),
        ];
        for (pw, min, rejected) in cases {
            let issue = check_length(pw, *min, 128);
            assert_eq!(
                issue.is_some(),
                *rejected,
                "{} chars, min {min}",
                pw.chars().count()
            );
            if let Some(issue) = issue {
                assert_eq!(issue.key, "PASSWORD_INVALID_LENGTH");
                assert_eq!(issue.field, "password");
                assert_eq!(
                    issue.message,
                    format!("Password must be at least {min} characters")
                );
            }
        }
    }

    #[test]
    fn complexity_table() {
        // (password, user inputs, minimum score, passes)
        let cases: &[(&str, &[&str], u8, bool)] = &[
            ("password", &[], 3, false),
            ("qwertyuiop", &[], 3, false),
            ("Tr0ub4dor&3-horse-staple-xyzzy", &[], 3, true),
            ("correct horse battery staple", &[], 3, true),
            // The same strong-looking password is weak once it is the user's own data.
            ("jwagner.rampart2024", &[], 3, true),
            (
                "jwagner.rampart2024",
                &["jwagner.rampart2024@example.com", "jwagner.rampart2024"],
                3,
                false,
            ),
            ("password", &[], 0, true),
        ];
        for (pw, inputs, min, passes) in cases {
            let issue = check_complexity(pw, inputs, *min);
            assert_eq!(
                issue.is_none(),
                *passes,
                "{pw:?} inputs={inputs:?} min={min}"
            );
            if let Some(issue) = issue {
                assert_eq!(issue.key, "PASSWORD_TOO_SIMPLE");
                assert!(!issue.message.is_empty());
            }
        }
    }

    #[test]
    fn complexity_messages() {
        let Some(issue) = check_complexity("password", &[], 3) else {
            panic!("'password' passed")
        };
        assert_eq!(issue.message, "This is a top-10 common password.");
        let Some(issue) = check_complexity("abcdefgh", &[], 3) else {
            panic!("'abcdefgh' passed")
        };
        assert_eq!(
            issue.message,
            "Sequences like \"abc\" or \"6543\" are easy to guess."
        );
    }
}
