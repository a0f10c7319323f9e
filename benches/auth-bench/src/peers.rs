//! The other servers of a run: the demo on PostgreSQL + Redis (a database made for the run on
//! an existing PostgreSQL server, sessions and counters in an existing Redis), and the real
//! Flask-Security-Too app of `tools/bench/fs_demo_app.py` under gunicorn.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::server::Server;

/// gunicorn's listening line.
pub const GUNICORN_LISTENING: &str = "Listening at: http://";

/// A database created on a PostgreSQL server for this run, dropped on drop.
pub struct PgDatabase {
    server_url: String,
    name: String,
    /// The new database's URL.
    pub url: String,
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .args([url, "-tAqc", sql])
        .output()
        .context("cannot run psql (apt-get install postgresql-client)")?;
    if !out.status.success() {
        bail!(
            "psql `{sql}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Replaces the database (path) of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let base = base[start..].find('/').map_or(base, |i| &base[..start + i]);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl PgDatabase {
    /// Creates `rampart_bench_<pid>` on the server of `server_url`.
    ///
    /// # Errors
    /// psql is missing or the server refuses.
    pub fn create(server_url: &str) -> anyhow::Result<Self> {
        let name = format!("rampart_bench_{}", std::process::id());
        psql(server_url, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(server_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self {
            server_url: server_url.to_owned(),
            url: with_database(server_url, &name),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.server_url, &sql) {
            eprintln!("warning: {e:#}");
        }
    }
}

/// `used_memory` of the Redis at `url`, in bytes.
///
/// # Errors
/// redis-cli is missing or the server does not answer.
pub fn redis_used_memory(url: &str) -> anyhow::Result<u64> {
    let out = Command::new("redis-cli")
        .args(["-u", url, "info", "memory"])
        .output()
        .context("cannot run redis-cli")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("used_memory:")?.parse().ok())
        .context("redis-cli printed no used_memory")
}

/// `tools/bench` of this workspace (the Flask-Security app).
pub fn flask_app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench")
}

/// Whether gunicorn and Flask-Security can run here.
pub fn flask_available() -> bool {
    Command::new("gunicorn")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("python3")
            .args(["-c", "import flask_security, flask_sqlalchemy"])
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Starts the Flask-Security app under gunicorn (`workers` sync workers) on `core`, on a SQLite
/// file in `dir`, with the same `SECRET_KEY`.
///
/// # Errors
/// gunicorn cannot start or does not listen.
pub fn start_flask(
    core: usize,
    workers: usize,
    dir: &Path,
    secret: &str,
) -> anyhow::Result<Server> {
    let app_dir = flask_app_dir();
    let app_dir = app_dir.canonicalize().unwrap_or(app_dir);
    let gunicorn = which("gunicorn").context("gunicorn is not on the PATH")?;
    let workers = workers.to_string();
    let chdir = app_dir.display().to_string();
    Server::spawn(
        "Flask-Security (gunicorn)",
        core,
        &gunicorn,
        &[
            "--preload",
            "--graceful-timeout",
            "2",
            "-w",
            &workers,
            "-b",
            "127.0.0.1:0",
            "--chdir",
            &chdir,
            "--log-level",
            "info",
            "--no-control-socket",
            "fs_demo_app:app",
        ],
        &[
            ("FS_DEMO_DB", dir.join("fs.db").display().to_string()),
            ("SECRET_KEY", secret.to_owned()),
        ],
        &[],
        GUNICORN_LISTENING,
    )
    .and_then(|server| {
        wait_ready(&format!("{}/api/public", server.base_url()))?;
        Ok(server)
    })
}

/// Waits (up to a minute) until `url` answers 200: gunicorn listens before its workers are up.
fn wait_ready(url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = crate::login::client()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(resp) = client.get(url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!("{url} did not answer 200 within a minute");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://u@h:1/rampart_test", "b"),
            "postgres://u@h:1/b"
        );
        assert_eq!(with_database("postgres://u@h:1", "b"), "postgres://u@h:1/b");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "b"),
            "postgres://u@h/b?sslmode=disable"
        );
    }
}
