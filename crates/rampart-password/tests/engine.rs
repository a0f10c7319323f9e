//! Engine behaviour: validation order, the breached-password check against a real
//! local HTTP server, normalisation, rehash decisions, configuration errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::get;
use rampart_password::breached::sha1_upper_hex;
use rampart_password::config::keys;
use rampart_password::{
    Argon2Params, BreachedMode, ComplexityChecker, ConfigError, HashScheme, NormalizeForm,
    PasswordConfig, PasswordEngine, Scheme, SingleHash,
};

/// Cheap argon2 for tests that do not care about the cost.
const CHEAP: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn base_config() -> PasswordConfig {
    PasswordConfig {
        salt: Some("test-salt".into()),
        argon2: CHEAP,
        ..PasswordConfig::default()
    }
}

// ---------------------------------------------------------------- HIBP server

#[derive(Clone, Default)]
struct Seen {
    /// (path + query, user agent) of every request.
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

#[derive(Clone)]
struct Hibp {
    seen: Seen,
    /// Full uppercase SHA-1 → count, served by prefix like the real API.
    corpus: Arc<Vec<(String, u64)>>,
    mode: Mode,
}

#[derive(Clone, Copy)]
enum Mode {
    Normal,
    Error500,
    Slow,
}

async fn range(
    State(h): State<Hibp>,
    Path(prefix): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    h.seen.requests.lock().unwrap().push((uri.to_string(), ua));
    match h.mode {
        Mode::Error500 => return (StatusCode::INTERNAL_SERVER_ERROR, "boom".into()),
        Mode::Slow => tokio::time::sleep(Duration::from_secs(3)).await,
        Mode::Normal => {}
    }
    // Some decoys, then the matching entries, CRLF-separated as the real API does.
    let mut lines = vec![
        "0018A45C4D1DEF81644B54AB7F969B88D65:10".to_owned(),
        "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2".to_owned(),
    ];
    for (full, count) in h.corpus.iter() {
        if full.starts_with(&prefix) {
            lines.push(format!("{}:{count}", &full[5..]));
        }
    }
    (StatusCode::OK, lines.join("\r\n"))
}

async fn serve(corpus: Vec<(&str, u64)>, mode: Mode) -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let state = Hibp {
        seen: seen.clone(),
        corpus: Arc::new(
            corpus
                .into_iter()
                .map(|(pw, n)| (sha1_upper_hex(pw), n))
                .collect(),
        ),
        mode,
    };
    let app = Router::new()
        .route("/range/{prefix}", get(range))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, seen)
}

/// An address nothing listens on.
async fn dead_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

fn hibp_engine(addr: SocketAddr, mode: BreachedMode, count: u64) -> PasswordEngine {
    PasswordEngine::new(PasswordConfig {
        check_breached: Some(mode),
        breached_count: count,
        hibp_base_url: format!("http://{addr}/range/"),
        hibp_timeout: Duration::from_millis(500),
        ..base_config()
    })
    .unwrap()
}

const PWNED: &str = "Summer2019!"; // served with count 5
const CLEAN: &str = "an unlisted passphrase";

#[tokio::test]
async fn breached_table() {
    let (addr, seen) = serve(vec![(PWNED, 5)], Mode::Normal).await;
    // (password, threshold, mode, expected issue key)
    let cases: &[(&str, u64, BreachedMode, Option<&str>)] = &[
        (PWNED, 1, BreachedMode::Strict, Some("PASSWORD_BREACHED")),
        (PWNED, 5, BreachedMode::Strict, Some("PASSWORD_BREACHED")),
        (PWNED, 6, BreachedMode::Strict, None),
        (
            PWNED,
            1,
            BreachedMode::BestEffort,
            Some("PASSWORD_BREACHED"),
        ),
        (CLEAN, 1, BreachedMode::Strict, None),
    ];
    for (pw, threshold, mode, expected) in cases {
        let engine = hibp_engine(addr, *mode, *threshold);
        let got = engine.validate(pw, &[]).await;
        let key = got.as_ref().err().map(|issues| issues[0].key);
        assert_eq!(key, *expected, "{pw:?} threshold {threshold} {mode:?}");
        if let Err(issues) = got {
            assert_eq!(issues.len(), 1);
            assert_eq!(issues[0].message, "Password on breached list");
            assert_eq!(issues[0].field, "password");
        }
    }

    // Only the five-character prefix was sent, on the documented path, with FS's UA.
    let requests = seen.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), cases.len());
    for (pw, _, _, _) in cases {
        let full = sha1_upper_hex(pw);
        let expected_path = format!("/range/{}", &full[..5]);
        assert!(
            requests.iter().any(|(p, _)| *p == expected_path),
            "{expected_path}"
        );
    }
    for (path, ua) in &requests {
        assert_eq!(ua, "Flask-Security (Python)");
        let prefix = path.strip_prefix("/range/").expect("path");
        assert_eq!(prefix.len(), 5, "{path}");
        assert!(
            prefix
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        for pw in [PWNED, CLEAN] {
            let full = sha1_upper_hex(pw);
            assert!(
                !path.contains(&full[5..]),
                "the hash suffix was sent: {path}"
            );
            assert!(
                !path.to_ascii_uppercase().contains(&full),
                "the full hash was sent"
            );
        }
    }
}

