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
mod cpu;
mod login;
mod order;
mod peers;
mod phases;
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
    /// A PostgreSQL server (maintenance database URL) for the PostgreSQL + Redis cases; a
    /// database is created on it for the run and dropped after.
    #[arg(long, value_name = "URL", env = "RAMPART_TEST_POSTGRES_URL")]
    postgres: Option<String>,
    /// The Redis of the PostgreSQL + Redis cases (sessions and throttle counters).
    #[arg(long, value_name = "URL", env = "RAMPART_TEST_REDIS_URL")]
    redis: Option<String>,
    /// Skip the PostgreSQL + Redis and Flask-Security cases and the extra phases.
    #[arg(long)]
    only_sqlite: bool,
    /// gunicorn sync workers of the Flask-Security app (pinned to the servers' core too).
    #[arg(long, default_value_t = 2)]
    flask_workers: usize,
    /// Connections of the wrong-password login flood.
    #[arg(long, default_value_t = 200)]
    flood_connections: u32,
    /// Seconds of token requests measured during the flood (which starts 1 s before and ends
    /// 1 s after). Not `--seconds`: the victim's first attempts, up to its throttle limit, are
    /// verified (each a password hash on the servers' core) before the flood is refused, a
    /// one-off cost that a short window would over-weight.
    #[arg(long, default_value_t = 10)]
    flood_seconds: u32,
    /// Sessions opened for the memory-per-session figure.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
}

/// The signed-in cases of one server: token case name, session case name, base URL,
/// targets (ratio to bare) of each.
type SignedIn<'a> = (
    &'static str,
    &'static str,
    Option<&'a String>,
    Option<f64>,
    Option<f64>,
);

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
    let peers = Peers::start(&args, &rampart, &envs, &dir)?;

    let bases = Bases {
        bare: bare_server.base_url(),
        demo: demo.base_url(),
        pg: peers.pg.as_ref().map(|(s, _)| s.base_url()),
        flask: peers.flask.as_ref().map(Server::base_url),
        login: peers.login.as_ref().map(Server::base_url),
    };
    let cases = prepare_cases(&args, &bases)?;
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
            cpu: Vec::new(),
        })
        .collect();
    if args.warmup > 0 {
        for case in &cases {
            eprintln!("warm-up {:<10} {}s", case.name, args.warmup);
            let r = wrk::run(load, args.warmup, &case.url, &case.headers)?;
            // A slow peer may complete nothing in a short warm-up; the rounds check that.
            if r.requests > 0 {
                check(case, &r)?;
            }
        }
    }
    // Idle: after the warm-up, once the allocator returned what start-up hashing used.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let idle_kib = demo.rss_kib().unwrap_or(0);
    let idle_pg_kib = peers
        .pg
        .as_ref()
        .and_then(|(s, _)| s.rss_kib())
        .unwrap_or(0);
    let peak = demo.sample_peak_rss();
    for round in 1..=args.rounds {
        for index in order::round_order(round as usize - 1, cases.len()) {
            let (case, out) = (&cases[index], &mut results[index]);
            let before = cpu::Ticks::read(args.server_core);
            let r = wrk::run(load, args.seconds, &case.url, &case.headers)?;
            let core = before
                .zip(cpu::Ticks::read(args.server_core))
                .and_then(|(b, e)| b.until(e, r.requests));
            bare_server.ensure_running()?;
            demo.ensure_running()?;
            check(case, &r)?;
            eprintln!(
                "round {round}/{} {:<10} {:>9.0} req/s  p99 {:.2}ms  server core {}",
                args.rounds,
                case.name,
                r.rps,
                r.p99_ms,
                core.map_or("?".to_owned(), |c| format!(
                    "{:.0}% busy, {:.1} us/request",
                    c.busy * 100.0,
                    c.us_per_request
                ))
            );
            out.rounds.push(r);
            out.cpu.push(core);
        }
    }
    let peak_kib = peak.finish();

    let shape = format!(
        "servers on core {} with {} worker thread(s) ({} gunicorn workers), wrk -t{} -c{} -d{}s \
         on core {}, {} round(s), {}s warm-up, SECURITY_AUTH_CACHE_TTL={}",
        args.server_core,
        args.workers,
        args.flask_workers,
        args.threads,
        args.connections,
        args.seconds,
        args.wrk_core,
        args.rounds,
        args.warmup,
        args.auth_cache_ttl
    );
    report::print(&results, cores, &shape);
    report::speedups(
        &results,
        &[("token", "fs-token"), ("session", "fs-session")],
    );
    if !args.only_sqlite && !args.no_auth {
        extra_phases(&args, load, &bases, &dir, &results, &cases)?;
        memory(
            &args,
            &demo,
            peers.pg.as_ref(),
            (idle_kib, idle_pg_kib, peak_kib),
        )?;
    }
    drop(peers);
    demo.stop()?;
    bare_server.stop()?;
    Ok(())
}

