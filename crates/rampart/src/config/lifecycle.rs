//! Settings of the account lifecycle (registration, confirmation, reset, change of password,
//! email and username), of emails and of message texts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::ConfigError;
use super::source::{Source, invalid};

/// The account-lifecycle, mail and message settings, with Flask-Security's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LifecycleConfig {
    /// `SERVER_NAME` (Flask's key): host and optional port that every emailed link uses. Links
    /// are never built from the request's `Host` header; a mail-sending feature without it is
    /// refused at start-up.
    pub server_name: Option<String>,
    /// `PREFERRED_URL_SCHEME` (Flask's key, default `http`).
    pub preferred_url_scheme: String,
    /// `SECURITY_REGISTER_URL` (`/register`).
    pub register_url: String,
    /// `SECURITY_CONFIRM_URL` (`/confirm`).
    pub confirm_url: String,
    /// `SECURITY_RESET_URL` (`/reset`).
    pub reset_url: String,
    /// `SECURITY_CHANGE_URL` (`/change`).
    pub change_url: String,
    /// `SECURITY_CHANGE_EMAIL_URL` (`/change-email`).
    pub change_email_url: String,
    /// `SECURITY_CHANGE_USERNAME_URL` (`/change-username`).
    pub change_username_url: String,
    /// `SECURITY_CHANGE_USERNAME`: the `/change-username` endpoint (needs usernames).
    pub change_username: bool,
    /// `SECURITY_USERNAME_REQUIRED`.
    pub username_required: bool,
    /// `SECURITY_PASSWORD_CONFIRM_REQUIRED` (true): registration needs `password_confirm`.
    pub password_confirm_required: bool,
    /// `SECURITY_AUTO_LOGIN_AFTER_CONFIRM` (false).
    pub auto_login_after_confirm: bool,
    /// `SECURITY_AUTO_LOGIN_AFTER_RESET` (false).
    pub auto_login_after_reset: bool,
    /// `SECURITY_CONFIRM_EMAIL_WITHIN` in seconds (2 days).
    pub confirm_email_within_secs: i64,
    /// `SECURITY_RESET_PASSWORD_WITHIN` in seconds (1 day).
    pub reset_password_within_secs: i64,
    /// `SECURITY_CHANGE_EMAIL_WITHIN` in seconds (2 hours).
    pub change_email_within_secs: i64,
    /// `SECURITY_CONFIRM_SALT`.
    pub confirm_salt: String,
    /// `SECURITY_RESET_SALT`.
    pub reset_salt: String,
    /// `SECURITY_CHANGE_EMAIL_SALT`.
    pub change_email_salt: String,
    /// `SECURITY_REDIRECT_BEHAVIOR = "spa"`: links opened from emails redirect to the
    /// configured UI views with query parameters.
    pub redirect_spa: bool,
    /// `SECURITY_REDIRECT_HOST`: host (and port) that replaces the host of the SPA views.
    pub redirect_host: Option<String>,
    /// The `*_VIEW` keys (`SECURITY_POST_REGISTER_VIEW`, `SECURITY_CONFIRM_ERROR_VIEW`, …):
    /// key without its `SECURITY_` prefix → path or absolute URL.
    pub views: BTreeMap<String, String>,
    /// `SECURITY_SEND_REGISTER_EMAIL` (true).
    pub send_register_email: bool,
    /// `SECURITY_SEND_PASSWORD_CHANGE_EMAIL` (true).
    pub send_password_change_email: bool,
    /// `SECURITY_SEND_PASSWORD_RESET_EMAIL` (true).
    pub send_password_reset_email: bool,
    /// `SECURITY_SEND_PASSWORD_RESET_NOTICE_EMAIL` (true).
    pub send_password_reset_notice_email: bool,
    /// `SECURITY_SEND_USERNAME_CHANGE_EMAIL` (true).
    pub send_username_change_email: bool,
    /// `SECURITY_SEND_CHANGE_EMAIL_NOTICE` (Rampart-only, true): tell the old address when the
    /// email of an account changes.
    pub send_change_email_notice: bool,
    /// `SECURITY_EMAIL_SENDER` (`no-reply@localhost`).
    pub email_sender: String,
    /// `SECURITY_EMAIL_PLAINTEXT` (true).
    pub email_plaintext: bool,
    /// `SECURITY_EMAIL_HTML` (true).
    pub email_html: bool,
    /// `SECURITY_EMAIL_SUBJECT_*` and the other subject keys that were set: key → subject.
    pub email_subjects: BTreeMap<String, String>,
    /// `SECURITY_EMAIL_TEMPLATE_DIR` (Rampart-only): a directory of `<name>.txt` /
    /// `<name>.html` templates that replace the defaults.
    pub email_template_dir: Option<PathBuf>,
    /// `SECURITY_MSG_*` overrides: key without its prefix → text.
    pub messages: BTreeMap<String, String>,
}

