//! Black-box tests of the `rampart` binary: the admin CLI and the demo server's start-up, on
//! SQLite and on a real PostgreSQL server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rampart::datastore::UserDatastore;
use support::{Db, Run, rampart};

async fn cli_flow(db: Db) {
    let run = |args: &[&str], stdin: Option<&str>| rampart(&db, args, stdin);

    // Roles first; a duplicate role is refused with exit code 4.
    run(
        &[
            "roles",
            "create",
            "editor",
            "--permissions",
            "docs-read,docs-write",
        ],
        None,
    )
    .ok();
    run(&["roles", "create", "editor"], None)
        .code(4)
        .err_contains("already exists");
    run(&["roles", "create", "bad", "--permissions", "a,,b"], None).code(5);

    // Weak password: exit 5 with Flask-Security's message; nothing stored.
    run(
        &["users", "create", "weak@example.com", "--password-stdin"],
        Some("short\n"),
    )
    .code(5)
    .err_contains("Password must be at least 8 characters");
    // No password given at all.
    run(&["users", "create", "nopw@example.com"], None)
        .code(5)
        .err_contains("--password-stdin");
    // Malformed email.
    run(
        &["users", "create", "not-an-email", "--password-stdin"],
        Some("a-Long-passphrase-42\n"),
    )
    .code(5)
    .err_contains("Invalid email address");
    // Unknown role.
    run(
        &[
            "users",
            "create",
            "x@example.com",
            "--password-stdin",
            "--role",
            "ghost",
        ],
        Some("a-Long-passphrase-42\n"),
    )
    .code(3)
    .err_contains("ghost");

    let created = run(
        &[
            "users",
            "create",
            "Alice@Example.com",
            "--password-stdin",
            "--role",
            "editor",
            "--confirmed",
        ],
        Some("a-Long-passphrase-42\n"),
    );
    created.ok().out_contains("User created successfully");
    // Same address in another case: exit 4.
    run(
        &["users", "create", "alice@example.COM", "--password-stdin"],
        Some("a-Long-passphrase-42\n"),
    )
    .code(4)
    .err_contains("email already exists");

    let list = run(&["users", "list"], None);
    list.ok()
        .out_contains("Alice@example.com")
        .out_contains("roles=editor")
        .out_contains("confirmed");
    assert!(
        !list.stdout.contains("weak@example.com"),
        "weak user must not be stored: {}",
        list.stdout
    );

    // The stored hash verifies with the password engine, and the user is found case-insensitively.
    let store = db.store().await;
    let alice = store
        .find_user_by_email("ALICE@example.com")
        .await
        .unwrap()
        .expect("alice");
    let engine = support::engine();
    let v = engine
        .verify("a-Long-passphrase-42", alice.password.as_deref().unwrap())
        .await
        .unwrap();
    assert!(v.ok);
    assert!(alice.password.as_deref().unwrap().starts_with("$argon2id$"));

    run(&["users", "deactivate", "alice@example.com"], None)
        .ok()
        .out_contains("deactivated");
    run(&["users", "deactivate", "alice@example.com"], None)
        .ok()
        .out_contains("already");
    assert!(
        !store
            .find_user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    run(&["users", "activate", "alice@example.com"], None).ok();
    assert!(
        store
            .find_user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    run(&["users", "activate", "nobody@example.com"], None)
        .code(3)
        .err_contains("nobody@example.com");

    // change-password validates, rehashes and rotates fs_uniquifier.
    run(
        &[
            "users",
            "change-password",
            "alice@example.com",
            "--password-stdin",
        ],
        Some("tiny\n"),
    )
    .code(5);
    run(
        &[
            "users",
            "change-password",
            "alice@example.com",
            "--password-stdin",
        ],
        Some("another-Long-one-43\n"),
    )
    .ok();
    let after = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert_ne!(after.fs_uniquifier, alice.fs_uniquifier);
    assert!(alice.fs_token_uniquifier.is_some());
    assert_ne!(
        after.fs_token_uniquifier, alice.fs_token_uniquifier,
        "tokens must die too"
    );
    assert!(
        engine
            .verify("another-Long-one-43", after.password.as_deref().unwrap())
            .await
            .unwrap()
            .ok
    );
    assert!(
        !engine
            .verify("a-Long-passphrase-42", after.password.as_deref().unwrap())
            .await
            .unwrap()
            .ok
    );

    // reset-access rotates the uniquifier and clears second factors, keeping the password.
    let mut with_tf = after.clone();
    with_tf.tf_primary_method = Some("authenticator".into());
    with_tf.tf_totp_secret = Some("secret".into());
    with_tf.mf_recovery_codes = vec!["aaaa-bbbb-cccc".into()];
    store.update_user(&with_tf).await.unwrap();
    run(&["users", "reset-access", "alice@example.com"], None).ok();
    let reset = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert_ne!(reset.fs_uniquifier, after.fs_uniquifier);
    assert_eq!(reset.tf_primary_method, None);
    assert_eq!(reset.tf_totp_secret, None);
    assert!(reset.mf_recovery_codes.is_empty());
    assert_eq!(reset.password, after.password);

    // Roles: add/remove and permissions.
    run(&["roles", "create", "viewer"], None).ok();
    run(&["roles", "add", "alice@example.com", "viewer"], None)
        .ok()
        .out_contains("added");
    run(&["roles", "add", "alice@example.com", "viewer"], None)
        .ok()
        .out_contains("already");
    run(&["roles", "add", "alice@example.com", "ghost"], None).code(3);
    run(&["roles", "remove", "alice@example.com", "editor"], None)
        .ok()
        .out_contains("removed");
    let names: Vec<String> = store
        .roles_of(alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec!["viewer".to_owned()]);
    run(
        &["roles", "add-permissions", "viewer", "docs-read,docs-list"],
        None,
    )
    .ok();
    run(
        &["roles", "remove-permissions", "viewer", "docs-list"],
        None,
    )
    .ok();
    let viewer = store.find_role("viewer").await.unwrap().unwrap();
    assert_eq!(viewer.permissions, vec!["docs-read".to_owned()]);
    run(&["roles", "list"], None)
        .ok()
        .out_contains("editor\tdocs-read,docs-write");

    // Usage errors are clap's exit code 2.
    run(&["users", "frobnicate"], None).code(2);
}

#[tokio::test]
async fn cli_on_sqlite() {
    cli_flow(Db::sqlite()).await;
}

#[tokio::test]
async fn cli_on_postgres() {
    cli_flow(Db::postgres().await).await;
}

async fn serve_flow(db: Db) {
    // First start seeds; /api/public answers; a restart does not duplicate the seed.
    for round in 0..2 {
        let server = support::Server::start(&db, &[]).await;
        assert!(
            server
                .log
                .contains("rampart listening on http://127.0.0.1:"),
            "{}",
            server.log
        );
        let (status, body) = server.get("/api/public").await;
        assert_eq!(status, 200, "round {round}");
        assert_eq!(body, serde_json::json!({"ok": true}));
        server.stop().await;
    }
    let store = db.store().await;
    let users = store.list_users().await.unwrap();
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "admin@example.com",
            "user@example.com",
            "inactive@example.com",
            "shortlived@example.com"
        ]
    );
    let admin = &users[0];
    let roles = store.roles_of(admin.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].permissions, ["admin-read", "admin-write"]);
    assert!(!users[2].active && users[2].is_confirmed());
    assert_eq!(documents(&db).await, [(1, users[1].id), (2, admin.id)]);
    let engine = support::engine_single_hash();
    assert!(
        engine
            .verify("Adm1n-correct-horse-9", admin.password.as_deref().unwrap())
            .await
            .unwrap()
            .ok
    );
}

