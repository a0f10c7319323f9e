//! Black-box CSRF decisions of the demo server (demo-contract.md, "Features switched on"): CSRF
//! is checked for the session mechanism, never for token-only callers, not on unauthenticated
//! endpoints such as `/login`, and a request that carries a session cookie is a session request
//! even when it also carries a token. Failures answer in the client's language (compat.md):
//! the JSON envelope with Flask-WTF's message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

use reqwest::Method;
use serde_json::{Value, json};

use harness::*;
use support::Db;

const MSG_CSRF_MISSING: &str = "The CSRF token is missing.";
const MSG_CSRF_INVALID: &str = "The CSRF token is invalid.";

enum Want {
    Ok(Value),
    CsrfError(&'static str),
}

/// (row, method, path, credentials, extra header, JSON body, expectation)
type Row<'a> = (
    &'a str,
    Method,
    &'a str,
    Cred,
    Option<(&'a str, &'a str)>,
    Value,
    Want,
);

async fn csrf_decisions(db: Db) {
    let app = App::start(db).await;
    let s = app.login(USER).await;
    let tok = app.token(USER).await;
    let garbage = Session {
        jar: s.jar.clone(),
        csrf: "not-a-csrf-token".to_owned(),
    };
    let other = app.login(ADMIN).await;
    let crossed = Session {
        jar: s.jar.clone(),
        csrf: other.csrf.clone(),
    };
    let mutated = json!({"ok": true, "mutated": true});
    let nocsrf = Cred::SessionNoCsrf(s.clone());

    let post = Method::POST;
    let patch = Method::PATCH;
    let ok = || Want::Ok(mutated.clone());
    let missing = || Want::CsrfError(MSG_CSRF_MISSING);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("session + X-CSRF-Token", post.clone(), "/api/mutate", Cred::Session(s.clone()), None, json!({}), ok()),
        ("session + X-CSRFToken", post.clone(), "/api/mutate", nocsrf.clone(), Some(("X-CSRFToken", &s.csrf)), json!({}), ok()),
        ("session + X-XSRF-Token", post.clone(), "/api/mutate", nocsrf.clone(), Some(("X-XSRF-Token", &s.csrf)), json!({}), ok()),
        ("session + csrf_token JSON key", post.clone(), "/api/mutate", nocsrf.clone(), None, json!({"csrf_token": s.csrf}), ok()),
        ("token only, no CSRF token", post.clone(), "/api/mutate", Cred::Header(tok.clone()), None, json!({}), ok()),
        ("session, no CSRF token", post.clone(), "/api/mutate", nocsrf.clone(), None, json!({}), missing()),
        ("session + valid token header, no CSRF token", post.clone(), "/api/mutate", Cred::SessionAndToken(s.clone(), tok.clone()), None, json!({}), missing()),
        ("session + another session's CSRF token", post.clone(), "/api/mutate", Cred::Session(crossed), None, json!({}), Want::CsrfError("The CSRF tokens do not match.")),
        ("session + garbage X-CSRF-Token", post.clone(), "/api/mutate", Cred::Session(garbage), None, json!({}), Want::CsrfError(MSG_CSRF_INVALID)),
        ("session, no CSRF token, PATCH doc", patch, "/api/docs/1", nocsrf.clone(), None, json!({"title": "csrf"}), missing()),
        ("session, no CSRF token, fresh", post, "/api/fresh", nocsrf.clone(), None, json!({}), missing()),
    ];
    let mut f = Failures::default();
    let total = rows.len();
    for (row, method, path, cred, header, body, want) in rows {
        let mut req = app.req(method, path).accept_json().json(body).cred(&cred);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let r = req.send().await;
        match want {
            Want::Ok(body) => {
                f.check(
                    row,
                    r.status == 200 && r.json == body,
                    &format!("200 {body}"),
                    &r,
                );
            }
            Want::CsrfError(msg) => f.check(
                row,
                is_envelope(&r, 400) && r.errors() == [msg],
                &format!("400 envelope with errors == [{msg:?}]"),
                &r,
            ),
        }
    }
    f.finish(total);
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_decisions_on_sqlite() {
    csrf_decisions(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_decisions_on_postgres() {
    csrf_decisions(Db::postgres().await).await;
}

/// `SECURITY_CSRF_HEADER` names one more header the token may come in, for the session checks
/// of the application's endpoints and for Rampart's own anonymous-CSRF endpoints alike; the
/// standard headers keep working.
#[tokio::test(flavor = "multi_thread")]
async fn configured_csrf_header_is_read_everywhere() {
    let app = App::start_with(
        Db::sqlite(),
        &[
            ("SECURITY_CSRF_HEADER", "X-App-Csrf"),
            ("SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS", "false"),
        ],
    )
    .await;
    let s = app.login(USER).await;
    let nocsrf = Cred::SessionNoCsrf(s.clone());
    let post = |header: Option<(&str, &str)>, path: &str| {
        let mut req = app.post(path).accept_json().json(json!({})).cred(&nocsrf);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        req
    };
    let r = post(Some(("X-App-Csrf", &s.csrf)), "/api/mutate")
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let r = post(Some(("X-CSRF-Token", &s.csrf)), "/api/mutate")
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let r = post(None, "/api/mutate").send().await;
    assert!(
        is_envelope(&r, 400) && r.errors() == [MSG_CSRF_MISSING],
        "{r}"
    );
    // An anonymous-CSRF lifecycle endpoint of the same session: the header is read there too.
    let reset = |header: Option<(&str, &str)>| {
        let mut req = app
            .post("/reset")
            .accept_json()
            .json(json!({"email": USER.0}))
            .cred(&nocsrf);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        req
    };
    let r = reset(None).send().await;
    assert_eq!(r.status, 400, "{r}");
    let r = reset(Some(("X-App-Csrf", &s.csrf))).send().await;
    assert_eq!(r.status, 200, "{r}");
    app.server.stop().await;
}