#[tokio::test]
async fn breached_check_uses_normalized_password() {
    // "ﬁ" normalises to "fi": the hash looked up is that of the NFKD form.
    let (addr, seen) = serve(vec![("financial2019", 3)], Mode::Normal).await;
    let engine = hibp_engine(addr, BreachedMode::Strict, 1);
    let err = engine
        .validate("\u{fb01}nancial2019", &[])
        .await
        .unwrap_err();
    assert_eq!(err[0].key, "PASSWORD_BREACHED");
    let path = seen.requests.lock().unwrap()[0].0.clone();
    assert_eq!(
        path,
        format!("/range/{}", &sha1_upper_hex("financial2019")[..5])
    );
}

#[tokio::test]
async fn service_failures_strict_vs_best_effort() {
    let dead = dead_addr().await;
    let (err500, _) = serve(vec![], Mode::Error500).await;
    let (slow, _) = serve(vec![], Mode::Slow).await;
    for addr in [dead, err500, slow] {
        let strict = hibp_engine(addr, BreachedMode::Strict, 1);
        let err = strict.validate(CLEAN, &[]).await.unwrap_err();
        assert_eq!(err[0].key, "PASSWORD_BREACHED_SITE_ERROR", "{addr}");
        assert_eq!(err[0].message, "Failed to contact breached passwords site");

        let lenient = hibp_engine(addr, BreachedMode::BestEffort, 1);
        assert!(lenient.validate(CLEAN, &[]).await.is_ok(), "{addr}");
    }
}

#[tokio::test]
async fn validation_order_stops_at_first_failure() {
    let (addr, seen) = serve(vec![("password", 100)], Mode::Normal).await;
    let engine = PasswordEngine::new(PasswordConfig {
        check_breached: Some(BreachedMode::Strict),
        hibp_base_url: format!("http://{addr}/range/"),
        complexity_checker: Some(ComplexityChecker::Zxcvbn),
        ..base_config()
    })
    .unwrap();
    // Too short: length fails, the service is not asked.
    let err = engine.validate("pass", &[]).await.unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].key, "PASSWORD_INVALID_LENGTH");
    assert_eq!(err[0].message, "Password must be at least 8 characters");
    assert!(seen.requests.lock().unwrap().is_empty());
    // Breached and weak: breached is reported, zxcvbn not reached.
    let err = engine.validate("password", &[]).await.unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].key, "PASSWORD_BREACHED");
    // Not breached but weak: zxcvbn's warning.
    let err = engine.validate("qwertyuiop", &[]).await.unwrap_err();
    assert_eq!(err[0].key, "PASSWORD_TOO_SIMPLE");
    assert_eq!(err[0].message, "This is a top-100 common password.");
    // Fine on all three.
    assert!(
        engine
            .validate("correct horse battery staple", &[])
            .await
            .is_ok()
    );
    // Weak because of the user's own data.
    let err = engine
        .validate(
            "jwagner.rampart2024",
            &["jwagner.rampart2024@example.com", "jwagner.rampart2024"],
        )
        .await
        .unwrap_err();
    assert_eq!(err[0].key, "PASSWORD_TOO_SIMPLE");
}

// ---------------------------------------------------------------- length & normalisation

