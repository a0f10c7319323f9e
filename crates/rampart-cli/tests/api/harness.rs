//! HTTP helpers for the black-box API suite: a request builder over one demo server, a
//! hand-kept cookie jar (so a test can drop, replay or inspect single cookies), credentials
//! for every authentication mechanism, and responses that print themselves in assertion
//! messages.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Db, Run, Server, client_no_redirect, rampart};

/// The `SECRET_KEY` every test server runs with.
pub const TEST_SECRET: &str = "rampart-api-test-secret-key-0123456789abcdef";

pub const ADMIN: (&str, &str) = ("admin@example.com", "Adm1n-correct-horse-9");
pub const USER: (&str, &str) = ("user@example.com", "Us3r-correct-horse-9");
pub const INACTIVE: (&str, &str) = ("inactive@example.com", "Inact1ve-correct-horse-9");
pub const SHORTLIVED: (&str, &str) = ("shortlived@example.com", "Sh0rt-lived-horse-9");

/// Flask-Security's texts (messages.tsv and reference §2–§5).
pub const MSG_UNAUTHENTICATED: &str = "You must sign in to view this resource.";
pub const MSG_INVALID_PASSWORD: &str = "Invalid password";
pub const MSG_USER_DOES_NOT_EXIST: &str = "Specified user does not exist";
pub const MSG_DISABLED_ACCOUNT: &str = "Account is disabled.";
pub const MSG_PASSWORD_NOT_PROVIDED: &str = "Password not provided";
pub const MSG_ANONYMOUS_USER_REQUIRED: &str =
    "You can only access this endpoint when not logged in.";
pub const MSG_REAUTHENTICATION_REQUIRED: &str = "You must reauthenticate to access this endpoint";
/// The demo's replaced unauthz handler (demo-contract.md).
pub const MSG_NOT_PERMITTED: &str = "Not permitted with your privileges";
pub const BASIC_REALM: &str = "Basic realm=\"Login Required\"";
/// Flask-Login's remember-me cookie.
pub const REMEMBER_COOKIE: &str = "remember_token";

pub use rampart_tests::SetCookie;

/// Cookies kept by hand, in the order a browser would keep them (by name, one path).
#[derive(Clone, Debug, Default)]
pub struct Jar(pub BTreeMap<String, String>);

impl Jar {
    /// Stores or removes what the response's `Set-Cookie` headers say.
    pub fn absorb(&mut self, resp: &Resp) {
        for c in &resp.set_cookies {
            if c.is_removal() {
                self.0.remove(&c.name);
            } else {
                self.0.insert(c.name.clone(), c.value.clone());
            }
        }
    }

    /// Only the named cookie (a browser restart keeps the remember cookie, not the session).
    pub fn only(&self, name: &str) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
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

/// A signed-in browser session: its cookies and the CSRF token the server returned.
#[derive(Clone, Debug)]
pub struct Session {
    pub jar: Jar,
    pub csrf: String,
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Cred {
    Anon,
    /// `Authentication-Token` header.
    Header(String),
    /// `?auth_token=` query parameter.
    Query(String),
    /// JSON body key `auth_token`.
    Body(String),
    /// Session cookies plus the `X-CSRF-Token` header.
    Session(Session),
    /// Session cookies without any CSRF token.
    SessionNoCsrf(Session),
    /// Session cookies (no CSRF token) plus a valid `Authentication-Token` header.
    SessionAndToken(Session, String),
    /// Only the given cookies (e.g. the remember cookie after a browser restart).
    Cookies(Jar),
    /// `Authorization: Basic`.
    Basic(String, String),
}

/// A response, fully read.
pub struct Resp {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub set_cookies: Vec<SetCookie>,
    pub text: String,
    /// The body as JSON, `Value::Null` when it is not JSON.
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<&SetCookie> {
        self.set_cookies.iter().find(|c| c.name == name)
    }

