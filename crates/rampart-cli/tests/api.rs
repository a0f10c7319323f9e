//! Black-box tests of the demo server's HTTP API (demo-contract.md) against Flask-Security
//! 5.9.2's behaviour (flask-security-reference.md §1, §2, §4, §5): login, logout, sessions,
//! auth tokens, HTTP Basic, roles and permissions, documents, freshness, login tracking and
//! remember-me. Every test starts the real `rampart serve` on its own database, once on SQLite
//! and once on PostgreSQL, and talks to it over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/harness.rs"]
mod harness;
mod support;
#[path = "api/table.rs"]
mod table;

use reqwest::Method;
use serde_json::{Value, json};

use harness::*;
use support::Db;

/// Generates `NAME::sqlite` and `NAME::postgres` tests that run `async fn NAME(db: Db)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await;
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await;
            }
        }
    )*};
}

on_both_backends!(
    login_json,
    login_form,
    logout,
    session_cookie_is_renewed_at_login,
    forged_session_ids_are_refused_and_not_adopted,
    decision_table,
    browser_callers_are_redirected_to_login,
    documents,
    freshness_and_test_hook,
    login_tracking,
    remember_me,
    rampart_responses_are_not_cached,
);

/// `Location` without this server's origin (a relative target stays as it is).
fn location(app: &App, resp: &Resp) -> Option<String> {
    let loc = resp.header("location")?;
    let origin = format!("http://127.0.0.1:{}", app.server.port);
    Some(loc.strip_prefix(&origin).unwrap_or(loc).to_owned())
}

// ---------------------------------------------------------------------------------------------
// 1. Login (JSON and form)
// ---------------------------------------------------------------------------------------------

async fn login_json(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();
    let mut total = 0;

    // GET /login with a JSON Content-Type (the SPA trick): csrf_token and identity attributes.
    let r = app
        .get("/login")
        .header("Content-Type", "application/json")
        .send()
        .await;
    total += 1;
    f.check(
        "GET /login anonymous",
        is_envelope(&r, 200)
            && nonempty_str(&r.json["response"]["csrf_token"])
            && r.json["response"]["identity_attributes"] == json!(["email"])
            && r.json["response"].get("user").is_none(),
        "200 envelope with csrf_token, identity_attributes == [\"email\"] and no user",
        &r,
    );

    // Success without and with include_auth_token.
    let r = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": USER.1}),
            &Jar::default(),
        )
        .await;
    total += 1;
    f.check(
        "POST /login ok",
        is_envelope(&r, 200)
            && nonempty_str(&r.json["response"]["csrf_token"])
            && r.json["response"]["user"].is_object()
            && r.json["response"]["user"]
                .get("authentication_token")
                .is_none()
            && session_cookie(&r).is_some(),
        "200 envelope with csrf_token, a user object without authentication_token, and a \
         session cookie",
        &r,
    );
    let r = app
        .login_resp(
            "?include_auth_token",
            json!({"email": USER.0, "password": USER.1}),
            &Jar::default(),
        )
        .await;
    total += 1;
    f.check(
        "POST /login?include_auth_token",
        is_envelope(&r, 200)
            && nonempty_str(&r.json["response"]["csrf_token"])
            && nonempty_str(&r.json["response"]["user"]["authentication_token"]),
        "200 envelope with response.user.authentication_token",
        &r,
    );
    if let Some(tok) = r.json["response"]["user"]["authentication_token"].as_str() {
        let me = app.me(&Cred::Header(tok.to_owned())).await;
        total += 1;
        f.check(
            "token from include_auth_token on /api/me",
            me.status == 200 && me.json["email"] == json!(USER.0),
            "200 {\"email\":\"user@example.com\",…}",
            &me,
        );
    }

    // Failures: (row, body, field with the message or None for a form-level one, message).
    let failures: &[(&str, Value, Option<&str>, &str)] = &[
        (
            "wrong password",
            json!({"email": USER.0, "password": "Wr0ng-correct-horse-9"}),
            Some("password"),
            MSG_INVALID_PASSWORD,
        ),
        (
            "unknown email",
            json!({"email": "nobody@example.com", "password": USER.1}),
            Some("email"),
            MSG_USER_DOES_NOT_EXIST,
        ),
        (
            "inactive user",
            json!({"email": INACTIVE.0, "password": INACTIVE.1}),
            None,
            MSG_DISABLED_ACCOUNT,
        ),
        (
            "missing password",
            json!({"email": USER.0}),
            Some("password"),
            MSG_PASSWORD_NOT_PROVIDED,
        ),
    ];
    for (row, body, field, msg) in failures {
        let r = app
            .login_resp("?include_auth_token", body.clone(), &Jar::default())
            .await;
        total += 1;
        let field_ok =
            field.is_none_or(|name| r.json["response"]["field_errors"][name] == json!([msg]));
        f.check(
            row,
            is_envelope(&r, 400)
                && r.errors().iter().any(|e| e == msg)
                && field_ok
                && r.json["response"].get("user").is_none(),
            &format!(
                "400 envelope, errors containing {msg:?}{}",
                match field {
                    Some(name) => format!(", field_errors.{name} == [{msg:?}]"),
                    None => String::new(),
                }
            ),
            &r,
        );
    }
    // Nothing at all: a 400 with at least one message.
    let r = app.login_resp("", json!({}), &Jar::default()).await;
    total += 1;
    f.check(
        "missing email and password",
        is_envelope(&r, 400) && !r.errors().is_empty(),
        "400 envelope with errors",
        &r,
    );

    // Already signed in: GET /login adds the user; POST /login is refused with 400.
    let s = app.login(USER).await;
    let r = app
        .get("/login")
        .header("Content-Type", "application/json")
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    total += 1;
    f.check(
        "GET /login signed in",
        is_envelope(&r, 200)
            && nonempty_str(&r.json["response"]["csrf_token"])
            && r.json["response"]["identity_attributes"] == json!(["email"])
            && r.json["response"]["user"].is_object(),
        "200 envelope with csrf_token, identity_attributes and user",
        &r,
    );
    let r = app
        .post("/login")
        .accept_json()
        .json(json!({"email": USER.0, "password": USER.1}))
        .cred(&Cred::Session(s))
        .send()
        .await;
    total += 1;
    f.check(
        "POST /login signed in",
        is_envelope(&r, 400) && r.errors() == [MSG_ANONYMOUS_USER_REQUIRED],
        &format!("400 envelope with errors == [{MSG_ANONYMOUS_USER_REQUIRED:?}]"),
        &r,
    );
    f.finish(total);
}

