//! The authentication decision table: mechanism × endpoint × caller state → answer.
//!
//! Each row is one request. The credentials of every (mechanism, state) pair are made once, by
//! signing in over HTTP (and with the CLI for the deactivated account), then every row is sent
//! and checked; all mismatches are reported together.
//!
//! Expectations come from demo-contract.md (`/api/me`, `/api/mutate`: token or session;
//! `/api/admin`, `/api/perm`: token or session plus role/permission, 403 from the demo's
//! unauthz handler; `/api/basic`: HTTP Basic only) and the reference §2/§4 (401 envelope with
//! "You must sign in to view this resource.", `WWW-Authenticate` only where Basic is allowed).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::harness::Session;
use crate::harness::*;

/// How the credentials travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mech {
    /// No credentials at all.
    Nothing,
    /// `Authentication-Token` header.
    Header,
    /// `?auth_token=` query parameter.
    Query,
    /// JSON body key `auth_token` (only on `POST /api/mutate`).
    Body,
    /// Session cookie with `X-CSRF-Token`.
    Session,
    /// Session cookie without a CSRF token.
    SessionNoCsrf,
    /// Session cookie (no CSRF token) plus the same user's valid token header.
    SessionToken,
    /// `Authorization: Basic`.
    Basic,
}

/// Whose credentials, in which state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anon,
    /// user@example.com (role `user`: wrong role for admin endpoints).
    User,
    /// admin@example.com (role `admin`, permission `admin-write`).
    Admin,
    /// Tokens/session of an account deactivated after sign-in; for Basic, inactive@example.com.
    Inactive,
    /// admin@'s token with one character of its signature changed.
    Tampered,
    /// shortlived@'s token, 3 s after issue (it expires after 2 s).
    Expired,
    /// Basic with a wrong password.
    BadPassword,
    /// user@'s credentials from before `rampart users change-password` (run mid-table).
    PwChanged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ep {
    Me,
    Admin,
    Perm,
    Basic,
    Mutate,
}

