//! A Docker Hub fixture: the Hub API (`/v2/auth/token`, namespace repositories and tags with
//! `next` pagination) and, on the same port, the registry's v2 API passed through to the real
//! registry with Hub's pull rate-limit headers, where a tag DELETE untags as Hub does (202) and a
//! digest DELETE of a tagged manifest is refused (403 DENIED).

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::fixture::{Fixture, Response, forward, serve};
use super::oci::{Image, Pusher, simple as img};
use super::{Options, Registry, block_on};

/// The personal access token the fixture accepts for `USER`.
pub const PAT: &str = "dckr_pat_fixture";
pub const USER: &str = "hubuser";
/// The API token the fixture hands out.
const JWT: &str = "hub-jwt-fixture";
/// Items per page at most.
pub const PAGE: usize = 2;

/// A tag as the Hub API describes it.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub digest: String,
    pub full_size: u64,
    pub pushed: String,
    /// (os, architecture, variant, digest, size)
    pub images: Vec<(String, String, Option<String>, String, u64)>,
}

/// Repository name → its tags.
pub type State = Arc<Mutex<Vec<(String, Vec<Tag>)>>>;

fn page_of<T: Clone>(items: &[T], page: usize) -> (Vec<T>, bool) {
    let start = (page - 1) * PAGE;
    (
        items.iter().skip(start).take(PAGE).cloned().collect(),
        start + PAGE < items.len(),
    )
}

