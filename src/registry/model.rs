//! Plain data the registry layer hands upwards: tags with sizes, manifests, configs, layers.

use std::collections::BTreeMap;

use serde::Serialize;

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema2 image manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema1 (legacy) manifest media types.
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Signed Docker schema1 manifest media type.
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image config media type.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The `Accept` header sent for manifests: every type we understand, never schema1.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest body we read.
pub const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;
/// Largest config blob we read.
pub const CONFIG_LIMIT: u64 = 16 * 1024 * 1024;

/// What a content descriptor says: digest, media type, size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Desc {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

/// One entry of an index or manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexChild {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    /// `os/arch[/variant]`, or `unknown` when the entry names no platform.
    pub platform: String,
    /// A buildx attestation manifest rather than a runnable image.
    pub attestation: bool,
}

/// The shape of a parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    /// A single image: its config and layers.
    Image { config: Desc, layers: Vec<Desc> },
    /// An index or manifest list: its children.
    Index { children: Vec<IndexChild> },
}

/// A manifest as fetched: verified digest, media type, raw body and parsed shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    /// The exact bytes the registry sent (their sha256 is `digest`).
    pub raw: Vec<u8>,
    pub kind: ManifestKind,
}

impl Manifest {
    /// Whether this is an index or manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.kind, ManifestKind::Index { .. })
    }

    /// Size of the manifest body itself.
    pub fn size(&self) -> u64 {
        self.raw.len() as u64
    }
}

/// One history entry of an image config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct HistoryEntry {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub empty_layer: bool,
}

/// The parts of an image config a person looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ConfigSummary {
    pub created: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub exposed_ports: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    #[serde(skip)]
    pub history: Vec<HistoryEntry>,
}

impl ConfigSummary {
    /// `os/arch[/variant]`.
    pub fn platform(&self) -> String {
        platform_string(&self.os, &self.architecture, self.variant.as_deref())
    }
}

/// Formats a platform as `os/arch[/variant]`.
pub fn platform_string(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    }
}

/// One platform of a tag: a single image gives one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformEntry {
    pub platform: String,
    pub digest: String,
    pub size: u64,
}

/// A tag with what the tags pane and `tags --long` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagRow {
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    /// Compressed bytes: config + layers; for an index the distinct blobs of all children.
    pub size: u64,
    /// RFC 3339 creation time from the image config.
    pub created: Option<String>,
    /// RFC 3339 time the provider says the image was pushed (ECR, GHCR, Docker Hub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
    pub platforms: Vec<PlatformEntry>,
    /// `(digest, size)` of every blob (config, layers; of all platforms for an index), when
    /// known: a selection of tags counts each shared blob once. Empty when a provider sized the
    /// tag in bulk.
    #[serde(skip)]
    pub blobs: Vec<(String, u64)>,
    /// Why the service itself refuses to delete or move this tag (a locked, immutable or
    /// protected tag), in its terms; the tag is then treated like a profile-protected one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<String>,
    /// When the tag was last pulled, where the service records pulls: `Some(None)` is "never
    /// pulled" (JSON `null`), `None` "not recorded" (left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pulled: Option<Option<String>>,
}

impl TagRow {
    /// The date retention rules and the date sort use: pushed where known, else created.
    pub fn date(&self) -> Option<i64> {
        self.pushed
            .as_deref()
            .and_then(unix_seconds)
            .or_else(|| self.created.as_deref().and_then(unix_seconds))
    }

    /// [`TagRow::date`] in nanoseconds, for sorting (ties only when the service's times tie).
    pub fn date_nanos(&self) -> Option<i128> {
        self.pushed
            .as_deref()
            .and_then(unix_nanos)
            .or_else(|| self.created.as_deref().and_then(unix_nanos))
    }
}

/// One layer with the history line that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerInfo {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub created_by: Option<String>,
}

/// Everything `inspect` shows about one reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub reference: String,
    pub digest: String,
    pub media_type: String,
    /// The manifest JSON as the registry sent it.
    pub manifest: serde_json::Value,
    pub config: Option<ConfigSummary>,
    pub layers: Vec<LayerInfo>,
    pub platforms: Vec<PlatformEntry>,
    /// Compressed size as in [`TagRow::size`].
    pub size: u64,
    /// Signatures, SBOMs, attestations referring to it (filled where they were looked up).
    pub referrers: Vec<super::referrers::Referrer>,
}

/// How a tag-only delete was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TagDeleteMethod {
    /// The registry untagged it directly (`DELETE /v2/<repo>/manifests/<tag>`).
    OciTagDelete,
    /// A unique dummy manifest was pushed to the tag and deleted by digest.
    DummyManifest,
    /// The provider's own API removed the tag (ECR BatchDeleteImage with imageTag).
    ProviderApi,
}

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2024-06-01T12:00:00.5+02:00`), or `None`.
pub fn unix_seconds(rfc3339: &str) -> Option<i64> {
    let s = rfc3339.trim().as_bytes();
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<i64> {
        std::str::from_utf8(s.get(a..b)?).ok()?.parse::<i64>().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match s.get(i) {
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) if s.len() == i + 6 && s[i + 3] == b':' => {
            let o = num(i + 1, i + 3)? * 3600 + num(i + 4, i + 6)? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    // Days from civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Nanoseconds since the Unix epoch of an RFC 3339 time, keeping its fraction: the date sort
/// orders with it, so two pushes within one second keep their order.
pub fn unix_nanos(rfc3339: &str) -> Option<i128> {
    let secs = unix_seconds(rfc3339)?;
    let s = rfc3339.trim();
    let mut nanos: i128 = 0;
    if let Some(frac) = s.get(19..).and_then(|r| r.strip_prefix('.')) {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        let mut padded = digits.chars().take(9).collect::<String>();
        while padded.len() < 9 {
            padded.push('0');
        }
        nanos = padded.parse().unwrap_or(0);
    }
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// RFC 3339 (UTC, milliseconds) of a time in milliseconds since the Unix epoch, as services
/// give them (`timeUploadedMs`).
pub fn rfc3339_millis(ms: i64) -> String {
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days, after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Adds sizes a server reported, saturating at `u64::MAX` instead of wrapping.
pub fn sum_sizes(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0u64, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2024-06-01T12:00:00Z"), Some(1_717_243_200));
        assert_eq!(
            unix_seconds("2024-06-01T14:00:00.123456789+02:00"),
            Some(1_717_243_200)
        );
        assert_eq!(unix_seconds("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds("2024-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("2024-06-01T12:00:00"), None);
    }

    #[test]
    fn dates_keep_their_fraction_and_millis_round_trip() {
        let a = unix_nanos("2024-06-01T12:00:00.1Z").unwrap();
        let b = unix_nanos("2024-06-01T12:00:00.25Z").unwrap();
        assert!(a < b);
        assert_eq!(b - a, 150_000_000);
        assert_eq!(
            rfc3339_millis(1_717_243_200_250),
            "2024-06-01T12:00:00.250Z"
        );
        assert_eq!(
            unix_nanos(&rfc3339_millis(1_717_243_200_250)),
            Some(1_717_243_200_250_000_000)
        );
    }
}
