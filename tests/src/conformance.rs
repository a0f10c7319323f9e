//! The conformance suite of [`UserDatastore`]: every implementation must pass it.
//!
//! Each `pub async fn` is one test case taking a fresh, empty store;
//! [`datastore_conformance!`](crate::datastore_conformance) turns them into `#[tokio::test]`s
//! for a store constructor, the way tower-sessions tests its stores.
//!
//! Failures panic (these are tests).

use std::sync::Arc;
use std::time::Instant;

use rampart_core::model::naive_utcnow;
use rampart_core::{DatastoreError, NewRole, NewUser, NewWebAuthn, User, UserDatastore};
use time::macros::datetime;

/// A store under test.
pub type Store = Arc<dyn UserDatastore>;

/// Applies the conformance suite to a constructor `async fn() -> (S, G)` where `S` implements
/// [`UserDatastore`] and `G` keeps the database alive.
///
/// # Example
/// ```text
/// rampart_tests::datastore_conformance!(sqlite, rampart_tests::sqlite_store);
/// ```
#[macro_export]
macro_rules! datastore_conformance {
    ($name:ident, $ctor:path) => {
        mod $name {
            $crate::datastore_conformance!(@cases $ctor;
                create_and_find, create_defaults, duplicate_email_rejected,
                duplicate_username_rejected, unknown_role_stores_nothing, create_with_roles,
                update_persists_every_column, update_errors, delete_cascades, roles_crud,
                role_links_idempotent, webauthn_crud, webauthn_duplicate_credential,
                list_users_ordered, token_uniquifier, ping, concurrent_create_same_email,
                update_if_unchanged, concurrent_update_if_unchanged
            );
        }
    };
    (@cases $ctor:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, _guard) = $ctor().await;
                let store: $crate::conformance::Store = ::std::sync::Arc::new(store);
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        active: true,
        ..NewUser::default()
    }
}

