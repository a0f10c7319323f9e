//! Two-factor and WebAuthn pages in Chromium, against a demo server reached as
//! `http://localhost:PORT` (a secure context, and the WebAuthn RP id `localhost`):
//! setting up an authenticator app from the key shown on the setup page (the TOTP code is
//! computed here), the next login asking for the code (a wrong one refused, the right one
//! accepted); recovery codes; the unified sign-in page; a passkey registered and then used to
//! sign in with Chromium's virtual authenticator (WebDriver's WebAuthn extension). No page
//! may log a CSP violation.

use super::*;

/// WebDriver's `POST /session/{id}/webauthn/authenticator`: a virtual security key (CTAP2,
/// resident keys, user verification that succeeds). Its transport is `usb`, not `internal`:
/// a first-factor registration asks for a cross-platform authenticator (as Flask-Security's
/// does), which a platform authenticator never answers.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "usb",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// `GET /session/{id}/webauthn/authenticator/{authenticatorId}/credentials`.
#[derive(Debug)]
struct Credentials(String);

impl WebDriverCompatibleCommand for Credentials {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator/{}/credentials",
            session_id.unwrap_or_default(),
            self.0
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::GET, None)
    }
}

/// The TOTP code of base32 `key` at step `counter` (RFC 6238, 30 s, 6 digits, SHA-1).
fn totp(key: &str, counter: u64) -> String {
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
fn wrong_totp(key: &str) -> String {
    let c = now_counter();
    let used: Vec<String> = (c - 5..=c + 5).map(|n| totp(key, n)).collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|x| !used.contains(x))
        .unwrap()
}

