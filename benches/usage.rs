//! Benchmark of the registry-wide checks on the real local registry, in-process: how long the
//! cleanup preview takes to ask every other repository about the blobs it would free, and how
//! long `du` takes to size every repository, for a catalog of N repositories.
//!
//! Run: `cargo bench --bench usage` (needs /usr/bin/docker-registry; scripts/test.sh installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use regtui::registry::auth::Credential;
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::prune::{self, Protected, Rules};
use regtui::registry::reference::RegistryAddr;
use regtui::registry::usage::{self, CheckOptions};
use regtui::registry::{Backend, ops};
use support::oci::{Blob, ImageSpec, OCI_LAYER, Pusher, image, noise};

fn client(url: &str) -> Distribution {
    Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let reg = support::Registry::start(support::Options::default());
    let base = Blob::new(OCI_LAYER, noise("bench-base", 4096));
    let url = reg.url.clone();
    println!("| other repositories | blobs checked | HEADs | preview check | du of all |");
    println!("|---|---|---|---|---|");
    let mut pushed = 0usize;
    for n in [50usize, 200, 500] {
        let (u, b, from) = (url.clone(), base.clone(), pushed);
        support::block_on(async move {
            let p = Pusher::new(&u);
            if from == 0 {
                // The repository to clean: 10 images on the shared base.
                for i in 0..10 {
                    let seed: &'static str = Box::leak(format!("bench-src-{i}").into_boxed_str());
                    let img = image(&ImageSpec {
                        seed,
                        layer_sizes: &[2048],
                        ..Default::default()
                    });
                    let own = img.blobs[1].clone();
                    let img = support::with_layers(img, &[b.clone(), own]);
                    p.image("bench/src", &format!("t{i}"), &img).await;
                }
            }
            let p = &p;
            stream::iter(from..n)
                .for_each_concurrent(16, |i| {
                    let b = b.clone();
                    async move {
                        let seed: &'static str = Box::leak(format!("bench-o-{i}").into_boxed_str());
                        let img = image(&ImageSpec {
                            seed,
                            ..Default::default()
                        });
                        let img = support::with_layers(img, &[b]);
                        p.image(&format!("bench/o{i:03}"), "t", &img).await;
                    }
                })
                .await;
        });
        pushed = n;
        let u = url.clone();
        let row = support::block_on(async move {
            let c = client(&u);
            let s = prune::survey(&c, "bench/src", 16).await.unwrap();
            let rules = Rules::parse(Some(2), None, None, None).unwrap();
            let marked = rules.select(&s.dates(), &Protected::default(), 0);
            let mut plan = prune::plan(&s, &marked, &Protected::default(), c.info().capabilities);
            let blobs = plan.freed_blobs().len();
            let t = Instant::now();
            // As the CLI and the TUI run it: the profile's default concurrency (the adaptive cap).
            let opts = CheckOptions {
                concurrency: regtui::registry::http::ADAPTIVE_MAX,
                ..Default::default()
            };
            usage::registry_wide(&c, &mut plan, opts).await;
            let check = t.elapsed();
            assert!(plan.gc.exact, "{:?}", plan.gc);
            assert_eq!(plan.gc.checked_repos, n);
            let repos = ops::all_repos(&c).await.unwrap();
            let t = Instant::now();
            let d = usage::du(&c, &repos, true, 16, CheckOptions::default()).await;
            let du = t.elapsed();
            assert_eq!(d.repos.len(), n + 1);
            format!(
                "| {n} | {blobs} | {} | {:.0} ms | {:.0} ms |",
                n * blobs,
                check.as_secs_f64() * 1000.0,
                du.as_secs_f64() * 1000.0
            )
        });
        println!("{row}");
    }
}
