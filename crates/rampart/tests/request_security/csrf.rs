//! CSRF in process: methods × mechanisms × token places × failures with the state checked
//! unchanged after each refusal; the XSRF-TOKEN cookie lifecycle; `UnauthCsrf` on an app's own
//! anonymous endpoint; the cross-site (Fetch Metadata / Origin) check.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::{any, post};
use base64::Engine as _;
use rampart::SecurityConfig;
use rampart::csrf::UnauthCsrf;
use rampart::extract::{AnyMechanism, AuthRequired};
use serde_json::json;

use crate::support::{App, Jar, OTHER, PW, Req, USER, app, config, login};

pub const MISSING: &str = "The CSRF token is missing.";
const INVALID: &str = "The CSRF token is invalid.";
const EXPIRED: &str = "The CSRF token has expired.";
pub const MISMATCH: &str = "The CSRF tokens do not match.";
const NO_SESSION_TOKEN: &str = "The CSRF session token is missing.";
const CROSS_SITE: &str = "The referrer does not match the host.";

/// Routes whose successful calls bump a counter: the state a refused request must not change.
fn counted(counter: &Arc<AtomicUsize>) -> Router {
    let (a, b) = (Arc::clone(counter), Arc::clone(counter));
    Router::new()
        .route(
            "/state",
            any(move |_: AuthRequired<AnyMechanism>| {
                let c = Arc::clone(&a);
                async move { c.fetch_add(1, Ordering::SeqCst).to_string() }
            }),
        )
        .route(
            "/contact",
            post(move |_: UnauthCsrf| {
                let c = Arc::clone(&b);
                async move { c.fetch_add(1, Ordering::SeqCst).to_string() }
            }),
        )
}

pub async fn counted_app(tweak: impl FnOnce(&mut SecurityConfig)) -> (App, Arc<AtomicUsize>) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut c = config();
    tweak(&mut c);
    (app(c, |b| b, counted(&counter)).await, counter)
}

#[derive(Clone, Copy, Debug)]
enum Place {
    XCsrfToken,
    XCsrfTokenDash,
    XXsrfToken,
    JsonKey,
    FormField,
    /// Not a place Rampart reads: must be refused.
    Query,
    /// The cookie alone, no header (naive double submit): must be refused.
    CookieOnly,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mech {
    Session,
    SessionAndToken,
    Basic,
}

fn basic() -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PW}"));
    format!("Basic {b64}")
}

fn request(
    method: &str,
    mech: Mech,
    s: &crate::support::Signed,
    place: Place,
    tok: Option<&str>,
) -> Req {
    let uri = match (place, tok) {
        (Place::Query, Some(t)) => format!("/state?csrf_token={t}"),
        _ => "/state".to_owned(),
    };
    let mut jar = s.jar.clone();
    if let (Place::CookieOnly, Some(t)) = (place, tok) {
        jar.0.insert("XSRF-TOKEN".into(), t.to_owned());
    }
    let mut r = Req::new(method, &uri).accept_json();
    r = match mech {
        Mech::Session => r.jar(&jar),
        Mech::SessionAndToken => r.jar(&jar).header("Authentication-Token", &s.token),
        Mech::Basic => r.header("authorization", &basic()),
    };
    match (place, tok) {
        (_, None) | (Place::Query | Place::CookieOnly, _) => r.json(&json!({})),
        (Place::XCsrfToken, Some(t)) => r.header("X-CSRFToken", t).json(&json!({})),
        (Place::XCsrfTokenDash, Some(t)) => r.header("X-CSRF-Token", t).json(&json!({})),
        (Place::XXsrfToken, Some(t)) => r.header("X-XSRF-Token", t).json(&json!({})),
        (Place::JsonKey, Some(t)) => r.json(&json!({"csrf_token": t})),
        (Place::FormField, Some(t)) => r.form(&format!("csrf_token={t}&x=1")),
    }
}

const PLACES: [Place; 7] = [
    Place::XCsrfToken,
    Place::XCsrfTokenDash,
    Place::XXsrfToken,
    Place::JsonKey,
    Place::FormField,
    Place::Query,
    Place::CookieOnly,
];

fn reads(place: Place) -> bool {
    !matches!(place, Place::Query | Place::CookieOnly)
}