/// Form fields of a request body.
type Fields<'a> = &'a [(&'a str, &'a str)];

async fn login_form(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();
    let creds = [("email", USER.0), ("password", USER.1)];

    // (row, query, extra form fields, expected Location)
    let ok_rows: &[(&str, &str, Fields, &str)] = &[
        ("form login, no next", "", &[], "/"),
        (
            "form login, next in the query",
            "?next=%2Fapi%2Fme",
            &[],
            "/api/me",
        ),
        (
            "form login, next in the form",
            "",
            &[("next", "/api/me")],
            "/api/me",
        ),
    ];
    for (row, query, extra, want) in ok_rows {
        let mut fields = creds.to_vec();
        fields.extend_from_slice(extra);
        let r = app
            .post(&format!("/login{query}"))
            .browser()
            .form(&fields)
            .send()
            .await;
        f.check(
            row,
            r.status == 302 && location(&app, &r).as_deref() == Some(*want),
            &format!("302 to {want}"),
            &r,
        );
        // The cookies it set are a working session.
        let mut jar = Jar::default();
        jar.absorb(&r);
        let me = app.me(&Cred::Cookies(jar)).await;
        f.check(
            &format!("{row}: its cookies on /api/me"),
            me.status == 200 && me.json["email"] == json!(USER.0),
            "200 for user@example.com",
            &me,
        );
    }

    // Failures re-render the form: 200 HTML, no redirect, no JSON.
    let bad_rows: &[(&str, &str, Fields)] = &[
        (
            "form login, wrong password",
            "",
            &[("email", USER.0), ("password", "Wr0ng-correct-horse-9")],
        ),
        (
            "form login, unknown email",
            "",
            &[("email", "nobody@example.com"), ("password", USER.1)],
        ),
        (
            "form login, next off-site",
            "?next=http%3A%2F%2Fevil.com%2F",
            &[("email", USER.0), ("password", USER.1)],
        ),
    ];
    for (row, query, fields) in bad_rows {
        let r = app
            .post(&format!("/login{query}"))
            .browser()
            .form(fields)
            .send()
            .await;
        f.check(
            row,
            r.status == 200
                && r.header("content-type")
                    .is_some_and(|c| c.starts_with("text/html"))
                && r.json.is_null()
                && r.header("location").is_none(),
            "200 text/html (the form with its errors), no redirect",
            &r,
        );
    }
    f.finish(ok_rows.len() * 2 + bad_rows.len());
}

