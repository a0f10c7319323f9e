//! Page templates replaced by the application: `SECURITY_TEMPLATE_DIR` (a Flask-style
//! `templates/` folder) and Flask-Security's `SECURITY_*_TEMPLATE` keys; a template that does
//! not compile stops the start-up. JSON answers do not change.

use super::*;

const LOGIN_OVERRIDE: &str = r#"{% extends "security/base.html" %}
{% from "security/_macros.html" import render_field_with_errors, render_field, hidden_tag %}
{% block content %}
  {% include "security/_messages.html" %}
  <h1 id="custom">Sign in to Example</h1>
  <p id="next">{{ request.args.next }}</p>
  <form action="{{ url_for_security('login') }}" method="post" name="login_user_form">
    {{ hidden_tag(login_user_form) }}
    {{ render_field_with_errors(login_user_form.email) }}
    {{ render_field_with_errors(login_user_form.password) }}
    {{ render_field(login_user_form.submit) }}
  </form>
{% endblock %}"#;

fn template_dir(files: &[(&str, &str)]) -> rampart_tests::TempDir {
    let dir = rampart_tests::TempDir::new("rampart-templates").unwrap();
    for (name, source) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    dir
}

/// A file in the directory replaces its page; the others keep the defaults; values are
/// escaped in overrides too; a `SECURITY_*_TEMPLATE` key picks another template.
#[tokio::test(flavor = "multi_thread")]
async fn templates_from_the_template_dir() {
    let dir = template_dir(&[
        ("security/login_user.html", LOGIN_OVERRIDE),
        (
            "myapp/forgot.html",
            "{% extends \"security/base.html\" %}{% block content %}<h1 id=\"forgot\">Lost it?</h1>\
             <form method=\"post\" name=\"f\"><input type=\"hidden\" name=\"csrf_token\" \
             value=\"{{ csrf_token() }}\">{{ forgot_password_form.email.label }}</form>{% endblock %}",
        ),
        ("notes.txt", "not a template {% if %}"),
    ]);
    let dir_s = dir.path().display().to_string();
    let app = App::start_with(
        Db::sqlite(),
        &[
            ("SECURITY_TEMPLATE_DIR", dir_s.as_str()),
            ("SECURITY_FORGOT_PASSWORD_TEMPLATE", "myapp/forgot.html"),
        ],
    )
    .await;
    let r = app
        .get("/login?next=%3Cscript%3Ealert(1)%3C/script%3E")
        .browser()
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert!(
        r.text.contains("<h1 id=\"custom\">Sign in to Example</h1>"),
        "{r}"
    );
    assert!(
        r.text.contains("&lt;script&gt;alert(1)&lt;") && !r.text.contains("<script>"),
        "{r}"
    );
    // The default base template and the CSRF field are still there.
    assert!(r.text.contains("rampart.css?v="), "{r}");
    assert!(r.text.contains("name=\"csrf_token\" value=\""), "{r}");
    assert!(r.text.contains("autocomplete=\"current-password\""), "{r}");
    // The replaced page signs in.
    let csrf = r
        .text
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let mut jar = Jar::default();
    jar.absorb(&r);
    let r = app
        .post("/login")
        .browser()
        .cred(&Cred::Cookies(jar))
        .form(&[
            ("email", USER.0),
            ("password", USER.1),
            ("csrf_token", &csrf),
        ])
        .send()
        .await;
    assert_eq!(r.status, 302, "{r}");
    // Untouched pages keep the defaults; the configured template replaces forgot_password.
    let r = app.get("/register").browser().send().await;
    assert!(r.text.contains("name=\"password_confirm\""), "{r}");
    let r = app.get("/reset").browser().send().await;
    assert!(
        r.text.contains("<h1 id=\"forgot\">Lost it?</h1>") && r.text.contains("Email Address"),
        "{r}"
    );
    // JSON clients see no template at all.
    let r = app.get("/login").accept_json().send().await;
    assert!(
        is_envelope(&r, 200) && r.json["response"]["csrf_token"].is_string(),
        "{r}"
    );
}

/// A template that does not compile is a start-up error naming the file.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_template_stops_the_start_up() {
    let dir = template_dir(&[("security/verify.html", "{% if %}")]);
    let db = Db::sqlite();
    let dir_s = dir.path().display().to_string();
    let run = support::serve_once(&[
        ("DATABASE_URL", db.url.as_str()),
        ("SECURITY_TEMPLATE_DIR", dir_s.as_str()),
    ])
    .await;
    assert_ne!(run.status, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("security/verify.html") && !run.stderr.contains("panicked"),
        "{run:?}"
    );
}