#[tokio::test]
async fn methods_mechanisms_places_failures_and_state() {
    let (app, counter) = counted_app(|_| {}).await;
    let (expiring, _) = counted_app(|c| c.csrf_time_limit_secs = 1).await;
    let r = &app.router;
    let (s, _) = login(r, USER, &Jar::default()).await;
    let (other, _) = login(r, OTHER, &Jar::default()).await;
    let (old, _) = login(&expiring.router, USER, &Jar::default()).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let mut failures = Vec::new();
    let mut refusals = 0;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for mech in [Mech::Session, Mech::SessionAndToken, Mech::Basic] {
            for place in PLACES {
                // (failure, token, expected message for session-bound callers)
                let cases: [(&str, Option<&str>, &str); 4] = [
                    ("missing", None, MISSING),
                    ("wrong", Some("not-a-csrf-token"), INVALID),
                    ("another session's", Some(&other.csrf), MISMATCH),
                    ("expired", Some(&old.csrf), EXPIRED),
                ];
                for (what, tok, msg) in cases {
                    let (router, signed) = if what == "expired" {
                        (&expiring.router, &old)
                    } else {
                        (r, &s)
                    };
                    let before = counter.load(Ordering::SeqCst);
                    let resp = request(method, mech, signed, place, tok).send(router).await;
                    refusals += 1;
                    let want = if !reads(place) || tok.is_none() {
                        MISSING
                    } else if mech == Mech::Basic {
                        // Basic callers have no session secret to match.
                        NO_SESSION_TOKEN
                    } else {
                        msg
                    };
                    let ok = resp.status == 400 && resp.errors() == [want];
                    let unchanged = counter.load(Ordering::SeqCst) == before;
                    if !ok || !unchanged {
                        failures.push(format!(
                            "{method} {mech:?} {place:?} {what}: want 400 {want:?}, state unchanged; got {} {} (state changed: {})",
                            resp.status, resp.text, !unchanged
                        ));
                    }
                }
                // Positive control: the session's own token in a place Rampart reads.
                if mech != Mech::Basic && reads(place) {
                    let before = counter.load(Ordering::SeqCst);
                    let resp = request(method, mech, &s, place, Some(&s.csrf))
                        .send(r)
                        .await;
                    if resp.status != 200 || counter.load(Ordering::SeqCst) != before + 1 {
                        failures.push(format!("{method} {mech:?} {place:?} valid: {resp:?}"));
                    }
                }
            }
        }
        // Token-only callers are not CSRF-checked with the demo's mechanisms.
        let resp = Req::new(method, "/state")
            .accept_json()
            .header("Authentication-Token", &s.token)
            .json(&json!({}))
            .send(r)
            .await;
        if resp.status != 200 {
            failures.push(format!("{method} token only: {resp:?}"));
        }
        // Safe methods are never checked.
        let resp = Req::new("GET", "/state")
            .accept_json()
            .jar(&s.jar)
            .send(r)
            .await;
        if resp.status != 200 {
            failures.push(format!("GET session: {resp:?}"));
        }
    }
    assert!(refusals >= 300, "{refusals}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn browsers_get_a_page_json_clients_the_envelope() {
    let (app, counter) = counted_app(|_| {}).await;
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    let r = Req::new("POST", "/state")
        .browser()
        .jar(&s.jar)
        .form("x=1")
        .send(&app.router)
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(r.text.contains(MISSING), "{}", r.text);
    let r = Req::new("POST", "/state")
        .jar(&s.jar)
        .json(&json!({}))
        .send(&app.router)
        .await;
    assert_eq!(r.json["meta"]["code"], json!(400));
    assert_eq!(r.errors(), [MISSING]);
    assert_eq!(counter.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unauth_csrf_on_an_apps_own_endpoint() {
    // SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS on: anonymous callers pass, signed-in ones not.
    let (app, counter) = counted_app(|_| {}).await;
    let r = &app.router;
    let anon = Req::new("POST", "/contact")
        .accept_json()
        .json(&json!({"m": 1}))
        .send(r)
        .await;
    assert_eq!(anon.status, 200, "{anon:?}");
    let (s, _) = login(r, USER, &Jar::default()).await;
    let refused = Req::new("POST", "/contact")
        .accept_json()
        .jar(&s.jar)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(
        (refused.status, refused.errors()),
        (400, vec![MISSING.to_owned()])
    );
    let ok = Req::new("POST", "/contact")
        .jar(&s.jar)
        .header("X-CSRF-Token", &s.csrf)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(counter.load(Ordering::SeqCst), 2);

    // Off: anonymous callers need the token of their pre-session (from GET /login).
    let (app, counter) = counted_app(|c| c.csrf_ignore_unauth_endpoints = false).await;
    let r = &app.router;
    let refused = Req::new("POST", "/contact")
        .accept_json()
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(refused.errors(), [MISSING]);
    let g = Req::new("GET", "/login").accept_json().send(r).await;
    let mut jar = Jar::default();
    jar.absorb(&g);
    let tok = g.json["response"]["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = Req::new("POST", "/contact")
        .accept_json()
        .jar(&jar)
        .header("X-CSRF-Token", "x.y.z")
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(wrong.errors(), [INVALID]);
    let no_session = Req::new("POST", "/contact")
        .accept_json()
        .header("X-CSRF-Token", &tok)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(no_session.errors(), [NO_SESSION_TOKEN]);
    assert_eq!(counter.load(Ordering::SeqCst), 0);
    let ok = Req::new("POST", "/contact")
        .jar(&jar)
        .form(&format!("csrf_token={tok}"))
        .send(r)
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(counter.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cross_site_requests_are_refused_when_configured() {
    let (app, counter) = counted_app(|c| {
        c.csrf_cross_site_check = true;
        c.csrf_trusted_origins = vec!["https://spa.example.net".into()];
    })
    .await;
    let r = &app.router;
    let (s, _) = login(r, USER, &Jar::default()).await;
    let send = |headers: Vec<(&'static str, &'static str)>, token_only: bool| {
        let mut q = Req::new("POST", "/state").accept_json().json(&json!({}));
        q = if token_only {
            q.header("Authentication-Token", &s.token)
        } else {
            q.jar(&s.jar).header("X-CSRF-Token", &s.csrf)
        };
        for (k, v) in headers {
            q = q.header(k, v);
        }
        q.send(r)
    };
    for (headers, refused) in [
        (vec![("sec-fetch-site", "cross-site")], true),
        (vec![("sec-fetch-site", "same-site")], true),
        (vec![("origin", "https://evil.example")], true),
        (vec![("origin", "null")], true),
        (vec![("sec-fetch-site", "same-origin")], false),
        (vec![("origin", "http://app.example.com")], false),
        (vec![], false),
        (
            vec![
                ("origin", "https://spa.example.net"),
                ("sec-fetch-site", "cross-site"),
            ],
            false,
        ),
    ] {
        let before = counter.load(Ordering::SeqCst);
        let resp = send(headers.clone(), false).await;
        if refused {
            assert_eq!(
                (resp.status, resp.errors()),
                (400, vec![CROSS_SITE.to_owned()]),
                "{headers:?}"
            );
            assert_eq!(counter.load(Ordering::SeqCst), before, "{headers:?}");
        } else {
            assert_eq!(resp.status, 200, "{headers:?}: {resp:?}");
        }
    }
    // Token-only clients (no cookie) of other origins are exempt.
    let resp = send(vec![("sec-fetch-site", "cross-site")], true).await;
    assert_eq!(resp.status, 200, "{resp:?}");
    // Login CSRF: a cross-site login POST is refused before any password check.
    let resp = Req::new("POST", "/login")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"email": USER, "password": PW}))
        .send(r)
        .await;
    assert_eq!(
        (resp.status, resp.errors()),
        (400, vec![CROSS_SITE.to_owned()])
    );
    assert!(resp.cookie("session").is_none());
}

fn load(pairs: &[(&str, &str)]) -> Result<SecurityConfig, rampart::config::ConfigError> {
    let mut env: Vec<(String, String)> =
        vec![("SECURITY_PASSWORD_SINGLE_HASH".into(), "true".into())];
    env.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    SecurityConfig::from_toml_and_env(None, env).map(|l| l.config)
}

#[test]
fn csrf_cookie_cross_site_and_redirect_keys() {
    use rampart::csrf_cookie::SameSite;
    assert!(load(&[]).unwrap().csrf_cookie.is_none());
    let c = load(&[
        ("SECURITY_CSRF_COOKIE_NAME", "XSRF-TOKEN"),
        (
            "SECURITY_CSRF_COOKIE",
            r#"{"samesite": "Lax", "httponly": true, "secure": false, "path": "/app"}"#,
        ),
        ("SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST", "true"),
        ("SECURITY_CSRF_CROSS_SITE_CHECK", "true"),
        (
            "SECURITY_CSRF_TRUSTED_ORIGINS",
            "https://a.example,https://b.example",
        ),
        ("SERVER_NAME", "app.example.com"),
        ("SECURITY_REDIRECT_ALLOW_SUBDOMAINS", "true"),
        ("SECURITY_REDIRECT_BASE_DOMAIN", "example.com"),
        ("SECURITY_REDIRECT_ALLOWED_SUBDOMAINS", r#"["api", "."]"#),
    ])
    .unwrap();
    let k = c.csrf_cookie.unwrap();
    assert_eq!(k.name, "XSRF-TOKEN");
    assert_eq!(k.same_site, SameSite::Lax);
    assert!(k.http_only && !k.secure && k.refresh_each_request);
    assert_eq!(k.path, "/app");
    assert!(c.csrf_cross_site_check);
    assert_eq!(c.csrf_trusted_origins.len(), 2);
    assert_eq!(c.redirect.server_name.as_deref(), Some("app.example.com"));
    assert!(c.redirect.allow_subdomains);
    assert_eq!(c.redirect.allowed_subdomains, ["api", "."]);
    // The legacy `key` entry names the cookie.
    let c = load(&[("SECURITY_CSRF_COOKIE", r#"{"key": "XSRF"}"#)]).unwrap();
    assert_eq!(c.csrf_cookie.unwrap().name, "XSRF");
    for (pairs, key) in [
        (
            vec![
                ("SECURITY_CSRF_COOKIE_NAME", "X"),
                ("SECURITY_CSRF_COOKIE", r#"{"samesite": "Loose"}"#),
            ],
            "SECURITY_CSRF_COOKIE",
        ),
        (
            vec![
                ("SECURITY_CSRF_COOKIE_NAME", "X"),
                (
                    "SECURITY_CSRF_COOKIE",
                    r#"{"samesite": "None", "secure": false}"#,
                ),
            ],
            "SECURITY_CSRF_COOKIE",
        ),
        (
            vec![("SECURITY_CSRF_COOKIE_NAME", "bad name;")],
            "SECURITY_CSRF_COOKIE_NAME",
        ),
        (
            vec![("SECURITY_CSRF_CROSS_SITE_CHECK", "maybe")],
            "SECURITY_CSRF_CROSS_SITE_CHECK",
        ),
    ] {
        match load(&pairs) {
            Err(rampart::config::ConfigError::Invalid { key: k, .. }) => {
                assert_eq!(k, key, "{pairs:?}");
            }
            other => panic!("{pairs:?}: expected an error naming {key}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_cross_site_layer_guards_routers_outside_install() {
    let (app, _) = counted_app(|c| c.csrf_cross_site_check = true).await;
    let outside: Router = Router::new()
        .route("/hook", post(|| async { "hooked" }))
        .layer(axum::middleware::from_fn_with_state(
            app.security.clone(),
            rampart::csrf::cross_site_layer,
        ));
    let r = Req::new("POST", "/hook")
        .accept_json()
        .header("origin", "https://evil.example")
        .send(&outside)
        .await;
    assert_eq!((r.status, r.errors()), (400, vec![CROSS_SITE.to_owned()]));
    let r = Req::new("POST", "/hook")
        .header("origin", "http://app.example.com")
        .send(&outside)
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, "hooked"));
}

#[tokio::test]
async fn logout_csrf_confirm_page_for_browsers() {
    let (app, _) = counted_app(|c| c.logout_csrf = true).await;
    let r = &app.router;
    let (s, _) = login(r, USER, &Jar::default()).await;
    // A forged browser logout: nothing happens, the page offers a real sign-out form.
    let page = Req::new("POST", "/logout")
        .browser()
        .jar(&s.jar)
        .form("")
        .send(r)
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.text.contains(MISSING) && page.text.contains("name=\"csrf_token\""),
        "{}",
        page.text
    );
    let me = Req::new("GET", "/state")
        .accept_json()
        .jar(&s.jar)
        .send(r)
        .await;
    assert_eq!(me.status, 200, "still signed in");
    // JSON clients get the envelope.
    let j = Req::new("POST", "/logout")
        .accept_json()
        .jar(&s.jar)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!((j.status, j.errors()), (400, vec![MISSING.to_owned()]));
    // Submitting the page's form signs out.
    let token = page
        .text
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let out = Req::new("POST", "/logout")
        .browser()
        .jar(&s.jar)
        .form(&format!("csrf_token={token}"))
        .send(r)
        .await;
    assert_eq!(out.status, 302, "{out:?}");
    let me = Req::new("GET", "/state")
        .accept_json()
        .jar(&s.jar)
        .send(r)
        .await;
    assert_eq!(me.status, 401);
}
