//! Two-factor, recovery-code and unified sign-in settings (`SECURITY_TWO_FACTOR_*`,
//! `SECURITY_TOTP_*`, `SECURITY_MULTI_FACTOR_RECOVERY_*`, `SECURITY_US_*`), with
//! Flask-Security's names and defaults.

use std::collections::BTreeMap;

use super::source::{self, Source};
use super::{ConfigError, Secret};

/// Multi-factor settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MfaConfig {
    /// `SECURITY_TWO_FACTOR_REQUIRED`: every user must set up a second factor.
    pub two_factor_required: bool,
    /// `SECURITY_TWO_FACTOR_ENABLED_METHODS` (default `["email", "authenticator", "sms"]`;
    /// the legacy names `mail` and `google_authenticator` are accepted).
    pub two_factor_enabled_methods: Vec<String>,
    /// `SECURITY_TWO_FACTOR_ALWAYS_VALIDATE` (default true): false lets the `tf_validity`
    /// cookie skip the second factor on a remembered browser.
    pub two_factor_always_validate: bool,
    /// `SECURITY_TWO_FACTOR_LOGIN_VALIDITY` in seconds (default 30 days).
    pub two_factor_login_validity_secs: i64,
    /// `SECURITY_TWO_FACTOR_VALIDITY_COOKIE_NAME` (default `tf_validity`).
    pub two_factor_validity_cookie_name: String,
    /// `SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY` in seconds (default 120).
    pub authenticator_validity_secs: i64,
    /// `SECURITY_TWO_FACTOR_MAIL_VALIDITY` in seconds (default 300).
    pub mail_validity_secs: i64,
    /// `SECURITY_TWO_FACTOR_SMS_VALIDITY` in seconds (default 120).
    pub sms_validity_secs: i64,
    /// `SECURITY_TWO_FACTOR_SETUP_WITHIN` in seconds (default 30 minutes).
    pub two_factor_setup_within_secs: i64,
    /// `SECURITY_TWO_FACTOR_STATE_WITHIN` (Rampart-only) in seconds (default 10 minutes): how
    /// long the half-authenticated state between the password and the second factor lives.
    pub two_factor_state_within_secs: i64,
    /// `SECURITY_TWO_FACTOR_CODE_TRIES` (Rampart-only, default 5): wrong codes a challenge
    /// survives.
    pub code_tries: i64,
    /// `SECURITY_TWO_FACTOR_RESCUE_EMAIL` (default true): offer "send the code by email".
    pub two_factor_rescue_email: bool,
    /// `SECURITY_TWO_FACTOR_RESCUE_MAIL` (default `no-reply@localhost`): who gets help
    /// requests.
    pub two_factor_rescue_mail: String,
    /// `SECURITY_TOTP_SECRETS`: `{tag: secret}` encrypting the stored TOTP secrets.
    pub totp_secrets: BTreeMap<String, Secret>,
    /// `SECURITY_TOTP_ISSUER` (the name authenticator apps show).
    pub totp_issuer: Option<String>,
    /// `SECURITY_TWO_FACTOR_SETUP_URL` (default `/tf-setup`).
    pub two_factor_setup_url: String,
    /// `SECURITY_TWO_FACTOR_TOKEN_VALIDATION_URL` (default `/tf-validate`).
    pub two_factor_token_validation_url: String,
    /// `SECURITY_TWO_FACTOR_RESCUE_URL` (default `/tf-rescue`).
    pub two_factor_rescue_url: String,
    /// `SECURITY_TWO_FACTOR_SELECT_URL` (default `/tf-select`).
    pub two_factor_select_url: String,
    /// `SECURITY_TWO_FACTOR_POST_SETUP_VIEW` (default `/`).
    pub two_factor_post_setup_view: String,
    /// `SECURITY_TWO_FACTOR_ERROR_VIEW` (default the login URL).
    pub two_factor_error_view: Option<String>,
    /// `SECURITY_MULTI_FACTOR_RECOVERY_CODES_N` (default 5).
    pub recovery_codes_n: usize,
    /// `SECURITY_MULTI_FACTOR_RECOVERY_CODES_URL` (default `/mf-recovery-codes`).
    pub recovery_codes_url: String,
    /// `SECURITY_MULTI_FACTOR_RECOVERY_URL` (default `/mf-recovery`).
    pub recovery_url: String,
    /// `SECURITY_US_ENABLED_METHODS` (default `["password", "email", "authenticator", "sms"]`).
    pub us_enabled_methods: Vec<String>,
    /// `SECURITY_US_MFA_REQUIRED` (default `["password", "email"]`): after these first
    /// factors two-factor still applies.
    pub us_mfa_required: Vec<String>,
    /// `SECURITY_US_TOKEN_VALIDITY` in seconds (default 120).
    pub us_token_validity_secs: i64,
    /// `SECURITY_US_SETUP_WITHIN` in seconds (default 30 minutes).
    pub us_setup_within_secs: i64,
    /// `SECURITY_US_SIGNIN_URL` (default `/us-signin`).
    pub us_signin_url: String,
    /// `SECURITY_US_SIGNIN_REPLACES_LOGIN` (default false): with unified sign-in on,
    /// browsers that must sign in are sent to `SECURITY_US_SIGNIN_URL` instead of the login
    /// page.
    pub us_signin_replaces_login: bool,
    /// `SECURITY_US_SIGNIN_SEND_CODE_URL` (default `/us-signin/send-code`).
    pub us_signin_send_code_url: String,
    /// `SECURITY_US_SETUP_URL` (default `/us-setup`).
    pub us_setup_url: String,
    /// `SECURITY_US_VERIFY_URL` (default `/us-verify`).
    pub us_verify_url: String,
    /// `SECURITY_US_VERIFY_SEND_CODE_URL` (default `/us-verify/send-code`).
    pub us_verify_send_code_url: String,
    /// `SECURITY_US_VERIFY_LINK_URL` (default `/us-verify-link`).
    pub us_verify_link_url: String,
    /// `SECURITY_US_POST_SETUP_VIEW` (default `/`).
    pub us_post_setup_view: String,
}

