//! Role and permission extractors.
//!
//! Like Flask-Security's decorators they do not answer 401: an anonymous caller lacks every
//! role and gets 403 through the unauthorized handler. Stack [`AuthRequired`](super::AuthRequired)
//! in front to answer anonymous callers with 401.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::auth::security;
use super::{Mechanisms, Names, Rejection, SessionOrToken};
use crate::authn::{self, AuthnError, CurrentUser};

/// How a name list is checked.
#[derive(Clone, Copy)]
enum Rule {
    AllRoles,
    AnyRole,
    AllPermissions,
    AnyPermission,
}

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Self::AllRoles => "roles_required",
            Self::AnyRole => "roles_accepted",
            Self::AllPermissions => "permissions_required",
            Self::AnyPermission => "permissions_accepted",
        }
    }

    async fn allows(self, user: &CurrentUser, names: &[&str]) -> Result<bool, AuthnError> {
        let roles = user.roles().await?;
        let has_role = |n: &&str| roles.iter().any(|r| r.name == *n);
        let has_perm = |n: &&str| roles.iter().any(|r| r.permissions.iter().any(|p| p == n));
        Ok(match self {
            Self::AllRoles => names.iter().all(has_role),
            Self::AnyRole => names.iter().any(has_role),
            Self::AllPermissions => names.iter().all(has_perm),
            Self::AnyPermission => names.iter().any(has_perm),
        })
    }
}

async fn check(
    parts: &mut Parts,
    rule: Rule,
    names: &'static [&'static str],
) -> Result<CurrentUser, Rejection> {
    let sec = security(parts)?;
    let user = authn::authenticate(parts, &sec, SessionOrToken::LIST).await?;
    match user {
        Some(user) if rule.allows(&user, names).await? => {
            super::auth::csrf(parts, &sec, &user).await?;
            Ok(user)
        }
        _ => Err(Rejection::forbidden(parts, &sec, rule.name(), names)),
    }
}

macro_rules! name_extractor {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<N: Names> {
            /// The caller.
            pub user: CurrentUser,
            _names: PhantomData<N>,
        }

        impl<N: Names, S: Send + Sync> FromRequestParts<S> for $name<N> {
            type Rejection = Rejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
                let user = check(parts, $rule, N::NAMES).await?;
                Ok(Self { user, _names: PhantomData })
            }
        }
    };
}

name_extractor!(
    /// `roles_required`: the caller has every role of `N`.
    RolesRequired,
    Rule::AllRoles
);
name_extractor!(
    /// `roles_accepted`: the caller has at least one role of `N`.
    RolesAccepted,
    Rule::AnyRole
);
name_extractor!(
    /// `permissions_required`: the caller's roles grant every permission of `N`.
    PermissionsRequired,
    Rule::AllPermissions
);
name_extractor!(
    /// `permissions_accepted`: the caller's roles grant at least one permission of `N`.
    PermissionsAccepted,
    Rule::AnyPermission
);
