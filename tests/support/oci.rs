//! Builds small but real images (blobs, configs, manifests, indexes), writes OCI layouts and pushes over HTTP.

#![allow(dead_code)]

use std::path::Path;

use serde_json::json;
use sha2::{Digest as _, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

pub fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Deterministic pseudo-random bytes, so fixtures are the same on every run.
pub fn noise(seed: &str, len: usize) -> Vec<u8> {
    let h = Sha256::digest(seed.as_bytes());
    let mut x = u64::from_le_bytes(h[..8].try_into().unwrap()) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct Blob {
    pub media_type: String,
    pub data: Vec<u8>,
    pub digest: String,
    pub size: u64,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Self {
        Blob {
            media_type: media_type.into(),
            digest: sha256(&data),
            size: data.len() as u64,
            data,
        }
    }
    /// A layer known only by its descriptor (content never written), for demo layouts.
    pub fn virtual_layer(media_type: &str, seed: &str, size: u64) -> Self {
        Blob {
            media_type: media_type.into(),
            digest: sha256(seed.as_bytes()),
            size,
            data: Vec::new(),
        }
    }
    pub fn descriptor(&self) -> serde_json::Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// A manifest (image or index) with every blob it needs.
#[derive(Clone, Debug)]
pub struct Image {
    pub media_type: String,
    pub manifest: Vec<u8>,
    pub digest: String,
    /// Config and layer blobs (for an index: of all children).
    pub blobs: Vec<Blob>,
    /// Child manifests of an index, pushed before it.
    pub children: Vec<Image>,
    pub platform: (String, String, Option<String>),
    pub created: String,
}

impl Image {
    /// config + layers, what regtui reports as the size of a single image.
    pub fn size(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
    pub fn config(&self) -> &Blob {
        &self.blobs[0]
    }
}

pub struct ImageSpec<'a> {
    pub seed: &'a str,
    pub created: &'a str,
    pub os: &'a str,
    pub arch: &'a str,
    pub variant: Option<&'a str>,
    pub layer_sizes: &'a [usize],
    pub docker: bool,
    pub labels: &'a [(&'a str, &'a str)],
    /// Layers exist only as descriptors (seeded digests), so sizes can be realistic.
    pub virtual_layers: bool,
}

impl Default for ImageSpec<'_> {
    fn default() -> Self {
        ImageSpec {
            seed: "x",
            created: "2024-01-01T00:00:00Z",
            os: "linux",
            arch: "amd64",
            variant: None,
            layer_sizes: &[1000],
            docker: false,
            labels: &[],
            virtual_layers: false,
        }
    }
}

/// A single-platform OCI image with just a seed, a created date and layer sizes.
pub fn simple(seed: &'static str, created: &'static str, sizes: &'static [usize]) -> Image {
    image(&ImageSpec {
        seed,
        created,
        layer_sizes: sizes,
        ..Default::default()
    })
}

pub fn image(s: &ImageSpec) -> Image {
    let layer_type = if s.docker { DOCKER_LAYER } else { OCI_LAYER };
    let layers: Vec<Blob> = s
        .layer_sizes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let seed = format!("{}-layer-{i}", s.seed);
            if s.virtual_layers {
                Blob::virtual_layer(layer_type, &seed, *n as u64)
            } else {
                Blob::new(layer_type, noise(&seed, *n))
            }
        })
        .collect();
    let mut history: Vec<serde_json::Value> = Vec::new();
    for (i, _) in layers.iter().enumerate() {
        if i == 1 {
            history.push(json!({"created": s.created, "created_by": "ENV PATH=/usr/bin", "empty_layer": true}));
        }
        history.push(
            json!({"created": s.created, "created_by": format!("RUN step-{i} # {}", s.seed)}),
        );
    }
    let labels: serde_json::Map<String, serde_json::Value> = s
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut cfg = json!({
        "created": s.created,
        "architecture": s.arch,
        "os": s.os,
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin", format!("SEED={}", s.seed)],
            "Cmd": ["/bin/app", "--serve"],
            "Entrypoint": ["/entry.sh"],
            "ExposedPorts": {"8080/tcp": {}},
            "WorkingDir": "/srv",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha256(&[l.digest.as_bytes(), b"diff"].concat())).collect::<Vec<_>>()},
        "history": history,
    });
    if let Some(v) = s.variant {
        cfg["variant"] = json!(v);
    }
    let config = Blob::new(
        if s.docker { DOCKER_CONFIG } else { OCI_CONFIG },
        serde_json::to_vec(&cfg).unwrap(),
    );
    let media_type = if s.docker {
        DOCKER_MANIFEST
    } else {
        OCI_MANIFEST
    };
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
    }))
    .unwrap();
    let mut blobs = vec![config];
    blobs.extend(layers);
    Image {
        media_type: media_type.into(),
        digest: sha256(&manifest),
        manifest,
        blobs,
        children: vec![],
        platform: (s.os.into(), s.arch.into(), s.variant.map(str::to_string)),
        created: s.created.into(),
    }
}

