//! TOTP (RFC 6238: 6 digits, 30 s steps, HMAC-SHA1) on totp-rs, with the secret stored the way
//! Flask-Security stores it: passlib's encrypted TOTP JSON,
//! `{"enckey":{"c":14,"k":"<b32>","s":"<b32 salt>","t":"1","v":1},"type":"totp","v":1}`,
//! where the key is AES-256-CTR encrypted under a key and IV derived with
//! PBKDF2-HMAC-SHA256 (2^c rounds) from `SECURITY_TOTP_SECRETS[t]` and the salt. Secrets
//! written by a Flask-Security application with the same `SECURITY_TOTP_SECRETS` are read, and
//! the reverse. Plain passlib JSON (`{"key": "<b32>", "type": "totp", "v": 1}`) is read too.

use std::collections::BTreeMap;

use aes::cipher::{KeyIvInit, StreamCipher};
use rand::RngExt as _;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use totp_rs::{Builder, Secret};

use crate::config::Secret as ConfigSecret;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// passlib's default encryption cost (2^14 PBKDF2 rounds).
const ENCRYPT_COST: u32 = 14;
/// The highest cost accepted from a stored secret (bounds the work a forged row can cause).
const MAX_COST: u32 = 20;
/// Seconds per TOTP step.
pub const STEP: u64 = 30;

/// Why a stored secret cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The stored value is not passlib TOTP JSON.
    #[error("the stored TOTP secret is malformed")]
    Malformed,
    /// The secret was encrypted under a `SECURITY_TOTP_SECRETS` tag this application lacks.
    #[error("no SECURITY_TOTP_SECRETS entry for tag {0:?}")]
    UnknownTag(String),
    /// No `SECURITY_TOTP_SECRETS` are configured.
    #[error("SECURITY_TOTP_SECRETS is empty")]
    NoSecrets,
}

/// How long a decrypted key stays in the process (PBKDF2 with 2^14 rounds per decryption
/// is the cost of a code check otherwise). The process holds `SECURITY_TOTP_SECRETS`, which
/// decrypt every stored secret, so the cache adds no exposure beyond this process.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Encrypts, decrypts and checks TOTP secrets (Flask-Security's `Totp` factory).
#[derive(Clone)]
pub struct TotpFactory {
    secrets: BTreeMap<String, Vec<u8>>,
    default_tag: Option<String>,
    issuer: String,
    keys: std::sync::Arc<rampart_core::cache::TtlMap<String, std::sync::Arc<Vec<u8>>>>,
}

