//! A software WebAuthn authenticator: P-256 ECDSA (ES256) keys, "none" attestation, and the
//! `clientDataJSON`, `authenticatorData` and `attestationObject` a browser would send, built
//! by hand (CBOR with serde_cbor_2) so a test can break any part of them.

use std::collections::BTreeMap;

use base64::Engine as _;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url")
}

/// One credential on the authenticator.
pub struct Authenticator {
    key: SigningKey,
    pub cred_id: Vec<u8>,
    pub counter: u32,
    pub rp_id: String,
    pub origin: String,
    /// `user.id` from the registration options (returned as `userHandle`).
    pub user_handle: Vec<u8>,
    /// Whether the authenticator verifies the user (the UV flag).
    pub uv: bool,
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

impl Authenticator {
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let seed: [u8; 32] = rand_bytes();
        let key = SigningKey::from_slice(&seed).expect("a valid scalar");
        Self {
            key,
            cred_id: rand_bytes::<16>().to_vec(),
            counter: 0,
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            user_handle: Vec::new(),
            uv: true,
        }
    }

    /// The public key as a COSE map (what the server stores).
    pub fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let mut m = BTreeMap::new();
        m.insert(Cbor::Integer(1), Cbor::Integer(2));
        m.insert(Cbor::Integer(3), Cbor::Integer(-7));
        m.insert(Cbor::Integer(-1), Cbor::Integer(1));
        m.insert(
            Cbor::Integer(-2),
            Cbor::Bytes(point.x().expect("x").to_vec()),
        );
        m.insert(
            Cbor::Integer(-3),
            Cbor::Bytes(point.y().expect("y").to_vec()),
        );
        serde_cbor_2::to_vec(&Cbor::Map(m)).expect("cbor")
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .expect("json")
    }

    fn flags(&self) -> u8 {
        if self.uv { UP | UV } else { UP }
    }

    fn auth_data(&self, extra_flags: u8, attested: bool) -> Vec<u8> {
        let mut d = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        d.push(self.flags() | extra_flags);
        d.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            d.extend_from_slice(&[0u8; 16]);
            let len = u16::try_from(self.cred_id.len()).expect("short id");
            d.extend_from_slice(&len.to_be_bytes());
            d.extend_from_slice(&self.cred_id);
            d.extend_from_slice(&self.cose_key());
        }
        d
    }

    /// `navigator.credentials.create` for `options` (the server's `credential_options`).
    pub fn create(&mut self, options: &Value) -> Value {
        let challenge = options["challenge"].as_str().expect("challenge");
        self.user_handle = unb64(options["user"]["id"].as_str().expect("user.id"));
        let client_data = self.client_data("webauthn.create", challenge);
        let mut att = BTreeMap::new();
        att.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        att.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        att.insert(
            Cbor::Text("authData".into()),
            Cbor::Bytes(self.auth_data(AT, true)),
        );
        let att = serde_cbor_2::to_vec(&Cbor::Map(att)).expect("cbor");
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&att),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": true}},
        })
    }

    /// `navigator.credentials.get` for `options`: the counter moves forward first.
    pub fn get(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.sign(options)
    }

    /// An assertion with the current counter (not moved).
    pub fn sign(&self, options: &Value) -> Value {
        let challenge = options["challenge"].as_str().expect("challenge");
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data(0, false);
        let mut msg = auth_data.clone();
        msg.extend_from_slice(&Sha256::digest(&client_data));
        let sig: Signature = self.key.sign(&msg);
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(sig.to_der().as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use rand::RngExt as _;
    rand::rng().random()
}