#[tokio::test]
async fn length_bounds_after_normalization() {
    let engine = PasswordEngine::new(base_config()).unwrap();
    // (password, accepted)
    let cases: Vec<(String, bool)> = vec![
        ("a".repeat(7), false),
        ("a".repeat(8), true),
        ("a".repeat(128), true),
        ("a".repeat(129), false),
        // 7 code points typed, 8 after NFKD ("ﬁ" → "fi"): accepted.
        (format!("\u{fb01}{}", "a".repeat(6)), true),
        // 128 typed, 129 after NFKD: rejected.
        (format!("\u{fb01}{}", "a".repeat(127)), false),
        // "Å" composed is 1 code point typed, 2 after NFKD.
        (format!("\u{c5}{}", "a".repeat(6)), true),
        // Emoji are one code point each (not bytes).
        ("\u{1f980}".repeat(8), true),
        ("\u{1f980}".repeat(7), false),
    ];
    for (pw, accepted) in cases {
        let got = engine.validate(&pw, &[]).await;
        assert_eq!(
            got.is_ok(),
            accepted,
            "{} code points: {pw:?}",
            pw.chars().count()
        );
    }
}

#[tokio::test]
async fn normalization_equivalents_verify() {
    // (hashed as, verified as, form, equal?)
    let cases: &[(&str, &str, NormalizeForm, bool)] = &[
        (
            "\u{c5}ngstr\u{f6}m",
            "A\u{30a}ngstro\u{308}m",
            NormalizeForm::Nfkd,
            true,
        ),
        (
            "A\u{30a}ngstro\u{308}m",
            "\u{c5}ngstr\u{f6}m",
            NormalizeForm::Nfc,
            true,
        ),
        (
            "\u{212b}ngstrom",
            "\u{c5}ngstrom",
            NormalizeForm::Nfkd,
            true,
        ),
        ("\u{fb01}nancial", "financial", NormalizeForm::Nfkd, true),
        ("\u{fb01}nancial", "financial", NormalizeForm::Nfkc, true),
        ("\u{fb01}nancial", "financial", NormalizeForm::Nfd, false),
        ("\u{fb01}nancial", "financial", NormalizeForm::Nfc, false),
        (
            "\u{ff12}\u{ff10}\u{ff12}\u{ff14}pass",
            "2024pass",
            NormalizeForm::Nfkd,
            true,
        ),
        (
            "\u{c5}ngstr\u{f6}m",
            "A\u{30a}ngstro\u{308}m",
            NormalizeForm::None,
            false,
        ),
    ];
    for (hashed_as, verified_as, form, equal) in cases {
        let engine = PasswordEngine::new(PasswordConfig {
            normalize_form: *form,
            ..base_config()
        })
        .unwrap();
        let stored = engine.hash(hashed_as).await.unwrap();
        let v = engine.verify(verified_as, &stored).await.unwrap();
        assert_eq!(
            v.ok, *equal,
            "{hashed_as:?} vs {verified_as:?} under {form:?}"
        );
    }
}

// ---------------------------------------------------------------- hashing & verification

#[tokio::test]
async fn argon2_defaults_and_rehash() {
    let engine = PasswordEngine::new(PasswordConfig {
        salt: Some("s".into()),
        ..PasswordConfig::default()
    })
    .unwrap();
    let stored = engine.hash("password123").await.unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "{stored}"
    );
    let v = engine.verify("password123", &stored).await.unwrap();
    assert!(v.ok && !v.needs_rehash);

    // Same scheme, other parameters: rehash.
    let cheap = PasswordEngine::new(PasswordConfig {
        salt: Some("s".into()),
        argon2: CHEAP,
        ..PasswordConfig::default()
    })
    .unwrap();
    let old = cheap.hash("password123").await.unwrap();
    let v = engine.verify("password123", &old).await.unwrap();
    assert!(v.ok && v.needs_rehash);
    let v = engine.verify("password124", &old).await.unwrap();
    assert!(!v.ok && !v.needs_rehash);
}

#[tokio::test]
async fn unknown_formats_fail_without_error() {
    let engine = PasswordEngine::new(base_config()).unwrap();
    for stored in [
        "",
        "hunter22",
        "$1$md5$abcdefghijklmnopqrstuv",
        "$argon2id$garbage",
        "$2b$12$tooshort",
        "$pbkdf2-sha512$notanumber$x$y",
        "$6$",
        "\u{0}\u{1f980}",
    ] {
        let v = engine.verify("hunter22", stored).await.unwrap();
        assert!(!v.ok && !v.needs_rehash, "{stored:?}");
    }
}

