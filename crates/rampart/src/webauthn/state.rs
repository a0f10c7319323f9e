//! Ceremony states: what the server must remember between the options it sends and the
//! credential the browser returns.
//!
//! As in Flask-Security, the state travels as `wan_state`, a token signed with
//! `SECURITY_WAN_SALT` and timed (`SECURITY_WAN_REGISTER_WITHIN`, `..._SIGNIN_WITHIN`), so
//! clients without cookies can complete a ceremony. Unlike Flask-Security, each state is
//! **single use**: finishing a ceremony first claims the state's random nonce in the
//! throttle store (atomic, shared by every instance that shares the store), and a second use
//! of the same state, or a replay of a captured credential with it, is refused. The state also
//! names the user it was issued to, so one user's state cannot finish another's ceremony.
//!
//! The webauthn-rs ceremony state inside holds the challenge and the policy; nothing in it is
//! secret (the challenge is sent to the browser anyway), and the signature prevents tampering.

use std::time::Duration;

use rampart_core::signing::{SecretKeys, UrlSafeTimedSerializer};
use serde::{Deserialize, Serialize};

/// Which ceremony a state belongs to; a state of one kind never finishes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// `/wan-register`.
    Register,
    /// `/wan-signin` (first or second factor).
    Signin,
    /// `/wan-verify`.
    Verify,
}

/// The content of a `wan_state` token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WanState {
    /// Random nonce claimed when the ceremony finishes (single use).
    pub(crate) nonce: String,
    /// The ceremony.
    pub(crate) kind: Kind,
    /// `fs_uniquifier` of the user the state was issued to (register, verify, second factor).
    pub(crate) user: Option<String>,
    /// Credential name (register).
    #[serde(default)]
    pub(crate) name: String,
    /// `first` or `secondary` (register; secondary sign-in).
    #[serde(default)]
    pub(crate) usage: String,
    /// The webauthn-rs `RegistrationState` or `AuthenticationState`.
    pub(crate) ceremony: serde_json::Value,
}

/// Why a `wan_state` cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateProblem {
    /// Not ours, tampered with, of another kind, or malformed: `API_ERROR`.
    Invalid,
    /// Older than its lifetime, or already used: `WEBAUTHN_EXPIRED`.
    Expired,
}

/// Issues and opens `wan_state` tokens.
#[derive(Clone)]
pub(crate) struct States {
    serializer: UrlSafeTimedSerializer,
    salt: String,
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("States")
    }
}

impl States {
    pub(crate) fn new(keys: SecretKeys, salt: &str) -> Self {
        Self {
            serializer: UrlSafeTimedSerializer::new(keys),
            salt: salt.to_owned(),
        }
    }

    /// A new state with a fresh 128-bit nonce.
    pub(crate) fn issue(&self, mut state: WanState) -> String {
        state.nonce = rampart_core::model::new_uniquifier();
        self.serializer
            .dumps(&state, &self.salt)
            .unwrap_or_default()
    }

    /// Opens a token of `kind` no older than `within` (not yet claimed).
    pub(crate) fn open(
        &self,
        token: &str,
        kind: Kind,
        within: Duration,
    ) -> Result<WanState, StateProblem> {
        match self
            .serializer
            .loads::<WanState>(token, &self.salt, Some(within))
        {
            Ok((s, _)) if s.kind == kind && !s.nonce.is_empty() => Ok(s),
            Ok(_) => Err(StateProblem::Invalid),
            Err(e) if e.is_expired() => Err(StateProblem::Expired),
            Err(_) => Err(StateProblem::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states() -> States {
        let Ok(keys) = SecretKeys::new("secret") else {
            panic!("key")
        };
        States::new(keys, "wan-salt")
    }

    fn state(kind: Kind) -> WanState {
        WanState {
            nonce: String::new(),
            kind,
            user: Some("u1".into()),
            name: "key".into(),
            usage: "first".into(),
            ceremony: serde_json::json!({"challenge": "abc"}),
        }
    }

    #[test]
    fn round_trip_kinds_and_tampering() {
        let s = states();
        let min = Duration::from_secs(60);
        let t = s.issue(state(Kind::Register));
        let Ok(open) = s.open(&t, Kind::Register, min) else {
            panic!("opens")
        };
        assert_eq!(open.nonce.len(), 32);
        assert_eq!(open.user.as_deref(), Some("u1"));
        assert_ne!(
            s.issue(state(Kind::Register)),
            t,
            "every state has its own nonce"
        );
        assert_eq!(
            s.open(&t, Kind::Signin, min).err(),
            Some(StateProblem::Invalid)
        );
        let mut forged = t.clone();
        forged.push('x');
        assert_eq!(
            s.open(&forged, Kind::Register, min).err(),
            Some(StateProblem::Invalid)
        );
        let Ok(other) = SecretKeys::new("other") else {
            panic!("key")
        };
        let foreign = States::new(other, "wan-salt").issue(state(Kind::Register));
        assert_eq!(
            s.open(&foreign, Kind::Register, min).err(),
            Some(StateProblem::Invalid)
        );
        assert_eq!(
            s.open("garbage", Kind::Register, min).err(),
            Some(StateProblem::Invalid)
        );
    }
}
