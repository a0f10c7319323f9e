//! A Redis server for tests: `RAMPART_TEST_REDIS_URL`, or one started on loopback by
//! `scripts/start-redis.sh` (once per process). Tests share the server and keep apart by key
//! prefix ([`unique_prefix`]).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::OnceCell;

static SERVER_URL: OnceCell<Result<String, String>> = OnceCell::const_new();

/// The URL of the test Redis server.
///
/// # Panics
/// When the variable is unset and the script fails: tests needing Redis must fail, not skip.
pub async fn redis_server_url() -> String {
    let url = SERVER_URL
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("RAMPART_TEST_REDIS_URL")
                && !url.trim().is_empty()
            {
                return Ok(url.trim().to_owned());
            }
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/start-redis.sh");
            let out = tokio::process::Command::new("bash")
                .arg(script)
                .output()
                .await
                .map_err(|e| format!("cannot run {script}: {e}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let url = stdout
                .lines()
                .rev()
                .find(|l| l.starts_with("redis://"))
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
            "Redis is required for these tests and could not be started \
             (set RAMPART_TEST_REDIS_URL or install redis-server): {e}"
        ),
    }
}

/// A key prefix no other test (in this or another process) uses.
pub fn unique_prefix(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "rampart-test:{tag}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
