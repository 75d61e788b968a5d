//! Azure Container Registry (`*.azurecr.io`): v2 for manifests, configs and digest deletes,
//! and ACR's own API on the same host (`/acr/v1`, scope `repository:<r>:metadata_read`) for
//! the bulk listing, the locks and tag-only deletes.
//!
//! Tokens come from the registry's `/oauth2/token` (realm of its challenge): with Basic for the
//! admin user, service principals and scoped tokens, or with the refresh-token grant when the
//! username is `00000000-0000-0000-0000-000000000000` (what `az acr login --expose-token`
//! prints). Each token is renewed before its `expires_in`, and once more when refused. A
//! password that is a Microsoft Entra ID (AAD) access token (a JWT issued by
//! `https://sts.windows.net/…` or `https://login.microsoftonline.com/…`, e.g. from
//! `az account get-access-token`) is first exchanged at `/oauth2/exchange`
//! (`grant_type=access_token`, `service`, `tenant`, `access_token`) for a refresh token, per
//! <https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md>.
//!
//! Listing: `/acr/v1/<repo>/_manifests` (digest, `imageSize`, times, platform, tags) and
//! `/acr/v1/<repo>/_tags` (each tag's own time and lock), both paged with `n` (max 1000) and
//! `Link`, plus `/acr/v1/<repo>` for the repository's lock. `changeableAttributes`
//! `deleteEnabled: false` or `writeEnabled: false` on the tag, its manifest or the repository
//! locks the tag. Sizes are the service's `imageSize` (manifest + config + layers).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::{MakeV2, Prepare, Provider, ProviderApi, RenewingV2, Resolve};
use crate::registry::auth::{Credential, Secret};
use crate::registry::connect::{ConnectOptions, Notes};
use crate::registry::distribution::Distribution;
use crate::registry::model::{PlatformEntry, TagDeleteMethod, TagRow, platform_string};
use crate::registry::ops::natural_cmp;
use crate::registry::{Backend, BoxFut, Capabilities, Error, PageSink, Result};

/// The username that says the password is an ACR refresh token.
pub const REFRESH_TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";

/// Entries per `/acr/v1` page we ask for (the service's maximum).
pub const PAGE: usize = 1000;

/// Largest `/acr/v1` page read.
const PAGE_LIMIT: u64 = 32 * 1024 * 1024;

/// A `kind = "acr"` profile has only the common keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] = &[];

    /// Nothing to check.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        Ok(())
    }
}

/// Whether `host` (`host[:port]`) is an Azure Container Registry.
pub fn serves(host: &str) -> bool {
    let h = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    h.ends_with(".azurecr.io")
}

/// The ACR backend for a profile; `given` replaces the credentials (a login).
pub fn connect(
    keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
) -> Result<Arc<dyn Backend>> {
    // Refresh tokens from `az acr login --expose-token` last about three hours.
    connect_renewing(
        keys,
        opts,
        given,
        notes,
        std::time::Duration::from_secs(150 * 60),
    )
}

