//! From the command line's choice to backends, one place for the CLI and the TUI: which profiles,
//! which one first, the built-in demo, and every warning the user must see (config file and
//! credentials) handed back rather than printed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{self, Config, Profile};
use crate::registry::auth::Credential;
use crate::registry::cache::{Cached, Store};
use crate::registry::layout::{Files, Layout};
use crate::registry::prune::Protected;
use crate::registry::{Backend, Error, Result};
use crate::sanitize::clean;

/// Name of the built-in demo profile.
pub const DEMO: &str = "demo";

/// The files of the built-in demo (`assets/demo` at build time, see build.rs).
const DEMO_FILES: Files = include!(concat!(env!("OUT_DIR"), "/demo_files.rs"));

/// The built-in demo: small OCI layouts compiled into the binary (no server, no source tree).
/// `$REGTUI_DEMO_DIR` names a directory of OCI layouts to use instead (tests, offline copies).
pub fn demo() -> Result<Layout> {
    match std::env::var_os("REGTUI_DEMO_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Layout::open(PathBuf::from(dir)),
        None => Layout::embedded("built-in demo", DEMO_FILES),
    }
}

/// What the command line chose: `-c`, `-p`, `--registry`, `--demo`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub config: Option<PathBuf>,
    pub profile: Option<String>,
    pub registry: Option<String>,
    pub demo: bool,
    /// `--offline`: answer from the persistent cache only.
    pub offline: bool,
}

/// How a profile's backend is made.
#[derive(Debug, Clone)]
pub enum ProfileSource {
    /// The built-in demo.
    Demo,
    /// An OCI layout directory (or a folder of them).
    Layout(PathBuf),
    /// A configured (or ad-hoc) registry profile.
    Registry {
        profile: Box<Profile>,
        base_dir: PathBuf,
    },
}

/// A profile the TUI can switch to.
#[derive(Debug, Clone)]
pub struct ProfileSpec {
    pub name: String,
    /// Shown in the picker and status bar.
    pub registry: String,
    pub source: ProfileSource,
    pub concurrency: usize,
}

impl ProfileSpec {
    /// The built-in demo profile.
    pub fn demo() -> Self {
        ProfileSpec {
            name: DEMO.into(),
            registry: "built-in demo".into(),
            source: ProfileSource::Demo,
            concurrency: config::DEFAULT_CONCURRENCY,
        }
    }

    /// A configured registry profile.
    pub fn registry(name: &str, profile: Profile, base_dir: &Path) -> Self {
        ProfileSpec {
            name: name.to_string(),
            registry: profile.shown(),
            concurrency: profile.concurrency(),
            source: ProfileSource::Registry {
                profile: Box::new(profile),
                base_dir: base_dir.to_path_buf(),
            },
        }
    }

    /// Builds the backend; `credential` replaces the configured sources (a login). Resolving
    /// credentials may run helpers: call it off the async threads.
    pub fn connect(&self, credential: Option<Credential>) -> Result<Arc<dyn Backend>> {
        match &self.source {
            ProfileSource::Demo => Ok(Arc::new(demo()?)),
            ProfileSource::Layout(dir) => Ok(Arc::new(Layout::open(dir.clone())?)),
            ProfileSource::Registry { profile, base_dir } => profile
                .kind
                .connect(&profile.connect_options(base_dir), credential),
        }
    }

    /// Docker's name for the registry (where a login is saved).
    pub fn credential_key(&self) -> Result<String> {
        match &self.source {
            ProfileSource::Registry { profile, .. } => Ok(profile.addr()?.credential_key()),
            _ => Err(Error::Unsupported("nothing to log in to here".into())),
        }
    }

    /// The profile's `username`, to fill in the login dialog.
    pub fn username(&self) -> Option<String> {
        match &self.source {
            ProfileSource::Registry { profile, .. } => profile.username.clone(),
            _ => None,
        }
    }

    /// The profile's `protected_tags`.
    pub fn protected(&self) -> Protected {
        match &self.source {
            ProfileSource::Registry { profile, .. } => Protected(profile.protected_tags.clone()),
            _ => Protected::default(),
        }
    }
}

/// A connected backend and what the user chose (the CLI's one registry).
pub struct Session {
    pub profile: String,
    pub backend: Arc<dyn Backend>,
    pub concurrency: usize,
    /// The profile's `protected_tags`.
    pub protected: Protected,
    /// What the user must be told: config file and credential warnings.
    pub warnings: Vec<String>,
    /// The persistent cache the backend reads through (none for the demo or when it is off).
    pub store: Option<Arc<Store>>,
    /// Answers come from the cache only (`--offline`).
    pub offline: bool,
}

