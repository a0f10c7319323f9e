//! Races (security-testing.md C12, ASVS 15.4.2), black-box against the demo server on SQLite
//! and PostgreSQL: 64 parallel registrations of one address (in different letter cases) make
//! exactly one user, and 32 parallel redemptions of one reset link, confirmation link, TOTP
//! code (one step), recovery code or change-email link succeed exactly once; never a 5xx.
//!
//! Rounds per race: `RAMPART_RACE_ROUNDS` (default 10, the CI run; the release figure is 100):
//! `RAMPART_RACE_ROUNDS=100 cargo test -p rampart-cli --test races -- --nocapture`.
//!
//! Each single-use secret is a [`SingleUse`] implementation: how to get one for a round, how
//! to redeem it once, and what a success looks like. A new kind (the WebAuthn challenge) is
//! one more implementation and one line in [`single_use_races`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

use std::time::Instant;

use futures_util::future::join_all;
use rampart::datastore::UserDatastore as _;
use serde_json::json;

use harness::*;
use support::Db;
use support::smtp::{Mode, SmtpSink};

/// Generates `NAME::sqlite` and `NAME::postgres` tests that run `async fn NAME(db: Db)`.
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

on_both_backends!(parallel_registrations, single_use_races);

const MAIL_HOST: &str = "accounts.example.test";
const REGISTRATIONS: usize = 64;
const REDEMPTIONS: usize = 32;
const PASSWORD: &str = "Race-correct-horse-42";

fn rounds() -> usize {
    std::env::var("RAMPART_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// The demo with mail to `sink`, the throttle off (a race is not a guessing attack) and a
/// cheaper argon2 (the race is in the database, not in the hash).
async fn start(db: Db, sink: &SmtpSink) -> App {
    let dir = rampart_tests::TempDir::new("rampart-races").unwrap();
    let config = dir.path().join("races.toml");
    std::fs::write(
        &config,
        "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = { argon2__memory_cost = 4096, \
         argon2__rounds = 1, argon2__parallelism = 1 }\n",
    )
    .unwrap();
    let url = sink.url();
    let config = config.display().to_string();
    let app = App::start_with(
        db,
        &[
            ("SMTP_URL", url.as_str()),
            ("SERVER_NAME", MAIL_HOST),
            ("SECURITY_THROTTLE_ENABLED", "false"),
            ("RAMPART_CONFIG", config.as_str()),
        ],
    )
    .await;
    // The file is read at start-up only.
    drop(dir);
    app
}

/// Sends every request at once (one future per request, polled together) and returns the
/// answers in order.
async fn at_once<'a, F, Fut>(n: usize, send: F) -> Vec<Resp>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Resp> + 'a,
{
    join_all((0..n).map(send)).await
}

/// What one race found.
#[derive(Default)]
struct Tally {
    rounds: usize,
    requests: usize,
    violations: Vec<String>,
}

impl Tally {
    fn report(self, what: &str, started: Instant) {
        println!(
            "race {what}: {} rounds, {} requests, {} violations, {:.1} s",
            self.rounds,
            self.requests,
            self.violations.len(),
            started.elapsed().as_secs_f64()
        );
        assert!(
            self.violations.is_empty(),
            "{what}: {} violation(s):\n{}",
            self.violations.len(),
            self.violations.join("\n")
        );
    }
}

/// `Race3@…`, `race3@…`, `RACE3@…`: one address in three spellings.
fn spelling(round: usize, i: usize) -> String {
    let local = match i % 3 {
        0 => format!("race{round}"),
        1 => format!("Race{round}"),
        _ => format!("RACE{round}"),
    };
    format!("{local}@races.example.com")
}

async fn parallel_registrations(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink).await;
    let store = app.db.store().await;
    let started = Instant::now();
    let mut tally = Tally::default();
    for round in 0..rounds() {
        let answers = at_once(REGISTRATIONS, |i| {
            let body = json!({"email": spelling(round, i), "password": PASSWORD,
                "password_confirm": PASSWORD});
            app.post("/register").accept_json().json(body).send()
        })
        .await;
        tally.rounds += 1;
        tally.requests += answers.len();
        let ok = answers.iter().filter(|r| r.status == 200).count();
        for r in answers.iter().filter(|r| r.status != 200) {
            let taken =
                r.status == 400 && r.text.contains("is already associated with an account.");
            if !taken {
                tally
                    .violations
                    .push(format!("round {round}: not the taken-address answer: {r}"));
            }
        }
        if ok != 1 {
            tally
                .violations
                .push(format!("round {round}: {ok} registrations answered 200"));
        }
        let users = store.list_users().await.unwrap();
        let same: Vec<_> = users
            .iter()
            .filter(|u| u.email.eq_ignore_ascii_case(&spelling(round, 0)))
            .collect();
        if same.len() != 1 {
            tally.violations.push(format!(
                "round {round}: {} users for the address",
                same.len()
            ));
        }
    }
    tally.report("64 x register one address", started);
}

/// A secret that must work once, raced by [`REDEMPTIONS`] parallel uses.
trait SingleUse {
    /// Shown in the figures.
    const NAME: &'static str;
    /// What a round races on (a link, a code …).
    type Secret: Sync;

    /// A fresh secret for `round`.
    async fn issue(&self, app: &App, sink: &SmtpSink, round: usize) -> Self::Secret;
    /// One redemption (attempt `i` of the round).
    async fn redeem(&self, app: &App, secret: &Self::Secret, round: usize, i: usize) -> Resp;
    /// Whether `resp` is a success; anything else must be a refusal below 500.
    fn succeeded(&self, resp: &Resp) -> bool;
}

/// Runs `kind` for every round and checks exactly one success each time.
async fn race<K: SingleUse>(kind: &K, app: &App, sink: &SmtpSink) {
    let started = Instant::now();
    let mut tally = Tally::default();
    for round in 0..rounds() {
        let secret = kind.issue(app, sink, round).await;
        let answers = at_once(REDEMPTIONS, |i| kind.redeem(app, &secret, round, i)).await;
        tally.rounds += 1;
        tally.requests += answers.len();
        let wins = answers.iter().filter(|r| kind.succeeded(r)).count();
        if wins != 1 {
            tally
                .violations
                .push(format!("round {round}: {wins} successes"));
        }
        for r in answers.iter().filter(|r| r.status >= 500) {
            tally.violations.push(format!("round {round}: {r}"));
        }
    }
    tally.report(&format!("{REDEMPTIONS} x {}", K::NAME), started);
}

async fn single_use_races(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink).await;
    race(&ResetLink, &app, &sink).await;
    race(&ConfirmLink, &app, &sink).await;
    // The second factor of the seeded admin, who stays signed in for the races below.
    let admin = app.login(ADMIN).await;
    setup_authenticator(&app, &admin).await;
    race(&TotpCode(admin.clone()), &app, &sink).await;
    race(&RecoveryCode(admin.clone()), &app, &sink).await;
    race(&ChangeEmailLink(admin), &app, &sink).await;
    // WebAuthn adds its own here: race(&WebAuthnChallenge, …).
}

