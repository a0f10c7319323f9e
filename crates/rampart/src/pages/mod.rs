//! HTML pages: Flask-Security's page templates (`security/login_user.html`,
//! `security/register_user.html`, …) in a Jinja2-compatible engine (minijinja), embedded in
//! the binary, with HTML autoescaping on every template.
//!
//! Every page gets what Flask-Security's templates use: the form (`login_user_form`,
//! `register_user_form`, … with each field's label, value, `autocomplete` hint and errors, see
//! [`Form`]), `csrf_token()` (Flask-WTF's), `url_for_security(endpoint)`, `current_user`,
//! `security` (the feature flags), `request.args`, `get_flashed_messages()` and `_fsdomain()`,
//! plus `csp_nonce` (this response's CSP nonce) and `static_url(file)` (a file served by
//! [`crate::static_files`]). The macros of `security/_macros.html` keep Flask-Security's names
//! (`render_field_with_errors`, `render_field`, `render_form_errors`, `prop_next`, and
//! `hidden_tag(form)` in place of WTForms' `form.hidden_tag()`). The defaults have no inline
//! script or style, so they work under the default Content-Security-Policy; an override that
//! adds an inline `<script>` gives it `{{ script_nonce() }}`.
//!
//! # Overriding templates
//!
//! `SECURITY_TEMPLATE_DIR` names a directory laid out like a Flask application's
//! `templates/` folder: `DIR/security/login_user.html` replaces Rampart's login page, any
//! other `*.html` file below it is added (an application's own pages, or new includes). The
//! files are read and compiled at start-up: a template that does not compile stops the
//! start-up with its name and line. Flask-Security's per-page keys apply too:
//! `SECURITY_LOGIN_USER_TEMPLATE = "myapp/login.html"` renders that template instead.
//!
//! ```toml
//! SECURITY_TEMPLATE_DIR = "templates"   # templates/security/login_user.html, …
//! ```
//!
//! ```jinja
//! {# templates/security/login_user.html: only the heading changes #}
//! {% extends "security/base.html" %}
//! {% from "security/_macros.html" import render_field_with_errors, render_field, hidden_tag %}
//! {% block content %}
//!   {% include "security/_messages.html" %}
//!   <h1>Sign in to Example</h1>
//!   <form action="{{ url_for_security('login') }}" method="post">
//!     {{ hidden_tag(login_user_form) }}
//!     {{ render_field_with_errors(login_user_form.email) }}
//!     {{ render_field_with_errors(login_user_form.password) }}
//!     {{ render_field(login_user_form.submit) }}
//!   </form>
//! {% endblock %}
//! ```
//!
//! In code, [`SecurityBuilder::page_template`](crate::security::SecurityBuilder::page_template)
//! adds or replaces one template and
//! [`SecurityBuilder::page_templates`](crate::security::SecurityBuilder::page_templates)
//! replaces the whole set (start from [`PageTemplates::empty`] to bring every page yourself);
//! `SECURITY_TEMPLATE_DIR` still applies on top. An application renders its own pages with the
//! same variables through the [`PageContext`] extractor.
//!
//! # Adding a page (for a new Rampart view)
//!
//! 1. Put the template in `crates/rampart/templates/security/NAME.html` (Flask-Security's
//!    file name), extending `security/base.html`, with `hidden_tag(form)` in every form and
//!    `{% include "security/_messages.html" %}`; add `tpl!("NAME")` to
//!    [`templates::DEFAULTS`](DEFAULTS).
//! 2. If the page has a `SECURITY_*_TEMPLATE` key whose name is not
//!    `SECURITY_<NAME>_TEMPLATE`, add it to `config::pages::TEMPLATE_KEYS`.
//! 3. Add the endpoint's Flask-Security name to `endpoint_urls` in `pages/context.rs`, so
//!    `url_for_security()` and the menu know it.
//! 4. In the view: `PageContext::from_parts(&sec, &parts, user)` (or the extractor), then
//!    `page.render(Page::new("security/NAME.html").form("NAME_form", &form)).await`, with a
//!    [`Form`] of [`Field`]s (`Field::code` for one-time codes) and `.errors(…)`.
//!    A script goes in `crates/rampart/static/` and [`crate::static_files::FILES`], and is
//!    loaded with `<script src="{{ static_url('NAME.js') }}">` (never inline).
//!
//! # Multi-factor pages and the CSRF refusal
//!
//! The two-factor, recovery-code, unified sign-in and WebAuthn views render Flask-Security's
//! templates (`security/two_factor_setup.html` … `security/wan_verify.html`, see
//! `views/mfa_page.rs` and `views/wan_page.rs` for their variables); radio groups are
//! [`Field::radio`] (rendered by the `render_radio` macro), a running WebAuthn ceremony is
//! the `wan_ceremony` macro, which hands `credential_options` to `rampart-webauthn.js` in a
//! `data-options` attribute. A browser's form post refused by the CSRF check gets
//! `security/csrf_error.html` (variable `reason`) with status 400: the refusal marks its
//! response and the security layer renders the page in its place.
//!
//! # Flashed messages
//!
//! [`flash::flash`] stores a one-shot message in the session (Flask's `_flashes` key); the next
//! page that includes `security/_messages.html` shows it and forgets it. Browser redirects of
//! emailed links (outside SPA mode) flash their message, as Flask-Security does.
//! `SECURITY_FLASH_MESSAGES = false` turns flashing off.

mod context;
pub mod flash;
mod form;
mod templates;

pub(crate) use context::csrf_page;
pub use context::{Page, PageContext, Pages};
pub use flash::Flash;
pub use form::{Choice, Field, Form};
pub use templates::{DEFAULTS, PageError, PageTemplates};
