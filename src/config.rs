//! `config.toml`: profiles for many registries, where the file lives, and turning a profile into a backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::registry::auth::Secret;
use crate::registry::credentials::{self, ProfileSecrets};
use crate::registry::distribution::{Distribution, DistributionOptions};
use crate::registry::model::{ConfigSummary, Desc, Manifest, TagDeleteMethod, TagRow};
use crate::registry::reference::{RegistryAddr, validate_repository};
use crate::registry::{Backend, BackendInfo, BoxFut, Error, PageSink, Result};
use crate::sanitize::clean;

/// Environment variable that overrides the config file location.
pub const CONFIG_ENV: &str = "REGTUI_CONFIG";
/// Requests in flight at most when a profile sets no `concurrency` (the adaptive limiter's cap;
/// it starts at 16 and grows while the registry's latency stays flat).
pub const DEFAULT_CONCURRENCY: usize = crate::registry::http::ADAPTIVE_MAX;

/// The kind of registry a profile talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any OCI distribution v2 registry.
    #[default]
    Distribution,
    /// AWS ECR: the ECR API (aws-sdk-ecr) plus v2.
    Ecr,
    /// GitHub Container Registry: the GitHub packages API plus v2.
    Ghcr,
    /// Docker Hub: the Hub API plus v2 on registry-1.docker.io.
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
    /// ECR: AWS region (default: the AWS chain, e.g. AWS_REGION or the profile's region).
    pub region: Option<String>,
    /// ECR: named profile of ~/.aws/config and ~/.aws/credentials.
    pub aws_profile: Option<String>,
    /// ECR: account id of the registry (default: the caller's).
    pub registry_id: Option<String>,
    /// ECR: endpoint of the ECR API (an emulator or a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// GHCR: user or organisation whose packages to list (default: the token's own account).
    pub owner: Option<String>,
    /// GHCR: whether `owner` is a user or an org.
    pub owner_type: Option<OwnerType>,
    /// GHCR: environment variable holding the GitHub token (default GITHUB_TOKEN).
    pub token_env: Option<String>,
    /// GHCR / Docker Hub: base URL of the provider API (GitHub Enterprise, tests).
    pub api_url: Option<String>,
    /// Docker Hub: the namespace (user or organisation) whose repositories to list.
    pub namespace: Option<String>,
}

