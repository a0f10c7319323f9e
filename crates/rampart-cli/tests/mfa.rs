//! Black-box tests of two-factor authentication, recovery codes and unified sign-in
//! (flask-security-reference.md §9) through the real demo server: TOTP codes are computed
//! here (RFC 6238 via totp-rs), email codes arrive over a real SMTP exchange with a sink.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

use rampart::datastore::UserDatastore as _;
use serde_json::{Value, json};

use harness::*;
use support::Db;
use support::smtp::{Mode, Received, SmtpSink};

#[path = "mfa/unified.rs"]
mod unified;

const MAIL_HOST: &str = "accounts.example.test";
const NEW_PW: &str = "N3w-correct-horse-battery";
const MSG_INVALID_CODE: &str = "Invalid code";
const MSG_DENIED: &str = "You currently do not have permissions to access this page";

/// The TOTP code of base32 `key` at step `counter`.
fn code(key: &str, counter: u64) -> String {
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

/// A six-digit code that no step within ±5 of now produces.
fn wrong_code(key: &str) -> String {
    let c = now_counter();
    let used: Vec<String> = (c - 5..=c + 5).map(|n| code(key, n)).collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|x| !used.contains(x))
        .unwrap()
}

/// The six digits standing alone in an email.
fn code_in(mail: &Received) -> String {
    let text = mail.decoded();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no six-digit code in:\n{text}"))
        .to_owned()
}

async fn start_smtp(db: Db, sink: &SmtpSink, extra: &[(&str, &str)]) -> App {
    let url = sink.url();
    let mut env = vec![("SMTP_URL", url.as_str()), ("SERVER_NAME", MAIL_HOST)];
    env.extend_from_slice(extra);
    App::start_with(db, &env).await
}

fn field_errors<'a>(r: &'a Resp, field: &str) -> Vec<&'a str> {
    r.json["response"]["field_errors"][field]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `POST path` as a JSON client with `cred` and `body`.
async fn post(app: &App, path: &str, cred: &Cred, body: Value) -> Resp {
    app.post(path)
        .accept_json()
        .cred(cred)
        .json(body)
        .send()
        .await
}

