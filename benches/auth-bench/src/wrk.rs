//! Running wrk pinned to a core and reading its `--latency` report.

use std::process::Command;

use anyhow::{Context as _, bail};

/// One wrk run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    /// `Requests/sec:`.
    pub rps: f64,
    /// The median latency, in milliseconds.
    pub p50_ms: f64,
    /// The 99th latency percentile, in milliseconds.
    pub p99_ms: f64,
    /// Completed requests (`N requests in …`).
    pub requests: u64,
    /// `Non-2xx or 3xx responses:` (0 when wrk prints no such line).
    pub non_2xx: u64,
    /// Sum of the `Socket errors:` counters (connect, read, write, timeout).
    pub socket_errors: u64,
}

/// The load shape: wrk's threads and connections, and the core it is pinned to.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// `taskset -c` core for wrk.
    pub core: usize,
    /// `-t`.
    pub threads: u32,
    /// `-c`.
    pub connections: u32,
}

impl Load {
    /// Half the threads and connections (at least one of each), for two wrk sharing the core.
    pub fn halved(self) -> Self {
        Self {
            threads: (self.threads / 2).max(1),
            connections: (self.connections / 2).max(1),
            ..self
        }
    }
}

/// Makes sure `wrk` is on the PATH, installing it with apt-get when running as root.
///
/// # Errors
/// wrk is missing and cannot be installed.
pub fn ensure_installed() -> anyhow::Result<()> {
    if on_path("wrk") {
        return Ok(());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .context("wrk is not installed, and `id -u` failed")?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!(
            "wrk is not installed; install it (Debian/Ubuntu: `sudo apt-get install -y wrk`) and rerun"
        );
    }
    eprintln!("wrk is not installed; running `apt-get install -y wrk`");
    let status = Command::new("apt-get")
        .args(["install", "-y", "wrk"])
        .status()
        .context("cannot run apt-get")?;
    if !status.success() || !on_path("wrk") {
        bail!("`apt-get install -y wrk` failed ({status}); install wrk by hand and rerun");
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs `taskset -c CORE wrk -tT -cC -dSECSs --latency -H … URL` and parses its report.
///
/// # Errors
/// wrk cannot start, fails, or prints a report this parser does not understand.
pub fn run(
    load: Load,
    secs: u32,
    url: &str,
    headers: &[(String, String)],
) -> anyhow::Result<WrkResult> {
    run_script(load, secs, url, headers, None).map(|(r, _)| r)
}

/// Like [`run`], with a wrk Lua script (`-s`); returns the report's text too, for what the
/// script prints.
///
/// # Errors
/// As [`run`].
pub fn run_script(
    load: Load,
    secs: u32,
    url: &str,
    headers: &[(String, String)],
    script: Option<&std::path::Path>,
) -> anyhow::Result<(WrkResult, String)> {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c")
        .arg(load.core.to_string())
        .arg("wrk")
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{secs}s"))
        // A slow peer (Flask under gunicorn) queues 64 connections for seconds: count those
        // answers instead of dropping them as timeouts after wrk's default 2 s.
        .arg("--timeout")
        .arg("10s")
        .arg("--latency");
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    for (name, value) in headers {
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run `taskset -c {} wrk` on {url}", load.core))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "wrk failed on {url} ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let result =
        parse(&stdout).with_context(|| format!("cannot read wrk's report for {url}:\n{stdout}"))?;
    Ok((result, stdout))
}

/// A wrk Lua script sending `POST` with a JSON `body`, counting the answers by status; its
/// `done` prints `STATUS <code> <count>` lines (read with [`status_counts`]).
pub fn post_json_script(body: &str) -> String {
    let body = body.replace('\\', "\\\\").replace('\'', "\\'");
    format!(
        r#"wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {{}} end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {{}}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("STATUS %d %d\n", status, n)) end
end
"#
    )
}

/// The `STATUS <code> <count>` lines of [`post_json_script`], sorted by code.
pub fn status_counts(report: &str) -> Vec<(u16, u64)> {
    let mut counts: Vec<(u16, u64)> = report
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix("STATUS ")?.split_whitespace();
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect();
    counts.sort_unstable();
    counts
}

/// Parses wrk's report (as printed with `--latency`).
///
/// # Errors
/// A figure is missing or malformed.
pub fn parse(report: &str) -> anyhow::Result<WrkResult> {
    let mut rps = None;
    let mut p99_ms = None;
    let mut p50_ms = None;
    let mut requests = None;
    let mut non_2xx = 0;
    let mut socket_errors = 0;
    for line in report.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = Some(v.trim().parse::<f64>().context("bad Requests/sec")?);
        } else if let Some(v) = line.strip_prefix("50%") {
            p50_ms = Some(duration_ms(v.trim())?);
        } else if let Some(v) = line.strip_prefix("99%") {
            p99_ms = Some(duration_ms(v.trim())?);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = v.trim().parse().context("bad Non-2xx count")?;
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            for part in v.split(',') {
                let n = part.split_whitespace().last().unwrap_or_default();
                socket_errors += n.parse::<u64>().context("bad Socket errors count")?;
            }
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            requests = Some(n.trim().parse().context("bad request count")?);
        }
    }
    Ok(WrkResult {
        rps: rps.context("no `Requests/sec:` line")?,
        p50_ms: p50_ms.context("no `50%` latency line (was --latency passed?)")?,
        p99_ms: p99_ms.context("no `99%` latency line (was --latency passed?)")?,
        requests: requests.context("no `N requests in` line")?,
        non_2xx,
        socket_errors,
    })
}

/// wrk's time format (`812.00us`, `1.06ms`, `2.00s`, `1.50m`) in milliseconds.
fn duration_ms(s: &str) -> anyhow::Result<f64> {
    let (number, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60e3)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600e3)
    } else {
        bail!("unknown time unit in {s:?}")
    };
    let value: f64 = number
        .trim()
        .parse()
        .with_context(|| format!("bad time {s:?}"))?;
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
Running 2s test @ http://127.0.0.1:41234/api/me
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   476.88us  160.41us   6.25ms   86.48%
    Req/Sec    67.41k     3.17k   72.80k    71.00%
  Latency Distribution
     50%  450.00us
     75%  517.00us
     90%  613.00us
     99%    1.06ms
  268459 requests in 2.00s, 36.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 268459
