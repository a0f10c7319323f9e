//! Rendering a page for one request: the template's variables (Flask-Security's and
//! Flask-WTF's: `csrf_token()`, `url_for_security()`, `current_user`, `security`,
//! `request.args`, `get_flashed_messages()`), the CSP nonce and the flashed messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use rampart_core::model::User;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::form::Form;
use super::templates::PageTemplates;
use crate::config::SecurityConfig;
use crate::extract::{Mechanisms, Rejection, SessionOrToken};
use crate::security::Security;
use crate::session::AuthSession;

/// A page to render: a template name and its variables.
///
/// # Example
/// ```
/// use rampart::pages::{Field, Form, Page};
///
/// let form = Form::new()
///     .field(Field::identity_email("Email Address", ""))
///     .field(Field::password("password", "Password", "current-password"))
///     .submit("Login")
///     .errors([("password", "Invalid password")]);
/// let page = Page::new("security/login_user.html").form("login_user_form", &form);
/// assert_eq!(page.template(), "security/login_user.html");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Page {
    template: String,
    status: StatusCode,
    vars: Map<String, Value>,
    messages: Vec<(String, String)>,
}

impl Page {
    /// The page of template `name` (its configured replacement, see
    /// `SECURITY_*_TEMPLATE`), answered with 200.
    pub fn new(template: impl Into<String>) -> Self {
        Self {
            template: template.into(),
            status: StatusCode::OK,
            vars: Map::new(),
            messages: Vec::new(),
        }
    }

    /// A template variable.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.vars.insert(key.to_owned(), value);
        self
    }

    /// A form variable (`login_user_form` …).
    pub fn form(self, name: &str, form: &Form) -> Self {
        self.with(name, form.to_value())
    }

    /// A message shown with the flashed ones (`info`, `success`, `error`).
    pub fn message(mut self, category: &str, text: impl Into<String>) -> Self {
        self.messages.push((category.to_owned(), text.into()));
        self
    }

    /// The status code (200 by default).
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The template's name.
    pub fn template(&self) -> &str {
        &self.template
    }
}

/// The page templates with what every page needs from the configuration: the URLs of the
/// installed endpoints, the feature flags, the static folder URL and the configured template
/// names.
#[derive(Debug, Clone)]
pub struct Pages {
    templates: PageTemplates,
    urls: BTreeMap<String, String>,
    features: Value,
    static_url: String,
    names: BTreeMap<String, String>,
    flash: bool,
}

impl Pages {
    pub(crate) fn new(c: &SecurityConfig, templates: PageTemplates) -> Self {
        Self {
            templates,
            urls: endpoint_urls(c),
            features: features(c),
            static_url: c.pages.static_folder_url.clone(),
            names: c.pages.templates.clone(),
            flash: c.pages.flash_messages,
        }
    }

    /// The templates.
    pub fn templates(&self) -> &PageTemplates {
        &self.templates
    }

    /// The URL of an installed endpoint by Flask-Security's endpoint name (`login`,
    /// `forgot_password`, …).
    pub fn url(&self, endpoint: &str) -> Option<&str> {
        self.urls.get(endpoint).map(String::as_str)
    }

    /// Whether messages are flashed (`SECURITY_FLASH_MESSAGES`).
    pub fn flashes(&self) -> bool {
        self.flash
    }
}

/// Flask-Security's endpoint names of the endpoints this configuration installs. A new view
/// adds its name here to appear in `url_for_security()` and the menu.
fn endpoint_urls(c: &SecurityConfig) -> BTreeMap<String, String> {
    let l = &c.lifecycle;
    let mut urls = BTreeMap::new();
    let mut add = |on: bool, name: &str, url: &str| {
        if on {
            urls.insert(name.to_owned(), url.to_owned());
        }
    };
    add(true, "login", &c.login_url);
    add(true, "logout", &c.logout_url);
    add(c.freshness_secs >= 0, "verify", &c.verify_url);
    add(c.registerable, "register", &l.register_url);
    add(c.confirmable, "send_confirmation", &l.confirm_url);
    add(c.confirmable, "confirm_email", &l.confirm_url);
    add(c.recoverable, "forgot_password", &l.reset_url);
    add(c.recoverable, "reset_password", &l.reset_url);
    add(c.changeable, "change_password", &l.change_url);
    add(c.change_email, "change_email", &l.change_email_url);
    add(
        c.username_enable && l.change_username,
        "change_username",
        &l.change_username_url,
    );
    mfa_urls(c, &mut add);
    urls
}

