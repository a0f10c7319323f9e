//! Flask-Security's "double hash": the secret given to the KDF is
//! `base64_std(HMAC-SHA512(key = SECURITY_PASSWORD_SALT, msg = password))`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

/// Length of bcrypt's input window; the pre-hash is cut to it for bcrypt.
pub const BCRYPT_MAX_SECRET: usize = 72;

/// The pre-hash of `password` (already normalised) keyed by `salt`: 88 ASCII characters
/// ending in `==`.
#[must_use]
pub fn prehash(salt: &str, password: &str) -> String {
    // HMAC accepts keys of any length; the error branch cannot be taken.
    let mut mac = match Hmac::<Sha512>::new_from_slice(salt.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(password.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::prehash;

    #[test]
    fn flask_security_vector() {
        let p = prehash("salty", "password123");
        assert_eq!(
            p,
            "kkXYYTYQgQLSwiAt0n7j0/0IQk1c1OxcfwqxvanERiGxzXrEjzLwJ0AmHHkD7WS42wvMzDIYN6z9YWJDXHWGgg=="
        );
        assert_eq!(p.len(), 88);
    }
}