/// The base URLs of the servers of a run.
struct Bases {
    bare: String,
    demo: String,
    pg: Option<String>,
    flask: Option<String>,
    login: Option<String>,
}

/// The demo on PostgreSQL + Redis and the Flask-Security app, when they can run here.
struct Peers {
    /// The server and the run's database and Redis URL.
    pg: Option<(Server, (peers::PgDatabase, String))>,
    flask: Option<Server>,
    /// The demo with the throttle off, on a SQLite file of its own, for login throughput
    /// (the throttle would answer most of 64 concurrent logins of one account with 429).
    login: Option<Server>,
}

impl Peers {
    fn start(
        args: &RunArgs,
        rampart: &Path,
        envs: &[(&str, String)],
        dir: &TempDir,
    ) -> anyhow::Result<Self> {
        if args.only_sqlite || args.no_auth {
            return Ok(Self {
                pg: None,
                flask: None,
                login: None,
            });
        }
        let pg = match (&args.postgres, &args.redis) {
            (Some(pg_url), Some(redis_url)) => {
                let db = peers::PgDatabase::create(pg_url)?;
                let mut envs = envs.to_vec();
                envs.retain(|(k, _)| *k != "DATABASE_URL");
                envs.extend([
                    ("DATABASE_URL", db.url.clone()),
                    ("REDIS_URL", redis_url.clone()),
                    (
                        "SECURITY_THROTTLE_KEY_PREFIX",
                        format!("bench{}:", std::process::id()),
                    ),
                    ("MAIL_OUTBOX", dir.0.join("outbox-pg").display().to_string()),
                ]);
                let server = Server::spawn(
                    "rampart serve (PostgreSQL + Redis)",
                    args.server_core,
                    rampart,
                    &["serve"],
                    &envs,
                    &["DATABASE_PATH", "SMTP_URL", "DEMO_TEST_HOOKS"],
                    RAMPART_LISTENING,
                )?;
                Some((server, (db, redis_url.clone())))
            }
            _ => {
                eprintln!(
                    "note: no --postgres/--redis (or RAMPART_TEST_POSTGRES_URL/RAMPART_TEST_REDIS_URL): \
                     skipping the PostgreSQL + Redis cases"
                );
                None
            }
        };
        let flask = if peers::flask_available() {
            Some(peers::start_flask(
                args.server_core,
                args.flask_workers,
                &dir.0,
                SECRET_KEY,
            )?)
        } else {
            eprintln!(
                "note: gunicorn or Flask-Security missing (pip install -r tools/requirements.txt): \
                 skipping the Flask-Security cases"
            );
            None
        };
        let mut login_envs = envs.to_vec();
        login_envs.retain(|(k, _)| *k != "DATABASE_URL");
        login_envs.extend([
            (
                "DATABASE_URL",
                format!("sqlite://{}", dir.0.join("login.db").display()),
            ),
            ("SECURITY_THROTTLE_ENABLED", "false".to_owned()),
            (
                "MAIL_OUTBOX",
                dir.0.join("outbox-login").display().to_string(),
            ),
        ]);
        let login = Server::spawn(
            "rampart serve (throttle off, for logins)",
            args.server_core,
            rampart,
            &["serve"],
            &login_envs,
            &["DATABASE_PATH", "SMTP_URL", "REDIS_URL", "DEMO_TEST_HOOKS"],
            RAMPART_LISTENING,
        )?;
        Ok(Self {
            pg,
            flask,
            login: Some(login),
        })
    }
}