/// `owner_type` of a GHCR profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerType {
    User,
    Org,
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
        .map_err(|e| config_err(format!("cannot read config file {}: {e}", path.display())))?;
    let mut cfg = parse(&text, &path)?;
    cfg.source = source;
    if cfg.profiles.values().any(|p| p.password.is_some()) && readable_by_others(&path) {
        cfg.warnings.push(clean(&format!(
            "{} holds a plain-text password and is readable by other users; run `chmod 600 {}` or use password_env / password_command",
            path.display(),
            path.display()
        )).into_owned());
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

/// A configuration error: its text quotes the user's file (keys, names, values) and paths, so it
/// is made inert before anyone prints it.
fn config_err(msg: String) -> Error {
    Error::Config(clean(&msg).into_owned())
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
        config_err(format!(
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
            config_err(format!(
                "{}: line {line}: profile {name:?}, key `{key}`: {msg}",
                path.display()
            ))
        };
        let only = |key: &str, set: bool, kinds: &[Kind]| -> Result<()> {
            if set && !kinds.contains(&p.kind) {
                let names: Vec<String> = kinds
                    .iter()
                    .map(|k| format!("{k:?}").to_lowercase())
                    .collect();
                return Err(err(
                    key,
                    format!("applies to kind = {} only", names.join(" or ")),
                ));
            }
            Ok(())
        };
        only("region", p.region.is_some(), &[Kind::Ecr])?;
        only("aws_profile", p.aws_profile.is_some(), &[Kind::Ecr])?;
        only("registry_id", p.registry_id.is_some(), &[Kind::Ecr])?;
        only("endpoint_url", p.endpoint_url.is_some(), &[Kind::Ecr])?;
        only("owner", p.owner.is_some(), &[Kind::Ghcr])?;
        only("owner_type", p.owner_type.is_some(), &[Kind::Ghcr])?;
        only("token_env", p.token_env.is_some(), &[Kind::Ghcr])?;
        only(
            "api_url",
            p.api_url.is_some(),
            &[Kind::Ghcr, Kind::Dockerhub],
        )?;
        only("namespace", p.namespace.is_some(), &[Kind::Dockerhub])?;
        if p.kind == Kind::Dockerhub && p.namespace.is_none() {
            return Err(err(
                "namespace",
                "missing: a dockerhub profile lists the repositories of one namespace".into(),
            ));
        }
        if p.owner_type.is_some() && p.owner.is_none() {
            return Err(err("owner", "owner_type is set but owner is not".into()));
        }
        #[cfg(not(feature = "ecr"))]
        if p.kind == Kind::Ecr {
            return Err(err(
                "kind",
                "this regtui was built without the `ecr` feature".into(),
            ));
        }
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
        if sources == 1 && p.username.is_none() && p.kind != Kind::Ghcr {
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
            return Err(config_err(format!(
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

    /// Whether this profile's v2 endpoint is `host` (`host[:port]`, Docker Hub's aliases mapped):
    /// `None` when it is not known before connecting (ECR without `registry`).
    pub fn serves_host(&self, host: &str) -> Option<bool> {
        let wanted = RegistryAddr::parse(host).ok()?.host;
        let own = match (&self.registry, self.kind) {
            (Some(r), _) => RegistryAddr::parse(r).ok()?.host,
            (None, Kind::Ghcr) => "ghcr.io".to_string(),
            (None, Kind::Dockerhub) => crate::registry::reference::HUB_HOST.to_string(),
            (None, Kind::Ecr) => {
                // `<account>.dkr.ecr.<region>.amazonaws.com`: the region and the account must
                // be the profile's where it names them.
                let ecr = wanted.contains(".dkr.ecr.")
                    && self
                        .region
                        .as_deref()
                        .is_none_or(|r| wanted.contains(&format!(".dkr.ecr.{r}.")))
                    && self
                        .registry_id
                        .as_deref()
                        .is_none_or(|id| wanted.starts_with(&format!("{id}.")));
                return if !ecr {
                    Some(false)
                } else if self.registry_id.is_some() {
                    Some(true)
                } else {
                    None
                };
            }
            (None, Kind::Distribution) => return Some(false),
        };
        Some(own == wanted)
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
        // What resolving credentials had to say (e.g. a broken docker config.json, skipped).
        let mut warning = None;
        let backend: Arc<dyn Backend> = match self.kind {
            Kind::Distribution => {
                let addr = self.addr()?;
                let credential = match credential {
                    Some(c) => c,
                    None => {
                        let r = credentials::resolve(&self.secrets(), &addr.credential_key())?;
                        warning = r.warning;
                        r.credential
                    }
                };
                let opts = self.v2_options(base_dir, addr, credential)?;
                Arc::new(Distribution::new(opts)?)
            }
            Kind::Ghcr => self.connect_ghcr(base_dir, credential, &mut warning)?,
            Kind::Dockerhub => self.connect_dockerhub(base_dir, credential, &mut warning)?,
            Kind::Ecr => self.connect_ecr(base_dir)?,
        };
        Ok(match warning {
            Some(warning) => Arc::new(Warned {
                inner: backend,
                warning,
            }),
            None => backend,
        })
    }

    /// v2 options from the profile's TLS, concurrency and repository settings.
    fn v2_options(
        &self,
        base_dir: &Path,
        addr: RegistryAddr,
        credential: crate::registry::auth::Credential,
    ) -> Result<DistributionOptions> {
        let mut opts = DistributionOptions::new(addr, credential);
        // Set: exactly that many in flight; unset: adaptive, up to the default cap.
        opts.concurrency = match self.concurrency {
            Some(c) => crate::registry::http::Concurrency::Fixed(c.0),
            None => crate::registry::http::Concurrency::default(),
        };
        opts.insecure = self.insecure;
        opts.repositories = self.repositories.clone();
        if let Some(ca) = &self.ca_cert {
            let path = if ca.is_absolute() {
                ca.clone()
            } else {
                base_dir.join(ca)
            };
            opts.ca_file = Some(ca.display().to_string());
            opts.ca_pem = Some(
                std::fs::read(&path)
                    .map_err(|e| config_err(format!("ca_cert {}: {e}", path.display())))?,
            );
        }
        Ok(opts)
    }

    /// The v2 address of a provider profile: `registry` when set, else the provider's own.
    fn provider_addr(&self, default: &str) -> Result<RegistryAddr> {
        RegistryAddr::parse(self.registry.as_deref().unwrap_or(default))
    }

    fn connect_ghcr(
        &self,
        base_dir: &Path,
        credential: Option<crate::registry::auth::Credential>,
        warning: &mut Option<String>,
    ) -> Result<Arc<dyn Backend>> {
        use crate::registry::auth::Credential;
        use crate::registry::providers::ghcr::{Ghcr, Owner};
        use crate::registry::providers::{Provider, Rest};
        let addr = self.provider_addr("ghcr.io")?;
        let credential = match credential {
            Some(c) => c,
            None => {
                let mut secrets = self.secrets();
                secrets.username = secrets
                    .username
                    .or_else(|| self.owner.clone())
                    .or_else(|| Some("token".into()));
                let no_source = secrets.password_env.is_none()
                    && secrets.password_command.is_none()
                    && secrets.password.is_none();
                let env = self
                    .token_env
                    .clone()
                    .unwrap_or_else(|| "GITHUB_TOKEN".into());
                if no_source && std::env::var_os(&env).is_some_and(|v| !v.is_empty()) {
                    secrets.password_env = Some(env);
                }
                let r = credentials::resolve(&secrets, &addr.credential_key())?;
                *warning = r.warning;
                r.credential
            }
        };
        let token = match &credential {
            Credential::Basic { password, .. } => Some(password.clone()),
            _ => None,
        };
        let who = credential.describe();
        let owner = match (&self.owner, self.owner_type) {
            (Some(o), Some(OwnerType::Org)) => Owner::Org(o.clone()),
            (Some(o), _) => Owner::User(o.clone()),
            (None, _) => Owner::Me,
        };
        let api = Rest {
            http: Rest::client()?,
            service: "GitHub API",
            base: self
                .api_url
                .clone()
                .unwrap_or_else(|| "https://api.github.com".into())
                .trim_end_matches('/')
                .to_string(),
            token,
            headers: vec![
                ("accept", "application/vnd.github+json"),
                ("x-github-api-version", "2022-11-28"),
            ],
            auth_hint: "the GitHub token needs read:packages (delete:packages to delete); set \
                        token_env, or password_command = \"gh auth token\"",
        };
        let host = addr.host.clone();
        let v2 = Arc::new(Distribution::new(
            self.v2_options(base_dir, addr, credential)?,
        )?);
        Ok(Arc::new(Provider::new(Ghcr::new(
            api, owner, v2, host, who,
        ))))
    }

    fn connect_dockerhub(
        &self,
        base_dir: &Path,
        credential: Option<crate::registry::auth::Credential>,
        warning: &mut Option<String>,
    ) -> Result<Arc<dyn Backend>> {
        use crate::registry::auth::Credential;
        use crate::registry::providers::dockerhub::DockerHub;
        use crate::registry::providers::{Provider, Rest};
        let addr = self.provider_addr("registry-1.docker.io")?;
        let key = if self.registry.is_some() {
            addr.credential_key()
        } else {
            crate::registry::reference::HUB_CREDENTIAL_KEY.to_string()
        };
        let credential = match credential {
            Some(c) => c,
            None => {
                let r = credentials::resolve(&self.secrets(), &key)?;
                *warning = r.warning;
                r.credential
            }
        };
        let login = match &credential {
            Credential::Basic { username, password } => Some((username.clone(), password.clone())),
            _ => None,
        };
        let who = credential.describe();
        let api = Rest {
            http: Rest::client()?,
            service: "Docker Hub API",
            base: self
                .api_url
                .clone()
                .unwrap_or_else(|| "https://hub.docker.com".into())
                .trim_end_matches('/')
                .to_string(),
            token: None,
            headers: vec![("accept", "application/json")],
            auth_hint: "check username and the personal access token (password_env) of this profile",
        };
        let host = addr.host.clone();
        let mut opts = self.v2_options(base_dir, addr, credential)?;
        // Hub refuses digest deletes of tagged manifests, so the placeholder trick would leave a
        // placeholder behind: only the OCI tag delete is used.
        opts.untag_fallback = false;
        let v2 = Arc::new(Distribution::new(opts)?);
        let namespace = self.namespace.clone().unwrap_or_default();
        Ok(Arc::new(Provider::new(DockerHub::new(
            api, namespace, v2, host, who, login,
        ))))
    }

    #[cfg(feature = "ecr")]
    fn connect_ecr(&self, base_dir: &Path) -> Result<Arc<dyn Backend>> {
        use crate::registry::auth::Credential;
        use crate::registry::providers::Provider;
        use crate::registry::providers::ecr::{Ecr, EcrSettings};
        let template = self.v2_options(
            base_dir,
            self.provider_addr("ecr.invalid")?,
            Credential::Anonymous,
        )?;
        Ok(Arc::new(Provider::new(Ecr::new(EcrSettings {
            region: self.region.clone(),
            aws_profile: self.aws_profile.clone(),
            registry_id: self.registry_id.clone(),
            endpoint_url: self.endpoint_url.clone(),
            registry: self.registry.clone(),
            v2_template: Some(template),
        }))))
    }

    #[cfg(not(feature = "ecr"))]
    fn connect_ecr(&self, _base_dir: &Path) -> Result<Arc<dyn Backend>> {
        Err(Error::Unsupported(
            "this regtui was built without the `ecr` feature".into(),
        ))
    }
}

/// A backend whose info carries one more warning (e.g. a docker config.json that was skipped),
/// after the backend's own; everything else goes to the backend.
struct Warned {
    inner: Arc<dyn Backend>,
    warning: String,
}

impl Backend for Warned {
    fn info(&self) -> BackendInfo {
        let mut info = self.inner.info();
        info.warning = Some(match info.warning.take() {
            Some(own) => format!("{own}; {}", self.warning),
            None => self.warning.clone(),
        });
        info
    }
    fn ping(&self) -> BoxFut<'_, ()> {
        self.inner.ping()
    }
    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        self.inner.list_repos(sink)
    }
    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        self.inner.list_tags(repo, sink)
    }
    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>> {
        self.inner.get_manifest(repo, reference)
    }
    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc> {
        self.inner.head_manifest(repo, reference)
    }
    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>> {
        self.inner.get_config(repo, config)
    }
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        self.inner.delete_manifest(repo, digest)
    }
    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        self.inner.delete_tag(repo, tag)
    }
    fn bulk_rows<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Option<Vec<TagRow>>> {
        self.inner.bulk_rows(repo)
    }
    fn pushed_at(&self, repo: &str, tag: &str) -> Option<String> {
        self.inner.pushed_at(repo, tag)
    }
    fn status_note(&self) -> Option<String> {
        self.inner.status_note()
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

    #[test]
    fn errors_quoting_the_file_are_inert() {
        // TOML escapes put ESC, BEL, C1 and bidi characters into keys, names and values.
        let cases = [
            "[profiles.a]\nregistry = \"x\"\n\"k\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J\" = 1\n",
            "[profiles.a]\nregistry = \"x\"\nkind = \"qu\\u001b[31may\\u009b2J\"\n",
            "[profiles.\"p\\u001b[2J\\u202e\"]\nusername = \"u\"\n",
            "default_profile = \"n\\u001b[2J\\u2066\"\n",
            "\"top\\u001b[1m\" = 1\n",
        ];
        for text in cases {
            let e = p(text).unwrap_err().to_string();
            assert!(
                !e.chars().any(|c| c.is_control()
                    || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
                "{e:?}"
            );
            assert!(e.contains("/etc/regtui.toml"), "{e}");
        }
        let e = p(cases[0]).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("unknown field"), "{e}");
    }
}
