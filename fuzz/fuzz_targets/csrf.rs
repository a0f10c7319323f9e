//! Flask-WTF CSRF tokens (`rampart::csrf`): a fuzzed token is never accepted for a session
//! secret unless it carries our canonical signature; a token made for one secret is accepted
//! for it and refused for any other, and one changed byte refuses it.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rampart::fuzzing::{Csrf, CsrfError};
use rampart::tokens::SecretKeys;
use rampart_core::signing::Signer;

const KEY: &str = "fuzz-csrf-secret";
const LIMIT: Option<Duration> = Some(Duration::from_secs(3600));

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let keys = SecretKeys::new(KEY).expect("non-empty key");
    let csrf = Csrf::new(keys.clone());
    let (token, raw) = text
        .split_once('\u{0}')
        .unwrap_or((&text, "0123456789abcdef0123456789abcdef01234567"));
    if mode % 2 == 0 {
        // A fuzzed token against a fuzzed (or the usual shape of) session secret.
        if csrf.check(token, raw, LIMIT).is_ok() {
            let (value, _) = token
                .rsplit_once('.')
                .expect("a signed token has a separator");
            assert_eq!(Signer::new(&keys, "wtf-csrf-token").sign(value), token);
        }
        return;
    }
    // Round trip for a fuzzed secret.
    let signed = csrf.sign(raw);
    assert_eq!(csrf.check(&signed, raw, LIMIT), Ok(()), "own token refused");
    assert_eq!(csrf.check(&signed, raw, None), Ok(()));
    let other = format!("{raw}0");
    assert_eq!(csrf.check(&signed, &other, LIMIT), Err(CsrfError::Mismatch));
    let mut bytes = signed.clone().into_bytes();
    let at = rest.len() % bytes.len();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8_lossy(&bytes);
    assert!(
        csrf.check(&changed, raw, LIMIT).is_err(),
        "changed token accepted: {changed}"
    );
    // Another application's key never verifies it.
    let foreign = Csrf::new(SecretKeys::new("another-key").expect("non-empty key"));
    assert_eq!(foreign.check(&signed, raw, LIMIT), Err(CsrfError::Invalid));
});
