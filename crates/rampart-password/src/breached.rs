//! Breached-password check against the Have I Been Pwned range API (k-anonymity).
//!
//! Only the first five hex digits of the SHA-1 leave the process:
//! `GET <base>/<first 5>` with `User-Agent: Flask-Security (Python)`; the answer lists
//! `SUFFIX:COUNT` lines, matched locally against the other 35 digits.
//!
//! HTTPS uses rustls with the `ring` provider and the operating system's trust store
//! (no OpenSSL, no aws-lc), configured on this client only (no process-wide default).

use std::sync::Arc;
use std::time::Duration;

use sha1::{Digest, Sha1};

use crate::config::{ConfigError, keys};

/// The User-Agent Flask-Security sends.
pub const USER_AGENT: &str = "Flask-Security (Python)";

/// Why the breached-password service could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BreachedError {
    /// Connection, TLS or timeout failure.
    #[error("breached-password request failed: {0}")]
    Request(#[from] reqwest::Error),
    /// A non-success HTTP status.
    #[error("breached-password service answered HTTP {0}")]
    Status(u16),
    /// A body line that is not `SUFFIX:COUNT`.
    #[error("malformed breached-password response line: {0:?}")]
    Malformed(String),
}

/// Uppercase hex SHA-1 of the (normalised) password.
#[must_use]
pub fn sha1_upper_hex(password: &str) -> String {
    Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Count of `suffix` (35 uppercase hex digits) in a range response body; 0 if absent.
///
/// # Errors
/// [`BreachedError::Malformed`] for a non-empty line that is not `SUFFIX:COUNT`.
pub fn parse_range(body: &str, suffix: &str) -> Result<u64, BreachedError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let mut found = 0;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (s, c) = line
            .split_once(':')
            .ok_or_else(|| BreachedError::Malformed(line.to_owned()))?;
        let count: u64 = c
            .trim()
            .parse()
            .map_err(|_| BreachedError::Malformed(line.to_owned()))?;
        if s.trim().eq_ignore_ascii_case(suffix) {
            found = count;
        }
    }
    Ok(found)
}

/// An HTTP client for the range API.
#[derive(Debug, Clone)]
pub struct BreachedClient {
    client: reqwest::Client,
    base_url: String,
}

impl BreachedClient {
    /// A client for `base_url` (e.g. `https://api.pwnedpasswords.com/range/`) whose
    /// requests time out after `timeout`.
    ///
    /// # Errors
    /// [`ConfigError`] naming `SECURITY_PASSWORD_BREACHED_URL` if the TLS or HTTP client
    /// cannot be set up.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ConfigError> {
        let setup = |e: String| ConfigError::Invalid {
            key: keys::PASSWORD_BREACHED_URL,
            message: format!("cannot set up the HTTPS client: {e}"),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = {
            use rustls_platform_verifier::BuilderVerifierExt as _;
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| setup(e.to_string()))?
                .with_platform_verifier()
                .map_err(|e| setup(e.to_string()))?
                .with_no_client_auth()
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(Self {
            client,
            base_url: base_url.to_owned(),
        })
    }

    /// The range URL for a SHA-1 prefix.
    fn url(&self, prefix: &str) -> String {
        if self.base_url.ends_with('/') {
            format!("{}{prefix}", self.base_url)
        } else {
            format!("{}/{prefix}", self.base_url)
        }
    }

    /// How often `normalized` appears in the breach corpus.
    ///
    /// # Errors
    /// [`BreachedError`] when the service cannot be reached, answers with an error
    /// status, or sends a malformed body.
    pub async fn count(&self, normalized: &str) -> Result<u64, BreachedError> {
        let digest = sha1_upper_hex(normalized);
        let (prefix, suffix) = digest.split_at(5);
        let response = self.client.get(self.url(prefix)).send().await?;
        let status = response.status();
        if !status.is_success() {
            return Err(BreachedError::Status(status.as_u16()));
        }
        let body = response.text().await?;
        parse_range(&body, suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_password() {
        assert_eq!(
            sha1_upper_hex("password"),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
    }

    #[test]
    fn parse_range_table() {
        let body = "\u{feff}1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n\
                    0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0";
        let cases: &[(&str, u64)] = &[
            ("1E4C9B93F3F0682250B6CF8331B7EE68FD8", 9_545_824),
            ("1e4c9b93f3f0682250b6cf8331b7ee68fd8", 9_545_824),
            ("0018A45C4D1DEF81644B54AB7F969B88D65", 10),
            ("00D4F6E8FA6EECAD2A3AA415EEC418D38EC", 0),
            ("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 0),
        ];
        for (suffix, expected) in cases {
            assert_eq!(parse_range(body, suffix).ok(), Some(*expected), "{suffix}");
        }
        assert!(parse_range("garbage", "X").is_err());
        assert!(parse_range("ABC:notanumber", "X").is_err());
        assert_eq!(parse_range("ABC:1\n\n", "X").ok(), Some(0));
    }
}
