//! Image references (`repo:tag`, `repo@digest`, `host/repo:tag`) and registry addresses.

use std::fmt;

use super::digest;
use super::error::{Error, Result};

/// Docker Hub's registry host.
pub const HUB_HOST: &str = "registry-1.docker.io";
/// The key docker's config.json uses for Docker Hub.
pub const HUB_CREDENTIAL_KEY: &str = "https://index.docker.io/v1/";

fn bad(what: &str, detail: impl Into<String>) -> Error {
    Error::Invalid {
        what: what.into(),
        detail: detail.into(),
    }
}

/// Where a registry lives: scheme and `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAddr {
    /// Plain HTTP rather than HTTPS.
    pub plain_http: bool,
    /// `host[:port]`.
    pub host: String,
}

impl RegistryAddr {
    /// Parses `http://h:p`, `https://h`, or a bare `h[:p]`: HTTPS, except plain HTTP for loopback
    /// hosts (`localhost`, `127.x.x.x`, `[::1]`) as crane does. Maps Docker Hub's aliases.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let (plain_http, rest) = if let Some(r) = s.strip_prefix("http://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("https://") {
            (false, r)
        } else if s.contains("://") {
            return Err(bad(
                "registry address",
                format!("{s:?}: only http:// and https:// are supported"),
            ));
        } else {
            (is_loopback(s), s)
        };
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix("/v2").unwrap_or(rest);
        if rest.is_empty()
            || rest.contains('/')
            || rest.contains('@')
            || rest.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad(
                "registry address",
                format!("{s:?}: expected host[:port], optionally with http:// or https://"),
            ));
        }
        let host = match rest {
            "docker.io" | "index.docker.io" => HUB_HOST.to_string(),
            h => h.to_string(),
        };
        Ok(RegistryAddr { plain_http, host })
    }

    /// `https://host[:port]` (or `http://`), without a trailing slash.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.plain_http { "http" } else { "https" },
            self.host
        )
    }

    /// Whether this is Docker Hub.
    pub fn is_hub(&self) -> bool {
        self.host == HUB_HOST
    }

    /// The key under which docker's config.json stores credentials for this registry.
    pub fn credential_key(&self) -> String {
        if self.is_hub() {
            HUB_CREDENTIAL_KEY.to_string()
        } else {
            self.host.clone()
        }
    }
}

impl fmt::Display for RegistryAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plain_http {
            write!(f, "http://{}", self.host)
        } else {
            f.write_str(&self.host)
        }
    }
}

/// Whether `host[:port]` names this machine.
fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host when the reference named one.
    pub registry: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Checks a repository name (lower-case path components of `[a-z0-9._-]`).
pub fn validate_repository(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
                && c.as_bytes()[0].is_ascii_alphanumeric()
                && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
        });
    if ok {
        Ok(())
    } else {
        Err(bad("repository name", format!("{name:?}")))
    }
}

/// Checks a tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
pub fn validate_tag(tag: &str) -> Result<()> {
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(bad("tag", format!("{tag:?}")))
    }
}

/// Splits a leading registry host off a repository argument (`host[:port]/team/app` →
/// `(Some(host), team/app)`), by docker's rule: the first component names a host when it contains
/// `.` or `:` or is `localhost`.
pub fn split_host(arg: &str) -> (Option<&str>, &str) {
    match arg.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, arg),
    }
}

impl Reference {
    /// Parses `[host/]repo[:tag][@digest]`.
    pub fn parse(s: &str) -> Result<Self> {
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => {
                digest::validate(d)?;
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (registry, rest) = split_host(name);
        let registry = registry.map(str::to_string);
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
            _ => (rest.to_string(), None),
        };
        if let Some(t) = &tag {
            validate_tag(t)?;
        }
        let mut r = Reference {
            registry,
            repository,
            tag,
            digest,
        };
        if let Some(host) = &r.registry {
            let addr = RegistryAddr::parse(host)?;
            if addr.is_hub() && !r.repository.contains('/') {
                r.repository = format!("library/{}", r.repository);
            }
        }
        validate_repository(&r.repository)?;
        Ok(r)
    }

    /// What to ask the registry for: the digest when given, else the tag, else `latest`.
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn parses_references() {
        let r = Reference::parse("team/app/api:v1.2").unwrap();
        assert_eq!(
            (r.registry, r.repository.as_str(), r.tag.as_deref()),
            (None, "team/app/api", Some("v1.2"))
        );
        let r = Reference::parse(&format!("localhost:5000/app@{D}")).unwrap();
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.target(), D);
        let r = Reference::parse("docker.io/alpine").unwrap();
        assert_eq!(r.repository, "library/alpine");
        assert_eq!(r.target(), "latest");
        assert!(Reference::parse("Team/App:x").is_err());
        assert!(Reference::parse("app:bad tag").is_err());
        assert!(Reference::parse("app@sha256:zz").is_err());
        assert!(Reference::parse("a//b").is_err());
    }

    #[test]
    fn parses_registry_addresses() {
        let a = RegistryAddr::parse("http://127.0.0.1:5000/").unwrap();
        assert!(a.plain_http);
        assert_eq!(a.base_url(), "http://127.0.0.1:5000");
        let a = RegistryAddr::parse("registry.local:5443").unwrap();
        assert_eq!(a.base_url(), "https://registry.local:5443");
        assert!(RegistryAddr::parse("localhost:5000").unwrap().plain_http);
        assert!(RegistryAddr::parse("127.0.0.1:5000").unwrap().plain_http);
        assert!(RegistryAddr::parse("[::1]:5000").unwrap().plain_http);
        assert!(
            !RegistryAddr::parse("https://localhost:5000")
                .unwrap()
                .plain_http
        );
        assert!(!RegistryAddr::parse("10.0.0.1:5000").unwrap().plain_http);
        let a = RegistryAddr::parse("docker.io").unwrap();
        assert_eq!(a.credential_key(), HUB_CREDENTIAL_KEY);
        assert!(RegistryAddr::parse("ftp://x").is_err());
        assert!(RegistryAddr::parse("host/path").is_err());
    }
}