Requests/sec: 134214.96
Transfer/sec:     18.05MB
";

    #[test]
    fn parses_a_latency_report() -> anyhow::Result<()> {
        let r = parse(REPORT)?;
        assert_eq!(
            r,
            WrkResult {
                rps: 134_214.96,
                p50_ms: 0.45,
                p99_ms: 1.06,
                requests: 268_459,
                non_2xx: 268_459,
                socket_errors: 3,
            }
        );
        Ok(())
    }

    #[test]
    fn absent_error_lines_are_zero() -> anyhow::Result<()> {
        let clean: String = REPORT
            .lines()
            .filter(|l| !l.contains("Non-2xx") && !l.contains("Socket"))
            .map(|l| format!("{l}\n"))
            .collect();
        let r = parse(&clean)?;
        assert_eq!((r.non_2xx, r.socket_errors), (0, 0));
        Ok(())
    }

    #[test]
    fn missing_percentiles_are_an_error() {
        let no_latency: String = REPORT
            .lines()
            .filter(|l| !l.contains("99%"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(parse(&no_latency).is_err());
    }

    #[test]
    fn status_lines() {
        let report = "Requests/sec: 1\nSTATUS 429 120\nSTATUS 400 10\nnoise\n";
        assert_eq!(status_counts(report), vec![(400, 10), (429, 120)]);
        let script = post_json_script(r#"{"a":"it's"}"#);
        assert!(script.contains(r#"wrk.body = '{"a":"it\'s"}'"#), "{script}");
    }

    #[test]
    fn time_units() -> anyhow::Result<()> {
        for (s, ms) in [
            ("812.00us", 0.812),
            ("1.06ms", 1.06),
            ("2.00s", 2000.0),
            ("1.50m", 90_000.0),
        ] {
            assert!((duration_ms(s)? - ms).abs() < 1e-9, "{s}");
        }
        assert!(duration_ms("3.0parsecs").is_err());
        Ok(())
    }
}
