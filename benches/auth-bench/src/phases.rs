//! The measurements after the interleaved rounds: two servers side by side, login throughput
//! (password verification), authenticated requests during a flood of wrong-password logins,
//! and memory per session.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::header::{ACCEPT, SET_COOKIE};

use crate::wrk::{self, Load, WrkResult};

/// A password wrong for every account.
const WRONG_PASSWORD: &str = "Wr0ng-password-flood-1";

/// `POST /login` with the right password of `email`, counted by status.
///
/// # Errors
/// wrk fails.
pub fn login(
    load: Load,
    secs: u32,
    base: &str,
    dir: &Path,
    (email, password): (&str, &str),
) -> anyhow::Result<(WrkResult, Vec<(u16, u64)>)> {
    let script = dir.join(format!("login-{}.lua", load.connections));
    let body = serde_json::json!({"email": email, "password": password}).to_string();
    std::fs::write(&script, wrk::post_json_script(&body)).context("cannot write the wrk script")?;
    let (r, report) = wrk::run_script(load, secs, &format!("{base}/login"), &[], Some(&script))?;
    Ok((r, wrk::status_counts(&report)))
}

/// Loads two servers at once, each with its own wrk of [`Load::halved`], for `secs` seconds;
/// both servers share their core, so a disturbance on the host slows both alike and the ratio
/// of their throughputs is their cost ratio.
///
/// # Errors
/// Either wrk fails.
pub fn side_by_side(
    load: Load,
    secs: u32,
    (a_url, a_headers): (&str, &[(String, String)]),
    (b_url, b_headers): (&str, &[(String, String)]),
) -> anyhow::Result<(WrkResult, WrkResult)> {
    let half = load.halved();
    std::thread::scope(|scope| {
        let b = scope.spawn(|| wrk::run(half, secs, b_url, b_headers));
        let a = wrk::run(half, secs, a_url, a_headers);
        let b = b
            .join()
            .map_err(|_| anyhow::anyhow!("the second wrk thread panicked"))?;
        Ok((a?, b?))
    })
}

/// Authenticated requests while a flood of wrong-password logins runs.
pub struct Flood {
    /// The authenticated requests during the flood.
    pub during: WrkResult,
    /// The flood itself.
    pub flood: WrkResult,
    /// The flood's answers by status.
    pub flood_statuses: Vec<(u16, u64)>,
    /// The status of one wrong-password login sent in the middle of the flood.
    pub probe_status: u16,
}

/// Floods `POST /login` of `victim` with wrong passwords at `flood_connections` connections
/// for `secs + 2` seconds while `load` measures `url` with `headers` for `secs` seconds.
///
/// # Errors
/// wrk fails or the probe cannot be sent.
pub fn flood(
    load: Load,
    flood_connections: u32,
    secs: u32,
    base: &str,
    dir: &Path,
    victim: &str,
    (url, headers): (&str, &[(String, String)]),
) -> anyhow::Result<Flood> {
    let script = dir.join("flood.lua");
    let body = serde_json::json!({"email": victim, "password": WRONG_PASSWORD}).to_string();
    std::fs::write(&script, wrk::post_json_script(&body)).context("cannot write the wrk script")?;
    let flood_load = Load {
        core: load.core,
        threads: 1,
        connections: flood_connections,
    };
    let login_url = format!("{base}/login");
    let flooding = {
        let login_url = login_url.clone();
        std::thread::spawn(move || {
            wrk::run_script(flood_load, secs + 2, &login_url, &[], Some(&script))
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let victim = victim.to_owned();
    let probe = std::thread::spawn(move || probe_wrong_password(&login_url, victim));
    let during = wrk::run(load, secs, url, headers)?;
    let probe_status = probe
        .join()
        .map_err(|_| anyhow::anyhow!("the probe thread panicked"))??;
    let (flood, report) = flooding
        .join()
        .map_err(|_| anyhow::anyhow!("the flood thread panicked"))??;
    Ok(Flood {
        during,
        flood,
        flood_statuses: wrk::status_counts(&report),
        probe_status,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn probe_wrong_password(url: &str, victim: String) -> anyhow::Result<u16> {
    runtime()?.block_on(async {
        let client = crate::login::client()?;
        let resp = client
            .post(url)
            .header(ACCEPT, "application/json")
            .json(&serde_json::json!({"email": victim, "password": WRONG_PASSWORD}))
            .send()
            .await
            .with_context(|| format!("POST {url} failed"))?;
        Ok(resp.status().as_u16())
    })
}

/// Opens `n` sessions (`GET /login` without a cookie: an anonymous session holding its CSRF
/// secret), then reads each once (`GET /api/me` with its cookie), 32 at a time.
///
/// # Errors
/// A request fails or sets no session cookie.
pub fn open_sessions(base: &str, n: usize) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let client = crate::login::client()?;
        let mut tasks = tokio::task::JoinSet::new();
        let per_task = n.div_ceil(32);
        for _ in 0..32 {
            let client = client.clone();
            let base = base.to_owned();
            tasks.spawn(async move {
                for _ in 0..per_task {
                    one_session(&client, &base).await?;
                }
                Ok::<_, anyhow::Error>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.context("a session task panicked")??;
        }
        Ok(())
    })
}

async fn one_session(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let resp = client
        .get(format!("{base}/login"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .context("GET /login failed")?;
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with("session="))
        .map(str::to_owned);
    let Some(cookie) = cookie else {
        bail!("GET /login set no session cookie ({})", resp.status());
    };
    client
        .get(format!("{base}/api/me"))
        .header(ACCEPT, "application/json")
        .header("Cookie", cookie)
        .send()
        .await
        .context("GET /api/me failed")?;
    Ok(())
}
