//! AWS ECR through the official SDK (the `ecr` feature): repositories, images with sizes and push dates in bulk, and
//! deletes; manifests and configs via v2 with `AWS:<token>` from GetAuthorizationToken.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::primitives::DateTimeFormat;
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, TagStatus};
use base64::Engine as _;
use tokio::sync::{Mutex, OnceCell};

use crate::registry::auth::{Credential, Secret};
use crate::registry::distribution::{Distribution, DistributionOptions};
use crate::registry::model::{TagDeleteMethod, TagRow};
use crate::registry::ops::natural_cmp;
use crate::registry::providers::{PageBudget, ProviderApi};
use crate::registry::reference::RegistryAddr;
use crate::registry::{BoxFut, Capabilities, Error, PageSink, Result};

/// ECR documents 12 h for authorization tokens.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Renew this long before the token expires.
const RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);

/// Where and as whom to reach ECR.
#[derive(Debug, Clone, Default)]
pub struct EcrSettings {
    pub region: Option<String>,
    pub aws_profile: Option<String>,
    /// The account whose registry to use (default: the caller's).
    pub registry_id: Option<String>,
    /// An ECR-compatible endpoint (e.g. an emulator); default: AWS.
    pub endpoint_url: Option<String>,
    /// v2 address to use instead of the token's proxy endpoint.
    pub registry: Option<String>,
    /// v2 options (CA, timeouts, concurrency) applied to the token's endpoint.
    pub v2_template: Option<DistributionOptions>,
}

/// The ECR provider.
pub struct Ecr {
    settings: EcrSettings,
    client: OnceCell<Client>,
    /// The v2 client with its token, and when that token must be renewed.
    v2: Mutex<Option<(Arc<Distribution>, SystemTime)>>,
    /// Set when the registry refused the token: the next call fetches a new one.
    stale: std::sync::atomic::AtomicBool,
    host: std::sync::Mutex<String>,
}

/// Turns an SDK error into one a user can act on.
fn sdk_error<E>(what: &str, e: SdkError<E, aws_sdk_ecr::config::http::HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    let mut status = None;
    let (code, message) = match &e {
        SdkError::ServiceError(s) => {
            status = Some(s.raw().status().as_u16());
            let (mut code, mut message) = (
                s.err().code().unwrap_or("").to_string(),
                s.err().message().unwrap_or("").to_string(),
            );
            // A body the SDK could not read as JSON (an XML error from a proxy or an
            // emulator): take code and message from it.
            if code.is_empty() && message.is_empty() {
                let body = String::from_utf8_lossy(s.raw().body().bytes().unwrap_or_default())
                    .into_owned();
                let between = |a: &str, b: &str| {
                    let i = body.find(a)? + a.len();
                    Some(body[i..i + body[i..].find(b)?].to_string())
                };
                code = between("<Code>", "</Code>").unwrap_or_default();
                message = between("<Message>", "</Message>")
                    .unwrap_or_else(|| body.chars().take(200).collect());
            }
            (code, message)
        }
        SdkError::DispatchFailure(d) => (
            String::new(),
            if d.is_timeout() {
                "timed out".to_string()
            } else if d.is_io() {
                "could not connect".to_string()
            } else {
                "request failed".to_string()
            },
        ),
        SdkError::TimeoutError(_) => (String::new(), "timed out".to_string()),
        other => (String::new(), format!("{other}")),
    };
    let hint = match code.as_str() {
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "SignatureDoesNotMatch" => {
            "check the AWS credentials of this profile (aws_profile, AWS_* variables, SSO login): \
             `aws sts get-caller-identity` shows who you are"
        }
        "RepositoryNotFoundException" => "the repository does not exist in this registry",
        "" if message == "could not connect" => "check region / endpoint_url and the network",
        _ => "",
    };
    let message = match (code.is_empty(), message.is_empty()) {
        (true, _) => format!("{what}: {message}"),
        (false, true) => format!("{what}: {code}"),
        (false, false) => format!("{what}: {code}: {message}"),
    };
    Error::Provider {
        service: "AWS ECR".into(),
        status,
        message,
        hint: hint.into(),
    }
}

fn rfc3339(t: &aws_sdk_ecr::primitives::DateTime) -> Option<String> {
    t.fmt(DateTimeFormat::DateTime).ok()
}

