//! A Google Artifact Registry fixture in front of the real registry, after:
//! - https://cloud.google.com/artifact-registry/docs/docker/authentication (Basic
//!   `oauth2accesstoken` + access token at the token endpoint; the challenge names a realm and
//!   no `service`);
//! - go-containerregistry `pkg/v1/google/list.go` (the `tags/list` extension: `manifest` map of
//!   digest → `imageSizeBytes`, `mediaType`, `tag[]`, `timeCreatedMs`, `timeUploadedMs`, every
//!   int64 a JSON string; `child`; every tag in one answer);
//! - https://cloud.google.com/artifact-registry/docs/docker/manage-images (deleting a tag with
//!   `DELETE /v2/<name>/manifests/<tag>`; a digest that still has tags is refused with
//!   `GOOGLE_MANIFEST_DANGLING_TAG`);
//! - https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories
//!   (`dockerConfig.immutableTags`; `repositories.list`: `repositories[]` with `name`
//!   `projects/P/locations/L/repositories/R` and `format`, `pageSize`, `pageToken`,
//!   `nextPageToken`),
//!   https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.dockerImages/list
//!   (`dockerImages[]`: `name`, `uri` `L-docker.pkg.dev/P/R/IMAGE@sha256:…`, `tags`,
//!   `imageSizeBytes`, `uploadTime`, `mediaType`; paged the same way) and
//!   https://cloud.google.com/artifact-registry/docs/docker/immutable-tags (such tags are
//!   neither moved nor deleted).
//!
//! Everything else under `/v2/` passes through to the real registry once the bearer token is
//! valid. Tokens last `State::token_uses` requests each (an expiring token), and the first
//! `State::throttle` tags/list requests answer 429 with `Retry-After: 1`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::fixture::{Fixture, Request, Response, forward, proxy};
use super::oci::{Image, simple as img};
use super::{Options, Registry, push_images};

/// The OAuth access token the fixture accepts (as `gcloud auth print-access-token` prints).
pub const ACCESS_TOKEN: &str = "ya29.fixture-access-token";
pub const USER: &str = "oauth2accesstoken";

/// One tag as the `manifest` map describes its image.
#[derive(Debug, Clone)]
pub struct Entry {
    pub tag: String,
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    pub uploaded_ms: i64,
}

/// What the fixture holds.
#[derive(Debug, Default)]
pub struct State {
    /// Repository (`project/repository/image…`) → its tags.
    pub repos: BTreeMap<String, Vec<Entry>>,
    /// `project/repository` with immutable tags.
    pub immutable: HashSet<String>,
    /// Requests each token is good for (0 = unlimited).
    pub token_uses: usize,
    /// Token → requests left.
    pub tokens: HashMap<String, usize>,
    /// Tokens issued so far.
    pub issued: usize,
    /// tags/list requests still to answer with 429.
    pub throttle: usize,
    /// Largest REST page (`pageSize` is clamped to it; 0 = 1000).
    pub rest_page_max: usize,
    /// `project/repository` of non-Docker repositories (Maven) the REST API also lists.
    pub other_formats: Vec<String>,
    /// A hostile project: `(repositories, pages)` makes the REST API list that many Docker
    /// repositories `flood-N`, each answering `pages` full pages of 1000 images.
    pub flood: Option<(usize, usize)>,
}

pub type Shared = Arc<Mutex<State>>;

