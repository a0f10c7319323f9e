//! Security headers: panics become a 500 envelope that still carries them, the HTTPS
//! redirect (X-Forwarded-Proto only behind trusted proxies), HSTS options, the CSP from
//! configuration keys (report-only, report URI, nonce directives), per-route overrides and
//! secure defaults for every cookie.

use axum::Router;
use axum::routing::get;
use rampart::SecurityConfig;
use rampart::headers::{ContentSecurityPolicy, CspNonce, RouteHeaders, SecurityHeaders};
use serde_json::json;

use crate::support::{App, Jar, PW, Req, Resp, USER, app, config};

#[allow(clippy::unused_async)]
async fn boom() -> &'static str {
    panic!("handler bug with a secret-ish detail")
}

fn routes() -> Router {
    Router::new()
        .route("/boom", get(boom).post(boom))
        .route("/ok", get(|| async { "ok" }).post(|| async { "posted" }))
        .route("/nonce", get(|CspNonce(n): CspNonce| async move { n }))
        .route(
            "/framed",
            get(|CspNonce(n): CspNonce| async move { n }).layer(
                RouteHeaders::new()
                    .frame_options(Some("SAMEORIGIN"))
                    .csp(Some(
                        ContentSecurityPolicy::strict().directive("frame-ancestors", ["'self'"]),
                    ))
                    .layer(),
            ),
        )
        .route(
            "/handler-override",
            get(|| async {
                (
                    RouteHeaders::new()
                        .csp(None)
                        .referrer_policy(Some("no-referrer"))
                        .permissions_policy(None),
                    "bare",
                )
            })
            .layer(
                RouteHeaders::new()
                    .referrer_policy(Some("same-origin"))
                    .layer(),
            ),
        )
        .route(
            "/app-cookie",
            get(|| async { ([("set-cookie", "prefs=dark; Path=/")], "cookie") }),
        )
}

async fn headers_app(tweak: impl FnOnce(&mut SecurityConfig)) -> App {
    let mut c = config();
    tweak(&mut c);
    app(c, |b| b, routes()).await
}

/// The header set every response must carry (over plain HTTP: no HSTS).
fn has_header_set(r: &Resp) -> bool {
    r.header("content-security-policy")
        .is_some_and(|c| c.contains("object-src 'none'") && c.contains("script-src 'self'"))
        && r.header("x-content-type-options") == Some("nosniff")
        && r.header("x-frame-options") == Some("DENY")
        && r.header("referrer-policy").is_some()
        && r.header("permissions-policy").is_some()
        && r.header("cross-origin-opener-policy") == Some("same-origin")
}

#[tokio::test]
async fn a_panic_is_a_500_envelope_with_the_header_set() {
    let app = headers_app(|_| {}).await;
    for (method, json) in [("GET", true), ("POST", false), ("GET", false)] {
        let mut q = Req::new(method, "/boom");
        q = if json { q.accept_json() } else { q.browser() };
        let r = q.send(&app.router).await;
        assert_eq!(r.status, 500, "{r:?}");
        assert_eq!(
            r.json,
            json!({"meta": {"code": 500}, "response": {"errors": ["Internal Server Error"]}})
        );
        assert!(!r.text.contains("secret-ish"));
        assert!(has_header_set(&r), "{r:?}");
    }
    // The server keeps serving after a panic.
    assert_eq!(Req::new("GET", "/ok").send(&app.router).await.status, 200);
    // With the header layer off (SECURITY_HEADERS = false) a panic is still a 500 envelope.
    let bare = headers_app(|c| c.headers = None).await;
    let r = Req::new("GET", "/boom").send(&bare.router).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json["meta"]["code"], json!(500));
    assert!(r.header("content-security-policy").is_none());
}

#[tokio::test]
async fn error_and_redirect_responses_carry_the_header_set() {
    let app = headers_app(|_| {}).await;
    let cases = [
        Req::new("GET", "/ok"),
        Req::new("GET", "/nowhere").accept_json(),
        Req::new("DELETE", "/ok"),
        Req::new("GET", "/verify").accept_json(),
        Req::new("GET", "/verify").browser(),
        Req::new("POST", "/login")
            .accept_json()
            .json(&json!({"email": USER, "password": "bad-pass-9"})),
        Req::new("POST", "/login").json(&json!({"email": USER, "password": PW})),
        Req::new("POST", "/logout").browser(),
    ];
    let mut statuses = Vec::new();
    for q in cases {
        let r = q.send(&app.router).await;
        assert!(has_header_set(&r), "{r:?}");
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 404, 405, 401, 302, 400, 200, 302]);
}