    /// `response.errors` of the Flask-Security envelope, as strings.
    pub fn errors(&self) -> Vec<String> {
        self.json["response"]["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e.as_str().unwrap_or("<not a string>").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl fmt::Display for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.path, self.status)?;
        for name in [
            "content-type",
            "location",
            "www-authenticate",
            "cache-control",
        ] {
            if let Some(v) = self.header(name) {
                write!(f, "\n  {name}: {v}")?;
            }
        }
        for c in &self.set_cookies {
            write!(f, "\n  set-cookie: {}", c.raw)?;
        }
        let body: String = self.text.chars().take(1500).collect();
        write!(f, "\n  body: {body}")
    }
}

/// A request being built.
pub struct Req<'a> {
    app: &'a App,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    json: Option<Value>,
    form: Option<String>,
    cred: Cred,
}

impl Req<'_> {
    #[must_use]
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    /// A JSON client: `Accept: application/json`.
    #[must_use]
    pub fn accept_json(self) -> Self {
        self.header("Accept", "application/json")
    }

    /// A browser: `Accept: text/html…`.
    #[must_use]
    pub fn browser(self) -> Self {
        self.header(
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
    }

    /// A JSON body (and `Content-Type: application/json`).
    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.json = Some(body);
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    #[must_use]
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.form = Some(form_encode(pairs));
        self
    }

    #[must_use]
    pub fn cred(mut self, cred: &Cred) -> Self {
        self.cred = cred.clone();
        self
    }

    pub async fn send(self) -> Resp {
        let Req {
            app,
            method,
            mut path,
            mut headers,
            mut json,
            form,
            cred,
        } = self;
        let mut jar = None;
        match cred {
            Cred::Anon => {}
            Cred::Header(t) => headers.push(("Authentication-Token".into(), t)),
            Cred::Query(t) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                path = format!("{path}{sep}auth_token={}", pct(&t));
            }
            Cred::Body(t) => {
                let mut body = json.take().unwrap_or_else(|| json!({}));
                body["auth_token"] = Value::String(t);
                json = Some(body);
            }
            Cred::Session(s) => {
                headers.push(("X-CSRF-Token".into(), s.csrf));
                jar = Some(s.jar);
            }
            Cred::SessionNoCsrf(s) => jar = Some(s.jar),
            Cred::SessionAndToken(s, t) => {
                headers.push(("Authentication-Token".into(), t));
                jar = Some(s.jar);
            }
            Cred::Cookies(j) => jar = Some(j),
            Cred::Basic(user, pw) => headers.push((
                "Authorization".into(),
                format!("Basic {}", base64(format!("{user}:{pw}").as_bytes())),
            )),
        }
        let url = format!("{}{path}", app.base);
        let mut rb = app.http.request(method.clone(), url);
        for (k, v) in &headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(cookie) = jar.as_ref().and_then(Jar::header) {
            rb = rb.header("Cookie", cookie);
        }
        if let Some(body) = json {
            rb = rb
                .header("Content-Type", "application/json")
                .body(body.to_string());
        } else if let Some(body) = form {
            rb = rb
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let set_cookies = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(SetCookie::parse)
            .collect();
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            method,
            path,
            status,
            headers,
            set_cookies,
            text,
            json,
        }
    }
}

/// A demo server on its own database, and the helpers that talk to it.
pub struct App {
    pub server: Server,
    pub db: Db,
    http: reqwest::Client,
    base: String,
}

impl App {
    /// `rampart serve` with the test secret and the test hooks.
    pub async fn start(db: Db) -> Self {
        Self::start_with(db, &[]).await
    }

    /// Like [`App::start`], with extra environment variables (configuration keys).
    pub async fn start_with(db: Db, extra: &[(&str, &str)]) -> Self {
        let mut env = vec![("SECRET_KEY", TEST_SECRET), ("DEMO_TEST_HOOKS", "1")];
        env.extend_from_slice(extra);
        let server = Server::start(&db, &env).await;
        let base = format!("http://127.0.0.1:{}", server.port);
        Self {
            server,
            db,
            http: client_no_redirect(),
            base,
        }
    }

