//! Stored credentials: the `webauthn` row (Flask-Security's columns) to and from
//! webauthn-rs' [`Credential`].
//!
//! `public_key` holds the COSE key as CBOR, exactly what py_webauthn's
//! `credential_public_key` is, so rows written by Flask-Security verify here and rows written
//! here verify in Flask-Security. `device_type` `multi_device` means backup eligible.

use std::collections::BTreeMap;

use rampart_core::model::WebAuthnCredential;
use serde_cbor_2::Value;
use webauthn_rs_core::proto::{
    AttestationFormat, AttestationMetadata, AuthenticatorTransport, COSEAlgorithm, COSEKey,
    COSEKeyType, Credential, ECDSACurve, EDDSACurve, ParsedAttestation, ParsedAttestationData,
    RegisteredExtensions, UserVerificationPolicy,
};

/// Flask-Security's `device_type` of a backup-eligible (synced) credential.
pub(crate) const MULTI_DEVICE: &str = "multi_device";
/// Flask-Security's `device_type` of a device-bound credential.
pub(crate) const SINGLE_DEVICE: &str = "single_device";

/// A stored public key that is not a COSE key Rampart can verify with.
#[derive(Debug, thiserror::Error)]
#[error("stored public key is not a supported COSE key")]
pub(crate) struct BadKey;

/// The COSE (CBOR) encoding of a key, as authenticators send it and Flask-Security stores it.
pub(crate) fn cose_bytes(key: &COSEKey) -> Vec<u8> {
    let int = |i: i128| Value::Integer(i);
    let mut m: BTreeMap<Value, Value> = BTreeMap::new();
    m.insert(int(3), int(key.type_ as i128));
    match &key.key {
        COSEKeyType::EC_EC2(ec) => {
            let crv = match ec.curve {
                ECDSACurve::SECP256R1 => 1,
                ECDSACurve::SECP384R1 => 2,
                ECDSACurve::SECP521R1 => 3,
            };
            m.insert(int(1), int(2));
            m.insert(int(-1), int(crv));
            m.insert(int(-2), Value::Bytes(ec.x.clone()));
            m.insert(int(-3), Value::Bytes(ec.y.clone()));
        }
        COSEKeyType::EC_OKP(okp) => {
            let crv = match okp.curve {
                EDDSACurve::ED25519 => 6,
                EDDSACurve::ED448 => 7,
            };
            m.insert(int(1), int(1));
            m.insert(int(-1), int(crv));
            m.insert(int(-2), Value::Bytes(okp.x.clone()));
        }
        COSEKeyType::RSA(rsa) => {
            m.insert(int(1), int(3));
            m.insert(int(-1), Value::Bytes(rsa.n.clone()));
            m.insert(int(-2), Value::Bytes(rsa.e.to_vec()));
        }
    }
    serde_cbor_2::to_vec(&Value::Map(m)).unwrap_or_default()
}

/// Parses a stored COSE key (and checks it is a valid point or modulus).
pub(crate) fn cose_key(bytes: &[u8]) -> Result<COSEKey, BadKey> {
    let value: Value = serde_cbor_2::from_slice(bytes).map_err(|_| BadKey)?;
    COSEKey::try_from(&value).map_err(|_| BadKey)
}

/// Transports as Flask-Security stores them (`usb`, `nfc`, `ble`, `internal`, `hybrid`).
pub(crate) fn transport_names(t: Option<&[AuthenticatorTransport]>) -> Vec<String> {
    t.unwrap_or_default()
        .iter()
        .filter_map(|t| match serde_json::to_value(t) {
            Ok(serde_json::Value::String(s)) if s != "unknown" => Some(s),
            _ => None,
        })
        .collect()
}

fn transports(names: &[String]) -> Option<Vec<AuthenticatorTransport>> {
    let list: Vec<AuthenticatorTransport> = names
        .iter()
        .filter_map(|n| serde_json::from_value(serde_json::Value::String(n.clone())).ok())
        .filter(|t| *t != AuthenticatorTransport::Unknown)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// The verifier's view of a stored row.
///
/// User verification is decided per ceremony (Flask-Security never records it), so the
/// credential is marked as registered with UV preferred but not performed: the ceremony's own
/// policy is the only UV requirement.
pub(crate) fn to_credential(row: &WebAuthnCredential) -> Result<Credential, BadKey> {
    Ok(Credential {
        cred_id: row.credential_id.clone(),
        cred: cose_key(&row.public_key)?,
        counter: u32::try_from(row.sign_count.max(0)).unwrap_or(u32::MAX),
        transports: transports(&row.transports),
        user_verified: false,
        backup_eligible: row.device_type == MULTI_DEVICE,
        backup_state: row.backup_state,
        registration_policy: UserVerificationPolicy::Preferred,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation {
            data: ParsedAttestationData::None,
            metadata: AttestationMetadata::None,
        },
        attestation_format: AttestationFormat::None,
    })
}

/// The algorithms offered at registration: those webauthn-rs verifies securely.
pub(crate) fn algorithms() -> Vec<COSEAlgorithm> {
    COSEAlgorithm::secure_algs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use webauthn_rs_core::proto::COSEEC2Key;

    /// A P-256 public key (the generator point) in COSE form, as py_webauthn would store it.
    fn p256_cose() -> Vec<u8> {
        let x = hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
        let y = hex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
        let mut m = BTreeMap::new();
        m.insert(Value::Integer(1), Value::Integer(2));
        m.insert(Value::Integer(3), Value::Integer(-7));
        m.insert(Value::Integer(-1), Value::Integer(1));
        m.insert(Value::Integer(-2), Value::Bytes(x));
        m.insert(Value::Integer(-3), Value::Bytes(y));
        serde_cbor_2::to_vec(&Value::Map(m)).unwrap_or_default()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
            .collect()
    }

    #[test]
    fn cose_round_trip() {
        let bytes = p256_cose();
        let Ok(key) = cose_key(&bytes) else {
            panic!("a valid P-256 key parses")
        };
        assert_eq!(key.type_, COSEAlgorithm::ES256);
        let COSEKeyType::EC_EC2(COSEEC2Key { x, .. }) = &key.key else {
            panic!("EC2")
        };
        assert_eq!(x.len(), 32);
        let again = cose_bytes(&key);
        let Ok(back) = cose_key(&again) else {
            panic!("re-encoded key parses")
        };
        assert_eq!(back.key, key.key);
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(cose_key(b"").is_err());
        assert!(cose_key(b"\xa0").is_err(), "empty map");
        let mut bytes = p256_cose();
        // A point off the curve: flip a bit of y.
        if let Some(b) = bytes.last_mut() {
            *b ^= 1;
        }
        assert!(cose_key(&bytes).is_err());
    }

    #[test]
    fn rows_become_credentials() {
        let t = time::macros::datetime!(2024-11-23 05:47:58);
        let row = WebAuthnCredential {
            id: 1,
            credential_id: vec![1, 2, 3],
            public_key: p256_cose(),
            sign_count: 7,
            transports: vec!["usb".into(), "nfc".into(), "bogus".into()],
            backup_state: false,
            device_type: MULTI_DEVICE.into(),
            extensions: None,
            create_datetime: t,
            lastuse_datetime: t,
            name: "key".into(),
            usage: "first".into(),
            user_id: 1,
        };
        let Ok(c) = to_credential(&row) else {
            panic!("converts")
        };
        assert_eq!(c.counter, 7);
        assert!(c.backup_eligible);
        assert_eq!(
            transport_names(c.transports.as_deref()),
            vec!["usb".to_owned(), "nfc".to_owned()]
        );
    }
}
