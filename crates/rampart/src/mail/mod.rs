//! Outgoing mail: the [`Mailer`] trait, the SMTP and outbox-directory transports, a bounded
//! background [`MailQueue`] with retries, and the overridable email [`Templates`].
//!
//! Requests never wait for a mail server: a view renders the email, puts it on the queue and
//! answers. The queue's worker sends with a per-attempt timeout and retries transient
//! failures with exponential backoff; when the queue is full the view is told at once
//! ([`MailError::QueueFull`]) instead of blocking.
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use rampart::mail::{Email, MailQueue, OutboxMailer, QueueOptions};
//!
//! # async fn run() -> Result<(), rampart::mail::MailError> {
//! let queue = MailQueue::new(Arc::new(OutboxMailer::new("./outbox")), QueueOptions::default());
//! queue.enqueue(Email {
//!     from: "no-reply@example.com".into(),
//!     to: "user@example.com".into(),
//!     subject: "Welcome".into(),
//!     text: Some("Hello".into()),
//!     html: None,
//!     kind: "welcome".into(),
//! })?;
//! # Ok(()) }
//! ```

mod outbox;
mod queue;
mod smtp;
mod templates;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};

pub use outbox::OutboxMailer;
pub use queue::{MailQueue, QueueOptions};
pub use smtp::SmtpMailer;
pub use templates::{EmailKind, RenderedEmail, TemplateError, Templates};

/// One email, rendered and addressed.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// Sender (`SECURITY_EMAIL_SENDER`), `Name <addr>` or a bare address.
    pub from: String,
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (`SECURITY_EMAIL_PLAINTEXT`).
    pub text: Option<String>,
    /// HTML body (`SECURITY_EMAIL_HTML`).
    pub html: Option<String>,
    /// The template it came from (`welcome`, `reset_instructions`, …), for logs and metrics.
    pub kind: String,
}

impl std::fmt::Debug for Email {
    // Bodies carry one-time links: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Email {
    /// The RFC 5322 message (multipart/alternative when both bodies are present).
    ///
    /// # Errors
    /// [`MailError::Address`] for an unusable sender or recipient, [`MailError::Build`]
    /// when the message cannot be assembled.
    pub fn to_message(&self) -> Result<lettre::Message, MailError> {
        let from: Mailbox = self
            .from
            .parse()
            .map_err(|_| MailError::Address("sender"))?;
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|_| MailError::Address("recipient"))?;
        let builder = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(self.subject.clone());
        let built = match (&self.text, &self.html) {
            (Some(t), Some(h)) => {
                builder.multipart(MultiPart::alternative_plain_html(t.clone(), h.clone()))
            }
            (None, Some(h)) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(h.clone()),
            ),
            (t, None) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(t.clone().unwrap_or_default()),
            ),
        };
        built.map_err(|e| MailError::Build(e.to_string()))
    }
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// An address does not parse.
    #[error("invalid {0} address")]
    Address(&'static str),
    /// The transport's configuration is unusable (a bad SMTP URL, credentials without TLS).
    #[error("mail configuration: {0}")]
    Config(String),
    /// The message could not be assembled.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The transport failed in a way worth retrying (connection refused, timeout, 4xx).
    #[error("temporary mail failure: {0}")]
    Transient(String),
    /// The transport refused the message for good (5xx, authentication).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
    /// The queue is full: the mail server is too slow or down for a while.
    #[error("the mail queue is full")]
    QueueFull,
    /// The queue's worker has stopped.
    #[error("the mail queue is closed")]
    Closed,
}

impl MailError {
    /// Whether the worker should try again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// A mail transport.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one email (called from the queue's worker, never from a request).
    ///
    /// # Errors
    /// [`MailError`]; [`MailError::Transient`] failures are retried.
    async fn send(&self, email: &Email) -> Result<(), MailError>;

    /// A short description for the start-up log (no secrets).
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(text: Option<&str>, html: Option<&str>) -> Email {
        Email {
            from: "Rampart <no-reply@example.com>".into(),
            to: "user@example.com".into(),
            subject: "Welcome".into(),
            text: text.map(Into::into),
            html: html.map(Into::into),
            kind: "welcome".into(),
        }
    }

    #[test]
    fn messages_are_rfc5322() {
        let m = email(Some("hello"), Some("<p>hello</p>")).to_message();
        let raw =
            String::from_utf8(m.map(|m| m.formatted()).unwrap_or_default()).unwrap_or_default();
        assert!(raw.contains("Subject: Welcome\r\n"), "{raw}");
        assert!(raw.contains("To: user@example.com\r\n"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
        let plain = email(Some("only text"), None).to_message();
        assert!(plain.is_ok());
        assert!(matches!(
            Email {
                to: "not an address".into(),
                ..email(None, None)
            }
            .to_message(),
            Err(MailError::Address("recipient"))
        ));
        assert!(!format!("{:?}", email(Some("secret-link"), None)).contains("secret-link"));
    }
}
