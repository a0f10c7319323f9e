//! A PostgreSQL server for tests and a fresh database per test.

use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;

static SERVER_URL: OnceCell<Result<String, String>> = OnceCell::const_new();

/// The URL of the test server's maintenance database: `RAMPART_TEST_POSTGRES_URL`, or what
/// `scripts/start-postgres.sh` prints (run once per process).
///
/// # Panics
/// When the variable is unset and the script fails: tests needing PostgreSQL must fail, not
/// skip.
pub async fn postgres_server_url() -> String {
    let url = SERVER_URL
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES_URL")
                && !url.trim().is_empty()
            {
                return Ok(url.trim().to_owned());
            }
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/start-postgres.sh");
            let out = tokio::process::Command::new("bash")
                .arg(script)
                .output()
                .await
                .map_err(|e| format!("cannot run {script}: {e}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let url = stdout
                .lines()
                .rev()
                .find(|l| l.starts_with("postgres"))
                .map(str::to_owned);
            match (out.status.success(), url) {
                (true, Some(url)) => Ok(url),
                _ => Err(format!(
                    "{script} failed ({}): {}{}",
                    out.status,
                    stdout,
                    String::from_utf8_lossy(&out.stderr)
                )),
            }
        })
        .await;
    match url {
        Ok(url) => url.clone(),
        Err(e) => panic!(
            "PostgreSQL is required for these tests and could not be started \
             (set RAMPART_TEST_POSTGRES_URL or install PostgreSQL): {e}"
        ),
    }
}

/// A database created for one test, dropped (with `FORCE`) when this value is dropped.
#[derive(Debug)]
pub struct PostgresDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    /// The URL of the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name (`rt_<random>`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Replaces the database name (the path) of a PostgreSQL URL.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Creates an empty database `rt_<random>` on the test server.
///
/// # Panics
/// When the server cannot be started or the database cannot be created.
pub async fn fresh_postgres_database() -> PostgresDatabase {
    let server_url = postgres_server_url().await;
    let name = format!("rt_{}", rampart_core::model::new_uniquifier());
    let mut conn = PgConnection::connect(&server_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {server_url}: {e}"));
    // The name is generated here (hex only), so formatting it into SQL is safe.
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = conn.close().await;
    let url = with_database(&server_url, &name);
    PostgresDatabase {
        server_url,
        name,
        url,
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&server_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_database() {
        assert_eq!(
            with_database("postgres://u@h:1/rampart_test", "rt_x"),
            "postgres://u@h:1/rt_x"
        );
        assert_eq!(
            with_database("postgres://u@h:1", "rt_x"),
            "postgres://u@h:1/rt_x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "rt_x"),
            "postgresql://u:p@h/rt_x?sslmode=disable"
        );
    }
}
