//! The account lifecycle's services: emailed links, mail, events and messages, shared by the
//! registration, confirmation, reset and change views.

pub mod links;

use std::time::Duration;

use rampart_core::model::User;
use rampart_core::signing::SigningError;
use serde_json::{Value, json};

use crate::config::SecurityConfig;
use crate::events::Events;
use crate::mail::{Email, EmailKind, MailError, MailQueue, Templates};
use crate::messages::Messages;
use links::LinkTokens;

/// The lifecycle services held by [`Security`](crate::Security).
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub(crate) mail: Option<MailQueue>,
    pub(crate) templates: Templates,
    pub(crate) events: Events,
    pub(crate) messages: Messages,
    pub(crate) links: LinkTokens,
    pub(crate) base_url: Option<String>,
}

/// Why an email could not be handed to the queue.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No mailer is configured.
    #[error("no mailer is configured")]
    NoMailer,
    /// The template failed.
    #[error(transparent)]
    Template(#[from] crate::mail::TemplateError),
    /// The queue refused.
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl Lifecycle {
    /// The absolute URL of `path` on the configured server (never the request's `Host`).
    pub fn external_url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.as_deref().unwrap_or(""))
    }

    /// The event hub.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The message texts.
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The link tokens.
    pub fn links(&self) -> &LinkTokens {
        &self.links
    }

    /// The mail queue, if a mailer is configured.
    pub fn mail_queue(&self) -> Option<&MailQueue> {
        self.mail.as_ref()
    }

    /// Renders `kind` for `to` with `context` (plus `security` flags) and queues it.
    ///
    /// # Errors
    /// [`SendError`]; the caller answers 500 as Flask-Security does when mail fails.
    pub fn send(
        &self,
        config: &SecurityConfig,
        kind: EmailKind,
        to: &str,
        mut context: Value,
    ) -> Result<(), SendError> {
        let queue = self.mail.as_ref().ok_or(SendError::NoMailer)?;
        if let Value::Object(map) = &mut context {
            map.insert(
                "security".to_owned(),
                json!({
                    "confirmable": config.confirmable,
                    "recoverable": config.recoverable,
                    "registerable": config.registerable,
                    "username_enable": config.username_enable,
                }),
            );
        }
        let rendered = self.templates.render(kind, &context)?;
        queue.enqueue(Email {
            from: config.lifecycle.email_sender.clone(),
            to: to.to_owned(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            kind: kind.name().to_owned(),
        })?;
        Ok(())
    }
}

impl Lifecycle {
    /// `(link, token)` of a confirmation link for `user`.
    ///
    /// # Errors
    /// When the token cannot be signed (not in practice).
    pub fn confirm_link(
        &self,
        config: &SecurityConfig,
        user: &User,
    ) -> Result<(String, String), SigningError> {
        let token = self.links.confirm(user, &config.lifecycle.confirm_salt)?;
        let link = self.external_url(&format!("{}/{token}", config.lifecycle.confirm_url));
        Ok((link, token))
    }

    /// `(link, token)` of a password-reset link for `user`.
    ///
    /// # Errors
    /// When the token cannot be signed (not in practice).
    pub fn reset_link(
        &self,
        config: &SecurityConfig,
        user: &User,
    ) -> Result<(String, String), SigningError> {
        let token = self.links.reset(user, &config.lifecycle.reset_salt)?;
        let link = self.external_url(&format!("{}/{token}", config.lifecycle.reset_url));
        Ok((link, token))
    }

    /// `(link, token)` of a change-email confirmation link.
    ///
    /// # Errors
    /// When the token cannot be signed (not in practice).
    pub fn change_email_link(
        &self,
        config: &SecurityConfig,
        user: &User,
        new_email: &str,
    ) -> Result<(String, String), SigningError> {
        let token =
            self.links
                .change_email(user, new_email, &config.lifecycle.change_email_salt)?;
        let link = self.external_url(&format!("{}/{token}", config.lifecycle.change_email_url));
        Ok((link, token))
    }
}

impl From<SigningError> for SendError {
    fn from(e: SigningError) -> Self {
        Self::Mail(MailError::Build(e.to_string()))
    }
}

/// The `user` value of email templates.
pub(crate) fn user_context(user: &User) -> Value {
    json!({"id": user.id, "email": user.email, "username": user.username})
}

/// Flask-Security's `_td_format` (English): `2 days`, `1 day`, `1 minute and 30 seconds`.
pub fn format_within(secs: i64) -> String {
    let units = [
        (365 * 86_400, "year"),
        (30 * 86_400, "month"),
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut parts = Vec::new();
    let mut rest = secs.max(0);
    for (size, name) in units {
        let n = rest / size;
        if n > 0 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            rest -= n * size;
        }
    }
    match parts.len() {
        0 => "0 seconds".to_owned(),
        2 => parts.join(" and "),
        _ => parts.join(", "),
    }
}

/// Seconds as a token lifetime.
pub(crate) fn within(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(1).max(1))
}

#[cfg(test)]
mod tests {
    use super::format_within;

    #[test]
    fn withins_read_like_flask_security() {
        assert_eq!(format_within(2 * 86_400), "2 days");
        assert_eq!(format_within(86_400), "1 day");
        assert_eq!(format_within(7200), "2 hours");
        assert_eq!(format_within(90), "1 minute and 30 seconds");
    }
}
