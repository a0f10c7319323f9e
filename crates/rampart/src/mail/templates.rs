//! Email templates: Jinja2 syntax (minijinja), one `.txt` and one `.html` per email as in
//! Flask-Security's `security/email/`, with Flask-Security's default subjects. Applications
//! override any template from a directory (`SECURITY_EMAIL_TEMPLATE_DIR`) or in code, and any
//! subject through its `SECURITY_EMAIL_SUBJECT_*` key. HTML templates are auto-escaped.

use std::collections::HashMap;
use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

/// Every email Flask-Security sends (plus Rampart's notice to the old address after an email
/// change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailKind {
    /// Registration (with the confirmation link when confirmable).
    Welcome,
    /// Generic responses: someone registered an address that has an account.
    WelcomeExisting,
    /// Generic responses: someone registered a username that is taken.
    WelcomeExistingUsername,
    /// `/confirm`: the confirmation link again.
    ConfirmationInstructions,
    /// `/reset`: the reset link.
    ResetInstructions,
    /// After a reset.
    ResetNotice,
    /// After `/change`.
    ChangeNotice,
    /// `/change-email`: the link, to the new address.
    ChangeEmailInstructions,
    /// After an email change, to the old address (Rampart addition).
    ChangeEmailNotice,
    /// After `/change-username`.
    ChangeUsernameNotice,
    /// `/recover-username`.
    UsernameRecovery,
    /// Passwordless login link.
    LoginInstructions,
    /// Two-factor code.
    TwoFactorInstructions,
    /// Two-factor rescue request.
    TwoFactorRescue,
    /// Unified sign-in code.
    UsInstructions,
}

impl EmailKind {
    /// All kinds.
    pub const ALL: [EmailKind; 15] = [
        Self::Welcome,
        Self::WelcomeExisting,
        Self::WelcomeExistingUsername,
        Self::ConfirmationInstructions,
        Self::ResetInstructions,
        Self::ResetNotice,
        Self::ChangeNotice,
        Self::ChangeEmailInstructions,
        Self::ChangeEmailNotice,
        Self::ChangeUsernameNotice,
        Self::UsernameRecovery,
        Self::LoginInstructions,
        Self::TwoFactorInstructions,
        Self::TwoFactorRescue,
        Self::UsInstructions,
    ];

