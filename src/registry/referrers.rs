//! What refers to a manifest (signatures, SBOMs, attestations), from all three places tools keep
//! it: the OCI 1.1 referrers API, the fallback tag `sha256-<hex>` (an index of referrer
//! descriptors), and cosign's legacy tags `sha256-<hex>.sig` / `.att` / `.sbom`; one list.
//! Providers add what their own API records ([`Backend::provider_referrers`]: Harbor's
//! accessories).

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::OCI_INDEX;
use super::{Backend, Error, Result};

/// Where a referrer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The registry's referrers API.
    Api,
    /// The `sha256-<hex>` index tag of registries without the API.
    FallbackTag,
    /// cosign's `sha256-<hex>.sig` / `.att` / `.sbom` tags.
    CosignTag,
    /// Harbor's `accessories` of an artifact (its own record of signatures and SBOMs).
    HarborAccessory,
}

/// What a referrer is, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A signature (`tool`: cosign, notation).
    Signature { tool: String },
    /// A software bill of materials (`format`: SPDX, CycloneDX).
    Sbom { format: String },
    /// An attestation (in-toto, provenance), with its predicate type when the artifact says it.
    Attestation { predicate: Option<String> },
    /// Anything else: the artifact type says what.
    Other,
}

impl Kind {
    /// A short label: `signature (cosign)`, `SBOM (SPDX)`, `attestation`, `artifact`.
    pub fn label(&self) -> String {
        match self {
            Kind::Signature { tool } => format!("signature ({tool})"),
            Kind::Sbom { format } => format!("SBOM ({format})"),
            Kind::Attestation { predicate: Some(p) } => format!("attestation ({p})"),
            Kind::Attestation { predicate: None } => "attestation".into(),
            Kind::Other => "artifact".into(),
        }
    }
}

/// One manifest that refers to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referrer {
    pub digest: String,
    pub artifact_type: String,
    pub media_type: String,
    pub size: u64,
    pub annotations: BTreeMap<String, String>,
    pub source: Source,
    #[serde(flatten)]
    pub kind: Kind,
    /// The tag it was found under (fallback and cosign tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Most referrers read for one manifest.
const MAX_REFERRERS: usize = 10_000;

/// Names an artifact by its artifact type (or config media type) and annotations.
pub fn classify(artifact_type: &str, annotations: &BTreeMap<String, String>) -> Kind {
    let t = artifact_type.to_ascii_lowercase();
    let predicate = annotations
        .get("dev.sigstore.bundle.predicateType")
        .or_else(|| annotations.get("in-toto.io/predicate-type"))
        .or_else(|| annotations.get("predicateType"))
        .cloned();
    if t.contains("cosign") && t.contains("sig")
        || t.contains("sigstore.bundle") && predicate.is_none()
    {
        Kind::Signature {
            tool: "cosign".into(),
        }
    } else if t.contains("notary") || t.contains("notation") {
        Kind::Signature {
            tool: "notation".into(),
        }
    } else if t.contains("spdx") {
        Kind::Sbom {
            format: "SPDX".into(),
        }
    } else if t.contains("cyclonedx") {
        Kind::Sbom {
            format: "CycloneDX".into(),
        }
    } else if t.contains("in-toto")
        || t.contains("dsse")
        || t.contains("provenance")
        || predicate.is_some()
    {
        Kind::Attestation { predicate }
    } else {
        Kind::Other
    }
}

