//! Crash safety (security-testing.md C13), black-box on SQLite and PostgreSQL: the demo server
//! is killed with SIGKILL at a random moment (0–1 s after both streams had a write
//! acknowledged) in a steady stream of registrations and password changes, then restarted.
//! Every write it acknowledged with 200 must be there afterwards — a registered address exists, a changed password is the one
//! that signs in (a change cut off before its answer may have happened or not, nothing else)
//! — and the database passes its integrity check every cycle: `PRAGMA integrity_check` on
//! SQLite; on PostgreSQL amcheck's `bt_index_check` on every index of the schema plus
//! consistency queries (no user without password or uniquifier, no duplicate address, no
//! dangling role link).
//!
//! Cycles per backend: `RAMPART_CRASH_CYCLES` (default 10, the CI run; the release figure is
//! 50): `RAMPART_CRASH_CYCLES=50 cargo test -p rampart-cli --test crash -- --nocapture`.
//! Only the application is killed: PostgreSQL is shared by every test and stays up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt as _;
use serde_json::{Value, json};
use sqlx::Connection as _;

use support::{Db, Server, client_no_redirect};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await;
            }
        }
    )*};
}

/// Queries counting rows that must not exist whatever happened, run on either backend.
const CONSISTENCY: [(&str, &str); 4] = [
    (
        "users without password or uniquifier",
        "SELECT count(*) FROM \"user\" WHERE password IS NULL OR fs_uniquifier IS NULL \
         OR fs_uniquifier = ''",
    ),
    (
        "duplicate addresses",
        "SELECT count(*) FROM (SELECT lower(email) FROM \"user\" GROUP BY lower(email) \
         HAVING count(*) > 1) d",
    ),
    (
        "duplicate uniquifiers",
        "SELECT count(*) FROM (SELECT fs_uniquifier FROM \"user\" GROUP BY fs_uniquifier \
         HAVING count(*) > 1) d",
    ),
    (
        "role links to missing users or roles",
        "SELECT count(*) FROM roles_users ru WHERE NOT EXISTS \
         (SELECT 1 FROM \"user\" u WHERE u.id = ru.user_id) \
         OR NOT EXISTS (SELECT 1 FROM role r WHERE r.id = ru.role_id)",
    ),
];

/// Runs [`CONSISTENCY`] on a connection of either backend.
macro_rules! consistency {
    ($conn:expr) => {{
        let mut found = Vec::new();
        for (what, query) in CONSISTENCY {
            let n: i64 = sqlx::query_scalar(query)
                .fetch_one(&mut *$conn)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            if n != 0 {
                found.push(format!("{n} {what}"));
            }
        }
        found
    }};
}

use rampart::datastore::UserDatastore as _;

on_both_backends!(kill_during_writes);

const REGISTER_WORKERS: usize = 2;
const CHANGE_USERS: usize = 2;
const FIRST_PASSWORD: &str = "Crash-first-correct-horse-1";

