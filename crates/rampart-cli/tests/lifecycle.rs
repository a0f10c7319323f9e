//! Black-box tests of the account lifecycle (flask-security-reference.md §1, §2, §6, §7, §9
//! and compat.md's email section) through the real demo server and a real SMTP exchange with
//! a sink started by each test: registration, confirmation, reset, change of password and
//! email, generic responses, SPA redirects, message overrides, a hung or refusing mail server,
//! and the outbox-directory transport.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use harness::*;
use support::Db;
use support::smtp::{Mode, Received, SmtpSink, links_in, qp_decode};

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

#[path = "lifecycle/compat.rs"]
mod compat;
#[path = "lifecycle/flows.rs"]
mod flows;
#[path = "lifecycle/pages.rs"]
mod pages;
#[path = "lifecycle/settings.rs"]
mod settings;

/// The host every emailed link must use (the demo's `SERVER_NAME`).
const MAIL_HOST: &str = "accounts.example.test";
const NEW_PW: &str = "N3w-correct-horse-battery";

async fn start(db: Db, sink: &SmtpSink, extra: &[(&str, &str)]) -> App {
    let url = sink.url();
    let mut env = vec![("SMTP_URL", url.as_str()), ("SERVER_NAME", MAIL_HOST)];
    env.extend_from_slice(extra);
    App::start_with(db, &env).await
}

/// The path of the one link in `mail` that points at the configured host (checked).
fn link_path(mail: &Received, prefix: &str) -> String {
    let links = mail.links();
    let want = format!("http://{MAIL_HOST}{prefix}");
    let link = links
        .iter()
        .find(|l| l.starts_with(&want))
        .unwrap_or_else(|| panic!("no {want}… link in:\n{}", mail.decoded()));
    assert!(
        !mail.decoded().contains("evil.example"),
        "{}",
        mail.decoded()
    );
    link.strip_prefix(&format!("http://{MAIL_HOST}"))
        .unwrap()
        .to_owned()
}

fn errors_of(r: &Resp, field: &str) -> Vec<String> {
    r.json["response"]["field_errors"][field]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn location(r: &Resp) -> String {
    r.header("location").unwrap_or_default().to_owned()
}

/// The page a browser lands on after the redirect `r` (following further redirects with the
/// cookies set on the way, where a flashed message waits), as text. Asserts that `r` is a
/// redirect without the message in its query (messages are flashed, not carried in URLs).
async fn flashed(app: &App, r: &Resp) -> String {
    assert_eq!(r.status, 302, "{r}");
    assert!(
        !location(r).contains('?'),
        "a message in the redirect's query: {r}"
    );
    let mut jar = Jar::default();
    jar.absorb(r);
    let mut target = location(r);
    for _ in 0..3 {
        let next = app
            .get(&target)
            .cred(&Cred::Cookies(jar.clone()))
            .browser()
            .send()
            .await;
        if next.status != 302 {
            assert_eq!(next.status, 200, "{next}");
            return next.text;
        }
        jar.absorb(&next);
        target = location(&next);
    }
    panic!("too many redirects from {target}");
}

async fn post_json(app: &App, path: &str, body: Value) -> Resp {
    app.post(path).accept_json().json(body).send().await
}

async fn login_status(app: &App, email: &str, password: &str) -> Resp {
    app.login_resp(
        "",
        json!({"email": email, "password": password}),
        &Jar::default(),
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[test]
fn decoding_helpers() {
    assert_eq!(qp_decode("a=3Db=\r\nc"), "a=bc");
    assert_eq!(
        links_in("Use http://h/x/T.y to go\nand https://a/b>"),
        vec!["http://h/x/T.y".to_owned(), "https://a/b".to_owned()]
    );
}
