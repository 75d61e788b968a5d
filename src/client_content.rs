//! The client task's content work (issue #13): files listings and copies with progress events.
//! Registry logic lives in `registry::{files, copy}`; this only reports progress to the app.

use tokio::sync::mpsc;

use crate::client_task::{Event, ReqId};
use crate::registry::copy::{self, CopyOptions, CopyReport, End};
use crate::registry::files::{self, Entry};
use crate::registry::model::Desc;
use crate::registry::{Backend, Error};

/// Bytes between two progress events of a files listing.
const PROGRESS_STEP: u64 = 256 * 1024;

/// Lists the files of `layers` (all merged, or only `layer`), sending progress events as the
/// blobs stream. Dropping the future drops the blob request.
pub async fn list_files(
    ev: &mpsc::Sender<Event>,
    req: ReqId,
    b: &dyn Backend,
    repo: &str,
    layers: &[Desc],
    layer: Option<usize>,
) -> Result<Vec<Entry>, Error> {
    let chosen: Vec<(usize, &Desc)> = match layer {
        Some(i) => vec![(
            i,
            layers
                .get(i)
                .ok_or_else(|| Error::Config(format!("no layer {i}")))?,
        )],
        None => layers.iter().enumerate().collect(),
    };
    let total: u64 = chosen.iter().map(|(_, d)| d.size).sum();
    let mut before = 0u64;
    let mut per_layer = Vec::with_capacity(chosen.len());
    for (i, d) in chosen {
        // Unbounded but coalesced: one entry per PROGRESS_STEP bytes of this blob at most.
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let mut last = 0u64;
        let mut progress = move |read: u64| {
            if read >= last + PROGRESS_STEP {
                last = read;
                let _ = tx.send(read);
            }
        };
        let forward = async {
            while let Some(read) = rx.recv().await {
                let _ = ev
                    .send(Event::FilesProgress {
                        req,
                        read: before + read,
                        total,
                    })
                    .await;
            }
        };
        let (r, ()) = tokio::join!(
            async {
                let r = files::layer_entries(b, repo, d, i, &mut progress).await;
                drop(progress);
                r
            },
            forward
        );
        per_layer.push(r?);
        before += d.size;
        let _ = ev
            .send(Event::FilesProgress {
                req,
                read: before,
                total,
            })
            .await;
    }
    Ok(match layer {
        Some(_) => per_layer.into_iter().flatten().collect(),
        None => files::merge(per_layer),
    })
}

/// One copy the TUI asked for.
pub struct CopyJob<'a> {
    pub from: &'a dyn Backend,
    pub repo: &'a str,
    pub reference: &'a str,
    pub to: &'a dyn Backend,
    pub to_repo: &'a str,
    pub to_tag: &'a str,
    pub same_registry: bool,
    /// Copy the signatures, SBOMs and attestations too.
    pub referrers: bool,
    pub concurrency: usize,
}

/// Copies an image with progress events (blobs done, bytes), then its referrers when asked.
pub async fn copy_image(
    ev: &mpsc::Sender<Event>,
    req: ReqId,
    j: CopyJob<'_>,
) -> Result<CopyReport, Error> {
    let opts = CopyOptions {
        platform: None,
        same_registry: j.same_registry,
        concurrency: j.concurrency,
    };
    // Unbounded but finite: one entry per blob.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, usize, u64)>();
    let progress = move |done: usize, total: usize, bytes: u64| {
        let _ = tx.send((done, total, bytes));
    };
    let from = End {
        backend: j.from,
        repo: j.repo,
        reference: j.reference,
    };
    let to = End {
        backend: j.to,
        repo: j.to_repo,
        reference: j.to_tag,
    };
    let work = async {
        let r = copy::copy(from, to, &opts, &progress).await;
        drop(progress);
        r
    };
    let forward = async {
        while let Some((blobs, total, bytes)) = rx.recv().await {
            let _ = ev
                .send(Event::CopyProgress {
                    req,
                    blobs,
                    total,
                    bytes,
                })
                .await;
        }
    };
    let (r, ()) = tokio::join!(work, forward);
    let mut report = r?;
    if j.referrers {
        let (n, warnings) = copy::copy_referrers(from, to, &report.digest, &opts).await?;
        report.referrers = n;
        report.warnings = warnings;
    }
    Ok(report)
}
