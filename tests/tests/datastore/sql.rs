//! Backend-specific behaviour of `SqlDatastore`: URLs, SQLite settings and storage formats,
//! migrations (idempotent, concurrent, on a Flask-Security schema), schema checks, errors.

use std::time::Duration;

use rampart_core::{DatastoreError, NewRole, NewUser, UserDatastore};
use rampart_sqlx::{Backend, SqlDatastore, SqlOptions};
use rampart_tests::{TempDir, fresh_postgres_database};
use sqlx::{Executor, Row};

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        active: true,
        ..NewUser::default()
    }
}

async fn connect(url: &str) -> SqlDatastore {
    SqlDatastore::connect(url, SqlOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
}

/// Flask-Security 5.9.2's `fsqla_v4` DDL as SQLAlchemy emits it on SQLite (WebAuthn table
/// `web_authn`, no `fs_token_uniquifier`).
const FS_SQLITE: &[&str] = &[
    "CREATE TABLE role (id INTEGER NOT NULL, name VARCHAR(80) NOT NULL, description VARCHAR(255), permissions TEXT, update_datetime DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, PRIMARY KEY (id), UNIQUE (name))",
    "CREATE TABLE user (fs_webauthn_user_handle VARCHAR(64), mf_recovery_codes TEXT, password VARCHAR(255), us_phone_number VARCHAR(128), username VARCHAR(255), us_totp_secrets TEXT, id INTEGER NOT NULL, email VARCHAR(255) NOT NULL, active BOOLEAN NOT NULL, fs_uniquifier VARCHAR(64) NOT NULL, confirmed_at DATETIME, last_login_at DATETIME, current_login_at DATETIME, last_login_ip VARCHAR(64), current_login_ip VARCHAR(64), login_count INTEGER, tf_primary_method VARCHAR(64), tf_totp_secret VARCHAR(255), tf_phone_number VARCHAR(128), create_datetime DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, update_datetime DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, PRIMARY KEY (id), UNIQUE (fs_webauthn_user_handle), UNIQUE (us_phone_number), UNIQUE (username), UNIQUE (email), UNIQUE (fs_uniquifier))",
    "CREATE TABLE roles_users (user_id INTEGER, role_id INTEGER, FOREIGN KEY(user_id) REFERENCES user (id), FOREIGN KEY(role_id) REFERENCES role (id))",
    "CREATE TABLE web_authn (id INTEGER NOT NULL, credential_id BLOB NOT NULL, public_key BLOB NOT NULL, sign_count INTEGER, transports TEXT, backup_state BOOLEAN NOT NULL, device_type VARCHAR(64) NOT NULL, extensions VARCHAR(255), create_datetime DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, lastuse_datetime DATETIME NOT NULL, name VARCHAR(64) NOT NULL, usage VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES user (id) ON DELETE CASCADE)",
    "CREATE UNIQUE INDEX ix_web_authn_credential_id ON web_authn (credential_id)",
];

/// The same on PostgreSQL.
const FS_POSTGRES: &[&str] = &[
    "CREATE TABLE role (id SERIAL NOT NULL, name VARCHAR(80) NOT NULL, description VARCHAR(255), permissions TEXT, update_datetime TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, PRIMARY KEY (id), UNIQUE (name))",
    "CREATE TABLE \"user\" (fs_webauthn_user_handle VARCHAR(64), mf_recovery_codes TEXT, password VARCHAR(255), us_phone_number VARCHAR(128), username VARCHAR(255), us_totp_secrets TEXT, id SERIAL NOT NULL, email VARCHAR(255) NOT NULL, active BOOLEAN NOT NULL, fs_uniquifier VARCHAR(64) NOT NULL, confirmed_at TIMESTAMP WITHOUT TIME ZONE, last_login_at TIMESTAMP WITHOUT TIME ZONE, current_login_at TIMESTAMP WITHOUT TIME ZONE, last_login_ip VARCHAR(64), current_login_ip VARCHAR(64), login_count INTEGER, tf_primary_method VARCHAR(64), tf_totp_secret VARCHAR(255), tf_phone_number VARCHAR(128), create_datetime TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, update_datetime TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, PRIMARY KEY (id), UNIQUE (fs_webauthn_user_handle), UNIQUE (us_phone_number), UNIQUE (username), UNIQUE (email), UNIQUE (fs_uniquifier))",
    "CREATE TABLE roles_users (user_id INTEGER, role_id INTEGER, FOREIGN KEY(user_id) REFERENCES \"user\" (id), FOREIGN KEY(role_id) REFERENCES role (id))",
    "CREATE TABLE web_authn (id SERIAL NOT NULL, credential_id BYTEA NOT NULL, public_key BYTEA NOT NULL, sign_count INTEGER, transports TEXT, backup_state BOOLEAN NOT NULL, device_type VARCHAR(64) NOT NULL, extensions VARCHAR(255), create_datetime TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, lastuse_datetime TIMESTAMP WITHOUT TIME ZONE NOT NULL, name VARCHAR(64) NOT NULL, usage VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES \"user\" (id) ON DELETE CASCADE)",
    "CREATE UNIQUE INDEX ix_web_authn_credential_id ON web_authn (credential_id)",
];

const CASE_DUPLICATES: &[&str] = &[
    "INSERT INTO \"user\" (email, active, fs_uniquifier, create_datetime, update_datetime) VALUES ('Twin@example.com', true, 'u1', '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
    "INSERT INTO \"user\" (email, active, fs_uniquifier, create_datetime, update_datetime) VALUES ('twin@example.com', true, 'u2', '2024-01-01 00:00:00.5', '2024-01-01 00:00:00.5')",
];

fn sqlite_url(dir: &TempDir, file: &str) -> String {
    format!("sqlite://{}", dir.path().join(file).display())
}

async fn run_sqlite(url: &str, statements: &[&'static str]) {
    let store = SqlDatastore::connect(url, SqlOptions::default().with_migrate(false)).await;
    // Without tables the schema check fails; run the DDL on a bare pool instead.
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    for sql in statements {
        pool.execute(*sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pool.close().await;
}

async fn run_postgres(url: &str, statements: &[&'static str]) {
    let pool = sqlx::PgPool::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    for sql in statements {
        pool.execute(*sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pool.close().await;
}

async fn check_flask_schema(store: SqlDatastore) {
    assert!(
        !store.has_token_uniquifier(),
        "never adds fs_token_uniquifier"
    );
    assert_eq!(store.webauthn_table(), "web_authn");
    // Step 2 could not build the case-insensitive email index: left unrecorded.
    assert_eq!(store.applied_migrations().await.ok(), Some(vec![1, 3, 4]));
    let users = store.list_users().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].fs_token_uniquifier, None);
    assert_eq!(
        users[1].create_datetime,
        time::macros::datetime!(2024-01-01 00:00:00.5)
    );
    // Still refused by the check before writing.
    match store.create_user(user("TWIN@EXAMPLE.COM")).await {
        Err(DatastoreError::AlreadyExists { field: "email" }) => {}
        other => panic!("expected AlreadyExists(email), got {other:?}"),
    }
    let u = store
        .create_user(user("new@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(u.fs_token_uniquifier, None);
    assert_eq!(
        store
            .find_user_by_token_uniquifier(&u.fs_uniquifier)
            .await
            .ok()
            .flatten(),
        Some(u)
    );
}

#[tokio::test]
async fn sqlite_flask_schema_with_case_duplicates() {
    let dir = TempDir::new("rampart-fs").unwrap_or_else(|e| panic!("{e}"));
    let url = sqlite_url(&dir, "fs.db");
    run_sqlite(&url, FS_SQLITE).await;
    run_sqlite(&url, CASE_DUPLICATES).await;
    let store = connect(&url).await;
    let pool = store.sqlite_pool().unwrap_or_else(|| panic!("sqlite"));
    let tables: Vec<String> =
        sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    assert_eq!(
        tables,
        [
            "rampart_migrations",
            "rampart_session",
            "rampart_throttle",
            "role",
            "roles_users",
            "user",
            "web_authn"
        ]
    );
    check_flask_schema(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_flask_schema_with_case_duplicates() {
    let db = fresh_postgres_database().await;
    run_postgres(db.url(), FS_POSTGRES).await;
    run_postgres(db.url(), CASE_DUPLICATES).await;
    let store = connect(db.url()).await;
    assert_eq!(store.backend(), Backend::Postgres);
    check_flask_schema(store).await;
}

#[tokio::test]
async fn missing_columns_are_a_schema_error() {
    let dir = TempDir::new("rampart-cols").unwrap_or_else(|e| panic!("{e}"));
    let url = sqlite_url(&dir, "old.db");
    run_sqlite(
        &url,
        &[
            "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(255) NOT NULL, \
           active BOOLEAN NOT NULL, password VARCHAR(255))",
        ],
    )
    .await;
    match SqlDatastore::connect(&url, SqlOptions::default()).await {
        Err(DatastoreError::Schema(msg)) => {
            assert!(msg.starts_with("table user lacks columns: "), "{msg}");
            assert!(
                msg.contains("fs_uniquifier") && msg.contains("mf_recovery_codes"),
                "{msg}"
            );
            assert!(!msg.contains(" email"), "{msg}");
        }
        other => panic!("expected a schema error, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_reopen_keeps_data_and_migrations() {
    let dir = TempDir::new("rampart-reopen").unwrap_or_else(|e| panic!("{e}"));
    let url = sqlite_url(&dir, "sub.db");
    let first = connect(&url).await;
    assert_eq!(first.backend(), Backend::Sqlite);
    assert!(first.has_token_uniquifier());
    assert_eq!(first.webauthn_table(), "webauthn");
    first
        .create_role(NewRole {
            name: "admin".into(),
            ..NewRole::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let u = first
        .create_user(NewUser {
            roles: vec!["admin".into()],
            ..user("keep@example.com")
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    first.close().await;

    let second = connect(&url).await;
    assert_eq!(
        second.applied_migrations().await.ok(),
        Some(vec![1, 2, 3, 4])
    );
    assert_eq!(
        second
            .find_user_by_email("KEEP@example.com")
            .await
            .ok()
            .flatten(),
        Some(u.clone())
    );
    assert_eq!(second.roles_of(u.id).await.map(|r| r.len()).ok(), Some(1));
    // Also with the `sqlite:PATH` form.
    let third = connect(&format!("sqlite:{}", dir.path().join("sub.db").display())).await;
    assert_eq!(third.list_users().await.map(|l| l.len()).ok(), Some(1));
}

#[tokio::test]
async fn sqlite_settings_and_storage_formats() {
    let dir = TempDir::new("rampart-fmt").unwrap_or_else(|e| panic!("{e}"));
    let store = connect(&sqlite_url(&dir, "fmt.db")).await;
    let u = store
        .create_user(user("fmt@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pool = store.sqlite_pool().unwrap_or_else(|| panic!("sqlite"));
    let one = |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(one("PRAGMA journal_mode").await.get::<String, _>(0), "wal");
    assert_eq!(one("PRAGMA foreign_keys").await.get::<i64, _>(0), 1);
    assert_eq!(one("PRAGMA synchronous").await.get::<i64, _>(0), 2, "FULL");
    assert!(one("PRAGMA busy_timeout").await.get::<i64, _>(0) > 0);
    let row =
        one("SELECT create_datetime, typeof(create_datetime), active, typeof(active) FROM user")
            .await;
    let text: String = row.get(0);
    assert_eq!(row.get::<String, _>(1), "text");
    assert_eq!(row.get::<i64, _>(2), 1);
    assert_eq!(row.get::<String, _>(3), "integer");
    // SQLAlchemy's format: exactly six fractional digits.
    assert_eq!(text.len(), "2024-01-01 00:00:00.000000".len(), "{text}");
    assert_eq!(&text[10..11], " ");
    assert_eq!(&text[19..20], ".");
    assert_eq!(
        rampart_sqlx::datetime::DbDateTime::parse_sqlalchemy(&text).map(|d| d.0),
        Some(u.create_datetime)
    );
}

#[tokio::test]
async fn sqlite_in_memory() {
    let store = connect("sqlite::memory:").await;
    for i in 0..5 {
        store
            .create_user(user(&format!("m{i}@example.com")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(store.list_users().await.map(|l| l.len()).ok(), Some(5));
    // Another in-memory store is another database.
    let other = connect("sqlite::memory:").await;
    assert_eq!(other.list_users().await.map(|l| l.len()).ok(), Some(0));
}

#[tokio::test]
async fn bad_urls_are_configuration_errors() {
    for url in [
        "mysql://root@localhost/db",
        "sqlite://",
        "",
        "postgres//nope",
    ] {
        match SqlDatastore::connect(url, SqlOptions::default()).await {
            Err(DatastoreError::Schema(msg)) => assert!(!msg.is_empty()),
            other => panic!("{url}: expected a configuration error, got {other:?}"),
        }
    }
    // The message never repeats the URL (which may hold a password).
    match SqlDatastore::connect("mysql://root:hunter2@localhost/db", SqlOptions::default()).await {
        Err(DatastoreError::Schema(msg)) => assert!(!msg.contains("hunter2"), "{msg}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    let options = SqlOptions::default().with_connect_timeout(Duration::from_secs(5));
    let started = std::time::Instant::now();
    match SqlDatastore::connect("postgres://postgres:pw@127.0.0.1:1/nothing", options).await {
        Err(DatastoreError::Unavailable(msg)) => {
            assert!(msg.contains("127.0.0.1:1"), "{msg}");
            assert!(
                msg.to_lowercase().contains("refused"),
                "the cause is given: {msg}"
            );
            assert!(!msg.contains("pw@"), "{msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a refused connection fails fast"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_store_is_unavailable() {
    let store = connect("sqlite::memory:").await;
    store.close().await;
    match store.ping().await {
        Err(DatastoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

async fn concurrent_connects(url: &str) {
    let mut handles = Vec::new();
    for _ in 0..8 {
        let url = url.to_owned();
        handles.push(tokio::spawn(async move {
            SqlDatastore::connect(&url, SqlOptions::default().with_max_connections(2)).await
        }));
    }
    for h in handles {
        let store = h
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("concurrent connect: {e}"));
        assert_eq!(
            store.applied_migrations().await.ok(),
            Some(vec![1, 2, 3, 4])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_first_connects_migrate_once() {
    let dir = TempDir::new("rampart-race").unwrap_or_else(|e| panic!("{e}"));
    concurrent_connects(&sqlite_url(&dir, "race.db")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_first_connects_migrate_once() {
    let db = fresh_postgres_database().await;
    concurrent_connects(db.url()).await;
}
