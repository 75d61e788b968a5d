//! Files in layers: each layer blob streamed once (never stored), decompressed (gzip, multi-member
//! too, or zstd), its tar headers read and bodies skipped, its digest verified as it streams;
//! then the layers stacked with whiteouts applied, as dive does.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::model::Desc;
use super::{Backend, Error, Result};

/// Most entries listed for one image (all layers together).
pub const MAX_ENTRIES: usize = 1_000_000;

/// What kind of tar entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    Other,
}

/// One file of a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Path without a leading `./` or `/`.
    pub path: String,
    pub size: u64,
    pub mode: u32,
    #[serde(rename = "type")]
    pub kind: EntryType,
    pub link: Option<String>,
    /// Index of the layer it comes from (0 = the base).
    pub layer: usize,
}

/// Progress of one layer: bytes of the blob read so far.
pub type Progress<'a> = &'a mut (dyn FnMut(u64) + Send);

/// Lists the entries of one layer blob (index `layer` in the image), streaming it once and
/// verifying its digest.
pub async fn layer_entries(
    b: &dyn Backend,
    repo: &str,
    blob: &Desc,
    layer: usize,
    progress: Progress<'_>,
) -> Result<Vec<Entry>> {
    walk_layer(b, repo, blob, progress, move |raw| list_tar(raw, layer)).await
}

/// Writes the content of `path` in one layer blob to `out` (streamed; the blob's digest is
/// checked to its end). An error when the layer has no regular file at `path`.
pub async fn cat(
    b: &dyn Backend,
    repo: &str,
    blob: &Desc,
    path: &str,
    mut out: Box<dyn std::io::Write + Send>,
) -> Result<u64> {
    let wanted = path
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string();
    walk_layer(b, repo, blob, &mut |_| {}, move |raw| {
        let mut archive = tar::Archive::new(decoder(raw)?);
        for e in archive.entries().map_err(|e| invalid("tar", e))? {
            let mut e = e.map_err(|e| invalid("tar", e))?;
            let p = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            if p.trim_start_matches("./").trim_start_matches('/') != wanted {
                continue;
            }
            if e.header().entry_type() != tar::EntryType::Regular {
                return Err(Error::Unsupported(format!(
                    "{wanted} is not a regular file"
                )));
            }
            let n = std::io::copy(&mut e, &mut out).map_err(|e| invalid("read", e))?;
            out.flush().map_err(|e| invalid("write", e))?;
            return Ok(n);
        }
        Err(Error::NotFound {
            what: wanted.clone(),
            errors: vec![],
        })
    })
    .await
}

/// Streams a layer blob into `work` (on a blocking thread), hashing every byte; the result of
/// `work` counts only when the whole blob matched its digest.
async fn walk_layer<T: Send + 'static>(
    b: &dyn Backend,
    repo: &str,
    blob: &Desc,
    progress: Progress<'_>,
    work: impl FnOnce(&mut dyn Read) -> Result<T> + Send + 'static,
) -> Result<T> {
    use futures_util::StreamExt;
    super::digest::validate(&blob.digest)?;
    let mut stream = b.blob_stream(repo, &blob.digest).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes>>(8);
    let expected = blob.digest.clone();
    let worker = tokio::task::spawn_blocking(move || -> Result<T> {
        let mut raw = ChanReader {
            rx,
            chunk: bytes::Bytes::new(),
            hasher: Sha256::new(),
            error: None,
        };
        let listed = work(&mut raw);
        // Read to the end even after the tar's end: the digest covers every byte.
        let drained = std::io::copy(&mut raw, &mut std::io::sink());
        if let Some(e) = raw.error.take() {
            return Err(e);
        }
        let entries = listed?;
        drained.map_err(|e| invalid(&expected, e))?;
        let actual = format!("sha256:{:x}", raw.hasher.finalize());
        if actual != expected {
            return Err(Error::DigestMismatch { expected, actual });
        }
        Ok(entries)
    });
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        if let Ok(c) = &chunk {
            read += c.len() as u64;
        }
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
        progress(read);
    }
    drop(tx);
    worker
        .await
        .map_err(|e| Error::Config(format!("layer listing stopped: {e}")))?
}

/// Feeds a blocking reader from the async stream, hashing every byte.
struct ChanReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes>>,
    chunk: bytes::Bytes,
    hasher: Sha256,
    error: Option<Error>,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(c)) => self.chunk = c,
                Some(Err(e)) => {
                    let text = e.to_string();
                    self.error = Some(e);
                    return Err(std::io::Error::other(text));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.hasher.update(&buf[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        what: format!("layer {what}"),
        detail: e.to_string(),
    }
}

/// The tar stream of a layer: gzip, zstd or plain, told by its first bytes.
fn decoder(raw: &mut dyn Read) -> Result<Box<dyn Read + '_>> {
    let mut buffered = BufReader::with_capacity(64 * 1024, raw);
    let head = buffered
        .fill_buf()
        .map_err(|e| invalid("read", e))?
        .to_vec();
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(Zstd::new(buffered))
    } else {
        Box::new(buffered)
    })
}