impl Ecr {
    /// A provider; the SDK configuration loads on first use.
    pub fn new(settings: EcrSettings) -> Self {
        let host = settings
            .registry
            .as_deref()
            .and_then(|r| RegistryAddr::parse(r).ok())
            .map(|a| a.host)
            .unwrap_or_else(|| match (&settings.registry_id, &settings.region) {
                (Some(id), Some(r)) => format!("{id}.dkr.ecr.{r}.amazonaws.com"),
                // Known once the first token names the endpoint.
                _ => String::new(),
            });
        Ecr {
            settings,
            client: OnceCell::new(),
            v2: Mutex::new(None),
            stale: Default::default(),
            host: std::sync::Mutex::new(host),
        }
    }

    async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let mut loader =
                    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
                if let Some(r) = &self.settings.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                if let Some(p) = &self.settings.aws_profile {
                    loader = loader.profile_name(p);
                }
                if let Some(e) = &self.settings.endpoint_url {
                    loader = loader.endpoint_url(e);
                }
                let conf = loader.load().await;
                if conf.region().is_none() {
                    return Err(Error::Config(
                        "ECR profile: no AWS region; set `region` in the profile or AWS_REGION"
                            .into(),
                    ));
                }
                Ok(Client::new(&conf))
            })
            .await
    }

    /// A fresh `AWS:<token>` credential and the v2 address from GetAuthorizationToken.
    async fn token(&self) -> Result<(Credential, String, SystemTime)> {
        let out = self
            .client()
            .await?
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| sdk_error("GetAuthorizationToken", e))?;
        let data = out
            .authorization_data()
            .first()
            .ok_or_else(|| Error::Invalid {
                what: "ECR authorization".into(),
                detail: "no authorization data".into(),
            })?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(data.authorization_token().unwrap_or(""))
            .map_err(|e| Error::Invalid {
                what: "ECR authorization token".into(),
                detail: e.to_string(),
            })?;
        let text = String::from_utf8(raw).map_err(|_| Error::Invalid {
            what: "ECR authorization token".into(),
            detail: "not UTF-8".into(),
        })?;
        let (user, pass) = text.split_once(':').ok_or_else(|| Error::Invalid {
            what: "ECR authorization token".into(),
            detail: "not user:password".into(),
        })?;
        let now = SystemTime::now();
        // An expiry already past (emulators, a skewed clock) falls back to the documented 12 h.
        let expires = data
            .expires_at()
            .and_then(|t| SystemTime::try_from(*t).ok())
            .filter(|t| *t > now)
            // Never believed beyond the documented 12 h.
            .map(|t| t.min(now + TOKEN_LIFETIME))
            .unwrap_or(now + TOKEN_LIFETIME);
        // The token works for every registry the caller may access; another account's
        // registry is addressed by its id.
        let other_account = match (&self.settings.registry_id, &self.settings.region) {
            (Some(id), Some(r)) => Some(format!("https://{id}.dkr.ecr.{r}.amazonaws.com")),
            _ => None,
        };
        let endpoint = self
            .settings
            .registry
            .clone()
            .or(other_account)
            .or_else(|| data.proxy_endpoint().map(str::to_string))
            .ok_or_else(|| {
                Error::Config("ECR returned no registry endpoint; set `registry`".into())
            })?;
        Ok((
            Credential::Basic {
                username: user.to_string(),
                password: Secret::new(pass),
            },
            endpoint,
            expires,
        ))
    }
}

