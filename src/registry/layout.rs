//! A read-only backend over OCI image layout directories (the bundled demo, offline browsing).
//!
//! The root is either one layout (a directory with `oci-layout` and `index.json`), named after
//! the directory, or a folder of layouts where each layout's relative path is its repository name.
//! Layer blobs may be absent: sizes come from the descriptors. The files may also be built into
//! the binary ([`Layout::embedded`]: the demo).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec::image::ImageIndex;

use super::model::*;
use super::reference::{validate_repository, validate_tag};
use super::{Backend, BackendInfo, BoxFut, Capabilities, Error, PageSink, Result, digest, parse};

/// Annotation holding a tag in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// How deep to look for layouts below the root.
const MAX_DEPTH: usize = 8;

/// Files built into the binary: `(path relative to the root, content)`.
pub type Files = &'static [(&'static str, &'static [u8])];

/// Where the layout files are.
enum Store {
    Dir,
    Embedded(BTreeMap<&'static str, &'static [u8]>),
}

/// OCI layouts on disk (or built in), browsed like a registry.
pub struct Layout {
    /// The directory, or the name of the built-in files.
    root: PathBuf,
    store: Store,
    /// Repository → its layout's directory (relative to the root when embedded).
    repos: BTreeMap<String, PathBuf>,
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Invalid {
        what: format!("layout file {}", path.display()),
        detail: e.to_string(),
    }
}

fn find_layouts(dir: &Path, prefix: &str, depth: usize, out: &mut BTreeMap<String, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let repo = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = e.path();
        if path.join("oci-layout").is_file() {
            if validate_repository(&repo).is_ok() {
                out.insert(repo, path);
            }
        } else if depth < MAX_DEPTH {
            find_layouts(&path, &repo, depth + 1, out);
        }
    }
}

impl Layout {
    /// Opens a layout or a folder of layouts.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::Config(format!(
                "{} is not a directory of OCI image layouts",
                root.display()
            )));
        }
        let mut repos = BTreeMap::new();
        if root.join("oci-layout").is_file() {
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_else(|| "image".into());
            repos.insert(name, root.clone());
        } else {
            find_layouts(&root, "", 0, &mut repos);
        }
        if repos.is_empty() {
            return Err(Error::Config(format!(
                "no OCI image layout (a directory with an oci-layout file) below {}",
                root.display()
            )));
        }
        Ok(Layout {
            root,
            store: Store::Dir,
            repos,
        })
    }

    /// Layouts built into the binary, shown as `name`; each directory holding an `oci-layout`
    /// file is a repository named by its path.
    pub fn embedded(name: &str, files: Files) -> Result<Self> {
        let files: BTreeMap<&'static str, &'static [u8]> = files.iter().copied().collect();
        let repos: BTreeMap<String, PathBuf> = files
            .keys()
            .filter_map(|p| p.strip_suffix("/oci-layout"))
            .filter(|r| validate_repository(r).is_ok())
            .map(|r| (r.to_string(), PathBuf::from(r)))
            .collect();
        if repos.is_empty() {
            return Err(Error::Config(format!("no OCI image layout in {name}")));
        }
        Ok(Layout {
            root: PathBuf::from(name),
            store: Store::Embedded(files),
            repos,
        })
    }

    fn dir(&self, repo: &str) -> Result<&PathBuf> {
        self.repos.get(repo).ok_or_else(|| Error::NotFound {
            what: repo.to_string(),
            errors: vec![super::error::RegistryError {
                code: "NAME_UNKNOWN".into(),
                message: "no such layout".into(),
            }],
        })
    }

    /// Reads a layout file that must be a regular file of at most `limit` bytes (never a FIFO,
    /// a device or a directory, whatever a symlink points at); `None` when it does not exist.
    async fn read_bounded(&self, path: &Path, limit: u64, what: &str) -> Result<Option<Vec<u8>>> {
        if let Store::Embedded(files) = &self.store {
            let key = path.to_str().unwrap_or("");
            return match files.get(key) {
                None => Ok(None),
                Some(b) if b.len() as u64 > limit => Err(Error::TooLarge {
                    what: what.to_string(),
                    limit,
                }),
                Some(b) => Ok(Some(b.to_vec())),
            };
        }
        let p = path.to_path_buf();
        let read = tokio::task::spawn_blocking(move || super::localfs::read_regular(&p, limit))
            .await
            .map_err(|e| io_err(path, std::io::Error::other(e.to_string())))?;
        match read {
            Ok(body) => Ok(Some(body)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => Err(Error::TooLarge {
                what: what.to_string(),
                limit,
            }),
            Err(e) => Err(io_err(path, e)),
        }
    }

    async fn index(&self, repo: &str) -> Result<ImageIndex> {
        let path = self.dir(repo)?.join("index.json");
        let body = self
            .read_bounded(&path, MANIFEST_LIMIT, "index.json")
            .await?
            .ok_or_else(|| {
                io_err(
                    &path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "index.json is missing"),
                )
            })?;
        serde_json::from_slice(&body).map_err(|e| Error::Invalid {
            what: format!("{}", path.display()),
            detail: e.to_string(),
        })
    }

    /// The descriptor a tag points at in `index.json`.
    async fn tag_desc(&self, repo: &str, tag: &str) -> Result<Desc> {
        let index = self.index(repo).await?;
        for d in index.manifests() {
            if d.annotations()
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .map(String::as_str)
                == Some(tag)
            {
                let digest = d.digest().to_string();
                digest::validate(&digest)?;
                return Ok(Desc {
                    digest,
                    media_type: d.media_type().to_string(),
                    size: d.size(),
                });
            }
        }
        Err(Error::NotFound {
            what: format!("{repo}:{tag}"),
            errors: vec![super::error::RegistryError {
                code: "MANIFEST_UNKNOWN".into(),
                message: "tag not in index.json".into(),
            }],
        })
    }

    async fn blob(&self, repo: &str, d: &str, limit: u64, what: &str) -> Result<Vec<u8>> {
        digest::validate(d)?;
        let (alg, hex) = d.split_once(':').unwrap_or(("", ""));
        let path = self.dir(repo)?.join("blobs").join(alg).join(hex);
        let Some(body) = self.read_bounded(&path, limit, what).await? else {
            return Err(Error::NotFound {
                what: d.to_string(),
                errors: vec![super::error::RegistryError {
                    code: "BLOB_UNKNOWN".into(),
                    message: "blob not in the layout".into(),
                }],
            });
        };
        digest::verify(d, &body)?;
        Ok(body)
    }

    /// A layer blob of the layout, read in chunks (it must be a regular file).
    async fn blob_chunks(&self, repo: &str, d: &str) -> Result<super::ByteStream> {
        use tokio::io::AsyncReadExt;
        digest::validate(d)?;
        let (alg, hex) = d.split_once(':').unwrap_or(("", ""));
        let path = self.dir(repo)?.join("blobs").join(alg).join(hex);
        let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file());
        if meta.is_none() {
            return Err(Error::NotFound {
                what: d.to_string(),
                errors: vec![super::error::RegistryError {
                    code: "BLOB_UNKNOWN".into(),
                    message: "layer not in the layout (the demo ships manifests and configs only)"
                        .into(),
                }],
            });
        }
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| io_err(&path, e))?;
        let s = futures_util::stream::unfold(Some(file), move |f| {
            let path = path.clone();
            async move {
                let mut f = f?;
                let mut buf = vec![0u8; 64 * 1024];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(bytes::Bytes::from(buf)), Some(f)))
                    }
                    Err(e) => Some((Err(io_err(&path, e)), None)),
                }
            }
        });
        Ok(Box::pin(s))
    }

    fn read_only<T>(&self) -> Result<T> {
        Err(Error::Unsupported(
            "this is a read-only OCI layout (demo or offline copy): nothing can be deleted here"
                .into(),
        ))
    }
}

