//! itsdangerous' `TimestampSigner`: `value + "." + base64url(timestamp) + "." + signature`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::SigningError;
use super::key::SecretKeys;
use super::signer::{SEPARATOR, Signer, split_signature};

/// The current time in whole seconds since the Unix epoch (0 if the clock is before 1970),
/// what itsdangerous' `get_timestamp` returns.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// itsdangerous' `TimestampSigner`: signs `value.timestamp`, where the timestamp is the issue
/// time in seconds as a big-endian integer with its leading zero bytes stripped, in base64url.
/// (So a timestamp of 0 is the empty string and the token contains `..`.)
///
/// Expiry follows `TimestampSigner.unsign` exactly: with a `max_age`, a token is expired when
/// `now - issued_at > max_age`, **and also when it is dated in the future** (`now < issued_at`,
/// no tolerance: itsdangerous raises `SignatureExpired` for any negative age). Without a
/// `max_age`, the time is not checked at all.
#[derive(Debug, Clone)]
pub struct TimestampSigner {
    signer: Signer,
}

impl TimestampSigner {
    /// A timestamp signer for `salt` over every key of `keys`.
    pub fn new(keys: &SecretKeys, salt: &str) -> Self {
        Self {
            signer: Signer::new(keys, salt),
        }
    }

    /// Signs `value` with the current time.
    pub fn sign(&self, value: &str) -> String {
        self.sign_at(value, unix_now())
    }

    /// Signs `value` as issued at `timestamp` (seconds since the Unix epoch).
    pub fn sign_at(&self, value: &str, timestamp: u64) -> String {
        let mut out = String::with_capacity(value.len() + 40);
        out.push_str(value);
        out.push(SEPARATOR);
        out.push_str(&encode_timestamp(timestamp));
        self.signer.sign(&out)
    }

    /// Verifies `signed` against the current time and returns the value and its issue time.
    ///
    /// # Errors
    /// As [`unsign_at`](Self::unsign_at).
    pub fn unsign<'a>(
        &self,
        signed: &'a str,
        max_age: Option<Duration>,
    ) -> Result<(&'a str, u64), SigningError> {
        self.unsign_at(signed, max_age, unix_now())
    }

    /// Verifies `signed` as if the time were `now` (seconds since the Unix epoch) and returns
    /// the value and its issue time.
    ///
    /// # Errors
    /// In itsdangerous' order:
    /// - [`SigningError::BadSignature`]: no separator, token too long, or a signature mismatch
    ///   on a value without a timestamp;
    /// - [`SigningError::BadTimeSignature`]: signature mismatch, timestamp missing or malformed;
    /// - [`SigningError::SignatureExpired`]: with `max_age`, older than it or dated after `now`.
    pub fn unsign_at<'a>(
        &self,
        signed: &'a str,
        max_age: Option<Duration>,
        now: u64,
    ) -> Result<(&'a str, u64), SigningError> {
        let (signed_part, sig) = split_signature(signed)?;
        let valid = self.signer.verify_signature(signed_part, sig);
        let Some((value, ts)) = signed_part.rsplit_once(SEPARATOR) else {
            return Err(if valid {
                SigningError::BadTimeSignature {
                    reason: "timestamp missing",
                }
            } else {
                SigningError::BadSignature {
                    reason: "signature does not match",
                }
            });
        };
        if !valid {
            return Err(SigningError::BadTimeSignature {
                reason: "signature does not match",
            });
        }
        let issued_at = decode_timestamp(ts).ok_or(SigningError::BadTimeSignature {
            reason: "malformed timestamp",
        })?;
        if let Some(max_age) = max_age {
            check_age(issued_at, max_age, now)?;
        }
        Ok((value, issued_at))
    }
}