#[tokio::test]
async fn force_https_and_hsts() {
    let app = headers_app(|c| {
        let mut h = SecurityHeaders::default().with_force_https(true, false);
        h.hsts_preload = true;
        c.headers = Some(h);
    })
    .await;
    let r = Req::new("GET", "/ok?x=1").send(&app.router).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://app.example.com/ok?x=1"));
    assert!(
        has_header_set(&r),
        "the redirect carries the headers: {r:?}"
    );
    assert!(
        r.header("strict-transport-security").is_none(),
        "no HSTS over http"
    );
    // Other methods keep their method and body (307).
    let r = Req::new("POST", "/ok").form("a=1").send(&app.router).await;
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some("https://app.example.com/ok"))
    );
    // X-Forwarded-Proto is not trusted without SECURITY_TRUSTED_PROXIES.
    let r = Req::new("GET", "/ok")
        .header("x-forwarded-proto", "https")
        .send(&app.router)
        .await;
    assert_eq!(r.status, 302);
    // A malformed Host gets no redirect.
    let r = Req::new("GET", "/ok")
        .host("evil.example@x")
        .send(&app.router)
        .await;
    assert_eq!(r.status, 400);

    // Behind one trusted proxy, X-Forwarded-Proto: https is HTTPS: served, with HSTS.
    let proxied = headers_app(|c| {
        c.trusted_proxies = 1;
        let mut h = SecurityHeaders::default().with_force_https(true, true);
        h.hsts_preload = true;
        c.headers = Some(h);
        c.redirect.server_name = Some("www.example.com".into());
    })
    .await;
    let r = Req::new("GET", "/ok")
        .header("x-forwarded-proto", "https")
        .send(&proxied.router)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
    // Permanent redirects (301 / 308) go to SERVER_NAME, not to the Host header.
    let r = Req::new("GET", "/ok")
        .header("x-forwarded-proto", "http")
        .send(&proxied.router)
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("https://www.example.com/ok"))
    );
    let r = Req::new("PUT", "/ok").send(&proxied.router).await;
    assert_eq!(r.status, 308);

    // HSTS options.
    for (age, sub, want) in [
        (600, false, Some("max-age=600")),
        (600, true, Some("max-age=600; includeSubDomains")),
        (0, true, None),
    ] {
        let a = headers_app(|c| {
            c.trusted_proxies = 1;
            c.headers = Some(SecurityHeaders::default().with_hsts(age, sub, false));
        })
        .await;
        let r = Req::new("GET", "/ok")
            .header("x-forwarded-proto", "https")
            .send(&a.router)
            .await;
        assert_eq!(r.header("strict-transport-security"), want);
    }
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