/// Starts the fixture for namespace `ns`; v2 requests go to the registry on `registry_port`.
/// Private: the API needs the JWT from `/v2/auth/token`.
pub fn start(
    ns: &'static str,
    repos: Vec<(String, Vec<Tag>)>,
    registry_port: u16,
) -> (Fixture, State) {
    let state: State = Arc::new(Mutex::new(repos));
    let st = state.clone();
    let base: Arc<Mutex<String>> = Default::default();
    let b2 = base.clone();
    let fx = serve(move |req| {
        let base = b2.lock().unwrap().clone();
        let path = req.path().to_string();
        let detail = |status: u16, text: &str| Response::json(status, &json!({"detail": text}));
        if path == "/v2/auth/token" && req.method == "POST" {
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            return if v["identifier"] == USER && v["secret"] == PAT {
                Response::json(200, &json!({"access_token": JWT}))
            } else {
                detail(401, "Incorrect authentication credentials")
            };
        }
        if let Some(rest) = path.strip_prefix(&format!("/v2/namespaces/{ns}/repositories")) {
            if req.bearer() != Some(JWT) {
                return detail(401, "authentication required");
            }
            let page: usize = req
                .query("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1);
            let repos = st.lock().unwrap().clone();
            let (body, more) = if rest.is_empty() {
                let all: Vec<serde_json::Value> = repos
                    .iter()
                    .map(|(n, _)| json!({"name": n, "namespace": ns, "repository_type": "image"}))
                    .collect();
                let (items, more) = page_of(&all, page);
                (json!({"count": all.len(), "results": items}), more)
            } else {
                let name = rest.trim_start_matches('/').trim_end_matches("/tags");
                let Some((_, tags)) = repos.iter().find(|(n, _)| n == name) else {
                    return detail(404, "object not found");
                };
                let all: Vec<serde_json::Value> = tags
                    .iter()
                    .map(|t| {
                        json!({"name": t.name, "full_size": t.full_size, "digest": t.digest,
                               "media_type": "application/vnd.oci.image.manifest.v1+json",
                               "tag_last_pushed": t.pushed, "last_updated": t.pushed,
                               "tag_last_pulled": if t.name == "latest" { json!(t.pushed) } else { json!(null) },
                               "images": t.images.iter().map(|(os, arch, variant, d, size)| json!({
                                   "os": os, "architecture": arch, "variant": variant,
                                   "digest": d, "size": size, "last_pushed": t.pushed,
                               })).collect::<Vec<_>>()})
                    })
                    .collect();
                let (items, more) = page_of(&all, page);
                (json!({"count": all.len(), "results": items}), more)
            };
            let mut body = body;
            body["next"] = if more {
                json!(format!("{base}{path}?page_size={PAGE}&page={}", page + 1))
            } else {
                json!(null)
            };
            return Response::json(200, &body);
        }
        if let Some(v2) = path.strip_prefix("/v2/") {
            if req.method == "DELETE" {
                let Some((repo, reference)) = v2.split_once("/manifests/") else {
                    return Response::empty(404);
                };
                let short = repo.strip_prefix(&format!("{ns}/")).unwrap_or(repo);
                let mut repos = st.lock().unwrap();
                let Some((_, tags)) = repos.iter_mut().find(|(n, _)| n == short) else {
                    return Response::empty(404);
                };
                if reference.starts_with("sha256:") {
                    if tags.iter().any(|t| t.digest == reference) {
                        return Response::json(
                            403,
                            &json!({"errors": [{"code": "DENIED", "message": "manifest is still tagged"}]}),
                        );
                    }
                    return Response::empty(202);
                }
                let before = tags.len();
                tags.retain(|t| t.name != reference);
                return if tags.len() < before {
                    Response::empty(202)
                } else {
                    Response::json(
                        404,
                        &json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown tag"}]}),
                    )
                };
            }
            return forward(req, registry_port)
                .with("ratelimit-limit", "100;w=21600")
                .with("ratelimit-remaining", "76;w=21600");
        }
        detail(404, "not found")
    });
    *base.lock().unwrap() = fx.url.clone();
    (fx, state)
}

fn tag(name: &str, i: &Image, full_size: u64, pushed: &str) -> Tag {
    Tag {
        name: name.into(),
        digest: i.digest.clone(),
        full_size,
        pushed: pushed.into(),
        images: vec![(
            "linux".into(),
            "amd64".into(),
            None,
            i.digest.clone(),
            full_size,
        )],
    }
}

/// The real registry holding `acme/app` (v1; v2 and latest on one digest), `acme/tool` and
/// `acme/db`, and the Hub fixture in front of it (3 repositories: 2 pages).
pub struct Scenario {
    pub reg: Registry,
    pub fx: Fixture,
    /// `acme/app:v1` (full_size 111111 in the Hub API).
    pub a: Image,
    /// `acme/app:v2` and `:latest`.
    pub b: Image,
}

/// Starts the Docker Hub scenario.
pub fn scenario() -> Scenario {
    let reg = Registry::start(Options::default());
    let a = img("hub-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("hub-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("hub-c", "2024-02-01T00:00:00Z", &[900]);
    let url = reg.url.clone();
    let (a2, b2, c2) = (a.clone(), b.clone(), c.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("acme/app", "v1", &a2).await;
        p.image("acme/app", "v2", &b2).await;
        p.image("acme/app", "latest", &b2).await;
        p.image("acme/tool", "1.0", &c2).await;
        p.image("acme/db", "x", &c2).await;
    });
    let (fx, _state) = start(
        "acme",
        vec![
            (
                "app".into(),
                vec![
                    tag("v1", &a, 111_111, "2024-01-02T10:00:00Z"),
                    tag("v2", &b, 222_222, "2024-05-01T10:00:00Z"),
                    tag("latest", &b, 222_222, "2024-05-02T10:00:00Z"),
                ],
            ),
            ("db".into(), vec![tag("x", &c, 5, "2024-02-01T10:00:00Z")]),
            (
                "tool".into(),
                vec![tag("1.0", &c, 5, "2024-02-01T10:00:00Z")],
            ),
        ],
        reg.port,
    );
    Scenario { reg, fx, a, b }
}

impl Scenario {
    /// A dockerhub profile `name` for this scenario; `auth` holds the credential lines.
    pub fn profile_toml(&self, name: &str, auth: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"dockerhub\"\nnamespace = \"acme\"\nregistry = \"{0}\"\napi_url = \"{0}\"\n{auth}\n",
            self.fx.url
        )
    }
}
