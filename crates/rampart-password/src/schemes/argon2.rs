//! argon2 in passlib / argon2-cffi's PHC format:
//! `$argon2id$v=19$m=65536,t=3,p=4$<salt b64, 16 B>$<hash b64, 32 B>` (no padding).

use argon2::{Algorithm, Argon2, Version};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, STANDARD_NO_PAD_INDIFFERENT};
use subtle::ConstantTimeEq;

use crate::config::Argon2Params;
use crate::error::PasswordError;

/// Salt length passlib uses.
const SALT_LEN: usize = 16;
/// Digest length passlib uses.
const HASH_LEN: usize = 32;

/// The `argon2` crate's parameters for `p`, with passlib's 32-byte output.
pub(crate) fn params(p: &Argon2Params) -> Result<argon2::Params, argon2::Error> {
    argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(HASH_LEN))
}

/// Hashes `secret` with argon2id, v=19, a fresh 16-byte salt.
pub(crate) fn hash(secret: &[u8], p: &Argon2Params) -> Result<String, PasswordError> {
    let salt = crate::schemes::random_bytes::<SALT_LEN>();
    let mut out = [0u8; HASH_LEN];
    let params = params(p).map_err(|e| PasswordError::Hash(format!("argon2: {e}")))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(secret, &salt, &mut out)
        .map_err(|e| PasswordError::Hash(format!("argon2: {e}")))?;
    Ok(encode(p, &salt, &out))
}

fn encode(p: &Argon2Params, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        p.memory_kib,
        p.iterations,
        p.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    )
}

/// A well-formed argon2 hash with random salt and digest, costing exactly as much to
/// check as a real one made with `p` (used to equalise timing).
pub(crate) fn dummy(p: &Argon2Params) -> String {
    let salt = crate::schemes::random_bytes::<SALT_LEN>();
    let digest = crate::schemes::random_bytes::<HASH_LEN>();
    encode(p, &salt, &digest)
}

/// A parsed PHC argon2 string.
#[derive(Debug)]
struct Parsed {
    algorithm: Algorithm,
    version: Version,
    params: Argon2Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse(stored: &str) -> Option<Parsed> {
    let mut fields = stored.split('$');
    if !fields.next()?.is_empty() {
        return None;
    }
    let algorithm = match fields.next()? {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return None,
    };
    let mut field = fields.next()?;
    // `v=` is optional: without it the hash is argon2 1.0 (0x10).
    let version = if let Some(v) = field.strip_prefix("v=") {
        field = fields.next()?;
        match v {
            "19" => Version::V0x13,
            "16" => Version::V0x10,
            _ => return None,
        }
    } else {
        Version::V0x10
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in field.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" if m.is_none() => m = Some(v),
            "t" if t.is_none() => t = Some(v),
            "p" if p.is_none() => p = Some(v),
            // keyid / data (or repeats) are not produced by passlib: unsupported.
            _ => return None,
        }
    }
    let salt = STANDARD_NO_PAD_INDIFFERENT.decode(fields.next()?).ok()?;
    let hash = STANDARD_NO_PAD_INDIFFERENT.decode(fields.next()?).ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(Parsed {
        algorithm,
        version,
        params: Argon2Params {
            memory_kib: m?,
            iterations: t?,
            parallelism: p?,
        },
        salt,
        hash,
    })
}

/// Whether `secret` matches `stored`; a malformed hash does not match.
pub(crate) fn verify(secret: &[u8], stored: &str) -> bool {
    let Some(parsed) = parse(stored) else {
        return false;
    };
    let Ok(params) = argon2::Params::new(
        parsed.params.memory_kib,
        parsed.params.iterations,
        parsed.params.parallelism,
        Some(parsed.hash.len()),
    ) else {
        return false;
    };
    let mut out = vec![0u8; parsed.hash.len()];
    if Argon2::new(parsed.algorithm, parsed.version, params)
        .hash_password_into(secret, &parsed.salt, &mut out)
        .is_err()
    {
        return false;
    }
    out.ct_eq(&parsed.hash).into()
}

/// The work a verification of `stored` costs (KiB of memory × passes × lanes), `None`
/// when it does not parse.
pub(crate) fn work(stored: &str) -> Option<u64> {
    parse(stored).map(|p| {
        u64::from(p.params.memory_kib)
            * u64::from(p.params.iterations)
            * u64::from(p.params.parallelism)
    })
}

/// Whether `stored` is argon2id v=19 with exactly the parameters `p` (and passlib's
/// salt and digest sizes), i.e. needs no rehash.
pub(crate) fn is_current(stored: &str, p: &Argon2Params) -> bool {
    parse(stored).is_some_and(|parsed| {
        parsed.algorithm == Algorithm::Argon2id
            && parsed.version == Version::V0x13
            && parsed.params == *p
            && parsed.salt.len() == SALT_LEN
            && parsed.hash.len() == HASH_LEN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn roundtrip_and_format() {
        let Ok(h) = hash(b"secret", &CHEAP) else {
            panic!("hash failed")
        };
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        let parts: Vec<&str> = h.split('$').collect();
        assert_eq!(parts.len(), 6);
        assert_eq!(parts[4].len(), 22); // 16 bytes, no padding
        assert_eq!(parts[5].len(), 43); // 32 bytes, no padding
        assert!(verify(b"secret", &h));
        assert!(!verify(b"secreT", &h));
        assert!(is_current(&h, &CHEAP));
        assert!(!is_current(&h, &Argon2Params::FLASK_SECURITY));
        assert!(!verify(b"secret", &dummy(&CHEAP)));
    }

    #[test]
    fn malformed_is_false() {
        for s in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1$c2FsdHNhbHRzYWx0$aGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1,keyid=x$c2FsdHNhbHRzYWx0$aGFzaGhhc2g",
            "$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaA",
            "$argon2id$v=99$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g",
            "$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g",
            "$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2g",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g$extra",
        ] {
            assert!(!verify(b"x", s), "{s}");
        }
    }
}