/// The view keys read into [`LifecycleConfig::views`].
pub const VIEW_KEYS: [&str; 11] = [
    "POST_REGISTER_VIEW",
    "POST_CONFIRM_VIEW",
    "CONFIRM_ERROR_VIEW",
    "POST_RESET_VIEW",
    "RESET_VIEW",
    "RESET_ERROR_VIEW",
    "POST_CHANGE_VIEW",
    "POST_CHANGE_EMAIL_VIEW",
    "CHANGE_EMAIL_ERROR_VIEW",
    "POST_CHANGE_USERNAME_VIEW",
    "REQUIRES_CONFIRMATION_ERROR_VIEW",
];

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            server_name: None,
            preferred_url_scheme: "http".to_owned(),
            register_url: "/register".to_owned(),
            confirm_url: "/confirm".to_owned(),
            reset_url: "/reset".to_owned(),
            change_url: "/change".to_owned(),
            change_email_url: "/change-email".to_owned(),
            change_username_url: "/change-username".to_owned(),
            change_username: false,
            username_required: false,
            password_confirm_required: true,
            auto_login_after_confirm: false,
            auto_login_after_reset: false,
            confirm_email_within_secs: 2 * 86_400,
            reset_password_within_secs: 86_400,
            change_email_within_secs: 2 * 3600,
            confirm_salt: "confirm-salt".to_owned(),
            reset_salt: "reset-salt".to_owned(),
            change_email_salt: "change-email-salt".to_owned(),
            redirect_spa: false,
            redirect_host: None,
            views: BTreeMap::new(),
            send_register_email: true,
            send_password_change_email: true,
            send_password_reset_email: true,
            send_password_reset_notice_email: true,
            send_username_change_email: true,
            send_change_email_notice: true,
            email_sender: "no-reply@localhost".to_owned(),
            email_plaintext: true,
            email_html: true,
            email_subjects: BTreeMap::new(),
            email_template_dir: None,
            messages: BTreeMap::new(),
        }
    }
}

impl LifecycleConfig {
    /// A `*_VIEW` setting (`"POST_CONFIRM_VIEW"`), if configured.
    pub fn view(&self, key: &str) -> Option<&str> {
        self.views.get(key).map(String::as_str)
    }

    /// The base of emailed links: `scheme://SERVER_NAME`.
    pub fn external_base(&self) -> Option<String> {
        self.server_name
            .as_ref()
            .map(|h| format!("{}://{h}", self.preferred_url_scheme))
    }
}

