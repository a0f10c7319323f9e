//! Mail servers that misbehave, the outbox transport, browser forms, SPA redirects, message
//! and subject overrides, usernames and link lifetimes.

use super::*;

/// A mail server that never answers, or refuses everything, never holds a request up.
#[tokio::test(flavor = "multi_thread")]
async fn slow_or_refusing_smtp_never_hangs_the_server() {
    for mode in [Mode::Hang, Mode::Refuse] {
        let sink = SmtpSink::start(mode).await;
        let app = start(Db::sqlite(), &sink, &[]).await;
        for _ in 0..5 {
            let started = Instant::now();
            let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
            assert!(r.status == 200 || r.status == 500, "{mode:?}: {r}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{mode:?}: /reset took {:?}",
                started.elapsed()
            );
        }
        let started = Instant::now();
        let (status, _) = app.server.get("/api/public").await;
        assert_eq!(status, 200);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            sink.messages().is_empty(),
            "{mode:?}: {:?}",
            sink.messages()
        );
    }
    // Nothing listens at all: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("smtp://127.0.0.1:{port}");
    let app = App::start_with(
        Db::sqlite(),
        &[("SMTP_URL", url.as_str()), ("SERVER_NAME", MAIL_HOST)],
    )
    .await;
    let started = Instant::now();
    let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
    assert_eq!(r.status, 200, "{r}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A temporary SMTP failure (451) is retried with backoff and the email arrives.
#[tokio::test(flavor = "multi_thread")]
async fn temporary_smtp_failures_are_retried() {
    let sink = SmtpSink::start(Mode::FailOnce).await;
    let app = start(Db::sqlite(), &sink, &[]).await;
    let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
    assert_eq!(r.status, 200, "{r}");
    sink.last(USER.0, "Password reset instructions").await;
    assert!(sink.attempts() >= 2, "{} attempts", sink.attempts());
    assert_eq!(sink.messages().len(), 1);
}

/// `SMTP_URL` credentials are sent with AUTH PLAIN (allowed in clear text on loopback only).
#[tokio::test(flavor = "multi_thread")]
async fn smtp_authentication() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let url = format!("smtp://mailer:s3cret@127.0.0.1:{}", sink.port);
    let app = App::start_with(
        Db::sqlite(),
        &[("SMTP_URL", url.as_str()), ("SERVER_NAME", MAIL_HOST)],
    )
    .await;
    assert!(!app.server.log.contains("s3cret"), "{}", app.server.log);
    let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
    assert_eq!(r.status, 200, "{r}");
    sink.last(USER.0, "Password reset instructions").await;
    assert_eq!(sink.auths(), vec![base64(b"\0mailer\0s3cret")]);
    // Credentials over an unencrypted connection to another host are refused at start-up.
    let run = support::serve_once(&[
        ("SMTP_URL", "smtp://mailer:s3cret@mail.example.test:25"),
        ("SECRET_KEY", TEST_SECRET),
        ("DATABASE_URL", "sqlite://:memory:"),
    ])
    .await;
    assert_ne!(run.status, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("SMTP_URL") && !run.stderr.contains("s3cret"),
        "{run:?}"
    );
}

/// A graceful shutdown sends what is still queued (the mail server here greets 1 s late).
#[tokio::test(flavor = "multi_thread")]
async fn shutdown_drains_the_mail_queue() {
    let sink = SmtpSink::start(Mode::Slow).await;
    let app = start(Db::sqlite(), &sink, &[]).await;
    let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
    assert_eq!(r.status, 200, "{r}");
    assert!(
        sink.messages().is_empty(),
        "delivered before the shutdown: the test proves nothing"
    );
    let App { server, .. } = app;
    server.stop().await;
    assert_eq!(sink.to(USER.0).len(), 1, "{:?}", sink.messages());
}

