//! WebAuthn as the second factor, against the demo server: the password step of a user whose
//! two-factor method is a `secondary` passkey answers `tf_required` with `tf_method:
//! "webauthn"`, and `/wan-signin` with the pending state finishes the login — only with the
//! pending user's own passkey, from the session or (cookie-less) `tf_signin_state`. A
//! first-factor passkey without user verification still asks for the second factor. Failed
//! assertions are throttled and use up the pending challenge like wrong codes.

use super::*;

/// The password step of a user whose second factor is a passkey: the half-signed-in session.
async fn password_step(app: &App, who: (&str, &str)) -> Session {
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
    assert_eq!(resp["tf_method"], "webauthn", "{r}");
    assert_eq!(resp["tf_signin_url"], "/wan-signin", "{r}");
    assert!(resp.get("user").is_none(), "{r}");
    let half = session_of(&r, Jar::default());
    let me = app.me(&Cred::Session(half.clone())).await;
    assert_eq!(me.status, 401, "not signed in after the password:\n{me}");
    half
}

/// `POST /wan-signin` with `cred` and `body`; asserts `is_secondary`; returns (options, state).
async fn start(app: &App, cred: &Cred, body: Value, secondary: bool) -> (Value, String) {
    let r = app
        .post("/wan-signin")
        .accept_json()
        .json(body)
        .cred(cred)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["response"]["is_secondary"], secondary, "{r}");
    let options = r.json["response"]["credential_options"].clone();
    let state = r.json["response"]["wan_state"].as_str().unwrap().to_owned();
    (options, state)
}

async fn finish(app: &App, cred: &Cred, state: &str, body: Value) -> Resp {
    app.post(&format!("/wan-signin/{state}?include_auth_token"))
        .accept_json()
        .json(body)
        .cred(cred)
        .send()
        .await
}

fn credential(c: &Value) -> Value {
    json!({"credential": c.to_string()})
}

/// Registers a passkey of `usage` for `who` (signed in for it); returns the authenticator.
async fn key_of(app: &App, who: (&str, &str), name: &str, usage: &str) -> Authenticator {
    let s = app.login(who).await;
    let mut auth = Authenticator::new(RP_ID, ORIGIN);
    let r = register(app, &s, &mut auth, name, usage).await;
    assert_eq!(r.status, 200, "{r}");
    auth
}

#[tokio::test(flavor = "multi_thread")]
async fn passkey_finishes_the_password_login() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let mut key = key_of(&app, USER, "second", "secondary").await;
    let mut admins = key_of(&app, ADMIN, "admins", "secondary").await;

    let half = password_step(&app, USER).await;
    let cred = Cred::Session(half.clone());
    let r = app
        .get("/wan-signin")
        .accept_json()
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.json["response"]["is_secondary"], true, "{r}");
    let (options, state) = start(&app, &cred, json!({}), true).await;
    let allowed = options["allowCredentials"].as_array().unwrap();
    assert_eq!(
        allowed.len(),
        1,
        "the pending user's passkey only:\n{options}"
    );
    assert_eq!(allowed[0]["id"], b64(&key.cred_id), "{options}");
    // Another user's passkey does not finish USER's login.
    let r = finish(&app, &cred, &state, credential(&admins.get(&options))).await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(r.errors(), ["Credential user handle didn't match"], "{r}");
    assert_eq!(app.me(&cred).await.status, 401);

    let (options, state) = start(&app, &cred, json!({}), true).await;
    let r = finish(&app, &cred, &state, credential(&key.get(&options))).await;
    assert!(is_envelope(&r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_required"], false, "{r}");
    assert_eq!(r.json["response"]["post_login_url"], "/", "{r}");
    assert!(
        nonempty_str(&r.json["response"]["user"]["authentication_token"]),
        "{r}"
    );
    let signed_in = Cred::Session(session_of(&r, half.jar.clone()));
    let me = app.me(&signed_in).await;
    assert_eq!(me.status, 200, "{me}");
    assert_eq!(me.json["email"], USER.0, "{me}");
    // The old (pre-login) session id is gone, and the challenge with it.
    assert_eq!(app.me(&cred).await.status, 401);
    let r = app
        .get("/wan-signin")
        .accept_json()
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.json["response"]["is_secondary"], false, "{r}");

    // A secondary passkey is no first factor.
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &key.get(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        r.errors(),
        ["Passkey not registered for this use (first or secondary)"]
    );
    app.server.stop().await;
}