impl Default for MfaConfig {
    fn default() -> Self {
        Self {
            two_factor_required: false,
            two_factor_enabled_methods: vec![
                "email".to_owned(),
                "authenticator".to_owned(),
                "sms".to_owned(),
            ],
            two_factor_always_validate: true,
            two_factor_login_validity_secs: 30 * 86_400,
            two_factor_validity_cookie_name: "tf_validity".to_owned(),
            authenticator_validity_secs: 120,
            mail_validity_secs: 300,
            sms_validity_secs: 120,
            two_factor_setup_within_secs: 1800,
            two_factor_state_within_secs: 600,
            code_tries: 5,
            two_factor_rescue_email: true,
            two_factor_rescue_mail: "no-reply@localhost".to_owned(),
            totp_secrets: BTreeMap::new(),
            totp_issuer: None,
            two_factor_setup_url: "/tf-setup".to_owned(),
            two_factor_token_validation_url: "/tf-validate".to_owned(),
            two_factor_rescue_url: "/tf-rescue".to_owned(),
            two_factor_select_url: "/tf-select".to_owned(),
            two_factor_post_setup_view: "/".to_owned(),
            two_factor_error_view: None,
            recovery_codes_n: 5,
            recovery_codes_url: "/mf-recovery-codes".to_owned(),
            recovery_url: "/mf-recovery".to_owned(),
            us_enabled_methods: ["password", "email", "authenticator", "sms"]
                .map(str::to_owned)
                .to_vec(),
            us_mfa_required: vec!["password".to_owned(), "email".to_owned()],
            us_token_validity_secs: 120,
            us_setup_within_secs: 1800,
            us_signin_url: "/us-signin".to_owned(),
            us_signin_replaces_login: false,
            us_signin_send_code_url: "/us-signin/send-code".to_owned(),
            us_setup_url: "/us-setup".to_owned(),
            us_verify_url: "/us-verify".to_owned(),
            us_verify_send_code_url: "/us-verify/send-code".to_owned(),
            us_verify_link_url: "/us-verify-link".to_owned(),
            us_post_setup_view: "/".to_owned(),
        }
    }
}

/// Flask-Security's legacy method names.
pub(crate) fn normalize_method(m: &str) -> String {
    match m {
        "mail" => "email".to_owned(),
        "google_authenticator" => "authenticator".to_owned(),
        other => other.to_owned(),
    }
}

fn methods(
    s: &mut Source,
    key: &str,
    allowed: &[&str],
    default: Vec<String>,
) -> Result<Vec<String>, ConfigError> {
    let Some(list) = s.list(key)? else {
        return Ok(default);
    };
    list.iter()
        .map(|m| {
            let m = normalize_method(m);
            if allowed.contains(&m.as_str()) {
                Ok(m)
            } else {
                Err(source::invalid(
                    key,
                    &format!("unknown method {m:?}; use {}", allowed.join(", ")),
                ))
            }
        })
        .collect()
}

fn path(s: &mut Source, key: &str, default: String) -> Result<String, ConfigError> {
    match s.string(key)? {
        None => Ok(default),
        Some(v) if v.starts_with('/') && !v.starts_with("//") => Ok(v),
        Some(_) => Err(source::invalid(
            key,
            "must be a path starting with a single /",
        )),
    }
}

