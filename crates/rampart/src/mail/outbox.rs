//! The outbox-directory transport: one RFC 5322 `.eml` file per email (demo-contract.md's
//! `MAIL_OUTBOX`), for development and black-box tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Email, MailError, Mailer};

/// Writes every email to a directory as `<millis>-<seq>-<kind>.eml`.
///
/// Files are written under a temporary name and renamed, so a reader never sees half an
/// email. The directory is created when missing.
#[derive(Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
    seq: AtomicU64,
}

impl OutboxMailer {
    /// An outbox in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            seq: AtomicU64::new(0),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let bytes = email.to_message()?.formatted();
        let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let kind: String = email
            .kind
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let name = format!("{millis}-{seq:06}-{}-{kind}.eml", std::process::id());
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, dir.join(&name))
        })
        .await
        .map_err(|e| MailError::Transient(e.to_string()))?
        .map_err(|e| MailError::Transient(format!("outbox {}: {e}", self.dir.display())))
    }

    fn describe(&self) -> String {
        format!("outbox {}", self.dir.display())
    }
}
