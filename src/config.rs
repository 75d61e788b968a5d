//! `config.toml`: the file format (profiles and UI settings), where the file lives, and the
//! checks that name the file, line and key. What each kind of registry needs to connect lives
//! with the providers (`registry::providers`); this module only hands each its table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::registry::Error;
use crate::registry::Result;
use crate::registry::auth::Secret;
use crate::registry::connect::ConnectOptions;
pub use crate::registry::connect::DEFAULT_CONCURRENCY;
use crate::registry::credentials::ProfileSecrets;
use crate::registry::providers::{Kind, KindKeys};
use crate::registry::reference::{RegistryAddr, validate_repository};
use crate::sanitize::clean;

/// Environment variable that overrides the config file location.
pub const CONFIG_ENV: &str = "REGTUI_CONFIG";

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

/// One login profile: the keys every kind shares, and the kind with its own keys.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// `host[:port]`, optionally with `http://` or `https://` (the default).
    pub registry: Option<String>,
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
    pub insecure: bool,
    /// Repositories to show when the catalog is closed.
    pub repositories: Vec<String>,
    pub concurrency: Option<Concurrency>,
    /// Tag globs cleanup never touches (`["latest", "stable", "v*"]`).
    pub protected_tags: Vec<String>,
    /// `kind` and the keys only that kind has.
    pub kind: KindKeys,
}

/// The keys every kind of profile has (the rest belong to the kind).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    registry: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    password_command: Option<String>,
    password: Option<String>,
    ca_cert: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    repositories: Vec<String>,
    concurrency: Option<Concurrency>,
    #[serde(default)]
    protected_tags: Vec<String>,
}