fn role(name: &str, permissions: &[&str]) -> NewRole {
    NewRole {
        name: name.to_owned(),
        description: Some(format!("the {name} role")),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn credential(user_id: i64, id: &[u8]) -> NewWebAuthn {
    NewWebAuthn {
        credential_id: id.to_vec(),
        public_key: vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0xff, 0x00],
        sign_count: 3,
        transports: vec!["usb".into(), "nfc".into()],
        backup_state: true,
        device_type: "multi_device".into(),
        extensions: Some(r#"{"credProps":{"rk":true}}"#.into()),
        name: "key one".into(),
        usage: "first".into(),
        user_id,
    }
}

fn already_exists<T: std::fmt::Debug>(r: Result<T, DatastoreError>) -> &'static str {
    match r {
        Err(DatastoreError::AlreadyExists { field }) => field,
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
}

fn not_found<T: std::fmt::Debug>(r: Result<T, DatastoreError>) -> &'static str {
    match r {
        Err(DatastoreError::NotFound(what)) => what,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

macro_rules! ok {
    ($e:expr) => {
        match $e.await {
            Ok(v) => v,
            Err(e) => panic!("{} failed: {e:?}", stringify!($e)),
        }
    };
}

/// Creation and every look-up: id, email and username (case-insensitive), uniquifier, token
/// uniquifier, WebAuthn handle; unknown keys give `None`.
pub async fn create_and_find(store: Store) {
    let created = ok!(store.create_user(NewUser {
        username: Some("Alice".into()),
        ..user("Alice@Example.com")
    }));
    let id = created.id;
    assert_eq!(ok!(store.find_user_by_id(id)).as_ref(), Some(&created));
    for email in [
        "Alice@Example.com",
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
    ] {
        assert_eq!(
            ok!(store.find_user_by_email(email)).as_ref(),
            Some(&created),
            "{email}"
        );
    }
    assert_eq!(created.email, "Alice@Example.com", "email kept as given");
    for name in ["Alice", "alice", "ALICE"] {
        assert_eq!(
            ok!(store.find_user_by_username(name)).as_ref(),
            Some(&created),
            "{name}"
        );
    }
    assert_eq!(
        ok!(store.find_user_by_uniquifier(&created.fs_uniquifier)).as_ref(),
        Some(&created)
    );
    assert_eq!(
        ok!(store.find_user_by_uniquifier(&created.fs_uniquifier.to_uppercase())),
        None,
        "uniquifier match is exact"
    );
    let token = created
        .fs_token_uniquifier
        .clone()
        .unwrap_or_else(|| created.fs_uniquifier.clone());
    assert_eq!(
        ok!(store.find_user_by_token_uniquifier(&token)).as_ref(),
        Some(&created)
    );

    let mut with_handle = created.clone();
    with_handle.fs_webauthn_user_handle = Some("0123456789abcdef0123456789abcdef".into());
    let with_handle = ok!(store.update_user(&with_handle));
    assert_eq!(
        ok!(store.find_user_by_webauthn_handle("0123456789abcdef0123456789abcdef")).as_ref(),
        Some(&with_handle)
    );

    assert_eq!(ok!(store.find_user_by_id(id + 1000)), None);
    assert_eq!(ok!(store.find_user_by_email("bob@example.com")), None);
    assert_eq!(ok!(store.find_user_by_username("bob")), None);
    assert_eq!(ok!(store.find_user_by_uniquifier("nope")), None);
    assert_eq!(ok!(store.find_user_by_token_uniquifier("nope")), None);
    assert_eq!(ok!(store.find_user_by_webauthn_handle("nope")), None);
}

/// A new user: fresh 32-hex uniquifier(s), the given flags, hash and confirmation time,
/// creation and update times of now, empty tracking and two-factor fields.
pub async fn create_defaults(store: Store) {
    let before = naive_utcnow();
    let confirmed = datetime!(2024-02-29 23:59:58.000001);
    let u = ok!(store.create_user(NewUser {
        email: "new@example.com".into(),
        username: None,
        password_hash: Some("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA".into()),
        active: false,
        confirmed_at: Some(confirmed),
        roles: vec![],
    }));
    let after = naive_utcnow();
    assert_eq!(u.fs_uniquifier.len(), 32);
    assert!(u.fs_uniquifier.chars().all(|c| c.is_ascii_hexdigit()));
    if store.has_token_uniquifier() {
        let t = u.fs_token_uniquifier.as_deref().unwrap_or_default();
        assert_eq!(t.len(), 32);
        assert_ne!(t, u.fs_uniquifier);
    } else {
        assert_eq!(u.fs_token_uniquifier, None);
    }
    assert!(!u.active);
    assert_eq!(u.confirmed_at, Some(confirmed));
    assert!(u.is_confirmed());
    assert_eq!(
        u.password.as_deref(),
        Some("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    );
    assert!(before <= u.create_datetime && u.create_datetime <= after);
    assert_eq!(u.create_datetime, u.update_datetime);
    assert_eq!(u.username, None);
    assert_eq!(u.fs_webauthn_user_handle, None);
    assert_eq!(u.login_count, None);
    assert_eq!(u.last_login_at, None);
    assert!(u.mf_recovery_codes.is_empty());
    assert!(ok!(store.roles_of(u.id)).is_empty());
    let other = ok!(store.create_user(user("other@example.com")));
    assert_ne!(other.fs_uniquifier, u.fs_uniquifier);
    assert!(other.active);
    assert!(!other.is_confirmed());
}

/// The same email, exactly or differing only in case, is refused.
pub async fn duplicate_email_rejected(store: Store) {
    ok!(store.create_user(user("dup@example.com")));
    for email in ["dup@example.com", "DUP@example.com", "Dup@Example.Com"] {
        assert_eq!(
            already_exists(store.create_user(user(email)).await),
            "email",
            "{email}"
        );
    }
    assert_eq!(ok!(store.list_users()).len(), 1);
    // Changing another user's email to a case variant is refused too.
    let mut other = ok!(store.create_user(user("other@example.com")));
    other.email = "DUP@EXAMPLE.COM".into();
    assert_eq!(already_exists(store.update_user(&other).await), "email");
}

/// The same username, exactly or differing only in case, is refused.
pub async fn duplicate_username_rejected(store: Store) {
    ok!(store.create_user(NewUser {
        username: Some("carol".into()),
        ..user("carol@example.com")
    }));
    for name in ["carol", "Carol", "CAROL"] {
        let r = store
            .create_user(NewUser {
                username: Some(name.into()),
                ..user(&format!("{name}2@example.com"))
            })
            .await;
        assert_eq!(already_exists(r), "username", "{name}");
    }
    // Users without a username do not clash with each other.
    ok!(store.create_user(user("a@example.com")));
    ok!(store.create_user(user("b@example.com")));
    assert_eq!(ok!(store.list_users()).len(), 3);
}

/// A role that does not exist makes creation fail with `NotFound("role")` and store nothing.
pub async fn unknown_role_stores_nothing(store: Store) {
    ok!(store.create_role(role("admin", &[])));
    let r = store
        .create_user(NewUser {
            roles: vec!["admin".into(), "ghost".into()],
            ..user("ghost@example.com")
        })
        .await;
    assert_eq!(not_found(r), "role");
    assert_eq!(ok!(store.find_user_by_email("ghost@example.com")), None);
    assert!(ok!(store.list_users()).is_empty());
    // The email is still free.
    ok!(store.create_user(user("ghost@example.com")));
}

/// Roles named at creation are granted (duplicates once) and listed by name.
pub async fn create_with_roles(store: Store) {
    ok!(store.create_role(role("writer", &["post-write"])));
    ok!(store.create_role(role("admin", &["user-admin", "post-write"])));
    ok!(store.create_role(role("reader", &[])));
    let u = ok!(store.create_user(NewUser {
        roles: vec!["writer".into(), "admin".into(), "writer".into()],
        ..user("roles@example.com")
    }));
    let names: Vec<String> = ok!(store.roles_of(u.id))
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "writer"]);
}

/// Every mutable column survives an update, datetimes to the microsecond, and
/// `update_datetime` moves forward while `create_datetime` stays.
pub async fn update_persists_every_column(store: Store) {
    let u = ok!(store.create_user(user("upd@example.com")));
    let changed = User {
        email: "Updated@Example.com".into(),
        username: Some("updated".into()),
        password: Some("$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234".into()),
        active: false,
        fs_uniquifier: "f".repeat(32),
        fs_token_uniquifier: if store.has_token_uniquifier() {
            Some("e".repeat(32))
        } else {
            None
        },
        fs_webauthn_user_handle: Some("d".repeat(64)),
        confirmed_at: Some(datetime!(2020-01-02 03:04:05.000007)),
        last_login_at: Some(datetime!(2021-12-31 23:59:59.999999)),
        current_login_at: Some(datetime!(2022-06-15 12:00:00)),
        last_login_ip: Some("2001:db8::1".into()),
        current_login_ip: Some("192.0.2.7".into()),
        login_count: Some(42),
        tf_primary_method: Some("authenticator".into()),
        tf_totp_secret: Some("encrypted-secret".into()),
        tf_phone_number: Some("+15555550100".into()),
        us_totp_secrets: Some(r#"{"email": "x", "sms": "y"}"#.into()),
        us_phone_number: Some("+15555550101".into()),
        mf_recovery_codes: vec!["code-1".into(), "code-2".into(), "code-3".into()],
        ..u.clone()
    };
    let saved = ok!(store.update_user(&changed));
    assert_eq!(saved.create_datetime, u.create_datetime);
    assert!(saved.update_datetime >= u.update_datetime);
    let expected = User {
        update_datetime: saved.update_datetime,
        ..changed.clone()
    };
    assert_eq!(saved, expected);
    assert_eq!(ok!(store.find_user_by_id(u.id)), Some(expected.clone()));
    assert_eq!(
        ok!(store.find_user_by_email("updated@example.com")),
        Some(expected.clone())
    );
    assert_eq!(ok!(store.find_user_by_email("upd@example.com")), None);
    assert_eq!(
        ok!(store.find_user_by_uniquifier(&"f".repeat(32))),
        Some(expected.clone())
    );

    // And back to empty.
    let cleared = User {
        username: None,
        password: None,
        confirmed_at: None,
        last_login_at: None,
        current_login_at: None,
        last_login_ip: None,
        current_login_ip: None,
        login_count: None,
        tf_primary_method: None,
        tf_totp_secret: None,
        tf_phone_number: None,
        us_totp_secrets: None,
        us_phone_number: None,
        fs_webauthn_user_handle: None,
        mf_recovery_codes: vec![],
        ..expected
    };
    let saved = ok!(store.update_user(&cleared));
    assert_eq!(
        saved,
        User {
            update_datetime: saved.update_datetime,
            ..cleared
        }
    );
}

/// Updating an unknown id is `NotFound`; taking another user's unique value is
/// `AlreadyExists` naming it.
pub async fn update_errors(store: Store) {
    let a = ok!(store.create_user(NewUser {
        username: Some("aaa".into()),
        ..user("a@example.com")
    }));
    let mut b = ok!(store.create_user(user("b@example.com")));
    b.us_phone_number = Some("+15555550123".into());
    b = ok!(store.update_user(&b));

    let ghost = User {
        id: a.id + b.id + 100,
        email: "ghost@example.com".into(),
        fs_uniquifier: "0".repeat(32),
        ..a.clone()
    };
    assert_eq!(not_found(store.update_user(&ghost).await), "user");

    let mut a2 = a.clone();
    a2.username = Some("AAA".into());
    ok!(store.update_user(&a2)); // own username in another case is fine

    let mut b2 = b.clone();
    b2.username = Some("Aaa".into());
    assert_eq!(already_exists(store.update_user(&b2).await), "username");

    let mut a3 = a.clone();
    a3.us_phone_number = Some("+15555550123".into());
    assert_eq!(
        already_exists(store.update_user(&a3).await),
        "us_phone_number"
    );

    let mut a4 = a.clone();
    a4.fs_uniquifier = b.fs_uniquifier.clone();
    assert_eq!(
        already_exists(store.update_user(&a4).await),
        "fs_uniquifier"
    );
}

/// Deleting a user removes their role links and credentials, keeps the roles and other
/// users, and a second delete is `NotFound`.
pub async fn delete_cascades(store: Store) {
    ok!(store.create_role(role("admin", &["all"])));
    let keep = ok!(store.create_user(NewUser {
        roles: vec!["admin".into()],
        ..user("keep@example.com")
    }));
    let u = ok!(store.create_user(NewUser {
        roles: vec!["admin".into()],
        ..user("gone@example.com")
    }));
    let cred = ok!(store.create_webauthn(credential(u.id, b"gone-cred")));
    let kept_cred = ok!(store.create_webauthn(credential(keep.id, b"kept-cred")));

    ok!(store.delete_user(u.id));
    assert_eq!(ok!(store.find_user_by_id(u.id)), None);
    assert_eq!(ok!(store.find_user_by_email("gone@example.com")), None);
    assert!(ok!(store.roles_of(u.id)).is_empty());
    assert!(ok!(store.webauthn_of(u.id)).is_empty());
    assert_eq!(ok!(store.find_webauthn(&cred.credential_id)), None);
    assert!(ok!(store.find_role("admin")).is_some());
    assert_eq!(ok!(store.roles_of(keep.id)).len(), 1);
    assert_eq!(ok!(store.find_webauthn(b"kept-cred")), Some(kept_cred));
    assert_eq!(not_found(store.delete_user(u.id).await), "user");
    // The email can be reused.
    ok!(store.create_user(user("gone@example.com")));
}

/// Roles: create, find, list by name, update description and permissions, refuse duplicate
/// names, delete with links; unknown ones are `NotFound`.
pub async fn roles_crud(store: Store) {
    let before = naive_utcnow();
    let admin = ok!(store.create_role(role("admin", &["user-admin", "post-write", "x:y"])));
    assert_eq!(admin.name, "admin");
    assert_eq!(admin.description.as_deref(), Some("the admin role"));
    assert_eq!(admin.permissions, ["user-admin", "post-write", "x:y"]);
    assert!(admin.update_datetime >= before);
    let bare = ok!(store.create_role(NewRole {
        name: "bare".into(),
        description: None,
        permissions: vec![],
    }));
    assert_eq!(bare.description, None);
    assert!(bare.permissions.is_empty());
    ok!(store.create_role(role("Zeta", &[])));
    ok!(store.create_role(role("beta", &[])));

    assert_eq!(ok!(store.find_role("admin")), Some(admin.clone()));
    assert_eq!(ok!(store.find_role("bare")), Some(bare.clone()));
    assert_eq!(ok!(store.find_role("nobody")), None);
    let names: Vec<String> = ok!(store.list_roles())
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ordered by name");
    assert_eq!(names.len(), 4);

    assert_eq!(
        already_exists(store.create_role(role("admin", &[])).await),
        "name"
    );

    let mut changed = admin.clone();
    changed.description = Some("changed".into());
    changed.permissions = vec!["only-this".into()];
    let saved = ok!(store.update_role(&changed));
    assert_eq!(saved.description.as_deref(), Some("changed"));
    assert_eq!(saved.permissions, ["only-this"]);
    assert!(saved.update_datetime >= admin.update_datetime);
    assert_eq!(ok!(store.find_role("admin")), Some(saved.clone()));

    let mut ghost = saved.clone();
    ghost.id += 1000;
    assert_eq!(not_found(store.update_role(&ghost).await), "role");

    let u = ok!(store.create_user(NewUser {
        roles: vec!["admin".into(), "beta".into()],
        ..user("r@example.com")
    }));
    ok!(store.delete_role("admin"));
    assert_eq!(ok!(store.find_role("admin")), None);
    let left: Vec<String> = ok!(store.roles_of(u.id))
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(left, ["beta"]);
    assert_eq!(not_found(store.delete_role("admin").await), "role");
    // The name is free again.
    ok!(store.create_role(role("admin", &[])));
}

/// Granting and revoking are idempotent and report whether anything changed.
pub async fn role_links_idempotent(store: Store) {
    ok!(store.create_role(role("admin", &[])));
    ok!(store.create_role(role("editor", &[])));
    let u = ok!(store.create_user(user("links@example.com")));
    assert!(ok!(store.add_role_to_user(u.id, "admin")));
    assert!(!ok!(store.add_role_to_user(u.id, "admin")));
    assert!(ok!(store.add_role_to_user(u.id, "editor")));
    let names: Vec<String> = ok!(store.roles_of(u.id))
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "editor"]);
    assert!(ok!(store.remove_role_from_user(u.id, "admin")));
    assert!(!ok!(store.remove_role_from_user(u.id, "admin")));
    let names: Vec<String> = ok!(store.roles_of(u.id))
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["editor"]);

    assert_eq!(
        not_found(store.add_role_to_user(u.id, "ghost").await),
        "role"
    );
    assert_eq!(
        not_found(store.add_role_to_user(u.id + 1000, "admin").await),
        "user"
    );
    assert_eq!(
        not_found(store.remove_role_from_user(u.id, "ghost").await),
        "role"
    );
    assert!(ok!(store.roles_of(u.id + 1000)).is_empty());
}

/// WebAuthn credentials: create, find by credential id, list by id, touch, delete.
pub async fn webauthn_crud(store: Store) {
    let u = ok!(store.create_user(user("wa@example.com")));
    let other = ok!(store.create_user(user("wa2@example.com")));
    let before = naive_utcnow();
    let c1 = ok!(store.create_webauthn(credential(u.id, &[0u8, 1, 2, 255, 254])));
    assert_eq!(c1.credential_id, [0u8, 1, 2, 255, 254]);
    assert_eq!(
        c1.public_key,
        [0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0xff, 0x00]
    );
    assert_eq!(c1.sign_count, 3);
    assert_eq!(c1.transports, ["usb", "nfc"]);
    assert!(c1.backup_state);
    assert_eq!(c1.device_type, "multi_device");
    assert_eq!(
        c1.extensions.as_deref(),
        Some(r#"{"credProps":{"rk":true}}"#)
    );
    assert_eq!(c1.name, "key one");
    assert_eq!(c1.usage, "first");
    assert_eq!(c1.user_id, u.id);
    assert!(c1.create_datetime >= before);
    assert_eq!(c1.create_datetime, c1.lastuse_datetime);

    let c2 = ok!(store.create_webauthn(NewWebAuthn {
        transports: vec![],
        backup_state: false,
        device_type: "single_device".into(),
        extensions: None,
        name: "key two".into(),
        usage: "secondary".into(),
        sign_count: 0,
        ..credential(u.id, b"second")
    }));
    assert!(c2.transports.is_empty());
    assert!(!c2.backup_state);
    assert_eq!(c2.extensions, None);
    ok!(store.create_webauthn(credential(other.id, b"others")));

    assert_eq!(
        ok!(store.find_webauthn(&[0u8, 1, 2, 255, 254])),
        Some(c1.clone())
    );
    assert_eq!(ok!(store.find_webauthn(b"nope")), None);
    assert_eq!(ok!(store.webauthn_of(u.id)), vec![c1.clone(), c2.clone()]);

    ok!(store.touch_webauthn(c1.id, 17));
    let touched = ok!(store.find_webauthn(&c1.credential_id)).unwrap_or_else(|| panic!("gone"));
    assert_eq!(touched.sign_count, 17);
    assert!(touched.lastuse_datetime >= c1.lastuse_datetime);
    assert_eq!(touched.create_datetime, c1.create_datetime);
    assert_eq!(
        not_found(store.touch_webauthn(c1.id + c2.id + 1000, 1).await),
        "webauthn"
    );

    // The sign count only moves forward; 0 (no counter) stays usable at 0.
    assert!(ok!(store.advance_webauthn(c1.id, 18, false)));
    assert!(
        !ok!(store.advance_webauthn(c1.id, 18, true)),
        "equal count refused"
    );
    assert!(
        !ok!(store.advance_webauthn(c1.id, 5, true)),
        "lower count refused"
    );
    let advanced = ok!(store.find_webauthn(&c1.credential_id)).unwrap_or_else(|| panic!("gone"));
    assert_eq!(advanced.sign_count, 18);
    assert!(!advanced.backup_state, "a refused advance changes nothing");
    assert!(ok!(store.advance_webauthn(c2.id, 0, true)));
    assert!(ok!(store.advance_webauthn(c2.id, 0, true)));
    assert!(!ok!(store.advance_webauthn(c1.id + c2.id + 1000, 1, false)));
    let c2 = ok!(store.find_webauthn(&c2.credential_id)).unwrap_or_else(|| panic!("gone"));
    assert!(c2.backup_state);

    ok!(store.delete_webauthn(c1.id));
    assert_eq!(ok!(store.find_webauthn(&c1.credential_id)), None);
    assert_eq!(ok!(store.webauthn_of(u.id)), vec![c2]);
    assert_eq!(not_found(store.delete_webauthn(c1.id).await), "webauthn");
    assert_eq!(
        not_found(
            store
                .create_webauthn(credential(u.id + other.id + 1000, b"x"))
                .await
        ),
        "user"
    );
}

/// A credential id already stored (for any user) is refused.
pub async fn webauthn_duplicate_credential(store: Store) {
    let u = ok!(store.create_user(user("wa@example.com")));
    let other = ok!(store.create_user(user("wa2@example.com")));
    ok!(store.create_webauthn(credential(u.id, b"same-id")));
    assert_eq!(
        already_exists(
            store
                .create_webauthn(credential(other.id, b"same-id"))
                .await
        ),
        "credential_id"
    );
    assert!(ok!(store.webauthn_of(other.id)).is_empty());
}

/// `list_users` is ordered by id.
pub async fn list_users_ordered(store: Store) {
    assert!(ok!(store.list_users()).is_empty());
    let mut ids = Vec::new();
    for email in ["z@example.com", "a@example.com", "m@example.com"] {
        ids.push(ok!(store.create_user(user(email))).id);
    }
    let listed: Vec<i64> = ok!(store.list_users()).into_iter().map(|u| u.id).collect();
    assert_eq!(listed, ids);
    assert!(listed.windows(2).all(|w| w[0] < w[1]));
}

/// `fs_token_uniquifier`: set on creation where the column exists and used by
/// `find_user_by_token_uniquifier`, which falls back to `fs_uniquifier` otherwise.
pub async fn token_uniquifier(store: Store) {
    let u = ok!(store.create_user(user("tok@example.com")));
    if store.has_token_uniquifier() {
        let token = u.fs_token_uniquifier.clone().unwrap_or_default();
        assert_eq!(
            ok!(store.find_user_by_token_uniquifier(&token)),
            Some(u.clone())
        );
        assert_eq!(
            ok!(store.find_user_by_token_uniquifier(&u.fs_uniquifier)),
            None
        );
        // Rotating it invalidates the old value.
        let mut rotated = u.clone();
        rotated.fs_token_uniquifier = Some("9".repeat(32));
        let rotated = ok!(store.update_user(&rotated));
        assert_eq!(ok!(store.find_user_by_token_uniquifier(&token)), None);
        assert_eq!(
            ok!(store.find_user_by_token_uniquifier(&"9".repeat(32))),
            Some(rotated)
        );
    } else {
        assert_eq!(u.fs_token_uniquifier, None);
        assert_eq!(
            ok!(store.find_user_by_token_uniquifier(&u.fs_uniquifier)),
            Some(u)
        );
    }
}

/// `ping` answers.
pub async fn ping(store: Store) {
    ok!(store.ping());
}

/// Rounds of [`concurrent_create_same_email`]: `RAMPART_CONCURRENCY_ROUNDS`, default 20.
pub fn concurrency_rounds() -> usize {
    std::env::var("RAMPART_CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// `update_user_if_unchanged` writes while the row still has the uniquifier, password and
/// confirmation state it was read with, and writes nothing (`None`) once any of them changed.
pub async fn update_if_unchanged(store: Store) {
    let seen = ok!(store.create_user(NewUser {
        password_hash: Some("$argon2id$old".into()),
        ..user("cas@example.com")
    }));
    let mut changed = seen.clone();
    changed.password = Some("$argon2id$new".into());
    changed.fs_uniquifier = "rotated-uniquifier".into();
    let written = ok!(store.update_user_if_unchanged(&changed, &seen));
    assert_eq!(
        written.as_ref().map(|u| u.password.as_deref()),
        Some(Some("$argon2id$new"))
    );
    // The same read row again: the password and uniquifier moved on.
    let mut again = seen.clone();
    again.password = Some("$argon2id$other".into());
    assert!(ok!(store.update_user_if_unchanged(&again, &seen)).is_none());
    let now = ok!(store.find_user_by_id(seen.id)).expect("user");
    assert_eq!(now.password.as_deref(), Some("$argon2id$new"));
    // The confirmation state is part of the guard (a confirmation link works once).
    let mut confirmed = now.clone();
    confirmed.confirmed_at = Some(rampart_core::model::naive_utcnow());
    assert!(ok!(store.update_user_if_unchanged(&confirmed, &now)).is_some());
    assert!(ok!(store.update_user_if_unchanged(&confirmed, &now)).is_none());
    // A user without password (NULL) is guarded too.
    let bare = ok!(store.create_user(user("cas-null@example.com")));
    let mut set = bare.clone();
    set.password = Some("$argon2id$first".into());
    assert!(ok!(store.update_user_if_unchanged(&set, &bare)).is_some());
    assert!(ok!(store.update_user_if_unchanged(&set, &bare)).is_none());
    assert!(matches!(
        store
            .update_user_if_unchanged(
                &User {
                    id: 9_999,
                    ..set.clone()
                },
                &bare
            )
            .await,
        Err(DatastoreError::NotFound(_))
    ));
}

/// 32 tasks consume the same read row at once: exactly one write lands.
pub async fn concurrent_update_if_unchanged(store: Store) {
    const TASKS: usize = 32;
    for round in 0..concurrency_rounds() {
        let seen = ok!(store.create_user(NewUser {
            password_hash: Some("$argon2id$start".into()),
            ..user(&format!("cas-race{round}@example.com"))
        }));
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let handles: Vec<_> = (0..TASKS)
            .map(|task| {
                let (store, barrier, seen) =
                    (Arc::clone(&store), Arc::clone(&barrier), seen.clone());
                tokio::spawn(async move {
                    let mut next = seen.clone();
                    next.password = Some(format!("$argon2id$task{task}"));
                    next.fs_uniquifier = format!("uniq-{round}-{task}");
                    barrier.wait().await;
                    store.update_user_if_unchanged(&next, &seen).await
                })
            })
            .collect();
        let mut wins = 0;
        for handle in handles {
            match handle.await {
                Ok(Ok(Some(_))) => wins += 1,
                Ok(Ok(None)) => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(wins, 1, "round {round}: exactly one write");
    }
}

/// 64 tasks create the same email (in mixed case) at once, for several rounds: each round
/// stores exactly one user and every other task gets `AlreadyExists { field: "email" }`.
pub async fn concurrent_create_same_email(store: Store) {
    const TASKS: usize = 64;
    let rounds = concurrency_rounds();
    let started = Instant::now();
    for round in 0..rounds {
        let base = format!("race{round}@example.com");
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let mut handles = Vec::with_capacity(TASKS);
        for task in 0..TASKS {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            // Upper-case a different subset of characters in each task.
            let email: String = base
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if (task >> (i % 6)) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                store.create_user(user(&email)).await
            }));
        }
        let mut created = 0;
        for handle in handles {
            match handle.await {
                Ok(Ok(_)) => created += 1,
                Ok(Err(DatastoreError::AlreadyExists { field: "email" })) => {}
                Ok(Err(other)) => panic!("round {round}: unexpected error {other:?}"),
                Err(join) => panic!("round {round}: task panicked: {join}"),
            }
        }
        assert_eq!(created, 1, "round {round}: exactly one user created");
        let found = ok!(store.find_user_by_email(&base));
        assert!(found.is_some(), "round {round}: user stored");
    }
    assert_eq!(ok!(store.list_users()).len(), rounds);
    eprintln!(
        "concurrent_create_same_email: {rounds} rounds x {TASKS} tasks in {:.2?}",
        started.elapsed()
    );
}