/// `(id, owner_id)` of the demo's documents.
async fn documents(db: &Db) -> Vec<(i64, i64)> {
    let store = db.store().await;
    let sql = "SELECT id, owner_id FROM document ORDER BY id";
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query_as::<_, (i64, i64)>(sql)
            .fetch_all(pool)
            .await
            .unwrap()
    } else {
        let pool = store.postgres_pool().unwrap();
        let rows = sqlx::query_as::<_, (i32, i32)>(sql)
            .fetch_all(pool)
            .await
            .unwrap();
        rows.into_iter()
            .map(|(a, b)| (i64::from(a), i64::from(b)))
            .collect()
    }
}

#[tokio::test]
async fn serve_on_sqlite() {
    serve_flow(Db::sqlite()).await;
}

#[tokio::test]
async fn serve_on_postgres() {
    serve_flow(Db::postgres().await).await;
}

fn assert_clean_failure(r: &Run, needle: &str) {
    assert_ne!(r.status, Some(0), "{r:?}");
    assert!(
        r.stderr.contains("error:") && r.stderr.contains(needle),
        "{r:?}"
    );
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("stack backtrace"),
        "{r:?}"
    );
}

#[tokio::test]
async fn serve_fails_cleanly() {
    // A bad URL, an unreachable database, a port in use, a bad setting: one clear line each.
    let bad = support::serve_once(&[("DATABASE_URL", "mysql://nope")]).await;
    assert_clean_failure(&bad, "mysql://nope");
    let unreachable =
        support::serve_once(&[("DATABASE_URL", "postgres://rampart:pw@127.0.0.1:1/none")]).await;
    assert_clean_failure(&unreachable, "cannot open database");
    assert!(
        !unreachable.stderr.contains(":pw@"),
        "the password must not be printed: {unreachable:?}"
    );
    let db = Db::sqlite();
    let server = support::Server::start(&db, &[]).await;
    let port = server.port.to_string();
    let busy =
        support::serve_once(&[("DATABASE_URL", db.url.as_str()), ("PORT", port.as_str())]).await;
    assert_clean_failure(&busy, "cannot listen");
    server.stop().await;
    let bad_key = support::serve_once(&[
        ("DATABASE_URL", db.url.as_str()),
        ("SECURITY_PASSWORD_LENGTH_MIN", "zero"),
    ])
    .await;
    assert_clean_failure(&bad_key, "SECURITY_PASSWORD_LENGTH_MIN");
}