/// Sets up the authenticator for the signed-in `cred` through `/tf-setup` and
/// `/tf-setup/<token>`; returns the base32 key and the step whose code was used.
async fn setup_authenticator(app: &App, cred: &Cred) -> (String, u64) {
    let r = post(app, "/tf-setup", cred, json!({"setup": "authenticator"})).await;
    assert!(is_envelope(&r, 200), "{r}");
    let resp = &r.json["response"];
    assert_eq!(resp["tf_state"], "validating_profile", "{r}");
    assert_eq!(resp["tf_method"], "authenticator", "{r}");
    let uri = resp["tf_authr_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{r}");
    assert_eq!(resp["tf_authr_issuer"], "Rampart demo", "{r}");
    let key = resp["tf_authr_b32key"].as_str().unwrap().to_owned();
    assert!(uri.contains(&format!("secret={key}")), "{r}");
    let token = resp["tf_state_token"].as_str().unwrap().to_owned();
    let counter = now_counter();
    let r = post(
        app,
        &format!("/tf-setup/{token}"),
        cred,
        json!({"code": wrong_code(&key)}),
    )
    .await;
    assert_eq!(field_errors(&r, "code"), vec![MSG_INVALID_CODE], "{r}");
    let r = post(
        app,
        &format!("/tf-setup/{token}"),
        cred,
        json!({"code": code(&key, counter)}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_method"], "authenticator", "{r}");
    (key, counter)
}

/// A JSON login that must stop at the second factor; returns the half-signed-in session.
async fn login_needing_code(app: &App, who: (&str, &str), method: &str) -> (Session, Resp) {
    let r = app
        .login_resp(
            "",
            json!({"email": who.0, "password": who.1}),
            &Jar::default(),
        )
        .await;
    assert!(is_envelope(&r, 200), "{r}");
    let resp = &r.json["response"];
    assert_eq!(resp["tf_required"], true, "{r}");
    assert_eq!(resp["tf_state"], "ready", "{r}");
    assert_eq!(resp["tf_method"], method, "{r}");
    assert_eq!(resp["tf_primary_method"], method, "{r}");
    assert!(resp.get("user").is_none(), "{r}");
    let s = session_of(&r, Jar::default());
    assert_eq!(
        app.me(&Cred::Session(s.clone())).await.status,
        401,
        "not signed in yet"
    );
    (s, r)
}

/// `/tf-validate` with `code` on session `s`; on success the signed-in session.
async fn validate(app: &App, s: &Session, code: &str) -> (Resp, Option<Session>) {
    let r = post(
        app,
        "/tf-validate",
        &Cred::Session(s.clone()),
        json!({"code": code}),
    )
    .await;
    let signed_in = (r.status == 200).then(|| session_of(&r, s.jar.clone()));
    (r, signed_in)
}

async fn logout(app: &App, s: &Session) {
    let r = post(app, "/logout", &Cred::Session(s.clone()), json!({})).await;
    assert_eq!(r.status, 200, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn totp_setup_login_and_replay() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Session(s.clone())).await;
    logout(&app, &s).await;

    // The step used at setup is spent: the same code is refused at login.
    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    let (r, none) = validate(&app, &half, &code(&key, used)).await;
    assert!(none.is_none(), "replayed code accepted:\n{r}");
    assert_eq!(field_errors(&r, "code"), vec![MSG_INVALID_CODE], "{r}");
    let (r, signed) = validate(&app, &half, &code(&key, used + 1)).await;
    let signed = signed.unwrap_or_else(|| panic!("{r}"));
    assert_eq!(r.json["response"]["tf_required"], false, "{r}");
    assert_eq!(app.me(&Cred::Session(signed.clone())).await.status, 200);
    logout(&app, &signed).await;

    // A new session cannot replay it either (the mark outlives the session).
    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    let (r, none) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(none.is_none(), "replay across sessions accepted:\n{r}");
    let (r, signed) = validate(&app, &half, &code(&key, used + 2)).await;
    assert!(signed.is_some(), "{r}");

    // The HTML form for browsers.
    let r = app
        .get("/tf-setup")
        .browser()
        .cred(&Cred::Session(signed.unwrap()))
        .send()
        .await;
    assert!(r.status == 200 && r.text.contains("name=\"setup\""), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_codes_end_the_challenge() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Session(s.clone())).await;
    logout(&app, &s).await;
    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    let wrong = wrong_code(&key);
    for i in 0..5 {
        let (r, none) = validate(&app, &half, &wrong).await;
        assert!(none.is_none(), "try {i}: {r}");
        assert_eq!(
            field_errors(&r, "code"),
            vec![MSG_INVALID_CODE],
            "try {i}: {r}"
        );
    }
    let (r, none) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(
        none.is_none(),
        "a dead challenge accepted a right code:\n{r}"
    );
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(field_errors(&r, ""), vec![MSG_DENIED], "{r}");
    // A new password login starts a new challenge.
    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    let (r, signed) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(signed.is_some(), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_less_client_finishes_with_the_state_token() {
    let app = App::start(Db::sqlite()).await;
    let token = app.token(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Header(token)).await;

    let r = app
        .post("/login?include_auth_token")
        .accept_json()
        .json(json!({"email": USER.0, "password": USER.1}))
        .send()
        .await;
    assert!(is_envelope(&r, 200), "{r}");
    let resp = &r.json["response"];
    assert_eq!(resp["tf_required"], true, "{r}");
    assert!(resp.get("user").is_none(), "{r}");
    let state = resp["tf_signin_state"].as_str().unwrap().to_owned();

    // No cookie: a tampered or missing state is refused.
    for bad in [
        json!({"code": code(&key, used + 1)}),
        json!({"code": code(&key, used + 1), "tf_signin_state": tamper(&state)}),
    ] {
        let r = post(&app, "/tf-validate?include_auth_token", &Cred::Anon, bad).await;
        assert_eq!(field_errors(&r, ""), vec![MSG_DENIED], "{r}");
    }
    let r = post(
        &app,
        "/tf-validate?include_auth_token",
        &Cred::Anon,
        json!({"code": code(&key, used + 1), "tf_signin_state": state}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let auth = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token:\n{r}"))
        .to_owned();
    assert_eq!(app.me(&Cred::Header(auth)).await.status, 200);

    // The state is single use, even with a fresh code; the header carries it too.
    let r = app
        .post("/tf-validate")
        .accept_json()
        .header("X-TF-Signin-State", &state)
        .json(json!({"code": code(&key, used + 2)}))
        .send()
        .await;
    assert_eq!(field_errors(&r, ""), vec![MSG_DENIED], "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn email_code_sign_in_over_smtp() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start_smtp(Db::sqlite(), &sink, &[]).await;
    let s = app.login(USER).await;
    let r = post(
        &app,
        "/tf-setup",
        &Cred::Session(s.clone()),
        json!({"setup": "email"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_method"], "email", "{r}");
    let mail = sink.last(USER.0, "Two-Factor Login").await;
    let r = post(
        &app,
        "/tf-validate",
        &Cred::Session(s.clone()),
        json!({"code": code_in(&mail)}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    logout(&app, &s).await;

    let before = sink.to(USER.0).len();
    let (half, _) = login_needing_code(&app, USER, "email").await;
    let mails = sink.wait_for(USER.0, before + 1).await;
    let code = code_in(mails.last().unwrap());
    let (r, signed) = validate(&app, &half, &code).await;
    assert!(signed.is_some(), "{r}");
    // The emailed code works once.
    logout(&app, &signed.unwrap()).await;
    let (half, _) = login_needing_code(&app, USER, "email").await;
    let (r, none) = validate(&app, &half, &code).await;
    assert!(none.is_none(), "emailed code replayed:\n{r}");
    // Rescue: the code again by email.
    let n = sink.to(USER.0).len();
    let r = post(
        &app,
        "/tf-rescue",
        &Cred::Session(half.clone()),
        json!({"help_setup": "email"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let mails = sink.wait_for(USER.0, n + 1).await;
    let (r, signed) = validate(&app, &half, &code_in(mails.last().unwrap())).await;
    assert!(signed.is_some(), "{r}");
    let r = post(
        &app,
        "/tf-rescue",
        &Cred::Anon,
        json!({"help_setup": "nonsense"}),
    )
    .await;
    assert_eq!(r.status, 400, "no state: {r}");
    // Rescue: a help request to SECURITY_TWO_FACTOR_RESCUE_MAIL; an unknown option is 404.
    logout(&app, &signed.unwrap()).await;
    let (half, _) = login_needing_code(&app, USER, "email").await;
    let r = post(
        &app,
        "/tf-rescue",
        &Cred::Session(half.clone()),
        json!({"help_setup": "help"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let help = sink.last("no-reply@localhost", "Two-Factor Rescue").await;
    assert!(help.decoded().contains(USER.0), "{}", help.decoded());
    let r = post(
        &app,
        "/tf-rescue",
        &Cred::Session(half.clone()),
        json!({"help_setup": "nonsense"}),
    )
    .await;
    assert_eq!(r.status, 404, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_codes_work_once() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    setup_authenticator(&app, &Cred::Session(s.clone())).await;
    let r = post(
        &app,
        "/mf-recovery-codes",
        &Cred::Session(s.clone()),
        json!({}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let codes: Vec<String> = r.json["response"]["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 5, "{r}");
    assert!(codes.iter().all(|c| c.len() == 14), "{codes:?}");
    // Shown once: GET does not give them back, the database holds digests.
    let r = app
        .get("/mf-recovery-codes")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(r.json["response"]["recovery_codes"], json!([]), "{r}");
    assert_eq!(r.json["response"]["recovery_codes_count"], 5, "{r}");
    let stored = app
        .db
        .store()
        .await
        .find_user_by_email(USER.0)
        .await
        .unwrap()
        .unwrap();
    for c in &codes {
        assert!(
            !stored
                .mf_recovery_codes
                .iter()
                .any(|s| s.contains(c.as_str())),
            "plain code stored"
        );
    }
    logout(&app, &s).await;

    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    let r = app
        .get("/tf-validate")
        .accept_json()
        .cred(&Cred::Session(half.clone()))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["recovery_options"]["recovery_code"], "/mf-recovery",
        "{r}"
    );
    let r = post(
        &app,
        "/mf-recovery",
        &Cred::Session(half.clone()),
        json!({"code": codes[0]}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let signed = session_of(&r, half.jar.clone());
    assert_eq!(app.me(&Cred::Session(signed.clone())).await.status, 200);
    logout(&app, &signed).await;

    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    let r = post(
        &app,
        "/mf-recovery",
        &Cred::Session(half.clone()),
        json!({"code": codes[0]}),
    )
    .await;
    assert_eq!(
        field_errors(&r, "code"),
        vec!["Recovery code invalid"],
        "{r}"
    );
    let r = post(
        &app,
        "/mf-recovery",
        &Cred::Session(half.clone()),
        json!({"code": codes[1]}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
}

/// Asks for a reset of `email`'s password, follows the mailed link and sets [`NEW_PW`]; the
/// answer of that last step (asserted 200).
async fn reset_through_link(app: &App, sink: &SmtpSink, email: &str) -> Resp {
    let r = post(app, "/reset", &Cred::Anon, json!({"email": email})).await;
    assert!(is_envelope(&r, 200), "{r}");
    let mail = sink.last(email, "Password reset instructions").await;
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/reset/"))
        .unwrap();
    let path = link.split(MAIL_HOST).nth(1).unwrap().to_owned();
    let r = post(
        app,
        &path,
        &Cred::Anon,
        json!({"password": NEW_PW, "password_confirm": NEW_PW}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    r
}

async fn reset_then_login(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start_smtp(db, &sink, &[("SECURITY_AUTO_LOGIN_AFTER_RESET", "true")]).await;
    let s = app.login(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Session(s.clone())).await;
    logout(&app, &s).await;
    let r = reset_through_link(&app, &sink, USER.0).await;
    assert_eq!(
        r.json["response"]["tf_required"], true,
        "auto-login skipped the second factor:\n{r}"
    );
    assert!(r.json["response"].get("user").is_none(), "{r}");
    let (half, _) = login_needing_code(&app, (USER.0, NEW_PW), "authenticator").await;
    let (r, signed) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(signed.is_some(), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_still_needs_the_second_factor_sqlite() {
    reset_then_login(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_still_needs_the_second_factor_postgres() {
    reset_then_login(Db::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn required_setup_from_login_and_validity_cookie() {
    let app = App::start_with(
        Db::sqlite(),
        &[
            ("SECURITY_TWO_FACTOR_REQUIRED", "true"),
            ("SECURITY_TWO_FACTOR_ALWAYS_VALIDATE", "false"),
        ],
    )
    .await;
    let r = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": USER.1, "remember": true}),
            &Jar::default(),
        )
        .await;
    assert_eq!(r.json["response"]["tf_state"], "setup_from_login", "{r}");
    let half = session_of(&r, Jar::default());
    let r = app
        .get("/tf-setup")
        .accept_json()
        .cred(&Cred::Session(half.clone()))
        .send()
        .await;
    assert_eq!(r.json["response"]["tf_required"], true, "{r}");
    assert!(
        r.json["response"]["tf_available_methods"]
            .as_array()
            .unwrap()
            .contains(&json!("authenticator")),
        "{r}"
    );
    let r = post(
        &app,
        "/tf-setup",
        &Cred::Session(half.clone()),
        json!({"setup": "authenticator"}),
    )
    .await;
    let key = r.json["response"]["tf_authr_b32key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (r, signed) = validate(&app, &half, &code(&key, now_counter())).await;
    let signed = signed.unwrap_or_else(|| panic!("{r}"));
    let cookie = r
        .cookie("tf_validity")
        .unwrap_or_else(|| panic!("no tf_validity:\n{r}"));
    for attr in ["HttpOnly", "Secure"] {
        assert!(cookie.attr(attr).is_some(), "{}", cookie.raw);
    }
    assert_eq!(cookie.attr("SameSite"), Some("Strict"), "{}", cookie.raw);
    logout(&app, &signed).await;
    // The remembered browser skips the second factor; another one does not.
    let jar = Jar::default().only("none");
    let mut with_cookie = jar.clone();
    with_cookie
        .0
        .insert("tf_validity".into(), cookie.value.clone());
    let r = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": USER.1}),
            &with_cookie,
        )
        .await;
    assert_eq!(r.json["response"]["tf_required"], false, "{r}");
    let r = app
        .login_resp("", json!({"email": USER.0, "password": USER.1}), &jar)
        .await;
    assert_eq!(r.json["response"]["tf_required"], true, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_login_goes_through_the_code_page() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Session(s.clone())).await;
    logout(&app, &s).await;
    let r = app
        .post("/login")
        .browser()
        .form(&[("email", USER.0), ("password", USER.1), ("next", "/api/me")])
        .send()
        .await;
    assert_eq!(r.status, 302, "{r}");
    assert_eq!(
        r.header("location"),
        Some("/tf-validate?next=/api/me"),
        "{r}"
    );
    let mut jar = Jar::default();
    jar.absorb(&r);
    assert_eq!(app.me(&Cred::Cookies(jar.clone())).await.status, 401);
    let r = app
        .get("/tf-validate")
        .browser()
        .cred(&Cred::Cookies(jar.clone()))
        .send()
        .await;
    assert!(r.status == 200 && r.text.contains("name=\"code\""), "{r}");
    let r = app
        .post("/tf-validate")
        .browser()
        .cred(&Cred::Cookies(jar.clone()))
        .form(&[("code", &code(&key, used + 1))])
        .send()
        .await;
    assert_eq!(r.status, 302, "{r}");
    assert_eq!(r.header("location"), Some("/api/me"), "{r}");
    jar.absorb(&r);
    assert_eq!(app.me(&Cred::Cookies(jar)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_session_requests_need_csrf() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    for (path, body) in [
        ("/tf-setup", json!({"setup": "authenticator"})),
        ("/tf-setup/abc", json!({"code": "123456"})),
        ("/tf-validate", json!({"code": "123456"})),
        ("/mf-recovery-codes", json!({})),
        ("/us-setup", json!({"chosen_method": "email"})),
        ("/us-verify", json!({"passcode": USER.1})),
        ("/us-verify/send-code", json!({"chosen_method": "email"})),
    ] {
        let r = post(&app, path, &Cred::SessionNoCsrf(s.clone()), body.clone()).await;
        assert_eq!(r.status, 400, "{path} without CSRF:\n{r}");
        assert!(r.text.contains("CSRF"), "{path}:\n{r}");
        let r = post(&app, path, &Cred::Session(s.clone()), body).await;
        assert!(!r.text.contains("CSRF"), "{path} with CSRF:\n{r}");
    }
    // Nothing was set up by the refused requests.
    let r = app
        .get("/tf-setup")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(r.json["response"]["tf_method"], Value::Null, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pending_state_expires_and_is_bound_to_the_user() {
    let app = App::start_with(Db::sqlite(), &[("SECURITY_TWO_FACTOR_STATE_WITHIN", "2")]).await;
    let s = app.login(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Session(s.clone())).await;
    logout(&app, &s).await;
    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let (r, none) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(none.is_none(), "expired state accepted:\n{r}");
    assert_eq!(field_errors(&r, ""), vec![MSG_DENIED], "{r}");

    // Rotating fs_uniquifier (reset-access) ends a pending state at once.
    let (half, _) = login_needing_code(&app, USER, "authenticator").await;
    app.cli(&["users", "reset-access", USER.0], None).ok();
    let (r, none) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(none.is_none(), "state outlived the uniquifier:\n{r}");
    assert_eq!(field_errors(&r, ""), vec![MSG_DENIED], "{r}");
}

const US_SIGNIN_OVERRIDE: &str = r#"{% extends "security/base.html" %}
{% from "security/_macros.html" import render_field_with_errors, render_field, hidden_tag %}
{% block content %}
  <h1 id="custom-us">Passwordless at Example</h1>
  <p id="methods">{{ code_methods|join(",") }}</p>
  <form action="{{ url_for_security('us_signin') }}" method="post" name="us_signin_form">
    {{ hidden_tag(us_signin_form) }}
    {{ render_field_with_errors(us_signin_form.identity) }}
    {{ render_field_with_errors(us_signin_form.passcode) }}
    {{ render_field(us_signin_form.submit) }}
  </form>
{% endblock %}"#;

/// `SECURITY_TEMPLATE_DIR` replaces the multi-factor pages and the CSRF refusal page like the
/// others; the pages it does not replace keep Rampart's templates.
#[tokio::test(flavor = "multi_thread")]
async fn multi_factor_templates_are_overridable() {
    let dir = rampart_tests::TempDir::new("rampart-mfa-templates").unwrap();
    let security = dir.path().join("security");
    std::fs::create_dir_all(&security).unwrap();
    std::fs::write(security.join("us_signin.html"), US_SIGNIN_OVERRIDE).unwrap();
    std::fs::write(
        security.join("csrf_error.html"),
        "{% extends \"security/base.html\" %}{% block content %}\
         <p id=\"custom-csrf\">Refused: {{ reason }}</p>{% endblock %}",
    )
    .unwrap();
    let dir_s = dir.path().display().to_string();
    let app = App::start_with(Db::sqlite(), &[("SECURITY_TEMPLATE_DIR", dir_s.as_str())]).await;
    let r = app.get("/us-signin").browser().send().await;
    assert_eq!(r.status, 200, "{r}");
    assert!(r.text.contains("<h1 id=\"custom-us\">"), "{r}");
    assert!(r.text.contains("<p id=\"methods\">email</p>"), "{r}");
    assert!(r.text.contains("name=\"csrf_token\" value=\""), "{r}");
    assert!(r.text.contains("autocomplete=\"username\""), "{r}");

    // A form post without its token: the replaced refusal page, still a 400.
    let s = app.login(USER).await;
    let r = app
        .post("/tf-setup")
        .browser()
        .cred(&Cred::SessionNoCsrf(s.clone()))
        .form(&[("setup", "authenticator")])
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    assert!(
        r.text
            .contains("<p id=\"custom-csrf\">Refused: The CSRF token is missing.</p>"),
        "{r}"
    );
    // Untouched pages keep the defaults.
    let r = app
        .get("/tf-setup")
        .browser()
        .cred(&Cred::Session(s))
        .send()
        .await;
    assert!(
        r.status == 200 && r.text.contains("name=\"two_factor_setup_form\""),
        "{r}"
    );
    assert!(r.text.contains("value=\"authenticator\""), "{r}");
}

/// A completed password reset lifts the login throttle of the account at once: ten wrong
/// passwords get the account refused (429), the emailed reset link sets a new password, and
/// the very next login with it is let through, even though this instance remembered the
/// refusal moments ago.
#[tokio::test(flavor = "multi_thread")]
async fn a_completed_reset_lifts_the_login_throttle_at_once() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start_smtp(
        Db::sqlite(),
        &sink,
        &[("SECURITY_THROTTLE_REFUSAL_DELAY_MS", "0")],
    )
    .await;
    let wrong = json!({"email": ADMIN.0, "password": "wrong-password-1"});
    for _ in 0..10 {
        let r = post(&app, "/login", &Cred::Anon, wrong.clone()).await;
        assert_eq!(r.status, 400, "{r}");
    }
    let r = post(&app, "/login", &Cred::Anon, wrong.clone()).await;
    assert_eq!(r.status, 429, "{r}");
    reset_through_link(&app, &sink, ADMIN.0).await;
    let r = post(
        &app,
        "/login",
        &Cred::Anon,
        json!({"email": ADMIN.0, "password": NEW_PW}),
    )
    .await;
    assert_eq!(r.status, 200, "the reset did not lift the throttle:\n{r}");
}
