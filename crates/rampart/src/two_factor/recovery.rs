//! Multi-factor recovery codes: `xxxx-xxxx-xxxx` (hex, 48 bits from the CSPRNG), shown once and
//! stored in `user.mf_recovery_codes` as keyed digests (`$rampart-rc1$<HMAC-SHA256>`), never
//! readable again. Flask-Security stores them in plain text (or Fernet-encrypted with
//! `SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS`); plain-text codes of a migrated database keep
//! working (and are never shown), Fernet-encrypted ones do not.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use rand::RngExt as _;
use subtle::ConstantTimeEq;

const PREFIX: &str = "$rampart-rc1$";

/// `n` new codes.
pub fn generate(n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let b: [u8; 6] = rand::rng().random();
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12])
        })
        .collect()
}

fn normalize(code: &str) -> String {
    code.trim().to_ascii_lowercase()
}

/// The stored form of `code`.
pub fn digest(key: &[u8], code: &str) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"rampart-recovery-code\0");
    mac.update(normalize(code).as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The index of the stored entry `code` matches (constant-time comparisons over every entry).
pub fn find(key: &[u8], stored: &[String], code: &str) -> Option<usize> {
    let hashed = digest(key, code);
    let plain = normalize(code);
    let mut found = None;
    for (i, entry) in stored.iter().enumerate() {
        let candidate = if entry.starts_with(PREFIX) {
            hashed.as_str()
        } else {
            plain.as_str()
        };
        let ok: bool = entry.as_bytes().ct_eq(candidate.as_bytes()).into();
        if ok && found.is_none() && !plain.is_empty() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_hashed_and_found_once() {
        let key = b"k";
        let codes = generate(5);
        assert_eq!(codes.len(), 5);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 14 && c.matches('-').count() == 2)
        );
        let stored: Vec<String> = codes.iter().map(|c| digest(key, c)).collect();
        assert!(
            stored
                .iter()
                .all(|s| !s.contains(&codes[0][..4]) || s.starts_with(PREFIX))
        );
        assert_eq!(find(key, &stored, &codes[2]), Some(2));
        assert_eq!(find(key, &stored, &codes[2].to_uppercase()), Some(2));
        assert_eq!(find(b"other", &stored, &codes[2]), None);
        assert_eq!(find(key, &stored, "0000-0000-0000"), None);
        assert_eq!(find(key, &stored, ""), None);
        // A plain-text code of a migrated Flask-Security database.
        let legacy = vec!["abcd-ef01-2345".to_owned()];
        assert_eq!(find(key, &legacy, "abcd-ef01-2345"), Some(0));
    }
}
