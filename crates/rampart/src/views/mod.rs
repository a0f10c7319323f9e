//! Rampart's own endpoints. Each answers JSON clients with Flask-Security's envelope and
//! browsers with a page or a redirect.

mod account;
mod account_page;
mod account_rules;
mod change;
mod change_email;
mod change_username;
mod confirm;
pub(crate) mod form;
pub(crate) mod login;
mod logout;
mod operations;
mod page;
mod register;
mod reset;
mod verify;

use crate::openapi::ApiRouter;
use crate::security::Security;
use operations as op;

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
    lifecycle_routes(r, sec)
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
