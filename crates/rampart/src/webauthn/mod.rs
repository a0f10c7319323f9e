//! WebAuthn passkeys (`SECURITY_WEBAUTHN`): Flask-Security's `/wan-register`, `/wan-signin`,
//! `/wan-delete` and `/wan-verify`, on the verifier of webauthn-rs 0.6.2
//! (`webauthn-rs-core`).
//!
//! - **Relying party from configuration**: the RP id is `SECURITY_WAN_RP_ID` or the host of
//!   `SERVER_NAME`, the accepted origins `SECURITY_WAN_ORIGINS` or
//!   `PREFERRED_URL_SCHEME://SERVER_NAME`. Flask-Security takes both from the request's
//!   `Host`; Rampart never does, and refuses to start without them.
//! - **Flask-Security's data**: user handles are `fs_webauthn_user_handle` (set on first
//!   registration), credentials live in the `webauthn` table with COSE public keys, so
//!   credentials registered by Flask-Security keep working, and the reverse.
//! - **Single-use, short-lived challenges**: see [`state`](self) — a `wan_state` finishes at
//!   most one ceremony, within `SECURITY_WAN_SIGNIN_WITHIN` / `..._REGISTER_WITHIN`.
//! - **Clone detection**: a sign counter that does not move forward is refused and logged
//!   (`warn`, "possible cloned authenticator").
//! - **Names** unique per user, with Flask-Security's character rules.
//! - The browser side is `rampart-webauthn.js`, served under `SECURITY_STATIC_FOLDER_URL`
//!   (no inline script, so it works under the default CSP).
//! - **Second factor**: a `secondary` passkey is offered as the two-factor method `webauthn`
//!   (see [`crate::two_factor`]); after the password, `/wan-signin` with the pending state
//!   (session, or `tf_signin_state` for cookie-less clients) finishes the login, with one of
//!   the pending user's `secondary` passkeys only. A `first` passkey sign-in without user
//!   verification (or with `SECURITY_WAN_ALLOW_AS_MULTI_FACTOR = false`) still asks for the
//!   user's second factor.
//! - **Throttled**: every assertion counts (`Action::Passkey`) against the account and the
//!   client address, as code checks do.

mod ceremony;
mod credential;
pub(crate) mod names;
pub(crate) mod state;

use rampart_core::signing::SecretKeys;
use url::Url;
use webauthn_rs_core::WebauthnCore;

pub(crate) use ceremony::{
    CeremonyError, Registrant, finish_authentication, finish_registration, start_authentication,
    start_registration,
};
pub(crate) use state::{Kind, StateProblem, WanState};

use crate::config::SecurityConfig;
use crate::security::Security;

/// The browser script: base64url, `navigator.credentials.create/get`, posting to the endpoints.
pub(crate) const SCRIPT: &str = include_str!("rampart-webauthn.js");
/// Its file name under `SECURITY_STATIC_FOLDER_URL`.
pub(crate) const SCRIPT_NAME: &str = "rampart-webauthn.js";

/// Why WebAuthn cannot be set up (found when the [`Security`] is built).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Neither `SECURITY_WAN_RP_ID` nor `SERVER_NAME` is set.
    #[error(
        "SECURITY_WEBAUTHN needs the relying party: set SERVER_NAME (or SECURITY_WAN_RP_ID and SECURITY_WAN_ORIGINS); it is never taken from the request's Host"
    )]
    MissingRelyingParty,
    /// An origin is not a URL, or its host is not the RP id or a subdomain of it.
    #[error("SECURITY_WAN_ORIGINS: {0:?} is not an https (or http) origin within the RP id")]
    BadOrigin(String),
}

/// Whether `user` has a passkey `/wan-verify` accepts (a usage of
/// `SECURITY_WAN_ALLOW_AS_VERIFY`, WebAuthn set up): Flask-Security's
/// `has_webauthn(user, WAN_ALLOW_AS_VERIFY)`, the `has_webauthn_verify_credential` of `/verify`,
/// `/us-verify` and the re-authentication 401. A store failure counts as no.
pub(crate) async fn has_verify_credential(
    sec: &Security,
    user: &rampart_core::model::User,
) -> bool {
    let usages = &sec.config().wan.allow_as_verify;
    if sec.inner.webauthn.is_none() || usages.is_empty() || sec.config().freshness_secs < 0 {
        return false;
    }
    match sec.store().webauthn_of(user.id).await {
        Ok(creds) => creds.iter().any(|c| usages.contains(&c.usage)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the passkeys of a user");
            false
        }
    }
}

