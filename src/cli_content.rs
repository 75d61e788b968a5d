//! The content subcommands of the CLI: `referrers` (signatures, SBOMs, attestations as a tree),
//! `files` (what the layers hold, merged or per layer, or one file's content), `copy` (between
//! any two registries, digests kept) and `tag` (more tags on a manifest, no blob moves).

use std::io::IsTerminal;
use std::sync::Arc;

use crate::cli::{Cli, emit, json, table};
use crate::fmt::human_size as human;
use crate::registry::copy::{self, CopyOptions, End};
use crate::registry::files::{self, Entry};
use crate::registry::model::{Desc, Manifest, ManifestKind};
use crate::registry::reference::Reference;
use crate::registry::referrers::{self, Referrer};
use crate::registry::{Backend, Error, Result, digest};
use crate::sanitize::clean;

/// The image manifest a reference names: for an index, the platform asked for (`os/arch`), else
/// linux/amd64, else its first image.
async fn image_of(
    b: &dyn Backend,
    repo: &str,
    reference: &str,
    platform: Option<&str>,
) -> Result<Arc<Manifest>> {
    let m = b.get_manifest(repo, reference).await?;
    let ManifestKind::Index { children } = &m.kind else {
        return Ok(m);
    };
    let images: Vec<_> = children.iter().filter(|c| !c.attestation).collect();
    let pick = match platform {
        Some(p) => images.iter().find(|c| c.platform == p).ok_or_else(|| {
            Error::Config(format!(
                "{repo}:{reference} has no platform {p} (it has {})",
                images
                    .iter()
                    .map(|c| c.platform.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
        None => images
            .iter()
            .find(|c| c.platform == "linux/amd64")
            .or(images.first())
            .ok_or_else(|| Error::Config(format!("{repo}:{reference} lists no image")))?,
    };
    b.get_manifest(repo, &pick.digest).await
}

/// `regtui referrers REF [--json]`: what refers to the manifest, and what refers to those.
pub async fn referrers_cmd(cli: &Cli, reference: &str, as_json: bool) -> Result<i32> {
    let r = Reference::parse(reference)?;
    let s = cli.session(r.registry.as_deref())?;
    let b = s.backend.as_ref();
    let repo = r.repository.as_str();
    let digest = b.head_manifest(repo, r.target()).await?.digest;
    let tags = crate::registry::ops::all_tags(b, repo).await?;
    #[derive(serde::Serialize)]
    struct Node {
        #[serde(flatten)]
        referrer: Referrer,
        referrers: Vec<Node>,
    }
    // Referrers of referrers, two levels deep at most (signatures of SBOMs and the like).
    async fn level(
        b: &dyn Backend,
        repo: &str,
        digest: &str,
        tags: &[String],
        depth: usize,
    ) -> Result<Vec<Node>> {
        let mut out = Vec::new();
        for referrer in referrers::referrers(b, repo, digest, Some(tags)).await? {
            let below = if depth > 0 {
                Box::pin(level(b, repo, &referrer.digest, tags, depth - 1)).await?
            } else {
                Vec::new()
            };
            out.push(Node {
                referrer,
                referrers: below,
            });
        }
        Ok(out)
    }
    let tree = level(b, repo, &digest, &tags, 2).await?;
    if as_json {
        emit(&json(&tree));
        return Ok(0);
    }
    let mut out = format!("{}@{}\n", clean(repo), digest);
    fn draw(out: &mut String, nodes: &[Node], indent: &str) {
        for (i, n) in nodes.iter().enumerate() {
            let last = i + 1 == nodes.len();
            let r = &n.referrer;
            out.push_str(&format!(
                "{indent}{} {} {} {}{}\n",
                if last { "└──" } else { "├──" },
                clean(&r.kind.label()),
                digest::short(&r.digest),
                human(r.size),
                r.annotations
                    .get("org.opencontainers.image.created")
                    .map(|c| format!(" {}", clean(c)))
                    .unwrap_or_default()
            ));
            let next = format!("{indent}{}", if last { "    " } else { "│   " });
            draw(out, &n.referrers, &next);
        }
    }
    draw(&mut out, &tree, "");
    if tree.is_empty() {
        out.push_str("(nothing refers to it)\n");
    }
    emit(&out);
    Ok(0)
}

/// What `regtui files` does.
pub struct FilesArgs<'a> {
    pub reference: &'a str,
    /// One layer only: its index (0 = base) or digest.
    pub layer: Option<&'a str>,
    pub platform: Option<&'a str>,
    /// Write this file's content to stdout.
    pub cat: Option<&'a str>,
    /// `--cat` onto a terminal anyway.
    pub force: bool,
    pub json: bool,
}

/// `regtui files REF [--layer N|DIGEST] [--platform P] [--cat PATH [--force]] [--json]`.
pub async fn files_cmd(cli: &Cli, a: FilesArgs<'_>) -> Result<i32> {
    let r = Reference::parse(a.reference)?;
    let s = cli.session(r.registry.as_deref())?;
    let b = s.backend.as_ref();
    let repo = r.repository.as_str();
    let m = image_of(b, repo, r.target(), a.platform).await?;
    let ManifestKind::Image { layers, .. } = &m.kind else {
        return Err(Error::Unsupported("nested indexes are not listed".into()));
    };
    let chosen: Vec<(usize, &Desc)> = match a.layer {
        None => layers.iter().enumerate().collect(),
        Some(l) => {
            let i = match l.parse::<usize>() {
                Ok(i) if i < layers.len() => i,
                _ => layers
                    .iter()
                    .position(|d| d.digest == l || digest::short(&d.digest) == l)
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "no layer {l}: give 0 to {} or a layer digest",
                            layers.len().saturating_sub(1)
                        ))
                    })?,
            };
            vec![(i, &layers[i])]
        }
    };
    let progress = |i: usize, d: &Desc| {
        if !a.json && std::io::stderr().is_terminal() {
            eprintln!("layer {i} {} ({})", digest::short(&d.digest), human(d.size));
        }
    };
    let mut per_layer = Vec::new();
    for (i, d) in &chosen {
        progress(*i, d);
        per_layer.push(files::layer_entries(b, repo, d, *i, &mut |_| {}).await?);
    }
    let entries: Vec<Entry> = if a.layer.is_some() {
        per_layer.into_iter().flatten().collect()
    } else {
        files::merge(per_layer)
    };
    if let Some(path) = a.cat {
        if std::io::stdout().is_terminal() && !a.force {
            return Err(Error::Config(
                "refusing to write a file's bytes onto the terminal; redirect stdout, or add --force"
                    .into(),
            ));
        }
        let want = path.trim_start_matches("./").trim_start_matches('/');
        let e = entries
            .iter()
            .find(|e| e.path == want)
            .ok_or_else(|| Error::NotFound {
                what: format!("{want} in {}", r),
                errors: vec![],
            })?;
        let blob = layers[e.layer].clone();
        files::cat(b, repo, &blob, want, Box::new(std::io::stdout())).await?;
        return Ok(0);
    }
    if a.json {
        emit(&json(&entries));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                format!("{:o}", e.mode & 0o7777),
                format!("{:?}", e.kind).to_lowercase(),
                e.size.to_string(),
                e.layer.to_string(),
                match &e.link {
                    Some(l) => format!("{} -> {l}", e.path),
                    None => e.path.clone(),
                },
            ]
        })
        .collect();
    emit(&table(&["MODE", "TYPE", "SIZE", "LAYER", "PATH"], &rows));
    Ok(0)
}