/// As [`connect`], with an expiring credential resolved (and an Entra ID token exchanged)
/// again once `max_age` has passed. Blocking (the first exchange): call it off the async
/// threads; renewals are async.
pub fn connect_renewing(
    _keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
    max_age: std::time::Duration,
) -> Result<Arc<dyn Backend>> {
    let addr = opts.addr(None)?;
    let key = addr.credential_key();
    let renew = RenewingV2::expires(&opts.secrets, given.is_some());
    let credential = opts.credential(&opts.secrets, &key, given, notes)?;
    let who = credential.describe();
    let host = addr.host.clone();
    let tls = opts.v2_options(addr.clone(), Credential::Anonymous)?;
    let (insecure, ca) = (tls.insecure, tls.ca_pem);
    let credential = match entra_token(&credential) {
        Some((token, tenant)) => exchange_blocking(&addr, &token, tenant, insecure, ca.clone())?,
        None => credential,
    };
    let o = opts.clone();
    let a = addr.clone();
    let make: Arc<MakeV2> = Arc::new(move |c| {
        let mut v2 = o.v2_options(a.clone(), refresh_grant(c))?;
        // Tags go through /acr/v1; v2 refuses them (400) and no placeholder is pushed.
        v2.untag_fallback = false;
        Distribution::new(v2)
    });
    let prepare: Arc<Prepare> = Arc::new(move |c| {
        let (url, service) = (
            format!("{}/oauth2/exchange", addr.base_url()),
            addr.host.clone(),
        );
        let ca = ca.clone();
        Box::pin(async move {
            match entra_token(&c) {
                Some((token, tenant)) => {
                    exchange(&url, &service, &token, tenant, insecure, ca).await
                }
                None => Ok(c),
            }
        })
    });
    let o = opts.clone();
    let resolve: Arc<Resolve> =
        Arc::new(move || Ok(crate::registry::credentials::resolve(&o.secrets, &key)?.credential));
    let v2 =
        RenewingV2::new(credential, make, renew.then_some(resolve), max_age)?.with_prepare(prepare);
    Ok(Arc::new(Provider::new(Acr { v2, host, who })))
}

/// The password as a Microsoft Entra ID access token, with its tenant (`tid`), when it is one:
/// a JWT whose `iss` is Entra's (`sts.windows.net` or `login.microsoftonline.com`).
fn entra_token(c: &Credential) -> Option<(Secret, Option<String>)> {
    use base64::Engine as _;
    let Credential::Basic { password, .. } = c else {
        return None;
    };
    let mut parts = password.expose().split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    let iss = claims.get("iss")?.as_str()?;
    let entra = [
        "https://sts.windows.net/",
        "https://login.microsoftonline.com/",
    ]
    .iter()
    .any(|p| iss.starts_with(p));
    entra.then(|| {
        let tenant = claims
            .get("tid")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.len() <= 64)
            .map(str::to_string);
        (password.clone(), tenant)
    })
}

/// `/oauth2/exchange`'s answer.
#[derive(Deserialize)]
struct Exchanged {
    refresh_token: String,
}

/// Exchanges an Entra ID access token for an ACR refresh token (a refresh-token credential).
/// Blocking, for the first connect (synchronous): runs on a thread of its own. Renewals use
/// [`exchange`] on the runtime.
fn exchange_blocking(
    addr: &crate::registry::reference::RegistryAddr,
    token: &Secret,
    tenant: Option<String>,
    insecure: bool,
    ca: Option<Vec<u8>>,
) -> Result<Credential> {
    let url = format!("{}/oauth2/exchange", addr.base_url());
    let host = addr.host.clone();
    let token = token.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the token exchange: {e}")))?;
        rt.block_on(exchange(&url, &host, &token, tenant, insecure, ca))
    })
    .join()
    .map_err(|_| Error::Config("the token exchange failed".into()))?
}