#[tokio::test]
async fn plaintext_only_when_allowed() {
    let off = PasswordEngine::new(base_config()).unwrap();
    assert!(
        !off.verify("hunter22hunter", "hunter22hunter")
            .await
            .unwrap()
            .ok
    );
    assert_eq!(off.identify("hunter22hunter"), None);

    let on = PasswordEngine::new(PasswordConfig {
        allow_plaintext: true,
        ..base_config()
    })
    .unwrap();
    assert_eq!(on.identify("hunter22hunter"), Some(Scheme::Plaintext));
    let v = on.verify("hunter22hunter", "hunter22hunter").await.unwrap();
    assert!(v.ok && v.needs_rehash);
    assert!(
        !on.verify("hunter22hunteR", "hunter22hunter")
            .await
            .unwrap()
            .ok
    );
}

#[tokio::test]
async fn missing_salt_for_prehashed_stored_hash_is_an_error() {
    // Single-hash argon2 only: valid without a salt, but a legacy pre-hashed bcrypt
    // hash cannot be checked.
    let engine = PasswordEngine::new(PasswordConfig {
        salt: None,
        single_hash: SingleHash::Schemes(vec!["argon2".into()]),
        argon2: CHEAP,
        ..PasswordConfig::default()
    })
    .unwrap();
    let stored = engine.hash("password123").await.unwrap();
    assert!(engine.verify("password123", &stored).await.unwrap().ok);
    let err = engine
        .verify(
            "password123",
            "$2b$04$V6KhAcqCmcY8OkllO4dzteBEQPoGLAdNwbz/Cat6K.QqRraTtLbtq",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SECURITY_PASSWORD_SALT"), "{err}");
}

#[tokio::test]
async fn dummy_verify_takes_as_long_as_a_real_verify() {
    let engine = PasswordEngine::new(PasswordConfig {
        salt: Some("s".into()),
        argon2: Argon2Params {
            memory_kib: 8192,
            iterations: 2,
            parallelism: 1,
        },
        ..PasswordConfig::default()
    })
    .unwrap();
    let stored = engine.hash("password123").await.unwrap();
    // Warm up, then compare medians loosely (not a timing test: a 4x band).
    let _ = engine.verify("x", &stored).await;
    engine.dummy_verify().await;
    let mut real = Vec::new();
    let mut dummy = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let _ = engine.verify("wrong-password", &stored).await.unwrap();
        real.push(t.elapsed());
        let t = std::time::Instant::now();
        engine.dummy_verify().await;
        dummy.push(t.elapsed());
    }
    real.sort();
    dummy.sort();
    let (r, d) = (real[2].as_secs_f64(), dummy[2].as_secs_f64());
    assert!(d > r / 4.0 && d < r * 4.0, "real {r:.4}s dummy {d:.4}s");
}

#[test]
fn blocking_variants_match() {
    let engine = PasswordEngine::new(base_config()).unwrap();
    let stored = engine.hash_blocking("password123").unwrap();
    assert!(engine.verify_blocking("password123", &stored).unwrap().ok);
    assert!(!engine.verify_blocking("password124", &stored).unwrap().ok);
    engine.dummy_verify_blocking();

    // Other hash schemes hash and verify too, dummy included.
    for scheme in [
        HashScheme::Bcrypt,
        HashScheme::Pbkdf2Sha512,
        HashScheme::Pbkdf2Sha256,
    ] {
        let engine = PasswordEngine::new(PasswordConfig {
            hash_scheme: scheme,
            ..base_config()
        })
        .unwrap();
        let stored = engine.hash_blocking("password123").unwrap();
        assert_eq!(
            engine.identify(&stored).map(Scheme::name),
            Some(scheme.name())
        );
        let v = engine.verify_blocking("password123", &stored).unwrap();
        assert!(v.ok && !v.needs_rehash, "{stored}");
        assert!(!engine.verify_blocking("password124", &stored).unwrap().ok);
        engine.dummy_verify_blocking();
        engine.dummy_verify_blocking();
    }
}

