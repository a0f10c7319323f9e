//! The page templates: Rampart's defaults (embedded in the binary) under Flask-Security's
//! names, replaced one by one from a directory or in code, in one minijinja environment with
//! HTML autoescaping for every template.

use std::path::Path;

use minijinja::value::{Kwargs, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State};

macro_rules! tpl {
    ($n:literal) => {
        (
            concat!("security/", $n, ".html"),
            include_str!(concat!("../../templates/security/", $n, ".html")),
        )
    };
}

/// Rampart's default templates (`security/…`), embedded in the binary.
pub const DEFAULTS: &[(&str, &str)] = &[
    tpl!("base"),
    tpl!("_macros"),
    tpl!("_messages"),
    tpl!("_menu"),
    tpl!("login_user"),
    tpl!("logout_user"),
    tpl!("register_user"),
    tpl!("send_confirmation"),
    tpl!("forgot_password"),
    tpl!("reset_password"),
    tpl!("change_password"),
    tpl!("change_email"),
    tpl!("change_username"),
    tpl!("verify"),
    tpl!("two_factor_setup"),
    tpl!("two_factor_verify_code"),
    tpl!("two_factor_select"),
    tpl!("mf_recovery_codes"),
    tpl!("mf_recovery"),
    tpl!("us_signin"),
    tpl!("us_setup"),
    tpl!("us_verify"),
    tpl!("wan_register"),
    tpl!("wan_signin"),
    tpl!("wan_verify"),
    tpl!("csrf_error"),
];

/// A page template could not be loaded, compiled or rendered.
#[derive(Debug, thiserror::Error)]
#[error("page template {name}: {message}")]
pub struct PageError {
    /// The template (or file) at fault.
    pub name: String,
    /// What went wrong.
    pub message: String,
}

/// The page templates. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PageTemplates {
    env: Environment<'static>,
}

impl Default for PageTemplates {
    /// Rampart's templates.
    fn default() -> Self {
        let mut t = Self::empty();
        for (name, source) in DEFAULTS {
            // Compiled into the crate and tested (`every_default_template_compiles`).
            let _ = t.env.add_template(name, source);
        }
        t
    }
}

impl PageTemplates {
    /// No templates at all: for an application that brings the whole set (each page it
    /// renders must then exist, or the page answers 500 and the error is logged).
    pub fn empty() -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(formatter);
        env.add_function("csrf_token", csrf_token);
        env.add_function("url_for_security", url_for_security);
        env.add_function("static_url", static_url);
        env.add_function("get_flashed_messages", get_flashed_messages);
        env.add_function("_fsdomain", fsdomain);
        env.add_function("_fs_is_user_authenticated", is_authenticated);
        Self { env }
    }

    /// Adds or replaces one template (`security/login_user.html`, or an application page
    /// such as `demo/index.html`).
    ///
    /// # Errors
    /// [`PageError`] when the source does not compile.
    pub fn with_template(mut self, name: &str, source: &str) -> Result<Self, PageError> {
        self.env
            .add_template_owned(name.to_owned(), source.to_owned())
            .map_err(|e| PageError {
                name: name.to_owned(),
                message: format!("{e:#}"),
            })?;
        Ok(self)
    }

    /// Adds or replaces every `*.html` file under `dir`, named by its path relative to `dir`
    /// with `/` separators: `DIR/security/login_user.html` replaces `security/login_user.html`,
    /// as a Flask application's `templates/` folder does. Files are read once, here.
    ///
    /// # Errors
    /// [`PageError`] when the directory or a file cannot be read, or a file does not compile.
    pub fn with_dir(mut self, dir: &Path) -> Result<Self, PageError> {
        let mut found = Vec::new();
        collect(dir, dir, 0, &mut found)?;
        for (name, path) in found {
            let source = std::fs::read_to_string(&path).map_err(|e| PageError {
                name: path.display().to_string(),
                message: e.to_string(),
            })?;
            self = self.with_template(&name, &source)?;
        }
        Ok(self)
    }

    /// Whether a template of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders `name` with `ctx`.
    ///
    /// # Errors
    /// [`PageError`] when the template is missing or fails.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, PageError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| PageError {
                name: name.to_owned(),
                message: format!("{e:#}"),
            })
    }
}

/// Autoescaping of `& < > " '` (minijinja's own also turns `/` into `&#x2f;`, which is
/// correct but makes every URL in a page unreadable).
fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if !matches!(state.auto_escape(), AutoEscape::Html)
        || value.is_safe()
        || value.is_undefined()
        || value.is_none()
    {
        return minijinja::escape_formatter(out, state, value);
    }
    out.write_str(&escape_html(&value.to_string()))
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the page"))
}

