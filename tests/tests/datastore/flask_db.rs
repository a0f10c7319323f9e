//! A database that the real Flask-Security-Too 5.9.2 created
//! (`tests/fixtures/flask_security_5_9.sqlite`, made by `tools/fixtures/make_fs_db.py`, described
//! by `flask_security_5_9.json`): Rampart reads it as it is, and Flask-Security reads back what
//! Rampart writes into it.
//!
//! The fixture users' passwords are verified by [`flask_db_passwords`] with the password engine.

use std::path::{Path, PathBuf};

use rampart_core::{NewUser, UserDatastore};
use rampart_sqlx::datetime::DbDateTime;
use rampart_sqlx::{SqlDatastore, SqlOptions};
use rampart_tests::TempDir;
use serde_json::Value;
use time::PrimitiveDateTime;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tools/fixtures/make_fs_db.py"
);

/// A private copy of the fixture database.
struct Fixture {
    json: Value,
    path: PathBuf,
    _dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new("rampart-flask-db").unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("flask.sqlite");
        let src = Path::new(FIXTURES).join("flask_security_5_9.sqlite");
        std::fs::copy(&src, &path).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        let json_path = Path::new(FIXTURES).join("flask_security_5_9.json");
        let text = std::fs::read_to_string(&json_path)
            .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture json: {e}"));
        Self {
            json,
            path,
            _dir: dir,
        }
    }

    async fn open(&self) -> SqlDatastore {
        let url = format!("sqlite://{}", self.path.display());
        SqlDatastore::connect(&url, SqlOptions::default())
            .await
            .unwrap_or_else(|e| panic!("connect to the Flask-Security database: {e}"))
    }

    /// How the real Flask-Security sees these users (`null` for an unknown email).
    async fn flask_reads(&self, emails: &[&str]) -> Value {
        let python = std::env::var("RAMPART_PYTHON").unwrap_or_else(|_| "python3".into());
        let out = tokio::process::Command::new(&python)
            .arg(SCRIPT)
            .arg("read")
            .arg("--db")
            .arg(&self.path)
            .args(emails)
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        assert!(
            out.status.success(),
            "Flask-Security could not read the database ({}). Is Flask-Security-Too 5.9.2 \
             installed (pip install -r tools/requirements.txt)?\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

fn dt(v: &Value) -> PrimitiveDateTime {
    let text = v.as_str().unwrap_or_else(|| panic!("not a datetime: {v}"));
    DbDateTime::parse_sqlalchemy(text)
        .unwrap_or_else(|| panic!("not a datetime: {text}"))
        .0
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

fn bytes_of_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[tokio::test]
async fn flask_db_is_read_as_flask_security_wrote_it() {
    let fx = Fixture::new();
    let store = fx.open().await;
    assert!(!store.has_token_uniquifier());
    assert_eq!(store.webauthn_table(), "web_authn");
    assert_eq!(
        store.applied_migrations().await.ok(),
        Some(vec![1, 2, 3, 4])
    );

    // Roles and permissions.
    let roles = store.list_roles().await.unwrap_or_else(|e| panic!("{e}"));
    let want_roles = fx.json["roles"].as_array().cloned().unwrap_or_default();
    assert_eq!(roles.len(), want_roles.len());
    for want in &want_roles {
        let name = want["name"].as_str().unwrap_or_default();
        let role = roles
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("role {name} missing"));
        assert_eq!(
            role.description.as_deref(),
            want["description"].as_str(),
            "{name}"
        );
        assert_eq!(role.permissions, strings(&want["permissions"]), "{name}");
    }

    // Users: flags, username, hash scheme, roles; every datetime column decodes.
    let users = fx.json["users"].as_array().cloned().unwrap_or_default();
    assert!(users.len() >= 6);
    assert_eq!(
        store.list_users().await.map(|u| u.len()).ok(),
        Some(users.len())
    );
    let confirmed_at = dt(&fx.json["confirmed_at"]);
    for want in &users {
        let email = want["email"].as_str().unwrap_or_default();
        let user = store
            .find_user_by_email(&email.to_uppercase())
            .await
            .unwrap_or_else(|e| panic!("{email}: {e}"))
            .unwrap_or_else(|| panic!("{email} missing"));
        assert_eq!(user.email, email);
        assert_eq!(
            user.active,
            want["active"].as_bool().unwrap_or_default(),
            "{email}"
        );
        let confirmed = want["confirmed"].as_bool().unwrap_or_default();
        assert_eq!(user.is_confirmed(), confirmed, "{email}");
        if confirmed {
            assert_eq!(user.confirmed_at, Some(confirmed_at), "{email}");
        }
        assert_eq!(
            user.username.as_deref(),
            want["username"].as_str(),
            "{email}"
        );
        let prefix = format!("${}$", want["hash_prefix"].as_str().unwrap_or_default());
        let hash = user.password.clone().unwrap_or_default();
        assert!(
            hash.starts_with(&prefix),
            "{email}: {hash} does not start with {prefix}"
        );
        assert_eq!(user.fs_uniquifier.len(), 32, "{email}");
        assert_eq!(user.fs_token_uniquifier, None);
        assert!(user.update_datetime >= user.create_datetime, "{email}");
        let roles: Vec<String> = store
            .roles_of(user.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(roles, strings(&want["roles"]), "{email}");
        assert_eq!(
            store
                .find_user_by_uniquifier(&user.fs_uniquifier)
                .await
                .ok()
                .flatten()
                .as_ref(),
            Some(&user)
        );
        assert_eq!(
            store
                .find_user_by_token_uniquifier(&user.fs_uniquifier)
                .await
                .ok()
                .flatten(),
            Some(user.clone()),
            "no fs_token_uniquifier column: falls back to fs_uniquifier"
        );
        if let Some(name) = want["username"].as_str() {
            assert_eq!(
                store
                    .find_user_by_username(&name.to_lowercase())
                    .await
                    .ok()
                    .flatten(),
                Some(user)
            );
        }
    }
    let schemes: Vec<&str> = users.iter().filter_map(|u| u["scheme"].as_str()).collect();
    for scheme in ["argon2", "bcrypt", "pbkdf2_sha512", "sha512_crypt"] {
        assert!(schemes.contains(&scheme), "fixture lacks a {scheme} user");
    }
    // password verification: see flask_db_passwords test

    // Tracking data, to the microsecond.
    let tracking = &fx.json["tracking"];
    let admin = store
        .find_user_by_email(tracking["email"].as_str().unwrap_or_default())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("admin missing"));
    assert_eq!(
        i64::from(admin.login_count.unwrap_or_default()),
        tracking["login_count"].as_i64().unwrap_or(-1)
    );
    assert_eq!(admin.last_login_at, Some(dt(&tracking["last_login_at"])));
    assert_eq!(
        admin.current_login_at,
        Some(dt(&tracking["current_login_at"]))
    );
    assert_eq!(
        admin.last_login_ip.as_deref(),
        tracking["last_login_ip"].as_str()
    );
    assert_eq!(
        admin.current_login_ip.as_deref(),
        tracking["current_login_ip"].as_str()
    );

    // The WebAuthn row.
    let wa = &fx.json["webauthn"];
    let handle = wa["user_handle"].as_str().unwrap_or_default();
    assert_eq!(
        store
            .find_user_by_webauthn_handle(handle)
            .await
            .ok()
            .flatten()
            .map(|u| u.id),
        Some(admin.id)
    );
    let cred_id = bytes_of_hex(wa["credential_id_hex"].as_str().unwrap_or_default());
    let cred = store
        .find_webauthn(&cred_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("credential missing"));
    assert_eq!(cred.user_id, admin.id);
    assert_eq!(
        cred.public_key,
        bytes_of_hex(wa["public_key_hex"].as_str().unwrap_or_default())
    );
    assert_eq!(cred.sign_count, wa["sign_count"].as_i64().unwrap_or(-1));
    assert_eq!(cred.transports, strings(&wa["transports"]));
    assert_eq!(
        cred.backup_state,
        wa["backup_state"].as_bool().unwrap_or(true)
    );
    assert_eq!(
        cred.device_type,
        wa["device_type"].as_str().unwrap_or_default()
    );
    assert_eq!(cred.extensions.as_deref(), wa["extensions"].as_str());
    assert_eq!(cred.lastuse_datetime, dt(&wa["lastuse_datetime"]));
    assert_eq!(cred.name, wa["name"].as_str().unwrap_or_default());
    assert_eq!(cred.usage, wa["usage"].as_str().unwrap_or_default());
    assert_eq!(store.webauthn_of(admin.id).await.ok(), Some(vec![cred]));
}

#[tokio::test]
async fn flask_security_reads_what_rampart_writes() {
    let fx = Fixture::new();
    let store = fx.open().await;
    let confirmed = time::macros::datetime!(2025-07-08 09:10:11.123456);
    let created = store
        .create_user(NewUser {
            email: "Rampart-New@Example.com".into(),
            username: Some("rampart_new".into()),
            password_hash: Some("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g".into()),
            active: true,
            confirmed_at: Some(confirmed),
            roles: vec!["editor".into(), "reader".into()],
        })
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    assert!(
        store
            .add_role_to_user(created.id, "admin")
            .await
            .unwrap_or_default()
    );

    // Change an existing Flask-Security user: tracking fields and recovery codes.
    let mut bcrypt = store
        .find_user_by_email("bcrypt@example.com")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("bcrypt user missing"));
    bcrypt.login_count = Some(1);
    bcrypt.last_login_at = Some(time::macros::datetime!(2025-01-02 03:04:05.000006));
    bcrypt.mf_recovery_codes = vec!["r1".into(), "r2".into()];
    let bcrypt = store
        .update_user(&bcrypt)
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));

    // Delete one, with its role links.
    let inactive = store
        .find_user_by_email("inactive@example.com")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("inactive user missing"));
    store
        .delete_user(inactive.id)
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    store.close().await;

    let seen = fx
        .flask_reads(&[
            "Rampart-New@Example.com",
            "bcrypt@example.com",
            "inactive@example.com",
        ])
        .await;
    let new = &seen["Rampart-New@Example.com"];
    assert!(
        new.is_object(),
        "Flask-Security does not find the new user: {seen}"
    );
    assert_eq!(new["id"].as_i64(), Some(created.id));
    assert_eq!(
        new["fs_uniquifier"].as_str(),
        Some(created.fs_uniquifier.as_str())
    );
    assert_eq!(new["username"].as_str(), Some("rampart_new"));
    assert_eq!(new["active"].as_bool(), Some(true));
    assert_eq!(strings(&new["roles"]), ["admin", "editor", "reader"]);
    assert_eq!(
        strings(&new["permissions"]),
        ["post-read", "post-write", "user-admin"]
    );
    assert_eq!(dt(&new["confirmed_at"]), confirmed);
    assert_eq!(dt(&new["create_datetime"]), created.create_datetime);
    assert_eq!(new["mf_recovery_codes"].as_array().map(Vec::len), Some(0));

    let b = &seen["bcrypt@example.com"];
    assert_eq!(b["login_count"].as_i64(), Some(1));
    assert_eq!(
        dt(&b["last_login_at"]),
        time::macros::datetime!(2025-01-02 03:04:05.000006)
    );
    assert_eq!(dt(&b["update_datetime"]), bcrypt.update_datetime);
    assert_eq!(strings(&b["mf_recovery_codes"]), ["r1", "r2"]);
    assert_eq!(strings(&b["roles"]), ["editor"]);

    assert!(seen["inactive@example.com"].is_null(), "{seen}");
}

