//! The flows end to end: registration and confirmation, reset, change of password and email.

use super::*;

const MSG_API_ERROR: &str = "Input not appropriate for requested API";

on_both_backends!(
    register_confirm_login,
    reset_password_flow,
    change_password_kills_other_sessions,
    change_email_round_trip,
);

async fn register_confirm_login(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink, &[]).await;
    let email = "newcomer@example.com";
    let pw = "Reg1ster-correct-horse";

    // Field errors as Flask-Security reports them.
    let r = post_json(
        &app,
        "/register",
        json!({"email": email, "password": pw, "password_confirm": "other"}),
    )
    .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        errors_of(&r, "password_confirm"),
        vec!["Passwords do not match"],
        "{r}"
    );
    let r = post_json(
        &app,
        "/register",
        json!({"email": "not-an-address", "password": pw, "password_confirm": pw}),
    )
    .await;
    assert_eq!(errors_of(&r, "email"), vec!["Invalid email address"], "{r}");
    let r = post_json(
        &app,
        "/register",
        json!({"email": USER.0, "password": pw, "password_confirm": pw}),
    )
    .await;
    assert_eq!(
        errors_of(&r, "email"),
        vec![format!("{} is already associated with an account.", USER.0)],
        "{r}"
    );
    let r = post_json(
        &app,
        "/register",
        json!({"email": email, "password": "short", "password_confirm": "short"}),
    )
    .await;
    assert_eq!(
        errors_of(&r, "password"),
        vec!["Password must be at least 8 characters"],
        "{r}"
    );
    let r = app
        .get("/register")
        .header("Content-Type", "application/json")
        .send()
        .await;
    assert!(
        is_envelope(&r, 200) && nonempty_str(&r.json["response"]["csrf_token"]),
        "{r}"
    );

    // Registration (with a forged Host header): 200, the welcome mail with the confirm link.
    let r = app
        .post("/register")
        .accept_json()
        .header("Host", "evil.example")
        .json(json!({"email": email, "password": pw, "password_confirm": pw}))
        .send()
        .await;
    assert!(
        is_envelope(&r, 200) && nonempty_str(&r.json["response"]["csrf_token"]),
        "{r}"
    );
    let welcome = sink.last(email, "Welcome").await;
    assert!(
        welcome.header("From").is_some_and(|f| f.contains('@')),
        "{:?}",
        welcome.header("From")
    );
    let confirm = link_path(&welcome, "/confirm/");

    // Login is refused until the address is confirmed.
    let r = login_status(&app, email, pw).await;
    assert_eq!(r.status, 400, "{r}");
    assert!(
        r.errors()
            .contains(&"Email requires confirmation.".to_owned()),
        "{r}"
    );

    // The link confirms and redirects to the login page with the message.
    let r = app.get(&confirm).browser().send().await;
    assert_eq!(r.status, 302, "{r}");
    assert_eq!(location(&r), "/login", "{r}");
    assert!(
        flashed(&app, &r)
            .await
            .contains("Thank you. Your email has been confirmed."),
        "{r}"
    );
    let r = login_status(&app, email, pw).await;
    assert_eq!(r.status, 200, "{r}");

    // Replaying the link: already confirmed, nothing changes.
    let r = app.get(&confirm).browser().send().await;
    assert_eq!(r.status, 302, "{r}");
    assert!(
        flashed(&app, &r)
            .await
            .contains("Your email has already been confirmed."),
        "{r}"
    );
    // A tampered link is refused.
    let r = app.get(&tamper(&confirm)).browser().send().await;
    assert!(
        flashed(&app, &r)
            .await
            .contains("Invalid confirmation token."),
        "{r}"
    );
    // Asking for the instructions again: already confirmed.
    let r = post_json(&app, "/confirm", json!({"email": email})).await;
    assert_eq!(
        errors_of(&r, "email"),
        vec!["Your email has already been confirmed."],
        "{r}"
    );
    let r = post_json(&app, "/confirm", json!({"email": "nobody@example.com"})).await;
    assert_eq!(
        errors_of(&r, "email"),
        vec!["Specified user does not exist"],
        "{r}"
    );

    // A second account, confirmed through a resent link (/confirm).
    let other = "second@example.com";
    let r = post_json(
        &app,
        "/register",
        json!({"email": other, "password": pw, "password_confirm": pw}),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    let r = post_json(&app, "/confirm", json!({"email": other})).await;
    assert!(is_envelope(&r, 200), "{r}");
    let resent = sink.last(other, "Please confirm your email").await;
    let r = app
        .get(&link_path(&resent, "/confirm/"))
        .browser()
        .send()
        .await;
    assert!(
        flashed(&app, &r)
            .await
            .contains("Your email has been confirmed."),
        "{r}"
    );
    assert_eq!(login_status(&app, other, pw).await.status, 200);
    // The registration form for browsers.
    let r = app.get("/register").browser().send().await;
    assert!(
        r.status == 200 && r.text.contains("name=\"password_confirm\""),
        "{r}"
    );
}

