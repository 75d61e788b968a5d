//! Benchmark over 1000 tags on the real local registry, printing its figures:
//! - `regtui tags REPO --long --json` with the default concurrency (16) and one request at a time;
//! - the TUI model driven by the real client task: time until the rows in view and then every
//!   row of the tags pane have their sizes;
//! - drawing cost of the tags pane with 10,000 tags (only visible rows are built);
//! - `regtui prune REPO --keep 500`: the preview (survey of every tag, digest and blob) and
//!   executing its 500 deletions.
//!
//! Run: `cargo bench --bench tags` (needs /usr/bin/docker-registry; scripts/test.sh installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command as Process;
use std::time::{Duration, Instant};

/// Runs regtui with `args`, expecting success and JSON on stdout.
fn regtui_json(args: &[&str]) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let out = Process::new(env!("CARGO_BIN_EXE_regtui"))
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent")
        .output()
        .expect("run regtui");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, serde_json::from_slice(&out.stdout).unwrap())
}

fn run(config: &str) -> (Duration, usize) {
    let (took, rows) = regtui_json(&["-c", config, "tags", "bench/many", "--long", "--json"]);
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
    let url = reg.url.clone();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(tui_figures(url));
    prune_figures(&reg, dir.path());
}

fn prune_run(cfg: &str, extra: &str) -> (Duration, serde_json::Value) {
    regtui_json(&[
        "-c",
        cfg,
        "prune",
        "bench/many",
        "--keep",
        "500",
        "--json",
        extra,
    ])
}

fn prune_figures(reg: &support::Registry, dir: &std::path::Path) {
    let cfg = dir.join("prune.toml");
    std::fs::write(&cfg, reg.profile_toml("")).unwrap();
    let cfg = cfg.display().to_string();
    let runs: Vec<Duration> = (0..3)
        .map(|_| {
            let (t, v) = prune_run(&cfg, "--dry-run");
            assert_eq!(v[0]["delete"].as_array().unwrap().len(), 500);
            assert_eq!(v[0]["kept"].as_array().unwrap().len(), 500);
            t
        })
        .collect();
    println!(
        "prune preview, 1000 tags (keep 500): median {:.2?} (runs: {runs:?})",
        median(runs.clone())
    );
    let (t, v) = prune_run(&cfg, "--yes");
    let results = v[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    assert!(results.iter().all(|r| r["result"] == "deleted"));
    println!(
        "prune --yes: preview + 500 deletions (each tag re-resolved first) in {t:.2?} = {:.0} deletions/s",
        500.0 / t.as_secs_f64()
    );
}

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use regtui::app::{App, Effect, Msg, ProfileEntry};
use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec};

fn keys(s: &str) -> Vec<Msg> {
    let mut v: Vec<Msg> = s
        .chars()
        .map(|c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
        .collect();
    v.push(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    v
}

async fn tui_figures(url: String) {
    let spec = ProfileSpec {
        name: "bench".into(),
        registry: url.clone(),
        source: ProfileSource::Registry {
            profile: Box::new(regtui::config::Profile::ad_hoc(&url).unwrap()),
            base_dir: ".".into(),
        },
        concurrency: 16,
    };
    let (etx, mut erx) = tokio::sync::mpsc::channel(1024);
    let tx = client_task::spawn(vec![spec], etx).commands;
    let entry = ProfileEntry::new("bench", &url);
    let mut app = App::new(vec![entry], 0, (160, 48), 1_735_689_600);
    let send = |fx: Vec<Effect>, tx: &tokio::sync::mpsc::Sender<Command>| {
        for e in fx {
            if let Effect::Send(c) = e {
                tx.try_send(c).unwrap();
            }
        }
    };
    send(app.start(), &tx);
    let started = Instant::now();
    for m in keys(":repo bench/many") {
        send(app.update(m), &tx);
    }
    let mut in_view_at = None;
    while let Some(ev) = erx.recv().await {
        send(app.update(Msg::Client(ev)), &tx);
        let t = &app.view().tags;
        if t.names.len() == 1000 {
            let h = 45;
            let visible_done = t.view.iter().take(h).all(|i| t.row(&t.names[*i]).is_some());
            if in_view_at.is_none() && visible_done {
                in_view_at = Some(started.elapsed());
            }
            if t.done() == 1000 {
                break;
            }
        }
    }
    let all = started.elapsed();
    println!(
        "TUI tags pane, 1000 tags, concurrency 16: rows in view sized after {:.2?}, every row after {:.2?}",
        in_view_at.unwrap_or(all),
        all
    );

    // Drawing with 10,000 tags: feed the model directly (no registry) and time frames.
    let entry = ProfileEntry::new("big", "synthetic");
    let mut app = App::new(vec![entry], 0, (160, 48), 1_735_689_600);
    app.start();
    let fx: Vec<Effect> = keys(":repo big/repo")
        .into_iter()
        .flat_map(|m| app.update(m))
        .collect();
    let list_req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Send(Command::ListTags { req, .. }) => Some(*req),
            _ => None,
        })
        .unwrap();
    let names: Vec<String> = (0..10_000).map(|i| format!("build-{i:05}")).collect();
    let fx = app.update(Msg::Client(Event::Tags {
        req: list_req,
        page: names.clone().into(),
        done: true,
        fetching: vec![],
    }));
    let details_req = fx
        .iter()
        .find_map(|e| match e {
            Effect::Send(Command::TagDetails { req, .. }) => Some(*req),
            _ => None,
        })
        .unwrap();
    let fill = Instant::now();
    for (i, n) in names.iter().enumerate() {
        let row = regtui::registry::model::TagRow {
            locked: None,
            pulled: None,
            tag: n.clone(),
            digest: format!("sha256:{:064x}", i),
            media_type: regtui::registry::model::OCI_MANIFEST.into(),
            size: 1_000_000 + i as u64 * 977,
            created: Some(format!(
                "2024-{:02}-{:02}T00:00:00Z",
                1 + i % 12,
                1 + i % 28
            )),
            pushed: None,
            platforms: vec![],
            blobs: vec![],
        };
        app.update(Msg::Client(Event::Detail {
            req: details_req,
            tag: n.clone(),
            result: Ok(Box::new(row)),
        }));
    }
    let fill = fill.elapsed();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).unwrap();
    let frames = 200;
    let t0 = Instant::now();
    for i in 0..frames {
        app.update(Msg::Key(KeyEvent::new(
            if i % 2 == 0 {
                KeyCode::PageDown
            } else {
                KeyCode::Down
            },
            KeyModifiers::NONE,
        )));
        term.draw(|f| regtui::ui::render(&app, f)).unwrap();
    }
    let per = t0.elapsed() / frames;
    println!(
        "TUI with 10,000 tags: applying 10,000 detail events took {fill:.2?} ({:.1?} each, each row placed in date order as it arrives); one key + frame at 160x48: {per:.2?}",
        fill / 10_000
    );
}
