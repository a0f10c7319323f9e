//! Black-box WebAuthn ceremonies against the demo server, with a software authenticator
//! written in the test (P-256 ES256, "none" attestation): registration, passkey sign-in as
//! the first factor, replayed states and challenges, wrong origins, sign counters going
//! backwards, deletion, `/wan-verify` freshness, user hints on and off, refusal of
//! unauthenticated and stale callers, and a credential stored the way Flask-Security stores
//! it. Passkeys as the second factor and the throttling of assertions: `second_factor`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "webauthn/authenticator.rs"]
mod authenticator;
#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
#[path = "webauthn/second_factor.rs"]
mod second_factor;
mod support;

use serde_json::{Value, json};

use authenticator::{Authenticator, b64};
use harness::*;
use support::Db;

const RP_ID: &str = "localhost";
const ORIGIN: &str = "http://localhost:5000";
const WAN: &[(&str, &str)] = &[
    ("SECURITY_WAN_RP_ID", RP_ID),
    ("SECURITY_WAN_ORIGINS", ORIGIN),
];

const MSG_UNKNOWN_CREDENTIAL: &str = "Unregistered passkey.";

fn env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = WAN.to_vec();
    v.extend_from_slice(extra);
    v
}

/// `POST /wan-register` then `/wan-register/<state>`; returns the finishing response.
async fn register(
    app: &App,
    s: &Session,
    auth: &mut Authenticator,
    name: &str,
    usage: &str,
) -> Resp {
    let cred = Cred::Session(s.clone());
    let r = app
        .post("/wan-register")
        .accept_json()
        .json(json!({"name": name, "usage": usage}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let options = &r.json["response"]["credential_options"];
    let state = r.json["response"]["wan_state"].as_str().unwrap().to_owned();
    let credential = auth.create(options);
    app.post(&format!("/wan-register/{state}"))
        .accept_json()
        .json(json!({"credential": credential.to_string()}))
        .cred(&cred)
        .send()
        .await
}

/// `POST /wan-signin` as an anonymous client; returns (options, state).
async fn signin_start(app: &App, body: Value) -> (Value, String) {
    let r = app
        .post("/wan-signin")
        .accept_json()
        .json(body)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["response"]["is_secondary"], false, "{r}");
    let options = r.json["response"]["credential_options"].clone();
    let state = r.json["response"]["wan_state"].as_str().unwrap().to_owned();
    (options, state)
}

async fn signin_finish(app: &App, state: &str, credential: &Value) -> Resp {
    app.post(&format!("/wan-signin/{state}?include_auth_token"))
        .accept_json()
        .json(json!({"credential": credential.to_string()}))
        .send()
        .await
}

/// Registration then a passkey sign-in with the new credential, as the first factor.
async fn register_and_sign_in(db: Db) {
    let app = App::start_with(db, &env(&[])).await;
    let s = app.login(USER).await;
    let mut auth = Authenticator::new(RP_ID, ORIGIN);

    let cred = Cred::Session(s.clone());
    let r = app
        .post("/wan-register")
        .accept_json()
        .json(json!({"name": "my key", "usage": "first"}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let options = &r.json["response"]["credential_options"];
    assert_eq!(options["rp"]["id"], RP_ID, "RP id from configuration:\n{r}");
    let handle = authenticator::unb64(options["user"]["id"].as_str().unwrap());
    assert_eq!(handle.len(), 32, "fs_webauthn_user_handle as UTF-8 hex");
    assert!(handle.iter().all(u8::is_ascii_hexdigit));
    assert!(authenticator::unb64(options["challenge"].as_str().unwrap()).len() >= 16);
    assert_eq!(options["extensions"]["credProps"], true, "{r}");
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    let state = r.json["response"]["wan_state"].as_str().unwrap();
    let credential = auth.create(options);
    let done = app
        .post(&format!("/wan-register/{state}"))
        .accept_json()
        .json(json!({"credential": credential.to_string()}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(done.status, 200, "{done}");
    assert!(nonempty_str(&done.json["response"]["csrf_token"]), "{done}");

    // The same state again: single use.
    let again = app
        .post(&format!("/wan-register/{state}"))
        .accept_json()
        .json(json!({"credential": credential.to_string()}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(again.status, 400, "{again}");
    assert!(
        again.errors()[0].starts_with("Passkey operations must be completed within"),
        "{again}"
    );

    let list = app
        .get("/wan-register")
        .accept_json()
        .cred(&cred)
        .send()
        .await;
    assert_eq!(list.status, 200, "{list}");
    let creds = list.json["response"]["registered_credentials"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(creds.len(), 1, "{list}");
    assert_eq!(creds[0]["name"], "my key");
    assert_eq!(creds[0]["usage"], "first");
    assert_eq!(creds[0]["credential_id"], b64(&auth.cred_id));
    assert_eq!(creds[0]["transports"], json!(["usb"]));
    assert_eq!(creds[0]["discoverable"], true);
    assert_eq!(creds[0]["device_type"], "single_device");

    // A second credential with the same name is refused.
    let r = app
        .post("/wan-register")
        .accept_json()
        .json(json!({"name": "my key", "usage": "first"}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        r.errors(),
        ["my key is already associated with a passkey."],
        "{r}"
    );
    // The same authenticator registered twice (another name) is refused too.
    let r = register(&app, &s, &mut auth, "again", "first").await;
    assert_eq!(r.status, 400, "{r}");

    // Passkey sign-in, no identity (discoverable credential).
    let before = app.login_count(&cred).await;
    let (options, state) = signin_start(&app, json!({})).await;
    assert_eq!(options["rpId"], RP_ID);
    assert_eq!(
        options["allowCredentials"],
        json!([]),
        "no hints without identity"
    );
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["response"]["tf_required"], false, "{r}");
    assert!(r.json["response"]["post_login_url"].is_string(), "{r}");
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let signed_in = session_of(&r, Jar::default());
    assert_eq!(app.me(&Cred::Session(signed_in.clone())).await.status, 200);
    assert_eq!(app.me(&Cred::Header(token)).await.status, 200);
    assert_eq!(app.login_count(&cred).await, before + 1, "login tracking");

    // Replayed state (and credential): refused as spent, before any counter check.
    let r = signin_finish(&app, &state, &auth.sign(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert!(
        r.errors()[0].starts_with("Passkey operations must be completed within"),
        "{r}"
    );
    // A captured assertion with a new state: the challenge does not match.
    let (options2, state2) = signin_start(&app, json!({})).await;
    let mut replay = auth.sign(&options);
    replay["response"]["authenticatorData"] =
        auth.get(&options2)["response"]["authenticatorData"].clone();
    let r = signin_finish(&app, &state2, &replay).await;
    assert_eq!(r.status, 400, "{r}");
    assert!(r.errors()[0].starts_with("Could not verify passkey"), "{r}");

    // A forged state token.
    let (options3, state3) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &tamper(&state3), &auth.get(&options3)).await;
    assert_eq!(r.status, 400, "{r}");

    // A signed-in caller may not start a sign-in.
    let r = app
        .post("/wan-signin")
        .accept_json()
        .json(json!({}))
        .cred(&Cred::Session(signed_in))
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(r.errors(), [MSG_ANONYMOUS_USER_REQUIRED]);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn register_and_sign_in_sqlite() {
    register_and_sign_in(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn register_and_sign_in_postgres() {
    register_and_sign_in(Db::postgres().await).await;
}

/// Wrong origin, counter going backwards, deletion, wrong usage.
#[tokio::test(flavor = "multi_thread")]
async fn origin_counter_delete() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let s = app.login(USER).await;
    let mut auth = Authenticator::new(RP_ID, ORIGIN);
    let r = register(&app, &s, &mut auth, "key-1", "first").await;
    assert_eq!(r.status, 200, "{r}");

    // Wrong origin (a phishing site relaying the challenge).
    let (options, state) = signin_start(&app, json!({})).await;
    auth.origin = "http://evil.example".to_owned();
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert!(r.errors()[0].starts_with("Could not verify passkey"), "{r}");
    auth.origin = ORIGIN.to_owned();

    // Counter: 5 accepted, then 3 (a clone) refused, then equal refused, then 6 accepted.
    auth.counter = 4;
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 200, "{r}");
    for count in [3, 5] {
        auth.counter = count;
        let (options, state) = signin_start(&app, json!({})).await;
        let r = signin_finish(&app, &state, &auth.sign(&options)).await;
        assert_eq!(r.status, 400, "counter {count} after 5:\n{r}");
    }
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 200, "counter 6:\n{r}");

    // A secondary credential cannot sign in as the first factor.
    let mut second = Authenticator::new(RP_ID, ORIGIN);
    let r = register(&app, &s, &mut second, "key-2", "secondary").await;
    assert_eq!(r.status, 200, "{r}");
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &second.get(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        r.errors(),
        ["Passkey not registered for this use (first or secondary)"]
    );

    // Delete.
    let cred = Cred::Session(s.clone());
    let r = app
        .post("/wan-delete")
        .accept_json()
        .json(json!({"name": "nope"}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(r.errors(), ["nope not registered with current user."]);
    let r = app
        .post("/wan-delete")
        .accept_json()
        .json(json!({"name": "key-1"}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(r.errors(), [MSG_UNKNOWN_CREDENTIAL], "{r}");
    app.server.stop().await;
}

/// Unauthenticated and stale callers; `/wan-verify` restores freshness; another user's
/// credential does not verify.
#[tokio::test(flavor = "multi_thread")]
async fn freshness_and_verify() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    for (path, body) in [
        ("/wan-register", Some(json!({"name": "k"}))),
        ("/wan-register", None),
        ("/wan-delete", Some(json!({"name": "k"}))),
    ] {
        let req = match &body {
            Some(b) => app.post(path).json(b.clone()),
            None => app.get(path),
        };
        let r = req.accept_json().send().await;
        assert_eq!(r.status, 401, "{r}");
        assert_eq!(r.errors(), [MSG_UNAUTHENTICATED], "{r}");
    }
    let s = app.login(USER).await;
    let cred = Cred::Session(s.clone());
    // Without a passkey, the re-authentication answer offers none.
    let without = Cred::Session(app.login(ADMIN).await);
    let stale = stale_answer(&app, &without).await;
    assert_eq!(
        stale.json["response"]["has_webauthn_verify_credential"], false,
        "{stale}"
    );
    let mut auth = Authenticator::new(RP_ID, ORIGIN);
    let r = register(&app, &s, &mut auth, "mine", "first").await;
    assert_eq!(r.status, 200, "{r}");
    let admin = app.login(ADMIN).await;
    let mut admins = Authenticator::new(RP_ID, ORIGIN);
    let r = register(&app, &admin, &mut admins, "admins", "first").await;
    assert_eq!(r.status, 200, "{r}");

    let stale = stale_answer(&app, &cred).await;
    assert_eq!(stale.json["response"]["reauth_required"], true, "{stale}");
    assert_eq!(
        stale.json["response"]["has_webauthn_verify_credential"], true,
        "a passkey for /wan-verify:\n{stale}"
    );
    let r = app.get("/verify").accept_json().cred(&cred).send().await;
    assert_eq!(
        r.json["response"]["has_webauthn_verify_credential"], true,
        "{r}"
    );
    let r = app.get("/verify").browser().cred(&cred).send().await;
    assert!(r.text.contains("name=\"wan_verify_form\""), "{r}");

    let (options, state) = verify_start(&app, &cred).await;
    assert_eq!(
        options["allowCredentials"][0]["id"],
        b64(&auth.cred_id),
        "the caller's own credentials"
    );
    // Another user's passkey does not verify this user.
    let r = app
        .post(&format!("/wan-verify/{state}"))
        .accept_json()
        .json(json!({"credential": admins.get(&options).to_string()}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    let (options, state) = verify_start(&app, &cred).await;
    let r = app
        .post(&format!("/wan-verify/{state}"))
        .accept_json()
        .json(json!({"credential": auth.get(&options).to_string()}))
        .cred(&cred)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let fresh = app
        .get("/wan-register")
        .accept_json()
        .cred(&cred)
        .send()
        .await;
    assert_eq!(fresh.status, 200, "freshness restored:\n{fresh}");
    // A verify state of one user cannot finish another user's verification.
    let (options, state) = verify_start(&app, &cred).await;
    let r = app
        .post(&format!("/wan-verify/{state}"))
        .accept_json()
        .json(json!({"credential": admins.get(&options).to_string()}))
        .cred(&Cred::Session(admin))
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    app.server.stop().await;
}

/// Makes `c`'s session stale, then the 401 of a fresh-only endpoint.
async fn stale_answer(app: &App, c: &Cred) -> Resp {
    let r = app
        .post("/api/test/stale")
        .accept_json()
        .json(json!({}))
        .cred(c)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let stale = app.get("/wan-register").accept_json().cred(c).send().await;
    assert_eq!(stale.status, 401, "{stale}");
    stale
}

async fn verify_start(app: &App, c: &Cred) -> (Value, String) {
    let r = app
        .post("/wan-verify")
        .accept_json()
        .json(json!({}))
        .cred(c)
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let options = r.json["response"]["credential_options"].clone();
    let state = r.json["response"]["wan_state"].as_str().unwrap().to_owned();
    (options, state)
}

/// `SECURITY_WAN_ALLOW_USER_HINTS` on (default) and off.
#[tokio::test(flavor = "multi_thread")]
async fn user_hints() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let s = app.login(USER).await;
    let mut auth = Authenticator::new(RP_ID, ORIGIN);
    assert_eq!(
        register(&app, &s, &mut auth, "k", "first").await.status,
        200
    );
    let (options, _) = signin_start(&app, json!({"identity": USER.0})).await;
    let allowed = options["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1, "{options}");
    assert_eq!(allowed[0]["id"], b64(&auth.cred_id));
    // Unknown and inactive identities: the same answer shape, no hint, no error.
    for identity in ["nobody@example.com", INACTIVE.0] {
        let (options, _) = signin_start(&app, json!({"identity": identity})).await;
        assert_eq!(options["allowCredentials"], json!([]), "{identity}");
    }
    let App { server, db, .. } = app;
    server.stop().await;

    let app = App::start_with(db, &env(&[("SECURITY_WAN_ALLOW_USER_HINTS", "false")])).await;
    let (options, state) = signin_start(&app, json!({"identity": USER.0})).await;
    assert_eq!(
        options["allowCredentials"],
        json!([]),
        "hints off:\n{options}"
    );
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 200, "{r}");
    let s = app.login(USER).await;
    let r = app
        .post("/wan-register")
        .accept_json()
        .json(json!({"name": "k2", "usage": "first"}))
        .cred(&Cred::Session(s))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["credential_options"]["authenticatorSelection"]["residentKey"],
        "required",
        "{r}"
    );
    app.server.stop().await;
}

/// A credential stored the way Flask-Security stores it (COSE public key, usage, handle
/// set on the user) signs in; the browser script and pages are served without inline script.
#[tokio::test(flavor = "multi_thread")]
async fn flask_security_rows_and_pages() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let mut auth = Authenticator::new(RP_ID, ORIGIN);
    let handle = "0123456789abcdef0123456789abcdef";
    auth.user_handle = handle.as_bytes().to_vec();
    auth.counter = 41;
    let store = app.db.store().await;
    use rampart::datastore::UserDatastore as _;
    let mut user = store.find_user_by_email(USER.0).await.unwrap().unwrap();
    user.fs_webauthn_user_handle = Some(handle.to_owned());
    let user = store.update_user(&user).await.unwrap();
    store
        .create_webauthn(rampart::model::NewWebAuthn {
            credential_id: auth.cred_id.clone(),
            public_key: auth.cose_key(),
            sign_count: 41,
            transports: vec!["usb".into()],
            backup_state: false,
            device_type: "single_device".into(),
            extensions: Some(r#"{"credProps": {"rk": true}}"#.into()),
            name: "from flask".into(),
            usage: "first".into(),
            user_id: user.id,
        })
        .await
        .unwrap();
    let (options, state) = signin_start(&app, json!({"identity": USER.0})).await;
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 200, "{r}");
    // A user handle that is not the user's is refused.
    auth.user_handle = b"ffffffffffffffffffffffffffffffff".to_vec();
    let (options, state) = signin_start(&app, json!({})).await;
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(r.errors(), ["Credential user handle didn't match"]);

    let js = app.get("/fs-static/rampart-webauthn.js").send().await;
    assert_eq!(js.status, 200, "{js}");
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text.contains("navigator.credentials") && js.text.contains(".create("));
    let page = app.get("/wan-signin").browser().send().await;
    assert_eq!(page.status, 200, "{page}");
    assert!(
        page.text.contains("src=\"/fs-static/rampart-webauthn.js\""),
        "{page}"
    );
    assert_eq!(
        page.text.matches("<script").count(),
        1,
        "no inline script:\n{page}"
    );
    assert!(page.header("content-security-policy").is_some(), "{page}");

    // The browser flow the script drives: the start form, then the page's own form with the
    // authenticator's answer, then the redirect of a signed-in browser.
    auth.user_handle = handle.as_bytes().to_vec();
    let page = app
        .post("/wan-signin")
        .browser()
        .form(&[("identity", USER.0), ("next", "/after")])
        .send()
        .await;
    assert_eq!(page.status, 200, "{page}");
    let options: Value = serde_json::from_str(&unescape(attr(&page.text, "data-options"))).unwrap();
    assert_eq!(
        options["allowCredentials"][0]["id"],
        b64(&auth.cred_id),
        "{page}"
    );
    let action = unescape(attr(&page.text, "action=\"/wan-signin/"));
    let credential = auth.get(&options).to_string();
    let done = app
        .post(&format!("/wan-signin/{action}"))
        .browser()
        .form(&[
            ("credential", &credential),
            ("next", "/after"),
            ("remember", "y"),
        ])
        .send()
        .await;
    assert_eq!(done.status, 302, "{done}");
    assert_eq!(done.header("location"), Some("/after"), "{done}");
    assert!(done.cookie(REMEMBER_COOKIE).is_some(), "remember: {done}");
    app.server.stop().await;
}

/// The value of the first `name="…"` (or `prefix…"`) attribute in `html`.
fn attr<'a>(html: &'a str, name: &str) -> &'a str {
    let start = if name.ends_with('/') {
        html.find(name).map(|i| i + name.len())
    } else {
        html.find(&format!("{name}=\"")).map(|i| i + name.len() + 2)
    }
    .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find('"').unwrap()]
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// 32 concurrent finishes of one sign-in state: exactly one signs in. An expired state is
/// refused with Flask-Security's message. Registration states are bound to their user and
/// need an authenticated caller.
#[tokio::test(flavor = "multi_thread")]
async fn single_use_expiry_and_binding() {
    let app = App::start_with(Db::sqlite(), &env(&[])).await;
    let s = app.login(USER).await;
    let mut auth = Authenticator::new(RP_ID, ORIGIN);
    assert_eq!(
        register(&app, &s, &mut auth, "k", "first").await.status,
        200
    );

    let (options, state) = signin_start(&app, json!({})).await;
    let credential = auth.get(&options);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let url = format!("http://127.0.0.1:{}/wan-signin/{state}", app.server.port);
        let body = json!({"credential": credential.to_string()});
        set.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let mut statuses = Vec::new();
    while let Some(r) = set.join_next().await {
        statuses.push(r.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        31,
        "{statuses:?}"
    );

    // A registration state issued to USER cannot be finished by ADMIN, nor anonymously.
    let cred = Cred::Session(s.clone());
    let r = app
        .post("/wan-register")
        .accept_json()
        .json(json!({"name": "k2", "usage": "first"}))
        .cred(&cred)
        .send()
        .await;
    let state = r.json["response"]["wan_state"].as_str().unwrap().to_owned();
    let mut other = Authenticator::new(RP_ID, ORIGIN);
    let credential = other.create(&r.json["response"]["credential_options"]);
    let body = json!({"credential": credential.to_string()});
    let anon = app
        .post(&format!("/wan-register/{state}"))
        .accept_json()
        .json(body.clone())
        .send()
        .await;
    assert_eq!(anon.status, 401, "{anon}");
    let admin = app.login(ADMIN).await;
    let r = app
        .post(&format!("/wan-register/{state}"))
        .accept_json()
        .json(body)
        .cred(&Cred::Session(admin.clone()))
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    let listed = app
        .get("/wan-register")
        .accept_json()
        .cred(&Cred::Session(admin))
        .send()
        .await;
    assert_eq!(
        listed.json["response"]["registered_credentials"],
        json!([]),
        "{listed}"
    );
    // An expired state, on a server with a 1-second sign-in lifetime (same database).
    let App { server, db, .. } = app;
    server.stop().await;
    let app = App::start_with(db, &env(&[("SECURITY_WAN_SIGNIN_WITHIN", "1")])).await;
    let (options, state) = signin_start(&app, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = signin_finish(&app, &state, &auth.get(&options)).await;
    assert_eq!(r.status, 400, "{r}");
    assert!(
        r.errors()[0].starts_with("Passkey operations must be completed within"),
        "{r}"
    );
    app.server.stop().await;
}