#[tokio::test]
async fn the_nonce_is_made_only_for_handlers_that_ask() {
    let a = headers_app(|_| {}).await;
    // A handler that never asked: the strict policy minus its nonce, the same every time.
    let plain = Req::new("GET", "/ok").send(&a.router).await;
    let again = Req::new("GET", "/ok").send(&a.router).await;
    let csp = plain.header("content-security-policy").unwrap_or_default();
    assert_eq!(
        csp,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(again.header("content-security-policy"), Some(csp));
    // A handler that asked: its nonce, in both nonce directives, fresh per request.
    let n1 = Req::new("GET", "/nonce").send(&a.router).await;
    let n2 = Req::new("GET", "/nonce").send(&a.router).await;
    assert_eq!(n1.text.len(), 24);
    assert_ne!(n1.text, n2.text);
    let csp = n1.header("content-security-policy").unwrap_or_default();
    assert_eq!(
        csp.matches(&format!("'nonce-{}'", n1.text)).count(),
        2,
        "{csp}"
    );
}

#[tokio::test]
async fn csp_and_headers_from_configuration_keys() {
    let c = load(&[
        ("SECURITY_CSP", r#"{"default-src": "'self'", "img-src": ["'self'", "https://img.example"], "object-src": "'none'"}"#),
        ("SECURITY_CSP_NONCE_IN", "script-src"),
        ("SECURITY_CSP_REPORT_ONLY", "true"),
        ("SECURITY_CSP_REPORT_URI", "/csp-report"),
        ("SECURITY_FRAME_OPTIONS", "SAMEORIGIN"),
        ("SECURITY_REFERRER_POLICY", "no-referrer"),
        ("SECURITY_PERMISSIONS_POLICY", ""),
    ])
    .unwrap();
    let mut base = config();
    base.headers = c.headers.clone();
    let a = app(base, |b| b, routes()).await;
    let r = Req::new("GET", "/nonce").send(&a.router).await;
    assert!(
        r.header("content-security-policy").is_none(),
        "report-only mode"
    );
    let csp = r.header("content-security-policy-report-only").unwrap();
    assert_eq!(
        csp,
        format!(
            "default-src 'self'; img-src 'self' https://img.example; object-src 'none'; \
             script-src 'nonce-{}'; report-uri /csp-report",
            r.text
        )
    );
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(r.header("permissions-policy").is_none());

    // The same from a TOML file.
    let toml = "SECURITY_PASSWORD_SINGLE_HASH = true\n\
                SECURITY_CSP = { default-src = \"'self'\", img-src = [\"'self'\", \"data:\"] }\n\
                SECURITY_CSP_REPORT_TO = \"csp\"\nSECURITY_HSTS_PRELOAD = true\n";
    let c = SecurityConfig::from_toml_and_env(Some(toml), Vec::new())
        .unwrap()
        .config;
    let h = c.headers.unwrap();
    assert!(h.hsts_preload);
    assert_eq!(
        h.csp.unwrap().render("N"),
        "default-src 'self'; img-src 'self' data:; script-src 'nonce-N'; style-src 'nonce-N'; \
         report-to csp"
    );

    // Off switches.
    let c = load(&[("SECURITY_CSP", "false")]).unwrap();
    let h = c.headers.unwrap();
    assert!(h.csp.is_none() && h.frame_options.as_deref() == Some("DENY"));
    assert!(
        load(&[("SECURITY_HEADERS", "false")])
            .unwrap()
            .headers
            .is_none()
    );
    assert_eq!(load(&[]).unwrap().headers, Some(SecurityHeaders::default()));

    // Bad values name their key.
    for (pairs, key) in [
        (
            vec![("SECURITY_FRAME_OPTIONS", "ALLOW-FROM x")],
            "SECURITY_FRAME_OPTIONS",
        ),
        (
            vec![("SECURITY_CSP", r#"{"script-src": "'self'; object-src *"}"#)],
            "SECURITY_CSP",
        ),
        (vec![("SECURITY_CSP", "[1]")], "SECURITY_CSP"),
        (
            vec![
                ("SECURITY_HSTS_PRELOAD", "true"),
                ("SECURITY_HSTS_INCLUDE_SUBDOMAINS", "false"),
            ],
            "SECURITY_HSTS_PRELOAD",
        ),
        (
            vec![("SECURITY_HSTS_MAX_AGE", "-1")],
            "SECURITY_HSTS_MAX_AGE",
        ),
        (
            vec![("SECURITY_REFERRER_POLICY", "a\u{7f}b")],
            "SECURITY_REFERRER_POLICY",
        ),
    ] {
        match load(&pairs) {
            Err(rampart::config::ConfigError::Invalid { key: k, .. }) => {
                assert_eq!(k, key, "{pairs:?}")
            }
            other => panic!("{pairs:?}: expected an error naming {key}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn per_route_overrides() {
    let app = headers_app(|_| {}).await;
    // A route layer: frame options and CSP for this route only, with the request's nonce.
    let r = Req::new("GET", "/framed").send(&app.router).await;
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert!(csp.contains(&format!("'nonce-{}'", r.text)), "{csp}");
    // The handler's own overrides win over its route's; None removes a header.
    let r = Req::new("GET", "/handler-override").send(&app.router).await;
    assert!(r.header("content-security-policy").is_none());
    assert!(r.header("permissions-policy").is_none());
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "not overridden");
    // Other routes are unaffected.
    let r = Req::new("GET", "/ok").send(&app.router).await;
    assert!(has_header_set(&r));
}

#[tokio::test]
async fn every_cookie_gets_secure_defaults() {
    // Over HTTPS (behind a trusted proxy) every cookie is Secure, even with
    // SESSION_COOKIE_SECURE off, and every cookie has a SameSite.
    let app = headers_app(|c| c.trusted_proxies = 1).await;
    let r = Req::new("POST", "/login")
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": USER, "password": PW, "remember": true}))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200);
    for name in ["session", "remember_token"] {
        let c = r.cookie(name).unwrap_or_else(|| panic!("{name}: {r:?}"));
        assert!(
            c.contains("; Secure") && c.contains("HttpOnly") && c.contains("SameSite"),
            "{c}"
        );
    }
    let r = Req::new("GET", "/app-cookie")
        .header("x-forwarded-proto", "https")
        .send(&app.router)
        .await;
    assert_eq!(
        r.cookie("prefs"),
        Some("prefs=dark; Path=/; SameSite=Lax; Secure")
    );
    // Over plain HTTP: SameSite still added, Secure not (the browser would drop the cookie).
    let r = Req::new("GET", "/app-cookie").send(&app.router).await;
    assert_eq!(r.cookie("prefs"), Some("prefs=dark; Path=/; SameSite=Lax"));
    let mut jar = Jar::default();
    jar.absorb(&r);
    assert_eq!(jar.0.get("prefs").map(String::as_str), Some("dark"));
}
