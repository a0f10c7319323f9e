//! Stored password hashes (`rampart-password`): identifying and parsing any string never
//! panics; verifying a parsed hash (when its cost is small enough to run here) never panics
//! and never matches a random secret; a hash made with the engine verifies the password it
//! was made from, only that one, and needs no rehash.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_password::fuzzing::{inspect, verify_capped};
use rampart_password::{Argon2Params, PasswordConfig, PasswordEngine, Scheme, SingleHash};

fn config(allow_plaintext: bool) -> PasswordConfig {
    PasswordConfig {
        single_hash: SingleHash::All,
        argon2: Argon2Params {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        },
        allow_plaintext,
        max_concurrency: 1,
        ..PasswordConfig::default()
    }
}

fn engine() -> &'static PasswordEngine {
    static ENGINE: OnceLock<PasswordEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PasswordEngine::new(config(false)).expect("valid config"))
}

/// The most work verified per input, per scheme (argon2: KiB × passes × lanes; bcrypt:
/// 2^cost; the others: rounds), so one input costs milliseconds, not hours.
fn cap(scheme: Scheme) -> u64 {
    match scheme {
        Scheme::Argon2 => 256,
        Scheme::Bcrypt => 32,
        Scheme::Pbkdf2Sha512 | Scheme::Pbkdf2Sha256 => 2_000,
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => 5_000,
        _ => 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if mode % 4 != 3 {
        let allow = mode % 4 == 1;
        let found = inspect(&text, &config(allow));
        let Some(scheme) = found.scheme else {
            assert!(found.work.is_none() && found.needs_rehash.is_none());
            return;
        };
        if scheme == Scheme::Plaintext {
            assert!(allow, "plaintext without allow_plaintext: {text:?}");
            return;
        }
        // A secret the fuzzer cannot have produced the hash for.
        let secret = b"\xff-not-the-password-\x00";
        if let Some(matched) = verify_capped(secret, &text, allow, cap(scheme)) {
            assert!(!matched, "{scheme:?} {text:?} matched a random secret");
        }
        return;
    }
    // Round trip through the engine (argon2id at a tiny cost).
    let password = text.as_ref();
    let e = engine();
    let hash = e.hash_blocking(password).expect("hashing works");
    assert_eq!(e.identify(&hash), Some(Scheme::Argon2));
    let ok = e
        .verify_blocking(password, &hash)
        .expect("verification works");
    assert!(ok.ok && !ok.needs_rehash, "own hash: {ok:?}");
    let other = format!("{password}!");
    let wrong = e
        .verify_blocking(&other, &hash)
        .expect("verification works");
    assert!(!wrong.ok, "another password matched");
    let found = inspect(&hash, e.config());
    assert_eq!(found.needs_rehash, Some(false));
    assert_eq!(found.work, Some(8));
});
