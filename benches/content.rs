//! Benchmark of content work on the real local registry, in-process: listing the files of a
//! 100 MB gzip layer (streamed, never stored) and copying an image with that layer to a second
//! registry; each with its throughput and the peak memory it added (VmHWM reset before each).
//!
//! Run: `cargo bench --bench content` (needs /usr/bin/docker-registry; scripts/test.sh installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::Instant;

use regtui::registry::Backend;
use regtui::registry::auth::Credential;
use regtui::registry::copy::{self, CopyOptions, End};
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::files;
use regtui::registry::reference::RegistryAddr;

/// Peak resident memory so far, in MiB.
fn peak_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Resets the peak to the current resident size (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

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
    const FILES: usize = 2000;
    const SIZE: usize = 100 * 1024 * 1024;
    let from = support::Registry::start(support::Options::default());
    let to = support::Registry::start(support::Options::default());
    // A 100 MB layer: FILES files of noise, gzip-compressed (noise stays ~100 MB).
    let layer = {
        let mut tar = tar::Builder::new(Vec::new());
        for i in 0..FILES {
            let data = support::oci::noise(&format!("f{i}"), SIZE / FILES);
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, format!("data/f{i:05}"), &data[..])
                .unwrap();
        }
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    };
    let blob = support::oci::Blob::new("application/vnd.oci.image.layer.v1.tar+gzip", layer);
    let img = support::with_layers(support::find("solo", "only"), std::slice::from_ref(&blob));
    let url = from.url.clone();
    let (b2, i2) = (blob.clone(), img.clone());
    support::block_on(async move {
        let p = support::oci::Pusher::new(&url);
        p.blob("solo", i2.config()).await;
        p.image("bench/big", "v1", &i2).await;
        drop(b2);
    });
    let mib = blob.size as f64 / (1024.0 * 1024.0);
    drop(blob);
    let desc = regtui::registry::model::Desc {
        digest: img.blobs[1].digest.clone(),
        media_type: img.blobs[1].media_type.clone(),
        size: img.blobs[1].size,
    };
    drop(img);
    let (src, dst) = (client(&from.url), client(&to.url));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = peak_mib();
    reset_peak();
    let before = peak_mib();
    let t = Instant::now();
    let entries = rt
        .block_on(files::layer_entries(
            &src,
            "bench/big",
            &desc,
            0,
            &mut |_| {},
        ))
        .unwrap();
    let took = t.elapsed();
    assert_eq!(entries.len(), FILES);
    println!(
        "files: {FILES} entries of a {mib:.0} MiB gzip layer in {took:.2?} = {:.0} MiB/s; peak memory +{:.1} MiB (resident before {before:.0} MiB; the bench itself peaked at {base:.0} MiB while building the layer)",
        mib / took.as_secs_f64(),
        peak_mib() - before
    );
    reset_peak();
    let before = peak_mib();
    let t = Instant::now();
    let report = rt
        .block_on(copy::copy(
            End {
                backend: &src,
                repo: "bench/big",
                reference: "v1",
            },
            End {
                backend: &dst,
                repo: "bench/copy",
                reference: "v1",
            },
            &CopyOptions {
                concurrency: 4,
                ..Default::default()
            },
            &|_, _, _| {},
        ))
        .unwrap();
    let took = t.elapsed();
    assert!(report.bytes_copied as f64 >= mib * 1024.0 * 1024.0);
    let _ = rt.block_on(dst.head_manifest("bench/copy", "v1")).unwrap();
    println!(
        "copy: {} blobs, {:.0} MiB between two local registries in {took:.2?} = {:.0} MiB/s; peak memory +{:.1} MiB",
        report.blobs_copied,
        report.bytes_copied as f64 / (1024.0 * 1024.0),
        report.bytes_copied as f64 / (1024.0 * 1024.0) / took.as_secs_f64(),
        peak_mib() - before
    );
}