/// Refused passkeys count against the pending challenge like wrong codes: after
/// `SECURITY_TWO_FACTOR_CODE_TRIES` (5) the login must start again from the password.
#[tokio::test(flavor = "multi_thread")]
async fn refused_passkeys_use_up_the_challenge() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let mut key = key_of(&app, USER, "second", "secondary").await;
    let half = password_step(&app, USER).await;
    let cred = Cred::Session(half.clone());
    key.origin = "http://evil.example".to_owned();
    for i in 0..5 {
        let (options, state) = start(&app, &cred, json!({}), true).await;
        let r = finish(&app, &cred, &state, credential(&key.get(&options))).await;
        assert_eq!(r.status, 400, "try {i}: {r}");
        assert!(r.errors()[0].starts_with("Could not verify passkey"), "{r}");
    }
    key.origin = ORIGIN.to_owned();
    let r = app
        .get("/wan-signin")
        .accept_json()
        .cred(&cred)
        .send()
        .await;
    assert_eq!(
        r.json["response"]["is_secondary"], false,
        "the challenge is dead:\n{r}"
    );
    let half = password_step(&app, USER).await;
    let cred = Cred::Session(half.clone());
    let (options, state) = start(&app, &cred, json!({}), true).await;
    let r = finish(&app, &cred, &state, credential(&key.get(&options))).await;
    assert!(
        is_envelope(&r, 200),
        "a new password step starts a new challenge:\n{r}"
    );
    app.server.stop().await;
}

/// A client without cookies carries the pending state as `tf_signin_state`.
#[tokio::test(flavor = "multi_thread")]
async fn cookie_less_client_uses_the_state_token() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let mut key = key_of(&app, USER, "second", "secondary").await;
    let r = app
        .post("/login?include_auth_token")
        .accept_json()
        .json(json!({"email": USER.0, "password": USER.1}))
        .send()
        .await;
    assert_eq!(r.json["response"]["tf_method"], "webauthn", "{r}");
    let tf = r.json["response"]["tf_signin_state"]
        .as_str()
        .unwrap()
        .to_owned();

    // Without the state, or with a forged one, the secondary ceremony does not finish.
    let with_state = json!({"tf_signin_state": tf});
    for bad in [json!({}), json!({"tf_signin_state": tamper(&tf)})] {
        let (options, state) = start(&app, &Cred::Anon, with_state.clone(), true).await;
        let mut body = credential(&key.get(&options));
        body.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let r = finish(&app, &Cred::Anon, &state, body).await;
        assert_eq!(r.status, 400, "{r}");
        assert_eq!(r.errors(), ["Input not appropriate for requested API"]);
    }
    let (options, state) = start(&app, &Cred::Anon, with_state.clone(), true).await;
    let mut body = credential(&key.get(&options));
    body["tf_signin_state"] = json!(tf);
    let r = finish(&app, &Cred::Anon, &state, body).await;
    assert!(is_envelope(&r, 200), "{r}");
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token:\n{r}"))
        .to_owned();
    assert_eq!(app.me(&Cred::Header(token)).await.status, 200);
    // The state is spent: in the header it no longer makes a ceremony secondary.
    let r = app
        .post("/wan-signin")
        .accept_json()
        .header("X-TF-Signin-State", &tf)
        .json(json!({}))
        .send()
        .await;
    assert_eq!(r.json["response"]["is_secondary"], false, "{r}");
    app.server.stop().await;
}

/// A first-factor passkey sign-in without user verification is one factor: the user's
/// passkey second factor follows. With user verification it is multi-factor.
#[tokio::test(flavor = "multi_thread")]
async fn first_factor_without_user_verification_asks_for_the_second() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let mut first = key_of(&app, USER, "first", "first").await;
    let mut second = key_of(&app, USER, "second", "secondary").await;

    first.uv = false;
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &first.get(&options)).await;
    assert!(is_envelope(&r, 200), "{r}");
    assert_eq!(r.json["response"]["tf_required"], true, "{r}");
    assert_eq!(r.json["response"]["tf_method"], "webauthn", "{r}");
    assert!(r.json["response"].get("user").is_none(), "{r}");
    let half = session_of(&r, Jar::default());
    let cred = Cred::Session(half.clone());
    assert_eq!(app.me(&cred).await.status, 401, "one factor only");
    let (options, state) = start(&app, &cred, json!({}), true).await;
    let r = finish(&app, &cred, &state, credential(&second.get(&options))).await;
    assert!(is_envelope(&r, 200), "{r}");
    let signed_in = Cred::Session(session_of(&r, half.jar.clone()));
    assert_eq!(app.me(&signed_in).await.status, 200);

    first.uv = true;
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &first.get(&options)).await;
    assert_eq!(r.json["response"]["tf_required"], false, "{r}");
    assert_eq!(
        app.me(&Cred::Session(session_of(&r, Jar::default())))
            .await
            .status,
        200
    );
    app.server.stop().await;
}

