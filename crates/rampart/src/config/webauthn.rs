//! The WebAuthn settings (`SECURITY_WAN_*`), with Flask-Security's defaults.

use super::ConfigError;
use super::source::{Source, invalid};

/// How a registered WebAuthn credential may be used: Flask-Security's `usage` column.
pub const USAGES: [&str; 2] = ["first", "secondary"];

/// The WebAuthn settings. `SECURITY_WEBAUTHN` itself is [`super::SecurityConfig::webauthn`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebAuthnConfig {
    /// `SECURITY_WAN_REGISTER_URL` (`/wan-register`).
    pub register_url: String,
    /// `SECURITY_WAN_SIGNIN_URL` (`/wan-signin`).
    pub signin_url: String,
    /// `SECURITY_WAN_DELETE_URL` (`/wan-delete`).
    pub delete_url: String,
    /// `SECURITY_WAN_VERIFY_URL` (`/wan-verify`).
    pub verify_url: String,
    /// `SECURITY_WAN_POST_REGISTER_VIEW` (the register page).
    pub post_register_view: String,
    /// `SECURITY_STATIC_FOLDER_URL` (`/fs-static`): where `rampart-webauthn.js` is served.
    pub static_folder_url: String,
    /// `SECURITY_WAN_RP_NAME` (`My Flask App`).
    pub rp_name: String,
    /// `SECURITY_WAN_RP_ID` (Rampart-only): the relying-party id; by default the host of
    /// `SERVER_NAME` (never the request's `Host`).
    pub rp_id: Option<String>,
    /// `SECURITY_WAN_ORIGINS` (Rampart-only): the origins browsers may sign from; by default
    /// `PREFERRED_URL_SCHEME://SERVER_NAME`.
    pub origins: Vec<String>,
    /// `SECURITY_WAN_ALLOW_AS_FIRST_FACTOR` (true).
    pub allow_as_first_factor: bool,
    /// `SECURITY_WAN_ALLOW_AS_MULTI_FACTOR` (true): a first-factor sign-in with user
    /// verification needs no other second factor.
    pub allow_as_multi_factor: bool,
    /// `SECURITY_WAN_ALLOW_USER_HINTS` (true): `/wan-signin` with an `identity` lists that
    /// user's credentials, and registration only prefers (rather than requires) resident keys.
    pub allow_user_hints: bool,
    /// `SECURITY_WAN_ALLOW_AS_VERIFY` (`["first", "secondary"]`); empty turns `/wan-verify` off.
    pub allow_as_verify: Vec<String>,
    /// `SECURITY_WAN_REGISTER_TIMEOUT` in milliseconds (60 000), sent to the browser.
    pub register_timeout_ms: u32,
    /// `SECURITY_WAN_SIGNIN_TIMEOUT` in milliseconds (60 000), sent to the browser.
    pub signin_timeout_ms: u32,
    /// `SECURITY_WAN_REGISTER_WITHIN` in seconds (30 minutes): lifetime of a registration state.
    pub register_within_secs: i64,
    /// `SECURITY_WAN_SIGNIN_WITHIN` in seconds (1 minute): lifetime of a sign-in state.
    pub signin_within_secs: i64,
    /// `SECURITY_WAN_SALT` (`wan-salt`): signs the ceremony states.
    pub salt: String,
    /// `SECURITY_WAN_NAME_MAX_LENGTH` (64).
    pub name_max_length: usize,
}

impl Default for WebAuthnConfig {
    fn default() -> Self {
        Self {
            register_url: "/wan-register".to_owned(),
            signin_url: "/wan-signin".to_owned(),
            delete_url: "/wan-delete".to_owned(),
            verify_url: "/wan-verify".to_owned(),
            post_register_view: "/wan-register".to_owned(),
            static_folder_url: "/fs-static".to_owned(),
            rp_name: "My Flask App".to_owned(),
            rp_id: None,
            origins: Vec::new(),
            allow_as_first_factor: true,
            allow_as_multi_factor: true,
            allow_user_hints: true,
            allow_as_verify: USAGES.iter().map(|s| (*s).to_owned()).collect(),
            register_timeout_ms: 60_000,
            signin_timeout_ms: 60_000,
            register_within_secs: 30 * 60,
            signin_within_secs: 60,
            salt: "wan-salt".to_owned(),
            name_max_length: 64,
        }
    }
}