    /// The template name (Flask-Security's file name without extension).
    pub fn name(self) -> &'static str {
        self.row().0
    }

    /// The subject's configuration key.
    pub fn subject_key(self) -> &'static str {
        self.row().1
    }

    /// Flask-Security's default subject.
    pub fn default_subject(self) -> &'static str {
        self.row().2
    }

    fn row(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Welcome => ("welcome", "SECURITY_EMAIL_SUBJECT_REGISTER", "Welcome"),
            Self::WelcomeExisting => (
                "welcome_existing",
                "SECURITY_EMAIL_SUBJECT_REGISTER",
                "Welcome",
            ),
            Self::WelcomeExistingUsername => (
                "welcome_existing_username",
                "SECURITY_EMAIL_SUBJECT_REGISTER",
                "Welcome",
            ),
            Self::ConfirmationInstructions => (
                "confirmation_instructions",
                "SECURITY_EMAIL_SUBJECT_CONFIRM",
                "Please confirm your email",
            ),
            Self::ResetInstructions => (
                "reset_instructions",
                "SECURITY_EMAIL_SUBJECT_PASSWORD_RESET",
                "Password reset instructions",
            ),
            Self::ResetNotice => (
                "reset_notice",
                "SECURITY_EMAIL_SUBJECT_PASSWORD_NOTICE",
                "Your password has been reset",
            ),
            Self::ChangeNotice => (
                "change_notice",
                "SECURITY_EMAIL_SUBJECT_PASSWORD_CHANGE_NOTICE",
                "Your password has been changed",
            ),
            Self::ChangeEmailInstructions => (
                "change_email_instructions",
                "SECURITY_CHANGE_EMAIL_SUBJECT",
                "Confirm your new email address",
            ),
            Self::ChangeEmailNotice => (
                "change_email_notice",
                "SECURITY_CHANGE_EMAIL_NOTICE_SUBJECT",
                "Your email address has been changed",
            ),
            Self::ChangeUsernameNotice => (
                "change_username_notice",
                "SECURITY_EMAIL_SUBJECT_USERNAME_CHANGE_NOTICE",
                "Your username has been changed",
            ),
            Self::UsernameRecovery => (
                "username_recovery",
                "SECURITY_EMAIL_SUBJECT_USERNAME_RECOVERY",
                "Your requested username",
            ),
            Self::LoginInstructions => (
                "login_instructions",
                "SECURITY_EMAIL_SUBJECT_PASSWORDLESS",
                "Login instructions",
            ),
            Self::TwoFactorInstructions => (
                "two_factor_instructions",
                "SECURITY_EMAIL_SUBJECT_TWO_FACTOR",
                "Two-Factor Login",
            ),
            Self::TwoFactorRescue => (
                "two_factor_rescue",
                "SECURITY_EMAIL_SUBJECT_TWO_FACTOR_RESCUE",
                "Two-Factor Rescue",
            ),
            Self::UsInstructions => (
                "us_instructions",
                "SECURITY_US_EMAIL_SUBJECT",
                "Verification Code",
            ),
        }
    }

    fn defaults(self) -> (&'static str, &'static str) {
        macro_rules! pair {
            ($n:literal) => {
                (
                    include_str!(concat!("../../templates/email/", $n, ".txt")),
                    include_str!(concat!("../../templates/email/", $n, ".html")),
                )
            };
        }
        match self {
            Self::Welcome => pair!("welcome"),
            Self::WelcomeExisting => pair!("welcome_existing"),
            Self::WelcomeExistingUsername => pair!("welcome_existing_username"),
            Self::ConfirmationInstructions => pair!("confirmation_instructions"),
            Self::ResetInstructions => pair!("reset_instructions"),
            Self::ResetNotice => pair!("reset_notice"),
            Self::ChangeNotice => pair!("change_notice"),
            Self::ChangeEmailInstructions => pair!("change_email_instructions"),
            Self::ChangeEmailNotice => pair!("change_email_notice"),
            Self::ChangeUsernameNotice => pair!("change_username_notice"),
            Self::UsernameRecovery => pair!("username_recovery"),
            Self::LoginInstructions => pair!("login_instructions"),
            Self::TwoFactorInstructions => pair!("two_factor_instructions"),
            Self::TwoFactorRescue => pair!("two_factor_rescue"),
            Self::UsInstructions => pair!("us_instructions"),
        }
    }
}

/// A template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
#[error("email template {name}: {message}")]
pub struct TemplateError {
    /// The template's file name.
    pub name: String,
    /// What went wrong.
    pub message: String,
}

/// A rendered email: subject and bodies.
#[derive(Debug, Clone)]
pub struct RenderedEmail {
    /// The subject.
    pub subject: String,
    /// The plain-text body, if plain text is enabled.
    pub text: Option<String>,
    /// The HTML body, if HTML is enabled.
    pub html: Option<String>,
}

/// The email templates and subjects.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
    subjects: HashMap<EmailKind, String>,
    plaintext: bool,
    html: bool,
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = Environment::new();
        for kind in EmailKind::ALL {
            let (txt, html) = kind.defaults();
            // The defaults are compiled into the crate and tested: adding them cannot fail.
            let _ = env.add_template_owned(txt_name(kind), txt);
            let _ = env.add_template_owned(html_name(kind), html);
        }
        Self {
            env,
            subjects: HashMap::new(),
            plaintext: true,
            html: true,
        }
    }
}

fn txt_name(kind: EmailKind) -> String {
    format!("{}.txt", kind.name())
}

fn html_name(kind: EmailKind) -> String {
    format!("{}.html", kind.name())
}

