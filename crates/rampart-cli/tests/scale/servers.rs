//! Private backend servers a test starts and stops itself: a `redis-server` and a PostgreSQL
//! cluster (`initdb` + `pg_ctl`), each in its own temporary directory on its own loopback port.
//! The shared servers of the other tests (54329, 56379) are never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rampart_tests::TempDir;

/// A loopback port free right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as `user` when running as root (servers refuse to run as root).
fn command_as(user: &str, program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg(user).arg("--").arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

#[track_caller]
fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Gives `dir` to `user` when running as root.
fn hand_over(dir: &Path, user: &str) {
    if is_root() {
        let mut c = Command::new("chown");
        c.arg("-R").arg(user).arg(dir);
        run(c, "chown");
    }
}

fn wait_for_port(port: u16, up: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let open = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if open == up {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "port {port} did not become {}",
        if up { "open" } else { "closed" }
    );
}

/// A `redis-server` of this test, persisting to an append-only file so that what it held
/// survives a restart.
pub struct PrivateRedis {
    pub port: u16,
    dir: TempDir,
    running: bool,
}

impl PrivateRedis {
    /// Starts it on a free port.
    pub fn start() -> Self {
        let dir = TempDir::new("rampart-private-redis").unwrap();
        let mut redis = Self {
            port: free_port(),
            dir,
            running: false,
        };
        redis.resume();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts it again on the same port and directory.
    pub fn resume(&mut self) {
        let dir = self.dir.path().display().to_string();
        let port = self.port.to_string();
        let mut c = Command::new("redis-server");
        c.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--daemonize",
            "yes",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            &dir,
            "--pidfile",
            &format!("{dir}/redis.pid"),
            "--logfile",
            &format!("{dir}/redis.log"),
        ]);
        run(c, "redis-server");
        wait_for_port(self.port, true);
        self.running = true;
    }

    /// Stops it (`SHUTDOWN`), waiting until the port is closed.
    pub fn stop(&mut self) {
        let mut c = Command::new("redis-cli");
        c.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "shutdown"]);
        let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
        wait_for_port(self.port, false);
        self.running = false;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if self.running {
            let mut c = Command::new("redis-cli");
            c.args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "shutdown",
                "nosave",
            ]);
            let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

/// A PostgreSQL cluster of this test (`initdb` in a temporary directory).
pub struct PrivatePostgres {
    pub port: u16,
    dir: TempDir,
    bin: PathBuf,
    running: bool,
}

impl PrivatePostgres {
    /// Creates the cluster and starts it on a free port.
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
            .unwrap_or_else(|| {
                panic!("PostgreSQL binaries not found (apt-get install postgresql)")
            });
        let dir = TempDir::new("rampart-private-pg").unwrap();
        hand_over(dir.path(), "postgres");
        let data = dir.path().join("data");
        let data_s = data.display().to_string();
        run(
            command_as(
                "postgres",
                &bin.join("initdb"),
                &[
                    "-D",
                    &data_s,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ],
            ),
            "initdb",
        );
        let mut pg = Self {
            port: free_port(),
            dir,
            bin,
            running: false,
        };
        pg.resume();
        pg
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let data = self.dir.path().join("data").display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        let all: Vec<String> = all.into_iter().map(str::to_owned).collect();
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        command_as("postgres", &self.bin.join("pg_ctl"), &refs)
    }

    /// Starts it again on the same port and data.
    pub fn resume(&mut self) {
        let log = self.dir.path().join("server.log").display().to_string();
        let opts = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let cmd = self.pg_ctl(&["-l", &log, "-w", "-o", &opts, "start"]);
        run(cmd, "pg_ctl start");
        wait_for_port(self.port, true);
        self.running = true;
    }

    /// Stops it (fast shutdown: open connections are cut).
    pub fn stop(&mut self) {
        run(self.pg_ctl(&["-m", "fast", "-w", "stop"]), "pg_ctl stop");
        wait_for_port(self.port, false);
        self.running = false;
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .pg_ctl(&["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