impl std::fmt::Debug for TotpFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactory")
            .field("tags", &self.secrets.keys().collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl TotpFactory {
    /// A factory over `SECURITY_TOTP_SECRETS` and `SECURITY_TOTP_ISSUER`. New secrets are
    /// encrypted under the default tag: passlib's choice, the highest numeric tag when all
    /// tags are numbers, else the greatest tag.
    pub fn new(secrets: &BTreeMap<String, ConfigSecret>, issuer: &str) -> Self {
        let default_tag = if secrets.keys().all(|t| t.parse::<u64>().is_ok()) {
            secrets
                .keys()
                .max_by_key(|t| t.parse::<u64>().unwrap_or(0))
                .cloned()
        } else {
            secrets.keys().max().cloned()
        };
        Self {
            secrets: secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().as_bytes().to_vec()))
                .collect(),
            default_tag,
            issuer: issuer.to_owned(),
            keys: std::sync::Arc::new(rampart_core::cache::TtlMap::new(KEY_CACHE_TTL)),
        }
    }

    /// The issuer shown by authenticator apps.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A new random 160-bit secret (CSPRNG), encrypted for storage.
    ///
    /// # Errors
    /// [`TotpError::NoSecrets`] without `SECURITY_TOTP_SECRETS`.
    pub fn generate(&self) -> Result<String, TotpError> {
        let key: [u8; 20] = rand::rng().random();
        let stored = self.encrypt(&key)?;
        self.keys
            .put(stored.clone(), std::sync::Arc::new(key.to_vec()));
        Ok(stored)
    }

    /// passlib's `to_json(encrypt=True)` of `key`.
    ///
    /// # Errors
    /// [`TotpError::NoSecrets`] without `SECURITY_TOTP_SECRETS`.
    pub fn encrypt(&self, key: &[u8]) -> Result<String, TotpError> {
        let tag = self.default_tag.as_ref().ok_or(TotpError::NoSecrets)?;
        let secret = self.secrets.get(tag).ok_or(TotpError::NoSecrets)?;
        let salt: [u8; 12] = rand::rng().random();
        let mut data = key.to_vec();
        apply_cipher(&mut data, secret, &salt, ENCRYPT_COST);
        Ok(json!({
            "enckey": {
                "c": ENCRYPT_COST,
                "k": b32(&data),
                "s": b32(&salt),
                "t": tag,
                "v": 1,
            },
            "type": "totp",
            "v": 1,
        })
        .to_string())
    }

    /// The raw key of a stored secret.
    ///
    /// # Errors
    /// [`TotpError`] for malformed values and unknown tags.
    pub fn decrypt(&self, stored: &str) -> Result<Vec<u8>, TotpError> {
        if let Some(key) = self.keys.get(stored) {
            return Ok(key.as_ref().clone());
        }
        let key = self.decrypt_uncached(stored)?;
        self.keys
            .put(stored.to_owned(), std::sync::Arc::new(key.clone()));
        Ok(key)
    }

    fn decrypt_uncached(&self, stored: &str) -> Result<Vec<u8>, TotpError> {
        let value: Value = serde_json::from_str(stored).map_err(|_| TotpError::Malformed)?;
        if value.get("type").and_then(Value::as_str) != Some("totp") {
            return Err(TotpError::Malformed);
        }
        if let Some(plain) = value.get("key").and_then(Value::as_str) {
            return unb32(plain).ok_or(TotpError::Malformed);
        }
        let enc = value.get("enckey").ok_or(TotpError::Malformed)?;
        if enc.get("v").and_then(Value::as_i64) != Some(1) {
            return Err(TotpError::Malformed);
        }
        let tag = match enc.get("t") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(TotpError::Malformed),
        };
        let cost = enc
            .get("c")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| *c <= MAX_COST)
            .ok_or(TotpError::Malformed)?;
        let field = |k: &str| {
            enc.get(k)
                .and_then(Value::as_str)
                .and_then(unb32)
                .ok_or(TotpError::Malformed)
        };
        let (mut data, salt) = (field("k")?, field("s")?);
        let secret = self
            .secrets
            .get(&tag)
            .ok_or_else(|| TotpError::UnknownTag(tag.clone()))?;
        apply_cipher(&mut data, secret, &salt, cost);
        Ok(data)
    }

    /// The `otpauth://` URI and the base32 key for manual entry.
    pub fn setup_values(&self, key: &[u8], username: &str) -> SetupValues {
        let b32key = b32(key);
        let label = username.replace(':', "");
        let totp = Builder::new()
            .with_secret(Secret::from(key.to_vec()))
            .with_account_name(label.clone())
            .with_issuer(Some(self.issuer.replace(':', "")))
            .build_noncompliant();
        let uri = totp.to_url().unwrap_or_else(|_| {
            format!(
                "otpauth://totp/{label}?secret={b32key}&issuer={}",
                self.issuer
            )
        });
        SetupValues {
            key: b32key.clone(),
            b32key,
            uri,
            issuer: self.issuer.clone(),
            username: username.to_owned(),
        }
    }
}

/// What an authenticator app needs to add an account.
#[derive(Debug, Clone)]
pub struct SetupValues {
    /// The key as base32 (Flask-Security's `key`, grouped there; plain here).
    pub key: String,
    /// The key as base32 without padding.
    pub b32key: String,
    /// The `otpauth://totp/...` URI.
    pub uri: String,
    /// `SECURITY_TOTP_ISSUER`.
    pub issuer: String,
    /// The account label (the user's email or username).
    pub username: String,
}

fn apply_cipher(data: &mut [u8], secret: &[u8], salt: &[u8], cost: u32) {
    let mut keyiv = [0u8; 48];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, 1 << cost, &mut keyiv);
    let (key, iv) = keyiv.split_at(32);
    match Aes256Ctr::new_from_slices(key, iv) {
        Ok(mut cipher) => cipher.apply_keystream(data),
        // Not reachable: the slices are 32 and 16 bytes.
        Err(_) => data.fill(0),
    }
}