async fn exchange(
    url: &str,
    service: &str,
    token: &Secret,
    tenant: Option<String>,
    insecure: bool,
    ca: Option<Vec<u8>>,
) -> Result<Credential> {
    use super::encode_segment as enc;
    let http = super::harbor::api_client(insecure, ca.as_deref())?;
    let mut body = format!(
        "grant_type=access_token&service={}&access_token={}",
        enc(service),
        enc(token.expose())
    );
    if let Some(t) = &tenant {
        body.push_str(&format!("&tenant={}", enc(t)));
    }
    let service_name = format!("Azure Container Registry ({service})");
    let resp = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| Error::from_transport(service, &e))?;
    let status = resp.status();
    let raw = crate::registry::http::read_limited(resp, 64 * 1024, "token exchange", &service_name)
        .await
        .unwrap_or_default();
    if !status.is_success() {
        // ACR's own message, never the token.
        let message = serde_json::from_slice::<serde_json::Value>(&raw)
            .ok()
            .and_then(|v| {
                v.pointer("/errors/0/message")
                    .or_else(|| v.get("error_description"))
                    .or_else(|| v.get("message"))
                    .and_then(|m| m.as_str())
                    .map(|m| m.chars().take(300).collect::<String>())
            })
            .unwrap_or_else(|| "refused".into());
        return Err(Error::Provider {
            service: service_name,
            status: Some(status.as_u16()),
            message: format!("exchanging the Entra ID access token: {message}"),
            hint: "the registry refused the Entra ID token at /oauth2/exchange: it must be \
                   current, of the registry's tenant, and its identity needs a role on the \
                   registry (AcrPull to browse, AcrDelete to delete)"
                .into(),
        });
    }
    let got: Exchanged = serde_json::from_slice(&raw).map_err(|e| Error::Invalid {
        what: "ACR /oauth2/exchange answer".into(),
        detail: e.to_string(),
    })?;
    if got.refresh_token.is_empty() {
        return Err(Error::Invalid {
            what: "ACR /oauth2/exchange answer".into(),
            detail: "no refresh_token".into(),
        });
    }
    Ok(Credential::IdentityToken {
        username: REFRESH_TOKEN_USER.into(),
        token: Secret::new(got.refresh_token),
    })
}

/// The zero GUID says the password is a refresh token: the refresh_token grant.
fn refresh_grant(c: Credential) -> Credential {
    match c {
        Credential::Basic { username, password } if username == REFRESH_TOKEN_USER => {
            Credential::IdentityToken {
                username,
                token: password,
            }
        }
        c => c,
    }
}

/// The ACR provider.
pub struct Acr {
    v2: RenewingV2,
    host: String,
    who: String,
}

/// `changeableAttributes` of a repository, manifest or tag.
#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    #[serde(default = "yes")]
    delete_enabled: bool,
    #[serde(default = "yes")]
    write_enabled: bool,
}

fn yes() -> bool {
    true
}

impl Attributes {
    /// The lock these attributes put on `what`, in ACR's terms.
    fn lock(&self, what: &str) -> Option<String> {
        match (self.delete_enabled, self.write_enabled) {
            (true, true) => None,
            (false, true) => Some(format!("{what} has deleteEnabled: false")),
            (true, false) => Some(format!("{what} has writeEnabled: false")),
            (false, false) => Some(format!("{what} has deleteEnabled and writeEnabled false")),
        }
    }
}

#[derive(Deserialize)]
struct ManifestsPage {
    #[serde(default)]
    manifests: Vec<AcrManifest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcrManifest {
    digest: String,
    #[serde(default)]
    image_size: u64,
    #[serde(default)]
    created_time: Option<String>,
    #[serde(default)]
    last_update_time: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    changeable_attributes: Option<Attributes>,
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Vec<AcrTag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcrTag {
    name: String,
    #[serde(default)]
    last_update_time: Option<String>,
    #[serde(default)]
    changeable_attributes: Option<Attributes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repository {
    #[serde(default)]
    changeable_attributes: Option<Attributes>,
}

/// A 405 on a delete is ACR refusing a locked item (not deletes switched off, as on
/// distribution): its own message, verbatim, with what to change.
fn refused(e: Error, host: &str) -> Error {
    let errors = match e {
        Error::DeleteDisabled { errors } | Error::MethodNotAllowed { errors, .. } => errors,
        e => return e,
    };
    Error::Provider {
        service: format!("Azure Container Registry ({host})"),
        status: Some(405),
        message: errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "delete refused".into()),
        hint: "the tag, its manifest or the repository is locked (deleteEnabled or writeEnabled \
               false): `az acr repository update --delete-enabled true --write-enabled true`"
            .into(),
    }
}

fn metadata_scope(repo: &str) -> String {
    format!("repository:{repo}:metadata_read")
}

impl Acr {
    /// Every page of an `/acr/v1` listing, following `Link`.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        repo: &str,
        what: &str,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if out.len() > 10_000 {
                return Err(Error::Invalid {
                    what: what.into(),
                    detail: "more than 10000 pages".into(),
                });
            }
            let (body, link) = self
                .v2
                .get()
                .await?
                .get_api(&url, &metadata_scope(repo), what, PAGE_LIMIT)
                .await?;
            out.push(serde_json::from_slice(&body).map_err(|e| Error::Invalid {
                what: what.into(),
                detail: e.to_string(),
            })?);
            next = link;
        }
        Ok(out)
    }
}