// ---------------------------------------------------------------------------------------------
// 2. Logout, 3. session fixation and cookie attributes
// ---------------------------------------------------------------------------------------------

async fn logout(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();
    let s = app.login(USER).await;
    let before = app.me(&Cred::Session(s.clone())).await;
    f.check(
        "before logout /api/me",
        before.status == 200,
        "200",
        &before,
    );

    let r = app
        .get("/logout")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    f.check(
        "GET /logout",
        r.status == 405,
        "405 (POST only since 5.9)",
        &r,
    );

    let r = app
        .post("/logout")
        .accept_json()
        .json(json!({}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    f.check(
        "POST /logout JSON",
        r.status == 200 && r.json == json!({"meta": {"code": 200}, "response": {}}),
        "200 {\"meta\":{\"code\":200},\"response\":{}}",
        &r,
    );
    // The old cookie is dead on the server, whatever the response told the browser.
    let after = app.me(&Cred::Session(s)).await;
    f.check(
        "old session cookie after logout",
        after.status == 401 && after.errors() == [MSG_UNAUTHENTICATED],
        "401 envelope with the unauthenticated message",
        &after,
    );
    f.finish(4);
}

async fn session_cookie_is_renewed_at_login(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();

    // GET /login stores the CSRF value in the session, so it hands out a session cookie.
    let r0 = app
        .get("/login")
        .header("Content-Type", "application/json")
        .send()
        .await;
    let pre = session_cookie(&r0)
        .unwrap_or_else(|| panic!("GET /login set no session cookie:\n{r0}"))
        .clone();
    let mut pre_jar = Jar::default();
    pre_jar.absorb(&r0);

    let r = app
        .login_resp("", json!({"email": USER.0, "password": USER.1}), &pre_jar)
        .await;
    assert_eq!(r.status, 200, "login:\n{r}");
    let post = r.cookie(&pre.name).cloned();
    f.check(
        "login answer renews the session cookie",
        post.as_ref()
            .is_some_and(|c| c.value != pre.value && !c.is_removal()),
        &format!(
            "a new value for cookie {:?} (was {:?})",
            pre.name, pre.value
        ),
        &r,
    );
    if let Some(c) = &post {
        f.check(
            "session cookie attributes",
            c.attr("HttpOnly").is_some()
                && c.attr("SameSite")
                    .is_some_and(|v| v.eq_ignore_ascii_case("lax"))
                && c.attr("Path") == Some("/")
                && c.attr("Secure").is_none(),
            "HttpOnly; SameSite=Lax; Path=/; no Secure over plain http",
            &r,
        );
    }
    let s = session_of(&r, pre_jar.clone());
    let me = app.me(&Cred::Session(s)).await;
    f.check(
        "post-login cookie on /api/me",
        me.status == 200 && me.json["email"] == json!(USER.0),
        "200 for user@example.com",
        &me,
    );
    // Replaying the pre-login cookie must not reach the signed-in session.
    let replay = app.me(&Cred::Cookies(pre_jar)).await;
    f.check(
        "pre-login cookie replayed on /api/me",
        replay.status == 401 && replay.errors() == [MSG_UNAUTHENTICATED],
        "401 envelope with the unauthenticated message",
        &replay,
    );
    f.finish(4);
}

// ---------------------------------------------------------------------------------------------
// 4. The decision table (api/table.rs)
// ---------------------------------------------------------------------------------------------

async fn decision_table(db: Db) {
    table::run(App::start(db).await).await;
}

async fn browser_callers_are_redirected_to_login(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();
    for path in ["/api/me", "/api/admin", "/api/perm"] {
        let r = app.get(path).browser().send().await;
        // Flask-Security puts the original URL, relative, into `next` (quoted or not).
        let next = location(&app, &r).and_then(|l| l.strip_prefix("/login?next=").map(pct_decode));
        f.check(
            &format!("browser GET {path} anonymous"),
            r.status == 302 && next.as_deref() == Some(path),
            &format!("302 to /login?next={path} (relative, quoting optional)"),
            &r,
        );
    }
    // The demo's unauthz handler answers JSON 403 whatever the Accept header.
    let s = app.login(USER).await;
    let accepts = [
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "*/*",
        "application/json",
    ];
    for path in ["/api/admin", "/api/perm"] {
        for accept in accepts {
            let r = app
                .get(path)
                .header("Accept", accept)
                .cred(&Cred::Session(s.clone()))
                .send()
                .await;
            f.check(
                &format!("GET {path} as user@ with Accept {accept}"),
                r.status == 403 && r.json == json!({"status": 403, "msgs": [MSG_NOT_PERMITTED]}),
                "403 {\"status\":403,\"msgs\":[\"Not permitted with your privileges\"]}",
                &r,
            );
        }
    }
    f.finish(3 + 2 * accepts.len());
}

// ---------------------------------------------------------------------------------------------
// 5. Documents
// ---------------------------------------------------------------------------------------------

async fn documents(db: Db) {
    let app = App::start(db).await;
    let user_tok = Cred::Header(app.token(USER).await);
    let admin_tok = Cred::Header(app.token(ADMIN).await);
    let user_session = Cred::Session(app.login(USER).await);
    let mut f = Failures::default();

    enum Want {
        Doc(i64, &'static str),
        NotOwner,
        NotFound,
        Unauthn,
    }
    let rows: &[(&str, &Cred, &str, &str, Want)] = &[
        (
            "user@ token, own doc",
            &user_tok,
            "1",
            "x",
            Want::Doc(1, USER.0),
        ),
        (
            "user@ token, admin's doc",
            &user_tok,
            "2",
            "y",
            Want::NotOwner,
        ),
        (
            "user@ session, own doc",
            &user_session,
            "1",
            "from a session",
            Want::Doc(1, USER.0),
        ),
        (
            "admin token, user's doc",
            &admin_tok,
            "1",
            "admin was here",
            Want::Doc(1, USER.0),
        ),
        (
            "admin token, own doc",
            &admin_tok,
            "2",
            "mine",
            Want::Doc(2, ADMIN.0),
        ),
        (
            "user@ token, unknown id",
            &user_tok,
            "999",
            "z",
            Want::NotFound,
        ),
        (
            "admin token, unknown id",
            &admin_tok,
            "999",
            "z",
            Want::NotFound,
        ),
        ("anonymous, doc 1", &Cred::Anon, "1", "z", Want::Unauthn),
    ];
    for (row, cred, id, title, want) in rows {
        let r = app
            .req(Method::PATCH, &format!("/api/docs/{id}"))
            .accept_json()
            .json(json!({"title": title}))
            .cred(cred)
            .send()
            .await;
        let (ok, what) = match want {
            Want::Doc(id, owner) => (
                r.status == 200 && r.json == json!({"id": id, "title": title, "owner": owner}),
                format!("200 {}", json!({"id": id, "title": title, "owner": owner})),
            ),
            Want::NotOwner => (
                r.status == 403
                    && r.json
                        == json!({"status": 403, "msgs": ["You can only update docs you own"]}),
                "403 {\"status\":403,\"msgs\":[\"You can only update docs you own\"]}".into(),
            ),
            Want::NotFound => (r.status == 404, "404".into()),
            Want::Unauthn => (
                r.status == 401 && r.errors() == [MSG_UNAUTHENTICATED],
                "401 envelope with the unauthenticated message".into(),
            ),
        };
        f.check(row, ok, &what, &r);
    }
    f.finish(rows.len());
}

// ---------------------------------------------------------------------------------------------
// 6. Freshness and the test hook
// ---------------------------------------------------------------------------------------------

async fn freshness_and_test_hook(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();
    let s = Cred::Session(app.login(USER).await);
    let tok = Cred::Header(app.token(USER).await);
    let post = |path: &'static str, cred: &Cred| {
        app.post(path)
            .accept_json()
            .json(json!({}))
            .cred(cred)
            .send()
    };
    let fresh = json!({"ok": true, "fresh": true});

    let r = post("/api/fresh", &s).await;
    f.check(
        "session: /api/fresh right after login",
        r.status == 200 && r.json == fresh,
        "200 {\"ok\":true,\"fresh\":true}",
        &r,
    );
    let r = post("/api/fresh", &tok).await;
    f.check(
        "token: /api/fresh right after login",
        r.status == 200 && r.json == fresh,
        "200 {\"ok\":true,\"fresh\":true}",
        &r,
    );
    let r = post("/api/mutate", &tok).await;
    f.check(
        "token: /api/mutate",
        r.status == 200 && r.json == json!({"ok": true, "mutated": true}),
        "200 {\"ok\":true,\"mutated\":true}",
        &r,
    );

    let r = post("/api/test/stale", &Cred::Anon).await;
    f.check("anonymous: /api/test/stale", r.status == 401, "401", &r);
    let r = post("/api/test/stale", &s).await;
    f.check(
        "session: /api/test/stale",
        r.status == 200 && r.json == json!({"ok": true}),
        "200 {\"ok\":true}",
        &r,
    );

    let r = post("/api/fresh", &s).await;
    f.check(
        "stale session: /api/fresh",
        is_envelope(&r, 401)
            && r.json["response"]["reauth_required"] == json!(true)
            && r.errors() == [MSG_REAUTHENTICATION_REQUIRED],
        "401 envelope with reauth_required: true and the reauthentication message",
        &r,
    );
    // Stale is not signed out.
    let r = app.me(&s).await;
    f.check(
        "stale session: /api/me",
        r.status == 200 && r.json["email"] == json!(USER.0),
        "200 for user@example.com",
        &r,
    );
    f.finish(7);
}

// ---------------------------------------------------------------------------------------------
// 7. Login tracking
// ---------------------------------------------------------------------------------------------

async fn login_tracking(db: Db) {
    let app = App::start(db).await;
    let tok = Cred::Header(app.token(USER).await);
    let first = app.login_count(&tok).await;
    assert!(first >= 1, "login_count after a login is {first}");
    // Requests with a token are not logins.
    assert_eq!(
        app.login_count(&tok).await,
        first,
        "a token request changed login_count"
    );

    let bad = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": "Wr0ng-correct-horse-9"}),
            &Jar::default(),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad}");
    assert_eq!(
        app.login_count(&tok).await,
        first,
        "a failed login changed login_count"
    );

    let s = Cred::Session(app.login(USER).await);
    assert_eq!(app.login_count(&s).await, first + 1, "second login");
    let _ = app.token(USER).await;
    assert_eq!(app.login_count(&tok).await, first + 2, "third login");
    // Another user's logins are counted apart.
    let admin = Cred::Header(app.token(ADMIN).await);
    let admin_count = app.login_count(&admin).await;
    assert!(admin_count >= 1, "admin login_count {admin_count}");
    assert_eq!(
        app.login_count(&tok).await,
        first + 2,
        "admin login changed user@'s count"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Remember me
// ---------------------------------------------------------------------------------------------

async fn remember_me(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();

    // Default: no remember cookie.
    let r = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": USER.1}),
            &Jar::default(),
        )
        .await;
    f.check(
        "login without remember",
        r.status == 200 && r.cookie(REMEMBER_COOKIE).is_none(),
        "200 and no remember_token cookie",
        &r,
    );

    let r = app
        .login_resp(
            "?include_auth_token",
            json!({"email": USER.0, "password": USER.1, "remember": true}),
            &Jar::default(),
        )
        .await;
    let long_lived = r.cookie(REMEMBER_COOKIE).is_some_and(|c| {
        let max_age_ok = c
            .attr("Max-Age")
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|secs| secs >= 30 * 86_400);
        let expires_ok = c.attr("Max-Age").is_none() && c.attr("Expires").is_some();
        c.attr("HttpOnly").is_some() && !c.value.is_empty() && (max_age_ok || expires_ok)
    });
    f.check(
        "login with remember: true",
        r.status == 200 && long_lived,
        "200 and an HttpOnly remember_token cookie lasting at least 30 days (Flask-Login: 365)",
        &r,
    );
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .map(|t| Cred::Header(t.to_owned()));
    let mut jar = Jar::default();
    jar.absorb(&r);
    let session = r.json["response"]["csrf_token"]
        .as_str()
        .and(session_cookie(&r))
        .map(|_| session_of(&r, Jar::default()));
    // A browser restart: only the remember cookie survives.
    let restarted = Cred::Cookies(jar.only(REMEMBER_COOKIE));
    let me = app.me(&restarted).await;
    f.check(
        "remember cookie alone on /api/me",
        me.status == 200 && me.json["email"] == json!(USER.0),
        "200 for user@example.com",
        &me,
    );

    app.cli(&["users", "reset-access", USER.0], None).ok();
    let me = app.me(&restarted).await;
    f.check(
        "remember cookie after users reset-access",
        me.status == 401 && me.errors() == [MSG_UNAUTHENTICATED],
        "401 envelope with the unauthenticated message",
        &me,
    );
    let mut rows = 4;
    if let Some(tok) = token {
        rows += 1;
        let me = app.me(&tok).await;
        f.check(
            "auth token after users reset-access (both uniquifiers rotate)",
            me.status == 401 && me.errors() == [MSG_UNAUTHENTICATED],
            "401 envelope with the unauthenticated message",
            &me,
        );
    }
    if let Some(s) = session {
        rows += 1;
        let me = app.me(&Cred::Session(s)).await;
        f.check(
            "session after users reset-access",
            me.status == 401 && me.errors() == [MSG_UNAUTHENTICATED],
            "401 envelope with the unauthenticated message",
            &me,
        );
    }
    // The password still works.
    let s = app.login(USER).await;
    let me = app.me(&Cred::Session(s)).await;
    f.check(
        "fresh login after reset-access",
        me.status == 200,
        "200",
        &me,
    );
    f.finish(rows + 1);
}

// ---------------------------------------------------------------------------------------------
// 9. Cache-Control (kept in one test so the rule can be adjusted in one place)
// ---------------------------------------------------------------------------------------------

async fn rampart_responses_are_not_cached(db: Db) {
    let app = App::start(db).await;
    let mut f = Failures::default();
    let mut responses = vec![
        app.get("/login")
            .header("Content-Type", "application/json")
            .send()
            .await,
        app.get("/login").browser().send().await,
        app.login_resp(
            "",
            json!({"email": USER.0, "password": "Wr0ng-correct-horse-9"}),
            &Jar::default(),
        )
        .await,
        app.post("/login")
            .browser()
            .form(&[("email", USER.0), ("password", USER.1)])
            .send()
            .await,
    ];
    let ok = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": USER.1}),
            &Jar::default(),
        )
        .await;
    let s = session_of(&ok, Jar::default());
    responses.push(ok);
    responses.push(app.get("/logout").send().await);
    responses.push(
        app.post("/logout")
            .accept_json()
            .json(json!({}))
            .cred(&Cred::Session(s))
            .send()
            .await,
    );
    let total = responses.len();
    for r in &responses {
        f.check(
            &format!("{} {}", r.method, r.path),
            r.header("cache-control")
                .is_some_and(|v| v.contains("no-store")),
            "Cache-Control containing no-store (compat.md: private, no-store)",
            r,
        );
    }
    f.finish(total);
}