fn secrets(s: &mut Source) -> Result<BTreeMap<String, Secret>, ConfigError> {
    let key = "SECURITY_TOTP_SECRETS";
    let Some(table) = s.table(key)? else {
        return Ok(BTreeMap::new());
    };
    table
        .into_iter()
        .map(|(tag, v)| match v {
            serde_json::Value::String(secret) if !secret.is_empty() => Ok((tag, Secret(secret))),
            _ => Err(source::invalid(key, "expected {tag = \"secret\"} entries")),
        })
        .collect()
}

/// Reads the multi-factor keys.
pub(crate) fn read(s: &mut Source) -> Result<MfaConfig, ConfigError> {
    let d = MfaConfig::default();
    let tf_methods = ["email", "authenticator", "sms"];
    let us_methods = ["password", "email", "authenticator", "sms"];
    let c = MfaConfig {
        two_factor_required: s.bool("SECURITY_TWO_FACTOR_REQUIRED", d.two_factor_required)?,
        two_factor_enabled_methods: methods(
            s,
            "SECURITY_TWO_FACTOR_ENABLED_METHODS",
            &tf_methods,
            d.two_factor_enabled_methods,
        )?,
        two_factor_always_validate: s.bool(
            "SECURITY_TWO_FACTOR_ALWAYS_VALIDATE",
            d.two_factor_always_validate,
        )?,
        two_factor_login_validity_secs: s.duration_secs(
            "SECURITY_TWO_FACTOR_LOGIN_VALIDITY",
            d.two_factor_login_validity_secs,
        )?,
        two_factor_validity_cookie_name: s
            .string("SECURITY_TWO_FACTOR_VALIDITY_COOKIE_NAME")?
            .unwrap_or(d.two_factor_validity_cookie_name),
        authenticator_validity_secs: s.duration_secs(
            "SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY",
            d.authenticator_validity_secs,
        )?,
        mail_validity_secs: s
            .duration_secs("SECURITY_TWO_FACTOR_MAIL_VALIDITY", d.mail_validity_secs)?,
        sms_validity_secs: s
            .duration_secs("SECURITY_TWO_FACTOR_SMS_VALIDITY", d.sms_validity_secs)?,
        two_factor_setup_within_secs: s.duration_secs(
            "SECURITY_TWO_FACTOR_SETUP_WITHIN",
            d.two_factor_setup_within_secs,
        )?,
        two_factor_state_within_secs: s.duration_secs(
            "SECURITY_TWO_FACTOR_STATE_WITHIN",
            d.two_factor_state_within_secs,
        )?,
        code_tries: s.int("SECURITY_TWO_FACTOR_CODE_TRIES", d.code_tries, 1, 20)?,
        two_factor_rescue_email: s.bool(
            "SECURITY_TWO_FACTOR_RESCUE_EMAIL",
            d.two_factor_rescue_email,
        )?,
        two_factor_rescue_mail: s
            .string("SECURITY_TWO_FACTOR_RESCUE_MAIL")?
            .unwrap_or(d.two_factor_rescue_mail),
        totp_secrets: secrets(s)?,
        totp_issuer: s.string("SECURITY_TOTP_ISSUER")?.filter(|v| !v.is_empty()),
        two_factor_setup_url: path(s, "SECURITY_TWO_FACTOR_SETUP_URL", d.two_factor_setup_url)?,
        two_factor_token_validation_url: path(
            s,
            "SECURITY_TWO_FACTOR_TOKEN_VALIDATION_URL",
            d.two_factor_token_validation_url,
        )?,
        two_factor_rescue_url: path(s, "SECURITY_TWO_FACTOR_RESCUE_URL", d.two_factor_rescue_url)?,
        two_factor_select_url: path(s, "SECURITY_TWO_FACTOR_SELECT_URL", d.two_factor_select_url)?,
        two_factor_post_setup_view: path(
            s,
            "SECURITY_TWO_FACTOR_POST_SETUP_VIEW",
            d.two_factor_post_setup_view,
        )?,
        two_factor_error_view: s
            .string("SECURITY_TWO_FACTOR_ERROR_VIEW")?
            .filter(|v| !v.is_empty()),
        recovery_codes_n: usize::try_from(s.int(
            "SECURITY_MULTI_FACTOR_RECOVERY_CODES_N",
            5,
            1,
            50,
        )?)
        .unwrap_or(5),
        recovery_codes_url: path(
            s,
            "SECURITY_MULTI_FACTOR_RECOVERY_CODES_URL",
            d.recovery_codes_url,
        )?,
        recovery_url: path(s, "SECURITY_MULTI_FACTOR_RECOVERY_URL", d.recovery_url)?,
        us_enabled_methods: methods(
            s,
            "SECURITY_US_ENABLED_METHODS",
            &us_methods,
            d.us_enabled_methods,
        )?,
        us_mfa_required: methods(
            s,
            "SECURITY_US_MFA_REQUIRED",
            &us_methods,
            d.us_mfa_required,
        )?,
        us_token_validity_secs: s
            .duration_secs("SECURITY_US_TOKEN_VALIDITY", d.us_token_validity_secs)?,
        us_setup_within_secs: s
            .duration_secs("SECURITY_US_SETUP_WITHIN", d.us_setup_within_secs)?,
        us_signin_url: path(s, "SECURITY_US_SIGNIN_URL", d.us_signin_url)?,
        us_signin_replaces_login: s.bool(
            "SECURITY_US_SIGNIN_REPLACES_LOGIN",
            d.us_signin_replaces_login,
        )?,
        us_signin_send_code_url: path(
            s,
            "SECURITY_US_SIGNIN_SEND_CODE_URL",
            d.us_signin_send_code_url,
        )?,
        us_setup_url: path(s, "SECURITY_US_SETUP_URL", d.us_setup_url)?,
        us_verify_url: path(s, "SECURITY_US_VERIFY_URL", d.us_verify_url)?,
        us_verify_send_code_url: path(
            s,
            "SECURITY_US_VERIFY_SEND_CODE_URL",
            d.us_verify_send_code_url,
        )?,
        us_verify_link_url: path(s, "SECURITY_US_VERIFY_LINK_URL", d.us_verify_link_url)?,
        us_post_setup_view: path(s, "SECURITY_US_POST_SETUP_VIEW", d.us_post_setup_view)?,
    };
    for (key, v) in [
        (
            "SECURITY_TWO_FACTOR_STATE_WITHIN",
            c.two_factor_state_within_secs,
        ),
        (
            "SECURITY_TWO_FACTOR_SETUP_WITHIN",
            c.two_factor_setup_within_secs,
        ),
        ("SECURITY_US_SETUP_WITHIN", c.us_setup_within_secs),
        (
            "SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY",
            c.authenticator_validity_secs,
        ),
        ("SECURITY_TWO_FACTOR_MAIL_VALIDITY", c.mail_validity_secs),
        ("SECURITY_TWO_FACTOR_SMS_VALIDITY", c.sms_validity_secs),
        ("SECURITY_US_TOKEN_VALIDITY", c.us_token_validity_secs),
    ] {
        if v <= 0 || v > 30 * 86_400 {
            return Err(source::invalid(key, "must be between 1 second and 30 days"));
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, SecurityConfig};

    fn load(env: &[(&str, &str)]) -> Result<SecurityConfig, ConfigError> {
        SecurityConfig::from_toml_and_env(
            Some("SECURITY_PASSWORD_SINGLE_HASH = true"),
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .map(|l| l.config)
    }

    #[test]
    fn flask_security_defaults_and_names() {
        let c = load(&[]).expect("defaults load");
        assert_eq!(
            c.mfa.two_factor_enabled_methods,
            ["email", "authenticator", "sms"]
        );
        assert!(c.mfa.two_factor_always_validate);
        assert_eq!(c.mfa.authenticator_validity_secs, 120);
        assert_eq!(c.mfa.mail_validity_secs, 300);
        assert_eq!(c.mfa.two_factor_login_validity_secs, 30 * 86_400);
        assert_eq!(c.mfa.us_mfa_required, ["password", "email"]);
        let c = load(&[
            (
                "SECURITY_TWO_FACTOR_ENABLED_METHODS",
                "[\"mail\", \"google_authenticator\"]",
            ),
            ("SECURITY_TOTP_SECRETS", "{\"1\": \"s1\", \"2\": \"s2\"}"),
            ("SECURITY_TWO_FACTOR_MAIL_VALIDITY", "10 minutes"),
        ])
        .expect("loads");
        assert_eq!(c.mfa.two_factor_enabled_methods, ["email", "authenticator"]);
        assert_eq!(c.mfa.totp_secrets.len(), 2);
        assert_eq!(c.mfa.mail_validity_secs, 600);
        assert!(!format!("{c:?}").contains("s2\""), "secrets are redacted");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("SECURITY_TWO_FACTOR_ENABLED_METHODS", "carrier-pigeon"),
            ("SECURITY_US_ENABLED_METHODS", "[\"magic\"]"),
            ("SECURITY_TOTP_SECRETS", "[1]"),
            ("SECURITY_TWO_FACTOR_STATE_WITHIN", "0"),
            ("SECURITY_TWO_FACTOR_SETUP_URL", "tf-setup"),
        ] {
            match load(&[(key, value)]) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}={value}: {other:?}"),
            }
        }
    }
}