/// `SECURITY_WAN_ALLOW_AS_FIRST_FACTOR = false`: `/wan-signin` only serves second factors
/// and registration makes `secondary` passkeys.
#[tokio::test(flavor = "multi_thread")]
async fn first_factor_off_leaves_the_second() {
    let app = App::start_with(
        Db::sqlite(),
        &env(&[("SECURITY_WAN_ALLOW_AS_FIRST_FACTOR", "false")]),
    )
    .await;
    let r = app.get("/wan-signin").accept_json().send().await;
    assert_eq!(r.status, 404, "{r}");
    let mut key = key_of(&app, USER, "k", "first").await;
    let half = password_step(&app, USER).await;
    let cred = Cred::Session(half.clone());
    let (options, state) = start(&app, &cred, json!({}), true).await;
    let r = finish(&app, &cred, &state, credential(&key.get(&options))).await;
    assert!(is_envelope(&r, 200), "{r}");
    app.server.stop().await;
}

fn retry_after(r: &Resp) -> u64 {
    r.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After:\n{r}"))
}

/// Failed assertions count against the account: after the account's burst, even a right
/// assertion is answered 429, on `/wan-signin` and on `/wan-verify`.
#[tokio::test(flavor = "multi_thread")]
async fn failed_assertions_are_throttled() {
    let app = App::start_with(
        Db::sqlite(),
        &env(&[("SECURITY_THROTTLE_ACCOUNT_LIMIT", "3")]),
    )
    .await;
    let mut key = key_of(&app, USER, "k", "first").await;
    // Successes give their attempt back: many sign-ins in a row are fine.
    for _ in 0..4 {
        let (options, state) = signin_start(&app, json!({})).await;
        assert_eq!(
            signin_finish(&app, &state, &key.get(&options)).await.status,
            200
        );
    }
    key.origin = "http://evil.example".to_owned();
    for i in 0..3 {
        let (options, state) = signin_start(&app, json!({})).await;
        let r = signin_finish(&app, &state, &key.get(&options)).await;
        assert_eq!(r.status, 400, "try {i}: {r}");
    }
    key.origin = ORIGIN.to_owned();
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &key.get(&options)).await;
    assert!(is_envelope(&r, 429), "{r}");
    assert!(retry_after(&r) >= 1, "{r}");
    assert!(r.json["response"].get("user").is_none(), "{r}");

    // /wan-verify, for another account.
    let s = app.login(ADMIN).await;
    let mut admins = Authenticator::new(RP_ID, ORIGIN);
    assert_eq!(
        register(&app, &s, &mut admins, "a", "first").await.status,
        200
    );
    let cred = Cred::Session(s);
    let verify = |state: String, c: Value| {
        app.post(&format!("/wan-verify/{state}"))
            .accept_json()
            .json(credential(&c))
            .cred(&cred)
            .send()
    };
    admins.origin = "http://evil.example".to_owned();
    for i in 0..3 {
        let (options, state) = verify_start(&app, &cred).await;
        let r = verify(state, admins.get(&options)).await;
        assert_eq!(r.status, 400, "try {i}: {r}");
    }
    admins.origin = ORIGIN.to_owned();
    let (options, state) = verify_start(&app, &cred).await;
    let r = verify(state, admins.get(&options)).await;
    assert!(is_envelope(&r, 429), "{r}");
    app.server.stop().await;
}

/// A browser: the password form redirects to the passkey page, whose ceremony (the forms the
/// script submits) signs in and goes to the `next` given at the password step.
#[tokio::test(flavor = "multi_thread")]
async fn browser_goes_through_the_passkey_page() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let mut key = key_of(&app, USER, "second", "secondary").await;
    let r = app
        .post("/login")
        .browser()
        .form(&[("email", USER.0), ("password", USER.1), ("next", "/api/me")])
        .send()
        .await;
    assert_eq!(r.status, 302, "{r}");
    assert_eq!(
        r.header("location"),
        Some("/wan-signin?next=/api/me"),
        "{r}"
    );
    let mut jar = Jar::default();
    jar.absorb(&r);
    let cookies = Cred::Cookies(jar.clone());
    assert_eq!(app.me(&cookies).await.status, 401);
    let page = app.get("/wan-signin").browser().cred(&cookies).send().await;
    assert_eq!(page.status, 200, "{page}");
    let page = app
        .post("/wan-signin")
        .browser()
        .cred(&cookies)
        .form(&[])
        .send()
        .await;
    assert_eq!(page.status, 200, "{page}");
    let options: Value = serde_json::from_str(&unescape(attr(&page.text, "data-options"))).unwrap();
    assert_eq!(
        options["allowCredentials"][0]["id"],
        b64(&key.cred_id),
        "{page}"
    );
    let action = unescape(attr(&page.text, "action=\"/wan-signin/"));
    let credential = key.get(&options).to_string();
    let done = app
        .post(&format!("/wan-signin/{action}"))
        .browser()
        .cred(&cookies)
        .form(&[("credential", &credential)])
        .send()
        .await;
    assert_eq!(done.status, 302, "{done}");
    assert_eq!(done.header("location"), Some("/api/me"), "{done}");
    jar.absorb(&done);
    assert_eq!(app.me(&Cred::Cookies(jar)).await.status, 200);
    app.server.stop().await;
}
