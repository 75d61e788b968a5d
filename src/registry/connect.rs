//! What every kind of registry shares to connect: the address, where credentials come from, TLS
//! and concurrency. The config file builds a [`ConnectOptions`]; each provider reads it.

use std::path::PathBuf;
use std::sync::Arc;

use super::auth::Credential;
use super::credentials::{self, ProfileSecrets};
use super::distribution::DistributionOptions;
use super::model::{ConfigSummary, Desc, Manifest, TagDeleteMethod, TagRow};
use super::reference::RegistryAddr;
use super::{Backend, BackendInfo, BoxFut, Error, PageSink, Result};
use crate::sanitize::clean;

/// Requests in flight at most when a profile sets no `concurrency` (the adaptive limiter's cap;
/// it starts at 16 and grows while the registry's latency stays flat).
pub const DEFAULT_CONCURRENCY: usize = super::http::ADAPTIVE_MAX;

/// The settings of a profile that do not depend on its kind.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The profile's `registry` (`host[:port]`, optionally with a scheme), when set.
    pub registry: Option<String>,
    /// Where the password or token comes from.
    pub secrets: ProfileSecrets,
    /// PEM file of the registry's CA (relative paths are against `base_dir`).
    pub ca_cert: Option<PathBuf>,
    /// The config file's directory.
    pub base_dir: PathBuf,
    /// Skip TLS verification.
    pub insecure: bool,
    /// Repositories to show when the catalog is closed.
    pub repositories: Vec<String>,
    /// Requests in flight: exactly this many when set, else adaptive.
    pub concurrency: Option<usize>,
}

/// What resolving credentials found besides the credential: where it came from, and a warning.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// Where the credential came from (`profile (password from $X)`, a docker config…).
    pub source: Option<String>,
    /// Something the user should see (e.g. a docker config.json that was skipped).
    pub warning: Option<String>,
}

impl ConnectOptions {
    /// The v2 address: `registry` when set, else `default` (a provider's own host).
    pub fn addr(&self, default: Option<&str>) -> Result<RegistryAddr> {
        match (self.registry.as_deref(), default) {
            (Some(r), _) | (None, Some(r)) => RegistryAddr::parse(r),
            (None, None) => Err(Error::Config(
                "the profile has no `registry = \"host[:port]\"`".into(),
            )),
        }
    }

    /// The credential for `key` (docker's name for the registry): `given` when set (a login),
    /// else the profile's sources, docker's config.json, anonymous. Records what it found in `notes`.
    pub fn credential(
        &self,
        secrets: &ProfileSecrets,
        key: &str,
        given: Option<Credential>,
        notes: &mut Notes,
    ) -> Result<Credential> {
        if let Some(c) = given {
            notes.source = Some("entered in the login dialog".into());
            return Ok(c);
        }
        let r = credentials::resolve(secrets, key)?;
        notes.source = Some(r.source);
        notes.warning = r.warning;
        Ok(r.credential)
    }

    /// v2 options from the profile's TLS, concurrency and repository settings.
    pub fn v2_options(
        &self,
        addr: RegistryAddr,
        credential: Credential,
    ) -> Result<DistributionOptions> {
        let mut opts = DistributionOptions::new(addr, credential);
        opts.concurrency = match self.concurrency {
            Some(n) => super::http::Concurrency::Fixed(n),
            None => super::http::Concurrency::default(),
        };
        opts.insecure = self.insecure;
        opts.repositories = self.repositories.clone();
        if let Some(ca) = &self.ca_cert {
            let path = if ca.is_absolute() {
                ca.clone()
            } else {
                self.base_dir.join(ca)
            };
            opts.ca_file = Some(ca.display().to_string());
            opts.ca_pem = Some(std::fs::read(&path).map_err(|e| {
                Error::Config(clean(&format!("ca_cert {}: {e}", path.display())).into_owned())
            })?);
        }
        Ok(opts)
    }
}

/// Wraps `backend` so that its info carries `notes`: the credential's source, and a warning
/// after the backend's own.
pub fn annotate(backend: Arc<dyn Backend>, notes: Notes) -> Arc<dyn Backend> {
    if notes.source.is_none() && notes.warning.is_none() {
        return backend;
    }
    Arc::new(Annotated {
        inner: backend,
        notes,
    })
}

/// A backend whose info carries [`Notes`]; everything else goes to the backend.
struct Annotated {
    inner: Arc<dyn Backend>,
    notes: Notes,
}

impl Backend for Annotated {
    fn info(&self) -> BackendInfo {
        let mut info = self.inner.info();
        if let Some(w) = &self.notes.warning {
            info.warning = Some(match info.warning.take() {
                Some(own) => format!("{own}; {w}"),
                None => w.clone(),
            });
        }
        if info.credential_source.is_none() {
            info.credential_source = self.notes.source.clone();
        }
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
    fn exists<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Option<String>> {
        self.inner.exists(repo, reference)
    }
    fn bulk_rows<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Option<Vec<TagRow>>> {
        self.inner.bulk_rows(repo)
    }
    fn pushed_at(&self, repo: &str, tag: &str) -> Option<String> {
        self.inner.pushed_at(repo, tag)
    }
    fn details_per_tag(&self) -> bool {
        self.inner.details_per_tag()
    }
    fn provider_referrers<'a>(
        &'a self,
        repo: &'a str,
        digest: &'a str,
    ) -> BoxFut<'a, Vec<super::referrers::Referrer>> {
        self.inner.provider_referrers(repo, digest)
    }
    fn tag_detail<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        self.inner.tag_detail(repo, tag)
    }
    fn blob_stream<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, super::ByteStream> {
        self.inner.blob_stream(repo, digest)
    }
    fn referrers_api<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, Option<Vec<u8>>> {
        self.inner.referrers_api(repo, digest)
    }
    fn has_blob<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, bool> {
        self.inner.has_blob(repo, digest)
    }
    fn mount_blob<'a>(&'a self, repo: &'a str, digest: &'a str, from: &'a str) -> BoxFut<'a, bool> {
        self.inner.mount_blob(repo, digest, from)
    }
    fn upload_blob<'a>(
        &'a self,
        repo: &'a str,
        blob: &'a Desc,
        data: super::ByteStream,
    ) -> BoxFut<'a, ()> {
        self.inner.upload_blob(repo, blob, data)
    }
    fn put_manifest_raw<'a>(
        &'a self,
        repo: &'a str,
        reference: &'a str,
        media_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFut<'a, String> {
        self.inner
            .put_manifest_raw(repo, reference, media_type, body)
    }
    fn status_note(&self) -> Option<String> {
        self.inner.status_note()
    }
}