// ---------------------------------------------------------------- configuration

#[test]
fn config_errors_name_their_key() {
    let cases: Vec<(PasswordConfig, &str)> = vec![
        (PasswordConfig::default(), keys::PASSWORD_SALT),
        (
            PasswordConfig {
                salt: Some(String::new()),
                ..PasswordConfig::default()
            },
            keys::PASSWORD_SALT,
        ),
        (
            PasswordConfig {
                length_min: 0,
                ..base_config()
            },
            keys::PASSWORD_LENGTH_MIN,
        ),
        (
            PasswordConfig {
                length_min: 129,
                ..base_config()
            },
            keys::PASSWORD_LENGTH_MIN,
        ),
        (
            PasswordConfig {
                zxcvbn_minimum_score: 5,
                ..base_config()
            },
            keys::ZXCVBN_MINIMUM_SCORE,
        ),
        (
            PasswordConfig {
                breached_count: 0,
                ..base_config()
            },
            keys::PASSWORD_BREACHED_COUNT,
        ),
        (
            PasswordConfig {
                check_breached: Some(BreachedMode::Strict),
                hibp_base_url: "ftp://example.com/".into(),
                ..base_config()
            },
            keys::PASSWORD_BREACHED_URL,
        ),
        (
            PasswordConfig {
                check_breached: Some(BreachedMode::Strict),
                hibp_timeout: Duration::ZERO,
                ..base_config()
            },
            keys::PASSWORD_BREACHED_TIMEOUT,
        ),
        (
            PasswordConfig {
                argon2: Argon2Params {
                    memory_kib: 1,
                    iterations: 0,
                    parallelism: 0,
                },
                ..base_config()
            },
            keys::PASSWORD_HASH_PASSLIB_OPTIONS,
        ),
        (
            PasswordConfig {
                max_concurrency: 0,
                ..base_config()
            },
            keys::PASSWORD_HASH_CONCURRENCY,
        ),
    ];
    for (config, key) in cases {
        let err = config.validate().expect_err(key);
        assert_eq!(err.key(), key, "{err}");
        assert!(err.to_string().contains(key), "{err}");
        let err = PasswordEngine::new(config).expect_err(key);
        assert_eq!(err.key(), key);
    }
    // Valid: the defaults plus a salt; no salt when everything is single-hashed.
    assert!(base_config().validate().is_ok());
    assert!(
        PasswordConfig {
            single_hash: SingleHash::All,
            ..PasswordConfig::default()
        }
        .validate()
        .is_ok()
    );
    assert!(matches!(
        PasswordConfig::default().validate(),
        Err(ConfigError::MissingSalt { scheme: "argon2" })
    ));
}

#[test]
fn defaults_are_flask_security_defaults() {
    let c = PasswordConfig::default();
    assert_eq!(
        c.argon2,
        Argon2Params {
            memory_kib: 65536,
            iterations: 3,
            parallelism: 4
        }
    );
    assert_eq!(c.length_min, 8);
    assert_eq!(c.length_max, 128);
    assert_eq!(c.zxcvbn_minimum_score, 3);
    assert_eq!(c.breached_count, 1);
    assert_eq!(c.check_breached, None);
    assert_eq!(c.complexity_checker, None);
    assert_eq!(c.normalize_form, NormalizeForm::Nfkd);
    assert_eq!(c.hibp_base_url, "https://api.pwnedpasswords.com/range/");
    assert_eq!(c.hibp_timeout, Duration::from_secs(5));
    assert!(!c.allow_plaintext);
    assert!(c.max_concurrency >= 1);
    assert!(c.single_hash.is_single("plaintext"));
    assert!(c.single_hash.is_single("django_argon2"));
    assert!(!c.single_hash.is_single("argon2"));
    assert!(!c.single_hash.is_single("bcrypt"));
    assert!(SingleHash::Schemes(vec![]).is_single("plaintext"));
    assert!(!SingleHash::Schemes(vec![]).is_single("argon2"));
}

#[tokio::test]
async fn https_client_builds_with_ring() {
    // The production default URL: building the rustls (ring) client must work; no
    // request is made.
    let engine = PasswordEngine::new(PasswordConfig {
        check_breached: Some(BreachedMode::BestEffort),
        ..base_config()
    });
    assert!(engine.is_ok());
}
