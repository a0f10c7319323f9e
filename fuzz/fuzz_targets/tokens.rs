//! Auth tokens (`rampart::tokens`) and emailed link tokens (`rampart::lifecycle::links`):
//! decoding any input never panics; whatever is accepted carries the canonical signature of
//! one of our keys (nothing forged or malleable); issued tokens decode to what was put in,
//! and one changed byte makes them invalid.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rampart::lifecycle::links::{LinkStatus, LinkTokens};
use rampart::tokens::{AuthTokens, SecretKeys, TokenError};
use rampart_core::model::User;
use rampart_core::signing::Signer;

const KEY: &str = "fuzz-secret-key";
const FALLBACK: &str = "fuzz-old-secret-key";
const NOW: u64 = 1_800_000_000;
const SALTS: [&str; 3] = ["remember-salt", "reset-salt", "confirm-salt"];

fn keys() -> SecretKeys {
    SecretKeys::new(KEY)
        .and_then(|k| k.with_fallbacks([FALLBACK]))
        .expect("non-empty keys")
}

/// Whether `token` is `value.sig` with the canonical signature of one of our keys.
fn canonically_signed(token: &str, salt: &str) -> bool {
    let Some((value, _)) = token.rsplit_once('.') else {
        return false;
    };
    [KEY, FALLBACK].iter().any(|k| {
        let one = SecretKeys::new(k).expect("non-empty key");
        Signer::new(&one, salt).sign(value) == token
    })
}

fn user(uniquifier: &str, password: Option<&str>) -> User {
    let at = time::macros::datetime!(2026-01-01 00:00:00);
    User {
        password: password.map(str::to_owned),
        ..User::detached(1, "fuzz@example.com", uniquifier, at)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let tokens = AuthTokens::new(keys()).with_max_age(Some(Duration::from_secs(3600)));
    let links = LinkTokens::new(keys(), KEY);
    match mode % 4 {
        // Any input as an auth token.
        0 => {
            if tokens.decode_at(&text, NOW).is_ok() {
                assert!(
                    canonically_signed(&text, "remember-salt"),
                    "accepted: {text:?}"
                );
            }
        }
        // Any input as a link token of each salt.
        1 => {
            for salt in SALTS {
                if let LinkStatus::Valid(_) = links.check(&text, salt, Duration::from_secs(3600)) {
                    assert!(canonically_signed(&text, salt), "accepted: {text:?}");
                }
            }
        }
        // Round trip of an auth token with fuzzed claims, and a one-byte change.
        2 => {
            if rest.len() < 17 {
                return;
            }
            let fs_paa = f64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
            let exp = i64::from_le_bytes(rest[8..16].try_into().expect("8 bytes"));
            let flip = usize::from(rest[16]);
            let uid = String::from_utf8_lossy(&rest[17..]).into_owned();
            let u = user(&uid, None);
            let issued = tokens.issue_at(&u, false, fs_paa, Some(exp), NOW);
            let Ok(token) = issued else {
                assert!(
                    uid.is_empty() || !fs_paa.is_finite(),
                    "cannot issue for {uid:?}"
                );
                return;
            };
            match tokens.decode_at(&token, NOW) {
                Ok(c) => {
                    assert_eq!(c.uid, uid);
                    assert_eq!(c.exp, (exp != 0).then_some(exp));
                    assert_eq!(c.version, 5);
                    assert_eq!(c.issued_at, NOW);
                    // JSON keeps a finite f64 exactly.
                    assert_eq!(c.fs_paa.map(f64::to_bits), Some(fs_paa.to_bits()));
                }
                Err(TokenError::Expired) => {
                    assert!(exp != 0 && exp < NOW as i64, "expired with exp {exp}");
                }
                Err(e) => panic!("issued token refused: {e}"),
            }
            let mut bytes = token.clone().into_bytes();
            let at = flip % bytes.len();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8_lossy(&bytes);
            assert!(
                tokens.decode_at(&changed, NOW).is_err(),
                "changed token accepted: {changed}"
            );
        }
        // Round trip of a reset link bound to a fuzzed password hash.
        _ => {
            let (uniq, hash) = text.split_once('\u{0}').unwrap_or((&text, "stored-hash"));
            // A link naming no user is refused by design (regressions/tokens/empty-uniquifier,
            // `links::tests::a_link_naming_no_user_is_refused`).
            if uniq.is_empty() {
                return;
            }
            let u = user(uniq, Some(hash));
            let token = links
                .reset(&u, "reset-salt")
                .expect("two strings serialize");
            match links.check(&token, "reset-salt", Duration::from_secs(3600)) {
                LinkStatus::Valid(b) => {
                    assert_eq!(b.uniquifier, uniq);
                    assert!(links.bound_to("reset-salt", b.binding.as_deref(), Some(hash)));
                    let other = format!("{hash}x");
                    assert!(!links.bound_to("reset-salt", b.binding.as_deref(), Some(&other)));
                }
                other => panic!("issued reset token refused: {other:?}"),
            }
            // Another purpose's salt never accepts it.
            assert_eq!(
                links.check(&token, "confirm-salt", Duration::from_secs(3600)),
                LinkStatus::Invalid
            );
        }
    }
});
