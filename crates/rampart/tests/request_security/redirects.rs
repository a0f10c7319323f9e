//! The open-redirect corpus through every endpoint that takes `next` (login, `/verify`,
//! logout) and each carrier (query, form, JSON), under the default policy and the
//! allow-list options (`SECURITY_REDIRECT_ALLOW_SUBDOMAINS` with `SERVER_NAME`,
//! `SECURITY_REDIRECT_BASE_DOMAIN` with `SECURITY_REDIRECT_ALLOWED_SUBDOMAINS`).
//!
//! Oracle: the `Location` a browser would follow, resolved against the request URL with the
//! WHATWG parser, must be an http(s) URL on an allowed host with the default port; JSON
//! carriers must refuse with the `next` field error exactly what the form carrier refuses.

use axum::Router;
use rampart::SecurityConfig;
use rampart::redirect::RedirectPolicy;
use serde_json::json;

use crate::corpus::{BYPASSES, SAME_ORIGIN_ODDITIES};
use crate::support::{Jar, PW, Req, Resp, USER, app, config, login};

const INVALID: &str = "Redirections outside the domain are forbidden";

fn pct(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

struct Policy {
    name: &'static str,
    policy: RedirectPolicy,
    allowed_host: fn(&str) -> bool,
    /// Off-site targets this policy allows (positive controls).
    extra_ok: &'static [&'static str],
}

fn policies() -> Vec<Policy> {
    let mut subdomains = RedirectPolicy::default();
    subdomains.server_name = Some("app.example.com".into());
    subdomains.allow_subdomains = true;
    let mut base = RedirectPolicy::default();
    base.base_domain = Some("example.com".into());
    base.allowed_subdomains = vec!["api".into(), ".".into()];
    vec![
        Policy {
            name: "default",
            policy: RedirectPolicy::default(),
            allowed_host: |h| h == "app.example.com",
            extra_ok: &[],
        },
        Policy {
            name: "subdomains",
            policy: subdomains,
            allowed_host: |h| h == "app.example.com" || h.ends_with(".app.example.com"),
            extra_ok: &[
                "https://api.app.example.com/x",
                "http://a.b.app.example.com/",
            ],
        },
        Policy {
            name: "base-domain",
            policy: base,
            allowed_host: |h| matches!(h, "app.example.com" | "api.example.com" | "example.com"),
            extra_ok: &["https://api.example.com/x", "https://example.com/y"],
        },
    ]
}

/// Where a browser goes with this `Location` from `http://app.example.com/…`, if it is allowed.
fn location_ok(p: &Policy, location: &str) -> bool {
    let base = url::Url::parse("http://app.example.com/login").unwrap();
    match base.join(location) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https")
                && u.port().is_none()
                && u.username().is_empty()
                && u.host_str().is_some_and(p.allowed_host)
        }
        Err(_) => false,
    }
}

/// What one carrier made of one value: followed to a Location, refused, or neither.
#[derive(Debug, PartialEq)]
enum Outcome {
    Redirect(String),
    Refused,
    Accepted,
    Other(String),
}

fn outcome(r: &Resp, json: bool) -> Outcome {
    if let Some(l) = r.header("location") {
        return Outcome::Redirect(l.to_owned());
    }
    let refused = if json {
        r.status == 400 && r.json["response"]["field_errors"]["next"] == json!([INVALID])
    } else {
        r.status == 200 && r.text.contains(INVALID)
    };
    if refused {
        Outcome::Refused
    } else if json && r.status == 200 {
        Outcome::Accepted
    } else {
        Outcome::Other(format!(
            "{} {}",
            r.status,
            r.text.chars().take(300).collect::<String>()
        ))
    }
}

async fn policy_app(p: &Policy) -> crate::support::App {
    let mut c: SecurityConfig = config();
    c.redirect = p.policy.clone();
    app(c, |b| b, Router::new()).await
}