fn errors(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

fn challenge(base: &str) -> Response {
    errors(401, "UNAUTHORIZED", "Unauthenticated request.").with(
        "www-authenticate",
        &format!("Bearer realm=\"{base}/v2/token\""),
    )
}

/// Whether `req` carries a live token; uses one of its requests.
fn authorized(st: &mut State, req: &Request) -> bool {
    let Some(t) = req.bearer() else {
        return false;
    };
    let uses = st.token_uses;
    match st.tokens.get_mut(t) {
        Some(left) if uses == 0 => {
            let _ = left;
            true
        }
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

fn basic_ok(req: &Request) -> bool {
    use base64::Engine as _;
    let Some(b) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
        return false;
    };
    raw == format!("{USER}:{ACCESS_TOKEN}").as_bytes()
}

/// Google's tags/list answer for `repo`.
fn tags_list(repo: &str, entries: &[Entry]) -> serde_json::Value {
    let mut manifest = serde_json::Map::new();
    for e in entries {
        let m = manifest.entry(e.digest.clone()).or_insert_with(|| {
            json!({"imageSizeBytes": e.size.to_string(), "mediaType": e.media_type,
                   "tag": [], "timeCreatedMs": "0", "timeUploadedMs": e.uploaded_ms.to_string()})
        });
        m["tag"].as_array_mut().unwrap().push(json!(e.tag));
    }
    json!({"child": [], "manifest": manifest, "name": repo,
           "tags": entries.iter().map(|e| e.tag.clone()).collect::<Vec<_>>()})
}

/// One REST page of `items` under `key`: `pageSize` (clamped to `max`), an opaque
/// `pageToken`, and `nextPageToken` when more follow.
fn rest_page(req: &Request, key: &str, items: Vec<serde_json::Value>, max: usize) -> Response {
    let size = req
        .query("pageSize")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(max)
        .clamp(1, max);
    let start = match req.query("pageToken") {
        Some(t) => match t.strip_prefix("tok-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => {
                return Response::json(
                    400,
                    &json!({"error": {"code": 400, "message": "invalid page token",
                                      "status": "INVALID_ARGUMENT"}}),
                );
            }
        },
        None => 0,
    };
    let page: Vec<_> = items.iter().skip(start).take(size).cloned().collect();
    let mut body = json!({ key: page });
    if start + size < items.len() {
        body["nextPageToken"] = json!(format!("tok-{}", start + size));
    }
    Response::json(200, &body)
}

/// The hostile project's REST answers: `repos` repositories in one page, each paging `pages`
/// full pages of 1000 images (built as text: a million of them go by).
fn flood(req: &Request, parts: &[&str], repos: usize, pages: usize) -> Response {
    match parts {
        [p, "locations", l, "repositories"] => {
            let items: Vec<serde_json::Value> = (0..repos)
                .map(|i| {
                    json!({"name": format!("projects/{p}/locations/{l}/repositories/flood-{i}"),
                           "format": "DOCKER"})
                })
                .collect();
            Response::json(200, &json!({ "repositories": items }))
        }
        [p, "locations", l, "repositories", r, "dockerImages"] => {
            let page = req
                .query("pageToken")
                .and_then(|t| t.strip_prefix("tok-")?.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = String::from("{\"dockerImages\":[");
            for i in 0..1000 {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&format!(
                    "{{\"uri\":\"{l}-docker.pkg.dev/{p}/{r}/img@sha256:{page:06}{i:058}\"}}"
                ));
            }
            body.push(']');
            if page + 1 < pages {
                body.push_str(&format!(",\"nextPageToken\":\"tok-{}\"", page + 1));
            }
            body.push('}');
            Response {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.into_bytes(),
            }
        }
        _ => Response::json(404, &json!({"error": {"code": 404}})),
    }
}

/// Starts the fixture; v2 requests go on to the registry on `registry_port`.
pub fn start(state: State, registry_port: u16) -> (Fixture, Shared) {
    let st: Shared = Arc::new(Mutex::new(state));
    let s2 = st.clone();
    let base: Arc<Mutex<String>> = Default::default();
    let b2 = base.clone();
    let fx = proxy(registry_port, move |req| {
        let base = b2.lock().unwrap().clone();
        let path = req.path().to_string();
        let mut st = s2.lock().unwrap();
        if path == "/v2/token" {
            if !basic_ok(req) {
                return Some(errors(
                    401,
                    "UNAUTHORIZED",
                    "failed authentication: invalid credentials",
                ));
            }
            st.issued += 1;
            let t = format!("gar-token-{}", st.issued);
            let uses = st.token_uses;
            st.tokens.insert(t.clone(), uses);
            return Some(Response::json(
                200,
                &json!({"token": t, "expires_in": 3600}),
            ));
        }
        if let Some(rest) = path.strip_prefix("/v1/projects/") {
            if req.bearer() != Some(ACCESS_TOKEN) {
                return Some(Response::json(
                    401,
                    &json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
                ));
            }
            let parts: Vec<String> = rest
                .split('/')
                .map(super::fixture::percent_decode)
                .collect();
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let max = if st.rest_page_max == 0 {
                1000
            } else {
                st.rest_page_max
            };
            if let Some((repos, pages)) = st.flood {
                drop(st);
                return Some(flood(req, &parts, repos, pages));
            }
            match parts.as_slice() {
                // P/locations/L/repositories
                [p, "locations", l, "repositories"] => {
                    let mut items: Vec<(String, &str)> = st
                        .repos
                        .keys()
                        .filter_map(|k| {
                            let mut s = k.splitn(3, '/');
                            (s.next()? == *p)
                                .then(|| (s.next().unwrap_or("").to_string(), "DOCKER"))
                        })
                        .chain(st.other_formats.iter().filter_map(|k| {
                            let (kp, r) = k.split_once('/')?;
                            (kp == *p).then(|| (r.to_string(), "MAVEN"))
                        }))
                        .collect();
                    items.sort();
                    items.dedup();
                    let items: Vec<serde_json::Value> = items
                        .into_iter()
                        .map(|(r, f)| {
                            json!({"name": format!("projects/{p}/locations/{l}/repositories/{r}"),
                                   "format": f, "mode": "STANDARD_REPOSITORY"})
                        })
                        .collect();
                    return Some(rest_page(req, "repositories", items, max));
                }
                // P/locations/L/repositories/R/dockerImages
                [p, "locations", l, "repositories", r, "dockerImages"] => {
                    let prefix = format!("{p}/{r}/");
                    let mut items = Vec::new();
                    for (image, entries) in st.repos.iter().filter(|(k, _)| k.starts_with(&prefix))
                    {
                        let mut by_digest: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
                        for e in entries {
                            by_digest.entry(e.digest.as_str()).or_default().push(e);
                        }
                        let short = &image[prefix.len()..];
                        for (digest, es) in by_digest {
                            items.push(json!({
                                "name": format!("projects/{p}/locations/{l}/repositories/{r}/dockerImages/{}@{digest}",
                                    short.replace('/', "%2F")),
                                "uri": format!("{l}-docker.pkg.dev/{image}@{digest}"),
                                "tags": es.iter().map(|e| e.tag.clone()).collect::<Vec<_>>(),
                                "imageSizeBytes": es[0].size.to_string(),
                                "uploadTime": "2024-01-02T10:00:00.000Z",
                                "mediaType": es[0].media_type,
                            }));
                        }
                    }
                    return Some(rest_page(req, "dockerImages", items, max));
                }
                [_, "locations", _, "repositories", _] => {}
                _ => return Some(Response::json(404, &json!({"error": {"code": 404}}))),
            }
            let key = format!("{}/{}", parts[0], parts[4]);
            let immutable = st.immutable.contains(&key);
            return Some(Response::json(
                200,
                &json!({"name": format!("projects/{rest}"), "format": "DOCKER",
                        "dockerConfig": {"immutableTags": immutable}}),
            ));
        }
        let v2 = path.strip_prefix("/v2/")?;
        if !authorized(&mut st, req) {
            return Some(challenge(&base));
        }
        if let Some(repo) = v2.strip_suffix("/tags/list") {
            if st.throttle > 0 {
                st.throttle -= 1;
                return Some(
                    errors(429, "TOOMANYREQUESTS", "Quota exceeded").with("retry-after", "1"),
                );
            }
            let entries = st.repos.get(repo)?.clone();
            return Some(Response::json(200, &tags_list(repo, &entries)));
        }
        if req.method == "DELETE" {
            let (repo, reference) = v2.split_once("/manifests/")?;
            let key: String = repo.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
            let immutable = st.immutable.contains(&key);
            let entries = st.repos.get_mut(repo)?;
            if reference.starts_with("sha256:") {
                let tags: Vec<String> = entries
                    .iter()
                    .filter(|e| e.digest == reference)
                    .map(|e| e.tag.clone())
                    .collect();
                if !tags.is_empty() {
                    return Some(errors(
                        400,
                        "GOOGLE_MANIFEST_DANGLING_TAG",
                        &format!("Manifest is still referenced by tag: {}", tags.join(", ")),
                    ));
                }
                drop(st);
                return Some(forward(req, registry_port));
            }
            if immutable {
                return Some(errors(
                    400,
                    "DENIED",
                    &format!("Cannot delete tag {reference}: the repository has immutable tags"),
                ));
            }
            let before = entries.len();
            entries.retain(|e| e.tag != reference);
            return Some(if entries.len() < before {
                Response::empty(202)
            } else {
                errors(404, "MANIFEST_UNKNOWN", "Requested entity was not found.")
            });
        }
        None
    });
    *base.lock().unwrap() = fx.url.clone();
    (fx, st)
}

fn entry(tag: &str, i: &Image, size: u64, uploaded_ms: i64) -> Entry {
    Entry {
        tag: tag.into(),
        digest: i.digest.clone(),
        size,
        media_type: i.media_type.clone(),
        uploaded_ms,
    }
}

/// The real registry holding `acme/docker/app` (v1; v2 and latest on one digest),
/// `acme/docker/tools/cli`, `acme/locked/app` (an immutable-tags repository) and
/// `other/docker/x`, with the fixture in front.
pub struct Scenario {
    pub reg: Registry,
    pub fx: Fixture,
    pub state: Shared,
    pub a: Image,
    pub b: Image,
}

/// Starts the GAR scenario.
pub fn scenario() -> Scenario {
    let reg = Registry::start(Options::default());
    let a = img("gar-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("gar-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("gar-c", "2024-02-01T00:00:00Z", &[900]);
    push_images(
        &reg.url,
        &[
            ("acme/docker/app", "v1", &a),
            ("acme/docker/app", "v2", &b),
            ("acme/docker/app", "latest", &b),
            ("acme/docker/tools/cli", "1.0", &c),
            ("acme/locked/app", "v1", &c),
            ("other/docker/x", "x", &c),
        ],
    );
    let mut state = State::default();
    state.repos.insert(
        "acme/docker/app".into(),
        vec![
            entry("v1", &a, 111_111, 1_704_189_600_000),
            entry("v2", &b, 222_222, 1_714_557_600_000),
            entry("latest", &b, 222_222, 1_714_557_600_000),
        ],
    );
    state.repos.insert(
        "acme/docker/tools/cli".into(),
        vec![entry("1.0", &c, 5, 1_706_781_600_000)],
    );
    state.repos.insert(
        "acme/locked/app".into(),
        vec![entry("v1", &c, 5, 1_706_781_600_000)],
    );
    state
        .repos
        .insert("other/docker/x".into(), vec![entry("x", &c, 5, 1)]);
    state.immutable.insert("acme/locked".into());
    let (fx, state) = start(state, reg.port);
    Scenario {
        reg,
        fx,
        state,
        a,
        b,
    }
}

impl Scenario {
    /// A gar profile `name` for this scenario; `extra` holds more lines (credentials, project).
    pub fn profile_toml(&self, name: &str, extra: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"gar\"\nregistry = \"{0}\"\napi_url = \"{0}\"\nlocation = \"europe\"\n{extra}\n",
            self.fx.url
        )
    }
}