async fn reset_password_flow(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink, &[]).await;
    let before = app.login(USER).await;
    let r = post_json(&app, "/reset", json!({"email": "nobody@example.com"})).await;
    assert_eq!(
        errors_of(&r, "email"),
        vec!["Specified user does not exist"],
        "{r}"
    );
    let r = post_json(&app, "/reset", json!({"email": INACTIVE.0})).await;
    assert_eq!(errors_of(&r, "email"), vec!["Account is disabled."], "{r}");

    let r = app
        .post("/reset")
        .accept_json()
        .header("Host", "evil.example")
        .json(json!({"email": USER.0}))
        .send()
        .await;
    assert!(
        is_envelope(&r, 200) && r.json["response"].get("user").is_none(),
        "{r}"
    );
    let mail = sink.last(USER.0, "Password reset instructions").await;
    let link = link_path(&mail, "/reset/");
    let token = link.strip_prefix("/reset/").unwrap().to_owned();

    // The link shows the form; a mismatch and a short password are field errors.
    let r = app.get(&link).browser().send().await;
    assert!(
        r.status == 200 && r.text.contains("name=\"password\""),
        "{r}"
    );
    let r = post_json(
        &app,
        &link,
        json!({"password": NEW_PW, "password_confirm": "x"}),
    )
    .await;
    assert_eq!(
        errors_of(&r, "password_confirm"),
        vec!["Passwords do not match"],
        "{r}"
    );
    let r = post_json(
        &app,
        &link,
        json!({"password": "short", "password_confirm": "short"}),
    )
    .await;
    assert_eq!(r.status, 400, "{r}");

    // The reset: Flask-Security's bare 200 (no auto-login), then the notice.
    let r = post_json(
        &app,
        &link,
        json!({"password": NEW_PW, "password_confirm": NEW_PW}),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(
        r.json,
        json!({"meta": {"code": 200}, "response": {}}),
        "{r}"
    );
    assert!(session_cookie(&r).is_none(), "reset must not sign in:\n{r}");
    sink.last(USER.0, "Your password has been reset").await;

    assert_eq!(
        login_status(&app, USER.0, USER.1).await.status,
        400,
        "old password still works"
    );
    assert_eq!(
        login_status(&app, USER.0, NEW_PW).await.status,
        200,
        "new password refused"
    );
    // The session from before the reset is dead.
    assert_eq!(app.me(&Cred::Session(before)).await.status, 401);

    // Replay: the token was bound to the old password and the old uniquifier.
    let r = post_json(
        &app,
        &link,
        json!({"password": "An0ther-horse-battery", "password_confirm": "An0ther-horse-battery"}),
    )
    .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        errors_of(&r, ""),
        vec!["Invalid reset password token."],
        "{r}"
    );
    let r = app.get(&format!("/reset/{token}")).browser().send().await;
    assert_eq!(r.status, 302, "{r}");
    assert!(location(&r).starts_with("/reset"), "{r}");
    assert!(
        flashed(&app, &r)
            .await
            .contains("Invalid reset password token."),
        "{r}"
    );
    assert_eq!(login_status(&app, USER.0, NEW_PW).await.status, 200);
}