/// The persistent cache for `max_mib` (none when 0 or `$REGTUI_NO_CACHE` is set).
pub fn store(max_mib: u64) -> Option<Arc<Store>> {
    (max_mib > 0)
        .then(|| Store::open_default(max_mib))
        .flatten()
}

/// `backend` reading through `store` (from it alone when `offline`).
pub fn cached(
    backend: Arc<dyn Backend>,
    store: &Option<Arc<Store>>,
    offline: bool,
) -> Result<Arc<dyn Backend>> {
    match store {
        Some(st) => Ok(Arc::new(Cached::new(backend, st.clone(), offline))),
        None if offline => Err(Error::Config(
            "--offline answers from the cache, which is off (cache_max_mib = 0 or $REGTUI_NO_CACHE)"
                .into(),
        )),
        None => Ok(backend),
    }
}

fn connect(
    name: &str,
    p: &Profile,
    base: &Path,
    mut warnings: Vec<String>,
    (st, offline): (Option<Arc<Store>>, bool),
) -> Result<Session> {
    let backend = cached(
        p.kind.connect(&p.connect_options(base), None)?,
        &st,
        offline,
    )?;
    warnings.extend(backend.info().warning);
    Ok(Session {
        profile: name.to_string(),
        backend,
        concurrency: p.concurrency(),
        protected: Protected(p.protected_tags.clone()),
        warnings,
        store: st,
        offline,
    })
}

