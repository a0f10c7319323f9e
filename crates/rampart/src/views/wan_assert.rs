//! Checking a WebAuthn assertion (`/wan-signin/<state>`, `/wan-verify/<state>`), in
//! Flask-Security's order and with its messages: known credential, owner, user handle,
//! usage, active account, then the signature, challenge, origin, RP id and sign counter.
//!
//! Every assertion of a known credential is throttled (`Action::Passkey`, counted against
//! the expected user — pending or signed in — or else the credential's owner, and against the
//! client address; an unknown credential counts against the address): a refusal leaves the try
//! counted, a verified assertion gives it back.

use axum::response::Response;
use rampart_core::model::{User, WebAuthnCredential};
use webauthn_rs_core::proto::PublicKeyCredential;

use super::account::{self, Ctx, Errors};
use super::form::Fields;
use super::wan_common::{self as common, one};
use crate::events::Event;
use crate::throttle::Action;
use crate::two_factor::{self as tf, Pending};
use crate::webauthn::{self, WanState, WebAuthn};

/// Why an assertion is refused.
pub(crate) enum Refusal {
    /// Form errors (400 / the page again).
    Errors(Errors),
    /// A backend failure.
    Response(Response),
}

/// A verified assertion.
pub(crate) struct Asserted {
    /// The credential's owner.
    pub(crate) user: User,
    /// Whether the authenticator verified the user (PIN, biometrics): multi-factor.
    pub(crate) user_verified: bool,
}

fn refuse(ctx: &Ctx, key: &str) -> Refusal {
    Refusal::Errors(one("credential", ctx.msg(key)))
}

/// Verifies the `credential` of `f` against `state`, by a credential of one of `usages`
/// owned by `expected` when given. Throttled (see the module docs); a refusal also counts
/// against `challenge`, the pending two-factor login it would finish. On success the
/// credential's sign count and last use are updated.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn check(
    ctx: &Ctx,
    wan: &WebAuthn,
    f: &Fields,
    state: &WanState,
    usages: &[&str],
    expected: Option<&User>,
    challenge: Option<&Pending>,
) -> Result<Asserted, Refusal> {
    let Some((rsp, _)) = common::credential::<PublicKeyCredential>(f) else {
        return Err(refuse(ctx, "API_ERROR"));
    };
    let backend = |e| Refusal::Response(account::backend(e));
    let store = ctx.sec.store();
    let cred = store.find_webauthn(&rsp.raw_id).await.map_err(backend)?;
    let owner = match &cred {
        Some(c) => store.find_user_by_id(c.user_id).await.map_err(backend)?,
        None => None,
    };
    let account = expected.or(owner.as_ref()).map(|u| u.email.clone());
    let run = || async {
        match verify(ctx, wan, &rsp, state, usages, expected, cred, owner).await {
            Ok(a) => tf::Try::Right(a),
            Err(Refusal::Errors(e)) => tf::Try::Wrong(e),
            Err(Refusal::Response(r)) => tf::Try::Backend(r),
        }
    };
    let action = Action::Passkey;
    match tf::guarded(
        &ctx.sec,
        action,
        account.as_deref(),
        ctx.addr,
        challenge,
        run,
    )
    .await
    {
        tf::Try::Right(a) => Ok(a),
        tf::Try::Wrong(e) => Err(Refusal::Errors(e)),
        tf::Try::Throttled(retry_after) => Err(Refusal::Response(super::two_factor::throttled(
            ctx,
            retry_after,
        ))),
        tf::Try::Backend(r) => Err(Refusal::Response(r)),
    }
}

/// The checks after the look-ups, in Flask-Security's order.
#[allow(clippy::too_many_arguments)]
async fn verify(
    ctx: &Ctx,
    wan: &WebAuthn,
    rsp: &PublicKeyCredential,
    state: &WanState,
    usages: &[&str],
    expected: Option<&User>,
    cred: Option<WebAuthnCredential>,
    owner: Option<User>,
) -> Result<Asserted, Refusal> {
    let Some(cred) = cred else {
        return Err(refuse(ctx, "WEBAUTHN_UNKNOWN_CREDENTIAL_ID"));
    };
    let Some(user) = owner else {
        return Err(refuse(ctx, "WEBAUTHN_ORPHAN_CREDENTIAL_ID"));
    };
    let backend = |e| Refusal::Response(account::backend(e));
    let store = ctx.sec.store();
    let handle = user.fs_webauthn_user_handle.as_deref().unwrap_or_default();
    if let Some(h) = &rsp.response.user_handle
        && h.as_slice() != handle.as_bytes()
    {
        return Err(refuse(ctx, "WEBAUTHN_MISMATCH_USER_HANDLE"));
    }
    if expected.is_some_and(|u| u.fs_uniquifier != user.fs_uniquifier) {
        // Verify and second factor: the credential must be the caller's (GHSA-f66q-9rf6-8795).
        return Err(refuse(ctx, "WEBAUTHN_MISMATCH_USER_HANDLE"));
    }
    if !usages.contains(&cred.usage.as_str()) {
        return Err(refuse(ctx, "WEBAUTHN_CREDENTIAL_WRONG_USAGE"));
    }
    if !user.active {
        return Err(refuse(ctx, "DISABLED_ACCOUNT"));
    }
    let result = match webauthn::finish_authentication(&wan.core, rsp, &state.ceremony, &cred) {
        Ok(r) => r,
        Err(e) => return Err(failed(ctx, &user, &cred, &e)),
    };
    let count = i64::from(result.counter());
    let advanced = store
        .advance_webauthn(cred.id, count, result.backup_state())
        .await
        .map_err(backend)?;
    if !advanced {
        // Another assertion with this count or a higher one was recorded meanwhile.
        tracing::warn!(
            user_id = user.id,
            credential = cred.id,
            "possible cloned authenticator: a concurrent use recorded this sign count; refused"
        );
        let m = common::no_verify(ctx, "the sign count did not increase");
        return Err(Refusal::Errors(one("credential", m)));
    }
    Ok(Asserted {
        user,
        user_verified: result.user_verified(),
    })
}

fn failed(
    ctx: &Ctx,
    user: &User,
    cred: &WebAuthnCredential,
    e: &webauthn::CeremonyError,
) -> Refusal {
    if e.is_counter_regression() {
        tracing::warn!(
            user_id = user.id,
            credential = cred.id,
            stored_count = cred.sign_count,
            "possible cloned authenticator: the sign counter did not increase; refused"
        );
    } else {
        tracing::info!(user_id = user.id, error = %e, "passkey assertion refused");
    }
    ctx.sec.events().emit(Event::UserFailedAuthn {
        user_id: Some(user.id),
    });
    Refusal::Errors(one("credential", common::no_verify(ctx, &e.to_string())))
}