/// Browsers post forms and get pages and redirects.
#[tokio::test(flavor = "multi_thread")]
async fn browser_forms() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(Db::sqlite(), &sink, &[]).await;
    let pw = "Br0wser-correct-horse";
    let r = app.get("/reset").browser().send().await;
    assert!(
        r.status == 200 && r.text.contains("name=\"csrf_token\""),
        "{r}"
    );
    let r = app
        .post("/register")
        .browser()
        .form(&[
            ("email", "form@example.com"),
            ("password", pw),
            ("password_confirm", pw),
        ])
        .send()
        .await;
    assert_eq!(r.status, 302, "{r}");
    sink.last("form@example.com", "Welcome").await;
    let r = app
        .post("/register")
        .browser()
        .form(&[
            ("email", "form2@example.com"),
            ("password", pw),
            ("password_confirm", "other"),
        ])
        .send()
        .await;
    assert!(
        r.status == 200 && r.text.contains("Passwords do not match"),
        "{r}"
    );
    let r = app
        .post("/reset")
        .browser()
        .form(&[("email", USER.0)])
        .send()
        .await;
    assert!(
        r.status == 200
            && r.text
                .contains("Instructions to reset your password have been sent to"),
        "{r}"
    );
    let link = link_path(
        &sink.last(USER.0, "Password reset instructions").await,
        "/reset/",
    );
    let r = app
        .post(&link)
        .browser()
        .form(&[("password", NEW_PW), ("password_confirm", NEW_PW)])
        .send()
        .await;
    assert_eq!(r.status, 302, "{r}");
    assert!(location(&r).starts_with("/login"), "{r}");
    assert!(
        flashed(&app, &r)
            .await
            .contains("Please authenticate using your new password."),
        "{r}"
    );
    // HTML escapes what the user typed.
    let r = app
        .post("/reset")
        .browser()
        .form(&[("email", "<script>@x")])
        .send()
        .await;
    assert!(
        !r.text.contains("<script>@x") && r.text.contains("&lt;script&gt;@x"),
        "{r}"
    );
}