fn cycles() -> usize {
    std::env::var("RAMPART_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// What the server acknowledged, and the one password change in flight per user.
#[derive(Default)]
struct Ledger {
    registered: Vec<String>,
    /// Per user: the last password whose change was answered 200, and one sent but not
    /// answered when the server died.
    passwords: BTreeMap<String, (String, Option<String>)>,
    acked_changes: usize,
    violations: Vec<String>,
}

type Shared = Arc<Mutex<Ledger>>;

/// The demo with the throttle off (the checks sign in with candidate passwords) and a cheap
/// argon2 (the test is about the database, not the hash).
struct Setup {
    env: Vec<(String, String)>,
    _dir: rampart_tests::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = rampart_tests::TempDir::new("rampart-crash").unwrap();
        let config = dir.path().join("crash.toml");
        std::fs::write(
            &config,
            "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = { argon2__memory_cost = 4096, \
             argon2__rounds = 1, argon2__parallelism = 1 }\n",
        )
        .unwrap();
        let env = vec![
            (
                "SECRET_KEY".into(),
                "rampart-crash-test-secret-0123456789".into(),
            ),
            ("SECURITY_THROTTLE_ENABLED".into(), "false".into()),
            ("RAMPART_CONFIG".into(), config.display().to_string()),
            (
                "MAIL_OUTBOX".into(),
                dir.path().join("outbox").display().to_string(),
            ),
        ];
        Self { env, _dir: dir }
    }

    async fn start(&self, db: &Db) -> Server {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Server::start(db, &env).await
    }
}

async fn kill_during_writes(db: Db) {
    let setup = Setup::new();
    let ledger: Shared = Arc::default();
    for u in 0..CHANGE_USERS {
        let email = format!("changer{u}@crash.example.com");
        let args = ["users", "create", &email, "--password-stdin", "--confirmed"];
        support::rampart(&db, &args, Some(FIRST_PASSWORD)).ok();
        let mut l = ledger.lock().unwrap();
        l.passwords.insert(email, (FIRST_PASSWORD.into(), None));
    }
    let started = Instant::now();
    let n = cycles();
    for cycle in 0..n {
        let server = setup.start(&db).await;
        let base = format!("http://127.0.0.1:{}", server.port);
        settle_passwords(&base, &ledger).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Vec::new();
        for w in 0..REGISTER_WORKERS {
            let (base, ledger, stop) = (base.clone(), ledger.clone(), stop.clone());
            load.push(tokio::spawn(register_loop(base, ledger, stop, cycle, w)));
        }
        let emails: Vec<String> = ledger.lock().unwrap().passwords.keys().cloned().collect();
        for email in emails {
            let (base, ledger, stop) = (base.clone(), ledger.clone(), stop.clone());
            load.push(tokio::spawn(change_loop(base, ledger, stop, cycle, email)));
        }
        // Kill at a random moment once both kinds of write are flowing (a loaded machine
        // may need seconds for the first), so acknowledged and in-flight writes meet the kill.
        let (regs, changes) = counts(&ledger);
        let flowing = Instant::now();
        while flowing.elapsed() < Duration::from_secs(30) {
            let (r, c) = counts(&ledger);
            if r > regs && c > changes {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let delay = rand::rng().random_range(0..1000);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill().await;
        stop.store(true, Ordering::SeqCst);
        for task in load {
            task.await.unwrap();
        }
        check_database(&db, &ledger, cycle).await;
    }
    // The last cycle's password changes, with the server up once more.
    let server = setup.start(&db).await;
    settle_passwords(&format!("http://127.0.0.1:{}", server.port), &ledger).await;
    server.stop().await;
    let l = ledger.lock().unwrap();
    println!(
        "crash safety: {n} SIGKILL cycles, {} acknowledged registrations, {} acknowledged \
         password changes, {} violations, {:.1} s",
        l.registered.len(),
        l.acked_changes,
        l.violations.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        l.violations.is_empty(),
        "{} violation(s):\n{}",
        l.violations.len(),
        l.violations.join("\n")
    );
    assert!(
        !l.registered.is_empty() && l.acked_changes > 0,
        "the load acknowledged no writes: the test tested nothing"
    );
}

/// Acknowledged registrations and password changes so far.
fn counts(ledger: &Shared) -> (usize, usize) {
    let l = ledger.lock().unwrap();
    (l.registered.len(), l.acked_changes)
}

/// A JSON POST; `None` when the connection failed (the server is gone).
async fn post(
    http: &reqwest::Client,
    url: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> Option<(u16, Value, Vec<String>)> {
    let mut rb = http
        .post(url)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.ok()?;
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .map(str::to_owned)
        .collect();
    let json = resp.json().await.ok()?;
    Some((status, json, cookies))
}

async fn register_loop(
    base: String,
    ledger: Shared,
    stop: Arc<AtomicBool>,
    cycle: usize,
    w: usize,
) {
    let http = client_no_redirect();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let email = format!("c{cycle}w{w}n{i}@crash.example.com");
        let body = json!({"email": email, "password": FIRST_PASSWORD,
            "password_confirm": FIRST_PASSWORD});
        match post(&http, &format!("{base}/register"), body, &[]).await {
            Some((200, _, _)) => ledger.lock().unwrap().registered.push(email),
            Some((status, json, _)) => {
                let v = format!("cycle {cycle}: register {email} -> {status} {json}");
                ledger.lock().unwrap().violations.push(v);
            }
            None => return,
        }
    }
}

/// Signs in; `Some(Some(..))` with the cookie header and CSRF token, `Some(None)` when the
/// password is refused, `None` when the server is gone.
async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Option<Option<(String, String)>> {
    let body = json!({"email": email, "password": password});
    let (status, json, cookies) = post(http, &format!("{base}/login"), body, &[]).await?;
    if status != 200 {
        return Some(None);
    }
    let csrf = json["response"]["csrf_token"].as_str()?.to_owned();
    Some(Some((cookies.join("; "), csrf)))
}

async fn change_loop(
    base: String,
    ledger: Shared,
    stop: Arc<AtomicBool>,
    cycle: usize,
    email: String,
) {
    let http = client_no_redirect();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let current = ledger.lock().unwrap().passwords[&email].0.clone();
        let (cookie, csrf) = match login(&http, &base, &email, &current).await {
            Some(Some(s)) => s,
            Some(None) => {
                let v = format!("cycle {cycle}: {email} cannot sign in with its password");
                ledger.lock().unwrap().violations.push(v);
                return;
            }
            None => return,
        };
        let new = format!("Crash-{cycle}-{i}-correct-horse");
        if let Some(p) = ledger.lock().unwrap().passwords.get_mut(&email) {
            p.1 = Some(new.clone());
        }
        let body = json!({"password": current, "new_password": new, "new_password_confirm": new});
        let headers = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
        match post(&http, &format!("{base}/change"), body, &headers).await {
            Some((200, _, _)) => {
                let mut l = ledger.lock().unwrap();
                l.acked_changes += 1;
                if let Some(p) = l.passwords.get_mut(&email) {
                    *p = (new, None);
                }
            }
            Some((status, json, _)) => {
                let mut l = ledger.lock().unwrap();
                l.violations.push(format!(
                    "cycle {cycle}: change for {email} -> {status} {json}"
                ));
                if let Some(p) = l.passwords.get_mut(&email) {
                    p.1 = None;
                }
            }
            None => return,
        }
    }
}

/// After a restart: each user signs in with its last acknowledged password, or with the one
/// whose change was cut off (then that change happened and becomes the acknowledged state).
async fn settle_passwords(base: &str, ledger: &Shared) {
    let http = client_no_redirect();
    let users: Vec<(String, (String, Option<String>))> = ledger
        .lock()
        .unwrap()
        .passwords
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (email, (acked, pending)) in users {
        let with_acked = login(&http, base, &email, &acked).await.expect("server up");
        let settled = if with_acked.is_some() {
            Some(acked)
        } else if let Some(p) = pending {
            login(&http, base, &email, &p)
                .await
                .expect("server up")
                .map(|_| p)
        } else {
            None
        };
        let mut l = ledger.lock().unwrap();
        match settled {
            Some(pw) => {
                l.passwords.insert(email, (pw, None));
            }
            None => l.violations.push(format!(
                "{email}: the acknowledged password does not sign in"
            )),
        }
    }
}

/// Integrity of the database after a kill, and every acknowledged registration present.
async fn check_database(db: &Db, ledger: &Shared, cycle: usize) {
    let mut problems = Vec::new();
    if db.url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        if rows != ["ok"] {
            problems.push(format!("integrity_check: {rows:?}"));
        }
        problems.extend(consistency!(&mut conn));
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck")
            .execute(&mut conn)
            .await
            .unwrap();
        let checked: i64 = sqlx::query_scalar(
            "SELECT count(bt_index_check(c.oid)) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_am a ON a.oid = c.relam \
             WHERE a.amname = 'btree' AND n.nspname = current_schema()",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("amcheck: {e}"));
        assert!(checked > 0, "amcheck checked no index");
        problems.extend(consistency!(&mut conn));
        conn.close().await.unwrap();
    }
    let store = db.store().await;
    let registered = ledger.lock().unwrap().registered.clone();
    for email in registered {
        if store.find_user_by_email(&email).await.unwrap().is_none() {
            problems.push(format!("acknowledged registration lost: {email}"));
        }
    }
    let mut l = ledger.lock().unwrap();
    l.violations
        .extend(problems.into_iter().map(|p| format!("cycle {cycle}: {p}")));
}
