//! The demo's pages in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `scripts/test-all.sh` installs) driven over WebDriver by fantoccini,
//! against the demo binary. Covers login and logout, registration with the confirmation link
//! from the outbox and the first login, a password reset through the emailed link, a form post
//! without its CSRF token (refused, nothing changed), and the Content-Security-Policy: the
//! browser's console must report no violation on any page (a control injects one and checks
//! that it is seen). Screenshots of the main pages go to `$CARGO_TARGET_DIR/screenshots`
//! (or `target/screenshots`), which git ignores. `browser/mfa.rs` covers the two-factor and
//! WebAuthn pages (an authenticator app, a passkey with Chromium's virtual authenticator).
//!
//! `RAMPART_SKIP_BROWSER=1` skips the test on a machine without Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "browser/mfa.rs"]
mod mfa;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::smtp::{links_in, qp_decode};
use support::{Db, Server};
use tokio::process::{Child, Command};

const USER: (&str, &str) = ("user@example.com", "Us3r-correct-horse-9");
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a loopback port, ended with the test.
struct Driver {
    _child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new headless browser session that keeps its console log.
    async fn browser(&self, profile: &Path) -> Client {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=900,1000",
                    "--no-first-run", "--disable-extensions", "--disable-sync",
                    "--password-store=basic",
                    format!("--user-data-dir={}", profile.display())],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"))
    }
}

/// chromedriver's `POST /session/{id}/se/log {"type": "browser"}`: the console entries since
/// the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// One browser against one demo server, with the CSP violations seen so far.
struct Run {
    c: Client,
    base: String,
    outbox: PathBuf,
    shots: PathBuf,
    violations: Vec<String>,
    log: Vec<String>,
}

impl Run {
    async fn goto(&mut self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
        self.check_console().await;
    }

    /// Reads the console and keeps what the CSP refused.
    async fn check_console(&mut self) {
        let entries = self.c.issue_cmd(BrowserLog).await.unwrap();
        for e in entries.as_array().into_iter().flatten() {
            let msg = e["message"].as_str().unwrap_or_default().to_owned();
            if msg.contains("Content Security Policy") || msg.contains("Refused to") {
                self.violations.push(msg.clone());
            }
            self.log.push(msg);
        }
    }

    async fn path(&self) -> String {
        let url = self.c.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.c.find(Locator::Css(css)).await.unwrap();
        el.attr(name).await.unwrap()
    }

    async fn fill(&self, css: &str, value: &str) {
        let el = self
            .c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    /// Clicks the submit button of form `name` and waits for the next page.
    async fn submit(&mut self, form: &str) {
        let before = self.c.find(Locator::Css("html")).await.unwrap();
        self.c
            .find(Locator::Css(&format!(
                "form[name={form}] button[type=submit]"
            )))
            .await
            .unwrap_or_else(|e| panic!("form {form}: {e}"))
            .click()
            .await
            .unwrap();
        // The old document goes stale once the next one has loaded.
        let deadline = Instant::now() + Duration::from_secs(15);
        while before.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "form {form} did not navigate");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.c
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("body"))
            .await
            .unwrap();
        self.check_console().await;
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// The page's body text.
    async fn body(&self) -> String {
        self.text("body").await
    }

    async fn login(&mut self, email: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.submit("login_user_form").await;
    }

    async fn logout(&mut self) {
        self.goto("/").await;
        self.submit("logout_form").await;
        assert!(
            self.body().await.contains("Not signed in."),
            "{}",
            self.body().await
        );
    }

