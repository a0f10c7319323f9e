//! Sending SMS codes: the [`SmsSender`] trait (Flask-Security's `SmsSenderBaseClass`), a
//! development sender that only logs, and an outbox sender that writes one file per message
//! (development and tests).

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;

/// Why an SMS could not be sent (answered 500, as Flask-Security does).
#[derive(Debug, thiserror::Error)]
#[error("SMS not sent: {0}")]
pub struct SmsError(pub String);

/// Sends text messages. Implement it for a real provider (Twilio, …).
#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// Sends `message` to `to` (an E.164 phone number).
    ///
    /// # Errors
    /// [`SmsError`] when the provider refuses or cannot be reached.
    async fn send(&self, to: &str, message: &str) -> Result<(), SmsError>;
}

/// Development sender: logs that a message went to a number. The message (which holds the
/// code) is logged only at `debug` level under target `rampart::sms`, never in production
/// logs at `info`.
#[derive(Debug, Default)]
pub struct LogSmsSender;

#[async_trait]
impl SmsSender for LogSmsSender {
    async fn send(&self, to: &str, message: &str) -> Result<(), SmsError> {
        tracing::info!(target: "rampart::sms", to_len = to.len(), "SMS sent (log sender)");
        tracing::debug!(target: "rampart::sms", to, message, "SMS body");
        Ok(())
    }
}

/// Writes each message to `DIR/<n>-<number>.txt` (the demo's `SMS_OUTBOX`).
#[derive(Debug)]
pub struct OutboxSmsSender {
    dir: PathBuf,
    seq: Mutex<u64>,
}

impl OutboxSmsSender {
    /// A sender writing into `dir` (created when missing).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            seq: Mutex::new(0),
        })
    }
}

#[async_trait]
impl SmsSender for OutboxSmsSender {
    async fn send(&self, to: &str, message: &str) -> Result<(), SmsError> {
        let n = {
            let mut s = self
                .seq
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *s += 1;
            *s
        };
        let stamp = rampart_core::signing::unix_now();
        let safe: String = to.chars().filter(char::is_ascii_digit).collect();
        let path = self.dir.join(format!("{stamp}-{n:06}-{safe}.txt"));
        tokio::fs::write(&path, format!("To: {to}\n\n{message}\n"))
            .await
            .map_err(|e| SmsError(e.to_string()))
    }
}

/// Keeps messages in memory (unit tests).
#[derive(Debug, Default)]
pub struct MemorySmsSender {
    /// `(to, message)` in order.
    pub sent: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl SmsSender for MemorySmsSender {
    async fn send(&self, to: &str, message: &str) -> Result<(), SmsError> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((to.to_owned(), message.to_owned()));
        Ok(())
    }
}

/// Whether `phone` looks like an E.164 number (`+` and 8 to 15 digits, spaces and dashes
/// allowed), Flask-Security's "missing country code" check.
pub fn phone_ok(phone: &str) -> bool {
    let t = phone.trim();
    let Some(rest) = t.strip_prefix('+') else {
        return false;
    };
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    rest.chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        && (8..=15).contains(&digits)
}

/// The canonical form of a phone number: `+` and digits.
pub fn normalize_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("+{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(phone_ok("+1 650-253-0000"));
        assert!(!phone_ok("650-253-0000"));
        assert!(!phone_ok("+12"));
        assert!(!phone_ok("+1 650 <script>"));
        assert_eq!(normalize_phone("+1 650-253-0000"), "+16502530000");
    }
}