/// The path of the link starting with `prefix` in the `n`-th mail to `to` with `subject`,
/// waiting (bounded) for it.
async fn mailed_link(sink: &SmtpSink, to: &str, subject: &str, n: usize, prefix: &str) -> String {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    let mail = loop {
        let mut mails: Vec<_> = sink
            .to(to)
            .into_iter()
            .filter(|m| m.header("Subject").as_deref() == Some(subject))
            .collect();
        if mails.len() >= n {
            break mails.swap_remove(n - 1);
        }
        assert!(Instant::now() < deadline, "no mail {n} {subject:?} to {to}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    let want = format!("http://{MAIL_HOST}{prefix}");
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.starts_with(&want))
        .unwrap_or_else(|| panic!("no {want} link in:\n{}", mail.decoded()));
    link.strip_prefix(&format!("http://{MAIL_HOST}"))
        .unwrap()
        .to_owned()
}

/// A password reset link of the seeded user, used with a new password each round.
struct ResetLink;

impl SingleUse for ResetLink {
    const NAME: &'static str = "reset link";
    type Secret = String;

    async fn issue(&self, app: &App, sink: &SmtpSink, round: usize) -> String {
        let r = app
            .post("/reset")
            .accept_json()
            .json(json!({"email": USER.0}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{r}");
        mailed_link(
            sink,
            USER.0,
            "Password reset instructions",
            round + 1,
            "/reset/",
        )
        .await
    }

    async fn redeem(&self, app: &App, link: &String, round: usize, i: usize) -> Resp {
        let pw = format!("Reset-{round}-{i}-correct-horse");
        app.post(link)
            .accept_json()
            .json(json!({"password": pw, "password_confirm": pw}))
            .send()
            .await
    }

    fn succeeded(&self, resp: &Resp) -> bool {
        is_envelope(resp, 200)
    }
}

/// The confirmation link of an address registered for the round.
struct ConfirmLink;

impl SingleUse for ConfirmLink {
    const NAME: &'static str = "confirmation link";
    type Secret = String;

    async fn issue(&self, app: &App, sink: &SmtpSink, round: usize) -> String {
        let email = format!("confirm{round}@races.example.com");
        let r = app
            .post("/register")
            .accept_json()
            .json(json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{r}");
        mailed_link(sink, &email, "Welcome", 1, "/confirm/").await
    }

    async fn redeem(&self, app: &App, link: &String, _: usize, _: usize) -> Resp {
        app.get(link).browser().send().await
    }

    fn succeeded(&self, resp: &Resp) -> bool {
        // The message is flashed in the session; a success goes to the post-confirm view,
        // a refused link back to /confirm.
        resp.status == 302
            && !resp
                .header("location")
                .unwrap_or("/confirm")
                .starts_with("/confirm")
    }
}

/// `POST path` as a JSON client of session `s`.
async fn post_as(app: &App, s: &Session, path: &str, body: serde_json::Value) -> Resp {
    app.post(path)
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .json(body)
        .send()
        .await
}

/// The TOTP code of base32 `key` at step `counter`.
fn totp_code(key: &str, counter: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(key).expect("base32 key");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build_noncompliant()
        .generate(counter * 30)
        .to_string()
}

fn now_counter() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now / 30
}

/// A new authenticator secret for signed-in `s` (`/tf-setup`, then `/tf-setup/<token>` with
/// the current step's code, which spends that step); returns the base32 key and that step.
async fn setup_authenticator(app: &App, s: &Session) -> (String, u64) {
    let r = post_as(app, s, "/tf-setup", json!({"setup": "authenticator"})).await;
    assert!(is_envelope(&r, 200), "{r}");
    let resp = &r.json["response"];
    let key = resp["tf_authr_b32key"].as_str().unwrap().to_owned();
    let token = resp["tf_state_token"].as_str().unwrap().to_owned();
    let counter = now_counter();
    let path = format!("/tf-setup/{token}");
    let r = post_as(app, s, &path, json!({"code": totp_code(&key, counter)})).await;
    assert!(is_envelope(&r, 200), "{r}");
    (key, counter)
}

/// [`REDEMPTIONS`] sessions of the admin, each signed in with the password and waiting for
/// the second factor.
async fn half_signed_in(app: &App) -> Vec<Session> {
    let body = json!({"email": ADMIN.0, "password": ADMIN.1});
    let jar = Jar::default();
    let answers = at_once(REDEMPTIONS, |_| app.login_resp("", body.clone(), &jar)).await;
    answers
        .iter()
        .map(|r| {
            assert!(
                is_envelope(r, 200) && r.json["response"]["tf_required"] == json!(true),
                "{r}"
            );
            session_of(r, Jar::default())
        })
        .collect()
}

/// One TOTP code (one step of a new authenticator secret each round), sent by
/// [`REDEMPTIONS`] half-signed-in sessions of the signed-in admin's account.
struct TotpCode(Session);

impl SingleUse for TotpCode {
    const NAME: &'static str = "TOTP code (one step)";
    type Secret = (Vec<Session>, String);

    async fn issue(&self, app: &App, _: &SmtpSink, _: usize) -> Self::Secret {
        let (key, spent) = setup_authenticator(app, &self.0).await;
        // The step after the one the set-up spent: within the window, never used before.
        (half_signed_in(app).await, totp_code(&key, spent + 1))
    }

    async fn redeem(&self, app: &App, secret: &Self::Secret, _: usize, i: usize) -> Resp {
        let (sessions, code) = secret;
        post_as(app, &sessions[i], "/tf-validate", json!({"code": code})).await
    }

    fn succeeded(&self, resp: &Resp) -> bool {
        is_envelope(resp, 200)
    }
}

/// One recovery code of a new set each round, sent by [`REDEMPTIONS`] half-signed-in
/// sessions of the signed-in admin's account.
struct RecoveryCode(Session);

impl SingleUse for RecoveryCode {
    const NAME: &'static str = "recovery code";
    type Secret = (Vec<Session>, String);

    async fn issue(&self, app: &App, _: &SmtpSink, _: usize) -> Self::Secret {
        let r = post_as(app, &self.0, "/mf-recovery-codes", json!({})).await;
        assert!(is_envelope(&r, 200), "{r}");
        let code = r.json["response"]["recovery_codes"][0]
            .as_str()
            .unwrap_or_else(|| panic!("no recovery code: {r}"))
            .to_owned();
        (half_signed_in(app).await, code)
    }

    async fn redeem(&self, app: &App, secret: &Self::Secret, _: usize, i: usize) -> Resp {
        let (sessions, code) = secret;
        post_as(app, &sessions[i], "/mf-recovery", json!({"code": code})).await
    }

    fn succeeded(&self, resp: &Resp) -> bool {
        is_envelope(resp, 200)
    }
}

/// The link that moves the signed-in admin to a new address each round.
struct ChangeEmailLink(Session);

impl SingleUse for ChangeEmailLink {
    const NAME: &'static str = "change-email link";
    type Secret = String;

    async fn issue(&self, app: &App, sink: &SmtpSink, round: usize) -> String {
        let email = format!("moved{round}@races.example.com");
        let r = post_as(app, &self.0, "/change-email", json!({"email": email})).await;
        assert!(is_envelope(&r, 200), "{r}");
        mailed_link(
            sink,
            &email,
            "Confirm your new email address",
            1,
            "/change-email/",
        )
        .await
    }

    async fn redeem(&self, app: &App, link: &String, _: usize, _: usize) -> Resp {
        app.get(link).browser().send().await
    }

    fn succeeded(&self, resp: &Resp) -> bool {
        // A success goes to the post-change view, a refused link back to /change-email.
        resp.status == 302
            && !resp
                .header("location")
                .unwrap_or("/change-email")
                .starts_with("/change-email")
    }
}
