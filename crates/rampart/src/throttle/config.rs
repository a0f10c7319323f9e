//! The throttle's settings (Rampart-only `SECURITY_THROTTLE_*` keys).

/// Limits of the throttle; read from the `SECURITY_THROTTLE_*` keys (all Rampart-only).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// `SECURITY_THROTTLE_ENABLED` (default true).
    pub enabled: bool,
    /// `SECURITY_THROTTLE_ACCOUNT_LIMIT` (default 10): attempts per account in a burst, and
    /// consecutive failures before the back-off starts.
    pub account_limit: u32,
    /// `SECURITY_THROTTLE_ACCOUNT_WINDOW` in seconds (default 15 minutes): the account's
    /// burst refills over this window (one attempt every window / limit).
    pub account_window_secs: i64,
    /// `SECURITY_THROTTLE_ADDRESS_LIMIT` (default 100): attempts per client address in a
    /// burst.
    pub address_limit: u32,
    /// `SECURITY_THROTTLE_ADDRESS_WINDOW` in seconds (default 15 minutes).
    pub address_window_secs: i64,
    /// `SECURITY_THROTTLE_MAX_DELAY` in seconds (default 1 hour): the longest back-off wait.
    pub max_delay_secs: i64,
    /// `SECURITY_THROTTLE_HARD_LIMIT` (default 100, NIST's ceiling; 0 turns it off):
    /// consecutive failures after which an account's logins and code checks wait for
    /// `SECURITY_THROTTLE_FORGET_AFTER` (or a password reset).
    pub hard_limit: u32,
    /// `SECURITY_THROTTLE_FORGET_AFTER` in seconds (default 24 hours): failures are forgotten
    /// this long after the last one.
    pub forget_after_secs: i64,
    /// `SECURITY_THROTTLE_KEY_PREFIX` (default empty): put before every counter key, to keep
    /// several applications apart on one Redis or database.
    pub key_prefix: String,
    /// `SECURITY_THROTTLE_REFUSAL_DELAY_MS` (default 250, 0 turns it off): a refused attempt
    /// is held this long before its 429, so a flooding connection gets at most a few answers
    /// a second and the flood cannot take the server's time from everyone else.
    pub refusal_delay_ms: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            account_limit: 10,
            account_window_secs: 15 * 60,
            address_limit: 100,
            address_window_secs: 15 * 60,
            max_delay_secs: 3600,
            hard_limit: 100,
            forget_after_secs: 86_400,
            key_prefix: String::new(),
            refusal_delay_ms: 250,
        }
    }
}