/// The two-factor, recovery-code, unified sign-in and WebAuthn endpoints (the `*_response`
/// and `us_setup_validate` names take the state as `token=`).
fn mfa_urls(c: &SecurityConfig, add: &mut impl FnMut(bool, &str, &str)) {
    let m = &c.mfa;
    let w = &c.wan;
    let fresh = c.freshness_secs >= 0;
    add(c.two_factor, "two_factor_setup", &m.two_factor_setup_url);
    let validation = &m.two_factor_token_validation_url;
    add(c.two_factor, "two_factor_token_validation", validation);
    add(c.two_factor, "two_factor_rescue", &m.two_factor_rescue_url);
    let mfa = c.two_factor || c.webauthn;
    add(mfa, "two_factor_select", &m.two_factor_select_url);
    let codes = mfa && c.multi_factor_recovery_codes;
    add(codes, "mf_recovery_codes", &m.recovery_codes_url);
    add(codes, "mf_recovery", &m.recovery_url);
    let us = c.unified_signin;
    add(us, "us_signin", &m.us_signin_url);
    add(us, "us_signin_send_code", &m.us_signin_send_code_url);
    add(us, "us_setup", &m.us_setup_url);
    add(us, "us_setup_validate", &m.us_setup_url);
    add(us && fresh, "us_verify", &m.us_verify_url);
    add(
        us && fresh,
        "us_verify_send_code",
        &m.us_verify_send_code_url,
    );
    add(us, "us_verify_link", &m.us_verify_link_url);
    let wan = c.webauthn;
    add(wan, "wan_register", &w.register_url);
    add(wan, "wan_register_response", &w.register_url);
    add(wan, "wan_signin", &w.signin_url);
    add(wan, "wan_signin_response", &w.signin_url);
    add(wan, "wan_delete", &w.delete_url);
    let verify = wan && fresh && !w.allow_as_verify.is_empty();
    add(verify, "wan_verify", &w.verify_url);
    add(verify, "wan_verify_response", &w.verify_url);
}

/// The `security` template variable: Flask-Security's feature flags.
fn features(c: &SecurityConfig) -> Value {
    json!({
        "registerable": c.registerable,
        "confirmable": c.confirmable,
        "recoverable": c.recoverable,
        "changeable": c.changeable,
        "change_email": c.change_email,
        "change_username": c.username_enable && c.lifecycle.change_username,
        "username_recovery": false,
        "trackable": c.trackable,
        "two_factor": c.two_factor,
        "unified_signin": c.unified_signin,
        "webauthn": c.webauthn,
        "multi_factor_recovery_codes": c.multi_factor_recovery_codes,
        "support_mfa": c.two_factor || c.webauthn,
        "wan_allow_as_first_factor": c.wan.allow_as_first_factor,
        "wan_allow_as_multi_factor": c.wan.allow_as_multi_factor,
        "wan_allow_user_hints": c.wan.allow_user_hints,
        "oauthglue": null,
    })
}

/// What a page needs from its request: the security services, the session (CSRF token and
/// flashed messages), the signed-in user, the CSP nonce and the query.
///
/// As an extractor it serves an application's own pages:
/// ```
/// use axum::response::Response;
/// use rampart::pages::{Page, PageContext};
///
/// async fn home(page: PageContext) -> Response {
///     page.render(Page::new("demo/index.html")).await
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PageContext {
    sec: Security,
    session: Option<AuthSession>,
    user: Option<Arc<User>>,
    nonce: String,
    args: BTreeMap<String, String>,
    path: String,
}

impl PageContext {
    /// The context of a request Rampart has seen (its `Security`, session and nonce are in
    /// the extensions), for `user`.
    pub(crate) fn from_parts(sec: &Security, parts: &Parts, user: Option<Arc<User>>) -> Self {
        let args = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self {
            sec: sec.clone(),
            session: parts
                .extensions
                .get::<tower_sessions::Session>()
                .cloned()
                .map(AuthSession),
            user,
            nonce: crate::headers::request_nonce(&parts.extensions),
            args,
            path: parts.uri.path().to_owned(),
        }
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }

    /// Renders `page`: HTML with the page's status, or a 500 page (the error is logged) when
    /// the template is missing or fails.
    pub async fn render(&self, page: Page) -> Response {
        let pages = self.sec.pages();
        let name = pages
            .names
            .get(page.template())
            .cloned()
            .unwrap_or_else(|| page.template.clone());
        let ctx = self.variables(pages, page.vars, page.messages).await;
        match pages
            .templates
            .render(&name, minijinja::Value::from(minijinja::value::Serde(&ctx)))
        {
            Ok(body) => (page.status, Html(body)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "page template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("<!DOCTYPE html><title>Error</title><p>Internal Server Error</p>"),
                )
                    .into_response()
            }
        }
    }

    async fn variables(
        &self,
        pages: &Pages,
        mut vars: Map<String, Value>,
        messages: Vec<(String, String)>,
    ) -> Map<String, Value> {
        let mut csrf = String::new();
        let mut flashes = Vec::new();
        if let Some(session) = &self.session {
            csrf = self
                .sec
                .inner
                .csrf
                .token_for(session)
                .await
                .unwrap_or_default();
            match super::flash::take(&session.0).await {
                Ok(list) => flashes = list,
                Err(e) => tracing::warn!(error = %e, "cannot read the flashed messages"),
            }
        }
        flashes.extend(messages);
        let user = self.user.as_ref().map(|u| {
            json!({"email": u.email, "username": u.username, "is_authenticated": true,
                "is_active": u.active})
        });
        let set = |vars: &mut Map<String, Value>, k: &str, v: Value| {
            vars.entry(k.to_owned()).or_insert(v);
        };
        set(&mut vars, "current_user", user.unwrap_or(Value::Null));
        set(&mut vars, "security", pages.features.clone());
        set(
            &mut vars,
            "request",
            json!({"args": self.args, "path": self.path}),
        );
        set(&mut vars, "csp_nonce", Value::String(self.nonce.clone()));
        vars.insert("_csrf_token".to_owned(), Value::String(csrf));
        vars.insert("_urls".to_owned(), json!(pages.urls));
        vars.insert(
            "_static".to_owned(),
            Value::String(pages.static_url.clone()),
        );
        vars.insert("_flashes".to_owned(), json!(flashes));
        vars
    }
}

/// Puts `security/csrf_error.html` (variable `reason`) in place of the body of a browser's
/// CSRF refusal; the plain fallback stays when the template fails (logged).
pub(crate) async fn csrf_page(
    sec: &Security,
    nonce: &crate::headers::NonceHandle,
    reason: crate::csrf::CsrfError,
    response: &mut Response,
) {
    let page = PageContext {
        sec: sec.clone(),
        session: None,
        user: None,
        nonce: nonce.nonce(),
        args: BTreeMap::new(),
        path: String::new(),
    };
    let rendered = page
        .render(
            Page::new("security/csrf_error.html")
                .with("reason", reason.to_string())
                .status(StatusCode::BAD_REQUEST),
        )
        .await;
    if rendered.status() == StatusCode::BAD_REQUEST {
        let (parts, body) = rendered.into_parts();
        *response.body_mut() = body;
        // The new body's own length and type: a `Content-Length` the router set for the plain
        // refusal (under `Security::wrap`, it runs before this step) would make the server
        // cut the connection on the longer page.
        let headers = response.headers_mut();
        headers.remove(axum::http::header::CONTENT_LENGTH);
        if let Some(ct) = parts.headers.get(axum::http::header::CONTENT_TYPE) {
            headers.insert(axum::http::header::CONTENT_TYPE, ct.clone());
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let sec = crate::authn::installed(&parts.extensions)
            .cloned()
            .ok_or_else(|| Rejection::NotInstalled.into_response())?;
        let user = crate::authn::authenticate(parts, &sec, SessionOrToken::LIST)
            .await
            .map_err(IntoResponse::into_response)?
            .map(|u| u.user);
        Ok(Self::from_parts(&sec, parts, user))
    }
}
