//! The payload of an auth token, in its three versions.

use serde::Serialize;
use serde_json::Value;

use super::error::TokenError;

/// What a verified auth token says.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    /// The user's `fs_token_uniquifier` (when the model has one) or `fs_uniquifier`.
    pub uid: String,
    /// Time of primary authentication, float seconds since the Unix epoch (version 5 only).
    pub fs_paa: Option<f64>,
    /// The embedded expiry (`SECURITY_TOKEN_EXPIRE_TIMESTAMP`), seconds since the Unix epoch;
    /// `None` when the token has none (`exp` 0) or is a legacy token.
    pub exp: Option<i64>,
    /// The signed issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Payload version: 5 (dict), 4 (one-element list) or 3 (three-element list).
    pub version: u8,
}

/// The version 5 payload, fields in Flask-Security's order.
#[derive(Serialize)]
pub(super) struct PayloadV5<'a> {
    pub ver: &'static str,
    pub uid: &'a str,
    pub fs_paa: f64,
    pub exp: i64,
}

/// Reads a verified payload; checks `exp` against `now` (seconds since the Unix epoch).
pub(super) fn parse(value: Value, issued_at: u64, now: u64) -> Result<TokenClaims, TokenError> {
    match value {
        Value::Object(map) => {
            // Flask-Security requires these three keys (`fs_paa` is optional).
            let (Some(ver), Some(uid), Some(exp)) =
                (map.get("ver"), map.get("uid"), map.get("exp"))
            else {
                return Err(TokenError::Invalid);
            };
            let version = parse_version(ver)?;
            let uid = parse_uid(uid)?;
            let fs_paa = match map.get("fs_paa") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_f64(),
                Some(_) => return Err(TokenError::Invalid),
            };
            let exp = parse_exp(exp)?;
            if let Some(exp) = exp {
                // Python: `if ts < int(time.time()): raise SignatureExpired`.
                let now = i64::try_from(now).unwrap_or(i64::MAX);
                if exp < now {
                    return Err(TokenError::Expired);
                }
            }
            Ok(TokenClaims {
                uid,
                fs_paa,
                exp,
                issued_at,
                version,
            })
        }
        Value::Array(items) => {
            let (uid, version) = match items.as_slice() {
                [uid] => (uid, 4),
                [_, _, uid] => (uid, 3),
                _ => return Err(TokenError::Invalid),
            };
            Ok(TokenClaims {
                uid: parse_uid(uid)?,
                fs_paa: None,
                exp: None,
                issued_at,
                version,
            })
        }
        _ => Err(TokenError::Invalid),
    }
}

fn parse_uid(value: &Value) -> Result<String, TokenError> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        _ => Err(TokenError::Invalid),
    }
}

fn parse_version(value: &Value) -> Result<u8, TokenError> {
    let parsed = match value {
        Value::String(s) => s.parse::<u8>().ok(),
        Value::Number(n) => n.as_u64().and_then(|v| u8::try_from(v).ok()),
        _ => None,
    };
    match parsed {
        Some(v) if v >= 5 => Ok(v),
        _ => Err(TokenError::Invalid),
    }
}

/// `exp`: falsy (`0`, `false`, `null`) means none, as in Python's `if ts := tdata.get("exp")`.
fn parse_exp(value: &Value) -> Result<Option<i64>, TokenError> {
    match value {
        Value::Null | Value::Bool(false) => Ok(None),
        Value::Number(n) => {
            let exp = match n.as_i64() {
                Some(i) => i,
                // A float: Python compares it with the integer "now"; flooring keeps
                // `exp < now` equivalent for every integer `now`.
                None => match n.as_f64() {
                    Some(f) if f.is_finite() => f.floor() as i64,
                    _ => return Err(TokenError::Invalid),
                },
            };
            Ok((exp != 0).then_some(exp))
        }
        _ => Err(TokenError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_000_000;

    fn ok(value: Value) -> TokenClaims {
        match parse(value, 7, NOW) {
            Ok(c) => c,
            Err(e) => panic!("refused: {e}"),
        }
    }

    #[test]
    fn v5_v4_v3() {
        let c = ok(json!({"ver": "5", "uid": "u", "fs_paa": 1.5, "exp": 0}));
        assert_eq!(
            (c.uid.as_str(), c.fs_paa, c.exp, c.version),
            ("u", Some(1.5), None, 5)
        );
        assert_eq!(c.issued_at, 7);
        let c = ok(json!(["u4"]));
        assert_eq!((c.uid.as_str(), c.version, c.fs_paa), ("u4", 4, None));
        let c = ok(json!(["1", "hash", "u3"]));
        assert_eq!((c.uid.as_str(), c.version), ("u3", 3));
        // Extra keys (augment_auth_token) and a missing fs_paa are fine.
        let c = ok(json!({"ver": "5", "uid": "u", "exp": null, "extra": [1]}));
        assert_eq!(c.fs_paa, None);
    }

    /// Fuzz regression (`fuzz/regressions/tokens/fs-paa-float-roundtrip`): an `fs_paa` read
    /// back from the token's JSON text is the f64 that was written, to the last bit (serde_json
    /// parses floats exactly only with its `float_roundtrip` feature).
    #[test]
    fn fs_paa_survives_the_json_text_exactly() {
        for bits in [
            0x1414_1414_2e2e_1500_u64,
            1_732_340_878.123_456_f64.to_bits(),
        ] {
            let paa = f64::from_bits(bits);
            let text = json!({"ver": "5", "uid": "u", "fs_paa": paa, "exp": 0}).to_string();
            let value = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
            assert_eq!(ok(value).fs_paa.map(f64::to_bits), Some(bits), "{text}");
        }
    }

    #[test]
    fn exp_boundary() {
        let at = |exp: Value| parse(json!({"ver": "5", "uid": "u", "exp": exp}), 7, NOW);
        assert_eq!(at(json!(NOW)).map(|c| c.exp).ok(), Some(Some(1_000_000)));
        assert!(matches!(at(json!(NOW - 1)), Err(TokenError::Expired)));
        assert!(matches!(at(json!(999_999.5)), Err(TokenError::Expired)));
        assert!(at(json!(1_000_000.5)).is_ok());
        assert!(at(json!(false)).is_ok());
        assert!(matches!(at(json!("0")), Err(TokenError::Invalid)));
        assert!(matches!(at(json!(true)), Err(TokenError::Invalid)));
    }

    #[test]
    fn malformed_payloads_are_invalid() {
        for bad in [
            json!({"uid": "u", "exp": 0}),
            json!({"ver": "5", "exp": 0}),
            json!({"ver": "5", "uid": "u"}),
            json!({"ver": "5", "uid": 3, "exp": 0}),
            json!({"ver": "5", "uid": "", "exp": 0}),
            json!({"ver": "x", "uid": "u", "exp": 0}),
            json!({"ver": "4", "uid": "u", "exp": 0}),
            json!({"ver": "5", "uid": "u", "exp": 0, "fs_paa": "now"}),
            json!([]),
            json!(["a", "b"]),
            json!(["a", "b", "c", "d"]),
            json!([1]),
            json!("u"),
            json!(5),
            Value::Null,
        ] {
            assert!(
                matches!(parse(bad.clone(), 7, NOW), Err(TokenError::Invalid)),
                "{bad}"
            );
        }
    }
}