/// Rows from the three listings: one per tag of each manifest; a tag is locked by its own
/// attributes, its manifest's or the repository's.
fn rows_of(
    manifests: Vec<AcrManifest>,
    tags: &HashMap<String, AcrTag>,
    repo_lock: Option<String>,
) -> Vec<TagRow> {
    let mut rows = Vec::new();
    for m in manifests {
        let platforms = match (&m.os, &m.architecture) {
            (Some(os), Some(arch)) if !os.is_empty() && !arch.is_empty() => vec![PlatformEntry {
                platform: platform_string(os, arch, None),
                digest: m.digest.clone(),
                size: m.image_size,
            }],
            _ => Vec::new(),
        };
        let manifest_lock = m
            .changeable_attributes
            .and_then(|a| a.lock(&format!("manifest {}", m.digest)));
        for t in &m.tags {
            let own = tags.get(t);
            let tag_lock = own
                .and_then(|o| o.changeable_attributes)
                .and_then(|a| a.lock(&format!("tag {t}")));
            rows.push(TagRow {
                tag: t.clone(),
                digest: m.digest.clone(),
                media_type: m.media_type.clone().unwrap_or_default(),
                size: m.image_size,
                created: m.created_time.clone(),
                pushed: own
                    .and_then(|o| o.last_update_time.clone())
                    .or_else(|| m.last_update_time.clone()),
                platforms: platforms.clone(),
                blobs: Vec::new(),
                locked: tag_lock
                    .or_else(|| manifest_lock.clone())
                    .or_else(|| repo_lock.clone()),
                pulled: None,
            });
        }
    }
    rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
    rows
}