async fn change_password_kills_other_sessions(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink, &[]).await;
    let a = app.login(USER).await;
    let b = app.login(USER).await;
    let token = app.token(USER).await;

    let r = app
        .get("/change")
        .accept_json()
        .cred(&Cred::Session(a.clone()))
        .send()
        .await;
    assert!(
        is_envelope(&r, 200) && r.json["response"]["active_password"] == json!(true),
        "{r}"
    );
    let change = |cur: &str, new: &str, again: &str| json!({"password": cur, "new_password": new, "new_password_confirm": again});
    let r = app
        .post("/change")
        .accept_json()
        .json(change("wrong-password", NEW_PW, NEW_PW))
        .cred(&Cred::Session(a.clone()))
        .send()
        .await;
    assert_eq!(errors_of(&r, "password"), vec![MSG_INVALID_PASSWORD], "{r}");
    let r = app
        .post("/change")
        .accept_json()
        .json(change(USER.1, USER.1, USER.1))
        .cred(&Cred::Session(a.clone()))
        .send()
        .await;
    assert_eq!(
        errors_of(&r, "password"),
        vec!["Your new password must be different than your previous password."],
        "{r}"
    );
    let r = app
        .post("/change")
        .accept_json()
        .json(change(USER.1, NEW_PW, "x"))
        .cred(&Cred::Session(a.clone()))
        .send()
        .await;
    assert_eq!(
        errors_of(&r, "new_password_confirm"),
        vec!["Passwords do not match"],
        "{r}"
    );
    // Without the CSRF token a session caller is refused.
    let r = app
        .post("/change")
        .accept_json()
        .json(change(USER.1, NEW_PW, NEW_PW))
        .cred(&Cred::SessionNoCsrf(a.clone()))
        .send()
        .await;
    assert_eq!(r.status, 400, "{r}");
    assert_eq!(
        login_status(&app, USER.0, USER.1).await.status,
        200,
        "a refused change changed the password"
    );

    let r = app
        .post("/change?include_auth_token")
        .accept_json()
        .json(change(USER.1, NEW_PW, NEW_PW))
        .cred(&Cred::Session(a.clone()))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let new_token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!new_token.is_empty(), "{r}");
    let mut jar = a.jar.clone();
    jar.absorb(&r);
    let a2 = Session {
        jar,
        csrf: r.json["response"]["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };

    assert_eq!(
        app.me(&Cred::Session(a2)).await.status,
        200,
        "the changing session must continue"
    );
    assert_eq!(
        app.me(&Cred::Session(b)).await.status,
        401,
        "another session survived"
    );
    assert_eq!(
        app.me(&Cred::Header(token)).await.status,
        401,
        "an old token survived"
    );
    assert_eq!(app.me(&Cred::Header(new_token)).await.status, 200);
    assert_eq!(login_status(&app, USER.0, USER.1).await.status, 400);
    assert_eq!(login_status(&app, USER.0, NEW_PW).await.status, 200);
    let notice = sink.last(USER.0, "Your password has been changed").await;
    assert!(
        notice
            .links()
            .iter()
            .all(|l| l.starts_with(&format!("http://{MAIL_HOST}/"))),
        "{}",
        notice.decoded()
    );
    // Anonymous callers get 401.
    assert_eq!(app.get("/change").accept_json().send().await.status, 401);

    // A token caller's change never touches a session of someone else sent along with it.
    let admin = app.login(ADMIN).await;
    let user_token = app.token((USER.0, NEW_PW)).await;
    let r = app
        .post("/change")
        .accept_json()
        .header("X-CSRF-Token", &admin.csrf)
        .json(change(
            NEW_PW,
            "Th1rd-correct-horse-9",
            "Th1rd-correct-horse-9",
        ))
        .cred(&Cred::SessionAndToken(admin.clone(), user_token))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let me = app.me(&Cred::Session(admin)).await;
    assert_eq!(
        (me.status, me.json["email"].clone()),
        (200, json!(ADMIN.0)),
        "{me}"
    );

    // The caller's remember-me cookie follows the new identity; the old one is dead.
    let third = "Th1rd-correct-horse-9";
    let rs = app
        .login_with(json!({"email": USER.0, "password": third, "remember": true}))
        .await;
    assert!(rs.jar.0.contains_key(REMEMBER_COOKIE), "{:?}", rs.jar);
    let r = app
        .post("/change")
        .accept_json()
        .json(change(third, NEW_PW, NEW_PW))
        .cred(&Cred::Session(rs.clone()))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert!(
        r.cookie(REMEMBER_COOKIE).is_some_and(|c| !c.is_removal()),
        "{r}"
    );
    let mut jar = rs.jar.clone();
    jar.absorb(&r);
    assert_eq!(
        app.me(&Cred::Cookies(jar.only(REMEMBER_COOKIE)))
            .await
            .status,
        200
    );
    assert_eq!(
        app.me(&Cred::Cookies(rs.jar.only(REMEMBER_COOKIE)))
            .await
            .status,
        401
    );
}

async fn change_email_round_trip(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink, &[]).await;
    let s = app.login(USER).await;
    let new = "renamed@example.com";
    let r = app
        .get("/change-email")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(r.json["response"]["current_email"], json!(USER.0), "{r}");
    let r = app
        .post("/change-email")
        .accept_json()
        .json(json!({"email": ADMIN.0}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(
        errors_of(&r, "email"),
        vec![format!(
            "{} is already associated with an account.",
            ADMIN.0
        )],
        "{r}"
    );

    let r = app
        .post("/change-email")
        .accept_json()
        .json(json!({"email": new}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert!(
        is_envelope(&r, 200) && r.json["response"]["current_email"] == json!(USER.0),
        "{r}"
    );
    let mail = sink.last(new, "Confirm your new email address").await;
    let link = link_path(&mail, "/change-email/");
    // Nothing changes until the link is opened.
    assert_eq!(login_status(&app, USER.0, USER.1).await.status, 200);

    let r = app.get(&link).browser().send().await;
    assert_eq!(r.status, 302, "{r}");
    assert!(
        flashed(&app, &r)
            .await
            .contains("Change of email address confirmed"),
        "{r}"
    );
    let notice = sink
        .last(USER.0, "Your email address has been changed")
        .await;
    assert!(notice.decoded().contains(new), "{}", notice.decoded());
    assert_eq!(login_status(&app, new, USER.1).await.status, 200);
    assert_eq!(login_status(&app, USER.0, USER.1).await.status, 400);
    // The link is bound to the old address: a replay is refused.
    let r = app.get(&link).browser().send().await;
    assert!(flashed(&app, &r).await.contains(MSG_API_ERROR), "{r}");
    // Anonymous callers get 401.
    assert_eq!(
        app.post("/change-email")
            .accept_json()
            .json(json!({"email": "x@example.com"}))
            .send()
            .await
            .status,
        401
    );
}
