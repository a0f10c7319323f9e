//! `rampart_core::signing` against golden vectors minted by Python itsdangerous 2.2,
//! Flask-Security-Too 5.9.2 and Flask-WTF (see `tools/vectors/gen_signing_vectors.py`), the
//! reverse direction through a real `python3`, and a tampering table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;
use std::process::Command;
use std::time::Duration;

use rampart_core::signing::{
    MAX_TOKEN_LEN, PayloadError, SecretKeys, SigningError, TimestampSigner, UrlSafeSerializer,
    UrlSafeTimedSerializer,
};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/signing_vectors.json");

#[derive(Debug, Deserialize)]
struct VectorFile {
    itsdangerous: String,
    vectors: Vec<Vector>,
}

#[derive(Debug, Clone, Deserialize)]
struct Vector {
    name: String,
    kind: String,
    primary: String,
    fallbacks: Vec<String>,
    signing_key: String,
    salt: String,
    payload_json: String,
    compressed: bool,
    token: String,
    timestamp: Option<u64>,
}

impl Vector {
    fn keys(&self) -> SecretKeys {
        SecretKeys::new(&self.primary)
            .unwrap()
            .with_fallbacks(&self.fallbacks)
            .unwrap()
    }
    fn timed(&self) -> bool {
        self.kind == "timed"
    }
    fn payload(&self) -> Value {
        serde_json::from_str(&self.payload_json).unwrap()
    }
}

fn vectors() -> Vec<Vector> {
    let file: VectorFile = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(file.itsdangerous, "2.2.0");
    assert!(file.vectors.len() >= 18);
    file.vectors
}

fn vector(name: &str) -> Vector {
    vectors().into_iter().find(|v| v.name == name).unwrap()
}

const MINUTE: Option<Duration> = Some(Duration::from_secs(60));

/// Decodes any vector with the given keys, as of one second after it was issued.
fn load(v: &Vector, keys: SecretKeys, salt: &str) -> Result<Value, SigningError> {
    if v.timed() {
        let now = v.timestamp.unwrap() + 1;
        UrlSafeTimedSerializer::new(keys)
            .loads_at::<Value>(&v.token, salt, MINUTE, now)
            .map(|(value, issued_at)| {
                assert_eq!(Some(issued_at), v.timestamp, "{}", v.name);
                value
            })
    } else {
        UrlSafeSerializer::new(keys).loads(&v.token, salt)
    }
}

// ---------------------------------------------------------------------------------------------
// JSON that keeps Python's key order (serde_json::Value sorts keys) for byte-identical dumps.

#[derive(Debug, Clone)]
enum PyJson {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    List(Vec<PyJson>),
    Dict(Vec<(String, PyJson)>),
}

