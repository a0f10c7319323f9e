//! The `rampart` binary: `rampart serve` (the demo server) and the admin CLI
//! (`rampart users …`, `rampart roles …`).
#![forbid(unsafe_code)]

mod admin;
mod api;
mod check;
mod cli;
mod context;
mod documents;
mod env;
mod health;
mod openapi;
#[cfg(feature = "scan-control")]
mod scan_control;
mod seed;
mod serve;

use std::process::ExitCode;

use clap::Parser;
use rampart::accounts::AccountError;

use cli::{Cli, Command};

/// mimalloc instead of the system allocator: a request allocates a few dozen small objects
/// (headers, extensions, futures), and glibc's malloc spends about a quarter of the server's
/// per-request instructions on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve => serve::run(file).await,
        Command::Check { strict } => check::run(file, strict),
        Command::Users(cmd) => {
            let ctx = context::connect(context::load_config(file)?, &env::database_url()).await?;
            admin::users(&ctx, cmd).await
        }
        Command::Roles(cmd) => {
            let ctx = context::connect(context::load_config(file)?, &env::database_url()).await?;
            admin::roles(&ctx, cmd).await
        }
    }
}

/// 3 unknown user or role, 4 already exists, 5 invalid input, 6 unsafe configuration
/// (`check`), 1 anything else.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<check::Findings>().is_some() {
        return check::FINDINGS_EXIT_CODE;
    }
    match e.downcast_ref::<AccountError>() {
        Some(AccountError::UnknownUser(_) | AccountError::UnknownRole(_)) => 3,
        Some(AccountError::AlreadyExists(_)) => 4,
        Some(AccountError::Invalid(_)) => 5,
        _ => 1,
    }
}

fn init_tracing(server: bool) {
    // tower-sessions opens INFO spans on every session access; they carry nothing an operator
    // needs and cost microseconds per request, so they stay off unless RUST_LOG names them.
    const QUIET: &str = "tower_sessions=warn,tower_sessions_core=warn";
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| if server { "info" } else { "warn" }.to_owned());
    let spec = if base.contains("tower_sessions") {
        base
    } else {
        format!("{base},{QUIET}")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(QUIET));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
