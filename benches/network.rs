//! Benchmark of the network layer: `regtui tags REPO --long --json` over 1000 tags (a manifest
//! and a config GET each) through a delay proxy at 0, 25 and 50 ms per direction, with the
//! adaptive limiter (the default) against a fixed 16 (and 64) in flight, over plain HTTP/1.1 and over TLS
//! with HTTP/2. Prints a table and the limit the adaptive limiter reached (from the log).
//!
//! Run: `cargo bench --bench network` (needs /usr/bin/docker-registry; scripts/test.sh installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

const TAGS: usize = 1000;

/// One `tags --long --json` run; returns its time, the last limit logged and the HTTP version.
fn run(config: &Path, log: &Path) -> (Duration, Option<usize>, String) {
    let _ = std::fs::remove_file(log);
    let started = Instant::now();
    let out = Process::new(env!("CARGO_BIN_EXE_regtui"))
        .args([
            "-c",
            config.to_str().unwrap(),
            "--log-file",
            log.to_str().unwrap(),
        ])
        .args(["tags", "bench/many", "--long", "--json"])
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
    assert_eq!(rows.as_array().unwrap().len(), TAGS);
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if let Some(keep) = std::env::var_os("BENCH_KEEP_LOGS") {
        let n = std::fs::read_dir(&keep).map(|d| d.count()).unwrap_or(0);
        let _ = std::fs::write(Path::new(&keep).join(format!("run{n:02}.log")), &text);
    }
    let last = text.lines().rev().find(|l| l.contains("limit="));
    let limit = last.and_then(|l| {
        l.split("limit=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    });
    let version = last
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or("?")
        .to_string();
    (took, limit, version)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let plain = support::Registry::start(support::Options::default());
    let base = plain.url.clone();
    let t = Instant::now();
    support::block_on(async move { support::fill_many(&base, "bench/many", TAGS).await });
    println!("filled {TAGS} tags in {:.2?}", t.elapsed());
    let tls = support::Registry::start(support::Options {
        tls: true,
        storage_from: Some(plain.storage.clone()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bench.log");
    println!(
        "\n| transport | delay/direction | adaptive | limit reached | fixed 16 | fixed 64 |\n|---|---|---|---|---|---|"
    );
    for (name, reg) in [("HTTP/1.1", &plain), ("TLS", &tls)] {
        for delay in [0u64, 25, 50] {
            let netem = support::netem::start(reg.port, Duration::from_millis(delay));
            let host = if reg.url.starts_with("https") {
                "localhost"
            } else {
                "127.0.0.1"
            };
            let scheme = if reg.url.starts_with("https") {
                "https"
            } else {
                "http"
            };
            let url = format!("{scheme}://{host}:{}", netem.port);
            let mut toml = format!("[profiles.b]\nregistry = \"{url}\"\n");
            if let Some(ca) = &reg.ca_path {
                toml += &format!("ca_cert = \"{}\"\n", ca.display());
            }
            let adaptive = dir.path().join("adaptive.toml");
            std::fs::write(&adaptive, format!("default_profile = \"b\"\n{toml}")).unwrap();
            let fixed = dir.path().join("fixed.toml");
            std::fs::write(
                &fixed,
                format!("default_profile = \"b\"\n{toml}concurrency = 16\n"),
            )
            .unwrap();
            let wide = dir.path().join("wide.toml");
            std::fs::write(
                &wide,
                format!("default_profile = \"b\"\n{toml}concurrency = 64\n"),
            )
            .unwrap();
            let runs = if delay == 0 { 3 } else { 1 };
            let mut a = Vec::new();
            let mut f = Vec::new();
            let mut w = Vec::new();
            let mut reached = None;
            let mut version = String::new();
            for _ in 0..runs {
                let (t, l, v) = run(&adaptive, &log);
                a.push(t);
                reached = l;
                version = v;
                f.push(run(&fixed, &log).0);
                w.push(run(&wide, &log).0);
            }
            w.sort();
            a.sort();
            f.sort();
            println!(
                "| {name} ({version}) | {delay} ms | {:.2?} | {} | {:.2?} | {:.2?} |",
                a[a.len() / 2],
                reached.map(|l| l.to_string()).unwrap_or_else(|| "?".into()),
                f[f.len() / 2],
                w[w.len() / 2]
            );
        }
    }
}
