//! `config.toml`: profiles for many registries, where the file lives, and turning a profile into a backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::registry::auth::Secret;
use crate::registry::credentials::{self, ProfileSecrets};
use crate::registry::distribution::{Distribution, DistributionOptions};
use crate::registry::reference::{RegistryAddr, validate_repository};
use crate::registry::{Backend, Error, Result};

/// Environment variable that overrides the config file location.
pub const CONFIG_ENV: &str = "REGTUI_CONFIG";
/// Default for a profile's `concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// The kind of registry a profile talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any OCI distribution v2 registry.
    #[default]
    Distribution,
    /// AWS ECR (provider API; not available yet).
    Ecr,
    /// GitHub Container Registry (provider API; not available yet).
    Ghcr,
    /// Docker Hub (provider API; not available yet).
    Dockerhub,
}

/// Requests in flight per profile, 1 to 256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency(pub usize);

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if (1..=256).contains(&n) {
            Ok(Concurrency(n as usize))
        } else {
            Err(serde::de::Error::custom(format!(
                "concurrency must be between 1 and 256, not {n}"
            )))
        }
    }
}

/// One login profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `host[:port]`, optionally with `http://` or `https://` (the default).
    pub registry: Option<String>,
    #[serde(default)]
    pub kind: Kind,
    pub username: Option<String>,
    /// Environment variable holding the password or token.
    pub password_env: Option<String>,
    /// Shell command printing the password or token.
    pub password_command: Option<String>,
    /// Plain-text password (discouraged; warned about when the file is readable by others).
    pub password: Option<String>,
    /// PEM file of the CA that signed the registry's certificate (relative to the config file).
    pub ca_cert: Option<PathBuf>,
    /// Skip TLS verification.
    #[serde(default)]
    pub insecure: bool,
    /// Repositories to show when the catalog is closed.
    #[serde(default)]
    pub repositories: Vec<String>,
    pub concurrency: Option<Concurrency>,
    /// Tag globs cleanup never touches (`["latest", "stable", "v*"]`).
    #[serde(default)]
    pub protected_tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_profile: Option<String>,
    #[serde(default)]
    clipboard: crate::clipboard::Mode,
    #[serde(default)]
    profiles: BTreeMap<String, toml::Spanned<Profile>>,
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--config PATH`.
    Flag(PathBuf),
    /// `$REGTUI_CONFIG`.
    Env(PathBuf),
    /// The per-user default location.
    Default(PathBuf),
    /// No file: the default location does not exist.
    None(Option<PathBuf>),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(p) => write!(f, "{} (from --config)", p.display()),
            Source::Env(p) => write!(f, "{} (from ${CONFIG_ENV})", p.display()),
            Source::Default(p) => write!(f, "{}", p.display()),
            Source::None(Some(p)) => write!(f, "no config file ({} does not exist)", p.display()),
            Source::None(None) => write!(f, "no config file"),
        }
    }
}

/// A loaded configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: Source,
    pub default_profile: Option<String>,
    /// Which clipboards `y` copies to.
    pub clipboard: crate::clipboard::Mode,
    pub profiles: BTreeMap<String, Profile>,
    /// Things to tell the user (e.g. a plain-text password in a world-readable file).
    pub warnings: Vec<String>,
    /// Directory relative paths in the file are resolved against.
    pub base_dir: PathBuf,
}

/// The per-user default location (`~/.config/regtui/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "regtui").map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// The profile to use: the one asked for, else `default_profile`, else the only profile.
    pub fn pick(&self, requested: Option<&str>) -> Option<String> {
        requested
            .map(str::to_string)
            .or_else(|| self.default_profile.clone())
            .or_else(|| {
                (self.profiles.len() == 1)
                    .then(|| self.profiles.keys().next().cloned())
                    .flatten()
            })
    }
}

