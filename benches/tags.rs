//! Benchmark: `regtui tags REPO --long --json` over 1000 tags on the real local registry,
//! with the default concurrency (16) and one request at a time. Prints its figures.
//!
//! Run: `cargo bench --bench tags` (needs /usr/bin/docker-registry; scripts/test.sh installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

fn run(config: &str) -> (Duration, usize) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_regtui"))
        .args(["-c", config, "tags", "bench/many", "--long", "--json"])
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("run regtui");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(
        rows.iter()
            .all(|r| r["size"].as_u64().unwrap() > 0 && r["created"].is_string())
    );
    (took, rows.len())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    const TAGS: usize = 1000;
    let reg = support::Registry::start(support::Options::default());
    let base = reg.url.clone();
    let fill_started = Instant::now();
    support::block_on(async move { support::fill_many(&base, "bench/many", TAGS).await });
    println!("filled {TAGS} tags in {:.2?}", fill_started.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for concurrency in [16, 1] {
        let cfg = dir.path().join(format!("c{concurrency}.toml"));
        std::fs::write(
            &cfg,
            reg.profile_toml(&format!("concurrency = {concurrency}\n")),
        )
        .unwrap();
        let cfg = cfg.display().to_string();
        let runs: Vec<Duration> = (0..3)
            .map(|_| {
                let (t, n) = run(&cfg);
                assert_eq!(n, TAGS);
                t
            })
            .collect();
        let m = median(runs.clone());
        println!(
            "tags --long --json, {TAGS} tags, concurrency {concurrency:>2}: median {:>8.2?} (runs: {:?}) = {:.0} tags/s",
            m,
            runs,
            TAGS as f64 / m.as_secs_f64()
        );
        report.push(m);
    }
    println!(
        "speed-up of bounded concurrency over one request at a time: {:.1}x",
        report[1].as_secs_f64() / report[0].as_secs_f64()
    );
}