/// The flags of `regtui copy`.
pub struct CopyFlags<'a> {
    pub platform: Option<&'a str>,
    /// `--referrers`: signatures, SBOMs and attestations too.
    pub referrers: bool,
    pub json: bool,
}

/// `regtui copy SRC DST [--platform P] [--referrers] [--json]`: each reference's host picks its
/// profile.
pub async fn copy_cmd(cli: &Cli, src: &str, dst: &str, flags: CopyFlags<'_>) -> Result<i32> {
    let CopyFlags {
        platform,
        referrers,
        json: as_json,
    } = flags;
    let (from, to) = (Reference::parse(src)?, Reference::parse(dst)?);
    if to.digest.is_some() {
        return Err(Error::Config(
            "the destination takes a tag (repo:tag), not a digest".into(),
        ));
    }
    let s1 = cli.session(from.registry.as_deref())?;
    let s2 = cli.session(to.registry.as_deref())?;
    let same =
        s1.backend.info().host == s2.backend.info().host && !s1.backend.info().host.is_empty();
    let opts = CopyOptions {
        platform: platform.map(str::to_string),
        same_registry: same,
        concurrency: 4,
    };
    let quiet = as_json || !std::io::stderr().is_terminal();
    let progress = move |done: usize, total: usize, bytes: u64| {
        if !quiet {
            eprint!("\rblobs {done}/{total}, {} copied ", human(bytes));
        }
    };
    let (src_end, dst_end) = (
        End {
            backend: s1.backend.as_ref(),
            repo: &from.repository,
            reference: from.target(),
        },
        End {
            backend: s2.backend.as_ref(),
            repo: &to.repository,
            reference: to.target(),
        },
    );
    let mut report = copy::copy(src_end, dst_end, &opts, &progress).await?;
    if referrers {
        // After the subject, so a registry with the referrers API indexes them against it.
        let (n, warnings) = copy::copy_referrers(src_end, dst_end, &report.digest, &opts).await?;
        report.referrers = n;
        report.warnings = warnings;
    }
    for w in &report.warnings {
        eprintln!("warning: {}", crate::sanitize::clean(w));
    }
    if !quiet {
        eprintln!();
    }
    if as_json {
        emit(&json(&report));
    } else {
        emit(&format!(
            "copied {} to {} ({}): {} blob(s) copied ({}), {} mounted, {} already there; {} manifest(s)\n",
            clean(src),
            clean(dst),
            report.digest,
            report.blobs_copied,
            human(report.bytes_copied),
            report.blobs_mounted,
            report.blobs_present,
            report.manifests
        ));
        if referrers {
            emit(&format!("{} referrer(s) copied\n", report.referrers));
        }
    }
    Ok(0)
}

/// `regtui tag REF NEW_TAG…`: pushes the manifest under more tags.
pub async fn tag_cmd(cli: &Cli, reference: &str, tags: &[String]) -> Result<i32> {
    let r = Reference::parse(reference)?;
    let s = cli.session(r.registry.as_deref())?;
    let d = copy::tag(s.backend.as_ref(), &r.repository, r.target(), tags).await?;
    emit(&format!(
        "{} now also tagged {} ({d})\n",
        clean(&r.repository),
        clean(&tags.join(", "))
    ));
    Ok(0)
}
