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
mod mfa_page;
mod page;
mod recovery;
mod register;
mod reset;
mod tf_rescue;
pub(crate) mod two_factor;
mod unified_signin;
mod us_setup;
mod verify;

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
    let r = us_routes(mfa_routes(r, sec), sec);
    lifecycle_routes(r, sec)
}

/// Unified sign-in endpoints (`SECURITY_UNIFIED_SIGNIN`).
fn us_routes(mut r: Router, sec: &Security) -> Router {
    let c = sec.config();
    let m = &c.mfa;
    if !c.unified_signin {
        return r;
    }
    r = r
        .route(
            &m.us_signin_url,
            get(unified_signin::signin_get).post(unified_signin::signin_post),
        )
        .route(
            &m.us_signin_send_code_url,
            post(unified_signin::signin_send_code),
        )
        .route(&m.us_setup_url, get(us_setup::get).post(us_setup::post))
        .route(
            &format!("{}/{{token}}", m.us_setup_url),
            post(us_setup::validate),
        )
        .route(&m.us_verify_link_url, get(unified_signin::verify_link));
    if c.freshness_secs >= 0 {
        r = r
            .route(
                &m.us_verify_url,
                get(unified_signin::verify_get).post(unified_signin::verify_post),
            )
            .route(
                &m.us_verify_send_code_url,
                post(unified_signin::verify_send_code),
            );
    }
    r
}

/// Two-factor and recovery-code endpoints, as their flags enable them.
fn mfa_routes(mut r: Router, sec: &Security) -> Router {
    let c = sec.config();
    let m = &c.mfa;
    if c.two_factor {
        r = r
            .route(
                &m.two_factor_setup_url,
                get(two_factor::setup_get).post(two_factor::setup_post),
            )
            .route(
                &format!("{}/{{token}}", m.two_factor_setup_url),
                post(two_factor::setup_validate),
            )
            .route(
                &m.two_factor_token_validation_url,
                get(two_factor::validate_get).post(two_factor::validate_post),
            )
            .route(
                &m.two_factor_rescue_url,
                get(tf_rescue::rescue_get).post(tf_rescue::rescue_post),
            );
    }
    if c.two_factor || c.webauthn {
        r = r.route(
            &m.two_factor_select_url,
            get(tf_rescue::select_get).post(tf_rescue::select_post),
        );
    }
    if c.multi_factor_recovery_codes && (c.two_factor || c.webauthn) {
        r = r
            .route(
                &m.recovery_codes_url,
                get(recovery::codes_get).post(recovery::codes_post),
            )
            .route(
                &m.recovery_url,
                get(recovery::recovery_get).post(recovery::recovery_post),
            );
    }
    r
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