/// Reads every `SECURITY_WAN_*` key.
pub(crate) fn read(s: &mut Source) -> Result<WebAuthnConfig, ConfigError> {
    let d = WebAuthnConfig::default();
    let url = |s: &mut Source, key: &str, default: String| super::url_key(s, key, default);
    let allow_as_verify = match s.list("SECURITY_WAN_ALLOW_AS_VERIFY")? {
        None => d.allow_as_verify,
        Some(list) => {
            if let Some(bad) = list.iter().find(|u| !USAGES.contains(&u.as_str())) {
                return Err(invalid(
                    "SECURITY_WAN_ALLOW_AS_VERIFY",
                    &format!("unknown usage {bad:?}; use first and/or secondary"),
                ));
            }
            list
        }
    };
    Ok(WebAuthnConfig {
        register_url: url(s, "SECURITY_WAN_REGISTER_URL", d.register_url)?,
        signin_url: url(s, "SECURITY_WAN_SIGNIN_URL", d.signin_url)?,
        delete_url: url(s, "SECURITY_WAN_DELETE_URL", d.delete_url)?,
        verify_url: url(s, "SECURITY_WAN_VERIFY_URL", d.verify_url)?,
        post_register_view: s
            .string("SECURITY_WAN_POST_REGISTER_VIEW")?
            .unwrap_or(d.post_register_view),
        static_folder_url: url(s, "SECURITY_STATIC_FOLDER_URL", d.static_folder_url)?,
        rp_name: s.string("SECURITY_WAN_RP_NAME")?.unwrap_or(d.rp_name),
        rp_id: s.string("SECURITY_WAN_RP_ID")?.filter(|v| !v.is_empty()),
        origins: s.list("SECURITY_WAN_ORIGINS")?.unwrap_or_default(),
        allow_as_first_factor: s.bool(
            "SECURITY_WAN_ALLOW_AS_FIRST_FACTOR",
            d.allow_as_first_factor,
        )?,
        allow_as_multi_factor: s.bool(
            "SECURITY_WAN_ALLOW_AS_MULTI_FACTOR",
            d.allow_as_multi_factor,
        )?,
        allow_user_hints: s.bool("SECURITY_WAN_ALLOW_USER_HINTS", d.allow_user_hints)?,
        allow_as_verify,
        register_timeout_ms: timeout(s, "SECURITY_WAN_REGISTER_TIMEOUT")?,
        signin_timeout_ms: timeout(s, "SECURITY_WAN_SIGNIN_TIMEOUT")?,
        register_within_secs: within(s, "SECURITY_WAN_REGISTER_WITHIN", d.register_within_secs)?,
        signin_within_secs: within(s, "SECURITY_WAN_SIGNIN_WITHIN", d.signin_within_secs)?,
        salt: s.string("SECURITY_WAN_SALT")?.unwrap_or(d.salt),
        name_max_length: usize::try_from(s.int("SECURITY_WAN_NAME_MAX_LENGTH", 64, 1, 1024)?)
            .unwrap_or(d.name_max_length),
    })
}

fn timeout(s: &mut Source, key: &str) -> Result<u32, ConfigError> {
    let v = s.int(key, 60_000, 1_000, 3_600_000)?;
    Ok(u32::try_from(v).unwrap_or(60_000))
}

fn within(s: &mut Source, key: &str, default: i64) -> Result<i64, ConfigError> {
    let v = s.duration_secs(key, default)?;
    if !(1..=86_400).contains(&v) {
        return Err(invalid(key, "must be between 1 second and 1 day"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use crate::config::SecurityConfig;

    fn load(env: &[(&str, &str)]) -> Result<SecurityConfig, crate::config::ConfigError> {
        let env = env
            .iter()
            .chain(&[("SECURITY_PASSWORD_SALT", "salt")])
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        SecurityConfig::from_toml_and_env(None, env).map(|l| l.config)
    }

    #[test]
    fn defaults_and_overrides() {
        let Ok(c) = load(&[]) else {
            panic!("defaults load")
        };
        assert_eq!(c.wan.signin_within_secs, 60);
        assert_eq!(c.wan.register_within_secs, 1800);
        assert!(c.wan.allow_user_hints && c.wan.allow_as_first_factor);
        assert_eq!(c.wan.allow_as_verify, ["first", "secondary"]);
        let Ok(c) = load(&[
            ("SECURITY_WAN_ALLOW_USER_HINTS", "false"),
            ("SECURITY_WAN_ALLOW_AS_VERIFY", "secondary"),
            ("SECURITY_WAN_SIGNIN_WITHIN", "2 minutes"),
        ]) else {
            panic!("overrides load")
        };
        assert!(!c.wan.allow_user_hints);
        assert_eq!(c.wan.allow_as_verify, ["secondary"]);
        assert_eq!(c.wan.signin_within_secs, 120);
        assert!(load(&[("SECURITY_WAN_ALLOW_AS_VERIFY", "third")]).is_err());
        assert!(load(&[("SECURITY_WAN_SIGNIN_TIMEOUT", "5")]).is_err());
    }
}