/// The demo's default transport: one RFC 5322 `.eml` per email in `MAIL_OUTBOX`.
#[tokio::test(flavor = "multi_thread")]
async fn outbox_transport_writes_eml_files() {
    let dir = rampart_tests::TempDir::new("rampart-outbox").unwrap();
    let outbox = dir.path().join("outbox");
    let outbox_s = outbox.display().to_string();
    let app = App::start_with(Db::sqlite(), &[("MAIL_OUTBOX", outbox_s.as_str())]).await;
    let email = "outboxer@example.com";
    let pw = "0utbox-correct-horse";
    let r = app
        .post("/register")
        .accept_json()
        .header("Host", "evil.example")
        .json(json!({"email": email, "password": pw, "password_confirm": pw}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let mut files = Vec::new();
    for _ in 0..200 {
        files = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(files.len(), 1, "{files:?}");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        raw.contains("\r\nSubject: Welcome\r\n") || raw.starts_with("Subject: Welcome\r\n"),
        "{raw}"
    );
    assert!(raw.contains(&format!("To: {email}\r\n")), "{raw}");
    assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");
    let text = qp_decode(&raw);
    let origin = format!("http://127.0.0.1:{}", app.server.port);
    let link = links_in(&text)
        .into_iter()
        .find(|l| l.contains("/confirm/"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(link.starts_with(&format!("{origin}/confirm/")), "{link}");
    let r = app
        .get(link.strip_prefix(&origin).unwrap())
        .browser()
        .send()
        .await;
    assert!(
        flashed(&app, &r)
            .await
            .contains("Your email has been confirmed."),
        "{r}"
    );
    assert_eq!(login_status(&app, email, pw).await.status, 200);
}

/// `SECURITY_REDIRECT_BEHAVIOR = "spa"`: links opened from emails land on the UI's views.
#[tokio::test(flavor = "multi_thread")]
async fn spa_redirects_for_emailed_links() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(
        Db::sqlite(),
        &sink,
        &[
            ("SECURITY_REDIRECT_BEHAVIOR", "spa"),
            (
                "SECURITY_POST_CONFIRM_VIEW",
                "http://spa.example.test/confirmed",
            ),
            (
                "SECURITY_CONFIRM_ERROR_VIEW",
                "http://spa.example.test/confirm-error",
            ),
            ("SECURITY_RESET_VIEW", "http://spa.example.test/reset"),
            (
                "SECURITY_RESET_ERROR_VIEW",
                "http://spa.example.test/reset-error",
            ),
            ("SECURITY_REDIRECT_HOST", "localhost:8080"),
        ],
    )
    .await;
    let email = "spa-user@example.com";
    let pw = "Sp4-correct-horse-battery";
    let r = post_json(
        &app,
        "/register",
        json!({"email": email, "password": pw, "password_confirm": pw}),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    let confirm = link_path(&sink.last(email, "Welcome").await, "/confirm/");
    let r = app.get(&confirm).send().await;
    let loc = pct_decode(&location(&r));
    assert!(loc.starts_with("http://localhost:8080/confirmed?"), "{r}");
    assert!(
        loc.contains(&format!("email={email}")) && loc.contains(&format!("identity={email}")),
        "{loc}"
    );
    assert!(
        loc.contains("success=Thank you. Your email has been confirmed."),
        "{loc}"
    );
    let r = app.get(&confirm).send().await;
    assert!(
        pct_decode(&location(&r)).starts_with(
            "http://localhost:8080/confirm-error?info=Your email has already been confirmed."
        ),
        "{r}"
    );
    let r = app.get("/confirm/garbage").send().await;
    assert!(
        pct_decode(&location(&r))
            .starts_with("http://localhost:8080/confirm-error?error=Invalid confirmation token."),
        "{r}"
    );

    let r = post_json(&app, "/reset", json!({"email": email})).await;
    assert_eq!(r.status, 200, "{r}");
    let reset = link_path(
        &sink.last(email, "Password reset instructions").await,
        "/reset/",
    );
    let token = reset.strip_prefix("/reset/").unwrap();
    let r = app.get(&reset).send().await;
    assert_eq!(
        location(&r),
        format!("http://localhost:8080/reset?token={token}"),
        "{r}"
    );
    let r = app.get("/reset/garbage").send().await;
    assert!(
        pct_decode(&location(&r))
            .starts_with("http://localhost:8080/reset-error?error=Invalid reset password token."),
        "{r}"
    );
}

/// Every `SECURITY_MSG_*` text is overridable by configuration; subjects too.
#[tokio::test(flavor = "multi_thread")]
async fn messages_and_subjects_are_overridable() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(
        Db::sqlite(),
        &sink,
        &[
            (
                "SECURITY_MSG_USER_DOES_NOT_EXIST",
                "No account with that address",
            ),
            (
                "SECURITY_EMAIL_SUBJECT_PASSWORD_RESET",
                "Reset your Rampart password",
            ),
            (
                "SECURITY_MSG_INVALID_PASSWORD",
                "That password is not right",
            ),
            ("SECURITY_MSG_ANONYMOUS_USER_REQUIRED", "Sign out first"),
        ],
    )
    .await;
    // /login uses the configured texts too.
    let r = post_json(
        &app,
        "/login",
        json!({"email": USER.0, "password": "not-it-1"}),
    )
    .await;
    assert_eq!(
        errors_of(&r, "password"),
        vec!["That password is not right"],
        "{r}"
    );
    let r = post_json(
        &app,
        "/login?include_auth_token",
        json!({"email": USER.0, "password": USER.1}),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let again = app
        .post("/login")
        .accept_json()
        .cred(&Cred::Header(token))
        .json(json!({"email": USER.0, "password": USER.1}))
        .send()
        .await;
    assert_eq!(again.status, 400, "{again}");
    assert_eq!(again.errors(), vec!["Sign out first".to_owned()], "{again}");
    let r = post_json(&app, "/reset", json!({"email": "nobody@example.com"})).await;
    assert_eq!(
        errors_of(&r, "email"),
        vec!["No account with that address"],
        "{r}"
    );
    let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
    assert_eq!(r.status, 200, "{r}");
    sink.last(USER.0, "Reset your Rampart password").await;
}

/// Usernames (`SECURITY_USERNAME_ENABLE`) at registration and `/change-username`.
#[tokio::test(flavor = "multi_thread")]
async fn usernames_at_registration_and_change() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(
        Db::sqlite(),
        &sink,
        &[
            ("SECURITY_USERNAME_ENABLE", "true"),
            ("SECURITY_CHANGE_USERNAME", "true"),
            ("SECURITY_LOGIN_WITHOUT_CONFIRMATION", "true"),
        ],
    )
    .await;
    let pw = "Us3rname-correct-horse";
    let r = post_json(&app, "/register", json!({"email": "named@example.com", "username": "ab", "password": pw, "password_confirm": pw})).await;
    assert_eq!(
        errors_of(&r, "username"),
        vec!["Username must be at least 4 characters and less than 32 characters"],
        "{r}"
    );
    // Confirmation not required for login here: registration signs in, with a token on request.
    let r = app
        .post("/register?include_auth_token")
        .accept_json()
        .json(json!({"email": "named@example.com", "username": "named1", "password": pw, "password_confirm": pw}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.json["response"]["tf_required"], json!(false), "{r}");
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(app.me(&Cred::Header(token.clone())).await.status, 200);
    let r = post_json(&app, "/register", json!({"email": "other@example.com", "username": "named1", "password": pw, "password_confirm": pw})).await;
    assert_eq!(
        errors_of(&r, "username"),
        vec!["named1 is already associated with an account."],
        "{r}"
    );

    let r = app
        .get("/change-username")
        .accept_json()
        .cred(&Cred::Header(token.clone()))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["current_username"],
        json!("named1"),
        "{r}"
    );
    let r = app
        .post("/change-username")
        .accept_json()
        .json(json!({"username": "renamed2"}))
        .cred(&Cred::Header(token.clone()))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    sink.last("named@example.com", "Your username has been changed")
        .await;
    let r = app
        .get("/change-username")
        .accept_json()
        .cred(&Cred::Header(token))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["current_username"],
        json!("renamed2"),
        "{r}"
    );
}

/// `SECURITY_*_WITHIN`: an outdated link is refused with Flask-Security's message.
#[tokio::test(flavor = "multi_thread")]
async fn outdated_links_are_refused() {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(
        Db::sqlite(),
        &sink,
        &[
            ("SECURITY_CONFIRM_EMAIL_WITHIN", "1"),
            ("SECURITY_RESET_PASSWORD_WITHIN", "1"),
        ],
    )
    .await;
    let pw = "Expir1ng-correct-horse";
    let r = post_json(
        &app,
        "/register",
        json!({"email": "late@example.com", "password": pw, "password_confirm": pw}),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    let confirm = link_path(&sink.last("late@example.com", "Welcome").await, "/confirm/");
    let r = post_json(&app, "/reset", json!({"email": USER.0})).await;
    assert_eq!(r.status, 200, "{r}");
    let reset = link_path(
        &sink.last(USER.0, "Password reset instructions").await,
        "/reset/",
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let r = app.get(&confirm).browser().send().await;
    assert!(
        flashed(&app, &r)
            .await
            .contains("You did not confirm your email within 1 second."),
        "{r}"
    );
    let r = post_json(
        &app,
        &reset,
        json!({"password": NEW_PW, "password_confirm": NEW_PW}),
    )
    .await;
    assert_eq!(
        errors_of(&r, ""),
        vec!["You did not reset your password within 1 second. "],
        "{r}"
    );
    assert_eq!(login_status(&app, USER.0, USER.1).await.status, 200);
}

/// `/register` checks `next` with the configured redirect policy, as `/login` does: an
/// off-site `next` is the `INVALID_REDIRECT` field error, a subdomain of `SERVER_NAME` passes
/// only when `SECURITY_REDIRECT_ALLOW_SUBDOMAINS` says so.
#[tokio::test(flavor = "multi_thread")]
async fn register_next_follows_the_redirect_policy() {
    let pw = "Next-correct-horse-9";
    let body = |email: &str, next: &str| json!({"email": email, "password": pw, "password_confirm": pw, "next": next});
    let sub = format!("http://app.{MAIL_HOST}/welcome");
    let sink = SmtpSink::start(Mode::Accept).await;
    let strict = start(Db::sqlite(), &sink, &[]).await;
    for (i, next) in ["https://evil.example/", "//evil.example", sub.as_str()]
        .into_iter()
        .enumerate()
    {
        let r = post_json(
            &strict,
            "/register",
            body(&format!("n{i}@example.com"), next),
        )
        .await;
        assert_eq!(r.status, 400, "{next}:\n{r}");
        assert_eq!(
            errors_of(&r, "next"),
            vec!["Redirections outside the domain are forbidden"],
            "{next}:\n{r}"
        );
    }
    strict.server.stop().await;
    let relaxed = start(
        Db::sqlite(),
        &sink,
        &[("SECURITY_REDIRECT_ALLOW_SUBDOMAINS", "true")],
    )
    .await;
    let r = post_json(&relaxed, "/register", body("sub@example.com", &sub)).await;
    assert_eq!(r.status, 200, "{r}");
    let r = post_json(
        &relaxed,
        "/register",
        body("evil@example.com", "https://evil.example/"),
    )
    .await;
    assert_eq!(
        errors_of(&r, "next"),
        vec!["Redirections outside the domain are forbidden"],
        "{r}"
    );
    relaxed.server.stop().await;
}
