//! SMTP through lettre (rustls): `smtp://` (plain, or STARTTLS with `?tls=required` /
//! `?tls=opportunistic`) and `smtps://` (implicit TLS), with optional `user:password@`.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Email, MailError, Mailer};

/// Sends through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    description: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl SmtpMailer {
    /// A mailer from a URL such as `smtp://127.0.0.1:2525`,
    /// `smtp://user:pw@mail.example.com:587?tls=required` or `smtps://mail.example.com`.
    /// `timeout` bounds each network operation (connect, every command). Call it inside a
    /// Tokio runtime (the connection pool starts a task).
    ///
    /// # Errors
    /// [`MailError::Config`] for a URL lettre cannot use, or one that would send a password
    /// in clear text.
    ///
    /// Credentials are sent only over TLS (`smtps://`, or `smtp://…?tls=required`), or in
    /// clear text to a loopback relay (`127.0.0.1`, `::1`, `localhost`).
    pub fn from_url(url: &str, timeout: Duration) -> Result<Self, MailError> {
        check_credentials_protected(url)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("SMTP URL: {e}")))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            transport,
            description: format!("smtp {}", redact(url)),
        })
    }
}

/// Refuses a URL that would send a password in clear text to a host that is not loopback.
fn check_credentials_protected(url: &str) -> Result<(), MailError> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(()); // lettre reports the bad URL
    };
    let has_password = parsed.password().is_some_and(|p| !p.is_empty());
    let tls = parsed.scheme() == "smtps"
        || parsed
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required");
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if has_password && !tls && !loopback {
        return Err(MailError::Config(
            "SMTP credentials need TLS: use smtps:// or ?tls=required".to_owned(),
        ));
    }
    Ok(())
}

/// The URL without its password.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(_)) => {
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = email.to_message()?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_and_redaction() {
        assert_eq!(redact("smtp://u:secret@h:25"), "smtp://u:***@h:25");
        assert_eq!(redact("smtp://h:25"), "smtp://h:25");
        assert!(SmtpMailer::from_url("smtp://127.0.0.1:2525", Duration::from_secs(1)).is_ok());
        assert!(SmtpMailer::from_url("smtps://u:p@127.0.0.1:465", Duration::from_secs(1)).is_ok());
        assert!(SmtpMailer::from_url("http://x", Duration::from_secs(1)).is_err());
        let t = Duration::from_secs(1);
        assert!(SmtpMailer::from_url("smtp://u:p@mail.example.com:25", t).is_err());
        assert!(
            SmtpMailer::from_url("smtp://u:p@mail.example.com:587?tls=opportunistic", t).is_err()
        );
        assert!(SmtpMailer::from_url("smtp://u:p@mail.example.com:587?tls=required", t).is_ok());
        assert!(SmtpMailer::from_url("smtp://u:p@localhost:25", t).is_ok());
        assert!(SmtpMailer::from_url("smtp://u:p@127.0.0.1:25", t).is_ok());
        assert!(SmtpMailer::from_url("smtp://mail.example.com:25", t).is_ok());
    }
}
