//! `rampart::tokens` against the real Flask-Security-Too 5.9.2, both ways.
//!
//! - Tokens minted by Flask-Security (`tests/vectors/token_vectors.json`, made by
//!   `tools/vectors/gen_token_vectors.py`) decode here with the right claims and expiry.
//! - Tokens minted here are accepted by a Flask-Security app (a `python3` subprocess running
//!   the same script with `--verify`).
//! - `authenticate` against the real SQLite datastore: rotation and deactivation revoke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use rampart::datastore::UserDatastore;
use rampart::model::{NewUser, User};
use rampart::tokens::{AuthTokens, SecretKeys, TokenClaims, TokenError};
use rampart_core::signing::unix_now;
use serde_json::{Value, json};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const FIFTEEN_MIN: u64 = 15 * 60;

struct Case {
    name: String,
    secret_key: String,
    fallbacks: Vec<String>,
    token: String,
    issued_at: u64,
    expected: Value,
    fs_uniquifier: String,
}

fn cases() -> Vec<Case> {
    let path = format!("{MANIFEST_DIR}/tests/vectors/token_vectors.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["versions"]["flask_security_too"], "5.9.2");
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            secret_key: c["secret_key"].as_str().unwrap().to_owned(),
            fallbacks: c["fallbacks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect(),
            token: c["token"].as_str().unwrap().to_owned(),
            issued_at: c["issued_at"].as_u64().unwrap(),
            expected: c["expected"].clone(),
            fs_uniquifier: c["user"]["fs_uniquifier"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn case(name: &str) -> Case {
    cases().into_iter().find(|c| c.name == name).unwrap()
}

fn keys(primary: &str, fallbacks: &[String]) -> SecretKeys {
    SecretKeys::new(primary)
        .unwrap()
        .with_fallbacks(fallbacks)
        .unwrap()
}

fn tokens_for(c: &Case) -> AuthTokens {
    AuthTokens::new(keys(&c.secret_key, &c.fallbacks))
}

fn decode(c: &Case, at: u64) -> Result<TokenClaims, TokenError> {
    tokens_for(c).decode_at(&c.token, at)
}

#[test]
fn flask_security_tokens_decode_with_their_claims() {
    let all = cases();
    assert!(all.len() >= 7);
    for c in &all {
        let claims = decode(c, c.issued_at).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let e = &c.expected;
        assert_eq!(claims.uid, e["uid"].as_str().unwrap(), "{}", c.name);
        assert_eq!(
            u64::from(claims.version),
            e["version"].as_u64().unwrap(),
            "{}",
            c.name
        );
        assert_eq!(claims.fs_paa, e["fs_paa"].as_f64(), "{}", c.name);
        assert_eq!(claims.exp, e["exp"].as_i64(), "{}", c.name);
        assert_eq!(claims.issued_at, c.issued_at, "{}", c.name);
    }
}

#[test]
fn default_max_age_is_fifteen_minutes() {
    for c in cases().iter().filter(|c| c.expected["exp"].is_null()) {
        let t = c.issued_at;
        assert!(decode(c, t + FIFTEEN_MIN - 1).is_ok(), "{}", c.name);
        assert!(decode(c, t + FIFTEEN_MIN).is_ok(), "{}", c.name);
        assert!(
            matches!(decode(c, t + FIFTEEN_MIN + 1), Err(TokenError::Expired)),
            "{}",
            c.name
        );
        // Dated in the future: itsdangerous refuses any negative age.
        assert!(
            matches!(decode(c, t - 1), Err(TokenError::Expired)),
            "{}",
            c.name
        );
        // Without a maximum age (SECURITY_TOKEN_MAX_AGE = 0) it lives on.
        let forever = tokens_for(c).with_max_age(None);
        assert!(forever.decode_at(&c.token, t + 10 * 365 * 86_400).is_ok());
        // Flask-Security 5.9.2's own reading of SECURITY_TOKEN_MAX_AGE = 0: zero seconds.
        let zero = tokens_for(c).with_max_age(Some(Duration::ZERO));
        assert!(zero.decode_at(&c.token, t).is_ok());
        assert!(matches!(
            zero.decode_at(&c.token, t + 1),
            Err(TokenError::Expired)
        ));
        // A custom maximum age.
        let hour = tokens_for(c).with_max_age(Some(Duration::from_secs(3600)));
        assert!(hour.decode_at(&c.token, t + 3600).is_ok());
        assert!(matches!(
            hour.decode_at(&c.token, t + 3601),
            Err(TokenError::Expired)
        ));
    }
}

#[test]
fn embedded_exp_expires_even_without_max_age() {
    let c = case("v5_exp");
    let exp = u64::try_from(c.expected["exp"].as_i64().unwrap()).unwrap();
    assert_eq!(exp, c.issued_at + 600);
    let forever = tokens_for(&c).with_max_age(None);
    assert_eq!(
        forever.decode_at(&c.token, exp).unwrap().exp,
        Some(600 + 1_732_340_878)
    );
    assert!(matches!(
        forever.decode_at(&c.token, exp + 1),
        Err(TokenError::Expired)
    ));
    // With the default 15 minutes, the shorter (exp, 10 minutes) applies.
    assert!(decode(&c, exp).is_ok());
    assert!(matches!(decode(&c, exp + 1), Err(TokenError::Expired)));
}

#[test]
fn wrong_key_is_invalid_and_fallbacks_work() {
    for c in cases() {
        let wrong = AuthTokens::new(keys("not the secret", &[]));
        assert!(
            matches!(
                wrong.decode_at(&c.token, c.issued_at),
                Err(TokenError::Invalid)
            ),
            "{}",
            c.name
        );
        let salted = tokens_for(&c).with_salt("other-salt");
        assert!(matches!(
            salted.decode_at(&c.token, c.issued_at),
            Err(TokenError::Invalid)
        ));
    }
    // Minted with the old key: accepted only while it is a fallback.
    let old = case("v5_old_key");
    assert!(decode(&old, old.issued_at).is_ok());
    let no_fallback = AuthTokens::new(keys(&old.secret_key, &[]));
    assert!(matches!(
        no_fallback.decode_at(&old.token, old.issued_at),
        Err(TokenError::Invalid)
    ));
    let old_as_primary = AuthTokens::new(keys(&old.fallbacks[0], &[]));
    assert!(old_as_primary.decode_at(&old.token, old.issued_at).is_ok());
    // itsdangerous' quirk: an app with fallbacks signs with the last one.
    let quirk = case("v5_app_with_fallbacks");
    let primary_only = AuthTokens::new(keys(&quirk.secret_key, &[]));
    assert!(matches!(
        primary_only.decode_at(&quirk.token, quirk.issued_at),
        Err(TokenError::Invalid)
    ));
}

/// The JSON inside a token (inflated when compressed), as the bytes that were signed.
fn payload_json(token: &str) -> String {
    use base64::Engine as _;
    use std::io::Read as _;
    let (compressed, rest) = match token.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let segment = rest.split('.').next().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap();
    if !compressed {
        return String::from_utf8(raw).unwrap();
    }
    let mut out = String::new();
    flate2::read::ZlibDecoder::new(raw.as_slice())
        .read_to_string(&mut out)
        .unwrap();
    out
}

#[test]
fn rust_issues_the_same_payload_as_flask_security() {
    // Same key, user and issue time as Python's `get_auth_token()`: the same JSON, byte for
    // byte (key order, float repr). The deflate stream may differ from Python's C zlib (see
    // `rampart_core::signing`), so the tokens are compared through their payload and claims.
    for name in ["v5", "v5_exp", "v5_token_uniquifier"] {
        let c = case(name);
        let token_uniq =
            (name == "v5_token_uniquifier").then(|| c.expected["uid"].as_str().unwrap());
        let u = user(&c.fs_uniquifier, token_uniq);
        let fs_paa = c.expected["fs_paa"].as_f64().unwrap();
        let exp = c.expected["exp"].as_i64();
        let ours = tokens_for(&c)
            .issue_at(&u, token_uniq.is_some(), fs_paa, exp, c.issued_at)
            .unwrap();
        assert_eq!(payload_json(&ours), payload_json(&c.token), "{name}");
        assert!(payload_json(&ours).starts_with(r#"{"ver":"5","uid":""#));
        assert_eq!(
            ours.rsplit('.').nth(1),
            c.token.rsplit('.').nth(1),
            "{name}: same timestamp"
        );
        let ours = Case {
            token: ours,
            ..case(name)
        };
        assert_eq!(
            decode(&ours, c.issued_at).unwrap(),
            decode(&c, c.issued_at).unwrap()
        );
    }
}

/// A fixed-seed xorshift generator: reproducible mutations without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

fn mutate(token: &str, rng: &mut XorShift) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/";
    let mut bytes = token.as_bytes().to_vec();
    let pos = rng.below(bytes.len());
    let ch = ALPHABET[rng.below(ALPHABET.len())];
    match rng.below(6) {
        0 | 1 => bytes[pos] = ch,
        2 => bytes.insert(pos, ch),
        3 => {
            bytes.remove(pos);
        }
        4 => bytes.truncate(pos),
        _ => {
            let other = rng.below(bytes.len());
            bytes.swap(pos, other);
        }
    }
    String::from_utf8(bytes).unwrap()
}

#[test]
fn tamper_loop_accepts_nothing() {
    let mut rng = XorShift(0x005e_ed0f_7a3e_0001);
    let mut accepted = Vec::new();
    let mut tried = 0;
    for c in cases() {
        let tokens = tokens_for(&c).with_max_age(None);
        for _ in 0..300 {
            let forged = mutate(&c.token, &mut rng);
            if forged == c.token {
                continue;
            }
            tried += 1;
            if tokens.decode_at(&forged, c.issued_at).is_ok() {
                accepted.push(forged);
            }
        }
    }
    assert!(tried >= 2000, "only {tried} mutations");
    assert!(accepted.is_empty(), "accepted forgeries: {accepted:?}");
}

// ---------------------------------------------------------------------------------------------
// Rust → Flask-Security

fn python_verify(request: &Value) -> Vec<Value> {
    let probe = Command::new("python3")
        .args(["-c", "import flask_security, flask_sqlalchemy"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); it is needed for this test"));
    assert!(
        probe.status.success(),
        "python3 cannot import flask_security / flask_sqlalchemy; install \
         Flask-Security-Too==5.9.2 and Flask-SQLAlchemy: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let script = format!("{MANIFEST_DIR}/../../tools/vectors/gen_token_vectors.py");
    let mut child = Command::new("python3")
        .args([script.as_str(), "--verify"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "verify script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

fn user(uniq: &str, token_uniq: Option<&str>) -> User {
    let t = time::macros::datetime!(2024-11-23 05:47:58);
    User {
        fs_token_uniquifier: token_uniq.map(Into::into),
        ..User::detached(1, "rust@example.com", uniq, t)
    }
}

#[test]
fn rust_tokens_are_accepted_by_flask_security() {
    const PRIMARY: &str = "rust-primary-secret-0123456789";
    const OLD: &str = "rust-old-secret-9876543210";
    let uniq = "f00dcafe00000000000000000000beef";
    let token_uniq = "70c3e000000000000000000000000070";
    let now = unix_now();
    let paa = now as f64 + 0.25;
    let rotated = AuthTokens::new(keys(PRIMARY, &[OLD.to_owned()]));
    let old_app = AuthTokens::new(keys(OLD, &[]));
    let wrong = AuthTokens::new(keys("some other secret", &[]));

    // Model without fs_token_uniquifier.
    let u = user(uniq, None);
    let toks = [
        rotated.issue(&u, false, paa, None).unwrap(),
        rotated.issue(&u, false, paa, Some(0)).unwrap(),
        rotated
            .issue(&u, false, paa, Some(i64::try_from(now).unwrap() + 300))
            .unwrap(),
        old_app.issue(&u, false, paa, None).unwrap(),
        // Refusals: wrong key, too old, exp in the past, dated in the future.
        wrong.issue(&u, false, paa, None).unwrap(),
        rotated
            .issue_at(&u, false, paa, None, now - FIFTEEN_MIN - 5)
            .unwrap(),
        rotated
            .issue(&u, false, paa, Some(i64::try_from(now).unwrap() - 5))
            .unwrap(),
        rotated.issue_at(&u, false, paa, None, now + 60).unwrap(),
    ];
    let results = python_verify(&json!({
        "secret_key": PRIMARY, "fallbacks": [OLD], "fs_uniquifier": uniq, "tokens": toks,
    }));
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 401, 401, 401, 401]);
    assert!(results[..4].iter().all(|r| r["uid"] == uniq));
    // Every one that Flask-Security accepts, Rampart accepts too, and the reverse.
    for (token, status) in toks.iter().zip(&statuses) {
        assert_eq!(rotated.decode(token).is_ok(), *status == 200);
    }

    // Model with fs_token_uniquifier: the token carries it.
    let u = user(uniq, Some(token_uniq));
    let with_column = rotated.issue(&u, true, paa, None).unwrap();
    assert_eq!(rotated.decode(&with_column).unwrap().uid, token_uniq);
    // A token by fs_uniquifier still works there (Flask-Security's fallback).
    let by_uniq = rotated.issue(&u, false, paa, None).unwrap();
    let results = python_verify(&json!({
        "secret_key": PRIMARY, "fallbacks": [OLD], "fs_uniquifier": uniq,
        "fs_token_uniquifier": token_uniq, "tokens": [with_column, by_uniq],
    }));
    assert!(
        results
            .iter()
            .all(|r| r["status"] == 200 && r["uid"] == uniq),
        "{results:?}"
    );

    // An inactive user is refused by Flask-Security as well.
    let results = python_verify(&json!({
        "secret_key": PRIMARY, "fallbacks": [], "fs_uniquifier": uniq, "active": false,
        "tokens": [rotated.issue(&user(uniq, None), false, paa, None).unwrap()],
    }));
    assert_eq!(results[0]["status"], 401);
}

// ---------------------------------------------------------------------------------------------
// authenticate() on the real SQLite datastore

async fn new_user(store: &dyn UserDatastore, email: &str) -> User {
    store
        .create_user(NewUser {
            email: email.into(),
            active: true,
            ..NewUser::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn authenticate_finds_active_user_and_honours_rotation() {
    let (store, _guard) = rampart_tests::sqlite_store().await;
    let store: &dyn UserDatastore = &store;
    let tokens = AuthTokens::new(keys("sqlite-secret", &[]));
    let with_column = store.has_token_uniquifier();
    let u = new_user(store, "tok@example.com").await;
    let now = unix_now() as f64;

    let token = tokens.issue(&u, with_column, now, None).unwrap();
    let by_uniq = tokens.issue(&u, false, now, None).unwrap();
    assert_eq!(tokens.authenticate(&token, store).await.unwrap(), u);
    assert_eq!(tokens.authenticate(&by_uniq, store).await.unwrap(), u);

    // Forged and expired tokens never reach the store.
    let forged = AuthTokens::new(keys("other", &[]))
        .issue(&u, with_column, now, None)
        .unwrap();
    assert!(matches!(
        tokens.authenticate(&forged, store).await,
        Err(TokenError::Invalid)
    ));
    let exp = Some(i64::try_from(unix_now()).unwrap() - 1);
    let expired = tokens.issue(&u, with_column, now, exp).unwrap();
    assert!(matches!(
        tokens.authenticate(&expired, store).await,
        Err(TokenError::Expired)
    ));

    // Rotating the token uniquifier (where it exists) revokes tokens that carry it.
    let mut u = u;
    if with_column {
        u.fs_token_uniquifier = Some("1".repeat(32));
        u = store.update_user(&u).await.unwrap();
        assert!(matches!(
            tokens.authenticate(&token, store).await,
            Err(TokenError::Revoked)
        ));
        assert_eq!(tokens.authenticate(&by_uniq, store).await.unwrap(), u);
    }
    // Rotating fs_uniquifier (password change) revokes tokens that carry it.
    u.fs_uniquifier = "2".repeat(32);
    u = store.update_user(&u).await.unwrap();
    assert!(matches!(
        tokens.authenticate(&by_uniq, store).await,
        Err(TokenError::Revoked)
    ));
    let fresh = tokens.issue(&u, with_column, now, None).unwrap();
    assert_eq!(tokens.authenticate(&fresh, store).await.unwrap(), u);

    // Deactivation.
    u.active = false;
    store.update_user(&u).await.unwrap();
    let err = tokens.authenticate(&fresh, store).await.unwrap_err();
    assert!(matches!(err, TokenError::Inactive));
    assert!(err.is_rejection());

    // Deletion.
    store.delete_user(u.id).await.unwrap();
    assert!(matches!(
        tokens.authenticate(&fresh, store).await,
        Err(TokenError::Revoked)
    ));
}

#[tokio::test]
async fn flask_security_tokens_authenticate_against_sqlite() {
    let (store, _guard) = rampart_tests::sqlite_store().await;
    let store: &dyn UserDatastore = &store;
    for name in ["v5", "v4", "v3", "v5_old_key", "v5_app_with_fallbacks"] {
        let c = case(name);
        let mut u = new_user(store, &format!("{name}@example.com")).await;
        u.fs_uniquifier = c.fs_uniquifier.clone();
        let u = store.update_user(&u).await.unwrap();
        let found = tokens_for(&c)
            .authenticate_at(&c.token, store, c.issued_at + 1)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(found, u, "{name}");
        let late = tokens_for(&c)
            .authenticate_at(&c.token, store, c.issued_at + FIFTEEN_MIN + 1)
            .await;
        assert!(matches!(late, Err(TokenError::Expired)), "{name}");
        store.delete_user(u.id).await.unwrap();
    }
}

#[test]
fn error_messages_carry_no_secrets() {
    let c = case("v5");
    for err in [
        TokenError::Invalid,
        TokenError::Expired,
        TokenError::Revoked,
        TokenError::Inactive,
    ] {
        let text = format!("{err} {err:?}");
        assert!(!text.contains(&c.token) && !text.contains(&c.secret_key));
        assert!(!text.contains(&c.fs_uniquifier));
    }
    let tokens = tokens_for(&c);
    assert!(!format!("{tokens:?}").contains(&c.secret_key));
}

/// The verified-token cache gives the same answers as a full check: expiry by age, by `exp`
/// and for future-dated tokens still apply to a cached token, and a forged token is never
/// let in by it.
#[test]
fn verified_cache_keeps_every_expiry_rule() {
    for c in cases() {
        let t = c.issued_at;
        let cached = tokens_for(&c).with_verified_cache(Duration::from_secs(3600));
        let plain = tokens_for(&c);
        for at in [
            t,
            t + 1,
            t + FIFTEEN_MIN,
            t + FIFTEEN_MIN + 1,
            t + 700,
            t - 1,
            t + 601,
        ] {
            let (a, b) = (
                cached.decode_at(&c.token, at),
                plain.decode_at(&c.token, at),
            );
            assert_eq!(
                format!(
                    "{:?}",
                    a.as_ref()
                        .map(|x| (&x.uid, x.exp, x.issued_at))
                        .map_err(|e| e.to_string())
                ),
                format!(
                    "{:?}",
                    b.as_ref()
                        .map(|x| (&x.uid, x.exp, x.issued_at))
                        .map_err(|e| e.to_string())
                ),
                "{} at {at}",
                c.name
            );
        }
        let mut forged = c.token.clone();
        forged.push('x');
        assert!(cached.decode_at(&forged, t).is_err(), "{}", c.name);
    }
}
