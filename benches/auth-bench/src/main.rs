//! `auth-bench`: throughput of the demo server's authentication against a bare axum server.
//!
//! Reproduces the "physical limit" measurement of dependencies.md §3 with the real demo server:
//! both servers pinned to core 0 with one tokio worker thread, wrk pinned to core 1
//! (`wrk -t2 -c64 --latency`), a warm-up per case, then interleaved rounds; medians are reported.
//!
//! Cases: `bare` (`GET /bare` on the bare server), `token` (`GET /api/me` with
//! `Authentication-Token`), `session` (`GET /api/me` with the session cookie) and `unauth`
//! (`GET /api/me` with neither, expecting 401). `--no-auth` measures `GET /api/public` instead
//! of the three `/api/me` cases. See the README next to this crate.
#![forbid(unsafe_code)]

mod bare;
mod login;
mod report;
mod server;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use reqwest::StatusCode;

use report::CaseResults;
use server::Server;
use wrk::{Load, WrkResult};

/// The same allocator as the `rampart` binary, so the bare server and the demo server differ
/// only in what Rampart does per request.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo server's listening line (crates/rampart-cli/src/serve.rs).
const RAMPART_LISTENING: &str = "rampart listening on http://";

/// A fixed signing key, so runs are repeatable.
const SECRET_KEY: &str = "auth-bench-fixed-secret-key-0123456789abcdef";

/// Throughput of Rampart's demo server authentication (token, session, 401) against bare axum.
#[derive(Parser)]
#[command(name = "auth-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Mode {
    /// Serve the bare reference server (`GET /bare`); the benchmark spawns this itself.
    Bare {
        /// Port on 127.0.0.1; 0 picks a free one (printed on stderr).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The release `rampart` binary [default: $CARGO_TARGET_DIR/release/rampart, else
    /// target/release/rampart of this workspace].
    #[arg(long, value_name = "PATH")]
    rampart: Option<PathBuf>,
    /// Seconds per measured wrk run.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Interleaved rounds over all cases.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Seconds of warm-up per case before the rounds (0: none).
    #[arg(long, default_value_t = 3)]
    warmup: u32,
    /// A smoke run: 2 s x 1 round, 1 s warm-up.
    #[arg(long)]
    quick: bool,
    /// Measure `GET /api/public` instead of the `/api/me` cases (no login needed).
    #[arg(long)]
    no_auth: bool,
    /// Also measure `GET /api/public` (the demo's stack without authentication).
    #[arg(long, conflicts_with = "no_auth")]
    with_public: bool,
    /// Core the servers are pinned to.
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    /// Core wrk is pinned to.
    #[arg(long, default_value_t = 1)]
    wrk_core: usize,
    /// Tokio worker threads of each server (RAMPART_WORKER_THREADS, TOKIO_WORKER_THREADS).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// wrk threads (-t).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// wrk connections (-c).
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// The demo server's SECURITY_AUTH_CACHE_TTL in seconds (0: no cache, every request reads
    /// the database).
    #[arg(long, default_value_t = 5)]
    auth_cache_ttl: u32,
}

/// What a case's responses must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 2xx/3xx only.
    Success,
    /// 401 only (wrk counts them as non-2xx).
    Unauthorized,
}

/// One benchmarked request.
struct Case {
    name: &'static str,
    url: String,
    path: &'static str,
    headers: Vec<(String, String)>,
    expect: Expect,
    target: Option<f64>,
}

