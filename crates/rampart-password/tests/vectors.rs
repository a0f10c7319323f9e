//! Hashes produced by the real Flask-Security-Too 5.9.2 / libpass
//! (`tools/vectors/gen_password_vectors.py`) verify in Rampart, and Rampart's hashes
//! verify in Flask-Security.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use rampart_password::{HashScheme, PasswordConfig, PasswordEngine, SingleHash};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    prehash_salt: String,
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    scheme: String,
    prehashed: bool,
    salt: Option<String>,
    password: String,
    hash: String,
    wrong_password: String,
    also_verifies: Vec<String>,
    needs_rehash: bool,
    fs_verify_raises: bool,
}

fn load() -> File {
    let text = include_str!("vectors/password_vectors.json");
    serde_json::from_str(text).expect("vectors parse")
}

/// An engine like the Flask-Security app that made the vector (defaults otherwise).
fn engine_for(prehashed: bool, salt: Option<&str>) -> PasswordEngine {
    PasswordEngine::new(PasswordConfig {
        salt: salt.map(str::to_owned),
        single_hash: if prehashed {
            SingleHash::default()
        } else {
            SingleHash::All
        },
        ..PasswordConfig::default()
    })
    .expect("engine")
}

#[test]
fn flask_security_vectors_verify() {
    let file = load();
    assert!(file.vectors.len() >= 70, "too few vectors");
    let mut seen_fs_raises = false;
    std::thread::scope(|s| {
        let handles: Vec<_> = file
            .vectors
            .iter()
            .map(|v| {
                s.spawn(move || {
                    let engine = engine_for(v.prehashed, v.salt.as_deref());
                    let scheme = engine.identify(&v.hash).expect("identified");
                    assert_eq!(scheme.name(), v.scheme, "{}", v.hash);

                    let ok = engine.verify_blocking(&v.password, &v.hash).unwrap();
                    assert!(ok.ok, "{} {:?} does not verify", v.scheme, v.password);
                    assert_eq!(
                        ok.needs_rehash, v.needs_rehash,
                        "needs_rehash of {}",
                        v.hash
                    );
                    // Rampart's rule, stated independently of Python's answer.
                    let default_argon2 = v.hash.starts_with("$argon2id$v=19$m=65536,t=3,p=4$");
                    assert_eq!(ok.needs_rehash, !default_argon2, "{}", v.hash);

                    let wrong = engine.verify_blocking(&v.wrong_password, &v.hash).unwrap();
                    assert!(
                        !wrong.ok,
                        "{} wrong password {:?} verifies",
                        v.scheme, v.wrong_password
                    );
                    assert!(!wrong.needs_rehash);

                    for alt in &v.also_verifies {
                        assert!(
                            engine.verify_blocking(alt, &v.hash).unwrap().ok,
                            "{} alternative {alt:?} of {:?}",
                            v.scheme,
                            v.password
                        );
                    }

                    // The pre-hash matters: the other mode must not verify.
                    let other = if v.prehashed {
                        engine_for(false, None)
                    } else {
                        engine_for(true, Some("another-salt"))
                    };
                    assert!(!other.verify_blocking(&v.password, &v.hash).unwrap().ok);
                    v.fs_verify_raises
                })
            })
            .collect();
        for h in handles {
            seen_fs_raises |= h.join().expect("vector thread");
        }
    });
    // The bcrypt > 72 bytes single-hash case Flask-Security itself cannot verify.
    assert!(seen_fs_raises);
    assert_eq!(file.prehash_salt, "rampart-vector-salt");
}

#[test]
fn every_scheme_both_modes_covered() {
    let file = load();
    for scheme in [
        "argon2",
        "bcrypt",
        "pbkdf2_sha512",
        "pbkdf2_sha256",
        "sha512_crypt",
        "sha256_crypt",
    ] {
        for prehashed in [true, false] {
            assert!(
                file.vectors
                    .iter()
                    .any(|v| v.scheme == scheme && v.prehashed == prehashed),
                "{scheme} prehashed={prehashed}"
            );
        }
    }
    // Default-cost formats are present.
    for prefix in [
        "$2b$12$",
        "$pbkdf2-sha512$25000$",
        "$pbkdf2-sha256$29000$",
        "$6$rounds=656000$",
        "$5$rounds=535000$",
    ] {
        assert!(
            file.vectors.iter().any(|v| v.hash.starts_with(prefix)),
            "{prefix}"
        );
    }
}

fn python_has_flask_security() -> bool {
    Command::new("python3")
        .args(["-c", "import flask_security"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Rampart's hashes (argon2 by default, and every other scheme it can write) verify in
/// the real Flask-Security.
#[test]
fn rampart_hashes_verify_in_flask_security() {
    if !python_has_flask_security() {
        println!(
            "SKIPPED rampart_hashes_verify_in_flask_security: `python3 -c 'import flask_security'` failed; \
             pip install \"flask-security-too[fsqla,common]==5.9.2\" argon2-cffi bcrypt libpass zxcvbn"
        );
        return;
    }
    let salt = "rampart-vector-salt";
    let passwords = [
        "password123",
        "\u{fb01}nancial-\u{212b}-\u{ff12}\u{ff10}\u{ff12}\u{ff14}",
        "A\u{30a}ngstro\u{308}m cafe\u{301}",
        "\u{1f510} secret \u{1f980} p\u{e4}ss",
    ];
    let mut items = Vec::new();
    let schemes = [
        HashScheme::Argon2,
        HashScheme::Bcrypt,
        HashScheme::Pbkdf2Sha512,
        HashScheme::Pbkdf2Sha256,
        HashScheme::Sha512Crypt,
        HashScheme::Sha256Crypt,
    ];
    for scheme in schemes {
        for prehashed in [true, false] {
            // Costly schemes: one password each, argon2: all of them.
            let n = if scheme == HashScheme::Argon2 {
                passwords.len()
            } else {
                1
            };
            let engine = PasswordEngine::new(PasswordConfig {
                salt: prehashed.then(|| salt.to_owned()),
                single_hash: if prehashed {
                    SingleHash::default()
                } else {
                    SingleHash::All
                },
                hash_scheme: scheme,
                ..PasswordConfig::default()
            })
            .unwrap();
            for pw in &passwords[..n] {
                let hash = engine.hash_blocking(pw).unwrap();
                if scheme == HashScheme::Argon2 {
                    assert!(
                        hash.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
                        "{hash}"
                    );
                }
                let v = engine.verify_blocking(pw, &hash).unwrap();
                assert!(v.ok && !v.needs_rehash, "{hash}");
                items.push(serde_json::json!({
                    "password": pw,
                    "hash": hash,
                    "salt": if prehashed { Some(salt) } else { None },
                    "wrong_password": "not-the-password",
                }));
            }
        }
    }
    let path = std::env::temp_dir().join(format!(
        "rampart-reverse-vectors-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::to_vec(&items).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/vectors/gen_password_vectors.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("check")
        .arg(&path)
        .output()
        .expect("run python3");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "Flask-Security rejected Rampart hashes:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