/// The wrong-password flood, then login throughput (Rampart and Flask-Security). The flood
/// goes first: gunicorn's sync workers keep hashing the logins queued in their accept
/// backlog for many seconds after wrk stops, on the servers' core, which would be measured
/// as the flood's effect.
fn extra_phases(
    args: &RunArgs,
    load: Load,
    bases: &Bases,
    dir: &TempDir,
    results: &[CaseResults],
    cases: &[Case],
) -> anyhow::Result<()> {
    backends_phase(args, load, cases)?;
    if let Some(token) = cases.iter().find(|c| c.name == "token") {
        flood_phase(args, load, bases, dir, results, token)?;
    }
    println!(
        "Login (password verification), POST /login with the right password, -c{}:",
        load.connections
    );
    let mut logins = Vec::new();
    if let Some(login) = &bases.login {
        logins.push(("rampart", login.clone()));
    }
    if let Some(flask) = &bases.flask {
        logins.push(("fs", flask.clone()));
    }
    for (name, base) in logins {
        let (r, statuses) = phases::login(
            load,
            args.seconds,
            &base,
            &dir.0,
            (login::EMAIL, login::PASSWORD),
        )?;
        println!(
            "  {name:<8} {:>8.0} logins/s  p99 {:>8.2}ms  statuses {statuses:?}",
            r.rps, r.p99_ms
        );
    }
    Ok(())
}

/// The PostgreSQL + Redis instance against the SQLite one on the same requests, both loaded at
/// once (see [`phases::side_by_side`]): their cost ratio without the noise that separate runs
/// carry on this VM. Sequential rounds compare each case with `bare`; this compares the two
/// back ends with each other.
fn backends_phase(args: &RunArgs, load: Load, cases: &[Case]) -> anyhow::Result<()> {
    let find = |name: &str| cases.iter().find(|c| c.name == name);
    let pairs: Vec<(&Case, &Case)> = [("token", "token-pg"), ("session", "session-pg")]
        .into_iter()
        .filter_map(|(a, b)| Some((find(a)?, find(b)?)))
        .collect();
    if pairs.is_empty() {
        return Ok(());
    }
    let half = load.halved();
    println!(
        "Back ends side by side (both instances loaded at once on the servers' core, each by \
         wrk -t{} -c{}, {} x {}s), PostgreSQL + Redis throughput over SQLite's:",
        half.threads, half.connections, args.rounds, args.seconds
    );
    for (sqlite, pg) in pairs {
        let mut ratios = Vec::new();
        for _ in 0..args.rounds {
            let (a, b) = phases::side_by_side(
                load,
                args.seconds,
                (&sqlite.url, &sqlite.headers),
                (&pg.url, &pg.headers),
            )?;
            check(sqlite, &a)?;
            check(pg, &b)?;
            ratios.push(b.rps / a.rps);
        }
        let interval = report::median_interval(&ratios)
            .map_or_else(String::new, |(l, h)| format!(" (95% CI {l:.3}-{h:.3})"));
        println!(
            "  {} / {}: {:.3}{interval}",
            pg.name,
            sqlite.name,
            report::median(&ratios)
        );
    }
    Ok(())
}

/// Token requests during a flood of wrong-password logins, against their undisturbed figures.
fn flood_phase(
    args: &RunArgs,
    load: Load,
    bases: &Bases,
    dir: &TempDir,
    results: &[CaseResults],
    token: &Case,
) -> anyhow::Result<()> {
    let undisturbed = results
        .iter()
        .find(|r| r.name == "token")
        .map(|r| {
            let rps: Vec<f64> = r.rounds.iter().map(|w| w.rps).collect();
            let p99: Vec<f64> = r.rounds.iter().map(|w| w.p99_ms).collect();
            (report::median(&rps), report::median(&p99))
        })
        .unwrap_or((f64::NAN, f64::NAN));
    let f = phases::flood(
        load,
        args.flood_connections,
        args.flood_seconds,
        &bases.demo,
        &dir.0,
        "admin@example.com",
        (&token.url, &token.headers),
    )?;
    let share = f.during.rps / undisturbed.0;
    println!(
        "Flood: {} connections of wrong-password POST /login (admin@example.com) for {}s, \
         {:.0} req/s, statuses {:?}; a wrong-password login in the middle answered {}.",
        args.flood_connections,
        args.flood_seconds + 2,
        f.flood.rps,
        f.flood_statuses,
        f.probe_status
    );
    println!(
        "  token GET /api/me during the flood: {:.0} req/s ({:.0}% of {:.0} undisturbed) {}, \
         p99 {:.2}ms (undisturbed {:.2}ms) {}",
        f.during.rps,
        share * 100.0,
        undisturbed.0,
        if share >= 0.5 {
            "PASS >= 50%"
        } else {
            "MISS >= 50%"
        },
        f.during.p99_ms,
        undisturbed.1,
        if f.during.p99_ms <= 50.0 {
            "PASS <= 50ms"
        } else {
            "MISS <= 50ms"
        },
    );
    Ok(())
}