    /// Sends every request to `base` (e.g. a load balancer in front of this server) instead.
    #[allow(dead_code)] // used by some of the test crates that include this file
    pub fn through(&mut self, base: String) {
        self.base = base;
    }

    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            json: None,
            form: None,
            cred: Cred::Anon,
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }

    /// `rampart ARGS…` on the server's database.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Run {
        rampart(&self.db, args, stdin)
    }

    /// `POST /login` with a JSON body (and an optional query string such as
    /// `?include_auth_token`), starting from the given cookies.
    pub async fn login_resp(&self, query: &str, body: Value, jar: &Jar) -> Resp {
        self.post(&format!("/login{query}"))
            .accept_json()
            .json(body)
            .cred(&Cred::Cookies(jar.clone()))
            .send()
            .await
    }

    /// Signs in with a JSON `POST /login`; panics unless it answers 200.
    pub async fn login(&self, (email, password): (&str, &str)) -> Session {
        self.login_with(json!({"email": email, "password": password}))
            .await
    }

    /// Signs in with the given JSON body; panics unless it answers 200.
    pub async fn login_with(&self, body: Value) -> Session {
        let resp = self.login_resp("", body, &Jar::default()).await;
        assert_eq!(resp.status, 200, "login failed:\n{resp}");
        session_of(&resp, Jar::default())
    }

    /// An auth token from `POST /login?include_auth_token`.
    pub async fn token(&self, (email, password): (&str, &str)) -> String {
        let resp = self
            .login_resp(
                "?include_auth_token",
                json!({"email": email, "password": password}),
                &Jar::default(),
            )
            .await;
        assert_eq!(resp.status, 200, "token login failed:\n{resp}");
        resp.json["response"]["user"]["authentication_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| panic!("no response.user.authentication_token:\n{resp}"))
            .to_owned()
    }

    /// `GET /api/me` as a JSON client.
    pub async fn me(&self, cred: &Cred) -> Resp {
        self.get("/api/me").accept_json().cred(cred).send().await
    }

    /// `login_count` from `GET /api/me`; panics unless it answers 200 with a number.
    pub async fn login_count(&self, cred: &Cred) -> i64 {
        let resp = self.me(cred).await;
        assert_eq!(resp.status, 200, "{resp}");
        resp.json["login_count"]
            .as_i64()
            .unwrap_or_else(|| panic!("login_count is not a number:\n{resp}"))
    }
}

/// Collects row failures so one run reports every mismatch, then fails once.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn check(&mut self, row: &str, ok: bool, what: &str, resp: &Resp) {
        if !ok {
            self.0
                .push(format!("[{row}] expected {what}\n  got: {resp}"));
        }
    }

    #[track_caller]
    pub fn finish(self, total: usize) {
        assert!(
            self.0.is_empty(),
            "{} of {total} rows failed:\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

pub fn is_envelope(resp: &Resp, code: u16) -> bool {
    resp.status == code
        && resp.json["meta"]["code"] == json!(code)
        && resp.json["response"].is_object()
}

pub fn nonempty_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

/// The session after a successful login response: the cookies it set (on top of `jar`) and
/// the CSRF token it returned. Panics when it set no session cookie.
pub fn session_of(resp: &Resp, mut jar: Jar) -> Session {
    jar.absorb(resp);
    let csrf = resp.json["response"]["csrf_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| panic!("login response has no response.csrf_token:\n{resp}"))
        .to_owned();
    assert!(
        session_cookie(resp).is_some(),
        "login set no session cookie:\n{resp}"
    );
    Session { jar, csrf }
}

/// The session cookie a response set: any cookie but the remember and XSRF cookies.
pub fn session_cookie(resp: &Resp) -> Option<&SetCookie> {
    resp.set_cookies.iter().find(|c| {
        c.name != REMEMBER_COOKIE && !c.name.eq_ignore_ascii_case("XSRF-TOKEN") && !c.is_removal()
    })
}

/// The token with one character of its signature changed.
pub fn tamper(token: &str) -> String {
    // The first character of the last segment (the HMAC) carries six full bits of it, so a
    // different character there is always a different signature.
    let at = token.rfind('.').map_or(0, |i| i + 1);
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Standard base64 with padding (for `Authorization: Basic`).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes everything but unreserved characters.
pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space, as forms and query strings do).
pub fn pct_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn helpers_encode_like_the_rfcs() {
    assert_eq!(
        base64(b"user@example.com:pw"),
        "dXNlckBleGFtcGxlLmNvbTpwdw=="
    );
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
    assert_eq!(pct("a@b c/"), "a%40b%20c%2F");
    assert_eq!(pct_decode("%2Fapi%2Fme"), "/api/me");
    assert_eq!(pct_decode("/api/me"), "/api/me");
    assert_eq!(tamper("x.y.Abc"), "x.y.Bbc");
    assert_eq!(tamper("x.y.Qbc"), "x.y.Abc");
    let c = SetCookie::parse("id=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=0").unwrap();
    assert_eq!(c.attr("samesite"), Some("Lax"));
    assert_eq!(c.attr("httponly"), Some(""));
    assert!(c.is_removal());
}
