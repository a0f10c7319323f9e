//! Extractors: the Rust form of Flask-Security's decorators.
//!
//! | Flask-Security | Rampart |
//! | --- | --- |
//! | `@auth_required()` | [`AuthRequired`] (session or token) |
//! | `@auth_required("token", "session", "basic")` | [`AuthRequired<AnyMechanism>`](AuthRequired) |
//! | `@auth_token_required` | [`AuthTokenRequired`] |
//! | `@http_auth_required` | [`HttpAuthRequired`] |
//! | `@auth_required(within=…)` with the configured window | [`FreshRequired`] (`SECURITY_FRESHNESS`, `SECURITY_FRESHNESS_GRACE_PERIOD`) |
//! | `@auth_required(within=5, grace=0)` | [`FreshWithin<300, 0>`](FreshWithin) |
//! | `@roles_required("a", "b")` | [`RolesRequired<AB>`](RolesRequired) with `names!(AB = ["a", "b"])` |
//! | `@roles_accepted(…)` | [`RolesAccepted`] |
//! | `@permissions_required(…)` / `@permissions_accepted(…)` | [`PermissionsRequired`] / [`PermissionsAccepted`] |
//! | `@anonymous_user_required` | [`AnonymousRequired`] |
//! | `current_user` | [`OptionalUser`] |
//!
//! As in Flask-Security, the role and permission extractors answer 403 to anonymous callers;
//! put [`AuthRequired`] first to answer 401 instead. Rejections go through the application's
//! replaceable handlers (see [`SecurityBuilder`](crate::security::SecurityBuilder)).
//!
//! # Example
//! ```
//! use axum::{Router, routing::get};
//! use rampart::extract::{AuthRequired, RolesRequired};
//!
//! rampart::names!(pub Admin = ["admin"]);
//!
//! async fn admin_area(user: AuthRequired, _: RolesRequired<Admin>) -> String {
//!     format!("hello {}", user.email)
//! }
//! let app: Router = Router::new().route("/admin", get(admin_area));
//! ```

mod auth;
pub(crate) use auth::security;
mod rejection;
mod roles;

pub use auth::{
    AnonymousRequired, AuthRequired, AuthTokenRequired, FreshRequired, FreshWithin,
    HttpAuthRequired, OptionalUser,
};
pub use rejection::Rejection;
pub use roles::{PermissionsAccepted, PermissionsRequired, RolesAccepted, RolesRequired};

use crate::authn::Mechanism;

/// A fixed list of role or permission names, declared with [`names!`](crate::names).
pub trait Names: Send + Sync + 'static {
    /// The names.
    const NAMES: &'static [&'static str];
}

/// Declares a type listing role or permission names for the extractors.
///
/// ```
/// rampart::names!(pub Editors = ["editor", "admin"]);
/// use rampart::extract::Names;
/// assert_eq!(Editors::NAMES, &["editor", "admin"]);
/// ```
#[macro_export]
macro_rules! names {
    ($vis:vis $name:ident = [$($n:literal),* $(,)?]) => {
        #[doc = concat!("Names: ", $($n, " ",)*)]
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;
        impl $crate::extract::Names for $name {
            const NAMES: &'static [&'static str] = &[$($n),*];
        }
    };
}

/// The mechanisms an [`AuthRequired`] accepts.
pub trait Mechanisms: Send + Sync + 'static {
    /// The list (tried in token, session, Basic order whatever the order here).
    const LIST: &'static [Mechanism];
}

/// Session or token: Flask-Security's default (`SECURITY_API_ENABLED_METHODS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOrToken;
impl Mechanisms for SessionOrToken {
    const LIST: &'static [Mechanism] = &[Mechanism::Session, Mechanism::Token];
}

/// Token only (`auth_token_required`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenOnly;
impl Mechanisms for TokenOnly {
    const LIST: &'static [Mechanism] = &[Mechanism::Token];
}

/// Basic only (`http_auth_required`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicOnly;
impl Mechanisms for BasicOnly {
    const LIST: &'static [Mechanism] = &[Mechanism::Basic];
}

/// Session only.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionOnly;
impl Mechanisms for SessionOnly {
    const LIST: &'static [Mechanism] = &[Mechanism::Session];
}

/// Token, session or Basic.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyMechanism;
impl Mechanisms for AnyMechanism {
    const LIST: &'static [Mechanism] = &[Mechanism::Token, Mechanism::Session, Mechanism::Basic];
}
