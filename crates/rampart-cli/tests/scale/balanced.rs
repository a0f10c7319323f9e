//! Two `rampart serve` instances behind a real nginx, sharing one PostgreSQL database and one
//! Redis: a login through one instance is honoured by both, a logout through the other kills
//! the session everywhere, and a password change on one revokes tokens on both.

use std::collections::BTreeSet;

use serde_json::json;

use crate::harness::*;
use crate::nginx::Nginx;
use crate::servers::PrivateRedis;
use crate::support::{Db, Server};

/// Which instance served the response (`X-Demo-Instance`).
fn served_by(resp: &Resp) -> String {
    resp.header("x-demo-instance")
        .unwrap_or_else(|| panic!("no X-Demo-Instance header:\n{resp}"))
        .to_owned()
}

/// Two instances (`a` = upstream 0, `b` = upstream 1) and nginx; `app` talks to nginx.
struct Cluster {
    app: App,
    _b: Server,
    nginx: Nginx,
    _redis: PrivateRedis,
}

async fn cluster() -> Cluster {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let db = Db::postgres().await;
    let shared_url = db.url.clone();
    let common = [
        ("REDIS_URL", url.as_str()),
        ("SECURITY_TRUSTED_PROXIES", "1"),
    ];
    let mut env_a = common.to_vec();
    env_a.push(("DEMO_INSTANCE", "a"));
    let mut app = App::start_with(db, &env_a).await;
    let mut env_b = common.to_vec();
    env_b.extend([
        ("DEMO_INSTANCE", "b"),
        ("SECRET_KEY", TEST_SECRET),
        ("DEMO_TEST_HOOKS", "1"),
    ]);
    let b = Server::start(&Db::at(shared_url), &env_b).await;
    let nginx = Nginx::start(&[app.server.port, b.port]);
    app.through(format!("http://127.0.0.1:{}", nginx.port));
    Cluster {
        app,
        _b: b,
        nginx,
        _redis: redis,
    }
}

impl Cluster {
    /// `GET /api/me` through nginx on upstream `backend` (round-robin when `None`).
    async fn me(&self, cred: &Cred, backend: Option<usize>) -> Resp {
        let mut req = self.app.get("/api/me").accept_json().cred(cred);
        if let Some(n) = backend {
            req = req.header("X-Test-Backend", &n.to_string());
        }
        req.send().await
    }

    async fn login(&self, backend: usize, query: &str) -> Resp {
        let resp = self
            .app
            .post(&format!("/login{query}"))
            .accept_json()
            .header("X-Test-Backend", &backend.to_string())
            .json(json!({"email": USER.0, "password": USER.1}))
            .send()
            .await;
        assert_eq!(resp.status, 200, "{resp}");
        resp
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_behind_nginx_share_sessions_and_revocations() {
    let c = cluster().await;

    // Login through instance a.
    let login = c.login(0, "").await;
    assert_eq!(served_by(&login), "a");
    let session = session_of(&login, Jar::default());
    let cred = Cred::Session(session.clone());

    // Round-robin: both instances serve the signed-in user.
    let mut seen = BTreeSet::new();
    for _ in 0..6 {
        let resp = c.me(&cred, None).await;
        assert_eq!(resp.status, 200, "{resp}\n{}", c.nginx.access_log());
        assert_eq!(resp.json["email"], USER.0, "{resp}");
        seen.insert(served_by(&resp));
    }
    assert_eq!(
        seen,
        BTreeSet::from(["a".to_owned(), "b".to_owned()]),
        "nginx spread the requests"
    );

    // Logout through instance b kills the session on both.
    let logout = c
        .app
        .post("/logout")
        .accept_json()
        .header("X-Test-Backend", "1")
        .cred(&cred)
        .send()
        .await;
    assert_eq!(logout.status, 200, "{logout}");
    assert_eq!(served_by(&logout), "b");
    for backend in [0, 1] {
        let resp = c
            .me(&Cred::Cookies(session.jar.clone()), Some(backend))
            .await;
        assert_eq!(resp.status, 401, "instance {backend} after logout: {resp}");
    }

    // Tokens issued by each instance work on both…
    let token_a = login_token(&c.login(0, "?include_auth_token").await);
    let token_b = login_token(&c.login(1, "?include_auth_token").await);
    for token in [&token_a, &token_b] {
        for backend in [0, 1] {
            let resp = c.me(&Cred::Header(token.clone()), Some(backend)).await;
            assert_eq!(resp.status, 200, "{resp}");
        }
    }
    // …until a password change on instance a revokes them on both.
    let signed_in = c.login(0, "").await;
    let mut changer = session_of(&signed_in, Jar::default());
    let new_pw = "Sc4le-new-horse-battery-77";
    let change = c
        .app
        .post("/change")
        .accept_json()
        .header("X-Test-Backend", "0")
        .json(json!({"password": USER.1, "new_password": new_pw, "new_password_confirm": new_pw}))
        .cred(&Cred::Session(changer.clone()))
        .send()
        .await;
    assert_eq!(change.status, 200, "{change}");
    changer.jar.absorb(&change);
    let changer = Cred::Session(changer);
    assert_eq!(served_by(&change), "a");
    for token in [&token_a, &token_b] {
        for backend in [0, 1] {
            let resp = c.me(&Cred::Header(token.clone()), Some(backend)).await;
            assert_eq!(resp.status, 401, "token on instance {backend}: {resp}");
        }
    }
    // The session that changed the password goes on, on both instances.
    for backend in [0, 1] {
        assert_eq!(c.me(&changer, Some(backend)).await.status, 200);
    }
}

fn login_token(resp: &Resp) -> String {
    resp.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token:\n{resp}"))
        .to_owned()
}
