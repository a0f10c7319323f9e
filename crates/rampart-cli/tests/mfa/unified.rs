//! Unified sign-in (`/us-*`) through the demo server: email codes and the magic link over a
//! real SMTP exchange, the password, an authenticator app, SMS codes through the demo's SMS
//! outbox, generic responses, and `/us-verify` re-authentication.

use serde_json::{Value, json};

use super::*;

const MSG_INVALID_PASSCODE: &str = "Password or code submitted is not valid";
const MSG_GENERIC: &str = "Authentication failed - identity or password/passcode invalid";

/// Sets up `method` for the signed-in session through `/us-setup` and `/us-setup/<state>`,
/// with `code_of` giving the code to prove it from the setup answer.
async fn us_setup(
    app: &App,
    s: &Session,
    body: Value,
    code_of: impl AsyncFnOnce(&Resp) -> String,
) -> Resp {
    let r = post(app, "/us-setup", &Cred::Session(s.clone()), body).await;
    assert!(is_envelope(&r, 200), "{r}");
    let state = r.json["response"]["state"].as_str().unwrap().to_owned();
    let passcode = code_of(&r).await;
    let done = post(
        app,
        &format!("/us-setup/{state}"),
        &Cred::Session(s.clone()),
        json!({"passcode": passcode}),
    )
    .await;
    assert!(is_envelope(&done, 200), "{done}");
    r
}

async fn us_signin(app: &App, identity: &str, passcode: &str) -> Resp {
    post(
        app,
        "/us-signin",
        &Cred::Anon,
        json!({"identity": identity, "passcode": passcode}),
    )
    .await
}