impl ProviderApi for Ecr {
    fn kind(&self) -> &'static str {
        "ecr"
    }

    fn label(&self) -> String {
        let host = self.host.lock().unwrap().clone();
        match (host.is_empty(), &self.settings.region) {
            (false, _) => format!("{host} (ECR)"),
            (true, Some(r)) => format!("AWS ECR ({r})"),
            (true, None) => "AWS ECR".into(),
        }
    }

    fn host(&self) -> String {
        self.host.lock().unwrap().clone()
    }

    fn auth(&self) -> String {
        match &self.settings.aws_profile {
            Some(p) => format!("AWS profile {p}"),
            None => "AWS default credentials".into(),
        }
    }

    fn accepts_login(&self) -> bool {
        false
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_repos: true,
            delete_digest: true,
            delete_tag: true,
        }
    }

    fn v2(&self) -> BoxFut<'_, Arc<Distribution>> {
        Box::pin(async move {
            let mut slot = self.v2.lock().await;
            let stale = self.stale.swap(false, std::sync::atomic::Ordering::SeqCst);
            if let Some((d, renew_at)) = slot.as_ref() {
                if SystemTime::now() < *renew_at && !stale {
                    return Ok(d.clone());
                }
            }
            let (cred, endpoint, expires) = self.token().await?;
            let addr = RegistryAddr::parse(&endpoint)?;
            *self.host.lock().unwrap() = addr.host.clone();
            let mut opts =
                self.settings.v2_template.clone().unwrap_or_else(|| {
                    DistributionOptions::new(addr.clone(), Credential::Anonymous)
                });
            opts.addr = addr;
            opts.credential = cred;
            let d = Arc::new(Distribution::new(opts)?);
            let renew_at = expires.checked_sub(RENEW_BEFORE).unwrap_or(expires);
            *slot = Some((d.clone(), renew_at));
            Ok(d)
        })
    }

    fn v2_error(&self, e: Error) -> Error {
        match e {
            Error::Unauthorized { registry, .. } => {
                self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
                Error::Provider {
                    service: "AWS ECR".into(),
                    status: Some(401),
                    message: format!("{registry} refused the ECR authorization token"),
                    hint: "the token expired or was denied (the AWS principal needs \
                           ecr:GetAuthorizationToken and ecr:BatchGetImage on this repository); \
                           regtui fetches a new token on the next request"
                        .into(),
                }
            }
            e => e,
        }
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            let mut next: Option<String> = None;
            let mut budget = PageBudget::new("repository list");
            loop {
                let out = client
                    .describe_repositories()
                    .set_registry_id(self.settings.registry_id.clone())
                    .max_results(1000)
                    .set_next_token(next.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("DescribeRepositories", e))?;
                budget.take(out.repositories().len(), 0)?;
                sink(
                    out.repositories()
                        .iter()
                        .filter_map(|r| r.repository_name().map(str::to_string))
                        .collect(),
                );
                match out.next_token() {
                    Some(t) if !t.is_empty() => next = Some(t.to_string()),
                    _ => return Ok(()),
                }
            }
        })
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let mut rows = Vec::new();
            let mut next: Option<String> = None;
            let mut budget = PageBudget::new(format!("images of {repo}"));
            loop {
                let out = client
                    .describe_images()
                    .repository_name(repo)
                    .set_registry_id(self.settings.registry_id.clone())
                    .filter(
                        DescribeImagesFilter::builder()
                            .tag_status(TagStatus::Tagged)
                            .build(),
                    )
                    .max_results(1000)
                    .set_next_token(next.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error(&format!("DescribeImages {repo}"), e))?;
                budget.take(out.image_details().len(), 0)?;
                for img in out.image_details() {
                    for tag in img.image_tags() {
                        rows.push(TagRow {
                            locked: None,
                            // ECR records pulls: none recorded is "never pulled".
                            pulled: Some(img.last_recorded_pull_time().and_then(rfc3339)),
                            tag: tag.clone(),
                            digest: img.image_digest().unwrap_or("").to_string(),
                            media_type: img.image_manifest_media_type().unwrap_or("").to_string(),
                            size: img.image_size_in_bytes().unwrap_or(0).max(0) as u64,
                            created: None,
                            pushed: img.image_pushed_at().and_then(rfc3339),
                            platforms: vec![],
                            blobs: Vec::new(),
                        });
                    }
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() => next = Some(t.to_string()),
                    _ => break,
                }
            }
            rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
            Ok(rows)
        })
    }

    fn pull_dates(&self) -> bool {
        true
    }

    fn has_sizes(&self) -> bool {
        true
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let id = ImageIdentifier::builder().image_digest(digest).build();
            self.batch_delete(repo, id, digest).await
        })
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move {
            let id = ImageIdentifier::builder().image_tag(tag).build();
            self.batch_delete(repo, id, tag).await?;
            Ok(TagDeleteMethod::ProviderApi)
        })
    }
}

impl Ecr {
    /// BatchDeleteImage for one id; a per-id failure becomes an error naming it.
    async fn batch_delete(&self, repo: &str, id: ImageIdentifier, shown: &str) -> Result<()> {
        let out = self
            .client()
            .await?
            .batch_delete_image()
            .repository_name(repo)
            .set_registry_id(self.settings.registry_id.clone())
            .image_ids(id)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("BatchDeleteImage {repo}:{shown}"), e))?;
        if let Some(f) = out.failures().first() {
            let code = f.failure_code().map(|c| c.as_str()).unwrap_or("");
            return Err(match code {
                "ImageNotFound" | "ImageTagDoesNotMatchDigest" => Error::NotFound {
                    what: format!("{repo}:{shown} ({code})"),
                    errors: vec![],
                },
                _ => Error::Provider {
                    service: "AWS ECR".into(),
                    status: None,
                    message: format!(
                        "BatchDeleteImage {repo}:{shown}: {code}: {}",
                        f.failure_reason().unwrap_or("")
                    ),
                    hint: String::new(),
                },
            });
        }
        // Anything cached for this repository may now be stale.
        if let Some((d, _)) = self.v2.lock().await.as_ref() {
            d.forget(shown);
        }
        Ok(())
    }
}
