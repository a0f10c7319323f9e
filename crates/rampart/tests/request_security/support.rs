//! A small in-process client: requests with a hand-kept cookie jar, responses fully read.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use rampart::datastore::UserDatastore;
use rampart::model::{NewRole, NewUser};
use rampart::password::{Argon2Params, PasswordConfig, PasswordEngine, SingleHash};
use rampart::security::SecurityBuilder;
use rampart::{Security, SecurityConfig};
use serde_json::Value;
use tower::ServiceExt as _;

pub const PW: &str = "correct-horse-battery-9";
pub const USER: &str = "user@x.io";
pub const OTHER: &str = "other@x.io";

/// A configuration with cheap hashing and the demo's CSRF policy.
pub fn config() -> SecurityConfig {
    let mut c = SecurityConfig::default();
    c.secret_key = Some(rampart::config::Secret::new("request-security-test-key"));
    c.password = PasswordConfig {
        single_hash: SingleHash::All,
        argon2: Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..PasswordConfig::default()
    };
    c.csrf_protect_mechanisms = vec![rampart::Mechanism::Session, rampart::Mechanism::Basic];
    c.csrf_ignore_unauth_endpoints = true;
    c
}

/// The router under test, its security and its store.
pub struct App {
    pub router: Router,
    pub security: Security,
    pub store: rampart::sql::SqlDatastore,
    _guard: rampart_tests::StoreGuard,
}

/// Builds an app: `routes` gets the security (to issue tokens etc.), `tweak` the builder.
pub async fn app(
    c: SecurityConfig,
    tweak: impl FnOnce(SecurityBuilder) -> SecurityBuilder,
    routes: Router,
) -> App {
    let (store, guard) = rampart_tests::sqlite_store().await;
    let engine = PasswordEngine::new(c.password.clone()).unwrap();
    store
        .create_role(NewRole {
            name: "admin".into(),
            description: None,
            permissions: vec![],
        })
        .await
        .unwrap();
    for email in [USER, OTHER] {
        store
            .create_user(NewUser {
                email: email.into(),
                password_hash: Some(engine.hash(PW).await.unwrap()),
                active: true,
                ..NewUser::default()
            })
            .await
            .unwrap();
    }
    let builder = Security::builder(c, Arc::new(store.clone()), store.session_store());
    let security = tweak(builder).build().unwrap();
    App {
        router: security.install(routes),
        security,
        store,
        _guard: guard,
    }
}

/// Cookies by name.
#[derive(Clone, Debug, Default)]
pub struct Jar(pub BTreeMap<String, String>);

impl Jar {
    pub fn absorb(&mut self, r: &Resp) {
        for raw in &r.set_cookies {
            let Some(cookie) = rampart_tests::SetCookie::parse(raw) else {
                continue;
            };
            if cookie.is_removal() {
                self.0.remove(cookie.name.trim());
            } else {
                self.0.insert(cookie.name.trim().to_owned(), cookie.value);
            }
        }
    }

    fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub set_cookies: Vec<String>,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` header for cookie `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    pub fn errors(&self) -> Vec<String> {
        self.json["response"]["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request being built.
pub struct Req {
    builder: axum::http::request::Builder,
    body: Body,
}

impl Req {
    pub fn new(method: &str, uri: &str) -> Self {
        Self {
            builder: Request::builder()
                .method(method)
                .uri(uri)
                .header(header::HOST, "app.example.com"),
            body: Body::empty(),
        }
    }

    #[must_use]
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.builder = self.builder.header(k, v);
        self
    }

    /// Replaces the `Host` header.
    #[must_use]
    pub fn host(mut self, host: &str) -> Self {
        if let Some(h) = self.builder.headers_mut() {
            h.insert(header::HOST, host.parse().unwrap());
        }
        self
    }

    #[must_use]
    pub fn accept_json(self) -> Self {
        self.header("accept", "application/json")
    }

    #[must_use]
    pub fn browser(self) -> Self {
        self.header("accept", "text/html,application/xhtml+xml")
    }

    #[must_use]
    pub fn jar(self, jar: &Jar) -> Self {
        match jar.header() {
            Some(c) => self.header("cookie", &c),
            None => self,
        }
    }

    #[must_use]
    pub fn json(mut self, v: &Value) -> Self {
        self.builder = self
            .builder
            .header(header::CONTENT_TYPE, "application/json");
        self.body = Body::from(v.to_string());
        self
    }

    #[must_use]
    pub fn form(mut self, body: &str) -> Self {
        self.builder = self
            .builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.body = Body::from(body.to_owned());
        self
    }

    pub async fn send(self, router: &Router) -> Resp {
        let req = self.builder.body(self.body).unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let set_cookies = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            set_cookies,
            text,
            json,
        }
    }
}

/// A signed-in session: cookies, CSRF token and the auth token issued at login.
#[derive(Clone, Debug)]
pub struct Signed {
    pub jar: Jar,
    pub csrf: String,
    pub token: String,
}

/// JSON login with `?include_auth_token`, starting from `jar`.
pub async fn login(router: &Router, email: &str, jar: &Jar) -> (Signed, Resp) {
    let r = Req::new("POST", "/login?include_auth_token")
        .jar(jar)
        .json(&serde_json::json!({"email": email, "password": PW}))
        .send(router)
        .await;
    assert_eq!(r.status, 200, "login {email}: {r:?}");
    let mut jar = jar.clone();
    jar.absorb(&r);
    let csrf = r.json["response"]["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (Signed { jar, csrf, token }, r)
}

/// The user row by email.
pub async fn user(app: &App, email: &str) -> rampart::model::User {
    app.store.find_user_by_email(email).await.unwrap().unwrap()
}
