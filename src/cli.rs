//! The command line: global options, profile selection, and the non-interactive subcommands.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::fmt::GC_REMINDER;
use crate::registry::model::{TagDeleteMethod, TagRow};
use crate::registry::prune::{self as pr, Outcome, Plan, Rules};
use crate::registry::reference::Reference;
use crate::registry::{Backend, Error, Result, digest, ops};
use crate::sanitize::clean;
use crate::session::{self, Selection, Session};

/// Browse and manage container registries.
#[derive(Debug, Parser)]
#[command(name = "regtui", version, about, long_about = None)]
pub struct Cli {
    /// Config file (default: ~/.config/regtui/config.toml; also $REGTUI_CONFIG).
    #[arg(short = 'c', long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Profile to use (default: default_profile of the config).
    #[arg(short = 'p', long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Use this registry ad hoc (e.g. http://127.0.0.1:5000), with docker's credentials.
    #[arg(long, global = true, value_name = "URL", conflicts_with = "profile")]
    pub registry: Option<String>,
    /// Browse the bundled demo images (no server needed).
    #[arg(long, global = true, conflicts_with_all = ["profile", "registry"])]
    pub demo: bool,
    /// Write a log to this file (also $REGTUI_LOG); secrets are never logged.
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Log every request, token fetch and TLS decision to stderr (commands only, not the TUI).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Answer from the persistent cache only, never the network (`tags`, `inspect`, `repos`);
    /// says how old the data is.
    #[arg(long, global = true)]
    pub offline: bool,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List repositories.
    Repos {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the tags of a repository.
    Tags {
        /// Repository: `team/app`, or `host[:port]/team/app` to use that registry's profile.
        repo: String,
        /// Also show digest, size, created date and platforms of each tag.
        #[arg(short, long)]
        long: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a manifest, its config and layers (REF: repo:tag, repo@digest, host/repo:tag).
    Inspect {
        /// Image reference: `repo:tag`, `repo@sha256:…`, or with a host (`host/repo:tag`).
        reference: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete: repo:tag removes that tag only; repo@digest deletes the manifest and all its tags.
    Rm {
        /// `repo:tag` (that tag only) or `repo@sha256:…` (the manifest and all its tags); a
        /// host in front (`host/repo:tag`) must match the profile.
        reference: String,
        /// Show what would be deleted, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Delete a manifest even though tagged indexes list it (they break); without it, such a
        /// delete asks a second time on a terminal and is refused elsewhere.
        #[arg(long)]
        break_index: bool,
        /// With `repo@digest`: delete what refers to the manifest too (signatures, SBOMs,
        /// attestations, their cosign tags and the fallback index `sha256-<hex>`).
        #[arg(long)]
        with_referrers: bool,
    },
    /// Delete stale tags by rules, after a preview of what goes and the bytes freed.
    ///
    /// REPO may be a glob over the catalog (`team/*`). Protected tags of the profile are never
    /// touched; a manifest that a kept tag still uses is only untagged.
    Prune {
        /// Repositories (globs allowed: `team/*`).
        #[arg(required = true, value_name = "REPO")]
        repos: Vec<String>,
        /// Keep the newest N tags (by pushed date where the provider has it, else created).
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Only tags older than this (90d, 12w, 6m, 1y, 36h).
        #[arg(long, value_name = "DUR")]
        older_than: Option<String>,
        /// Only tags not pulled within DUR (never pulled counts); needs a registry that records
        /// pulls (Harbor, Docker Hub, ECR).
        #[arg(long, value_name = "DUR")]
        unpulled_for: Option<String>,
        /// Only tags whose name matches this regular expression.
        #[arg(long = "match", value_name = "RE", allow_hyphen_values = true)]
        include: Option<String>,
        /// Never tags whose name matches this regular expression.
        #[arg(long, value_name = "RE", allow_hyphen_values = true)]
        exclude: Option<String>,
        /// Show the preview only.
        #[arg(long, conflicts_with = "yes")]
        dry_run: bool,
        /// Delete without asking.
        #[arg(short, long)]
        yes: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search Docker Hub as `docker search` does (official images have no namespace; they are
    /// pulled as `library/NAME`).
    Search {
        /// What to look for.
        term: String,
        /// Results at most (the index sends up to 100 per page; more are fetched in pages).
        #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..))]
        limit: u16,
        /// Print JSON: `[{name, description, stars, official}]`.
        #[arg(long)]
        json: bool,
    },
    /// List profiles and where the config came from.
    Profiles {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print an example config file with every key explained (`regtui example-config >
    /// ~/.config/regtui/config.toml`).
    ExampleConfig,
    /// What refers to an image: signatures, SBOMs, attestations (API, fallback tag, cosign tags).
    Referrers {
        /// The image (repo:tag, repo@digest, host/repo:tag).
        reference: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The files in an image's layers (merged with whiteouts, or one layer), or one file's bytes.
    Files {
        /// The image (repo:tag, repo@digest, host/repo:tag).
        reference: String,
        /// Only this layer: its index (0 = the base) or digest.
        #[arg(long, value_name = "N|DIGEST")]
        layer: Option<String>,
        /// The platform of an index to list (os/arch[/variant]; default linux/amd64).
        #[arg(long, value_name = "OS/ARCH")]
        platform: Option<String>,
        /// Write this file's content to stdout.
        #[arg(long, value_name = "PATH")]
        cat: Option<String>,
        /// With --cat: write even onto a terminal.
        #[arg(long)]
        force: bool,
        /// Print JSON: [{path, size, mode, type, link, layer}].
        #[arg(long)]
        json: bool,
    },
    /// Copy an image or index between registries (digests kept; blobs only where missing).
    Copy {
        /// Source (host/repo:tag; the host picks the profile).
        src: String,
        /// Destination (host/repo:tag).
        dst: String,
        /// Only this platform of an index (os/arch[/variant]).
        #[arg(long, value_name = "OS/ARCH")]
        platform: Option<String>,
        /// Copy what refers to the image too (signatures, SBOMs, attestations; the fallback
        /// tag index is updated at the destination).
        #[arg(long)]
        referrers: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add tags to an image (the manifest is pushed again; no blob moves).
    Tag {
        /// The image (repo:tag or repo@digest).
        reference: String,
        /// The new tags.
        #[arg(required = true, value_name = "NEW_TAG")]
        tags: Vec<String>,
    },
    /// Disk usage per repository: tags, manifests, distinct bytes, bytes only it uses, and the
    /// registry's total (each blob counted once).
    Du {
        /// Repositories (globs allowed: `team/*`); none: every repository of the catalog.
        #[arg(value_name = "REPO")]
        repos: Vec<String>,
        /// Print JSON: {repos: [{repo, tags, manifests, bytes, own_bytes}], total_bytes, …}.
        #[arg(long)]
        json: bool,
    },
    /// The persistent cache: `stats` (where, how big, what it holds) or `clear`.
    Cache {
        #[command(subcommand)]
        action: CacheCmd,
    },
}

/// What `regtui cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheCmd {
    /// Where the cache is, its size and bound, and what it holds.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete everything in the cache.
    Clear,
}

/// `config.toml.example`, built in so an installed binary can print it.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.toml.example");

/// Writes to stdout, ignoring a closed pipe.
pub(crate) fn emit(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Tag rows as JSON with `protected: true` and `protected_reason` on each tag that neither `d`
/// nor `prune` touches: the profile's `protected_tags`, or the service's own lock.
fn protected_rows(rows: &[TagRow], protected: &pr::Protected, profile: &str) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
            let reason = if protected.covers(&r.tag) {
                Some(format!("protected_tags of profile {profile}"))
            } else {
                r.locked
                    .as_ref()
                    .map(|l| format!("locked by the registry: {l}"))
            };
            if let (Some(reason), Some(o)) = (reason, v.as_object_mut()) {
                o.insert("protected".into(), true.into());
                o.insert("protected_reason".into(), reason.into());
            }
            v
        })
        .collect()
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    // Escape what serde_json leaves raw but a terminal acts on (C1, bidi, separators).
    crate::sanitize::inert_json(serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into()))
        + "\n"
}

/// Formats rows as aligned columns; every cell passes through the sanitizer.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            out.push_str(c);
            if i + 1 < n {
                let pad = widths[i] - c.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

use crate::fmt::human_size as human;

/// A created date for the table, to the minute, with its own offset (rows from several time zones
/// stay comparable).
fn short_time(t: Option<&str>) -> String {
    t.map(crate::fmt::timestamp).unwrap_or_else(|| "-".into())
}

impl Cli {
    /// What the options chose, for [`session`].
    pub fn selection(&self) -> Selection {
        Selection {
            config: self.config.clone(),
            profile: self.profile.clone(),
            registry: self.registry.clone(),
            demo: self.demo,
            offline: self.offline,
        }
    }

    fn load_config(&self) -> Result<Config> {
        let cfg = config::load(self.config.as_deref())?;
        for w in &cfg.warnings {
            eprintln!("warning: {w}");
        }
        Ok(cfg)
    }

    /// Picks and connects the backend ([`session::open`]) and prints its warnings to stderr.
    ///
    /// A reference that names a registry host decides: it selects that host's profile, and when
    /// `--registry` or `-p` names a different registry the command is refused, naming both, so
    /// nothing ever acts on a registry the user did not name.
    pub fn session(&self, reference_host: Option<&str>) -> Result<Session> {
        let s = session::open(&self.selection(), reference_host)?;
        for w in &s.warnings {
            eprintln!("warning: {}", clean(w));
        }
        Ok(s)
    }

    /// The session for repository arguments that may name a host (`host/team/app`, globs too):
    /// the host decides as in [`Cli::session`]; every argument must name the same one (or none).
    /// Returns the session and the arguments without the host.
    pub fn session_for_repos(&self, args: &[String]) -> Result<(Session, Vec<String>)> {
        use crate::registry::reference::{RegistryAddr, split_host};
        let split: Vec<(Option<&str>, &str)> = args.iter().map(|a| split_host(a)).collect();
        let mut hosts: Vec<String> = Vec::new();
        for (h, _) in &split {
            let h = h
                .map(|h| RegistryAddr::parse(h).map(|a| a.host))
                .transpose()?;
            if let Some(h) = h.filter(|h| !hosts.contains(h)) {
                hosts.push(h);
            }
        }
        let named = split.iter().filter(|(h, _)| h.is_some()).count();
        if hosts.len() > 1 || (named > 0 && named < split.len()) {
            return Err(Error::Config(format!(
                "the repositories name different registries ({}); give them all with the same \
                 host, or none",
                clean(&args.join(", "))
            )));
        }
        let repos = split.iter().map(|(_, r)| r.to_string()).collect();
        Ok((self.session(hosts.first().map(String::as_str))?, repos))
    }
}

/// Runs the parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let tui = cli.command.is_none() && std::io::stdout().is_terminal();
    let setup = crate::log::Setup {
        file: cli
            .log_file
            .clone()
            .or_else(|| std::env::var_os("REGTUI_LOG").map(Into::into)),
        verbose: cli.verbose && !tui,
        notices: !tui,
    };
    if let Err(e) = crate::log::init(&setup) {
        eprintln!("error: {e}");
        return 1;
    }
    match dispatch(&cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

async fn dispatch(cli: &Cli) -> Result<i32> {
    match &cli.command {
        None if std::io::stdout().is_terminal() => crate::tui::run(&cli.selection()).await,
        None => overview(cli).await,
        Some(Cmd::Profiles { json: as_json }) => profiles(cli, *as_json),
        Some(Cmd::Search {
            term,
            limit,
            json: as_json,
        }) => search(cli, term, usize::from(*limit), *as_json).await,
        Some(Cmd::ExampleConfig) => {
            emit(EXAMPLE_CONFIG);
            Ok(0)
        }
        Some(Cmd::Referrers {
            reference,
            json: as_json,
        }) => crate::cli_content::referrers_cmd(cli, reference, *as_json).await,
        Some(Cmd::Files {
            reference,
            layer,
            platform,
            cat,
            force,
            json: as_json,
        }) => {
            let a = crate::cli_content::FilesArgs {
                reference,
                layer: layer.as_deref(),
                platform: platform.as_deref(),
                cat: cat.as_deref(),
                force: *force,
                json: *as_json,
            };
            crate::cli_content::files_cmd(cli, a).await
        }
        Some(Cmd::Copy {
            src,
            dst,
            platform,
            referrers,
            json: as_json,
        }) => {
            let opts = crate::cli_content::CopyFlags {
                platform: platform.as_deref(),
                referrers: *referrers,
                json: *as_json,
            };
            crate::cli_content::copy_cmd(cli, src, dst, opts).await
        }
        Some(Cmd::Tag { reference, tags }) => {
            crate::cli_content::tag_cmd(cli, reference, tags).await
        }
        Some(Cmd::Cache { action }) => cache_cmd(cli, action),
        Some(Cmd::Repos { json: as_json }) => {
            let s = cli.session(None)?;
            let repos = ops::all_repos(s.backend.as_ref()).await?;
            remember_repos(&s, &repos);
            if *as_json {
                emit(&json(&repos));
            } else {
                let mut out = String::new();
                for r in &repos {
                    out.push_str(&clean(r));
                    out.push('\n');
                }
                emit(&out);
            }
            Ok(0)
        }
        Some(Cmd::Tags {
            repo,
            long,
            json: as_json,
        }) => tags(cli, repo, *long, *as_json).await,
        Some(Cmd::Inspect {
            reference,
            json: as_json,
        }) => inspect(cli, reference, *as_json).await,
        Some(Cmd::Rm {
            reference,
            dry_run,
            yes,
            json: as_json,
            break_index,
            with_referrers,
        }) => {
            let opts = RmOptions {
                dry_run: *dry_run,
                yes: *yes,
                json: *as_json,
                break_index: *break_index,
                with_referrers: *with_referrers,
            };
            rm(cli, reference, opts).await
        }
        Some(Cmd::Prune {
            repos,
            keep,
            older_than,
            unpulled_for,
            include,
            exclude,
            dry_run,
            yes,
            json: as_json,
        }) => {
            let mut rules = Rules::parse(
                *keep,
                older_than.as_deref(),
                include.as_deref(),
                exclude.as_deref(),
            )
            .map_err(Error::Config)?;
            rules.unpulled_for = unpulled_for
                .as_deref()
                .map(pr::parse_duration)
                .transpose()
                .map_err(|e| Error::Config(format!("--unpulled-for {e}")))?;
            if rules.is_empty() {
                return Err(Error::Config(
                    "give at least one rule: --keep N, --older-than DUR, --unpulled-for DUR, \
                     --match RE or --exclude RE"
                        .into(),
                ));
            }
            prune(cli, repos, &rules, *dry_run, *yes, *as_json).await
        }
        Some(Cmd::Du {
            repos,
            json: as_json,
        }) => du(cli, repos, *as_json).await,
    }
}

async fn overview(cli: &Cli) -> Result<i32> {
    let s = cli.session(None)?;
    let info = s.backend.info();
    let repos = ops::all_repos(s.backend.as_ref()).await?;
    let mut out = format!(
        "profile {} · {} · {}\n{} repositories:\n",
        s.profile,
        clean(&info.registry),
        info.auth,
        repos.len()
    );
    for r in &repos {
        out.push_str("  ");
        out.push_str(&clean(r));
        out.push('\n');
    }
    out.push_str(
        "\n(standard output is not a terminal: run regtui in a terminal for the interactive UI)\n",
    );
    emit(&out);
    Ok(0)
}

fn profiles(cli: &Cli, as_json: bool) -> Result<i32> {
    let cfg = cli.load_config()?;
    if as_json {
        let list: Vec<_> = cfg
            .profiles
            .iter()
            .map(|(n, p)| {
                serde_json::json!({
                    "name": n,
                    "kind": p.kind.kind(),
                    "registry": p.registry,
                    "username": p.username,
                    "default": cfg.default_profile.as_deref() == Some(n),
                })
            })
            .collect();
        emit(&json(&serde_json::json!({
            "config": cfg.source.to_string(),
            "profiles": list,
        })));
    } else {
        let rows: Vec<Vec<String>> = cfg
            .profiles
            .iter()
            .map(|(n, p)| {
                vec![
                    if cfg.default_profile.as_deref() == Some(n) {
                        format!("{n} *")
                    } else {
                        n.clone()
                    },
                    p.kind.kind().name().to_string(),
                    p.registry.clone().unwrap_or_default(),
                    p.username.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        let mut out = format!("config: {}\n", cfg.source);
        if !rows.is_empty() {
            out.push_str(&table(&["PROFILE", "KIND", "REGISTRY", "USER"], &rows));
        }
        emit(&out);
    }
    Ok(0)
}

async fn tags(cli: &Cli, repo: &str, long: bool, as_json: bool) -> Result<i32> {
    let (s, repos) = cli.session_for_repos(&[repo.to_string()])?;
    let repo = repos[0].as_str();
    crate::registry::reference::validate_repository(repo)?;
    let b = s.backend.as_ref();
    let names = ops::all_tags(b, repo).await?;
    offline_note(&s, repo, None);
    if !long {
        if as_json {
            emit(&json(&names));
        } else {
            emit(
                &names
                    .iter()
                    .map(|t| format!("{}\n", clean(t)))
                    .collect::<String>(),
            );
        }
        return Ok(0);
    }
    let mut rows: Vec<Option<TagRow>> = vec![None; names.len()];
    let index: std::collections::HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut failed = 0;
    ops::tag_rows(b, repo, &names, s.concurrency, |tag, r| match r {
        Ok(row) => rows[index[tag]] = Some(row),
        Err(e) => {
            failed += 1;
            eprintln!("error: tag {}: {e}", clean(tag));
        }
    })
    .await;
    let rows: Vec<TagRow> = rows.into_iter().flatten().collect();
    if let Some(st) = s.store.as_ref().filter(|_| !s.offline) {
        let key = crate::registry::cache::registry_key(&b.info());
        st.put_tags(&key, repo, crate::registry::cache::now(), &rows);
    }
    if as_json {
        emit(&json(&protected_rows(&rows, &s.protected, &s.profile)));
    } else {
        let mut shared: std::collections::HashMap<&str, usize> = Default::default();
        for r in &rows {
            *shared.entry(r.digest.as_str()).or_default() += 1;
        }
        let pull_dates = b.info().pull_dates;
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                // ⊘ as in the TUI: protected_tags, or the service's own lock.
                let mark = if s.protected.covers(&r.tag) || r.locked.is_some() {
                    " ⊘"
                } else {
                    ""
                };
                let mut row = vec![
                    format!("{}{mark}", r.tag),
                    format!(
                        "{}{}",
                        digest::short(&r.digest),
                        if shared[r.digest.as_str()] > 1 {
                            " ⇆"
                        } else {
                            ""
                        }
                    ),
                    human(r.size),
                    short_time(r.created.as_deref()),
                    r.platforms
                        .iter()
                        .map(|p| p.platform.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ];
                if pull_dates {
                    row.push(match &r.pulled {
                        Some(None) => "never".into(),
                        Some(Some(at)) => short_time(Some(at)),
                        None => "-".into(),
                    });
                }
                row
            })
            .collect();
        let mut headers = vec!["TAG", "DIGEST", "SIZE", "CREATED", "PLATFORMS"];
        if pull_dates {
            headers.push("PULLED");
        }
        emit(&table(&headers, &cells));
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// With `--offline`: says on stderr how old the cached answer is.
fn offline_note(s: &Session, repo: &str, reference: Option<&str>) {
    let Some(st) = s.store.as_ref().filter(|_| s.offline) else {
        return;
    };
    if reference.is_some_and(digest::is_digest) {
        eprintln!("offline: from the cache (content by digest does not change)");
        return;
    }
    let key = crate::registry::cache::registry_key(&s.backend.info());
    if let Some(l) = st.tags(&key, repo) {
        let now = crate::registry::cache::now();
        eprintln!(
            "offline: tags of {} as seen {} ({}), from the cache",
            clean(repo),
            crate::fmt::relative_time(l.seen, now),
            crate::fmt::utc_minute(l.seen)
        );
    }
}

/// Keeps the repository list for `--offline` and the TUI's offline view.
fn remember_repos(s: &Session, repos: &[String]) {
    if let Some(st) = s.store.as_ref().filter(|_| !s.offline) {
        let key = crate::registry::cache::registry_key(&s.backend.info());
        st.put_repos(&key, crate::registry::cache::now(), repos);
    }
}

/// `regtui cache stats|clear`.
fn cache_cmd(cli: &Cli, action: &CacheCmd) -> Result<i32> {
    let mib = config::load(cli.config.as_deref())
        .map(|c| c.cache_max_mib)
        .unwrap_or(crate::registry::cache::DEFAULT_MAX_MIB);
    let dir = crate::registry::cache::Store::default_dir()
        .ok_or_else(|| Error::Config("no cache directory (no home directory)".into()))?;
    let st = crate::registry::cache::Store::new(dir, mib.saturating_mul(1024 * 1024));
    match action {
        CacheCmd::Stats { json: as_json } => {
            let stats = st.stats();
            if *as_json {
                emit(&json(&stats));
            } else {
                emit(&format!(
                    "cache      {}\nsize       {} of {}{}\nmanifests  {}\nconfigs    {}\ntag lists  {}\nrepo lists {}\nreferrers  {}\n",
                    clean(&stats.dir),
                    human(stats.bytes),
                    human(stats.max_bytes),
                    if mib == 0 {
                        " (off: cache_max_mib = 0)"
                    } else {
                        ""
                    },
                    stats.manifests,
                    stats.configs,
                    stats.tag_lists,
                    stats.repo_lists,
                    stats.referrer_lists
                ));
            }
        }
        CacheCmd::Clear => {
            let freed = st
                .clear()
                .map_err(|e| Error::Config(format!("cannot clear {}: {e}", st.dir().display())))?;
            emit(&format!(
                "cleared {} ({})\n",
                clean(&st.dir().display().to_string()),
                human(freed)
            ));
        }
    }
    Ok(0)
}

async fn inspect(cli: &Cli, reference: &str, as_json: bool) -> Result<i32> {
    let r = Reference::parse(reference)?;
    let s = cli.session(r.registry.as_deref())?;
    let mut i = ops::inspect(
        s.backend.as_ref(),
        &r.repository,
        r.target(),
        &r.to_string(),
    )
    .await?;
    offline_note(&s, &r.repository, Some(r.target()));
    if let Some(n) = s.backend.status_note().filter(|_| !s.offline) {
        eprintln!("note: {n}");
    }
    // Signatures, SBOMs and attestations of this manifest; their absence is no failure.
    i.referrers = match crate::registry::referrers::referrers(
        s.backend.as_ref(),
        &r.repository,
        &i.digest,
        None,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("note: could not read what refers to it: {e}");
            Vec::new()
        }
    };
    if as_json {
        emit(&json(&i));
        return Ok(0);
    }
    let mut out = String::new();
    let mut kv = |k: &str, v: &str| out.push_str(&format!("{k:<12} {}\n", clean(v)));
    kv("reference", &i.reference);
    kv("digest", &i.digest);
    kv("media type", &i.media_type);
    kv("size", &format!("{} ({} bytes)", human(i.size), i.size));
    for r in &i.referrers {
        kv(
            "referrer",
            &format!("{} {}", r.kind.label(), digest::short(&r.digest)),
        );
    }
    if let Some(c) = &i.config {
        kv("created", c.created.as_deref().unwrap_or("-"));
        kv("platform", &c.platform());
        if !c.entrypoint.is_empty() {
            kv("entrypoint", &c.entrypoint.join(" "));
        }
        if !c.cmd.is_empty() {
            kv("cmd", &c.cmd.join(" "));
        }
        if let Some(w) = &c.working_dir {
            kv("workdir", w);
        }
        if let Some(u) = &c.user {
            kv("user", u);
        }
        if !c.exposed_ports.is_empty() {
            kv("ports", &c.exposed_ports.join(", "));
        }
        for e in &c.env {
            kv("env", e);
        }
        for (k, v) in &c.labels {
            kv("label", &format!("{k}={v}"));
        }
    }
    if i.platforms.len() > 1 || i.layers.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = i
            .platforms
            .iter()
            .map(|p| vec![p.platform.clone(), p.digest.clone(), human(p.size)])
            .collect();
        out.push_str(&table(&["PLATFORM", "DIGEST", "SIZE"], &rows));
    }
    if !i.layers.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = i
            .layers
            .iter()
            .map(|l| {
                vec![
                    digest::short(&l.digest).to_string(),
                    human(l.size),
                    l.created_by.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(&["LAYER", "SIZE", "CREATED BY"], &rows));
    }
    emit(&out);
    Ok(0)
}

#[derive(serde::Serialize)]
struct RmReport {
    repository: String,
    action: &'static str,
    digest: String,
    removed_tags: Vec<String>,
    kept_tags: Vec<String>,
    /// Tagged indexes that list the manifest (a digest delete breaks them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<String>,
    method: Option<TagDeleteMethod>,
    dry_run: bool,
    note: Option<&'static str>,
    /// Referrer digests deleted with the manifest (`--with-referrers`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    referrers: Vec<String>,
    /// What was left or refused on the way (the delete itself happened).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

impl RmReport {
    /// What the delete will do, as the prompt and the dry run say it.
    fn plan(&self) -> String {
        if self.action == "untag" {
            return format!(
                "remove tag {}:{} ({}); the manifest stays{}",
                self.repository,
                self.removed_tags[0],
                self.digest,
                if self.kept_tags.is_empty() {
                    " (untagged)".to_string()
                } else {
                    format!(" with tags: {}", self.kept_tags.join(", "))
                }
            );
        }
        let mut s = format!(
            "delete manifest {}@{} and its {} tag(s): {}",
            self.repository,
            self.digest,
            self.removed_tags.len(),
            if self.removed_tags.is_empty() {
                "(none)".to_string()
            } else {
                self.removed_tags.join(", ")
            }
        );
        if !self.referrers.is_empty() {
            s.push_str(&format!(
                "; with its {} referrer(s): {}",
                self.referrers.len(),
                self.referrers.join(", ")
            ));
        }
        if !self.indexes.is_empty() {
            s.push_str(&format!(
                "; WARNING: it is a platform of the tagged index(es) {}, which break without it",
                self.indexes.join(", ")
            ));
        }
        s
    }
}

/// Asks `question` on the terminal; true for y/yes.
fn ask(question: &str) -> bool {
    eprint!("{}? [y/N] ", clean(question));
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// The index to search: the selected profile's `index_url` when it is a dockerhub profile.
fn index_url(cli: &Cli) -> Result<String> {
    use crate::registry::providers::{KindKeys, dockerhub};
    let cfg = cli.load_config()?;
    let own = cfg
        .pick(cli.profile.as_deref())
        .and_then(|name| cfg.profiles.get(&name))
        .and_then(|p| match &p.kind {
            KindKeys::Dockerhub(k) => k.index_url.clone(),
            _ => None,
        });
    Ok(own.unwrap_or_else(|| dockerhub::INDEX_URL.to_string()))
}

async fn search(cli: &Cli, term: &str, limit: usize, as_json: bool) -> Result<i32> {
    let url = index_url(cli)?;
    let hits = crate::registry::providers::dockerhub::search(&url, term, limit).await?;
    if as_json {
        emit(&json(&hits));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = hits
        .iter()
        .map(|h| {
            let mut d: String = h.description.chars().take(60).collect();
            if h.description.chars().count() > 60 {
                d.push('…');
            }
            vec![
                h.name.clone(),
                d,
                h.stars.to_string(),
                if h.official { "[OK]" } else { "" }.to_string(),
            ]
        })
        .collect();
    emit(&table(&["NAME", "DESCRIPTION", "STARS", "OFFICIAL"], &rows));
    Ok(0)
}

async fn rm(cli: &Cli, reference: &str, opts: RmOptions) -> Result<i32> {
    let RmOptions {
        dry_run,
        yes,
        json: as_json,
        break_index,
        with_referrers,
    } = opts;
    let r = Reference::parse(reference)?;
    if r.tag.is_some() && r.digest.is_some() {
        return Err(Error::Config(
            "give either repo:tag (remove that tag) or repo@digest (delete the manifest), not both"
                .into(),
        ));
    }
    let s = cli.session(r.registry.as_deref())?;
    let b = s.backend.as_ref();
    let caps = b.info().capabilities;
    let repo = r.repository.as_str();
    let interactive = std::io::stdin().is_terminal();
    let mut report = if let Some(d) = &r.digest {
        if !caps.delete_digest {
            return Err(Error::Unsupported(b.info().why_no_digest_delete()));
        }
        let users = ops::users_of_one(b, repo, d, s.concurrency).await?;
        let referrers = if with_referrers {
            crate::registry::referrers::referrers(b, repo, d, None)
                .await?
                .into_iter()
                .map(|r| r.digest)
                .collect()
        } else {
            vec![]
        };
        RmReport {
            repository: repo.into(),
            action: "delete-manifest",
            digest: d.clone(),
            indexes: users.index_names(),
            removed_tags: users.tags,
            kept_tags: vec![],
            method: None,
            dry_run,
            note: None,
            referrers,
            warnings: vec![],
        }
    } else {
        let tag = r.target().to_string();
        if !caps.delete_tag {
            return Err(Error::Unsupported(b.info().why_no_tag_delete()));
        }
        let d = b.head_manifest(repo, &tag).await?.digest;
        let mut kept = ops::tags_on_digest(b, repo, &d, s.concurrency).await?;
        kept.retain(|t| *t != tag);
        RmReport {
            repository: repo.into(),
            action: "untag",
            digest: d,
            removed_tags: vec![tag],
            kept_tags: kept,
            indexes: vec![],
            method: None,
            dry_run,
            note: None,
            referrers: vec![],
            warnings: vec![],
        }
    };
    // A tag the service locks is refused before asking, quoting its rule.
    let locked_tag = (report.action == "untag").then(|| report.removed_tags[0].as_str());
    ops::refuse_locked(b, repo, locked_tag, &report.digest).await?;
    if dry_run {
        if as_json {
            emit(&json(&report));
        } else {
            emit(&format!("would {}\n", clean(&report.plan())));
        }
        return Ok(0);
    }
    // The index tags the user agreed to break.
    let index_tags = |rep: &RmReport| -> Vec<String> {
        rep.indexes
            .iter()
            .map(|i| i.split(" (index ").next().unwrap_or(i).to_string())
            .collect()
    };
    let confirm = |rep: &RmReport| -> std::result::Result<(), i32> {
        if !yes {
            if !interactive {
                eprintln!(
                    "error: refusing to delete without --yes: standard input is not a terminal\nplan: {}",
                    clean(&rep.plan())
                );
                return Err(2);
            }
            if !ask(&rep.plan()) {
                eprintln!("nothing deleted");
                return Err(1);
            }
        }
        if !rep.indexes.is_empty() && !break_index {
            if !interactive {
                eprintln!(
                    "error: nothing deleted: {} is a platform of the tagged index(es) {}; pass \
                     --break-index as well to delete it anyway",
                    digest::short(&rep.digest),
                    clean(&rep.indexes.join(", "))
                );
                return Err(2);
            }
            if !ask(&format!(
                "really break the index(es) {}",
                rep.indexes.join(", ")
            )) {
                eprintln!("nothing deleted");
                return Err(1);
            }
        }
        Ok(())
    };
    if let Err(code) = confirm(&report) {
        return Ok(code);
    }
    if report.action == "untag" {
        // Refused when the tag moved since the plan was shown.
        report.method =
            Some(ops::untag_checked(b, repo, &report.removed_tags[0], &report.digest).await?);
    } else {
        // Between the prompt and the delete, tags or indexes may have appeared on the manifest:
        // then ask again (a script with --yes is refused).
        let mut tries = 0;
        loop {
            // Only the referrers shown in the plan may go.
            let confirmed = ops::Confirmed {
                tags: report.removed_tags.clone(),
                indexes: index_tags(&report),
                referrers: report.referrers.clone(),
            };
            let done = if with_referrers {
                ops::delete_with_referrers(b, repo, &report.digest, &confirmed, s.concurrency).await
            } else {
                ops::delete_manifest_checked(b, repo, &report.digest, &confirmed, s.concurrency)
                    .await
            };
            match done {
                Ok(d) => {
                    report.removed_tags = d.tags;
                    if with_referrers {
                        report.referrers = d.referrers;
                    }
                    report.warnings = d.warnings;
                    break;
                }
                Err(e @ (Error::NewTags { .. } | Error::UsedByIndex { .. }))
                    if interactive && !yes && tries < 3 =>
                {
                    tries += 1;
                    eprintln!("{e}");
                    let users = ops::users_of_one(b, repo, &report.digest, s.concurrency).await?;
                    report.indexes = users.index_names();
                    report.removed_tags = users.tags;
                    if let Err(code) = confirm(&report) {
                        return Ok(code);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    report.note = Some(GC_REMINDER);
    for w in &report.warnings {
        eprintln!("warning: {}", clean(w));
    }
    if as_json {
        emit(&json(&report));
    } else {
        emit(&format!(
            "done: {}\nnote: {GC_REMINDER}\n",
            clean(&report.plan())
        ));
    }
    Ok(0)
}

/// The flags of `rm`.
struct RmOptions {
    dry_run: bool,
    yes: bool,
    json: bool,
    break_index: bool,
    with_referrers: bool,
}

/// One repository's part of `regtui prune` output.
#[derive(serde::Serialize)]
struct PruneReport {
    #[serde(flatten)]
    plan: Plan,
    dry_run: bool,
    /// What each deletion did (absent in a preview).
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<Vec<Outcome>>,
    /// Bytes freed by what was really deleted (absent in a preview); `bytes_freed` is the
    /// preview's promise.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_deleted: Option<u64>,
}

/// The preview of one plan as text (the same facts the TUI's preview dialog shows).
pub fn preview_text(p: &Plan) -> String {
    let mut out = format!(
        "{}: {} tag(s) go, {} stay; {} manifest(s) deleted, {} tag(s) untagged only\n",
        clean(&p.repo),
        p.untag.len() + p.delete.iter().map(|d| d.tags.len()).sum::<usize>(),
        p.kept.len(),
        p.delete.len(),
        p.untag.len()
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    for d in &p.delete {
        rows.push(vec![
            "delete".into(),
            d.tags.join(", "),
            digest::short(&d.digest).to_string(),
            human(d.size),
        ]);
    }
    for u in &p.untag {
        let why = u.why();
        rows.push(vec![
            "untag".into(),
            u.tag.clone(),
            digest::short(&u.digest).to_string(),
            why,
        ]);
    }
    if !rows.is_empty() {
        out.push_str(&table(&["ACTION", "TAGS", "DIGEST", "SIZE"], &rows));
    }
    for s in &p.skipped {
        out.push_str(&format!("skip {}: {}\n", clean(&s.tag), clean(&s.reason)));
    }
    out.push_str(&format!(
        "{} ({} bytes); {} stays, shared with remaining images\n",
        p.gc.frees_text(p.bytes_freed),
        p.bytes_freed,
        human(p.bytes_shared)
    ));
    let shared = p.gc.shared_text();
    if !shared.is_empty() {
        out.push_str(&clean(&shared));
        out.push('\n');
    }
    if let Some(line) = p.orphans_text() {
        out.push_str(&clean(&line));
        out.push('\n');
    }
    out
}

/// Repositories named by `patterns`; globs are matched against the catalog.
async fn expand_repos(b: &dyn Backend, patterns: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut catalog: Option<Vec<String>> = None;
    for p in patterns {
        if p.contains(['*', '?']) {
            if catalog.is_none() {
                catalog = Some(ops::all_repos(b).await?);
            }
            let hits: Vec<String> = catalog
                .iter()
                .flatten()
                .filter(|r| pr::glob_match(p, r))
                .cloned()
                .collect();
            if hits.is_empty() {
                return Err(Error::Config(format!("no repository matches {}", clean(p))));
            }
            out.extend(hits);
        } else {
            crate::registry::reference::validate_repository(p)?;
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

async fn prune(
    cli: &Cli,
    patterns: &[String],
    rules: &Rules,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> Result<i32> {
    let (s, patterns) = cli.session_for_repos(patterns)?;
    let b = s.backend.as_ref();
    let info = b.info();
    let caps = info.capabilities;
    if rules.unpulled_for.is_some() && !info.pull_dates {
        return Err(Error::Config(format!(
            "--unpulled-for needs pull dates, and {} ({}) does not record when tags are pulled \
             (Harbor, Docker Hub and ECR do)",
            clean(&info.registry),
            info.kind
        )));
    }
    if !caps.delete_tag && !caps.delete_digest && !dry_run {
        return Err(Error::Unsupported(format!(
            "{} cannot delete (read-only); use --dry-run to preview",
            info.registry
        )));
    }
    let now = crate::registry::model::now_unix();
    let mut plans = Vec::new();
    for repo in expand_repos(b, &patterns).await? {
        let survey = pr::survey(b, &repo, s.concurrency).await?;
        let marked = rules.select_rows(&survey.rows, &s.protected, now);
        let mut plan = pr::plan(&survey, &marked, &s.protected, caps);
        // Other repositories may hold the same blobs (distribution's GC is registry-wide).
        let opts = crate::registry::usage::CheckOptions {
            concurrency: s.concurrency,
            ..Default::default()
        };
        crate::registry::usage::registry_wide(b, &mut plan, opts).await;
        plans.push(plan);
    }
    let total: usize = plans.iter().map(Plan::len).sum();
    let preview: String = plans
        .iter()
        .map(preview_text)
        .collect::<Vec<_>>()
        .join("\n");
    let report = |plans: Vec<Plan>, results: Option<Vec<Vec<Outcome>>>| -> Vec<PruneReport> {
        let mut results = results.map(|r| r.into_iter());
        plans
            .into_iter()
            .map(|plan| {
                let results = results.as_mut().and_then(|r| r.next());
                PruneReport {
                    bytes_deleted: results.as_ref().map(|r| plan.bytes_deleted(r)),
                    plan,
                    dry_run: results.is_none(),
                    results,
                }
            })
            .collect()
    };
    let preview_only = dry_run || total == 0 || (!yes && !std::io::stdin().is_terminal());
    if preview_only {
        if as_json {
            emit(&json(&report(plans, None)));
        } else {
            emit(&preview);
            if total == 0 {
                emit("nothing to delete\n");
            }
        }
        if !dry_run && total > 0 {
            eprintln!(
                "error: nothing deleted: standard input is not a terminal; pass --yes to delete, --dry-run to preview"
            );
            return Ok(2);
        }
        return Ok(0);
    }
    if !yes {
        eprint!("{preview}delete {total} item(s)? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing deleted");
            return Ok(1);
        }
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for p in &plans {
        let results = pr::execute(b, p, caps, s.concurrency.min(8), |done, total, o| {
            if !as_json {
                let line = match o {
                    Outcome::Untagged { tag, .. } => format!("untagged {tag}"),
                    Outcome::Deleted { digest: d, tags } => {
                        format!("deleted {} ({})", digest::short(d), tags.join(", "))
                    }
                    Outcome::Skipped { what, reason } => format!("skipped {what}: {reason}"),
                    Outcome::Failed { what, error } => format!("FAILED {what}: {error}"),
                    Outcome::Unknown { what, error } => format!("UNKNOWN {what}: {error}"),
                };
                eprintln!("[{done}/{total}] {}: {}", clean(&p.repo), clean(&line));
            }
        })
        .await;
        failures += results.iter().filter(|o| !o.ok()).count();
        all.push(results);
    }
    if as_json {
        emit(&json(&report(plans, Some(all))));
    } else {
        // What was really deleted, not the preview's figure: skipped and failed items keep theirs.
        let freed = crate::registry::model::sum_sizes(
            plans.iter().zip(&all).map(|(p, r)| p.bytes_deleted(r)),
        );
        let done: usize = all.iter().flatten().filter(|o| o.ok()).count();
        emit(&format!(
            "done: {done} of {total} deletion(s); {failures} skipped or failed; {} to be freed\n",
            human(freed)
        ));
        if info.needs_gc {
            emit(&format!("note: {}\n", crate::fmt::GC_AFTER_PRUNE));
        }
    }
    Ok(if failures > 0 { 1 } else { 0 })
}

/// `regtui du`: sizes of the named repositories (all of the catalog when none is named).
async fn du(cli: &Cli, patterns: &[String], as_json: bool) -> Result<i32> {
    use crate::registry::usage;
    let (s, patterns) = cli.session_for_repos(patterns)?;
    let b = s.backend.as_ref();
    let whole = patterns.is_empty();
    let repos = if whole {
        ops::all_repos(b).await?
    } else {
        expand_repos(b, &patterns).await?
    };
    let opts = usage::CheckOptions {
        concurrency: s.concurrency,
        ..Default::default()
    };
    let d = usage::du(b, &repos, whole, s.concurrency, opts).await;
    let failed = d.repos.iter().filter(|r| r.error.is_some()).count();
    if as_json {
        emit(&json(&d));
    } else {
        let rows: Vec<Vec<String>> = d
            .repos
            .iter()
            .map(|r| match &r.error {
                Some(e) => vec![
                    r.repo.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    e.clone(),
                ],
                None => vec![
                    r.repo.clone(),
                    r.tags.to_string(),
                    r.manifests.to_string(),
                    human(r.bytes),
                    human(r.own_bytes),
                ],
            })
            .collect();
        emit(&table(
            &["REPOSITORY", "TAGS", "MANIFESTS", "SIZE", "OWN"],
            &rows,
        ));
        emit(&format!(
            "total {} ({} bytes) across {}, each blob once; {}\n",
            human(d.total_bytes),
            d.total_bytes,
            if d.repos.len() == 1 {
                "1 repository".to_string()
            } else {
                format!("{} repositories", d.repos.len())
            },
            clean(&d.note)
        ));
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