fn no_profile(cfg: &Config, name: &str) -> Error {
    Error::Config(format!(
        "no profile named {:?} in {} (profiles: {})",
        clean(name),
        cfg.source,
        cfg.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// Picks and connects the backend: --demo, --registry, -p, default_profile, the only profile.
///
/// A reference that names a registry host decides: it selects that host's profile, and when
/// `--registry` or `-p` names a different registry the command is refused, naming both, so
/// nothing ever acts on a registry the user did not name.
pub fn open(sel: &Selection, reference_host: Option<&str>) -> Result<Session> {
    if sel.demo {
        if let Some(h) = reference_host {
            return Err(Error::Config(format!(
                "the reference names the registry {}, but --demo browses the built-in demo; \
                 drop --demo or the host",
                clean(h)
            )));
        }
        return Ok(Session {
            profile: DEMO.into(),
            backend: Arc::new(demo()?),
            concurrency: config::DEFAULT_CONCURRENCY,
            protected: Protected::default(),
            warnings: Vec::new(),
            store: None,
            offline: false,
        });
    }
    if let Some(r) = &sel.registry {
        let p = Profile::ad_hoc(r)?;
        if let Some(h) = reference_host {
            if p.serves_host(h) != Some(true) {
                return Err(Error::Config(format!(
                    "the reference names the registry {}, but --registry names {}; refusing \
                     to act on a registry you did not name (drop one of them, or make them agree)",
                    clean(h),
                    clean(r)
                )));
            }
        }
        // The cache bound of the config file, when there is a readable one.
        let mib = config::load(sel.config.as_deref())
            .map(|c| c.cache_max_mib)
            .unwrap_or(crate::registry::cache::DEFAULT_MAX_MIB);
        return connect(
            "(ad hoc)",
            &p,
            Path::new("."),
            Vec::new(),
            (store(mib), sel.offline),
        );
    }
    let cfg = config::load(sel.config.as_deref())?;
    let warnings = cfg.warnings.clone();
    let cache = (store(cfg.cache_max_mib), sel.offline);
    if let (Some(host), Some(name)) = (reference_host, &sel.profile) {
        let p = cfg
            .profiles
            .get(name)
            .ok_or_else(|| no_profile(&cfg, name))?;
        if p.serves_host(host) == Some(false) {
            return Err(Error::Config(format!(
                "the reference names the registry {}, but profile {} is {}; refusing to act on \
                 a registry you did not name (drop -p, or the host from the reference)",
                clean(host),
                clean(name),
                clean(&p.shown())
            )));
        }
        return connect(name, p, &cfg.base_dir, warnings, cache);
    }
    let chosen = cfg.pick(sel.profile.as_deref());
    if let Some(host) = reference_host {
        let matches = |p: &Profile| p.serves_host(host) == Some(true);
        if let Some(name) = chosen
            .as_ref()
            .filter(|n| cfg.profiles.get(*n).is_some_and(matches))
        {
            return connect(name, &cfg.profiles[name], &cfg.base_dir, warnings, cache);
        }
        if let Some((name, p)) = cfg.profiles.iter().find(|(_, p)| matches(p)) {
            return connect(name, p, &cfg.base_dir, warnings, cache);
        }
        return connect(
            "(ad hoc)",
            &Profile::ad_hoc(host)?,
            &cfg.base_dir,
            warnings,
            cache,
        );
    }
    let Some(name) = chosen else {
        return Err(Error::Config(format!(
            "no profile selected: pass --registry URL, --demo, or -p NAME; config: {}{}",
            cfg.source,
            if cfg.profiles.is_empty() {
                " (`regtui example-config` prints an example to start from)".to_string()
            } else {
                format!(
                    "; profiles: {}",
                    cfg.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        )));
    };
    let p = cfg
        .profiles
        .get(&name)
        .ok_or_else(|| no_profile(&cfg, &name))?;
    connect(&name, p, &cfg.base_dir, warnings, cache)
}

/// What the TUI starts with.
pub struct Start {
    /// Every profile: the configured ones, `ad-hoc` for `--registry`, and the demo.
    pub specs: Vec<ProfileSpec>,
    /// Which one to show first.
    pub current: usize,
    pub config: Config,
    /// Set when there is no config file and nothing was chosen: the demo is shown, and this
    /// says so and how to add a registry.
    pub first_run: Option<String>,
}

/// The profiles the TUI can switch between, and which one to show first.
pub fn start(sel: &Selection) -> Result<Start> {
    // `--demo` works even with a broken config file: the demo alone, the error as a warning.
    let config = match config::load(sel.config.as_deref()) {
        Ok(c) => c,
        Err(e) if sel.demo => {
            let mut c = Config::empty(config::Source::None(None));
            c.warnings.push(e.to_string());
            c
        }
        Err(e) => return Err(e),
    };
    let mut specs: Vec<ProfileSpec> = config
        .profiles
        .iter()
        .map(|(name, p)| ProfileSpec::registry(name, p.clone(), &config.base_dir))
        .collect();
    let mut current = None;
    if let Some(url) = &sel.registry {
        let p = Profile::ad_hoc(url)?;
        let mut spec = ProfileSpec::registry("ad-hoc", p, Path::new("."));
        spec.registry = url.clone();
        specs.insert(0, spec);
        current = Some(0);
    }
    if !specs.iter().any(|s| s.name == DEMO) {
        specs.push(ProfileSpec::demo());
    }
    let pos = |n: &str| specs.iter().position(|s| s.name == n);
    let mut first_run = None;
    if current.is_none() {
        current = if sel.demo {
            pos(DEMO)
        } else {
            match config.pick(sel.profile.as_deref()) {
                Some(p) => Some(pos(&p).ok_or_else(|| no_profile(&config, &p))?),
                None => {
                    first_run = Some(first_run_text(&config));
                    pos(DEMO)
                }
            }
        };
    }
    Ok(Start {
        specs,
        current: current.unwrap_or(0),
        config,
        first_run,
    })
}

/// What the TUI says when it opens the demo because nothing else was chosen.
fn first_run_text(cfg: &Config) -> String {
    let path = match &cfg.source {
        config::Source::Flag(p) | config::Source::Env(p) | config::Source::Default(p) => {
            p.display().to_string()
        }
        config::Source::None(Some(p)) => p.display().to_string(),
        config::Source::None(None) => "~/.config/regtui/config.toml".to_string(),
    };
    let missing = matches!(cfg.source, config::Source::None(_));
    let why = if missing {
        format!("No registry is configured yet ({path} does not exist).")
    } else if cfg.profiles.is_empty() {
        format!("No registry is configured yet ({path} has no profiles).")
    } else {
        format!(
            "{path} has several profiles and no default_profile ({}).",
            cfg.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    [
        why,
        "This is the built-in demo: read-only images to try the keys on.".to_string(),
        String::new(),
        "To browse your own registry:".to_string(),
        "  regtui --registry http://127.0.0.1:5000    (with docker's credentials)".to_string(),
        match Path::new(&path).parent().filter(|_| missing) {
            Some(dir) => format!(
                "  mkdir -p {} && regtui example-config > {path}",
                dir.display()
            ),
            None => format!("  regtui example-config > {path}"),
        },
        "  then edit its profiles and run regtui (or regtui -p NAME).".to_string(),
        "Here, :profile NAME switches profiles and ? lists every key.".to_string(),
    ]
    .iter()
    .map(|l| clean(l).into_owned())
    .collect::<Vec<_>>()
    .join("\n")
}