impl Templates {
    /// Replaces one template (`name` like `welcome.txt` or `reset_instructions.html`).
    ///
    /// # Errors
    /// [`TemplateError`] when the source does not compile.
    pub fn with_template(mut self, name: &str, source: &str) -> Result<Self, TemplateError> {
        self.env
            .add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|e| TemplateError {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(self)
    }

    /// Replaces every template found in `dir` (`<name>.txt`, `<name>.html`); missing files
    /// keep the defaults.
    ///
    /// # Errors
    /// [`TemplateError`] for an unreadable file or one that does not compile.
    pub fn with_dir(mut self, dir: &Path) -> Result<Self, TemplateError> {
        for kind in EmailKind::ALL {
            for name in [txt_name(kind), html_name(kind)] {
                let path = dir.join(&name);
                if !path.exists() {
                    continue;
                }
                let source = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                    name: path.display().to_string(),
                    message: e.to_string(),
                })?;
                self = self.with_template(&name, &source)?;
            }
        }
        Ok(self)
    }

    /// Replaces a subject.
    #[must_use]
    pub fn with_subject(mut self, kind: EmailKind, subject: impl Into<String>) -> Self {
        self.subjects.insert(kind, subject.into());
        self
    }

    /// Chooses the bodies (`SECURITY_EMAIL_PLAINTEXT`, `SECURITY_EMAIL_HTML`).
    #[must_use]
    pub fn with_bodies(mut self, plaintext: bool, html: bool) -> Self {
        self.plaintext = plaintext;
        self.html = html;
        self
    }

    /// The subject of a kind.
    pub fn subject(&self, kind: EmailKind) -> &str {
        self.subjects
            .get(&kind)
            .map_or(kind.default_subject(), String::as_str)
    }

    /// Renders a kind with `context` (`user`, links, tokens, `within` …).
    ///
    /// # Errors
    /// [`TemplateError`] when rendering fails (an override using a missing filter …).
    pub fn render(
        &self,
        kind: EmailKind,
        context: &impl Serialize,
    ) -> Result<RenderedEmail, TemplateError> {
        let ctx = minijinja::Value::from(minijinja::value::Serde(context));
        let render = |name: String| -> Result<String, TemplateError> {
            self.env
                .get_template(&name)
                .and_then(|t| t.render(&ctx))
                .map(|s| s.trim().to_owned() + "\n")
                .map_err(|e| TemplateError {
                    name,
                    message: e.to_string(),
                })
        };
        Ok(RenderedEmail {
            subject: self.subject(kind).to_owned(),
            text: self.plaintext.then(|| render(txt_name(kind))).transpose()?,
            html: self.html.then(|| render(html_name(kind))).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_default_renders_with_its_subject() {
        let t = Templates::default();
        let ctx = json!({"user": {"email": "a@example.com", "username": null},
            "confirmation_link": "http://x/confirm/T", "reset_link": "http://x/reset/T",
            "link": "http://x/change-email/T", "within": "2 days", "token": "123456",
            "new_email": "n@example.com", "old_email": "o@example.com", "email": "a@example.com",
            "username": "name", "login_link": "http://x/l"});
        for kind in EmailKind::ALL {
            let r = t.render(kind, &ctx);
            assert!(r.is_ok(), "{kind:?}: {r:?}");
            assert_eq!(
                r.map(|r| r.subject).unwrap_or_default(),
                kind.default_subject()
            );
        }
        let r = t.render(EmailKind::ResetInstructions, &ctx).ok();
        assert!(
            r.and_then(|r| r.text)
                .is_some_and(|t| t.contains("http://x/reset/T"))
        );
    }

    #[test]
    fn overrides_and_escaping() {
        let t = Templates::default()
            .with_template("welcome.txt", "Hi {{ user.email }}")
            .and_then(|t| t.with_template("welcome.html", "<b>{{ user.email }}</b>"))
            .map(|t| t.with_subject(EmailKind::Welcome, "Hello there"));
        let Ok(t) = t else { panic!("override failed") };
        let r = t.render(
            EmailKind::Welcome,
            &json!({"user": {"email": "<x>@example.com"}}),
        );
        let Ok(r) = r else { panic!("render failed") };
        assert_eq!(r.subject, "Hello there");
        assert_eq!(r.text.as_deref(), Some("Hi <x>@example.com\n"));
        assert_eq!(r.html.as_deref(), Some("<b>&lt;x&gt;@example.com</b>\n"));
        assert!(
            Templates::default()
                .with_template("welcome.txt", "{% if %}")
                .is_err()
        );
    }
}