fn main() -> ExitCode {
    // The workspace builds reqwest with rustls and no default provider (no aws-lc C build);
    // the HTTP client needs one installed (plain http only, but reqwest builds TLS anyway).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.mode {
        Some(Mode::Bare { port }) => bare::serve(port),
        None => benchmark(cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn benchmark(mut args: RunArgs) -> anyhow::Result<()> {
    if args.quick {
        (args.seconds, args.rounds, args.warmup) = (2, 1, 1);
    }
    if args.seconds == 0 || args.rounds == 0 {
        bail!("--seconds and --rounds must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if args.server_core == args.wrk_core || args.server_core.max(args.wrk_core) >= cores {
        bail!(
            "need two distinct cores below {cores} for the server (--server-core {}) and wrk \
             (--wrk-core {}); this machine has {cores}",
            args.server_core,
            args.wrk_core
        );
    }
    wrk::ensure_installed()?;
    let rampart = rampart_binary(args.rampart.as_deref())?;
    let this = std::env::current_exe().context("cannot find this binary's path")?;
    let dir = TempDir::create()?;
    let workers = args.workers.to_string();
    let common = [
        ("RAMPART_WORKER_THREADS", workers.clone()),
        ("TOKIO_WORKER_THREADS", workers),
    ];

    eprintln!(
        "starting the bare server and {} (pinned to core {})",
        rampart.display(),
        args.server_core
    );
    let mut bare_server = Server::spawn(
        "the bare server",
        args.server_core,
        &this,
        &["bare", "--port", "0"],
        &common,
        &[],
        bare::LISTENING,
    )?;
    let mut envs = common.to_vec();
    envs.extend([
        ("PORT", "0".to_owned()),
        ("HOST", "127.0.0.1".to_owned()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.0.join("bench.db").display()),
        ),
        ("MAIL_OUTBOX", dir.0.join("outbox").display().to_string()),
        ("SECRET_KEY", SECRET_KEY.to_owned()),
        ("PROFILE", "default".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("SECURITY_AUTH_CACHE_TTL", args.auth_cache_ttl.to_string()),
    ]);
    let removed = ["DATABASE_PATH", "SMTP_URL", "REDIS_URL", "DEMO_TEST_HOOKS"];
    let mut demo = Server::spawn(
        "rampart serve",
        args.server_core,
        &rampart,
        &["serve"],
        &envs,
        &removed,
        RAMPART_LISTENING,
    )?;

    let cases = prepare_cases(&args, &bare_server.base_url(), &demo.base_url())?;
    let load = Load {
        core: args.wrk_core,
        threads: args.threads,
        connections: args.connections,
    };
    let mut results: Vec<CaseResults> = cases
        .iter()
        .map(|c| CaseResults {
            name: c.name,
            request: format!("GET {}", c.path),
            target: c.target,
            rounds: Vec::new(),
        })
        .collect();

    if args.warmup > 0 {
        for case in &cases {
            eprintln!("warm-up {:<8} {}s", case.name, args.warmup);
            let r = wrk::run(load, args.warmup, &case.url, &case.headers)?;
            check(case, &r)?;
        }
    }
    for round in 1..=args.rounds {
        for (case, out) in cases.iter().zip(&mut results) {
            let r = wrk::run(load, args.seconds, &case.url, &case.headers)?;
            bare_server.ensure_running()?;
            demo.ensure_running()?;
            check(case, &r)?;
            eprintln!(
                "round {round}/{} {:<8} {:>9.0} req/s  p99 {:.2}ms",
                args.rounds, case.name, r.rps, r.p99_ms
            );
            out.rounds.push(r);
        }
    }
    demo.stop()?;
    bare_server.stop()?;

    let shape = format!(
        "servers on core {} with {} worker thread(s), wrk -t{} -c{} -d{}s on core {}, \
         {} round(s), {}s warm-up, SECURITY_AUTH_CACHE_TTL={}",
        args.server_core,
        args.workers,
        args.threads,
        args.connections,
        args.seconds,
        args.wrk_core,
        args.rounds,
        args.warmup,
        args.auth_cache_ttl
    );
    report::print(&results, cores, &shape);
    Ok(())
}

/// Signs in (unless `--no-auth`), builds the cases, and checks each answers as expected once.
fn prepare_cases(args: &RunArgs, bare_base: &str, demo_base: &str) -> anyhow::Result<Vec<Case>> {
    let accept = || ("Accept".to_owned(), "application/json".to_owned());
    let case = |name, base: &str, path, extra: Option<(String, String)>, expect, target| Case {
        name,
        url: format!("{base}{path}"),
        path,
        headers: extra.into_iter().chain([accept()]).collect(),
        expect,
        target,
    };
    let public = || {
        case(
            "public",
            demo_base,
            "/api/public",
            None,
            Expect::Success,
            None,
        )
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = login::client()?;
        let mut cases = vec![case(
            "bare",
            bare_base,
            "/bare",
            None,
            Expect::Success,
            None,
        )];
        if args.no_auth {
            cases.push(public());
        } else {
            let token = login::token(&client, demo_base).await?;
            let cookie = login::session_cookie(&client, demo_base).await?;
            let token_header = ("Authentication-Token".to_owned(), token);
            let cookie_header = ("Cookie".to_owned(), cookie);
            let me = "/api/me";
            cases.extend([
                case(
                    "token",
                    demo_base,
                    me,
                    Some(token_header),
                    Expect::Success,
                    Some(0.7),
                ),
                case(
                    "session",
                    demo_base,
                    me,
                    Some(cookie_header),
                    Expect::Success,
                    Some(0.5),
                ),
                case("unauth", demo_base, me, None, Expect::Unauthorized, None),
            ]);
            if args.with_public {
                cases.push(public());
            }
        }
        for c in &cases {
            let status = match c.expect {
                Expect::Success => StatusCode::OK,
                Expect::Unauthorized => StatusCode::UNAUTHORIZED,
            };
            login::probe(&client, &c.url, &c.headers, status)
                .await
                .with_context(|| format!("case {}", c.name))?;
        }
        Ok(cases)
    })
}

/// Fails loudly when a run's responses are not what the case expects.
fn check(case: &Case, r: &WrkResult) -> anyhow::Result<()> {
    if r.requests == 0 {
        bail!(
            "case {}: wrk completed no request against {}",
            case.name,
            case.url
        );
    }
    match case.expect {
        Expect::Success if r.non_2xx > 0 => bail!(
            "case {}: {} of {} responses from {} were not 2xx/3xx",
            case.name,
            r.non_2xx,
            r.requests,
            case.url
        ),
        Expect::Unauthorized if r.non_2xx != r.requests => bail!(
            "case {}: only {} of {} unauthenticated requests to {} were refused",
            case.name,
            r.non_2xx,
            r.requests,
            case.url
        ),
        _ => {}
    }
    if r.socket_errors > 0 {
        eprintln!(
            "warning: case {}: {} socket errors",
            case.name, r.socket_errors
        );
    }
    Ok(())
}

/// `--rampart`, else `$CARGO_TARGET_DIR/release/rampart`, else this workspace's
/// `target/release/rampart`, else a `rampart` next to this binary.
fn rampart_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let hint = "build it first with `cargo build --release -p rampart-cli`, or pass --rampart PATH";
    if let Some(path) = given {
        if !path.is_file() {
            bail!("--rampart {}: no such file", path.display());
        }
        return Ok(path.to_owned());
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut candidates = Vec::new();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => candidates.push(workspace.join(dir).join("release/rampart")),
        None => candidates.push(workspace.join("target/release/rampart")),
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned))
    {
        candidates.push(dir.join("rampart"));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .with_context(|| {
            format!(
                "no release `rampart` binary at {}; {hint}",
                candidates[0].display()
            )
        })
}

/// A scratch directory for the demo's database and outbox, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("rampart-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