/// An index (OCI) or manifest list (Docker) over the given images.
pub fn index(children: Vec<Image>, docker: bool) -> Image {
    let media_type = if docker { DOCKER_LIST } else { OCI_INDEX };
    let manifests: Vec<serde_json::Value> = children
        .iter()
        .map(|c| {
            let mut p = json!({"os": c.platform.0, "architecture": c.platform.1});
            if let Some(v) = &c.platform.2 {
                p["variant"] = json!(v);
            }
            json!({"mediaType": c.media_type, "digest": c.digest, "size": c.manifest.len(), "platform": p})
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": manifests,
    }))
    .unwrap();
    Image {
        media_type: media_type.into(),
        digest: sha256(&manifest),
        manifest,
        blobs: vec![],
        created: children
            .first()
            .map(|c| c.created.clone())
            .unwrap_or_default(),
        children,
        platform: ("".into(), "".into(), None),
    }
}

/// Distinct blobs of an index's children (what regtui reports as an index's size).
pub fn index_size(img: &Image) -> u64 {
    let mut seen = std::collections::BTreeMap::new();
    for c in &img.children {
        for b in &c.blobs {
            seen.insert(b.digest.clone(), b.size);
        }
    }
    seen.values().sum()
}

/// Writes images as an OCI layout directory; `with_layers` false leaves layer blobs out.
pub fn write_layout(dir: &Path, tagged: &[(&str, &Image)], with_layers: bool) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let put = |d: &str, data: &[u8]| {
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), data).unwrap();
    };
    fn walk(img: &Image, with_layers: bool, put: &dyn Fn(&str, &[u8])) {
        put(&img.digest, &img.manifest);
        for (i, b) in img.blobs.iter().enumerate() {
            if i == 0 || with_layers {
                put(&b.digest, &b.data);
            }
        }
        for c in &img.children {
            walk(c, with_layers, put);
        }
    }
    let mut entries = Vec::new();
    for (tag, img) in tagged {
        walk(img, with_layers, &put);
        entries.push(json!({
            "mediaType": img.media_type,
            "digest": img.digest,
            "size": img.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();
}

/// Pushes over plain HTTP to an open registry (the fixtures are filled before auth is switched on).
pub struct Pusher {
    pub base: String,
    pub http: reqwest::Client,
    /// Basic credentials for an htpasswd registry.
    pub auth: Option<(String, String)>,
}

impl Pusher {
    pub fn new(base: &str) -> Self {
        Pusher {
            base: base.to_string(),
            http: reqwest::Client::new(),
            auth: None,
        }
    }

    fn req(&self, m: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        let rb = self.http.request(m, url);
        match &self.auth {
            Some((u, p)) => rb.basic_auth(u, Some(p)),
            None => rb,
        }
    }

    pub async fn blob(&self, repo: &str, b: &Blob) {
        let head = self
            .req(
                reqwest::Method::HEAD,
                format!("{}/v2/{repo}/blobs/{}", self.base, b.digest),
            )
            .send()
            .await
            .unwrap();
        if head.status().is_success() {
            return;
        }
        let start = self
            .req(
                reqwest::Method::POST,
                format!("{}/v2/{repo}/blobs/uploads/", self.base),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(start.status().as_u16(), 202, "start blob upload to {repo}");
        let loc = start.headers()["location"].to_str().unwrap().to_string();
        let loc = if loc.starts_with('/') {
            format!("{}{loc}", self.base)
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = self
            .req(
                reqwest::Method::PUT,
                format!("{loc}{sep}digest={}", b.digest),
            )
            .header("content-type", "application/octet-stream")
            .body(b.data.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "finish blob upload to {repo}");
    }

    pub async fn manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) {
        let r = self
            .req(
                reqwest::Method::PUT,
                format!("{}/v2/{repo}/manifests/{reference}", self.base),
            )
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            status,
            201,
            "PUT manifest {repo}:{reference}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// Pushes an image or index with all its children and blobs, then tags it.
    pub async fn image(&self, repo: &str, tag: &str, img: &Image) {
        self.content(repo, img).await;
        self.manifest(repo, tag, &img.media_type, &img.manifest)
            .await;
    }

    async fn content(&self, repo: &str, img: &Image) {
        for b in &img.blobs {
            self.blob(repo, b).await;
        }
        for c in &img.children {
            for b in &c.blobs {
                self.blob(repo, b).await;
            }
            self.manifest(repo, &c.digest, &c.media_type, &c.manifest)
                .await;
        }
    }
}
