//! `auth-bench bare`: the reference server, axum with nothing in front of the handler.
//!
//! It answers `GET /bare` with `{"message":"hello","ok":true}`, the `bare` route of
//! dependencies.md §3, and runs on a multi-thread tokio runtime with
//! `RAMPART_WORKER_THREADS` workers (default 1), like the demo server under the benchmark.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The line printed on stderr once the server listens; the address follows it.
pub const LISTENING: &str = "auth-bench bare listening on http://";

/// Runs the bare server on `127.0.0.1:port` (0 picks a free port) until SIGTERM or Ctrl-C.
///
/// # Errors
/// A bad `RAMPART_WORKER_THREADS`, a runtime that cannot start, a port in use.
pub fn serve(port: u16) -> anyhow::Result<()> {
    let workers = worker_threads()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the listening address")?;
        eprintln!("{LISTENING}{addr} ({workers} worker thread(s))");
        let app = Router::new().route("/bare", get(bare));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .context("server error")
    })
}

/// `RAMPART_WORKER_THREADS`, or 1.
fn worker_threads() -> anyhow::Result<usize> {
    match std::env::var("RAMPART_WORKER_THREADS") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!("RAMPART_WORKER_THREADS must be a positive integer, got {v:?}"),
        },
        Err(_) => Ok(1),
    }
}

async fn bare() -> Json<Value> {
    Json(json!({"message": "hello", "ok": true}))
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
