//! Rampart's own endpoints. Each answers JSON clients with Flask-Security's envelope and
//! browsers with a page or a redirect.

mod account;
mod account_rules;
mod change;
mod change_email;
mod change_username;
mod confirm;
pub(crate) mod form;
pub(crate) mod login;
mod logout;
mod mfa_page;
mod operations;
mod operations_mfa;
mod recovery;
mod register;
mod reset;
mod tf_rescue;
pub(crate) mod two_factor;
mod unified_signin;
mod us_setup;
mod verify;
mod wan_assert;
mod wan_common;
mod wan_page;
mod wan_register;
mod wan_signin;
mod wan_verify;

use crate::openapi::ApiRouter;
use crate::security::Security;
use operations as op;
use operations_mfa as mop;

/// The endpoints enabled by the configuration, each mounted with its OpenAPI description.
pub(crate) fn routes(sec: &Security) -> ApiRouter {
    let c = sec.config();
    let mut r = ApiRouter::new()
        .route(op::login_get(&c.login_url), login::get)
        .route(op::login_post(&c.login_url), login::post)
        .route(op::logout_post(&c.logout_url), logout::post);
    if c.freshness_secs >= 0 {
        r = r
            .route(op::verify_get(&c.verify_url), verify::get)
            .route(op::verify_post(&c.verify_url), verify::post);
    }
    if c.webauthn {
        r = webauthn_routes(r, sec);
    }
    let r = us_routes(mfa_routes(r, sec), sec);
    lifecycle_routes(r, sec)
}