/// `text` with `& < > " '` escaped, for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Finds `*.html` files below `dir` (at most 8 levels deep, symbolic links not followed).
fn collect(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, std::path::PathBuf)>,
) -> Result<(), PageError> {
    let err = |e: std::io::Error| PageError {
        name: dir.display().to_string(),
        message: e.to_string(),
    };
    if depth > 8 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(err)?;
        if kind.is_dir() {
            collect(root, &path, depth + 1, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "html") {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let name: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((name.join("/"), path));
        }
    }
    Ok(())
}

/// `csrf_token()`: Flask-WTF's template function, the session's CSRF token.
fn csrf_token(state: &State) -> Value {
    state.lookup("_csrf_token").unwrap_or(Value::from(""))
}

/// `url_for_security(endpoint, token=…, **query)`: the URL of one of Rampart's endpoints by
/// Flask-Security's endpoint name; `""` for an endpoint this application does not have.
fn url_for_security(state: &State, endpoint: &str, kwargs: Kwargs) -> Result<String, Error> {
    let urls = state.lookup("_urls").unwrap_or_default();
    let Ok(base) = urls.get_attr(endpoint) else {
        return Ok(String::new());
    };
    let Some(base) = base.as_str().map(str::to_owned) else {
        return Ok(String::new());
    };
    let mut url = base;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut has_query = false;
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        let text = value.to_string();
        if key == "token" {
            url.push('/');
            url.extend(url::form_urlencoded::byte_serialize(text.as_bytes()));
        } else {
            query.append_pair(key, &text);
            has_query = true;
        }
    }
    if has_query {
        url.push('?');
        url.push_str(&query.finish());
    }
    Ok(url)
}

/// `static_url(file)`: the URL of a file of [`crate::static_files`], with a version query so
/// browsers fetch a new copy after an upgrade.
fn static_url(state: &State, file: &str) -> String {
    let prefix = state
        .lookup("_static")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match crate::static_files::find(file) {
        Some(f) => format!("{prefix}/{file}?v={}", f.version()),
        None => format!("{prefix}/{file}"),
    }
}

/// `get_flashed_messages(with_categories=false)`: the flashed messages (taken from the session
/// for this page) and the messages of this answer.
fn get_flashed_messages(state: &State, kwargs: Kwargs) -> Result<Value, Error> {
    let with_categories: Option<bool> = kwargs.get("with_categories")?;
    let _: Option<Value> = kwargs.get("category_filter")?;
    kwargs.assert_all_used()?;
    let list = state.lookup("_flashes").unwrap_or_default();
    let Ok(iter) = list.try_iter() else {
        return Ok(Value::from(Vec::<Value>::new()));
    };
    let items: Vec<Value> = iter
        .map(|pair| {
            if with_categories.unwrap_or(false) {
                pair
            } else {
                pair.get_item_by_index(1).unwrap_or_default()
            }
        })
        .collect();
    Ok(Value::from(items))
}

/// `_fsdomain(text, **args)`: Flask-Security's gettext call; Rampart fills `%(name)s`
/// placeholders (the text stays English; translate by overriding the template).
fn fsdomain(text: &str, kwargs: Kwargs) -> Result<String, Error> {
    let mut out = text.to_owned();
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        let shown = if value.is_undefined() || value.is_none() {
            String::new()
        } else {
            value.to_string()
        };
        for spec in ["s", "d"] {
            out = out.replace(&format!("%({key}){spec}"), &shown);
        }
    }
    Ok(out)
}