/// The code of `key` at step `counter`.
pub fn code_at(key: &[u8], counter: u64) -> String {
    let totp = Builder::new()
        .with_secret(Secret::from(key.to_vec()))
        .build_noncompliant();
    totp.generate(counter.saturating_mul(STEP)).to_string()
}

/// The step of `unix_secs`.
pub fn counter_of(unix_secs: u64) -> u64 {
    unix_secs / STEP
}

/// The step in `[now - window, now + window]` (passlib's `window` in seconds) whose code is
/// `code`, compared in constant time; `None` when no step matches.
pub fn matching_counter(key: &[u8], code: &str, now_secs: u64, window_secs: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = counter_of(now_secs);
    let w = window_secs / STEP;
    let mut found = None;
    for counter in now.saturating_sub(w)..=now.saturating_add(w) {
        let ok: bool = code_at(key, counter)
            .as_bytes()
            .ct_eq(code.as_bytes())
            .into();
        if ok && found.is_none() {
            found = Some(counter);
        }
    }
    found
}

/// The QR code of `uri` as an SVG document (no raster image stack).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

/// RFC 4648 base32 without padding (passlib's `b32encode`).
pub fn b32(data: &[u8]) -> String {
    Secret::from(data.to_vec())
        .to_base32()
        .trim_end_matches('=')
        .to_owned()
}

/// Decodes base32, with or without padding, case-insensitively.
pub fn unb32(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Secret::try_from_base32(&cleaned)
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory() -> TotpFactory {
        let mut secrets = BTreeMap::new();
        secrets.insert("1".to_owned(), ConfigSecret::new("fsecret-one"));
        TotpFactory::new(&secrets, "Rampart")
    }

    #[test]
    fn reads_passlib_encrypted_json() {
        // Written by passlib 1.9.4: TOTP.using(secrets={"1": "fsecret-one"})(key="JBSWY3DPEHPK3PXP").to_json()
        let stored = r#"{"enckey":{"c":14,"k":"5EQD6YUR73APPANA","s":"4X6F7235F5CUQ2NNOWHA","t":"1","v":1},"type":"totp","v":1}"#;
        let key = factory().decrypt(stored).expect("decrypts");
        assert_eq!(b32(&key), "JBSWY3DPEHPK3PXP");
    }

    #[test]
    fn round_trip_and_unknown_tag() {
        let f = factory();
        let stored = f.generate().expect("encrypts");
        let key = f.decrypt(&stored).expect("decrypts");
        assert_eq!(key.len(), 20);
        let mut other = BTreeMap::new();
        other.insert("2".to_owned(), ConfigSecret::new("x"));
        let g = TotpFactory::new(&other, "R");
        assert!(matches!(g.decrypt(&stored), Err(TotpError::UnknownTag(_))));
        for bad in [
            "",
            "{}",
            "[1]",
            r#"{"type":"totp","enckey":{"v":1,"c":99,"k":"A","s":"A","t":"1"}}"#,
        ] {
            assert!(f.decrypt(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc6238_vector_and_window() {
        // RFC 6238 appendix B, SHA1, T = 59: 94287082 (8 digits) -> 287082 with 6 digits.
        let key = b"12345678901234567890";
        assert_eq!(code_at(key, counter_of(59)), "287082");
        assert_eq!(matching_counter(key, "287082", 59, 0), Some(1));
        assert_eq!(matching_counter(key, "287082", 59 + 120, 120), Some(1));
        assert_eq!(matching_counter(key, "287082", 59 + 150, 120), None);
        assert_eq!(matching_counter(key, "28708", 59, 120), None);
        assert_eq!(matching_counter(key, "abcdef", 59, 120), None);
    }

    #[test]
    fn setup_values_and_qr() {
        let f = factory();
        let v = f.setup_values(b"12345678901234567890", "ann@example.com");
        assert!(v.uri.starts_with("otpauth://totp/"), "{}", v.uri);
        assert!(
            v.uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{}",
            v.uri
        );
        assert!(v.uri.contains("issuer=Rampart"), "{}", v.uri);
        let svg = qr_svg(&v.uri).expect("renders");
        assert!(svg.contains("<svg"), "{svg}");
    }
}