impl Run {
    /// Waits until `css` is on the page (a page the browser reaches by itself, such as the
    /// answer of a WebAuthn ceremony); the page text and console are in the failure.
    async fn wait_for(&mut self, css: &str) {
        let found = self
            .c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await;
        self.check_console().await;
        if found.is_err() {
            let body = self.c.find(Locator::Css("body")).await;
            let text = match body {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!(
                "{css} never appeared on {}:\n{text}\nconsole: {:#?}",
                self.path().await,
                self.log
            );
        }
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn signed_in_as(&self, email: &str) {
        assert_eq!(
            self.text("#signed-in").await,
            format!("Signed in as {email}."),
            "{}",
            self.body().await
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_and_passkeys_in_chromium() {
    if std::env::var_os("RAMPART_SKIP_BROWSER").is_some() {
        eprintln!("RAMPART_SKIP_BROWSER is set: browser test skipped");
        return;
    }
    assert!(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "Chromium is missing: apt-get install chromium chromium-driver (scripts/test-all.sh does)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let (port_s, host) = (port.to_string(), format!("localhost:{port}"));
    let origin = format!("http://{host}");
    let tmp = rampart_tests::TempDir::new("rampart-browser-mfa").unwrap();
    let outbox = tmp.path().join("outbox");
    let outbox_s = outbox.display().to_string();
    let db = Db::sqlite();
    let server = Server::start(
        &db,
        &[
            ("PORT", port_s.as_str()),
            ("SERVER_NAME", host.as_str()),
            ("SECURITY_WAN_RP_ID", "localhost"),
            ("SECURITY_WAN_ORIGINS", origin.as_str()),
            ("MAIL_OUTBOX", outbox_s.as_str()),
        ],
    )
    .await;
    let driver = Driver::start().await;
    let c = driver.browser(&tmp.path().join("profile")).await;
    let mut run = Run {
        c,
        base: origin,
        outbox,
        shots: screenshots_dir(),
        violations: Vec::new(),
        log: Vec::new(),
    };
    let started = Instant::now();
    authenticator_app(&mut run).await;
    recovery_codes(&mut run).await;
    passkey_register(&mut run).await;
    run.logout().await;
    unified_sign_in_page(&mut run).await;
    passkey_sign_in(&mut run).await;
    assert!(
        run.violations.is_empty(),
        "CSP violations: {:#?}",
        run.violations
    );
    eprintln!("multi-factor browser flows took {:?}", started.elapsed());
    run.c.close().await.unwrap();
    server.stop().await;
}

/// Two-factor setup with an authenticator app, then a login that asks for the code.
async fn authenticator_app(run: &mut Run) {
    run.login(USER.0, USER.1).await;
    run.signed_in_as(USER.0).await;
    run.goto("/tf-setup").await;
    run.shot("tf-setup").await;
    assert!(
        !run.text("label[for=setup-0]").await.is_empty(),
        "the method choices have labels"
    );
    run.click("input[name=setup][value=authenticator]").await;
    run.submit("two_factor_setup_form").await;
    let key = run.text("#authr-key").await;
    assert!(key.len() >= 16, "no key on the setup page: {key:?}");
    // The QR code is an image the page was allowed to load (a data: URI under the CSP).
    let width = run
        .c
        .execute(
            "return document.getElementById('qrcode').naturalWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(width.as_u64().unwrap_or(0) >= 100, "QR code: {width}");
    assert_eq!(
        run.attr("#code", "autocomplete").await.as_deref(),
        Some("one-time-code")
    );
    assert_eq!(
        run.attr("#code", "inputmode").await.as_deref(),
        Some("numeric")
    );
    run.shot("tf-setup-authenticator").await;
    let step = now_counter();
    run.fill("#code", &totp(&key, step)).await;
    run.submit("two_factor_verify_code_form").await;
    assert_eq!(run.path().await, "/");
    run.logout().await;

    // The next login asks for the code.
    run.login(USER.0, USER.1).await;
    assert!(
        run.path().await.starts_with("/tf-validate"),
        "{}",
        run.path().await
    );
    run.shot("tf-validate").await;
    run.fill("#code", &wrong_totp(&key)).await;
    run.submit("two_factor_verify_code_form").await;
    assert_eq!(run.text("#code-errors").await, "Invalid code");
    assert_eq!(
        run.attr("#code", "aria-invalid").await.as_deref(),
        Some("true")
    );
    run.shot("tf-validate-error").await;
    // The setup's step is spent: the next one signs in.
    let next = now_counter().max(step + 1);
    run.fill("#code", &totp(&key, next)).await;
    run.submit("two_factor_verify_code_form").await;
    assert_eq!(run.path().await, "/");
    run.signed_in_as(USER.0).await;
}

/// Recovery codes, shown once; then a login that uses one instead of the authenticator (the
/// rescue form of the code page, then `/mf-recovery`).
async fn recovery_codes(run: &mut Run) {
    run.goto("/mf-recovery-codes").await;
    run.shot("mf-recovery-codes-none").await;
    run.submit("mf_recovery_codes_form").await;
    let codes = run
        .c
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .unwrap();
    assert!(codes.len() >= 5, "{} recovery codes", codes.len());
    let code = codes[0].text().await.unwrap();
    run.shot("mf-recovery-codes").await;
    run.logout().await;
    run.login(USER.0, USER.1).await;
    assert!(run.path().await.starts_with("/tf-validate"));
    run.click("input[name=help_setup][value=recovery_code]")
        .await;
    run.submit("two_factor_rescue_form").await;
    assert_eq!(run.path().await, "/mf-recovery");
    run.shot("mf-recovery").await;
    run.fill("#code", &code).await;
    run.submit("mf_recovery_form").await;
    assert_eq!(run.path().await, "/");
    run.signed_in_as(USER.0).await;
}

/// The unified sign-in page's inputs.
async fn unified_sign_in_page(run: &mut Run) {
    run.goto("/us-signin").await;
    run.shot("us-signin").await;
    assert_eq!(
        run.attr("#identity", "autocomplete").await.as_deref(),
        Some("username")
    );
    assert_eq!(
        run.attr("#passcode", "type").await.as_deref(),
        Some("password")
    );
    assert!(
        run.c
            .find(Locator::Css("input[name=chosen_method][value=email]"))
            .await
            .is_ok()
    );
}

/// A passkey registered with the virtual authenticator (signed in and fresh).
async fn passkey_register(run: &mut Run) -> String {
    let id = run.c.issue_cmd(AddVirtualAuthenticator).await.unwrap();
    let id = id.as_str().unwrap().to_owned();
    run.goto("/wan-register").await;
    run.shot("wan-register").await;
    run.fill("#name", "Browser passkey").await;
    run.click("input[name=usage][value=first]").await;
    run.submit("wan_register_form").await;
    // The ceremony page runs rampart-webauthn.js, which posts the authenticator's answer and
    // lands back on the register page with the new passkey listed.
    run.wait_for("#registered-credentials").await;
    let listed = run.text("#registered-credentials").await;
    assert!(listed.contains("Browser passkey"), "{listed}");
    assert!(listed.contains("first"), "{listed}");
    run.shot("wan-registered").await;
    let creds = run.c.issue_cmd(Credentials(id.clone())).await.unwrap();
    let creds = creds.as_array().cloned().unwrap_or_default();
    assert_eq!(creds.len(), 1, "{creds:?}");
    assert_eq!(creds[0]["isResidentCredential"], true, "{creds:?}");
    id
}

/// A passkey sign-in without any identity (a discoverable credential); a user-verified
/// passkey is multi-factor, so no code is asked.
async fn passkey_sign_in(run: &mut Run) {
    run.goto("/login").await;
    run.submit("wan_signin_form").await;
    assert!(
        run.path().await.starts_with("/wan-signin"),
        "{}",
        run.path().await
    );
    run.shot("wan-signin").await;
    assert_eq!(
        run.attr("#identity", "autocomplete").await.as_deref(),
        Some("username webauthn")
    );
    run.submit("wan_signin_form").await;
    run.wait_for("#signed-in").await;
    assert_eq!(run.path().await, "/");
    run.signed_in_as(USER.0).await;
    run.shot("wan-signed-in").await;
}