impl Ep {
    fn method_path(self) -> (Method, &'static str) {
        match self {
            Ep::Me => (Method::GET, "/api/me"),
            Ep::Admin => (Method::GET, "/api/admin"),
            Ep::Perm => (Method::GET, "/api/perm"),
            Ep::Basic => (Method::GET, "/api/basic"),
            Ep::Mutate => (Method::POST, "/api/mutate"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Want {
    /// 200 `{"email", "roles", "login_count": <int>}`.
    Me(&'static str, &'static [&'static str]),
    /// 200 `{"ok": true, "area": "admin"}`.
    AdminOk,
    /// 200 `{"ok": true, "permission": "admin-write"}`.
    PermOk,
    /// 200 `{"email": …}`.
    BasicOk(&'static str),
    /// 200 `{"ok": true, "mutated": true}`.
    Mutated,
    /// 401 envelope, errors == [UNAUTHENTICATED], no `WWW-Authenticate`.
    Unauthn,
    /// 401 envelope, errors == [UNAUTHENTICATED], `WWW-Authenticate: Basic realm="Login Required"`.
    UnauthnBasic,
    /// 403 `{"status": 403, "msgs": ["Not permitted with your privileges"]}`.
    Forbidden,
}

use Ep as E;
use Mech::*;
use Want::*;

const U: &str = "user@example.com";
const A: &str = "admin@example.com";
const ME_USER: Want = Me(U, &["user"]);
const ME_ADMIN: Want = Me(A, &["admin"]);

#[rustfmt::skip]
const TABLE: &[(Mech, Ep, Who, Want)] = &[
    // Anonymous.
    (Nothing, E::Me,     Who::Anon, Unauthn),
    (Nothing, E::Admin,  Who::Anon, Unauthn),
    (Nothing, E::Perm,   Who::Anon, Unauthn),
    (Nothing, E::Basic,  Who::Anon, UnauthnBasic),
    (Nothing, E::Mutate, Who::Anon, Unauthn),

    // Token in the Authentication-Token header.
    (Header, E::Me,     Who::User, ME_USER),
    (Header, E::Admin,  Who::User, Forbidden),
    (Header, E::Perm,   Who::User, Forbidden),
    (Header, E::Basic,  Who::User, UnauthnBasic),
    (Header, E::Mutate, Who::User, Mutated),
    (Header, E::Me,     Who::Admin, ME_ADMIN),
    (Header, E::Admin,  Who::Admin, AdminOk),
    (Header, E::Perm,   Who::Admin, PermOk),
    (Header, E::Basic,  Who::Admin, UnauthnBasic),
    (Header, E::Mutate, Who::Admin, Mutated),
    (Header, E::Me,     Who::Inactive, Unauthn),
    (Header, E::Admin,  Who::Inactive, Unauthn),
    (Header, E::Perm,   Who::Inactive, Unauthn),
    (Header, E::Basic,  Who::Inactive, UnauthnBasic),
    (Header, E::Mutate, Who::Inactive, Unauthn),
    (Header, E::Me,     Who::Tampered, Unauthn),
    (Header, E::Admin,  Who::Tampered, Unauthn),
    (Header, E::Perm,   Who::Tampered, Unauthn),
    (Header, E::Basic,  Who::Tampered, UnauthnBasic),
    (Header, E::Mutate, Who::Tampered, Unauthn),
    (Header, E::Me,     Who::Expired, Unauthn),
    (Header, E::Admin,  Who::Expired, Unauthn),
    (Header, E::Perm,   Who::Expired, Unauthn),
    (Header, E::Basic,  Who::Expired, UnauthnBasic),
    (Header, E::Mutate, Who::Expired, Unauthn),
    // A password change kills every session, remember cookie and token (compat.md). Rampart
    // rotates `fs_token_uniquifier` too, where Flask-Security would let tokens survive when
    // that column exists: the safer choice, documented in the README.
    (Header, E::Me,     Who::PwChanged, Unauthn),
    (Header, E::Admin,  Who::PwChanged, Unauthn),
    (Header, E::Perm,   Who::PwChanged, Unauthn),
    (Header, E::Basic,  Who::PwChanged, UnauthnBasic),
    (Header, E::Mutate, Who::PwChanged, Unauthn),

    // Token in the auth_token query parameter.
    (Query, E::Me,     Who::User, ME_USER),
    (Query, E::Admin,  Who::User, Forbidden),
    (Query, E::Perm,   Who::User, Forbidden),
    (Query, E::Basic,  Who::User, UnauthnBasic),
    (Query, E::Mutate, Who::User, Mutated),
    (Query, E::Me,     Who::Admin, ME_ADMIN),
    (Query, E::Admin,  Who::Admin, AdminOk),
    (Query, E::Perm,   Who::Admin, PermOk),
    (Query, E::Basic,  Who::Admin, UnauthnBasic),
    (Query, E::Mutate, Who::Admin, Mutated),
    (Query, E::Me,     Who::Inactive, Unauthn),
    (Query, E::Admin,  Who::Inactive, Unauthn),
    (Query, E::Me,     Who::Tampered, Unauthn),
    (Query, E::Admin,  Who::Tampered, Unauthn),
    (Query, E::Perm,   Who::Tampered, Unauthn),
    (Query, E::Me,     Who::Expired, Unauthn),
    (Query, E::Admin,  Who::Expired, Unauthn),
    (Query, E::Me,     Who::PwChanged, Unauthn),
    (Query, E::Admin,  Who::PwChanged, Unauthn),

    // Token in the JSON body.
    (Body, E::Mutate, Who::User, Mutated),
    (Body, E::Mutate, Who::Admin, Mutated),
    (Body, E::Mutate, Who::Inactive, Unauthn),
    (Body, E::Mutate, Who::Tampered, Unauthn),
    (Body, E::Mutate, Who::Expired, Unauthn),
    (Body, E::Mutate, Who::PwChanged, Unauthn),

    // Session cookie (with the CSRF token on unsafe methods).
    (Session, E::Me,     Who::User, ME_USER),
    (Session, E::Admin,  Who::User, Forbidden),
    (Session, E::Perm,   Who::User, Forbidden),
    (Session, E::Basic,  Who::User, UnauthnBasic),
    (Session, E::Mutate, Who::User, Mutated),
    (Session, E::Me,     Who::Admin, ME_ADMIN),
    (Session, E::Admin,  Who::Admin, AdminOk),
    (Session, E::Perm,   Who::Admin, PermOk),
    (Session, E::Basic,  Who::Admin, UnauthnBasic),
    (Session, E::Mutate, Who::Admin, Mutated),
    (Session, E::Me,     Who::Inactive, Unauthn),
    (Session, E::Admin,  Who::Inactive, Unauthn),
    (Session, E::Perm,   Who::Inactive, Unauthn),
    (Session, E::Basic,  Who::Inactive, UnauthnBasic),
    (Session, E::Mutate, Who::Inactive, Unauthn),
    (Session, E::Me,     Who::PwChanged, Unauthn),
    (Session, E::Admin,  Who::PwChanged, Unauthn),
    (Session, E::Perm,   Who::PwChanged, Unauthn),
    (Session, E::Basic,  Who::PwChanged, UnauthnBasic),
    (Session, E::Mutate, Who::PwChanged, Unauthn),
    // Safe methods need no CSRF token, also when a token rides along with the cookie. (The
    // unsafe-method rows of CSRF are in tests/api_csrf.rs.)
    (SessionNoCsrf, E::Me,     Who::User, ME_USER),
    (SessionToken,  E::Me,     Who::User, ME_USER),

    // HTTP Basic: accepted by /api/basic only.
    (Basic, E::Me,     Who::User, Unauthn),
    (Basic, E::Admin,  Who::User, Unauthn),
    (Basic, E::Perm,   Who::User, Unauthn),
    (Basic, E::Basic,  Who::User, BasicOk(U)),
    (Basic, E::Mutate, Who::User, Unauthn),
    (Basic, E::Me,     Who::Admin, Unauthn),
    (Basic, E::Admin,  Who::Admin, Unauthn),
    (Basic, E::Perm,   Who::Admin, Unauthn),
    (Basic, E::Basic,  Who::Admin, BasicOk(A)),
    (Basic, E::Mutate, Who::Admin, Unauthn),
    (Basic, E::Basic,  Who::Inactive, UnauthnBasic),
    (Basic, E::Me,     Who::Inactive, Unauthn),
    (Basic, E::Basic,  Who::BadPassword, UnauthnBasic),
    (Basic, E::Admin,  Who::BadPassword, Unauthn),
    (Basic, E::Basic,  Who::PwChanged, UnauthnBasic),
];

/// A throw-away account that signs in and is then deactivated with the CLI.
const GONE: (&str, &str) = ("gone@example.com", "G0ne-correct-horse-9");
const NEW_USER_PASSWORD: &str = "N3w-correct-horse-9";

struct Creds {
    user_tok: String,
    admin_tok: String,
    gone_tok: String,
    short_tok: String,
    user_sess: Session,
    admin_sess: Session,
    gone_sess: Session,
}

impl Creds {
    fn get(&self, mech: Mech, who: Who) -> Cred {
        let tok = match who {
            Who::User | Who::PwChanged => self.user_tok.clone(),
            Who::Admin => self.admin_tok.clone(),
            Who::Inactive => self.gone_tok.clone(),
            Who::Expired => self.short_tok.clone(),
            Who::Tampered => tamper(&self.admin_tok),
            Who::Anon | Who::BadPassword => String::new(),
        };
        let sess = || match who {
            Who::User | Who::PwChanged => self.user_sess.clone(),
            Who::Admin => self.admin_sess.clone(),
            Who::Inactive => self.gone_sess.clone(),
            other => panic!("no session for {other:?}"),
        };
        let basic = |(e, p): (&str, &str)| Cred::Basic(e.to_owned(), p.to_owned());
        match (mech, who) {
            (_, Who::Anon) | (Nothing, _) => Cred::Anon,
            (Header, _) => Cred::Header(tok),
            (Query, _) => Cred::Query(tok),
            (Body, _) => Cred::Body(tok),
            (Session, _) => Cred::Session(sess()),
            (SessionNoCsrf, _) => Cred::SessionNoCsrf(sess()),
            (SessionToken, _) => Cred::SessionAndToken(sess(), tok),
            (Basic, Who::User | Who::PwChanged) => basic(USER),
            (Basic, Who::Admin) => basic(ADMIN),
            (Basic, Who::Inactive) => basic(INACTIVE),
            (Basic, Who::BadPassword) => basic((USER.0, "Wr0ng-correct-horse-9")),
            (Basic, other) => panic!("no Basic credentials for {other:?}"),
        }
    }
}

fn check(want: Want, r: &Resp) -> (bool, String) {
    let unauthn_body = r.json["meta"]["code"] == json!(401) && r.errors() == [MSG_UNAUTHENTICATED];
    let www = r.header("www-authenticate");
    match want {
        Me(email, roles) => (
            r.status == 200
                && r.json["email"] == json!(email)
                && r.json["roles"] == json!(roles)
                && r.json["login_count"].is_i64(),
            format!("200 {{\"email\":{email:?},\"roles\":{roles:?},\"login_count\":<int>}}"),
        ),
        AdminOk => (
            r.status == 200 && r.json == json!({"ok": true, "area": "admin"}),
            "200 {\"ok\":true,\"area\":\"admin\"}".into(),
        ),
        PermOk => (
            r.status == 200 && r.json == json!({"ok": true, "permission": "admin-write"}),
            "200 {\"ok\":true,\"permission\":\"admin-write\"}".into(),
        ),
        BasicOk(email) => (
            r.status == 200 && r.json == json!({"email": email}),
            format!("200 {{\"email\":{email:?}}}"),
        ),
        Mutated => (
            r.status == 200 && r.json == json!({"ok": true, "mutated": true}),
            "200 {\"ok\":true,\"mutated\":true}".into(),
        ),
        Unauthn => (
            r.status == 401 && unauthn_body && www.is_none(),
            format!("401 envelope with errors == [{MSG_UNAUTHENTICATED:?}], no WWW-Authenticate"),
        ),
        UnauthnBasic => (
            r.status == 401 && unauthn_body && www == Some(BASIC_REALM),
            format!(
                "401 envelope with errors == [{MSG_UNAUTHENTICATED:?}] and \
                 WWW-Authenticate: {BASIC_REALM}"
            ),
        ),
        Forbidden => (
            r.status == 403 && r.json == json!({"status": 403, "msgs": [MSG_NOT_PERMITTED]}),
            format!("403 {{\"status\":403,\"msgs\":[{MSG_NOT_PERMITTED:?}]}}"),
        ),
    }
}

async fn send_row(app: &App, creds: &Creds, row: &(Mech, Ep, Who, Want), f: &mut Failures) {
    let (mech, ep, who, want) = *row;
    let (method, path) = ep.method_path();
    let mut req = app
        .req(method.clone(), path)
        .accept_json()
        .cred(&creds.get(mech, who));
    if ep == Ep::Mutate {
        req = req.json(json!({}));
    }
    let r = req.send().await;
    let (ok, what) = check(want, &r);
    f.check(
        &format!("{mech:?} | {method} {path} | {who:?}"),
        ok,
        &what,
        &r,
    );
}

pub async fn run(app: App) {
    // The short-lived token first, so its 2 s run out while the others are made.
    let short_tok = app.token(SHORTLIVED).await;
    let issued = Instant::now();
    let probe = app.me(&Cred::Header(short_tok.clone())).await;
    if issued.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            probe.status, 200,
            "shortlived@'s token must work before it expires:\n{probe}"
        );
    }

    app.cli(
        &[
            "users",
            "create",
            GONE.0,
            "--password-stdin",
            "--role",
            "user",
            "--confirmed",
        ],
        Some(&format!("{}\n", GONE.1)),
    )
    .ok();
    let creds = Creds {
        user_tok: app.token(USER).await,
        admin_tok: app.token(ADMIN).await,
        gone_tok: app.token(GONE).await,
        short_tok,
        user_sess: app.login(USER).await,
        admin_sess: app.login(ADMIN).await,
        gone_sess: app.login(GONE).await,
    };
    let gone = app.me(&Cred::Session(creds.gone_sess.clone())).await;
    assert_eq!(gone.status, 200, "gone@ before deactivation:\n{gone}");
    app.cli(&["users", "deactivate", GONE.0], None).ok();
    if let Some(wait) = Duration::from_secs(3).checked_sub(issued.elapsed()) {
        tokio::time::sleep(wait).await;
    }

    let mut f = Failures::default();
    for row in TABLE.iter().filter(|r| r.2 != Who::PwChanged) {
        send_row(&app, &creds, row, &mut f).await;
    }

    app.cli(
        &["users", "change-password", USER.0, "--password-stdin"],
        Some(&format!("{NEW_USER_PASSWORD}\n")),
    )
    .ok();
    for row in TABLE.iter().filter(|r| r.2 == Who::PwChanged) {
        send_row(&app, &creds, row, &mut f).await;
    }
    // The change took effect: the new password works, over Basic and at /login.
    let basic = Cred::Basic(USER.0.to_owned(), NEW_USER_PASSWORD.to_owned());
    let r = app
        .get("/api/basic")
        .accept_json()
        .cred(&basic)
        .send()
        .await;
    f.check(
        "Basic | GET /api/basic | new password",
        r.status == 200 && r.json == json!({"email": USER.0}),
        "200 {\"email\":\"user@example.com\"}",
        &r,
    );
    let s = app.login((USER.0, NEW_USER_PASSWORD)).await;
    let r = app.me(&Cred::Session(s)).await;
    let (ok, what) = check(ME_USER, &r);
    f.check(
        "Session | GET /api/me | signed in with the new password",
        ok,
        &what,
        &r,
    );
    f.finish(TABLE.len() + 2);
}