fn signed_in(r: &Resp) -> Session {
    assert!(is_envelope(r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_required"], false, "{r}");
    session_of(r, Jar::default())
}

#[tokio::test(flavor = "multi_thread")]
async fn email_code_and_magic_link() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start_smtp(Db::sqlite(), &sink, &[]).await;
    let r = app.get("/us-signin").accept_json().send().await;
    assert_eq!(
        r.json["response"]["available_methods"],
        json!(["password", "email"]),
        "{r}"
    );
    assert_eq!(r.json["response"]["code_methods"], json!(["email"]), "{r}");
    assert_eq!(
        r.json["response"]["identity_attributes"],
        json!(["email"]),
        "{r}"
    );

    let s = app.login(USER).await;
    let r = app
        .get("/us-setup")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["active_methods"],
        json!(["password"]),
        "{r}"
    );
    us_setup(
        &app,
        &s,
        json!({"chosen_method": "email"}),
        async |_: &Resp| code_in(&sink.last(USER.0, "Verification Code").await),
    )
    .await;
    let r = app
        .get("/us-setup")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["active_methods"],
        json!(["password", "email"]),
        "{r}"
    );
    logout(&app, &s).await;

    // A code by email.
    let n = sink.to(USER.0).len();
    let r = post(
        &app,
        "/us-signin/send-code",
        &Cred::Anon,
        json!({"identity": USER.0, "chosen_method": "email"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let mail = sink.wait_for(USER.0, n + 1).await.pop().unwrap();
    let code = code_in(&mail);
    let signed = signed_in(&us_signin(&app, USER.0, &code).await);
    assert_eq!(app.me(&Cred::Session(signed.clone())).await.status, 200);
    logout(&app, &signed).await;
    let r = us_signin(&app, USER.0, &code).await;
    assert_eq!(
        field_errors(&r, "passcode"),
        vec![MSG_INVALID_PASSCODE],
        "replayed:\n{r}"
    );

    // The magic link, opened by a browser; it works once.
    let n = sink.to(USER.0).len();
    post(
        &app,
        "/us-signin/send-code",
        &Cred::Anon,
        json!({"identity": USER.0, "chosen_method": "email"}),
    )
    .await;
    let mail = sink.wait_for(USER.0, n + 1).await.pop().unwrap();
    let link = mail
        .links()
        .into_iter()
        .find(|l| l.contains("/us-verify-link?"))
        .unwrap_or_else(|| panic!("no magic link in:\n{}", mail.decoded()));
    assert!(
        link.starts_with(&format!("http://{MAIL_HOST}/us-verify-link?id=")),
        "{link}"
    );
    let path = link.split(MAIL_HOST).nth(1).unwrap().replace("&amp;", "&");
    let r = app.get(&path).browser().send().await;
    assert_eq!(r.status, 302, "{r}");
    let mut jar = Jar::default();
    jar.absorb(&r);
    assert_eq!(
        app.me(&Cred::Cookies(jar)).await.status,
        200,
        "magic link did not sign in"
    );
    // The second use signs nobody in: back to the sign-in page (the message is flashed in
    // the session, not carried in the query).
    let r = app.get(&path).browser().send().await;
    assert_eq!(r.status, 302, "{r}");
    assert_eq!(r.header("location"), Some("/us-signin"), "{r}");
    let mut jar = Jar::default();
    jar.absorb(&r);
    assert_eq!(
        app.me(&Cred::Cookies(jar)).await.status,
        401,
        "a used magic link signed in"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn password_and_generic_responses() {
    let app = App::start_with(Db::sqlite(), &[("PROFILE", "strict")]).await;
    let signed = signed_in(&us_signin(&app, USER.0, USER.1).await);
    assert_eq!(app.me(&Cred::Session(signed)).await.status, 200);

    let wrong = us_signin(&app, USER.0, "not-the-password").await;
    let unknown = us_signin(&app, "nobody@example.com", USER.1).await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, 400, "{r}");
        assert_eq!(field_errors(r, ""), vec![MSG_GENERIC], "{r}");
    }
    assert_eq!(wrong.json, unknown.json);

    // send-code: the same body whether the identity exists (without the method) or not.
    let strip = |r: &Resp| {
        let mut v = r.json.clone();
        v["response"].as_object_mut().unwrap().remove("csrf_token");
        (r.status, v)
    };
    let known = post(
        &app,
        "/us-signin/send-code",
        &Cred::Anon,
        json!({"identity": USER.0, "chosen_method": "email"}),
    )
    .await;
    let nobody = post(
        &app,
        "/us-signin/send-code",
        &Cred::Anon,
        json!({"identity": "nobody@example.com", "chosen_method": "email"}),
    )
    .await;
    assert_eq!(known.status, 200, "{known}");
    assert_eq!(strip(&known), strip(&nobody), "{known}\n{nobody}");
}

/// The newest SMS in `dir` and its code.
fn last_sms_code(dir: &std::path::Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let text = std::fs::read_to_string(files.last().expect("an SMS")).unwrap();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in SMS:\n{text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn authenticator_sms_and_verify() {
    let dir = std::env::temp_dir().join(format!("rampart-sms-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_string_lossy().into_owned();
    let app = App::start_with(
        Db::sqlite(),
        &[
            (
                "SECURITY_US_ENABLED_METHODS",
                "password,email,authenticator,sms",
            ),
            ("SMS_OUTBOX", dir_s.as_str()),
        ],
    )
    .await;
    let s = app.login(USER).await;
    let mut key = String::new();
    let used = now_counter();
    us_setup(
        &app,
        &s,
        json!({"chosen_method": "authenticator"}),
        async |r: &Resp| {
            key = r.json["response"]["authr_b32key"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                r.json["response"]["authr_uri"]
                    .as_str()
                    .unwrap()
                    .starts_with("otpauth://"),
                "{r}"
            );
            code(&key, used)
        },
    )
    .await;
    us_setup(
        &app,
        &s,
        json!({"chosen_method": "sms", "phone": "+1 555 555 0100"}),
        async |_: &Resp| last_sms_code(&dir),
    )
    .await;
    let r = app
        .get("/us-setup")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(r.json["response"]["phone"], "+15555550100", "{r}");
    logout(&app, &s).await;

    // The authenticator: the setup step is spent, the next one signs in.
    let r = us_signin(&app, USER.0, &code(&key, used)).await;
    assert_eq!(
        field_errors(&r, "passcode"),
        vec![MSG_INVALID_PASSCODE],
        "{r}"
    );
    let s = signed_in(&us_signin(&app, USER.0, &code(&key, used + 1)).await);
    logout(&app, &s).await;

    // An SMS code.
    let r = post(
        &app,
        "/us-signin/send-code",
        &Cred::Anon,
        json!({"identity": USER.0, "chosen_method": "sms"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let s = signed_in(&us_signin(&app, USER.0, &last_sms_code(&dir)).await);

    // Freshness: a stale browser is sent to /us-verify, which re-authenticates.
    let r = post(
        &app,
        "/api/test/stale",
        &Cred::Session(s.clone()),
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    let r = app
        .post("/api/fresh")
        .browser()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    let location = r.header("location").unwrap_or_default().to_owned();
    assert!(location.starts_with("/us-verify?next="), "{r}");
    let r = app
        .get(&location)
        .browser()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert!(
        r.status == 200 && r.text.contains("name=\"passcode\""),
        "{r}"
    );
    let r = post(
        &app,
        "/us-verify",
        &Cred::Session(s.clone()),
        json!({"passcode": "wrong"}),
    )
    .await;
    assert_eq!(
        field_errors(&r, "passcode"),
        vec![MSG_INVALID_PASSCODE],
        "{r}"
    );
    let r = post(
        &app,
        "/us-verify/send-code",
        &Cred::Session(s.clone()),
        json!({"chosen_method": "sms"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let r = post(
        &app,
        "/us-verify",
        &Cred::Session(s.clone()),
        json!({"passcode": last_sms_code(&dir)}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let r = post(&app, "/api/fresh", &Cred::Session(s.clone()), json!({})).await;
    assert_eq!(r.status, 200, "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_sign_in_still_needs_the_second_factor() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    let (key, used) = setup_authenticator(&app, &Cred::Session(s.clone())).await;
    logout(&app, &s).await;
    let r = us_signin(&app, USER.0, USER.1).await;
    assert!(is_envelope(&r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_required"], true, "{r}");
    assert!(r.json["response"].get("user").is_none(), "{r}");
    let half = session_of(&r, Jar::default());
    let (r, signed) = validate(&app, &half, &code(&key, used + 1)).await;
    assert!(signed.is_some(), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_by_sms() {
    let dir = std::env::temp_dir().join(format!("rampart-tf-sms-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_string_lossy().into_owned();
    let app = App::start_with(Db::sqlite(), &[("SMS_OUTBOX", dir_s.as_str())]).await;
    let s = app.login(USER).await;
    let r = post(
        &app,
        "/tf-setup",
        &Cred::Session(s.clone()),
        json!({"setup": "sms", "phone": "555"}),
    )
    .await;
    assert_eq!(
        field_errors(&r, "phone"),
        vec!["Phone number not valid e.g. missing country code"],
        "{r}"
    );
    let r = post(
        &app,
        "/tf-setup",
        &Cred::Session(s.clone()),
        json!({"setup": "sms", "phone": "+44 20 7946 0000"}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    let token = r.json["response"]["tf_state_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        &app,
        &format!("/tf-setup/{token}"),
        &Cred::Session(s.clone()),
        json!({"code": last_sms_code(&dir)}),
    )
    .await;
    assert!(is_envelope(&r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_phone"], "+442079460000", "{r}");
    logout(&app, &s).await;
    let (half, _) = login_needing_code(&app, USER, "sms").await;
    let (r, signed) = validate(&app, &half, &last_sms_code(&dir)).await;
    assert!(signed.is_some(), "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `SECURITY_US_SIGNIN_REPLACES_LOGIN`: a browser that must sign in is sent to `/us-signin`
/// (with its `next`) instead of `/login`; without it, to `/login`.
#[tokio::test(flavor = "multi_thread")]
async fn us_signin_can_replace_login_for_browsers() {
    for (replaces, page) in [("true", "/us-signin"), ("false", "/login")] {
        let app = App::start_with(
            Db::sqlite(),
            &[("SECURITY_US_SIGNIN_REPLACES_LOGIN", replaces)],
        )
        .await;
        let r = app.get("/api/me").browser().send().await;
        assert_eq!(r.status, 302, "{r}");
        let origin = format!("http://127.0.0.1:{}", app.server.port);
        let location = r.header("location").unwrap_or_default();
        let location = location.strip_prefix(&origin).unwrap_or(location);
        let next = location
            .strip_prefix(&format!("{page}?next="))
            .unwrap_or_default();
        assert!(
            next == "/api/me" || next == "%2Fapi%2Fme",
            "{replaces}: {r}"
        );
        app.server.stop().await;
    }
}