/// Session ids come from the server only (security-testing.md C6): a well-formed id that was
/// never issued, or a malformed one, authenticates nobody, is answered with a deletion of the
/// cookie, and is not adopted by a login (which issues an id of its own).
async fn forged_session_ids_are_refused_and_not_adopted(db: Db) {
    let app = App::start(db).await;
    for forged in ["AAAAAAAAAAAAAAAAAAAAAA", "not-a-session-id"] {
        let mut jar = Jar::default();
        jar.0.insert("session".to_owned(), forged.to_owned());
        let me = app.me(&Cred::Cookies(jar.clone())).await;
        assert_eq!(me.status, 401, "{forged}:\n{me}");
        assert!(
            me.cookie("session").is_some_and(|c| c.is_removal()),
            "the forged cookie {forged} is deleted:\n{me}"
        );
        let r = app
            .login_resp("", json!({"email": USER.0, "password": USER.1}), &jar)
            .await;
        assert_eq!(r.status, 200, "{r}");
        let issued = r.cookie("session").cloned();
        assert!(
            issued.is_some_and(|c| c.value != forged && !c.is_removal()),
            "login issues its own id instead of {forged}:\n{r}"
        );
    }
    app.server.stop().await;
}

/// Flask-Security reads the `Authentication-Token` header first and does not look at
/// `?auth_token=` when the header is there, even when the header holds no valid token: a
/// request cannot pick its credential by sending a second one.
#[tokio::test(flavor = "multi_thread")]
async fn a_present_token_header_wins_over_the_query() {
    let app = App::start(Db::sqlite()).await;
    let token = app.token(USER).await;
    let by_query = app
        .get("/api/me")
        .accept_json()
        .cred(&Cred::Query(token.clone()))
        .send()
        .await;
    assert_eq!(by_query.status, 200, "{by_query}");
    let both = app
        .get("/api/me")
        .accept_json()
        .cred(&Cred::Query(token))
        .header("Authentication-Token", "not-a-token")
        .send()
        .await;
    assert_eq!(both.status, 401, "{both}");
}