/// `/wan-register`, `/wan-signin`, `/wan-delete`, `/wan-verify` and the browser script.
fn webauthn_routes(mut r: ApiRouter, sec: &Security) -> ApiRouter {
    let c = sec.config();
    let w = &c.wan;
    let script = format!("{}/{}", w.static_folder_url, crate::webauthn::SCRIPT_NAME);
    let token = |url: &str| format!("{url}/{{token}}");
    r = r
        .route(mop::wan_script(&script), webauthn_script)
        .route(mop::wan_register_get(&w.register_url), wan_register::get)
        .route(mop::wan_register_post(&w.register_url), wan_register::post)
        .route(
            mop::wan_register_state(&token(&w.register_url)),
            wan_register::post_state,
        )
        .route(mop::wan_signin_get(&w.signin_url), wan_signin::get)
        .route(mop::wan_signin_post(&w.signin_url), wan_signin::post)
        .route(
            mop::wan_signin_state(&token(&w.signin_url)),
            wan_signin::post_state,
        )
        .route(mop::wan_delete_get(&w.delete_url), wan_register::get)
        .route(mop::wan_delete_post(&w.delete_url), wan_register::delete);
    if c.freshness_secs >= 0 && !w.allow_as_verify.is_empty() {
        r = r
            .route(mop::wan_verify_get(&w.verify_url), wan_verify::get)
            .route(mop::wan_verify_post(&w.verify_url), wan_verify::post)
            .route(
                mop::wan_verify_state(&token(&w.verify_url)),
                wan_verify::post_state,
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

/// Unified sign-in endpoints (`SECURITY_UNIFIED_SIGNIN`).
fn us_routes(mut r: ApiRouter, sec: &Security) -> ApiRouter {
    let c = sec.config();
    let m = &c.mfa;
    if !c.unified_signin {
        return r;
    }
    let setup_token = format!("{}/{{token}}", m.us_setup_url);
    r = r
        .route(
            mop::us_signin_get(&m.us_signin_url),
            unified_signin::signin_get,
        )
        .route(
            mop::us_signin_post(&m.us_signin_url),
            unified_signin::signin_post,
        )
        .route(
            mop::us_send_code(&m.us_signin_send_code_url, true),
            unified_signin::signin_send_code,
        )
        .route(mop::us_setup_get(&m.us_setup_url), us_setup::get)
        .route(mop::us_setup_post(&m.us_setup_url), us_setup::post)
        .route(mop::us_setup_token(&setup_token), us_setup::validate)
        .route(
            mop::us_verify_link(&m.us_verify_link_url),
            unified_signin::verify_link,
        );
    if c.freshness_secs >= 0 {
        r = r
            .route(
                mop::us_verify_get(&m.us_verify_url),
                unified_signin::verify_get,
            )
            .route(
                mop::us_verify_post(&m.us_verify_url),
                unified_signin::verify_post,
            )
            .route(
                mop::us_send_code(&m.us_verify_send_code_url, false),
                unified_signin::verify_send_code,
            );
    }
    r
}

/// Two-factor and recovery-code endpoints, as their flags enable them.
fn mfa_routes(mut r: ApiRouter, sec: &Security) -> ApiRouter {
    let c = sec.config();
    let m = &c.mfa;
    if c.two_factor {
        let setup_token = format!("{}/{{token}}", m.two_factor_setup_url);
        let validate = &m.two_factor_token_validation_url;
        r = r
            .route(
                mop::tf_setup_get(&m.two_factor_setup_url),
                two_factor::setup_get,
            )
            .route(
                mop::tf_setup_post(&m.two_factor_setup_url),
                two_factor::setup_post,
            )
            .route(
                mop::tf_setup_token(&setup_token),
                two_factor::setup_validate,
            )
            .route(mop::tf_validate_get(validate), two_factor::validate_get)
            .route(mop::tf_validate_post(validate), two_factor::validate_post)
            .route(
                mop::tf_rescue_get(&m.two_factor_rescue_url),
                tf_rescue::rescue_get,
            )
            .route(
                mop::tf_rescue_post(&m.two_factor_rescue_url),
                tf_rescue::rescue_post,
            );
    }
    if c.two_factor || c.webauthn {
        let url = &m.two_factor_select_url;
        r = r
            .route(mop::tf_select_get(url), tf_rescue::select_get)
            .route(mop::tf_select_post(url), tf_rescue::select_post);
    }
    if c.multi_factor_recovery_codes && (c.two_factor || c.webauthn) {
        r = r
            .route(mop::codes_get(&m.recovery_codes_url), recovery::codes_get)
            .route(mop::codes_post(&m.recovery_codes_url), recovery::codes_post)
            .route(mop::recovery_get(&m.recovery_url), recovery::recovery_get)
            .route(mop::recovery_post(&m.recovery_url), recovery::recovery_post);
    }
    r
}

/// Registration, confirmation, reset and change endpoints, as their flags enable them.
fn lifecycle_routes(mut r: ApiRouter, sec: &Security) -> ApiRouter {
    let c = sec.config();
    let l = &c.lifecycle;
    if c.registerable {
        r = r
            .route(op::register_get(&l.register_url), register::get)
            .route(op::register_post(&l.register_url), register::post);
    }
    if c.confirmable {
        let token = format!("{}/{{token}}", l.confirm_url);
        r = r
            .route(op::confirm_get(&l.confirm_url), confirm::get)
            .route(op::confirm_post(&l.confirm_url), confirm::post)
            .route(op::confirm_token(&token), confirm::confirm_token);
    }
    if c.recoverable {
        let token = format!("{}/{{token}}", l.reset_url);
        r = r
            .route(op::reset_get(&l.reset_url), reset::get)
            .route(op::reset_post(&l.reset_url), reset::post)
            .route(op::reset_token_get(&token), reset::get_token)
            .route(op::reset_token_post(&token), reset::post_token);
    }
    if c.changeable {
        r = r
            .route(op::change_get(&l.change_url), change::get)
            .route(op::change_post(&l.change_url), change::post);
    }
    if c.username_enable && l.change_username {
        let url = &l.change_username_url;
        r = r
            .route(op::change_username_get(url), change_username::get)
            .route(op::change_username_post(url), change_username::post);
    }
    if c.change_email {
        let url = &l.change_email_url;
        r = r
            .route(op::change_email_get(url), change_email::get)
            .route(op::change_email_post(url), change_email::post)
            .route(
                op::change_email_token(&format!("{url}/{{token}}")),
                change_email::confirm,
            );
    }
    r
}