/// Finds and loads the configuration: `--config`, then `$REGTUI_CONFIG`, then the default location.
pub fn load(flag: Option<&Path>) -> Result<Config> {
    let source = if let Some(p) = flag {
        Source::Flag(p.to_path_buf())
    } else if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        Source::Env(PathBuf::from(p))
    } else {
        match default_path() {
            Some(p) if p.is_file() => Source::Default(p),
            other => Source::None(other),
        }
    };
    let path = match &source {
        Source::Flag(p) | Source::Env(p) | Source::Default(p) => p.clone(),
        Source::None(_) => {
            return Ok(Config {
                source,
                default_profile: None,
                clipboard: Default::default(),
                profiles: BTreeMap::new(),
                warnings: Vec::new(),
                base_dir: PathBuf::from("."),
            });
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Config(format!("cannot read config file {}: {e}", path.display())))?;
    let mut cfg = parse(&text, &path)?;
    cfg.source = source;
    if cfg.profiles.values().any(|p| p.password.is_some()) && readable_by_others(&path) {
        cfg.warnings.push(format!(
            "{} holds a plain-text password and is readable by other users; run `chmod 600 {}` or use password_env / password_command",
            path.display(),
            path.display()
        ));
    }
    Ok(cfg)
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o044 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses and validates config text; errors name the file, line and key.
pub fn parse(text: &str, path: &Path) -> Result<Config> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!(" line {}", line_of(text, s.start)))
            .unwrap_or_default();
        Error::Config(format!(
            "{}:{line}: {}",
            path.display(),
            e.message().trim_end()
        ))
    })?;
    let mut profiles = BTreeMap::new();
    for (name, spanned) in file.profiles {
        let line = line_of(text, spanned.span().start);
        let p = spanned.into_inner();
        let err = |key: &str, msg: String| {
            Error::Config(format!(
                "{}: line {line}: profile {name:?}, key `{key}`: {msg}",
                path.display()
            ))
        };
        match (&p.kind, &p.registry) {
            (Kind::Distribution, None) => {
                return Err(err(
                    "registry",
                    "missing: every distribution profile needs `registry = \"host[:port]\"`".into(),
                ));
            }
            (_, Some(r)) => {
                RegistryAddr::parse(r).map_err(|e| err("registry", e.to_string()))?;
            }
            _ => {}
        }
        let sources = [
            p.password_env.is_some(),
            p.password_command.is_some(),
            p.password.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if sources > 1 {
            return Err(err(
                "password",
                "set only one of password_env, password_command and password".into(),
            ));
        }
        if sources == 1 && p.username.is_none() {
            return Err(err(
                "username",
                "a password source is set but no username".into(),
            ));
        }
        for r in &p.repositories {
            validate_repository(r).map_err(|e| err("repositories", e.to_string()))?;
        }
        profiles.insert(name, p);
    }
    if let Some(d) = &file.default_profile {
        if !profiles.contains_key(d) {
            return Err(Error::Config(format!(
                "{}: key `default_profile`: no profile named {d:?} (profiles: {})",
                path.display(),
                profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(Config {
        source: Source::None(None),
        default_profile: file.default_profile,
        clipboard: file.clipboard,
        profiles,
        warnings: Vec::new(),
        base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
    })
}

impl Profile {
    /// An ad-hoc profile for `--registry URL`, using docker credentials.
    pub fn ad_hoc(registry: &str) -> Result<Self> {
        RegistryAddr::parse(registry)?;
        Ok(Profile {
            registry: Some(registry.to_string()),
            ..Default::default()
        })
    }

    /// The registry address of a distribution profile.
    pub fn addr(&self) -> Result<RegistryAddr> {
        RegistryAddr::parse(self.registry.as_deref().unwrap_or(""))
    }

    /// Requests in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency.map(|c| c.0).unwrap_or(DEFAULT_CONCURRENCY)
    }

    fn secrets(&self) -> ProfileSecrets {
        ProfileSecrets {
            username: self.username.clone(),
            password_env: self.password_env.clone(),
            password_command: self.password_command.clone(),
            password: self.password.clone().map(Secret::new),
        }
    }

    /// Resolves credentials and builds the backend for this profile.
    pub fn connect(&self, base_dir: &Path) -> Result<Arc<dyn Backend>> {
        self.connect_with(base_dir, None)
    }

    /// Builds the backend, with `credential` in place of the configured sources when given (a login).
    pub fn connect_with(
        &self,
        base_dir: &Path,
        credential: Option<crate::registry::auth::Credential>,
    ) -> Result<Arc<dyn Backend>> {
        if self.kind != Kind::Distribution {
            return Err(Error::Unsupported(format!(
                "profiles of kind {:?} are not available in this version; use kind = \"distribution\"",
                self.kind
            )));
        }
        let addr = self.addr()?;
        let credential = match credential {
            Some(c) => c,
            None => credentials::resolve(&self.secrets(), &addr.credential_key())?.credential,
        };
        let mut opts = DistributionOptions::new(addr, credential);
        opts.concurrency = self.concurrency();
        opts.insecure = self.insecure;
        opts.repositories = self.repositories.clone();
        if let Some(ca) = &self.ca_cert {
            let path = if ca.is_absolute() {
                ca.clone()
            } else {
                base_dir.join(ca)
            };
            opts.ca_pem = Some(
                std::fs::read(&path)
                    .map_err(|e| Error::Config(format!("ca_cert {}: {e}", path.display())))?,
            );
        }
        Ok(Arc::new(Distribution::new(opts)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config> {
        parse(text, Path::new("/etc/regtui.toml"))
    }

    #[test]
    fn parses_example_profiles() {
        let c = p(r#"
default_profile = "local"
[profiles.local]
registry = "http://127.0.0.1:5000"
[profiles.lab]
registry = "registry.local:5443"
username = "admin"
password_env = "LAB_PASSWORD"
ca_cert = "certs/domain.crt"
repositories = ["team/app"]
concurrency = 16
"#)
        .unwrap();
        assert_eq!(c.default_profile.as_deref(), Some("local"));
        assert_eq!(c.profiles["lab"].concurrency(), 16);
        assert_eq!(c.profiles["local"].kind, Kind::Distribution);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = p("[profiles.a]\nregistry = \"x\"\nregistyr = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/etc/regtui.toml"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("registyr"), "{e}");

        let e = p("[profiles.a]\nregistry = \"x\"\nconcurrency = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("concurrency"), "{e}");

        let e = p("[profiles.a]\nregistry = \"x\"\n\n[profiles.b]\nusername = \"u\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4") && e.contains("`registry`"), "{e}");

        let e = p("default_profile = \"nope\"\n").unwrap_err().to_string();
        assert!(e.contains("default_profile"), "{e}");

        let e = p("[profiles.a]\nregistry = \"x\"\nkind = \"quay\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("quay"), "{e}");
    }
}
