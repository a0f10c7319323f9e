//! The two WebAuthn ceremonies on webauthn-rs' verifier, with Flask-Security's options.
//!
//! Flask-Security's choices, kept here: the user handle is the UTF-8 of
//! `fs_webauthn_user_handle`; `first` credentials are requested cross-platform with user
//! verification preferred, `secondary` ones with it discouraged; resident keys are preferred
//! when user hints are allowed and required otherwise; `credProps` is requested; attestation
//! is not requested (`none`). A sign-in with user verification counts as multi-factor.

use rampart_core::model::{NewWebAuthn, WebAuthnCredential};
use serde_json::Value;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AllowCredentials, AttestationConveyancePreference, AuthenticationResult, AuthenticationState,
    AuthenticatorAttachment, PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState,
    RequestRegistrationExtensions, ResidentKeyRequirement, UserVerificationPolicy,
};

use super::credential::{self, BadKey, MULTI_DEVICE, SINGLE_DEVICE};

/// Who is registering.
pub(crate) struct Registrant<'a> {
    /// `fs_webauthn_user_handle`.
    pub(crate) handle: &'a str,
    /// The user's name for the authenticator's account list (email or username).
    pub(crate) name: &'a str,
    /// Credential ids already registered (excluded).
    pub(crate) exclude: Vec<Vec<u8>>,
}

/// A ceremony failed; the text goes into `WEBAUTHN_NO_VERIFY`'s `%(cause)s`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CeremonyError {
    /// webauthn-rs refused the response.
    #[error("{0}")]
    Verify(#[from] WebauthnError),
    /// The stored credential cannot be used.
    #[error(transparent)]
    Key(#[from] BadKey),
    /// The state inside a valid token is not a webauthn-rs state (never in practice).
    #[error("malformed ceremony state")]
    State,
}

impl CeremonyError {
    /// Whether the authenticator's counter did not move forward: a possible clone.
    pub(crate) fn is_counter_regression(&self) -> bool {
        matches!(
            self,
            Self::Verify(WebauthnError::CredentialPossibleCompromise)
        )
    }
}

/// The user-verification policy of a usage.
pub(crate) fn policy(usages: &[&str]) -> UserVerificationPolicy {
    if usages.contains(&"secondary") {
        UserVerificationPolicy::Discouraged_DO_NOT_USE
    } else {
        UserVerificationPolicy::Preferred
    }
}

/// Starts a registration: the `credential_options` for `navigator.credentials.create` and the
/// state to keep.
pub(crate) fn start_registration(
    core: &WebauthnCore,
    who: &Registrant<'_>,
    usage: &str,
    hints: bool,
    timeout_ms: u32,
) -> Result<(Value, Value), CeremonyError> {
    let first = usage == "first";
    let extensions = RequestRegistrationExtensions {
        cred_protect: None,
        uvm: None,
        cred_props: Some(true),
        min_pin_length: None,
        hmac_create_secret: None,
    };
    let builder = core
        .new_challenge_register_builder(who.handle.as_bytes(), who.name, who.name)?
        .attestation(AttestationConveyancePreference::None)
        .credential_algorithms(credential::algorithms())
        .require_resident_key(!hints)
        .authenticator_attachment(first.then_some(AuthenticatorAttachment::CrossPlatform))
        .user_verification_policy(policy(&[usage]))
        .reject_synchronised_authenticators(false)
        .exclude_credentials(Some(who.exclude.clone()))
        .extensions(Some(extensions));
    let (mut ccr, state) = core.generate_challenge_register(builder)?;
    let options = &mut ccr.public_key;
    options.timeout = Some(timeout_ms);
    if hints && let Some(sel) = options.authenticator_selection.as_mut() {
        sel.resident_key = Some(ResidentKeyRequirement::Preferred);
    }
    let options = serde_json::to_value(&ccr.public_key).map_err(|_| CeremonyError::State)?;
    let state = serde_json::to_value(&state).map_err(|_| CeremonyError::State)?;
    Ok((options, state))
}

/// Finishes a registration: the row to store (without name, usage and user).
pub(crate) fn finish_registration(
    core: &WebauthnCore,
    reg: &RegisterPublicKeyCredential,
    extensions: Option<String>,
    state: &Value,
) -> Result<NewWebAuthn, CeremonyError> {
    let state: RegistrationState =
        serde_json::from_value(state.clone()).map_err(|_| CeremonyError::State)?;
    let cred = core.register_credential(reg, &state, None)?;
    Ok(NewWebAuthn {
        credential_id: cred.cred_id.clone(),
        public_key: credential::cose_bytes(&cred.cred),
        sign_count: i64::from(cred.counter),
        transports: credential::transport_names(
            reg.response
                .transports
                .as_deref()
                .or(cred.transports.as_deref()),
        ),
        backup_state: cred.backup_state,
        device_type: if cred.backup_eligible {
            MULTI_DEVICE
        } else {
            SINGLE_DEVICE
        }
        .to_owned(),
        extensions,
        name: String::new(),
        usage: String::new(),
        user_id: 0,
    })
}

/// Starts an authentication; `allow` lists the hinted user's usable credentials (empty for a
/// discoverable sign-in).
pub(crate) fn start_authentication(
    core: &WebauthnCore,
    allow: &[WebAuthnCredential],
    usages: &[&str],
    timeout_ms: u32,
) -> Result<(Value, Value), CeremonyError> {
    let builder = core
        .new_challenge_authenticate_builder(Vec::new(), Some(policy(usages)))?
        .allow_backup_eligible_upgrade(true);
    let (mut rcr, state) = core.generate_challenge_authenticate(builder)?;
    let options = &mut rcr.public_key;
    options.timeout = Some(timeout_ms);
    options.allow_credentials = allow
        .iter()
        .map(|c| AllowCredentials {
            type_: "public-key".to_owned(),
            id: c.credential_id.clone(),
            transports: credential::to_credential(c).ok().and_then(|c| c.transports),
        })
        .collect();
    let options = serde_json::to_value(&rcr.public_key).map_err(|_| CeremonyError::State)?;
    let state = serde_json::to_value(&state).map_err(|_| CeremonyError::State)?;
    Ok((options, state))
}

/// Verifies an assertion by the stored credential `row`.
pub(crate) fn finish_authentication(
    core: &WebauthnCore,
    rsp: &PublicKeyCredential,
    state: &Value,
    row: &WebAuthnCredential,
) -> Result<AuthenticationResult, CeremonyError> {
    let mut state: AuthenticationState =
        serde_json::from_value(state.clone()).map_err(|_| CeremonyError::State)?;
    let cred = credential::to_credential(row)?;
    state.set_allowed_credentials(vec![cred.clone()]);
    Ok(core.authenticate_single_credential(rsp, &state, &cred)?)
}