/// The passwords Flask-Security hashed (every scheme, HMAC pre-hash with its
/// `SECURITY_PASSWORD_SALT`) verify in Rampart; wrong ones do not; every non-default scheme asks
/// for a rehash, and the rehashed password is Flask-Security's default argon2id.
#[tokio::test]
async fn flask_db_passwords() {
    use rampart_password::{PasswordConfig, PasswordEngine};

    let fx = Fixture::new();
    let store = fx.open().await;
    let salt = fx.json["salt"].as_str().map(str::to_owned);
    let engine = PasswordEngine::new(PasswordConfig {
        salt,
        ..PasswordConfig::default()
    })
    .unwrap_or_else(|e| panic!("engine: {e}"));
    let users = fx.json["users"].as_array().cloned().unwrap_or_default();
    assert!(users.len() >= 6, "fixture has too few users");
    for u in users {
        let email = u["email"].as_str().unwrap_or_default();
        let password = u["password"].as_str().unwrap_or_default();
        let scheme = u["scheme"].as_str().unwrap_or_default();
        let user = store
            .find_user_by_email(email)
            .await
            .unwrap_or_else(|e| panic!("{email}: {e}"))
            .unwrap_or_else(|| panic!("{email} missing"));
        let stored = user
            .password
            .unwrap_or_else(|| panic!("{email} has no hash"));
        let ok = engine
            .verify(password, &stored)
            .await
            .unwrap_or_else(|e| panic!("{email}: {e}"));
        assert!(ok.ok, "{email} ({scheme}) must verify");
        assert_eq!(
            ok.needs_rehash,
            scheme != "argon2",
            "{email} ({scheme}) rehash flag"
        );
        for wrong in [
            format!("{password}x"),
            password.to_uppercase(),
            String::new(),
        ] {
            let v = engine
                .verify(&wrong, &stored)
                .await
                .unwrap_or_else(|e| panic!("{email}: {e}"));
            assert!(
                !v.ok,
                "{email} ({scheme}) accepted the wrong password {wrong:?}"
            );
        }
        if ok.needs_rehash {
            let rehashed = engine
                .hash(password)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                rehashed.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
                "{rehashed}"
            );
            assert!(
                engine
                    .verify(password, &rehashed)
                    .await
                    .is_ok_and(|v| v.ok && !v.needs_rehash)
            );
        }
    }
    // Without the salt the pre-hashed passwords do not verify: the salt really is used.
    let unsalted = PasswordEngine::new(PasswordConfig {
        single_hash: rampart_password::SingleHash::All,
        ..PasswordConfig::default()
    })
    .unwrap_or_else(|e| panic!("engine: {e}"));
    let admin = store
        .find_user_by_email("admin@example.com")
        .await
        .ok()
        .flatten();
    let stored = admin.and_then(|u| u.password).unwrap_or_default();
    let v = unsalted
        .verify("admin-Pass-1", &stored)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !v.ok,
        "a pre-hashed password must not verify without the pre-hash"
    );
}