/// Reads the lifecycle keys.
pub(crate) fn read(s: &mut Source) -> Result<LifecycleConfig, ConfigError> {
    let d = LifecycleConfig::default();
    let server_name = s.string("SERVER_NAME")?.filter(|v| !v.trim().is_empty());
    if let Some(name) = &server_name
        && (name.contains('/') || name.contains('@') || name.chars().any(char::is_whitespace))
    {
        return Err(invalid(
            "SERVER_NAME",
            "must be a host name with an optional :port",
        ));
    }
    let scheme = s
        .string("PREFERRED_URL_SCHEME")?
        .unwrap_or(d.preferred_url_scheme);
    if scheme != "http" && scheme != "https" {
        return Err(invalid("PREFERRED_URL_SCHEME", "must be http or https"));
    }
    let redirect_spa = match s.string("SECURITY_REDIRECT_BEHAVIOR")?.as_deref() {
        None | Some("") => false,
        Some("spa") => true,
        Some(_) => {
            return Err(invalid(
                "SECURITY_REDIRECT_BEHAVIOR",
                "must be \"spa\" or unset",
            ));
        }
    };
    let mut views = BTreeMap::new();
    for key in VIEW_KEYS {
        let full = format!("SECURITY_{key}");
        if let Some(v) = s.string(&full)?.filter(|v| !v.is_empty()) {
            views.insert(key.to_owned(), view_value(&full, v)?);
        }
    }
    let mut email_subjects = BTreeMap::new();
    for kind in crate::mail::EmailKind::ALL {
        let key = kind.subject_key();
        if let Some(v) = s.string(key)? {
            email_subjects.insert(key.to_owned(), v);
        }
    }
    Ok(LifecycleConfig {
        server_name,
        preferred_url_scheme: scheme,
        register_url: path(s, "SECURITY_REGISTER_URL", d.register_url)?,
        confirm_url: path(s, "SECURITY_CONFIRM_URL", d.confirm_url)?,
        reset_url: path(s, "SECURITY_RESET_URL", d.reset_url)?,
        change_url: path(s, "SECURITY_CHANGE_URL", d.change_url)?,
        change_email_url: path(s, "SECURITY_CHANGE_EMAIL_URL", d.change_email_url)?,
        change_username_url: path(s, "SECURITY_CHANGE_USERNAME_URL", d.change_username_url)?,
        change_username: s.bool("SECURITY_CHANGE_USERNAME", d.change_username)?,
        username_required: s.bool("SECURITY_USERNAME_REQUIRED", d.username_required)?,
        password_confirm_required: s.bool(
            "SECURITY_PASSWORD_CONFIRM_REQUIRED",
            d.password_confirm_required,
        )?,
        auto_login_after_confirm: s.bool(
            "SECURITY_AUTO_LOGIN_AFTER_CONFIRM",
            d.auto_login_after_confirm,
        )?,
        auto_login_after_reset: s
            .bool("SECURITY_AUTO_LOGIN_AFTER_RESET", d.auto_login_after_reset)?,
        confirm_email_within_secs: within(
            s,
            "SECURITY_CONFIRM_EMAIL_WITHIN",
            d.confirm_email_within_secs,
        )?,
        reset_password_within_secs: within(
            s,
            "SECURITY_RESET_PASSWORD_WITHIN",
            d.reset_password_within_secs,
        )?,
        change_email_within_secs: within(
            s,
            "SECURITY_CHANGE_EMAIL_WITHIN",
            d.change_email_within_secs,
        )?,
        confirm_salt: s.string("SECURITY_CONFIRM_SALT")?.unwrap_or(d.confirm_salt),
        reset_salt: s.string("SECURITY_RESET_SALT")?.unwrap_or(d.reset_salt),
        change_email_salt: s
            .string("SECURITY_CHANGE_EMAIL_SALT")?
            .unwrap_or(d.change_email_salt),
        redirect_spa,
        redirect_host: s
            .string("SECURITY_REDIRECT_HOST")?
            .filter(|v| !v.is_empty()),
        views,
        send_register_email: s.bool("SECURITY_SEND_REGISTER_EMAIL", d.send_register_email)?,
        send_password_change_email: s.bool(
            "SECURITY_SEND_PASSWORD_CHANGE_EMAIL",
            d.send_password_change_email,
        )?,
        send_password_reset_email: s.bool(
            "SECURITY_SEND_PASSWORD_RESET_EMAIL",
            d.send_password_reset_email,
        )?,
        send_password_reset_notice_email: s.bool(
            "SECURITY_SEND_PASSWORD_RESET_NOTICE_EMAIL",
            d.send_password_reset_notice_email,
        )?,
        send_username_change_email: s.bool(
            "SECURITY_SEND_USERNAME_CHANGE_EMAIL",
            d.send_username_change_email,
        )?,
        send_change_email_notice: s.bool(
            "SECURITY_SEND_CHANGE_EMAIL_NOTICE",
            d.send_change_email_notice,
        )?,
        email_sender: s.string("SECURITY_EMAIL_SENDER")?.unwrap_or(d.email_sender),
        email_plaintext: s.bool("SECURITY_EMAIL_PLAINTEXT", d.email_plaintext)?,
        email_html: s.bool("SECURITY_EMAIL_HTML", d.email_html)?,
        email_subjects,
        email_template_dir: s.string("SECURITY_EMAIL_TEMPLATE_DIR")?.map(PathBuf::from),
        messages: messages(s)?,
    })
}

/// `SECURITY_MSG_*`: a string, or Flask-Security's `[text, category]` pair.
fn messages(s: &mut Source) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for key in crate::messages::keys() {
        let full = format!("SECURITY_MSG_{key}");
        let text = match s.string(&full) {
            Ok(v) => v,
            Err(_) => s
                .list(&full)?
                .and_then(|l| l.into_iter().next())
                .or(Some(String::new())),
        };
        match text {
            Some(t) if !t.is_empty() => {
                out.insert(key.to_owned(), t);
            }
            Some(_) => return Err(invalid(&full, "expected a text or a [text, category] pair")),
            None => {}
        }
    }
    Ok(out)
}

fn path(s: &mut Source, key: &str, default: String) -> Result<String, ConfigError> {
    match s.string(key)? {
        None => Ok(default),
        Some(v) if v.starts_with('/') && !v.starts_with("//") && v.len() > 1 => {
            Ok(v.trim_end_matches('/').to_owned())
        }
        Some(_) => Err(invalid(key, "must be a path starting with a single /")),
    }
}

fn view_value(key: &str, v: String) -> Result<String, ConfigError> {
    let ok = (v.starts_with('/') && !v.starts_with("//"))
        || url::Url::parse(&v).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if ok {
        Ok(v)
    } else {
        Err(invalid(
            key,
            "must be a path starting with / or an http(s) URL",
        ))
    }
}

fn within(s: &mut Source, key: &str, default: i64) -> Result<i64, ConfigError> {
    let v = s.duration_secs(key, default)?;
    if v <= 0 {
        return Err(invalid(key, "must be positive"));
    }
    Ok(v)
}
