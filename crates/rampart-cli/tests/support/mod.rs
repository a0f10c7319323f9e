//! Helpers for driving the `rampart` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod smtp;

use std::process::Stdio;
use std::time::Duration;

use rampart::password::{PasswordConfig, PasswordEngine, SingleHash};
use rampart::sql::{SqlDatastore, SqlOptions};
use rampart_tests::{StoreGuard, TempDir};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// A database for one test: a SQLite file in a temp dir, or a fresh PostgreSQL database.
pub struct Db {
    pub url: String,
    _guard: Option<StoreGuard>,
}

impl Db {
    pub fn sqlite() -> Self {
        let dir = TempDir::new("rampart-cli").unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            _guard: Some(StoreGuard::Sqlite(dir)),
        }
    }

    /// A database the test manages itself (a private server, say).
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            _guard: None,
        }
    }

    pub async fn postgres() -> Self {
        let db = rampart_tests::fresh_postgres_database().await;
        Self {
            url: db.url().to_owned(),
            _guard: Some(StoreGuard::Postgres(db)),
        }
    }

    pub async fn store(&self) -> SqlDatastore {
        SqlDatastore::connect(&self.url, SqlOptions::default())
            .await
            .unwrap()
    }
}

/// The password engine the binary uses when no `SECURITY_PASSWORD_SALT` is configured.
pub fn engine() -> PasswordEngine {
    let config = PasswordConfig {
        single_hash: SingleHash::All,
        ..PasswordConfig::default()
    };
    PasswordEngine::new(config).unwrap()
}

/// Same as [`engine`]; the demo server and the CLI share the rule.
pub fn engine_single_hash() -> PasswordEngine {
    engine()
}

/// The outcome of one command.
#[derive(Debug)]
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.status, Some(0), "{self:#?}");
        self
    }
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.status, Some(code), "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }
    #[track_caller]
    pub fn out_contains(&self, s: &str) -> &Self {
        assert!(self.stdout.contains(s), "stdout lacks {s:?}: {self:#?}");
        self
    }
    #[track_caller]
    pub fn err_contains(&self, s: &str) -> &Self {
        assert!(self.stderr.contains(s), "stderr lacks {s:?}: {self:#?}");
        self
    }
}

fn base_command(db_url: Option<&str>) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("SECURITY_")
            || k.starts_with("DATABASE_")
            || k == "SECRET_KEY"
            || k == "PORT"
        {
            cmd.env_remove(k);
        }
    }
    if let Some(url) = db_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// Runs `rampart ARGS…` against the database, feeding `stdin`.
pub fn rampart(db: &Db, args: &[&str], stdin: Option<&str>) -> Run {
    use std::io::Write;
    let mut cmd = base_command(Some(&db.url));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    Run {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `rampart ARGS…` with only the given settings in the environment (no database URL; the
/// demo's own variables such as `PROFILE` and `SMTP_URL` removed too).
pub fn rampart_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = base_command(None);
    for k in [
        "PROFILE",
        "SMTP_URL",
        "MAIL_OUTBOX",
        "DEMO_TEST_HOOKS",
        "REDIS_URL",
        "RAMPART_CONFIG",
        "SESSION_COOKIE_SECURE",
        "WTF_CSRF_ENABLED",
    ] {
        cmd.env_remove(k);
    }
    cmd.args(args).envs(env.iter().copied());
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    Run {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `rampart serve` with the given environment and waits (bounded) for it to exit.
pub async fn serve_once(env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::from(base_command(None));
    cmd.arg("serve").env("PORT", "0").kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("rampart serve should exit by itself")
        .unwrap();
    Run {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running demo server.
pub struct Server {
    child: Child,
    pub port: u16,
    /// The log up to the start-up line.
    pub log: String,
    /// Every log line so far (start-up included).
    later: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts `rampart serve` on an ephemeral port and waits for its start-up line.
    pub async fn start(db: &Db, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::from(base_command(Some(&db.url)));
        let outbox = std::env::temp_dir().join(format!("rampart-outbox-{}", std::process::id()));
        cmd.arg("serve")
            .env("PORT", "0")
            .env("MAIL_OUTBOX", outbox)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut log = String::new();
        let port = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.push_str(&line);
                log.push('\n');
                if let Some(rest) = line.split("rampart listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap();
                    return addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
                }
            }
            panic!("server exited before listening:\n{log}");
        })
        .await
        .expect("server start-up timed out");
        let later = std::sync::Arc::new(std::sync::Mutex::new(log.clone()));
        let sink = std::sync::Arc::clone(&later);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        Self {
            child,
            port,
            log,
            later,
        }
    }

    /// Everything the server has logged so far.
    pub fn full_log(&self) -> String {
        self.later.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// GET a path; returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let resp = client().get(url).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and waits for it to be gone.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        assert!(matches!(status, Ok(Ok(_))), "kill: {status:?}");
    }

    /// Stops the server with SIGTERM and waits for it.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        assert!(
            matches!(status, Ok(Ok(s)) if s.success()),
            "graceful shutdown: {status:?}"
        );
    }
}

/// An HTTP client for the tests (rustls with the `ring` provider, as the rest of Rampart).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Like [`client`], but redirects are returned to the test instead of being followed.
pub fn client_no_redirect() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