/// The fallback tag of a digest: `sha256:abc…` → `sha256-abc…`.
pub fn fallback_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// Whether a tag is a referrer tag (fallback or cosign) rather than an image tag.
pub fn is_artifact_tag(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix("sha256-") else {
        return false;
    };
    let hex = rest.split('.').next().unwrap_or("");
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn string_map(v: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The referrer descriptors of an index (API answer or fallback tag).
fn from_index(raw: &[u8], source: Source, tag: Option<&str>) -> Result<Vec<Referrer>> {
    let v: serde_json::Value = serde_json::from_slice(raw).map_err(|e| Error::Invalid {
        what: "referrers index".into(),
        detail: e.to_string(),
    })?;
    let Some(list) = v.get("manifests").and_then(|m| m.as_array()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for d in list.iter().take(MAX_REFERRERS) {
        let digest = d.get("digest").and_then(|x| x.as_str()).unwrap_or("");
        if super::digest::validate(digest).is_err() {
            continue;
        }
        let annotations = string_map(d.get("annotations"));
        let artifact_type = d
            .get("artifactType")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        out.push(Referrer {
            digest: digest.to_string(),
            kind: classify(&artifact_type, &annotations),
            artifact_type,
            media_type: d
                .get("mediaType")
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string(),
            size: d.get("size").and_then(|x| x.as_u64()).unwrap_or(0),
            annotations,
            source,
            tag: tag.map(str::to_string),
        });
    }
    Ok(out)
}

/// The manifest under `tag`, when the tag exists: from the known tag list, else asked for.
async fn tagged(
    b: &dyn Backend,
    repo: &str,
    tag: &str,
    tags: Option<&[String]>,
) -> Result<Option<std::sync::Arc<super::model::Manifest>>> {
    if tags.is_some_and(|t| !t.iter().any(|x| x == tag)) {
        return Ok(None);
    }
    match b.get_manifest(repo, tag).await {
        Ok(m) => Ok(Some(m)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything that refers to `digest` in `repo`: the API where the registry has it, else the
/// fallback tag, plus cosign's tags; each referrer once (the API wins over a tag).
/// `tags` is the repository's tag list when the caller has it; without it the few candidate
/// tags are asked for by name (no listing of a large repository).
pub async fn referrers(
    b: &dyn Backend,
    repo: &str,
    digest: &str,
    tags: Option<&[String]>,
) -> Result<Vec<Referrer>> {
    super::digest::validate(digest)?;
    let mut out: Vec<Referrer> = Vec::new();
    let api = b.referrers_api(repo, digest).await?;
    if let Some(raw) = &api {
        out.extend(from_index(raw, Source::Api, None)?);
    }
    let fallback = fallback_tag(digest);
    if api.is_none() {
        if let Some(m) = tagged(b, repo, &fallback, tags).await? {
            if m.media_type == OCI_INDEX {
                out.extend(from_index(&m.raw, Source::FallbackTag, Some(&fallback))?);
            }
        }
    }
    for (suffix, kind) in [
        (
            "sig",
            Kind::Signature {
                tool: "cosign".into(),
            },
        ),
        ("att", Kind::Attestation { predicate: None }),
        (
            "sbom",
            Kind::Sbom {
                format: "cosign".into(),
            },
        ),
    ] {
        let tag = format!("{fallback}.{suffix}");
        let Some(m) = tagged(b, repo, &tag, tags).await? else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_slice(&m.raw).unwrap_or_default();
        out.push(Referrer {
            digest: m.digest.clone(),
            // The manifest's own artifactType, else its config's media type (OCI 1.1).
            artifact_type: v
                .get("artifactType")
                .or_else(|| v.get("config").and_then(|c| c.get("mediaType")))
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string(),
            media_type: m.media_type.clone(),
            size: m.raw.len() as u64,
            annotations: string_map(v.get("annotations")),
            source: Source::CosignTag,
            kind,
            tag: Some(tag),
        });
    }
    // What the provider's API records (Harbor accessories); a failure hides only those.
    match b.provider_referrers(repo, digest).await {
        Ok(more) => out.extend(more.into_iter().take(MAX_REFERRERS)),
        Err(e) => {
            tracing::info!(target: "regtui::referrers", "provider referrers of {digest}: {e}")
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.digest.clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_kinds_and_artifact_tags() {
        let none = BTreeMap::new();
        assert_eq!(
            classify("application/vnd.dev.cosign.artifact.sig.v1+json", &none).label(),
            "signature (cosign)"
        );
        assert_eq!(
            classify("application/vnd.cncf.notary.signature", &none).label(),
            "signature (notation)"
        );
        assert_eq!(
            classify("application/spdx+json", &none).label(),
            "SBOM (SPDX)"
        );
        assert_eq!(
            classify("application/vnd.cyclonedx+json", &none).label(),
            "SBOM (CycloneDX)"
        );
        let pred = BTreeMap::from([(
            "dev.sigstore.bundle.predicateType".to_string(),
            "https://slsa.dev/provenance/v1".to_string(),
        )]);
        assert_eq!(
            classify("application/vnd.dev.sigstore.bundle.v0.3+json", &pred).label(),
            "attestation (https://slsa.dev/provenance/v1)"
        );
        assert_eq!(classify("application/x-thing", &none), Kind::Other);
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(fallback_tag(&d), format!("sha256-{}", "ab".repeat(32)));
        assert!(is_artifact_tag(&fallback_tag(&d)));
        assert!(is_artifact_tag(&format!("{}.sig", fallback_tag(&d))));
        assert!(!is_artifact_tag("sha256-short"));
        assert!(!is_artifact_tag("v1.2.3"));
    }
}
