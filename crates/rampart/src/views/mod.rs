//! Rampart's own endpoints. Each answers JSON clients with Flask-Security's envelope and
//! browsers with a page or a redirect.

mod account;
mod account_page;
mod account_rules;
mod change;
mod change_email;
mod change_username;
mod confirm;
mod form;
pub(crate) mod login;
mod logout;
mod page;
mod register;
mod reset;
mod verify;
mod wan_assert;
mod wan_common;
mod wan_page;
mod wan_register;
mod wan_signin;
mod wan_verify;

use axum::Router;
use axum::routing::{get, post};

use crate::security::Security;

/// The endpoints enabled by the configuration.
pub(crate) fn routes(sec: &Security) -> Router {
    let c = sec.config();
    let mut r = Router::new()
        .route(&c.login_url, get(login::get).post(login::post))
        .route(&c.logout_url, post(logout::post));
    if c.freshness_secs >= 0 {
        r = r.route(&c.verify_url, get(verify::get).post(verify::post));
    }
    if c.webauthn {
        r = webauthn_routes(r, sec);
    }
    lifecycle_routes(r, sec)
}

/// `/wan-register`, `/wan-signin`, `/wan-delete`, `/wan-verify` and the browser script.
fn webauthn_routes(mut r: Router, sec: &Security) -> Router {
    let c = sec.config();
    let w = &c.wan;
    let script = format!("{}/{}", w.static_folder_url, crate::webauthn::SCRIPT_NAME);
    r = r
        .route(&script, get(webauthn_script))
        .route(
            &w.register_url,
            get(wan_register::get).post(wan_register::post),
        )
        .route(
            &format!("{}/{{token}}", w.register_url),
            post(wan_register::post_state),
        )
        .route(&w.signin_url, get(wan_signin::get).post(wan_signin::post))
        .route(
            &format!("{}/{{token}}", w.signin_url),
            post(wan_signin::post_state),
        )
        .route(
            &w.delete_url,
            get(wan_register::get).post(wan_register::delete),
        );
    if c.freshness_secs >= 0 && !w.allow_as_verify.is_empty() {
        r = r
            .route(&w.verify_url, get(wan_verify::get).post(wan_verify::post))
            .route(
                &format!("{}/{{token}}", w.verify_url),
                post(wan_verify::post_state),
            );
    }
    r
}

/// `rampart-webauthn.js`, the browser side of the WebAuthn pages.
async fn webauthn_script() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        crate::webauthn::SCRIPT,
    )
        .into_response()
}

/// Registration, confirmation, reset and change endpoints, as their flags enable them.
fn lifecycle_routes(mut r: Router, sec: &Security) -> Router {
    let c = sec.config();
    let l = &c.lifecycle;
    if c.registerable {
        r = r.route(&l.register_url, get(register::get).post(register::post));
    }
    if c.confirmable {
        r = r
            .route(&l.confirm_url, get(confirm::get).post(confirm::post))
            .route(
                &format!("{}/{{token}}", l.confirm_url),
                get(confirm::confirm_token),
            );
    }
    if c.recoverable {
        r = r
            .route(&l.reset_url, get(reset::get).post(reset::post))
            .route(
                &format!("{}/{{token}}", l.reset_url),
                get(reset::get_token).post(reset::post_token),
            );
    }
    if c.changeable {
        r = r.route(&l.change_url, get(change::get).post(change::post));
    }
    if c.username_enable && l.change_username {
        r = r.route(
            &l.change_username_url,
            get(change_username::get).post(change_username::post),
        );
    }
    if c.change_email {
        r = r
            .route(
                &l.change_email_url,
                get(change_email::get).post(change_email::post),
            )
            .route(
                &format!("{}/{{token}}", l.change_email_url),
                get(change_email::confirm),
            );
    }
    r
}
