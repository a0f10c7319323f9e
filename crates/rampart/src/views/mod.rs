//! Rampart's own endpoints. Each answers JSON clients with Flask-Security's envelope and
//! browsers with a page or a redirect.

mod form;
pub(crate) mod login;
mod logout;
mod page;
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
    r
}
