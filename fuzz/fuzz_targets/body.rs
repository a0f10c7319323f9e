//! Request bodies: the JSON-or-form parser every Rampart endpoint uses
//! (`views::form::Fields`) and the authentication layer's look-up of `auth_token` and
//! `csrf_token` never panic, and agree: a field the views see is the one the layer saw
//! (first value of a repeated form field; JSON objects only), `text` is the trimmed
//! `secret`, and the reading does not depend on anything but the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::fuzzing::parse_body;

const TYPES: [&[u8]; 6] = [
    b"application/json",
    b"application/x-www-form-urlencoded",
    b"application/json; charset=utf-8",
    b"text/plain",
    b"APPLICATION/X-WWW-FORM-URLENCODED; charset=latin1",
    b"application/vnd.api+json",
];
const NAMES: [&str; 6] = [
    "email",
    "password",
    "remember",
    "csrf_token",
    "auth_token",
    "next",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let ct = (pick < 250).then(|| TYPES[usize::from(pick) % TYPES.len()]);
    let view = parse_body(ct, body, &NAMES);
    assert_eq!(view, parse_body(ct, body, &NAMES), "not deterministic");
    let Some(fields) = &view.fields else {
        // Refused bodies are JSON that is not an object.
        let json: Result<serde_json::Value, _> = serde_json::from_slice(body);
        assert!(
            !matches!(json, Ok(serde_json::Value::Object(_))),
            "object refused"
        );
        return;
    };
    for (name, f) in fields {
        if let Some(t) = &f.text {
            assert!(!t.is_empty() && t.trim() == t, "{name}: untrimmed {t:?}");
            assert_eq!(
                f.secret.as_deref().map(str::trim),
                Some(t.as_str()),
                "{name}"
            );
        }
        if let Some(s) = &f.secret {
            assert!(!s.is_empty());
        }
    }
    if view.layer_read {
        let csrf = fields
            .iter()
            .find(|(n, _)| n == "csrf_token")
            .map(|(_, f)| &f.secret);
        let layer = view.layer_csrf_token.clone().filter(|t| !t.is_empty());
        assert_eq!(
            csrf.cloned().flatten(),
            layer,
            "csrf_token: views and layer disagree"
        );
        let auth = fields
            .iter()
            .find(|(n, _)| n == "auth_token")
            .map(|(_, f)| &f.secret);
        if view.layer_auth_token.is_some() {
            let layer = view.layer_auth_token.clone().filter(|t| !t.is_empty());
            assert_eq!(
                auth.cloned().flatten(),
                layer,
                "auth_token: views and layer disagree"
            );
        }
    }
});
