//! Flask-Security's recorded answers replayed against the demo, and the generic-response
//! variants of the strict profile.

use super::*;

on_both_backends!(
    same_answers_as_flask_security,
    same_generic_answers_as_flask_security,
    generic_responses_in_strict_profile,
);

/// The body with the (per-second, signed) CSRF token replaced, for byte comparisons.
fn masked(r: &Resp) -> String {
    match r.json["response"]["csrf_token"].as_str() {
        Some(t) => r.text.replace(t, "<csrf>"),
        None => r.text.clone(),
    }
}

async fn generic_responses_in_strict_profile(db: Db) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let app = start(db, &sink, &[("PROFILE", "strict")]).await;
    let pw = "Gener1c-correct-horse";

    // /reset: known and unknown answer the same; only the known account gets mail.
    let known = post_json(&app, "/reset", json!({"email": USER.0})).await;
    let unknown = post_json(&app, "/reset", json!({"email": "ghost@example.com"})).await;
    assert_eq!(
        (known.status, unknown.status),
        (200, 200),
        "{known}\n{unknown}"
    );
    assert_eq!(masked(&known), masked(&unknown));
    sink.last(USER.0, "Password reset instructions").await;

    // /register: an existing address answers like a new one; its owner is told by mail.
    let fresh = post_json(
        &app,
        "/register",
        json!({"email": "brand-new@example.com", "password": pw, "password_confirm": pw}),
    )
    .await;
    let existing = post_json(
        &app,
        "/register",
        json!({"email": USER.0, "password": pw, "password_confirm": pw}),
    )
    .await;
    assert_eq!(
        (fresh.status, existing.status),
        (200, 200),
        "{fresh}\n{existing}"
    );
    assert_eq!(masked(&fresh), masked(&existing));
    let mail = sink.last(USER.0, "Welcome").await;
    assert!(
        mail.decoded().contains("already in our system"),
        "{}",
        mail.decoded()
    );
    assert!(
        mail.links()
            .iter()
            .any(|l| l.starts_with(&format!("http://{MAIL_HOST}/reset/"))),
        "{}",
        mail.decoded()
    );
    // Other problems still answer 400.
    let weak = post_json(
        &app,
        "/register",
        json!({"email": USER.0, "password": "short", "password_confirm": "short"}),
    )
    .await;
    assert_eq!(weak.status, 400, "{weak}");

    // /confirm: unknown, confirmed and unconfirmed answer the same.
    let a = post_json(&app, "/confirm", json!({"email": "ghost@example.com"})).await;
    let b = post_json(&app, "/confirm", json!({"email": ADMIN.0})).await;
    let c = post_json(&app, "/confirm", json!({"email": "brand-new@example.com"})).await;
    assert_eq!(
        (a.status, b.status, c.status),
        (200, 200, 200),
        "{a}\n{b}\n{c}"
    );
    assert_eq!(masked(&a), masked(&b));
    assert_eq!(masked(&a), masked(&c));
    sink.last("brand-new@example.com", "Please confirm your email")
        .await;

    // /change-email: a taken address looks like success, and no mail goes out.
    let s = app.login(ADMIN).await;
    let taken = app
        .post("/change-email")
        .accept_json()
        .json(json!({"email": USER.0}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    let free = app
        .post("/change-email")
        .accept_json()
        .json(json!({"email": "free@example.com"}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!((taken.status, free.status), (200, 200), "{taken}\n{free}");
    assert_eq!(masked(&taken), masked(&free));
    sink.last("free@example.com", "Confirm your new email address")
        .await;

    // Give stray mail a moment, then check who got what.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        sink.to("ghost@example.com").is_empty(),
        "mail went to an unknown address"
    );
    assert!(
        !sink
            .to(USER.0)
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("Confirm your new email address")),
        "the owner of a taken address got change-email mail"
    );
    assert_eq!(
        sink.to(ADMIN.0).len(),
        0,
        "a confirmed account got confirmation mail"
    );
}

/// Flask-Security 5.9.2's answers, recorded by `tools/fixtures/lifecycle_answers.py`.
const FS_ANSWERS: &str = include_str!("../../../../tests/fixtures/lifecycle_answers.json");

/// Cases where Rampart answers differently on purpose (README, "deliberately differs").
fn differs_on_purpose(mode: &str, label: &str) -> bool {
    // Generic responses: a real registration answers exactly like a taken address.
    mode == "generic" && label == "register new"
}

async fn same_answers_as_flask_security(db: Db) {
    replay_flask_security(db, "default").await;
}

async fn same_generic_answers_as_flask_security(db: Db) {
    replay_flask_security(db, "generic").await;
}

/// Every case Flask-Security answered, replayed against the demo: the same status, the same
/// JSON (CSRF token aside) and the same emails (subject and recipient).
async fn replay_flask_security(db: Db, mode: &str) {
    let fixture: Value = serde_json::from_str(FS_ANSWERS).unwrap();
    assert_eq!(fixture["flask_security"], json!("5.9.2"));
    let mut failures = Vec::new();
    let sink = SmtpSink::start(Mode::Accept).await;
    let profile = if mode == "generic" {
        "strict"
    } else {
        "default"
    };
    let app = start(db, &sink, &[("PROFILE", profile)]).await;
    let mut session: Option<Session> = None;
    let (mut expected_mails, mut compared) = (0, 0);
    for case in fixture[mode].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let path = case["path"].as_str().unwrap();
        let cred = session.clone().map_or(Cred::Anon, Cred::Session);
        let req = match case["method"].as_str().unwrap() {
            "GET" => app.get(path).header("Content-Type", "application/json"),
            _ => app.post(path).json(case["body"].clone()),
        };
        let r = req.accept_json().cred(&cred).send().await;
        if label == "login" {
            assert_eq!(r.status, 200, "{r}");
            session = Some(session_of(&r, Jar::default()));
            continue;
        }
        let mut got = r.json.clone();
        if got["response"]["csrf_token"].is_string() {
            got["response"]["csrf_token"] = json!("<csrf>");
        }
        if !differs_on_purpose(mode, label) {
            compared += 1;
            if r.status != case["status"] || got != case["json"] {
                failures.push(format!(
                    "[{mode}] {label}: Flask-Security {} {}\n  Rampart {r}",
                    case["status"], case["json"]
                ));
            }
        }
        for mail in case["mails"].as_array().unwrap() {
            expected_mails += 1;
            let (to, subject) = (
                mail["to"].as_str().unwrap(),
                mail["subject"].as_str().unwrap(),
            );
            sink.last(to, subject).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<_> = sink
        .messages()
        .iter()
        .map(|m| (m.to.clone(), m.header("Subject")))
        .collect();
    if sent.len() != expected_mails {
        failures.push(format!(
            "[{mode}] {expected_mails} emails expected, {} sent: {sent:?}",
            sent.len()
        ));
    }
    assert!(compared >= 28, "only {compared} cases compared");
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