/// Resident size idle, at the peak of the rounds, and per `--sessions` sessions.
fn memory(
    args: &RunArgs,
    demo: &Server,
    pg: Option<&(Server, (peers::PgDatabase, String))>,
    (idle, idle_pg, peak): (u64, u64, u64),
) -> anyhow::Result<()> {
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "Memory (RSS of rampart serve on SQLite): idle {:.1} MiB, peak during the rounds {:.1} MiB",
        mib(idle),
        mib(peak)
    );
    let settle = || std::thread::sleep(std::time::Duration::from_secs(3));
    settle();
    let before = demo.rss_kib().unwrap_or(0);
    phases::open_sessions(&demo.base_url(), args.sessions)?;
    settle();
    let after = demo.rss_kib().unwrap_or(0);
    println!(
        "  {} sessions opened and read (SQLite store): RSS {:.1} -> {:.1} MiB ({:+.1} MiB)",
        args.sessions,
        mib(before),
        mib(after),
        mib(after) - mib(before)
    );
    if let Some((server, (_, redis_url))) = pg {
        let before = server.rss_kib().unwrap_or(0);
        let redis_before = peers::redis_used_memory(redis_url).unwrap_or(0);
        phases::open_sessions(&server.base_url(), args.sessions)?;
        settle();
        let after = server.rss_kib().unwrap_or(0);
        let redis_after = peers::redis_used_memory(redis_url).unwrap_or(0);
        println!(
            "  PostgreSQL + Redis instance: idle {:.1} MiB; {} sessions: RSS {:.1} -> {:.1} MiB \
             ({:+.1} MiB), Redis used_memory {:+.1} MiB",
            mib(idle_pg),
            args.sessions,
            mib(before),
            mib(after),
            mib(after) - mib(before),
            (redis_after as f64 - redis_before as f64) / 1_048_576.0
        );
    }
    Ok(())
}

/// Signs in (unless `--no-auth`), builds the cases, and checks each answers as expected once.
fn prepare_cases(args: &RunArgs, bases: &Bases) -> anyhow::Result<Vec<Case>> {
    let accept = || ("Accept".to_owned(), "application/json".to_owned());
    let case = |name, base: &str, path, extra: Option<(String, String)>, expect, target| Case {
        name,
        url: format!("{base}{path}"),
        path,
        headers: extra.into_iter().chain([accept()]).collect(),
        expect,
        target,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = login::client()?;
        let me = "/api/me";
        let mut cases = vec![case(
            "bare",
            &bases.bare,
            "/bare",
            None,
            Expect::Success,
            None,
        )];
        let public = case(
            "public",
            &bases.demo,
            "/api/public",
            None,
            Expect::Success,
            None,
        );
        if args.no_auth {
            cases.push(public);
        } else {
            let signed_in: [SignedIn<'_>; 3] = [
                ("token", "session", Some(&bases.demo), Some(0.7), Some(0.5)),
                (
                    "token-pg",
                    "session-pg",
                    bases.pg.as_ref(),
                    Some(0.7),
                    Some(0.5),
                ),
                ("fs-token", "fs-session", bases.flask.as_ref(), None, None),
            ];
            for (token_name, session_name, base, token_target, session_target) in signed_in {
                let Some(base) = base else { continue };
                let token = login::token(&client, base).await?;
                let cookie = login::session_cookie(&client, base).await?;
                cases.push(case(
                    token_name,
                    base,
                    me,
                    Some(("Authentication-Token".to_owned(), token)),
                    Expect::Success,
                    token_target,
                ));
                cases.push(case(
                    session_name,
                    base,
                    me,
                    Some(("Cookie".to_owned(), cookie)),
                    Expect::Success,
                    session_target,
                ));
                if token_name == "token" {
                    cases.push(case("unauth", base, me, None, Expect::Unauthorized, None));
                }
            }
            if args.with_public {
                cases.push(public);
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