/// The relying party and the ceremony states.
pub(crate) struct WebAuthn {
    pub(crate) core: WebauthnCore,
    pub(crate) rp_id: String,
    pub(crate) states: state::States,
}

impl std::fmt::Debug for WebAuthn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAuthn")
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

/// The host of `SERVER_NAME` (without a port).
fn server_host(server_name: &str) -> &str {
    match server_name.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h,
        _ => server_name,
    }
}

fn origin_within(origin: &Url, rp_id: &str) -> bool {
    matches!(origin.scheme(), "https" | "http")
        && origin.host_str().is_some_and(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h == rp_id || h.ends_with(&format!(".{rp_id}"))
        })
}

impl WebAuthn {
    /// Sets up the relying party from the configuration.
    pub(crate) fn new(c: &SecurityConfig, keys: SecretKeys) -> Result<Self, SetupError> {
        let w = &c.wan;
        let server = c.lifecycle.server_name.as_deref();
        let rp_id = w
            .rp_id
            .clone()
            .or_else(|| server.map(|s| server_host(s).to_owned()))
            .ok_or(SetupError::MissingRelyingParty)?;
        let origins: Vec<String> = if w.origins.is_empty() {
            let s = server.ok_or(SetupError::MissingRelyingParty)?;
            vec![format!("{}://{s}", c.lifecycle.preferred_url_scheme)]
        } else {
            w.origins.clone()
        };
        let mut urls = Vec::with_capacity(origins.len());
        for o in origins {
            match Url::parse(&o) {
                Ok(u) if origin_within(&u, &rp_id) => urls.push(u),
                _ => return Err(SetupError::BadOrigin(o)),
            }
        }
        let timeout = std::time::Duration::from_millis(u64::from(
            w.register_timeout_ms.max(w.signin_timeout_ms),
        ));
        let core = WebauthnCore::new_unsafe_experts_only(
            &w.rp_name,
            &rp_id,
            urls,
            timeout,
            Some(false),
            Some(false),
        );
        Ok(Self {
            core,
            rp_id,
            states: state::States::new(keys, &w.salt),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> SecurityConfig {
        let env = env
            .iter()
            .chain(&[("SECURITY_PASSWORD_SALT", "salt")])
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        match SecurityConfig::from_toml_and_env(None, env) {
            Ok(l) => l.config,
            Err(e) => panic!("{e}"),
        }
    }

    fn keys() -> SecretKeys {
        match SecretKeys::new("k") {
            Ok(k) => k,
            Err(_) => panic!("key"),
        }
    }

    #[test]
    fn relying_party_comes_from_configuration() {
        let c = config(&[("SERVER_NAME", "app.example.com:8443")]);
        let Ok(w) = WebAuthn::new(&c, keys()) else {
            panic!("builds")
        };
        assert_eq!(w.rp_id, "app.example.com");
        assert_eq!(
            w.core.get_allowed_origins()[0].as_str(),
            "http://app.example.com:8443/"
        );
        assert!(matches!(
            WebAuthn::new(&config(&[]), keys()),
            Err(SetupError::MissingRelyingParty)
        ));
        let c = config(&[
            ("SECURITY_WAN_RP_ID", "example.com"),
            ("SECURITY_WAN_ORIGINS", "https://evil.com"),
        ]);
        assert!(matches!(
            WebAuthn::new(&c, keys()),
            Err(SetupError::BadOrigin(_))
        ));
        let c = config(&[
            ("SECURITY_WAN_RP_ID", "example.com"),
            ("SECURITY_WAN_ORIGINS", "https://login.example.com"),
        ]);
        assert!(WebAuthn::new(&c, keys()).is_ok());
        let c = config(&[
            ("SECURITY_WAN_RP_ID", "example.com"),
            ("SECURITY_WAN_ORIGINS", "https://notexample.com"),
        ]);
        assert!(WebAuthn::new(&c, keys()).is_err());
    }
}
