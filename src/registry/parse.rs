//! Turns untrusted manifest and config bytes into the model, using `oci-spec` types.

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use super::digest;
use super::error::{Error, Result};
use super::model::*;

fn invalid(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

fn desc(d: &Descriptor) -> Result<Desc> {
    let digest = d.digest().to_string();
    digest::validate(&digest)?;
    Ok(Desc {
        digest,
        media_type: d.media_type().to_string(),
        size: d.size(),
    })
}

#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
}

/// Decides the media type from the body's `mediaType`, else the `Content-Type` header, else the shape.
fn media_type_of(body: &[u8], content_type: Option<&str>, reference: &str) -> Result<String> {
    let probe: Probe = serde_json::from_slice(body).map_err(|e| invalid("manifest JSON", e))?;
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "text/plain");
    let mt = probe.media_type.clone().or(header).unwrap_or_else(|| {
        if probe.manifests.is_some() {
            OCI_INDEX.to_string()
        } else if probe.config.is_some() {
            OCI_MANIFEST.to_string()
        } else {
            String::new()
        }
    });
    if probe.schema_version == Some(1) || mt == DOCKER_SCHEMA1 || mt == DOCKER_SCHEMA1_SIGNED {
        return Err(Error::LegacySchema1 {
            reference: reference.to_string(),
        });
    }
    Ok(mt)
}

/// Parses a manifest body whose digest is already known to be `digest`.
pub fn manifest(
    body: Vec<u8>,
    digest: String,
    content_type: Option<&str>,
    reference: &str,
) -> Result<Manifest> {
    let media_type = media_type_of(&body, content_type, reference)?;
    let kind = match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => {
            let index: ImageIndex =
                serde_json::from_slice(&body).map_err(|e| invalid("image index", e))?;
            let children = index
                .manifests()
                .iter()
                .map(|d| {
                    let base = desc(d)?;
                    let platform = d
                        .platform()
                        .as_ref()
                        .map(|p| {
                            platform_string(
                                &p.os().to_string(),
                                &p.architecture().to_string(),
                                p.variant().as_deref(),
                            )
                        })
                        .unwrap_or_else(|| "unknown".to_string());
                    let attestation = d
                        .annotations()
                        .as_ref()
                        .and_then(|a| a.get("vnd.docker.reference.type"))
                        .is_some_and(|t| t == "attestation-manifest");
                    Ok(IndexChild {
                        digest: base.digest,
                        media_type: base.media_type,
                        size: base.size,
                        platform,
                        attestation,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            ManifestKind::Index { children }
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let m: ImageManifest =
                serde_json::from_slice(&body).map_err(|e| invalid("image manifest", e))?;
            ManifestKind::Image {
                config: desc(m.config())?,
                layers: m.layers().iter().map(desc).collect::<Result<_>>()?,
            }
        }
        other => {
            return Err(Error::Unsupported(format!(
                "unsupported manifest media type {other:?} for {reference}"
            )));
        }
    };
    Ok(Manifest {
        digest,
        media_type,
        raw: body,
        kind,
    })
}

/// Whether a config media type is an image config we can summarise.
pub fn is_image_config(media_type: &str) -> bool {
    media_type == OCI_CONFIG || media_type == DOCKER_CONFIG
}

/// Parses an image config blob into the summary people look at.
pub fn config(body: &[u8]) -> Result<ConfigSummary> {
    let c: ImageConfiguration =
        serde_json::from_slice(body).map_err(|e| invalid("image config", e))?;
    let inner = c.config().as_ref();
    let mut labels = std::collections::BTreeMap::new();
    if let Some(l) = inner.and_then(|i| i.labels().as_ref()) {
        labels.extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let vec = |v: Option<&Vec<String>>| v.cloned().unwrap_or_default();
    Ok(ConfigSummary {
        created: c.created().clone(),
        os: c.os().to_string(),
        architecture: c.architecture().to_string(),
        variant: c.variant().clone(),
        env: vec(inner.and_then(|i| i.env().as_ref())),
        labels,
        cmd: vec(inner.and_then(|i| i.cmd().as_ref())),
        entrypoint: vec(inner.and_then(|i| i.entrypoint().as_ref())),
        exposed_ports: vec(inner.and_then(|i| i.exposed_ports().as_ref())),
        working_dir: inner
            .and_then(|i| i.working_dir().clone())
            .filter(|s| !s.is_empty()),
        user: inner
            .and_then(|i| i.user().clone())
            .filter(|s| !s.is_empty()),
        history: c
            .history()
            .as_ref()
            .map(|h| {
                h.iter()
                    .map(|e| HistoryEntry {
                        created: e.created().clone(),
                        created_by: e.created_by().clone(),
                        empty_layer: e.empty_layer().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Pairs each layer with the `created_by` of the history entry that made it (empty layers skipped).
pub fn layers_with_history(layers: &[Desc], config: Option<&ConfigSummary>) -> Vec<LayerInfo> {
    let mut made = config
        .map(|c| {
            c.history
                .iter()
                .filter(|h| !h.empty_layer)
                .map(|h| h.created_by.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter();
    layers
        .iter()
        .map(|l| LayerInfo {
            digest: l.digest.clone(),
            media_type: l.media_type.clone(),
            size: l.size,
            created_by: made.next().flatten(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn schema1_is_refused_clearly() {
        let body = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#.to_vec();
        let e = manifest(body, D1.into(), Some(DOCKER_SCHEMA1_SIGNED), "x:y").unwrap_err();
        assert!(e.to_string().contains("legacy Docker schema1"), "{e}");
    }

    #[test]
    fn parses_docker_list_with_platforms() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[
            {{"mediaType":"{DOCKER_MANIFEST}","digest":"{D1}","size":10,"platform":{{"architecture":"arm","os":"linux","variant":"v7"}}}}]}}"#
        );
        let m = manifest(body.into_bytes(), D1.into(), None, "x").unwrap();
        assert_eq!(m.media_type, DOCKER_LIST);
        match m.kind {
            ManifestKind::Index { children } => {
                assert_eq!(children[0].platform, "linux/arm/v7");
                assert_eq!(children[0].size, 10);
            }
            _ => panic!("not an index"),
        }
    }

    #[test]
    fn rejects_bad_digests_in_descriptors() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"sha256:../../x","size":2}},"layers":[]}}"#
        );
        assert!(manifest(body.into_bytes(), D1.into(), None, "x").is_err());
    }

    #[test]
    fn history_pairs_with_non_empty_layers() {
        let cfg = ConfigSummary {
            history: vec![
                HistoryEntry {
                    created_by: Some("ADD rootfs".into()),
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: Some("ENV A=1".into()),
                    empty_layer: true,
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: Some("RUN make".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let l = |n| Desc {
            digest: D1.into(),
            media_type: "x".into(),
            size: n,
        };
        let out = layers_with_history(&[l(1), l(2)], Some(&cfg));
        assert_eq!(out[0].created_by.as_deref(), Some("ADD rootfs"));
        assert_eq!(out[1].created_by.as_deref(), Some("RUN make"));
    }
}
