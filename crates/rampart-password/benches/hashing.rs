//! Argon2id cost on this machine, and throughput of the bounded hashing pool.
//!
//! `cargo bench -p rampart-password` (release). Not a timed test: it prints figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use rampart_password::{Argon2Params, PasswordConfig, PasswordEngine};

const RUNS: usize = 15;
const WARMUP: usize = 2;
const CONCURRENT: usize = 64;

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[0])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench(label: &str, params: Argon2Params, cores: usize) {
    let engine = PasswordEngine::new(PasswordConfig {
        salt: Some("bench-salt".into()),
        argon2: params,
        max_concurrency: cores,
        ..PasswordConfig::default()
    })
    .expect("engine");
    println!(
        "\n{label}: m={} KiB, t={}, p={}",
        params.memory_kib, params.iterations, params.parallelism
    );

    for _ in 0..WARMUP {
        let h = engine.hash_blocking("warm-up password").unwrap();
        let _ = engine.verify_blocking("warm-up password", &h).unwrap();
    }
    let mut hash_times = Vec::with_capacity(RUNS);
    let mut verify_times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let pw = format!("benchmark password {i}");
        let t = Instant::now();
        let stored = engine.hash_blocking(&pw).unwrap();
        hash_times.push(t.elapsed());
        let t = Instant::now();
        let v = engine.verify_blocking(&pw, &stored).unwrap();
        verify_times.push(t.elapsed());
        assert!(v.ok);
    }
    let (hm, hmin) = stats(hash_times);
    let (vm, vmin) = stats(verify_times);
    println!(
        "  hash   (1 thread): median {:7.1} ms, min {:7.1} ms  ({RUNS} runs)",
        ms(hm),
        ms(hmin)
    );
    println!(
        "  verify (1 thread): median {:7.1} ms, min {:7.1} ms  ({RUNS} runs)",
        ms(vm),
        ms(vmin)
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let elapsed = rt.block_on(async {
        let t = Instant::now();
        let tasks: Vec<_> = (0..CONCURRENT)
            .map(|i| {
                let engine = engine.clone();
                tokio::spawn(async move { engine.hash(&format!("concurrent {i}")).await })
            })
            .collect();
        for task in tasks {
            task.await.expect("join").expect("hash");
        }
        t.elapsed()
    });
    println!(
        "  pool ({} permits), {CONCURRENT} concurrent hash(): {:.2} s total, {:.1} hashes/s",
        engine.pool().size(),
        elapsed.as_secs_f64(),
        CONCURRENT as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("rampart-password hashing benchmark");
    println!("cores (available_parallelism): {cores}");
    bench(
        "Flask-Security / libpass default",
        Argon2Params::FLASK_SECURITY,
        cores,
    );
    bench("OWASP minimum", Argon2Params::OWASP, cores);
}
