//! Settings of the HTML pages: template overrides, flashed messages and the static folder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::ConfigError;
use super::source::{Source, invalid};

/// The page settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PagesConfig {
    /// `SECURITY_TEMPLATE_DIR` (Rampart-only): a directory laid out like a Flask
    /// application's `templates/` folder; `DIR/security/login_user.html` replaces that page.
    pub template_dir: Option<PathBuf>,
    /// Flask-Security's `SECURITY_*_TEMPLATE` keys that were set: default template name
    /// (`security/login_user.html`) → the template rendered instead.
    pub templates: BTreeMap<String, String>,
    /// `SECURITY_FLASH_MESSAGES` (true): browser redirects flash their message.
    pub flash_messages: bool,
    /// `SECURITY_STATIC_FOLDER_URL` (`/fs-static`): where Rampart's stylesheet and scripts
    /// are served.
    pub static_folder_url: String,
}

impl Default for PagesConfig {
    fn default() -> Self {
        Self {
            template_dir: None,
            templates: BTreeMap::new(),
            flash_messages: true,
            static_folder_url: "/fs-static".to_owned(),
        }
    }
}

/// Page templates whose key is not `SECURITY_<NAME>_TEMPLATE`.
pub const TEMPLATE_KEYS: [(&str, &str); 3] = [
    ("mf_recovery", "SECURITY_MULTI_FACTOR_RECOVERY_TEMPLATE"),
    (
        "mf_recovery_codes",
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES_TEMPLATE",
    ),
    ("recover_username", "SECURITY_USERNAME_RECOVERY_TEMPLATE"),
];

/// Flask-Security's page templates (without `security/` and `.html`).
pub const PAGE_NAMES: [&str; 23] = [
    "login_user",
    "logout_user",
    "send_login",
    "verify",
    "register_user",
    "send_confirmation",
    "forgot_password",
    "reset_password",
    "change_password",
    "change_email",
    "change_username",
    "recover_username",
    "two_factor_setup",
    "two_factor_verify_code",
    "two_factor_select",
    "mf_recovery",
    "mf_recovery_codes",
    "us_signin",
    "us_setup",
    "us_verify",
    "wan_register",
    "wan_signin",
    "wan_verify",
];

/// The configuration key of a page template (`login_user` → `SECURITY_LOGIN_USER_TEMPLATE`).
pub fn template_key(name: &str) -> String {
    TEMPLATE_KEYS.iter().find(|(n, _)| *n == name).map_or_else(
        || format!("SECURITY_{}_TEMPLATE", name.to_uppercase()),
        |(_, k)| (*k).to_owned(),
    )
}

/// Reads the page keys.
pub(crate) fn read(s: &mut Source) -> Result<PagesConfig, ConfigError> {
    let d = PagesConfig::default();
    let mut templates = BTreeMap::new();
    for name in PAGE_NAMES {
        let key = template_key(name);
        if let Some(v) = s.string(&key)?.filter(|v| !v.trim().is_empty()) {
            templates.insert(format!("security/{name}.html"), v);
        }
    }
    let static_folder_url = match s.string("SECURITY_STATIC_FOLDER_URL")? {
        None => d.static_folder_url,
        Some(v) if v.starts_with('/') && !v.starts_with("//") && v.len() > 1 => {
            v.trim_end_matches('/').to_owned()
        }
        Some(_) => {
            return Err(invalid(
                "SECURITY_STATIC_FOLDER_URL",
                "must be a path starting with a single /",
            ));
        }
    };
    Ok(PagesConfig {
        template_dir: s.string("SECURITY_TEMPLATE_DIR")?.map(PathBuf::from),
        templates,
        flash_messages: s.bool("SECURITY_FLASH_MESSAGES", d.flash_messages)?,
        static_folder_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_flask_security() {
        assert_eq!(template_key("login_user"), "SECURITY_LOGIN_USER_TEMPLATE");
        assert_eq!(
            template_key("mf_recovery_codes"),
            "SECURITY_MULTI_FACTOR_RECOVERY_CODES_TEMPLATE"
        );
        let keys = include_str!("fs_keys.txt");
        for name in PAGE_NAMES {
            let key = template_key(name);
            assert!(keys.lines().any(|k| k == key), "{key}");
        }
    }
}