impl Backend for Layout {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "layout",
            registry: self.root.display().to_string(),
            host: String::new(),
            auth: "local files".into(),
            capabilities: Capabilities {
                list_repos: true,
                delete_digest: false,
                delete_tag: false,
            },
            ..Default::default()
        }
    }

    fn ping(&self) -> BoxFut<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            sink(self.repos.keys().cloned().collect());
            Ok(())
        })
    }

    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let index = self.index(repo).await?;
            let tags = index
                .manifests()
                .iter()
                .filter_map(|d| d.annotations().as_ref()?.get(REF_NAME).cloned())
                .filter(|t| validate_tag(t).is_ok())
                .collect();
            sink(tags);
            Ok(())
        })
    }

    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>> {
        Box::pin(async move {
            let (d, media_type) = if digest::is_digest(reference) {
                (reference.to_string(), None)
            } else {
                let desc = self.tag_desc(repo, reference).await?;
                (desc.digest, Some(desc.media_type))
            };
            let body = self.blob(repo, &d, MANIFEST_LIMIT, "manifest").await?;
            let what = format!("{repo}:{reference}");
            Ok(Arc::new(parse::manifest(
                body,
                d,
                media_type.as_deref(),
                &what,
            )?))
        })
    }

    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc> {
        Box::pin(async move {
            if digest::is_digest(reference) {
                let m = self.get_manifest(repo, reference).await?;
                Ok(Desc {
                    digest: m.digest.clone(),
                    media_type: m.media_type.clone(),
                    size: m.size(),
                })
            } else {
                self.tag_desc(repo, reference).await
            }
        })
    }

    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>> {
        Box::pin(async move {
            let body = self
                .blob(repo, &config.digest, CONFIG_LIMIT, "config blob")
                .await?;
            Ok(Arc::new(parse::config(&body)?))
        })
    }

    fn blob_stream<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, super::ByteStream> {
        Box::pin(self.blob_chunks(repo, digest))
    }

    fn delete_manifest<'a>(&'a self, _repo: &'a str, _digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move { self.read_only() })
    }

    fn delete_tag<'a>(&'a self, _repo: &'a str, _tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move { self.read_only() })
    }
}
