//! passlib's `pbkdf2_sha512` / `pbkdf2_sha256`:
//! `$pbkdf2-sha512$<rounds>$<salt ab64>$<dk ab64>`, where "ab64" is standard base64
//! with `.` instead of `+` and no padding. This is not the `pbkdf2` crate's PHC format,
//! so the string is parsed here and only the KDF comes from the crate.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, STANDARD_NO_PAD_INDIFFERENT};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// The two digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    /// `pbkdf2-sha512`, 64-byte key, 25 000 rounds by default.
    Sha512,
    /// `pbkdf2-sha256`, 32-byte key, 29 000 rounds by default.
    Sha256,
}

impl Digest {
    fn ident(self) -> &'static str {
        match self {
            Self::Sha512 => "pbkdf2-sha512",
            Self::Sha256 => "pbkdf2-sha256",
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::Sha512 => 64,
            Self::Sha256 => 32,
        }
    }

    /// libpass's default rounds.
    pub(crate) fn default_rounds(self) -> u32 {
        match self {
            Self::Sha512 => 25_000,
            Self::Sha256 => 29_000,
        }
    }

    fn derive(self, secret: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        match self {
            Self::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(secret, salt, rounds, out),
            Self::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(secret, salt, rounds, out),
        }
    }
}

/// passlib's "adapted base64" encoding.
pub(crate) fn ab64_encode(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes).replace('+', ".")
}

/// Decodes passlib's "adapted base64" (padding tolerated).
pub(crate) fn ab64_decode(s: &str) -> Option<Vec<u8>> {
    if s.contains('+') {
        return None;
    }
    STANDARD_NO_PAD_INDIFFERENT.decode(s.replace('.', "+")).ok()
}

struct Parsed {
    rounds: u32,
    salt: Vec<u8>,
    dk: Vec<u8>,
}

fn parse(digest: Digest, stored: &str) -> Option<Parsed> {
    let mut fields = stored.split('$');
    if !fields.next()?.is_empty() || fields.next()? != digest.ident() {
        return None;
    }
    let rounds_field = fields.next()?;
    if rounds_field.is_empty() || !rounds_field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rounds: u32 = rounds_field.parse().ok()?;
    let salt = ab64_decode(fields.next()?)?;
    let dk = ab64_decode(fields.next()?)?;
    if fields.next().is_some() || rounds == 0 || dk.len() != digest.key_len() {
        return None;
    }
    Some(Parsed { rounds, salt, dk })
}

/// Hashes with the default rounds and a fresh 16-byte salt.
pub(crate) fn hash(digest: Digest, secret: &[u8]) -> String {
    let salt = crate::schemes::random_bytes::<16>();
    let rounds = digest.default_rounds();
    let mut dk = vec![0u8; digest.key_len()];
    digest.derive(secret, &salt, rounds, &mut dk);
    format!(
        "${}${}${}${}",
        digest.ident(),
        rounds,
        ab64_encode(&salt),
        ab64_encode(&dk)
    )
}

/// Whether `secret` matches `stored`; a malformed hash does not match.
pub(crate) fn verify(digest: Digest, secret: &[u8], stored: &str) -> bool {
    let Some(parsed) = parse(digest, stored) else {
        return false;
    };
    let mut dk = vec![0u8; parsed.dk.len()];
    digest.derive(secret, &parsed.salt, parsed.rounds, &mut dk);
    dk.ct_eq(&parsed.dk).into()
}

/// The rounds of `stored`, `None` when it does not parse.
pub(crate) fn work(digest: Digest, stored: &str) -> Option<u64> {
    parse(digest, stored).map(|p| u64::from(p.rounds))
}

/// Default rounds and passlib's 16-byte salt.
pub(crate) fn is_current(digest: Digest, stored: &str) -> bool {
    parse(digest, stored).is_some_and(|p| p.rounds == digest.default_rounds() && p.salt.len() == 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ab64_roundtrip() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        let enc = ab64_encode(&bytes);
        assert!(!enc.contains('+') && !enc.contains('='));
        assert_eq!(ab64_decode(&enc), Some(bytes));
        assert_eq!(ab64_decode("a+b"), None);
    }

    #[test]
    fn roundtrip_both_digests() {
        for d in [Digest::Sha512, Digest::Sha256] {
            let h = hash(d, b"pw");
            assert!(h.starts_with(&format!("${}$", d.ident())));
            assert!(verify(d, b"pw", &h));
            assert!(!verify(d, b"px", &h));
            assert!(is_current(d, &h));
            let other = if d == Digest::Sha512 {
                Digest::Sha256
            } else {
                Digest::Sha512
            };
            assert!(!verify(other, b"pw", &h));
        }
    }

    #[test]
    fn malformed_is_false() {
        for s in [
            "$pbkdf2-sha512$",
            "$pbkdf2-sha512$x$abc$def",
            "$pbkdf2-sha512$0$abcd$abcd",
            "$pbkdf2-sha512$-1$abcd$abcd",
            "$pbkdf2-sha512$1000$abcd$abcd",
            "$pbkdf2-sha512$1000$ab+d$abcd",
        ] {
            assert!(!verify(Digest::Sha512, b"pw", s), "{s}");
        }
    }
}
