//! Key rotation with `SECRET_KEY_FALLBACKS`: after a restart with a new `SECRET_KEY` and the
//! old one as a fallback, auth tokens and remember cookies issued under the old key still
//! work (and new ones are issued under the new key); once the fallback is dropped they die.
//! Sessions are server-side records named by a random id, so they do not depend on the key.

use serde_json::json;

use crate::harness::*;
use crate::support::Db;

const OLD: &str = "rotation-old-secret-key-0123456789abcdef";
const NEW: &str = "rotation-new-secret-key-fedcba9876543210";

async fn restart(app: App, env: &[(&str, &str)]) -> App {
    let App { server, db, .. } = app;
    server.stop().await;
    App::start_with(db, env).await
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_key_fallbacks_keep_tokens_and_remember_cookies_alive() {
    let app = App::start_with(Db::sqlite(), &[("SECRET_KEY", OLD)]).await;
    let r = app
        .login_resp(
            "?include_auth_token",
            json!({"email": USER.0, "password": USER.1, "remember": true}),
            &Jar::default(),
        )
        .await;
    assert_eq!(r.status, 200, "{r}");
    let old_token = Cred::Header(
        r.json["response"]["user"]["authentication_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let mut jar = Jar::default();
    jar.absorb(&r);
    let remembered = Cred::Cookies(jar.only(REMEMBER_COOKIE));
    let session = Cred::Cookies(jar.only("session"));
    assert_eq!(app.me(&remembered).await.status, 200);

    // Rotated: the old key is a fallback.
    let app = restart(app, &[("SECRET_KEY", NEW), ("SECRET_KEY_FALLBACKS", OLD)]).await;
    for (what, cred) in [
        ("old token", &old_token),
        ("old remember cookie", &remembered),
        ("session", &session),
    ] {
        let me = app.me(cred).await;
        assert_eq!(me.status, 200, "{what} after the rotation: {me}");
    }
    let new_token = Cred::Header(app.token(USER).await);

    // The fallback is dropped: what the old key signed dies, the rest lives.
    let app = restart(app, &[("SECRET_KEY", NEW)]).await;
    for (what, cred) in [
        ("old token", &old_token),
        ("old remember cookie", &remembered),
    ] {
        let me = app.me(cred).await;
        assert_eq!(me.status, 401, "{what} without the fallback: {me}");
    }
    assert_eq!(app.me(&new_token).await.status, 200, "new token");
    assert_eq!(app.me(&session).await.status, 200, "server-side session");
}