impl Serialize for PyJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PyJson::Null => s.serialize_unit(),
            PyJson::Bool(b) => s.serialize_bool(*b),
            PyJson::Int(i) => s.serialize_i64(*i),
            PyJson::UInt(u) => s.serialize_u64(*u),
            PyJson::Float(f) => s.serialize_f64(*f),
            PyJson::Str(v) => s.serialize_str(v),
            PyJson::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            PyJson::Dict(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for PyJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PyJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E: de::Error>(self) -> Result<PyJson, E> {
                Ok(PyJson::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<PyJson, E> {
                Ok(PyJson::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<PyJson, E> {
                Ok(PyJson::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<PyJson, E> {
                Ok(PyJson::UInt(u))
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<PyJson, E> {
                Ok(PyJson::Float(f))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PyJson, E> {
                Ok(PyJson::Str(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyJson, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(PyJson::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyJson, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(PyJson::Dict(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// Rust's `dumps` of the vector's payload, signed with the key Python signed with.
fn rust_dumps(v: &Vector) -> String {
    let payload: PyJson = serde_json::from_str(&v.payload_json).unwrap();
    let keys = SecretKeys::new(&v.signing_key).unwrap();
    match v.timestamp {
        Some(ts) if v.timed() => UrlSafeTimedSerializer::new(keys)
            .dumps_at(&payload, &v.salt, ts)
            .unwrap(),
        _ => UrlSafeSerializer::new(keys)
            .dumps(&payload, &v.salt)
            .unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Python -> Rust

#[test]
fn every_python_vector_verifies_and_decodes() {
    for v in vectors() {
        let value = load(&v, v.keys(), &v.salt).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(value, v.payload(), "{}", v.name);
        assert_eq!(v.token.starts_with('.'), v.compressed, "{}", v.name);
    }
}

#[test]
fn rust_dumps_is_byte_identical_to_python() {
    for v in vectors() {
        let ours = rust_dumps(&v);
        if v.compressed {
            // Same JSON, but deflate streams may differ between miniz_oxide and C zlib: the
            // payload must still decompress to Python's exact JSON bytes.
            assert!(ours.starts_with('.'), "{}: should compress too", v.name);
            let ours_vec = Vector {
                token: ours,
                ..v.clone()
            };
            let keys = SecretKeys::new(&v.signing_key).unwrap();
            assert_eq!(
                load(&ours_vec, keys, &v.salt).unwrap(),
                v.payload(),
                "{}",
                v.name
            );
        } else {
            assert_eq!(ours, v.token, "{}", v.name);
        }
    }
}

#[test]
fn uncompressed_payload_segment_is_identical_and_compressed_inflates_identically() {
    // Byte-identical JSON even where the deflate stream differs: compare inflated payloads.
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::io::Read as _;
    for v in vectors().into_iter().filter(|v| v.compressed) {
        let ours = rust_dumps(&v);
        let inflate = |token: &str| {
            let seg = token[1..].split('.').next().unwrap();
            let raw = URL_SAFE_NO_PAD.decode(seg).unwrap();
            let mut out = String::new();
            flate2::read::ZlibDecoder::new(&raw[..])
                .read_to_string(&mut out)
                .unwrap();
            out
        };
        assert_eq!(inflate(&ours), v.payload_json, "{}", v.name);
        assert_eq!(inflate(&v.token), v.payload_json, "{}", v.name);
    }
}

/// Flask-Security's version-5 auth token as a typed struct, in Python's field order.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct AuthTokenV5 {
    ver: String,
    uid: String,
    fs_paa: f64,
    exp: i64,
}

#[test]
fn flask_security_auth_token_as_typed_struct() {
    for name in ["fs_auth_token_v5", "fs_auth_token_v5_with_fallbacks"] {
        let v = vector(name);
        let ts = v.timestamp.unwrap();
        let ser = UrlSafeTimedSerializer::new(v.keys());
        // SECURITY_TOKEN_MAX_AGE defaults to 15 minutes.
        let max_age = Some(Duration::from_secs(15 * 60));
        let (token, issued_at): (AuthTokenV5, u64) = ser
            .loads_at(&v.token, "remember-salt", max_age, ts + 900)
            .unwrap();
        assert_eq!(issued_at, ts);
        assert_eq!(token.ver, "5");
        assert_eq!(token.exp, i64::try_from(ts).unwrap() + 3600);
        assert_eq!(token.fs_paa, 1_732_340_878.123_456);
        let late = ser.loads_at::<AuthTokenV5>(&v.token, "remember-salt", max_age, ts + 901);
        assert_eq!(
            late.unwrap_err(),
            SigningError::SignatureExpired {
                issued_at: ts,
                age: 901
            }
        );
        // Rust re-issues the same payload; the JSON is byte-identical (see above).
        let again = UrlSafeTimedSerializer::new(SecretKeys::new(&v.signing_key).unwrap())
            .dumps_at(&token, "remember-salt", ts)
            .unwrap();
        let (back, _): (AuthTokenV5, u64) =
            ser.loads_at(&again, "remember-salt", max_age, ts).unwrap();
        assert_eq!(back, token);
    }
}

#[test]
fn fallback_keys() {
    for name in [
        "signed_by_fallback_key",
        "untimed_signed_by_fallback",
        "fs_auth_token_v5_with_fallbacks",
    ] {
        let v = vector(name);
        assert_eq!(
            v.signing_key, v.fallbacks[0],
            "{name} is signed with the fallback"
        );
        // Verifies with SECRET_KEY + fallbacks …
        assert_eq!(load(&v, v.keys(), &v.salt).unwrap(), v.payload(), "{name}");
        // … but not with SECRET_KEY alone.
        let primary_only = SecretKeys::new(&v.primary).unwrap();
        assert!(
            load(&v, primary_only, &v.salt)
                .unwrap_err()
                .is_bad_signature(),
            "{name}"
        );
        // Rust signs with SECRET_KEY, and the Python key set still verifies it.
        let ours = UrlSafeTimedSerializer::new(v.keys())
            .dumps_at(&v.payload(), &v.salt, 1_000)
            .unwrap();
        let only_fallback = SecretKeys::new(&v.fallbacks[0]).unwrap();
        assert!(
            UrlSafeTimedSerializer::new(only_fallback)
                .loads_at::<Value>(&ours, &v.salt, None, 1_000)
                .is_err(),
            "signed with the primary key, not the fallback"
        );
    }
}

#[test]
fn csrf_token_shape() {
    let v = vector("flask_wtf_csrf_token");
    let ser = UrlSafeTimedSerializer::new(v.keys());
    let ts = v.timestamp.unwrap();
    let limit = Some(Duration::from_secs(3600)); // WTF_CSRF_TIME_LIMIT
    let (raw, _): (String, u64) = ser
        .loads_at(&v.token, "wtf-csrf-token", limit, ts + 3600)
        .unwrap();
    assert_eq!(raw.len(), 40);
    assert!(
        raw.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(
        ser.loads_at::<String>(&v.token, "wtf-csrf-token", limit, ts + 3601)
            .unwrap_err()
            .is_expired()
    );
    assert_eq!(ser.dumps_at(&raw, "wtf-csrf-token", ts).unwrap(), v.token);
}

// ---------------------------------------------------------------------------------------------
// Rust -> Python

const PY_CHECK: &str = r#"
import json, sys
from unittest import mock
try:
    import itsdangerous
    from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
except ImportError as e:
    print(f"cannot import itsdangerous: {e}", file=sys.stderr)
    sys.exit(3)
cases = json.load(open(sys.argv[1], encoding="utf-8"))
bad = 0
for c in cases:
    keys = [c["primary"]] + c["fallbacks"]
    try:
        if c["timestamp"] is None:
            value = URLSafeSerializer(keys, salt=c["salt"]).loads(c["token"])
        else:
            with mock.patch("time.time", return_value=c["timestamp"] + 1):
                s = URLSafeTimedSerializer(keys, salt=c["salt"])
                value, issued = s.loads(c["token"], max_age=60, return_timestamp=True)
            assert int(issued.timestamp()) == c["timestamp"], "timestamp"
        assert value == json.loads(c["payload_json"]), "payload"
    except Exception as e:
        bad += 1
        print(f"{c['name']}: {type(e).__name__}: {e}", file=sys.stderr)
print(f"{len(cases) - bad}/{len(cases)} Rust tokens verified by itsdangerous")
sys.exit(1 if bad else 0)
"#;

#[test]
fn rust_tokens_verify_in_python_itsdangerous() {
    #[derive(Serialize)]
    struct Case {
        name: String,
        primary: String,
        fallbacks: Vec<String>,
        salt: String,
        payload_json: String,
        token: String,
        timestamp: Option<u64>,
    }
    let mut cases = Vec::new();
    for v in vectors() {
        // Signed by Rust with SECRET_KEY (not the key Python used), verified by Python with
        // [SECRET_KEY] + SECRET_KEY_FALLBACKS, exactly as Flask-Security builds its list.
        let payload: PyJson = serde_json::from_str(&v.payload_json).unwrap();
        let token = match v.timestamp {
            Some(ts) if v.timed() => UrlSafeTimedSerializer::new(v.keys())
                .dumps_at(&payload, &v.salt, ts)
                .unwrap(),
            _ => UrlSafeSerializer::new(v.keys())
                .dumps(&payload, &v.salt)
                .unwrap(),
        };
        cases.push(Case {
            name: v.name.clone(),
            primary: v.primary.clone(),
            fallbacks: v.fallbacks.clone(),
            salt: v.salt.clone(),
            payload_json: v.payload_json.clone(),
            token,
            timestamp: if v.timed() { v.timestamp } else { None },
        });
    }
    // A few more payloads that only Rust made up.
    let keys = SecretKeys::new("rust-side-secret").unwrap();
    for (i, payload) in [
        serde_json::json!({"ver": "5", "uid": "x", "fs_paa": 0.5, "exp": 0}),
        serde_json::json!(["ünïcødé", "\u{1F510}", "\u{0}\u{1f}\u{7f}\u{2028}"]),
        serde_json::json!({"big": vec!["abc"; 500]}),
        serde_json::json!([1e-7, 1e22, -0.0, 3.0]),
    ]
    .into_iter()
    .enumerate()
    {
        let token = UrlSafeTimedSerializer::new(keys.clone())
            .dumps_at(&payload, "confirm-salt", 1_700_000_000)
            .unwrap();
        cases.push(Case {
            name: format!("rust_only_{i}"),
            primary: "rust-side-secret".into(),
            fallbacks: vec![],
            salt: "confirm-salt".into(),
            payload_json: payload.to_string(),
            token,
            timestamp: Some(1_700_000_000),
        });
    }

    let path = std::env::temp_dir().join(format!(
        "rampart-signing-{}-{}.json",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let output = Command::new("python3")
        .arg("-c")
        .arg(PY_CHECK)
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.expect(
        "running `python3` failed: the reverse-direction test needs Python 3 with \
         itsdangerous 2.2 (`pip install itsdangerous==2.2.0`)",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "Python itsdangerous is not installed (`pip install itsdangerous==2.2.0`): {stderr}"
    );
    assert!(
        output.status.success(),
        "itsdangerous refused Rust-made tokens:\n{stderr}{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

// ---------------------------------------------------------------------------------------------
// Tampering

/// Verifies `token` as the given vector would be verified; returns the error.
fn reject(v: &Vector, token: &str) -> SigningError {
    let tampered = Vector {
        token: token.to_owned(),
        ..v.clone()
    };
    match load(&tampered, v.keys(), &v.salt) {
        Ok(value) => panic!("{}: tampered token {token:?} accepted as {value}", v.name),
        Err(e) => e,
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn other_char(c: u8) -> u8 {
    match B64.iter().position(|&b| b == c) {
        Some(i) => B64[(i + 1) % B64.len()],
        None => b'A',
    }
}

#[test]
fn flipping_any_character_is_detected() {
    for name in [
        "short_login_list",
        "fs_auth_token_v5",
        "flask_wtf_csrf_token",
        "refresh_token",
        "untimed_signed_by_fallback",
        "timestamp_zero",
    ] {
        let v = vector(name);
        let bytes = v.token.as_bytes();
        // Positions of the separators that split value / timestamp / signature.
        let last = v.token.rfind('.').unwrap();
        let ts_sep = v.token[..last].rfind('.');
        for i in 0..bytes.len() {
            let mut t = bytes.to_vec();
            t[i] = other_char(t[i]);
            let t = String::from_utf8(t).unwrap();
            let err = reject(&v, &t);
            if !v.timed() {
                assert!(
                    matches!(err, SigningError::BadSignature { .. }),
                    "{name}[{i}]: {err:?}"
                );
            } else if i == last || Some(i) == ts_sep {
                // A separator is gone: BadSignature or BadTimeSignature, as in itsdangerous.
                assert!(
                    err.is_bad_signature() && !err.is_expired(),
                    "{name}[{i}]: {err:?}"
                );
            } else {
                assert!(
                    matches!(err, SigningError::BadTimeSignature { .. }),
                    "{name}[{i}]: {err:?}"
                );
            }
        }
    }
}

#[test]
fn python_lenient_signature_spellings_are_refused() {
    // itsdangerous decodes signatures with Python's lenient base64 and accepts all of these
    // (checked by hand with itsdangerous 2.2.0); Rampart accepts only the canonical spelling.
    let v = vector("short_login_list");
    let (body, sig) = v.token.rsplit_once('.').unwrap();
    let last = *sig.as_bytes().last().unwrap();
    let low_bits = B64[(B64.iter().position(|&b| b == last).unwrap()) ^ 1];
    let variants = [
        format!("{body}.{}{}", &sig[..sig.len() - 1], low_bits as char),
        format!("{body}.{sig}="),
        format!("{body}.{}", sig.replace('-', "+").replace('_', "/")),
        format!("{body}.{sig} "),
    ];
    for t in variants.iter().filter(|t| **t != v.token) {
        assert!(reject(&v, t).is_bad_signature(), "{t}");
    }
}

#[test]
fn truncation_is_detected() {
    for name in ["short_login_list", "fs_auth_token_v5", "refresh_token"] {
        let v = vector(name);
        for len in 0..v.token.len() {
            assert!(
                reject(&v, &v.token[..len]).is_bad_signature(),
                "{name}[..{len}]"
            );
        }
        for extra in ["A", ".", "..", "=", "\0"] {
            assert!(reject(&v, &format!("{}{extra}", v.token)).is_bad_signature());
            assert!(reject(&v, &format!("{extra}{}", v.token)).is_bad_signature());
        }
    }
}

#[test]
fn salts_are_not_interchangeable() {
    let all = vectors();
    let salts: Vec<&str> = [
        "remember-salt",
        "wtf-csrf-token",
        "confirm-salt",
        "reset-salt",
        "login-salt",
        "tf-validity-salt",
        "refresh-token-salt",
        "change-email-salt",
    ]
    .to_vec();
    for v in &all {
        for salt in salts.iter().filter(|s| **s != v.salt) {
            let err = load(v, v.keys(), salt).unwrap_err();
            assert!(err.is_bad_signature(), "{} as {salt}: {err}", v.name);
        }
    }
}

#[test]
fn wrong_key_and_timed_untimed_confusion() {
    for v in vectors() {
        let wrong = SecretKeys::new("not the key")
            .unwrap()
            .with_fallbacks(["nor this"])
            .unwrap();
        assert!(
            load(&v, wrong, &v.salt).unwrap_err().is_bad_signature(),
            "{}",
            v.name
        );
        if v.timed() {
            // A timed token is not a valid untimed one (the signature covers "payload.ts").
            let r = UrlSafeSerializer::new(v.keys()).loads::<Value>(&v.token, &v.salt);
            assert!(r.is_err(), "{}", v.name);
        } else {
            let r =
                UrlSafeTimedSerializer::new(v.keys()).loads_at::<Value>(&v.token, &v.salt, None, 0);
            assert!(r.is_err(), "{}", v.name);
        }
    }
}

#[test]
fn expiry_and_future_timestamps() {
    let v = vector("confirm_token");
    let ts = v.timestamp.unwrap();
    let ser = UrlSafeTimedSerializer::new(v.keys());
    let two_days = Some(Duration::from_secs(2 * 86_400)); // CONFIRM_EMAIL_WITHIN
    assert!(
        ser.loads_at::<Value>(&v.token, &v.salt, two_days, ts + 172_800)
            .is_ok()
    );
    assert_eq!(
        ser.loads_at::<Value>(&v.token, &v.salt, two_days, ts + 172_801)
            .unwrap_err(),
        SigningError::SignatureExpired {
            issued_at: ts,
            age: 172_801
        }
    );
    // itsdangerous refuses any token dated in the future as expired (no tolerance).
    assert_eq!(
        ser.loads_at::<Value>(&v.token, &v.salt, two_days, ts - 1)
            .unwrap_err(),
        SigningError::SignatureExpired {
            issued_at: ts,
            age: -1
        }
    );
    // Without max_age nothing is checked.
    assert!(ser.loads_at::<Value>(&v.token, &v.salt, None, 0).is_ok());
    // Zero max_age: valid only in the second it was issued.
    let zero = Some(Duration::ZERO);
    assert!(ser.loads_at::<Value>(&v.token, &v.salt, zero, ts).is_ok());
    assert!(
        ser.loads_at::<Value>(&v.token, &v.salt, zero, ts + 1)
            .is_err()
    );
    // Expired is reported before the payload is looked at.
    let far = vector("timestamp_beyond_2106");
    let far_ser = UrlSafeTimedSerializer::new(far.keys());
    assert!(
        far_ser
            .loads_at::<Value>(&far.token, &far.salt, MINUTE, ts)
            .unwrap_err()
            .is_expired()
    );
    assert!(
        far_ser
            .loads_at::<Value>(&far.token, &far.salt, None, ts)
            .is_ok()
    );
}

#[test]
fn garbage_inputs() {
    let keys = SecretKeys::new("k").unwrap();
    let ser = UrlSafeTimedSerializer::new(keys.clone());
    let plain = UrlSafeSerializer::new(keys.clone());
    let huge = format!("{}.AAAA.{}", "A".repeat(MAX_TOKEN_LEN), "A".repeat(27));
    let dots = ".".repeat(10_000);
    let inputs: Vec<&str> = vec![
        "",
        ".",
        "..",
        "...",
        "....",
        "a",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "!!!.###.$$$",
        "é.é.é",
        "\0.\0.\0",
        "eyJ9.Z0Fsjg.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ".eJyrrgUAAXUA-Q.Z0Fsjg.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &huge,
        &dots,
    ];
    for input in inputs {
        let e = ser.loads_at::<Value>(input, "s", MINUTE, 0).unwrap_err();
        assert!(
            e.is_bad_signature(),
            "{:?}: {e}",
            &input[..input.len().min(20)]
        );
        let e = plain.loads::<Value>(input, "s").unwrap_err();
        assert!(
            e.is_bad_signature(),
            "{:?}: {e}",
            &input[..input.len().min(20)]
        );
    }
}

/// Validly signed tokens whose payload is broken: BadPayload, never a panic.
#[test]
fn bad_payloads_behind_valid_signatures() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::io::Write as _;

    let keys = SecretKeys::new("k").unwrap();
    let signer = TimestampSigner::new(&keys, "s");
    let ser = UrlSafeTimedSerializer::new(keys);
    let zlib = |data: &[u8]| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        format!(".{}", URL_SAFE_NO_PAD.encode(e.finish().unwrap()))
    };
    let b64 = |data: &[u8]| URL_SAFE_NO_PAD.encode(data);
    let mut truncated_zlib =
        zlib(br#"{"a":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}"#);
    truncated_zlib.truncate(truncated_zlib.len() - 3);
    let cases: Vec<(String, PayloadError)> = vec![
        ("!!!!".into(), PayloadError::Base64),
        ("eyJ9=".into(), PayloadError::Base64),
        (".".into(), PayloadError::Decompress),
        (".AAAA".into(), PayloadError::Decompress),
        (
            format!(".{}", b64(b"not zlib at all")),
            PayloadError::Decompress,
        ),
        (truncated_zlib, PayloadError::Decompress),
        (zlib(&vec![b' '; 16 * 1024 * 1024]), PayloadError::TooLarge), // zip bomb
        (b64(&vec![b' '; 70_000]), PayloadError::TooLarge),
        (String::new(), PayloadError::InvalidJson),
        (b64(b"{"), PayloadError::InvalidJson),
        (b64(b"\xff\xfe"), PayloadError::InvalidJson),
        (b64(b"NaN"), PayloadError::InvalidJson),
        (zlib(b"[1,2"), PayloadError::InvalidJson),
    ];
    for (payload, expected) in cases {
        let token = signer.sign_at(&payload, 5);
        let err = ser.loads_at::<Value>(&token, "s", None, 5).unwrap_err();
        assert_eq!(
            err,
            SigningError::BadPayload(expected),
            "{}",
            &payload[..payload.len().min(30)]
        );
        assert!(!err.is_bad_signature());
    }
    // Valid JSON of the wrong shape.
    let token = ser.dumps_at(&["a"], "s", 5).unwrap();
    assert_eq!(
        ser.loads_at::<AuthTokenV5>(&token, "s", None, 5)
            .unwrap_err(),
        SigningError::BadPayload(PayloadError::UnexpectedShape)
    );
    // dumps refuses what loads would refuse.
    let big = vec!["x"; 30_000];
    assert_eq!(
        ser.dumps(&big, "s").unwrap_err(),
        SigningError::Unserializable(PayloadError::TooLarge)
    );
    let mut bad_map = std::collections::BTreeMap::new();
    bad_map.insert(vec![1u8], 1);
    assert!(matches!(
        ser.dumps(&bad_map, "s"),
        Err(SigningError::Unserializable(_))
    ));
}

#[test]
fn errors_never_contain_secrets_or_tokens() {
    let v = vector("fs_auth_token_v5");
    let mut errors = vec![
        reject(&v, &v.token[..v.token.len() - 1]),
        load(&v, SecretKeys::new("x").unwrap(), &v.salt).unwrap_err(),
        UrlSafeTimedSerializer::new(v.keys())
            .loads_at::<Value>(&v.token, &v.salt, MINUTE, u64::MAX)
            .unwrap_err(),
        UrlSafeTimedSerializer::new(v.keys())
            .loads_at::<AuthTokenV5>(&vector("short_login_list").token, "login-salt", None, 0)
            .unwrap_err(),
    ];
    errors.push(SigningError::BadPayload(PayloadError::UnexpectedShape));
    for e in errors {
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains(&v.primary), "{shown}");
            assert!(!shown.contains(&v.token[1..20]), "{shown}");
            assert!(!shown.contains("5c0e0b5d"), "{shown}");
        }
    }
    let keys = format!("{:?}", v.keys());
    assert!(!keys.contains(&v.primary));
}

// ---------------------------------------------------------------------------------------------
// Random mutations

/// splitmix64: a tiny deterministic PRNG so the run is reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

fn mutate(rng: &mut SplitMix, token: &str) -> String {
    let alphabet: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \0";
    let mut t = token.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        let i = rng.below(t.len());
        let c = alphabet[rng.below(alphabet.len())];
        match rng.below(6) {
            0 if !t.is_empty() => t[i] = c,
            1 if !t.is_empty() => {
                t.remove(i);
            }
            2 => t.insert(i.min(t.len()), c),
            3 if t.len() > 1 => {
                let j = rng.below(t.len());
                t.swap(i, j);
            }
            4 => t.truncate(i),
            _ if !t.is_empty() => t[i] ^= 1 << rng.below(7),
            _ => t.push(c),
        }
    }
    String::from_utf8_lossy(&t).into_owned()
}

#[test]
fn five_thousand_random_mutations_are_all_refused() {
    let all = vectors();
    let mut rng = SplitMix(0x5EED_2024_1123);
    let mut tried = 0;
    while tried < 5_000 {
        let v = &all[rng.below(all.len())];
        let t = mutate(&mut rng, &v.token);
        if t == v.token {
            continue;
        }
        tried += 1;
        let tampered = Vector {
            token: t.clone(),
            ..v.clone()
        };
        if let Ok(value) = load(&tampered, v.keys(), &v.salt) {
            panic!("mutation #{tried} of {} accepted: {t:?} -> {value}", v.name);
        }
    }
}