    /// The newest link under `prefix` in an email to `to` in the outbox.
    async fn mailed_link(&self, to: &str, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
            for entry in std::fs::read_dir(&self.outbox)
                .into_iter()
                .flatten()
                .flatten()
            {
                let raw = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if !raw.contains(&format!("To: {to}\r\n")) {
                    continue;
                }
                let modified = entry.metadata().and_then(|m| m.modified()).unwrap();
                let text = qp_decode(&raw);
                if let Some(link) = links_in(&text).into_iter().find(|l| l.contains(prefix)) {
                    found.push((modified, link));
                }
            }
            found.sort();
            if let Some((_, link)) = found.pop() {
                let path = link.split_once("://").map(|(_, r)| r).unwrap_or(&link);
                return path[path.find('/').unwrap()..].to_owned();
            }
            assert!(Instant::now() < deadline, "no {prefix} email to {to}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_in_chromium() {
    if std::env::var_os("RAMPART_SKIP_BROWSER").is_some() {
        eprintln!("RAMPART_SKIP_BROWSER is set: browser test skipped");
        return;
    }
    assert!(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "Chromium is missing: apt-get install chromium chromium-driver (scripts/test-all.sh does)"
    );
    let tmp = rampart_tests::TempDir::new("rampart-browser").unwrap();
    let outbox = tmp.path().join("outbox");
    let outbox_s = outbox.display().to_string();
    let db = Db::sqlite();
    let server = Server::start(&db, &[("MAIL_OUTBOX", outbox_s.as_str())]).await;
    let driver = Driver::start().await;
    let c = driver.browser(&tmp.path().join("profile")).await;
    let mut run = Run {
        c,
        base: format!("http://127.0.0.1:{}", server.port),
        outbox,
        shots: screenshots_dir(),
        violations: Vec::new(),
        log: Vec::new(),
    };
    let started = Instant::now();
    login_and_logout(&mut run).await;
    register_confirm_and_first_login(&mut run).await;
    password_reset(&mut run).await;
    csrf_token_required(&mut run).await;
    assert!(
        run.violations.is_empty(),
        "CSP violations: {:#?}",
        run.violations
    );
    csp_violations_are_seen(&mut run).await;
    eprintln!("browser flows took {:?}", started.elapsed());
    run.c.close().await.unwrap();
    server.stop().await;
}

async fn login_and_logout(run: &mut Run) {
    run.goto("/").await;
    assert!(run.body().await.contains("Not signed in."));
    run.shot("home-anonymous").await;
    // The stylesheet is served and applied (not blocked).
    let font = run
        .c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .css_value("max-width")
        .await
        .unwrap();
    assert_eq!(font, "448px", "rampart.css not applied");

    run.goto("/login").await;
    run.shot("login").await;
    assert_eq!(
        run.attr("#email", "autocomplete").await.as_deref(),
        Some("username")
    );
    assert_eq!(
        run.attr("#password", "autocomplete").await.as_deref(),
        Some("current-password")
    );
    assert_eq!(
        run.attr("#password", "type").await.as_deref(),
        Some("password")
    );
    assert!(
        run.attr("input[name=csrf_token]", "value")
            .await
            .is_some_and(|v| v.len() > 20)
    );
    assert_eq!(run.text("label[for=email]").await, "Email Address");

    // A wrong password: the form again, the error tied to its input.
    run.fill("#email", USER.0).await;
    run.fill("#password", "not-the-password").await;
    run.submit("login_user_form").await;
    assert_eq!(run.path().await, "/login");
    assert_eq!(
        run.attr("#password", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        run.attr("#password", "aria-describedby").await.as_deref(),
        Some("password-errors")
    );
    assert_eq!(run.text("#password-errors").await, "Invalid password");
    assert_eq!(run.attr("#email", "value").await.as_deref(), Some(USER.0));
    run.shot("login-error").await;

    run.login(USER.0, USER.1).await;
    assert_eq!(run.path().await, "/");
    assert_eq!(
        run.text("#signed-in").await,
        format!("Signed in as {}.", USER.0)
    );
    run.shot("home-signed-in").await;
    run.logout().await;
    // Signed out for real: a protected page sends the browser to the login form.
    run.goto("/change").await;
    let path = run.path().await;
    assert!(
        path.starts_with("/login?next=") && path.contains("change"),
        "{path}"
    );
}

async fn register_confirm_and_first_login(run: &mut Run) {
    let (email, pw) = ("browser-new@example.com", "Br0wser-correct-horse-9");
    run.goto("/register").await;
    run.shot("register").await;
    assert_eq!(
        run.attr("#password_confirm", "autocomplete")
            .await
            .as_deref(),
        Some("new-password")
    );
    run.fill("#email", email).await;
    run.fill("#password", pw).await;
    run.fill("#password_confirm", "something-else-9").await;
    run.submit("register_user_form").await;
    assert_eq!(
        run.text("#password_confirm-errors").await,
        "Passwords do not match"
    );
    run.shot("register-error").await;
    run.fill("#password", pw).await;
    run.fill("#password_confirm", pw).await;
    run.submit("register_user_form").await;
    assert_eq!(run.path().await, "/");
    let flash = run.text(".flashes").await;
    assert!(
        flash.contains(&format!("To confirm your email address {email}")),
        "{flash}"
    );
    run.shot("register-done").await;

    // Not confirmed yet: login is refused.
    run.login(email, pw).await;
    assert!(
        run.text("#email-errors")
            .await
            .contains("Email requires confirmation.")
    );

    let link = run.mailed_link(email, "/confirm/").await;
    run.goto(&link).await;
    assert_eq!(run.path().await, "/login");
    assert_eq!(
        run.text(".flashes").await,
        "Thank you. Your email has been confirmed."
    );
    run.shot("confirmed").await;
    // A flashed message is shown once.
    run.goto("/login").await;
    assert!(run.c.find(Locator::Css(".flashes")).await.is_err());

    run.login(email, pw).await;
    assert_eq!(
        run.text("#signed-in").await,
        format!("Signed in as {email}.")
    );
    run.logout().await;
}

async fn password_reset(run: &mut Run) {
    let new_pw = "N3w-browser-horse-battery";
    run.goto("/reset").await;
    run.fill("#email", USER.0).await;
    run.submit("forgot_password_form").await;
    assert!(
        run.text(".flashes")
            .await
            .contains("Instructions to reset your password have been sent to")
    );
    run.shot("forgot-password").await;
    let link = run.mailed_link(USER.0, "/reset/").await;
    run.goto(&link).await;
    run.shot("reset-password").await;
    assert_eq!(run.attr("#email", "value").await.as_deref(), Some(USER.0));
    assert_eq!(
        run.attr("#email", "readonly").await.as_deref(),
        Some("true")
    );
    run.fill("#password", new_pw).await;
    run.fill("#password_confirm", new_pw).await;
    run.submit("reset_password_form").await;
    assert_eq!(run.path().await, "/login");
    assert!(
        run.text(".flashes")
            .await
            .contains("Please authenticate using your new password.")
    );
    // The link works once.
    run.goto(&link).await;
    assert_eq!(run.path().await, "/reset");
    assert_eq!(run.text(".flashes").await, "Invalid reset password token.");
    run.login(USER.0, USER.1).await;
    assert!(
        run.text("#password-errors")
            .await
            .contains("Invalid password")
    );
    run.login(USER.0, new_pw).await;
    assert_eq!(
        run.text("#signed-in").await,
        format!("Signed in as {}.", USER.0)
    );
    run.logout().await;
}

async fn csrf_token_required(run: &mut Run) {
    let pw = "N3w-browser-horse-battery";
    run.login(USER.0, pw).await;
    run.goto("/change").await;
    run.shot("change-password").await;
    run.fill("#password", pw).await;
    run.fill("#new_password", "An0ther-browser-horse").await;
    run.fill("#new_password_confirm", "An0ther-browser-horse")
        .await;
    // A forged post: the same form without its token.
    run.c
        .execute(
            "document.querySelectorAll('form[name=change_password_form] input[name=csrf_token]')\
             .forEach(e => e.remove());",
            vec![],
        )
        .await
        .unwrap();
    run.submit("change_password_form").await;
    assert!(
        run.body().await.contains("The CSRF token is missing."),
        "{}",
        run.body().await
    );
    // The refusal is the template's page (styled, the reason in its alert).
    assert_eq!(run.text("#csrf-reason").await, "The CSRF token is missing.");
    assert_eq!(run.text("h1").await, "Bad Request");
    run.shot("csrf-refused").await;
    // Nothing changed: the old password still works; then the real form changes it.
    run.logout().await;
    run.login(USER.0, pw).await;
    assert_eq!(
        run.text("#signed-in").await,
        format!("Signed in as {}.", USER.0)
    );
    run.goto("/change").await;
    run.fill("#password", pw).await;
    run.fill("#new_password", "An0ther-browser-horse").await;
    run.fill("#new_password_confirm", "An0ther-browser-horse")
        .await;
    run.submit("change_password_form").await;
    assert_eq!(
        run.text(".flashes").await,
        "You successfully changed your password."
    );
    run.goto("/verify").await;
    run.shot("verify").await;
    run.goto("/change-email").await;
    run.shot("change-email").await;
    run.logout().await;
}

/// The detector works: an inline style the CSP refuses is reported.
async fn csp_violations_are_seen(run: &mut Run) {
    run.goto("/login").await;
    assert!(run.violations.is_empty());
    run.c
        .execute(
            "const s = document.createElement('style'); s.textContent = 'body{color:red}';\
             document.head.appendChild(s);",
            vec![],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    run.check_console().await;
    assert!(
        !run.violations.is_empty(),
        "an inline style went unreported: {:#?}",
        run.log
    );
}