/// The field names of [`Common`].
const COMMON_KEYS: &[&str] = &[
    "registry",
    "username",
    "password_env",
    "password_command",
    "password",
    "ca_cert",
    "insecure",
    "repositories",
    "concurrency",
    "protected_tags",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_profile: Option<String>,
    #[serde(default)]
    clipboard: crate::clipboard::Mode,
    /// Mouse in the terminal UI (default on).
    mouse: Option<bool>,
    #[serde(default)]
    dates: crate::fmt::Dates,
    /// Bound of the persistent cache in MiB.
    cache_max_mib: Option<u64>,
    #[serde(default)]
    profiles: BTreeMap<String, toml::Spanned<toml::Table>>,
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
    /// Whether the terminal UI takes the mouse (off: the terminal's own selection works).
    pub mouse: bool,
    /// How the terminal UI shows dates at first (`t` switches).
    pub dates: crate::fmt::Dates,
    /// Bound of the persistent cache in MiB (`cache_max_mib`; 0 turns the cache off).
    pub cache_max_mib: u64,
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
    /// An empty configuration from `source` (no file).
    pub fn empty(source: Source) -> Self {
        Config {
            source,
            default_profile: None,
            clipboard: Default::default(),
            mouse: true,
            dates: Default::default(),
            cache_max_mib: crate::registry::cache::DEFAULT_MAX_MIB,
            profiles: BTreeMap::new(),
            warnings: Vec::new(),
            base_dir: PathBuf::from("."),
        }
    }

    /// The profile to use: the one asked for, else `default_profile` (when it exists), else
    /// the only profile.
    pub fn pick(&self, requested: Option<&str>) -> Option<String> {
        requested
            .map(str::to_string)
            .or_else(|| {
                self.default_profile
                    .clone()
                    .filter(|d| self.profiles.contains_key(d))
            })
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
        Source::None(_) => return Ok(Config::empty(source)),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| config_err(format!("cannot read config file {}: {e}", path.display())))?;
    let mut cfg = parse(&text, &path)?;
    cfg.source = source;
    if cfg.profiles.values().any(|p| p.password.is_some()) && readable_by_others(&path) {
        cfg.warnings.push(clean(&format!(
            "plain-text password in {}, which other users can read: run `chmod 600 {}` or use password_env / password_command",
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

/// A header or key as written, without quotes and spaces (`[ profiles."a" ]` → `profiles.a`).
fn bare(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '\'' | ' ' | '\t'))
        .collect()
}

/// The line of `key = …` inside the `[profiles.NAME]` table, when written that way.
fn key_line(text: &str, profile: &str, key: &str) -> Option<usize> {
    let header = format!("profiles.{}", bare(profile));
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            inside = bare(h.split(']').next().unwrap_or("")) == header;
            continue;
        }
        // A line on its own is a TOML document when it holds one `key = value`: that also
        // reads quoted and escaped keys as TOML does.
        // (A value spread over lines is matched by the bare key before `=`.)
        let found = match toml::from_str::<toml::Table>(t) {
            Ok(one) => one.len() == 1 && one.contains_key(key),
            Err(_) => t.split_once('=').is_some_and(|(k, _)| bare(k) == key),
        };
        if inside && found {
            return Some(i + 1);
        }
    }
    None
}

/// The key an error message from serde names (`unknown field `x``, `missing field `y``, …).
fn key_in(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Parses and validates config text; errors name the file, the line of the key and the key.
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
        let header = line_of(text, spanned.span().start);
        let err = |key: &str, msg: String| {
            // The key's own line when it is written in the profile's table, else the table's.
            let line = key_line(text, &name, key).unwrap_or(header);
            config_err(format!(
                "{}: line {line}: profile {name:?}, key `{key}`: {msg}",
                path.display()
            ))
        };
        let p = profile_from(spanned.into_inner()).map_err(|(key, msg)| err(&key, msg))?;
        if let Err((key, msg)) = p.kind.check() {
            return Err(err(key, msg));
        }
        let kind = p.kind.kind();
        if kind.needs_registry() && p.registry.is_none() {
            return Err(err(
                "registry",
                "missing: every distribution profile needs `registry = \"host[:port]\"`".into(),
            ));
        }
        if let Some(r) = &p.registry {
            RegistryAddr::parse(r).map_err(|e| err("registry", e.to_string()))?;
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
        if sources == 1 && p.username.is_none() && kind.needs_username() {
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
    let mut warnings = Vec::new();
    if let Some(d) = &file.default_profile {
        if !profiles.contains_key(d) {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("default_profile"))
                .map(|i| format!(" line {}", i + 1))
                .unwrap_or_default();
            warnings.push(
                clean(&format!(
                    "{}:{line}: default_profile names {d:?}, but there is no such profile \
                     (profiles: {}); pass -p NAME",
                    path.display(),
                    profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
                .into_owned(),
            );
        }
    }
    Ok(Config {
        source: Source::None(None),
        default_profile: file.default_profile,
        clipboard: file.clipboard,
        mouse: file.mouse.unwrap_or(true),
        dates: file.dates,
        cache_max_mib: file
            .cache_max_mib
            .unwrap_or(crate::registry::cache::DEFAULT_MAX_MIB),
        profiles,
        warnings,
        base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
    })
}

/// Splits a profile's table into the common keys and the kind's own, and reads both; a key that
/// belongs to another kind, or to none, is refused naming it.
fn profile_from(mut table: toml::Table) -> std::result::Result<Profile, (String, String)> {
    let kind: Kind = match table.remove("kind") {
        Some(v) => v.try_into().map_err(|e: toml::de::Error| {
            ("kind".to_string(), e.message().trim_end().to_string())
        })?,
        None => Kind::default(),
    };
    let mut own = toml::Table::new();
    let keys: Vec<String> = table.keys().cloned().collect();
    for key in keys {
        if COMMON_KEYS.contains(&key.as_str()) {
            continue;
        }
        if !kind.own_keys().contains(&key.as_str()) {
            let owners: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| k.own_keys().contains(&key.as_str()))
                .map(|k| k.name())
                .collect();
            let msg = if owners.is_empty() {
                let mut valid: Vec<&str> = COMMON_KEYS.to_vec();
                valid.extend(kind.own_keys());
                valid.push("kind");
                format!(
                    "unknown key; a {} profile has: {}",
                    kind.name(),
                    valid.join(", ")
                )
            } else {
                format!("applies to kind = {} only", owners.join(" or "))
            };
            return Err((key, msg));
        }
        if let Some(v) = table.remove(&key) {
            own.insert(key, v);
        }
    }
    let c: Common = read(table)?;
    let own_table = own.clone();
    let kind = KindKeys::deserialize(kind, toml::Value::Table(own))
        .map_err(|e| (culprit(&own_table, kind), message(&e)))?;
    Ok(Profile {
        registry: c.registry,
        username: c.username,
        password_env: c.password_env,
        password_command: c.password_command,
        password: c.password,
        ca_cert: c.ca_cert,
        insecure: c.insecure,
        repositories: c.repositories,
        concurrency: c.concurrency,
        protected_tags: c.protected_tags,
        kind,
    })
}

fn message(e: &toml::de::Error) -> String {
    e.message().trim_end().to_string()
}

/// Reads `table` as `T`; a failure names the key whose value does not fit.
fn read<T: serde::de::DeserializeOwned>(
    table: toml::Table,
) -> std::result::Result<T, (String, String)> {
    let copy = table.clone();
    toml::Value::Table(table).try_into().map_err(|e| {
        let key = key_in(&message(&e))
            .filter(|k| copy.contains_key(*k))
            .map(str::to_string)
            .or_else(|| first_bad::<T>(&copy))
            .unwrap_or_default();
        (key, message(&e))
    })
}

/// The first key of `table` that `T` refuses on its own (every key of `T` is optional).
fn first_bad<T: serde::de::DeserializeOwned>(table: &toml::Table) -> Option<String> {
    table.iter().find_map(|(k, v)| {
        let mut one = toml::Table::new();
        one.insert(k.clone(), v.clone());
        toml::Value::Table(one)
            .try_into::<T>()
            .is_err()
            .then(|| k.clone())
    })
}

/// Which of a kind's own keys does not fit.
fn culprit(own: &toml::Table, kind: Kind) -> String {
    own.iter()
        .find_map(|(k, v)| {
            let mut one = toml::Table::new();
            one.insert(k.clone(), v.clone());
            KindKeys::deserialize(kind, toml::Value::Table(one))
                .is_err()
                .then(|| k.clone())
        })
        .unwrap_or_default()
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

    /// `registry`, or the kind's name when the provider's own address is used.
    pub fn shown(&self) -> String {
        self.registry
            .clone()
            .unwrap_or_else(|| self.kind.kind().name().to_string())
    }

    /// Whether this profile's v2 endpoint is `host` (`host[:port]`, Docker Hub's aliases mapped):
    /// `None` when it is not known before connecting (ECR without `registry`).
    pub fn serves_host(&self, host: &str) -> Option<bool> {
        let wanted = RegistryAddr::parse(host).ok()?.host;
        match &self.registry {
            Some(r) => Some(RegistryAddr::parse(r).ok()?.host == wanted),
            None => self.kind.serves_host_by_default(&wanted),
        }
    }

    /// Requests in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency.map(|c| c.0).unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// What connecting needs, whatever the kind: address, credential sources, TLS, concurrency.
    pub fn connect_options(&self, base_dir: &Path) -> ConnectOptions {
        ConnectOptions {
            registry: self.registry.clone(),
            secrets: ProfileSecrets {
                username: self.username.clone(),
                password_env: self.password_env.clone(),
                password_command: self.password_command.clone(),
                password: self.password.clone().map(Secret::new),
            },
            ca_cert: self.ca_cert.clone(),
            base_dir: base_dir.to_path_buf(),
            insecure: self.insecure,
            repositories: self.repositories.clone(),
            concurrency: self.concurrency.map(|c| c.0),
        }
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
        assert_eq!(c.profiles["local"].kind.kind(), Kind::Distribution);
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

        // A default_profile naming no profile is a warning (`regtui profiles` still lists).
        let c = p("default_profile = \"nope\"\n[profiles.a]\nregistry = \"x\"\n").unwrap();
        assert!(c.warnings[0].contains("line 1") && c.warnings[0].contains("\"nope\""));
        assert_eq!(c.pick(None).as_deref(), Some("a"), "the only profile");

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
        assert!(e.contains("line 3") && e.contains("unknown key"), "{e}");
        let w = p("default_profile = \"n\\u001b[2J\\u2066\"\n")
            .unwrap()
            .warnings;
        assert!(!w[0].chars().any(|c| c.is_control()), "{w:?}");
    }

    #[test]
    fn keys_of_another_kind_are_refused_on_their_own_line() {
        let text = "default_profile = \"a\"\n\n[ profiles.\"a\" ]\n# the lab\nregistry = \"x\"\n\n  region = \"eu-west-1\"\n";
        let e = p(text).unwrap_err().to_string();
        assert!(
            e.contains("line 7") && e.contains("`region`: applies to kind = ecr only"),
            "{e}"
        );
        let e = p("[profiles.h]\nkind = \"dockerhub\"\nnamespace = \"n\"\nowner = \"o\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 4") && e.contains("kind = ghcr only"),
            "{e}"
        );
        // A wrong value of a kind's own key names that key and its line.
        let e = p("[profiles.g]\nkind = \"ghcr\"\n\nowner_type = \"team\"\nowner = \"o\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4") && e.contains("`owner_type`"), "{e}");
        let e = p("[profiles.a]\nregistry = \"x\"\ninsecure = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("`insecure`"), "{e}");
        // Each kind keeps what is its own.
        let c =
            p("[profiles.h]\nkind = \"dockerhub\"\nnamespace = \"n\"\napi_url = \"http://h\"\n")
                .unwrap();
        assert_eq!(
            c.profiles["h"].kind,
            KindKeys::Dockerhub(crate::registry::providers::dockerhub::Keys {
                namespace: Some("n".into()),
                api_url: Some("http://h".into()),
                index_url: None,
            })
        );
    }

    #[test]
    fn mouse_and_dates_settings() {
        let c = p("mouse = false\ndates = \"absolute\"\n").unwrap();
        assert!(!c.mouse);
        assert_eq!(c.dates, crate::fmt::Dates::Absolute);
        let c = p("").unwrap();
        assert!(c.mouse);
        assert_eq!(c.dates, crate::fmt::Dates::Relative);
        let e = p("dates = \"sometimes\"\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("sometimes"), "{e}");
    }
}