/// `_fs_is_user_authenticated(current_user)`.
fn is_authenticated(user: Option<Value>) -> Result<bool, Error> {
    match user {
        None => Ok(false),
        Some(u) if u.is_undefined() || u.is_none() => Ok(false),
        Some(u) => match u.get_attr("is_authenticated") {
            Ok(v) => Ok(v.is_true()),
            Err(e) if e.kind() == ErrorKind::UndefinedError => Ok(false),
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_default_template_compiles() {
        let t = PageTemplates::default();
        for (name, _) in DEFAULTS {
            assert!(t.contains(name), "{name}");
        }
        let mut env = Environment::new();
        for (name, source) in DEFAULTS {
            let r = env.add_template(name, source);
            assert!(r.is_ok(), "{name}: {r:?}");
        }
    }

    /// Every page, rendered with hostile values in every variable a view sets: the values are
    /// escaped, each form has its CSRF field, there is no inline script or style, and code
    /// inputs carry `autocomplete="one-time-code"`.
    #[test]
    fn every_page_escapes_and_has_no_inline_script() {
        use super::super::{Field, Form};
        let evil = "\"><script>alert(1)</script>";
        let radio = Field::radio("setup", evil, &[(evil, evil)], None);
        let form = Form::new()
            .field(Field::identity_email(evil, evil))
            .field(Field::password("password", evil, "current-password"))
            .field(Field::code("code", evil))
            .field(Field::password("passcode", evil, "current-password"))
            .field(Field::text("identity", evil, evil))
            .field(Field::text("name", evil, evil))
            .field(radio.clone())
            .field(Field::radio("which", evil, &[(evil, evil)], None))
            .field(Field::radio("help_setup", evil, &[(evil, evil)], None))
            .field(Field::radio("chosen_method", evil, &[(evil, evil)], None))
            .field(Field::radio("usage", evil, &[(evil, evil)], None))
            .field(Field::hidden("next", evil))
            .submit(evil)
            .errors([("code", evil), ("", evil)])
            .to_value();
        let mut ctx = serde_json::Map::new();
        for (name, _) in DEFAULTS {
            let page = name
                .trim_start_matches("security/")
                .trim_end_matches(".html");
            for suffix in ["_form", "_user_form", "_response_form", "_validate_form"] {
                ctx.insert(format!("{page}{suffix}"), form.clone());
            }
        }
        let extras = [
            "two_factor_verify_code_form",
            "two_factor_rescue_form",
            "wan_delete_form",
            "logout_form",
        ];
        for extra in extras {
            ctx.insert(extra.to_owned(), form.clone());
        }
        let scalars = [
            "chosen_method",
            "authr_key",
            "authr_issuer",
            "authr_username",
            "authr_qrcode",
            "credential_options",
            "wan_state",
            "state",
            "reason",
            "current_email",
            "primary_method",
        ];
        for k in scalars {
            ctx.insert(k.to_owned(), json!(evil));
        }
        for k in [
            "choices",
            "recovery_codes",
            "active_methods",
            "setup_methods",
            "code_methods",
        ] {
            ctx.insert(k.to_owned(), json!([evil, "sms"]));
        }
        ctx.insert(
            "registered_credentials".to_owned(),
            json!([{"name": evil, "usage": evil, "lastuse": evil}]),
        );
        ctx.insert(
            "request".to_owned(),
            json!({"args": {"next": evil}, "path": "/"}),
        );
        ctx.insert("_csrf_token".to_owned(), json!("tok"));
        ctx.insert("_static".to_owned(), json!("/fs-static"));
        ctx.insert("_flashes".to_owned(), json!([["info", evil]]));
        ctx.insert(
            "security".to_owned(),
            json!({"webauthn": true, "support_mfa": true}),
        );
        let t = PageTemplates::default();
        for (name, _) in DEFAULTS {
            if name.contains("/_") || name.ends_with("/base.html") {
                continue;
            }
            let out = t
                .render(name, Value::from(minijinja::value::Serde(&ctx)))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!out.contains("<script>alert"), "{name}: {out}");
            assert!(out.contains("&lt;script&gt;alert"), "{name}: {out}");
            assert!(!out.contains(" style="), "{name}: inline style");
            for script in out.split("<script").skip(1) {
                assert!(
                    script.trim_start().starts_with("src="),
                    "{name}: inline script"
                );
            }
            let forms = out.matches("method=\"post\"").count();
            let tokens = out.matches("name=\"csrf_token\" value=\"tok\"").count();
            assert!(
                tokens >= forms,
                "{name}: {forms} forms, {tokens} CSRF fields\n{out}"
            );
            if out.contains("name=\"code\"") {
                assert!(out.contains("autocomplete=\"one-time-code\""), "{name}");
            }
        }
    }

    #[test]
    fn functions_and_escaping() {
        let t = PageTemplates::empty()
            .with_template(
                "t.html",
                "{{ csrf_token() }}|{{ url_for_security('reset_password', token='a.b') }}|\
                 {{ url_for_security('nope') }}|{{ _fsdomain('Hi %(n)s', n=name) }}|\
                 {{ get_flashed_messages()|join(',') }}|{{ _fs_is_user_authenticated(current_user) }}\
                 |{{ q }}|{{ n }}|{{ none }}|{{ '<i>'|safe }}",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let ctx = Value::from(minijinja::value::Serde(json!({
            "_csrf_token": "tok", "_urls": {"reset_password": "/reset"},
            "name": "<b>", "_flashes": [["info", "one"], ["error", "two & three"]],
            "current_user": {"is_authenticated": true}, "q": "\"'&", "n": 3
        })));
        let out = t.render("t.html", ctx).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "tok|/reset/a.b||Hi &lt;b&gt;|one,two &amp; three|True|&quot;&#39;&amp;|3|None|<i>"
        );
        assert!(t.render("missing.html", Value::default()).is_err());
        assert!(
            PageTemplates::empty()
                .with_template("x.html", "{% if %}")
                .is_err()
        );
    }
}
