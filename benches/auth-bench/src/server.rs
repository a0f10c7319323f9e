//! Child servers: spawned pinned to one core, address read from their stderr, stopped with
//! SIGTERM (also when the benchmark fails half-way, through `Drop`).

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How many of a child's last stderr lines are kept for error messages.
const TAIL_LINES: usize = 30;

/// How long a child may take to print its listening line (the demo seeds its users first,
/// which hashes four passwords).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running child server.
pub struct Server {
    name: String,
    child: Child,
    addr: SocketAddr,
    tail: Arc<Mutex<VecDeque<String>>>,
    stopped: bool,
}

impl Server {
    /// Starts `program args…` under `taskset -c core` with `envs` set and `removed` unset, and
    /// waits for the stderr line containing `marker` followed by the listening address.
    ///
    /// # Errors
    /// The child cannot start, exits, or prints no address within a minute.
    pub fn spawn(
        name: &str,
        core: usize,
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        removed: &[&str],
        marker: &str,
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c")
            .arg(core.to_string())
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        for k in removed {
            cmd.env_remove(k);
        }
        let mut child = cmd.spawn().with_context(|| {
            format!(
                "cannot start {name} (`taskset -c {core} {}`)",
                program.display()
            )
        })?;
        let stderr = child
            .stderr
            .take()
            .context("the child's stderr is not piped")?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let (tx, rx) = mpsc::channel();
        let keep = Arc::clone(&tail);
        let marker = marker.to_owned();
        // Drains stderr for the child's whole life, so its logging never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(addr) = parse_listening(&line, &marker) {
                    sent = tx.send(addr).is_ok();
                }
                if let Ok(mut t) = keep.lock() {
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            }
        });
        let mut server = Self {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tail,
            stopped: false,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => server.addr = addr,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!(
                    "{name} printed no listening address within {}s; its stderr:\n{}",
                    START_TIMEOUT.as_secs(),
                    server.log_tail()
                )
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stderr closed: the child exited. Give it a moment to be reaped.
                std::thread::sleep(Duration::from_millis(100));
                let status = server
                    .child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
                server.stopped = true;
                bail!(
                    "{name} exited ({status}) before listening; its stderr:\n{}",
                    server.log_tail()
                )
            }
        }
        Ok(server)
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's resident set size (`VmRSS` of `/proc/PID/status`), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// A thread sampling [`Server::rss_kib`] every 100 ms until the returned flag is set;
    /// joining it gives the peak.
    pub fn sample_peak_rss(&self) -> PeakSampler {
        let pid = self.child.id();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        });
        PeakSampler { stop, handle }
    }

    /// The last lines the child wrote on stderr.
    pub fn log_tail(&self) -> String {
        match self.tail.lock() {
            Ok(t) => t.iter().map(|l| format!("  | {l}\n")).collect(),
            Err(_) => String::new(),
        }
    }

    /// Fails when the child has exited (it should serve until [`Server::stop`]).
    ///
    /// # Errors
    /// The child is gone.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                self.stopped = true;
                bail!(
                    "{} exited ({status}); its stderr:\n{}",
                    self.name,
                    self.log_tail()
                )
            }
            Err(e) => bail!("cannot query {}: {e}", self.name),
        }
    }

    /// Sends SIGTERM, waits up to five seconds, then kills.
    ///
    /// # Errors
    /// The child could not be signalled or reaped.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        if self.child.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        // `taskset` execs the server, so this pid is the server's.
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let deadline = Instant::now() + Duration::from_secs(5);
        while sent && Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child
            .kill()
            .with_context(|| format!("cannot kill {}", self.name))?;
        self.child.wait()?;
        if sent {
            bail!("{} ignored SIGTERM for 5 s and was killed", self.name);
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("warning: {e:#}");
        }
    }
}

/// Samples a server's RSS in the background; see [`Server::sample_peak_rss`].
pub struct PeakSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl PeakSampler {
    /// Stops sampling; the peak RSS seen, in KiB.
    pub fn finish(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap_or(0)
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The address after `marker` in a log line (`… MARKER127.0.0.1:PORT (…)`).
fn parse_listening(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_listening;

    #[test]
    fn listening_lines() {
        let m = "rampart listening on http://";
        let line = "2026-01-01T00:00:00.000000Z  INFO rampart listening on http://127.0.0.1:41234 \
                    (database sqlite:///tmp/x/bench.db, mail outbox /tmp/x/outbox)";
        assert_eq!(
            parse_listening(line, m).map(|a| a.port()),
            Some(41234),
            "tracing line"
        );
        assert_eq!(
            parse_listening("rampart listening on http://127.0.0.1:80", m).map(|a| a.port()),
            Some(80)
        );
        assert_eq!(parse_listening("listening on http://127.0.0.1:80", m), None);
        assert_eq!(
            parse_listening("rampart listening on http://nowhere", m),
            None
        );
    }
}
