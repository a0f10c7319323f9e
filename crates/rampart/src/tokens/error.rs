//! Why a token was refused.

use rampart_core::DatastoreError;

/// Why an auth token could not be issued, or was refused.
///
/// Messages never contain the token, its payload, a uniquifier or a secret, so they are safe
/// to log. All refusals are equivalent for the client (Flask-Security answers 401 to each).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is not one of ours: bad signature (with every key), malformed, or a payload
    /// that is not an auth token.
    #[error("invalid auth token")]
    Invalid,
    /// The token is genuine but older than the maximum age, dated in the future, or past its
    /// `exp`.
    #[error("auth token expired")]
    Expired,
    /// The token is genuine but no user has its uniquifier any more: it was rotated (password
    /// change, `reset_user_access`) or the user was deleted.
    #[error("auth token revoked (no user has its uniquifier)")]
    Revoked,
    /// The token's user exists but is not active.
    #[error("user is inactive")]
    Inactive,
    /// A token cannot be issued: the user has no uniquifier, or a claim (a non-finite
    /// `fs_paa`) cannot be written as JSON.
    #[error("cannot issue auth token: {0}")]
    CannotIssue(&'static str),
    /// The datastore failed while looking the user up.
    #[error("datastore error: {0}")]
    Datastore(#[from] DatastoreError),
}

impl TokenError {
    /// Whether the token itself was refused (as opposed to a datastore failure or an issuing
    /// error): Flask-Security's request loader answers "not authenticated" for each of these.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Self::Invalid | Self::Expired | Self::Revoked | Self::Inactive
        )
    }
}