/// Reads the tar headers of a layer.
fn list_tar(raw: &mut dyn Read, layer: usize) -> Result<Vec<Entry>> {
    let mut archive = tar::Archive::new(decoder(raw)?);
    let mut out = Vec::new();
    for e in archive.entries().map_err(|e| invalid("tar", e))? {
        let e = e.map_err(|e| invalid("tar", e))?;
        if out.len() >= MAX_ENTRIES {
            return Err(Error::Invalid {
                what: "layer".into(),
                detail: format!("more than {MAX_ENTRIES} entries; stopped listing"),
            });
        }
        let h = e.header();
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryType::File,
            tar::EntryType::Directory => EntryType::Dir,
            tar::EntryType::Symlink => EntryType::Symlink,
            tar::EntryType::Link => EntryType::Hardlink,
            tar::EntryType::Char => EntryType::Char,
            tar::EntryType::Block => EntryType::Block,
            tar::EntryType::Fifo => EntryType::Fifo,
            _ => EntryType::Other,
        };
        let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let path = path
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() || path == "." {
            continue;
        }
        out.push(Entry {
            path,
            size: e.size(),
            mode: h.mode().unwrap_or(0),
            kind,
            link: e
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned()),
            layer,
        });
    }
    Ok(out)
}

/// zstd, frame after frame, until the input ends.
struct Zstd<R: BufRead> {
    input: Option<R>,
    frame: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: BufRead> Zstd<R> {
    fn new(input: R) -> Self {
        Zstd {
            input: Some(input),
            frame: None,
        }
    }
}

impl<R: BufRead> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(f) = &mut self.frame {
                let n = f.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                let done = self.frame.take().map(|f| f.into_inner());
                self.input = done;
            }
            let Some(mut input) = self.input.take() else {
                return Ok(0);
            };
            if input.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match ruzstd::decoding::StreamingDecoder::new(input) {
                Ok(f) => self.frame = Some(f),
                Err(e) => return Err(std::io::Error::other(format!("zstd: {e}"))),
            }
        }
    }
}

/// The image's files as a container sees them: layers stacked in order, whiteouts applied
/// (`.wh.NAME` removes NAME and what is under it; `.wh..wh..opq` hides what lower layers had in
/// its directory).
pub fn merge(layers: Vec<Vec<Entry>>) -> Vec<Entry> {
    let mut tree: BTreeMap<String, Entry> = BTreeMap::new();
    let under =
        |dir: &str, p: &str| dir.is_empty() || p == dir || p.starts_with(&format!("{dir}/"));
    for entries in layers {
        let mut keep = Vec::with_capacity(entries.len());
        for e in entries {
            let (dir, name) = match e.path.rsplit_once('/') {
                Some((d, n)) => (d.to_string(), n.to_string()),
                None => (String::new(), e.path.clone()),
            };
            if name == ".wh..wh..opq" {
                tree.retain(|p, _| !(under(&dir, p) && *p != dir));
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                let gone = if dir.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{dir}/{hidden}")
                };
                tree.retain(|p, _| !under(&gone, p));
            } else {
                keep.push(e);
            }
        }
        for e in keep {
            tree.insert(e.path.clone(), e);
        }
    }
    tree.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, layer: usize) -> Entry {
        Entry {
            path: path.into(),
            size: 1,
            mode: 0o644,
            kind: EntryType::File,
            link: None,
            layer,
        }
    }

    #[test]
    fn whiteouts_hide_lower_layers() {
        let merged = merge(vec![
            vec![
                e("etc", 0),
                e("etc/a", 0),
                e("etc/b", 0),
                e("var/x", 0),
                e("var/y/z", 0),
            ],
            vec![
                e("etc/.wh.a", 1),
                e("var/.wh..wh..opq", 1),
                e("var/new", 1),
                e("var/y", 1),
            ],
            vec![e("etc/a", 2)],
        ]);
        let paths: Vec<(&str, usize)> = merged.iter().map(|e| (e.path.as_str(), e.layer)).collect();
        assert_eq!(
            paths,
            [
                ("etc", 0),
                ("etc/a", 2),
                ("etc/b", 0),
                ("var/new", 1),
                ("var/y", 1)
            ]
        );
        let merged = merge(vec![
            vec![e("a/b/c", 0), e("a/bc", 0)],
            vec![e("a/.wh.b", 1)],
        ]);
        assert_eq!(merged.len(), 1, "a/bc is not under a/b: {merged:?}");
    }
}