#[tokio::test]
async fn corpus_through_login_verify_and_logout() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for p in policies() {
        let app = policy_app(&p).await;
        let r = &app.router;
        let (s, _) = login(r, USER, &Jar::default()).await;
        let values: Vec<&str> = BYPASSES
            .iter()
            .chain(SAME_ORIGIN_ODDITIES)
            .chain(p.extra_ok)
            .chain(&["/ok?a=//evil.com", "https://app.example.com/x"])
            .copied()
            .collect();
        for v in values {
            let creds = format!("email={}&password={PW}", pct(USER));
            let mut results: Vec<(&str, Outcome)> = Vec::new();
            // /login: browser form field, browser query, JSON body, JSON query.
            let form = Req::new("POST", "/login")
                .browser()
                .form(&format!("{creds}&next={}", pct(v)))
                .send(r)
                .await;
            results.push(("login form", outcome(&form, false)));
            let query = Req::new("POST", &format!("/login?next={}", pct(v)))
                .browser()
                .form(&creds)
                .send(r)
                .await;
            results.push(("login query", outcome(&query, false)));
            let j = Req::new("POST", "/login")
                .json(&json!({"email": USER, "password": PW, "next": v}))
                .send(r)
                .await;
            results.push(("login json", outcome(&j, true)));
            // /verify: the signed-in browser session (form and query), a token caller (JSON).
            let vform = Req::new("POST", "/verify")
                .browser()
                .jar(&s.jar)
                .form(&format!(
                    "password={PW}&csrf_token={}&next={}",
                    s.csrf,
                    pct(v)
                ))
                .send(r)
                .await;
            results.push(("verify form", outcome(&vform, false)));
            let vquery = Req::new("POST", &format!("/verify?next={}", pct(v)))
                .browser()
                .jar(&s.jar)
                .form(&format!("password={PW}&csrf_token={}", s.csrf))
                .send(r)
                .await;
            results.push(("verify query", outcome(&vquery, false)));
            let vjson = Req::new("POST", "/verify")
                .header("Authentication-Token", &s.token)
                .json(&json!({"password": PW, "next": v}))
                .send(r)
                .await;
            results.push(("verify json", outcome(&vjson, true)));
            // logout (anonymous browser): an unsafe next falls back to the post-logout view.
            for (name, uri, body) in [
                (
                    "logout form",
                    "/logout".to_owned(),
                    format!("next={}", pct(v)),
                ),
                (
                    "logout query",
                    format!("/logout?next={}", pct(v)),
                    String::new(),
                ),
            ] {
                let lo = Req::new("POST", &uri).browser().form(&body).send(r).await;
                results.push((name, outcome(&lo, false)));
            }
            cases += results.len();
            let form_refused = matches!(results[0].1, Outcome::Refused);
            for (carrier, o) in &results {
                let bad = match o {
                    Outcome::Redirect(l) => !location_ok(&p, l),
                    Outcome::Refused => carrier.starts_with("logout"),
                    Outcome::Accepted => form_refused,
                    Outcome::Other(_) => true,
                };
                let json_disagrees =
                    carrier.ends_with("json") && (matches!(o, Outcome::Refused) != form_refused);
                if bad || json_disagrees {
                    failures.push(format!("[{}] {v:?} via {carrier}: {o:?}", p.name));
                }
            }
            // Positive controls are really followed.
            if p.extra_ok.contains(&v) && results[0].1 != Outcome::Redirect(v.to_owned()) {
                failures.push(format!(
                    "[{}] {v:?} not followed: {:?}",
                    p.name, results[0].1
                ));
            }
            // Every bypass is refused under the default policy.
            if p.name == "default" && BYPASSES.contains(&v) && !form_refused {
                failures.push(format!(
                    "[default] bypass {v:?} not refused: {:?}",
                    results[0].1
                ));
            }
        }
    }
    assert!(cases > 1000, "{cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