fn check_age(issued_at: u64, max_age: Duration, now: u64) -> Result<(), SigningError> {
    let age = i128::from(now) - i128::from(issued_at);
    let expired = match u64::try_from(age) {
        Ok(age) => Duration::from_secs(age) > max_age,
        Err(_) => true, // negative: dated in the future
    };
    if expired {
        let age = i64::try_from(age).unwrap_or(if age < 0 { i64::MIN } else { i64::MAX });
        return Err(SigningError::SignatureExpired { issued_at, age });
    }
    Ok(())
}

/// `base64url(int_to_bytes(ts))`: big-endian, leading zero bytes stripped.
pub(crate) fn encode_timestamp(timestamp: u64) -> String {
    let bytes = timestamp.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    URL_SAFE_NO_PAD.encode(&bytes[first..])
}

/// Inverse of [`encode_timestamp`]; accepts up to 8 bytes (leading zeros allowed, as Python's
/// `bytes_to_int` does) and the empty string (0).
pub(crate) fn decode_timestamp(ts: &str) -> Option<u64> {
    if ts.len() > 11 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(ts).ok()?;
    if raw.len() > 8 {
        return None;
    }
    Some(raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NOW: u64 = 1_732_340_878;

    fn signer() -> TimestampSigner {
        TimestampSigner::new(&SecretKeys::new("secret").unwrap(), "salt")
    }

    #[test]
    fn matches_python_timestamp_signer() {
        // from itsdangerous import TimestampSigner as T; from unittest import mock
        // with mock.patch("time.time", return_value=1732340878): T("secret", salt="salt").sign("hello")
        assert_eq!(
            signer().sign_at("hello", NOW),
            "hello.Z0Fsjg.Lz5NoC9RaBVjCczLP-8kzUzuPLw"
        );
    }

    #[test]
    fn timestamp_encoding() {
        for ts in [0, 1, 255, 256, NOW, 1 << 33, u64::MAX] {
            assert_eq!(decode_timestamp(&encode_timestamp(ts)), Some(ts));
        }
        assert_eq!(encode_timestamp(0), "");
        assert_eq!(encode_timestamp(NOW), "Z0Fsjg");
        assert_eq!(decode_timestamp("AABnQWyO"), Some(NOW)); // leading zero bytes
        assert_eq!(decode_timestamp("AQIDBAUGBwgJ"), None); // 9 bytes
        assert_eq!(decode_timestamp("Z0Fs j"), None);
    }

    #[test]
    fn expiry_rules() {
        let s = signer();
        let token = s.sign_at("v", NOW);
        let max = Some(Duration::from_secs(60));
        assert_eq!(s.unsign_at(&token, max, NOW + 60), Ok(("v", NOW)));
        assert_eq!(
            s.unsign_at(&token, max, NOW + 61),
            Err(SigningError::SignatureExpired {
                issued_at: NOW,
                age: 61
            })
        );
        assert_eq!(
            s.unsign_at(&token, max, NOW - 1),
            Err(SigningError::SignatureExpired {
                issued_at: NOW,
                age: -1
            })
        );
        // No max_age: no time check at all, like itsdangerous.
        assert_eq!(s.unsign_at(&token, None, 0), Ok(("v", NOW)));
        let far = s.sign_at("v", u64::MAX);
        assert!(s.unsign_at(&far, max, 0).unwrap_err().is_expired());
    }

    #[test]
    fn error_classes_follow_itsdangerous() {
        let s = signer();
        let plain = Signer::new(&SecretKeys::new("secret").unwrap(), "salt");
        // Valid signature but no timestamp.
        assert!(matches!(
            s.unsign_at(&plain.sign("v"), None, NOW),
            Err(SigningError::BadTimeSignature { .. })
        ));
        // Invalid signature without a timestamp separator.
        assert!(matches!(
            s.unsign_at("v.VZwbARjuKpDGaWslX5tZg_VuxiE", None, NOW),
            Err(SigningError::BadSignature { .. })
        ));
        // Valid signature over a malformed timestamp.
        assert!(matches!(
            s.unsign_at(&plain.sign("v.!!"), None, NOW),
            Err(SigningError::BadTimeSignature { .. })
        ));
    }
}