#[tokio::test]
async fn settings_come_from_the_config_file_and_the_environment() {
    let db = Db::sqlite();
    let dir = rampart_tests::TempDir::new("rampart-config").unwrap();
    let file = dir.path().join("rampart.toml");
    std::fs::write(
        &file,
        "SECURITY_PASSWORD_LENGTH_MIN = 20\nSECURITY_PASSWROD_SALT = \"typo\"\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let weak = rampart(
        &db,
        &[
            "--config",
            config,
            "users",
            "create",
            "a@example.com",
            "--password-stdin",
        ],
        Some("fifteen-chars-1\n"),
    );
    weak.code(5)
        .err_contains("Password must be at least 20 characters");
    weak.err_contains("SECURITY_PASSWROD_SALT is an unknown configuration key");
    rampart(
        &db,
        &[
            "--config",
            config,
            "users",
            "create",
            "a@example.com",
            "--password-stdin",
        ],
        Some("twenty-characters-long-1\n"),
    )
    .ok();
    // A bad value in the file stops the command with the key's name.
    std::fs::write(&file, "SECURITY_PASSWORD_LENGTH_MIN = \"eight\"\n").unwrap();
    rampart(&db, &["--config", config, "users", "list"], None)
        .code(1)
        .err_contains("SECURITY_PASSWORD_LENGTH_MIN");
    // A missing file is a clear error too.
    rampart(
        &db,
        &["--config", "/nonexistent/rampart.toml", "users", "list"],
        None,
    )
    .code(1)
    .err_contains("/nonexistent/rampart.toml");
}

/// With `SECURITY_AUTH_CACHE_TTL`, a revocation made by another process (here the admin CLI)
/// applies after at most the TTL.
#[tokio::test]
async fn auth_cache_bounds_revocation_delay() {
    let db = Db::sqlite();
    let server = support::Server::start(
        &db,
        &[
            ("SECRET_KEY", "cache-test-key"),
            ("SECURITY_AUTH_CACHE_TTL", "1"),
        ],
    )
    .await;
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = support::client();
    let login: serde_json::Value = client
        .post(format!("{base}/login?include_auth_token"))
        .json(&serde_json::json!({"email": "user@example.com", "password": "Us3r-correct-horse-9"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = |token: String| {
        let client = client.clone();
        let url = format!("{base}/api/me");
        async move {
            client
                .get(url)
                .header("Authentication-Token", token)
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(token.clone()).await, 200);
    rampart(&db, &["users", "reset-access", "user@example.com"], None).ok();
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(
        me(token).await,
        401,
        "the revoked token must die within the cache TTL"
    );
    server.stop().await;
}