impl ProviderApi for Acr {
    fn kind(&self) -> &'static str {
        "acr"
    }

    fn label(&self) -> String {
        format!("Azure Container Registry ({})", self.host)
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn auth(&self) -> String {
        self.who.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_repos: true,
            delete_digest: true,
            delete_tag: true,
        }
    }

    fn v2(&self) -> BoxFut<'_, Arc<Distribution>> {
        Box::pin(self.v2.get())
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move { self.v2.get().await?.list_repos(sink).await })
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            crate::registry::reference::validate_repository(repo)?;
            let what = format!("manifests of {repo}");
            let (body, _) = self
                .v2
                .get()
                .await?
                .get_api(
                    &format!("/acr/v1/{repo}"),
                    &metadata_scope(repo),
                    &format!("repository {repo}"),
                    PAGE_LIMIT,
                )
                .await?;
            let repository: Repository =
                serde_json::from_slice(&body).map_err(|e| Error::Invalid {
                    what: format!("repository {repo}"),
                    detail: e.to_string(),
                })?;
            let repo_lock = repository
                .changeable_attributes
                .and_then(|a| a.lock(&format!("repository {repo}")));
            let manifests: Vec<ManifestsPage> = self
                .pages(format!("/acr/v1/{repo}/_manifests?n={PAGE}"), repo, &what)
                .await?;
            let tag_pages: Vec<TagsPage> = self
                .pages(
                    format!("/acr/v1/{repo}/_tags?n={PAGE}"),
                    repo,
                    &format!("tags of {repo}"),
                )
                .await?;
            let tags: HashMap<String, AcrTag> = tag_pages
                .into_iter()
                .flat_map(|p| p.tags)
                .map(|t| (t.name.clone(), t))
                .collect();
            Ok(rows_of(
                manifests.into_iter().flat_map(|p| p.manifests).collect(),
                &tags,
                repo_lock,
            ))
        })
    }

    fn has_sizes(&self) -> bool {
        true
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move {
            crate::registry::reference::validate_repository(repo)?;
            crate::registry::reference::validate_tag(tag)?;
            self.v2
                .get()
                .await?
                .delete_api(
                    &format!("/acr/v1/{repo}/_tags/{tag}"),
                    &format!("repository:{repo}:delete"),
                    &format!("{repo}:{tag}"),
                )
                .await
                .map_err(|e| refused(e, &self.host))?;
            Ok(TagDeleteMethod::ProviderApi)
        })
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let r = self.v2.get().await?.delete_manifest(repo, digest).await;
            r.map_err(|e| refused(e, &self.host))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_entra_issued_jwt_is_exchanged() {
        use base64::Engine as _;
        let jwt = |claims: &str| {
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!("{}.{}.sig", e.encode("{}"), e.encode(claims))
        };
        let basic = |p: String| Credential::Basic {
            username: "u".into(),
            password: Secret::new(p),
        };
        let (_, tenant) = entra_token(&basic(jwt(
            r#"{"iss":"https://sts.windows.net/t-1/","tid":"t-1"}"#,
        )))
        .unwrap();
        assert_eq!(tenant.as_deref(), Some("t-1"));
        assert!(
            entra_token(&basic(jwt(
                r#"{"iss":"https://login.microsoftonline.com/t/v2.0"}"#
            )))
            .is_some_and(|(_, t)| t.is_none())
        );
        // An ACR refresh token is a JWT too, issued by the registry: kept as it is.
        assert!(entra_token(&basic(jwt(r#"{"iss":"Azure Container Registry"}"#))).is_none());
        assert!(entra_token(&basic("plain-password".into())).is_none());
        assert!(entra_token(&basic("a.!!!.c".into())).is_none());
        assert!(entra_token(&Credential::Anonymous).is_none());
    }

    #[test]
    fn locks_come_from_the_tag_its_manifest_or_the_repository() {
        let manifests: ManifestsPage = serde_json::from_str(
            r#"{"manifests":[
              {"digest":"sha256:1","imageSize":10,"createdTime":"2024-01-01T00:00:00.1Z",
               "lastUpdateTime":"2024-01-01T00:00:00.1Z","architecture":"amd64","os":"linux",
               "tags":["a","b"],"changeableAttributes":{"deleteEnabled":true,"writeEnabled":true}},
              {"digest":"sha256:2","imageSize":20,"tags":["c"],
               "changeableAttributes":{"deleteEnabled":false,"writeEnabled":true}}]}"#,
        )
        .unwrap();
        let tags: TagsPage = serde_json::from_str(
            r#"{"tags":[{"name":"a","lastUpdateTime":"2024-02-01T00:00:00Z",
               "changeableAttributes":{"deleteEnabled":true,"writeEnabled":false}},
              {"name":"b"},{"name":"c"}]}"#,
        )
        .unwrap();
        let tags = tags.tags.into_iter().map(|t| (t.name.clone(), t)).collect();
        let rows = rows_of(manifests.manifests, &tags, None);
        let by: HashMap<&str, &TagRow> = rows.iter().map(|r| (r.tag.as_str(), r)).collect();
        assert_eq!(
            by["a"].locked.as_deref(),
            Some("tag a has writeEnabled: false")
        );
        assert_eq!(by["a"].pushed.as_deref(), Some("2024-02-01T00:00:00Z"));
        assert_eq!(by["b"].locked, None);
        assert_eq!(by["b"].platforms[0].platform, "linux/amd64");
        assert!(
            by["c"]
                .locked
                .as_deref()
                .unwrap()
                .contains("deleteEnabled: false")
        );
        assert!(serves("acmeprod.azurecr.io"));
        assert!(!serves("azurecr.io.example.com"));
    }
}
