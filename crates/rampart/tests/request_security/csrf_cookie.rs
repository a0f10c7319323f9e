//! The readable XSRF-TOKEN cookie: set on `GET /login`, rotated at login, re-issued when
//! invalid or expired, refreshed on every request when configured, set again at a remember-me
//! sign-in, deleted at logout; never a token on its own.

use std::sync::atomic::Ordering;

use rampart::SecurityConfig;
use rampart::csrf_cookie::CsrfCookie;
use serde_json::json;

use crate::csrf::{MISMATCH, MISSING, counted_app};
use crate::support::{Jar, PW, Req, Resp, USER, login};

fn cookie_app_config(c: &mut SecurityConfig) {
    c.csrf_cookie = Some(CsrfCookie::new("XSRF-TOKEN"));
}

fn xsrf(r: &Resp) -> Option<String> {
    r.cookie("XSRF-TOKEN")
        .map(|c| c.split(';').next().unwrap_or_default()["XSRF-TOKEN=".len()..].to_owned())
}

#[tokio::test]
async fn xsrf_cookie_lifecycle() {
    let (app, counter) = counted_app(cookie_app_config).await;
    let r = &app.router;
    // Set on GET /login, with Flask-Security's attributes: readable by scripts.
    let g = Req::new("GET", "/login").accept_json().send(r).await;
    let raw = g
        .cookie("XSRF-TOKEN")
        .expect("XSRF-TOKEN on GET /login")
        .to_owned();
    assert!(raw.contains("Path=/") && raw.contains("SameSite=Strict") && raw.contains("Secure"));
    assert!(!raw.to_ascii_lowercase().contains("httponly"), "{raw}");
    let pre_login = xsrf(&g).unwrap();
    let mut jar = Jar::default();
    jar.absorb(&g);
    // Set again (rotated) on login.
    let (s, lr) = login(r, USER, &jar).await;
    let cookie = xsrf(&lr).expect("XSRF-TOKEN on login");
    assert_ne!(cookie, pre_login);
    // The cookie's value works in the X-XSRF-Token header; the pre-login one no longer does.
    let ok = Req::new("POST", "/state")
        .jar(&s.jar)
        .header("X-XSRF-Token", &cookie)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let stale = Req::new("POST", "/state")
        .jar(&s.jar)
        .header("X-XSRF-Token", &pre_login)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(stale.errors(), [MISMATCH]);
    // The cookie alone is not a token (no naive double submit).
    let alone = Req::new("POST", "/state")
        .jar(&s.jar)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(alone.errors(), [MISSING]);
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    // Not re-sent while it is valid …
    let again = Req::new("GET", "/state").jar(&s.jar).send(r).await;
    assert!(xsrf(&again).is_none(), "{again:?}");
    // … re-issued when the browser's cookie no longer validates (another session's).
    let mut foreign = s.jar.clone();
    foreign.0.insert("XSRF-TOKEN".into(), pre_login.clone());
    let re = Req::new("GET", "/state").jar(&foreign).send(r).await;
    let fresh = xsrf(&re).expect("re-issued");
    let ok = Req::new("POST", "/state")
        .jar(&s.jar)
        .header("X-XSRF-Token", &fresh)
        .json(&json!({}))
        .send(r)
        .await;
    assert_eq!(ok.status, 200);
    // Deleted on logout.
    let out = Req::new("POST", "/logout")
        .accept_json()
        .jar(&s.jar)
        .send(r)
        .await;
    let del = out.cookie("XSRF-TOKEN").expect("deleted on logout");
    assert!(del.contains("Max-Age=0"), "{del}");
}

#[tokio::test]
async fn xsrf_cookie_refresh_on_expiry_each_request_and_remember_me() {
    // Expired under WTF_CSRF_TIME_LIMIT: re-issued.
    let (app, _) = counted_app(|c| {
        cookie_app_config(c);
        c.csrf_time_limit_secs = 1;
    })
    .await;
    let (s, lr) = login(&app.router, USER, &Jar::default()).await;
    let first = xsrf(&lr).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = Req::new("GET", "/state")
        .jar(&s.jar)
        .send(&app.router)
        .await;
    let second = xsrf(&r).expect("expired cookie re-issued");
    assert_ne!(first, second);

    // SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST: on every response of a session that has one.
    let (app, _) = counted_app(|c| {
        let mut k = CsrfCookie::new("XSRF-TOKEN");
        k.refresh_each_request = true;
        c.csrf_cookie = Some(k);
    })
    .await;
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    for _ in 0..3 {
        let r = Req::new("GET", "/state")
            .jar(&s.jar)
            .send(&app.router)
            .await;
        assert!(xsrf(&r).is_some(), "{r:?}");
    }
    // Anonymous requests without a session get none.
    let r = Req::new("GET", "/state").send(&app.router).await;
    assert!(xsrf(&r).is_none());

    // Remember-me: a browser restart (only the remember cookie) gets the cookie again.
    let (app, _) = counted_app(cookie_app_config).await;
    let lr = Req::new("POST", "/login")
        .json(&json!({"email": USER, "password": PW, "remember": true}))
        .send(&app.router)
        .await;
    assert_eq!(lr.status, 200, "{lr:?}");
    let mut jar = Jar::default();
    jar.absorb(&lr);
    let restarted = Jar(jar
        .0
        .into_iter()
        .filter(|(k, _)| k == "remember_token")
        .collect());
    assert_eq!(restarted.0.len(), 1, "{lr:?}");
    let r = Req::new("GET", "/state")
        .accept_json()
        .jar(&restarted)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(xsrf(&r).is_some(), "{r:?}");
}
