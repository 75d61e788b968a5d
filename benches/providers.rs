//! Benchmark of the provider listings: `regtui tags REPO --long --json` over ONE repository of
//! 1,000 tags on each of the GAR, ACR, Harbor and GitLab fixtures (tests/support/*.rs, the
//! documented page sizes), printing the requests the fixture counted and the wall time. The
//! target: GAR, ACR and Harbor at most ⌈1000/page⌉ + a few requests; GitLab one request per tag
//! for the details (its API has no bulk detail), sent at the adaptive concurrency.
//!
//! Run: `cargo bench --bench providers` (needs /usr/bin/docker-registry; scripts/test.sh installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::bin::{regtui, write_config};
use support::{acr, gar, gitlab, harbor};

const TAGS: usize = 1000;

/// One `tags --long --json` run: checks every row has a size and a date; returns the time.
fn run(cfg: &str, repo: &str, env: &[(&str, &str)]) -> Duration {
    let started = Instant::now();
    let out = regtui(
        &["-c", cfg, "-p", "p", "tags", repo, "--long", "--json"],
        env,
    );
    let took = started.elapsed();
    let rows = out.json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), TAGS, "{}", out.stderr());
    assert!(rows.iter().all(|r| r["size"].as_u64().unwrap_or(0) > 0));
    assert!(rows.iter().all(|r| r["pushed"].is_string()));
    took
}

/// Runs `runs` times; prints the median time and the requests of one run.
fn measure(
    name: &str,
    page: usize,
    seen: &dyn Fn() -> usize,
    cfg: &str,
    repo: &str,
    env: &[(&str, &str)],
) {
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..3 {
        let before = seen();
        times.push(run(cfg, repo, env));
        requests = seen() - before;
    }
    times.sort();
    println!(
        "| {name} | {page} | {} | {requests} | {:.2?} |",
        TAGS.div_ceil(page),
        times[1]
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    println!(
        "\n| provider | page | ⌈1000/page⌉ | requests (one run) | wall time (median of 3) |\n|---|---|---|---|---|"
    );

    // GAR: Google's tags/list extension gives every tag in one answer.
    let g = gar::scenario();
    let c = g.a.clone();
    g.state.lock().unwrap().repos.insert(
        "acme/docker/big".into(),
        (0..TAGS)
            .map(|n| gar::Entry {
                tag: format!("t{n:04}"),
                digest: format!("sha256:{n:064x}"),
                size: 1000 + n as u64,
                media_type: c.media_type.clone(),
                uploaded_ms: 1_704_189_600_000 + n as i64,
            })
            .collect(),
    );
    let cfg = write_config(
        &dir.path().join("gar").tap_mkdir(),
        &g.profile_toml(
            "p",
            "username = \"oauth2accesstoken\"\npassword_env = \"CLOUD_SECRET\"",
        ),
    );
    measure(
        "GAR",
        TAGS,
        &|| g.fx.seen().len(),
        &cfg,
        "acme/docker/big",
        &[("CLOUD_SECRET", gar::ACCESS_TOKEN)],
    );

    // ACR: /acr/v1 listings of up to 1000 entries a page.
    let a = acr::scenario();
    a.state.lock().unwrap().repos.insert(
        "big".into(),
        (0..TAGS)
            .map(|n| acr::Manifest {
                digest: format!("sha256:{n:064x}"),
                size: 1000 + n as u64,
                media_type: c.media_type.clone(),
                created: format!("2024-03-01T00:{:02}:{:02}.5Z", n / 60 % 60, n % 60),
                tags: vec![(format!("t{n:04}"), false)],
                locked: false,
            })
            .collect(),
    );
    let cfg = write_config(
        &dir.path().join("acr").tap_mkdir(),
        &a.profile_toml(
            "p",
            &format!(
                "username = \"{}\"\npassword_env = \"CLOUD_SECRET\"",
                acr::USER
            ),
        ),
    );
    measure(
        "ACR",
        acr::MAX_N,
        &|| a.fx.seen().len(),
        &cfg,
        "big",
        &[("CLOUD_SECRET", acr::PASSWORD)],
    );

    // Harbor: artifacts with their tags, 100 a page (the scenario's library/big).
    let h = harbor::scenario();
    let cfg = write_config(
        &dir.path().join("harbor").tap_mkdir(),
        &h.profile_toml(
            "p",
            &format!(
                "username = \"{}\"\npassword_env = \"HARBOR_PASSWORD\"",
                harbor::USER
            ),
        ),
    );
    measure(
        "Harbor",
        100,
        &|| h.fx.seen().len(),
        &cfg,
        "library/big",
        &[("HARBOR_PASSWORD", harbor::PASSWORD)],
    );

    // GitLab: names 100 a page, then one detail request per tag (the scenario's acme/big).
    let l = gitlab::scenario();
    let cfg = write_config(
        &dir.path().join("gitlab").tap_mkdir(),
        &l.profile_toml("p", "project = \"acme/big\"\ntoken_env = \"GL_TOKEN\""),
    );
    measure(
        "GitLab",
        100,
        &|| l.fx.seen().len(),
        &cfg,
        "acme/big",
        &[("GL_TOKEN", gitlab::TOKEN)],
    );
    // The same on a slow instance (20 ms per tag detail): serial would take 20 s.
    l.state
        .detail_delay_ms
        .store(20, std::sync::atomic::Ordering::SeqCst);
    measure(
        "GitLab, 20 ms a detail",
        100,
        &|| l.fx.seen().len(),
        &cfg,
        "acme/big",
        &[("GL_TOKEN", gitlab::TOKEN)],
    );
}

/// Creates a directory and gives it back.
trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
