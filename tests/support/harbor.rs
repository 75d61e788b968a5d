//! A Harbor fixture following Harbor's documented API v2.0, with v2 passed through to the real
//! registry behind Harbor's token service.
//!
//! Shapes from:
//! - Harbor API v2.0 swagger, <https://github.com/goharbor/harbor/blob/main/api/v2.0/swagger.yaml>
//!   (`/projects`, `/projects/{project_name}/repositories`, `…/{repository_name}/artifacts` with
//!   `with_tag`, `with_immutable_status`, `page`, `page_size` (default 10, max 100), `Link` and
//!   `X-Total-Count`; `DELETE …/artifacts/{reference}`, `DELETE …/artifacts/{reference}/tags/{tag_name}`;
//!   `/users/current/permissions`; `/ping`), the `Errors` body `{"errors":[{"code","message"}]}`;
//! - <https://goharbor.io/docs/2.11.0/working-with-projects/working-with-images/create-tag-immutability-rules/>
//!   (immutable tags cannot be deleted: 412 PRECONDITION);
//! - <https://goharbor.io/docs/2.11.0/build-customize-contribute/configure-swagger/> (repository
//!   names in paths: the project dropped, `/` encoded twice as `%252F`);
//! - the registry token service at `/service/token`, `service="harbor-registry"`;
//! - <https://goharbor.io/docs/2.11.0/working-with-projects/working-with-images/sign-images/>
//!   and the swagger's `Accessory` (`with_accessory=true` on an artifact: `accessories[]` with
//!   `digest`, `type` `signature.cosign` / `signature.notation` / `sbom.harbor`, `size`,
//!   `subject_artifact_digest`).
//!
//! Refused Basic credentials run as anonymous (Harbor's behaviour): public projects still list,
//! `/users/current/permissions` answers 401.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::json;

use super::fixture::{Fixture, Request, Response, forward, percent_decode as decode, serve};
use super::oci::{Image, simple as img};
use super::{Options, Registry, push_images};

pub const USER: &str = "robot$ci";
pub const PASSWORD: &str = "harbor-secret";
/// v2 requests the first token is good for before the fixture calls it expired (later tokens
/// last): the client must renew it in the middle of its work.
pub const TOKEN_USES: usize = 1;

/// A tag of an artifact.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub immutable: bool,
    pub pushed: String,
    pub pulled: String,
}

/// An artifact as Harbor stores it.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub pushed: String,
    pub pulled: String,
    pub tags: Vec<Tag>,
    /// (os, architecture)
    pub platform: Option<(String, String)>,
    pub created: String,
    /// `(digest, type, size)` of its accessories (signatures, SBOMs).
    pub accessories: Vec<(String, String, u64)>,
}

/// A project: name, public, repositories (full name → artifacts).
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub public: bool,
    pub repos: Vec<(String, Vec<Artifact>)>,
}

/// The fixture's data and switches.
#[derive(Default)]
pub struct State {
    pub projects: Mutex<Vec<Project>>,
    /// Answer the next artifact listing's second page with 429 + Retry-After.
    pub rate_limit_once: AtomicBool,
    /// Tokens handed out by `/service/token`.
    pub tokens_issued: AtomicUsize,
    /// token → uses left.
    tokens: Mutex<Vec<(String, usize)>>,
}

fn errors(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

/// Whether the request carries the fixture's user (else Harbor treats it as anonymous).
fn logged_in(req: &Request) -> bool {
    let Some(b) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    base64::engine::general_purpose::STANDARD
        .decode(b)
        .is_ok_and(|d| d == format!("{USER}:{PASSWORD}").as_bytes())
}

fn artifact_json(a: &Artifact, with_accessory: bool) -> serde_json::Value {
    let accessories = with_accessory.then(|| {
        a.accessories
            .iter()
            .enumerate()
            .map(|(i, (d, t, s))| {
                json!({"id": i + 1, "artifact_id": 100 + i, "subject_artifact_digest": a.digest,
                       "subject_artifact_type": "IMAGE", "digest": d, "type": t, "size": s,
                       "icon": "sha256:0", "creation_time": "2024-06-01T00:00:00.000Z"})
            })
            .collect::<Vec<_>>()
    });
    json!({
        "digest": a.digest,
        "manifest_media_type": a.media_type,
        "media_type": "application/vnd.oci.image.config.v1+json",
        "size": a.size,
        "push_time": a.pushed,
        "pull_time": a.pulled,
        "type": "IMAGE",
        "tags": a.tags.iter().map(|t| json!({
            "name": t.name, "immutable": t.immutable, "push_time": t.pushed,
            "pull_time": t.pulled, "signed": false,
        })).collect::<Vec<_>>(),
        "extra_attrs": a.platform.as_ref().map(|(os, arch)| json!({
            "os": os, "architecture": arch, "created": a.created,
        })),
        "references": null,
        "accessories": accessories,
    })
}

/// One page of `items` as Harbor pages (`page`, `page_size` default 10, max 100), with `Link`
/// (relative, as Harbor sends it) and `X-Total-Count`.
fn paged(req: &Request, items: Vec<serde_json::Value>) -> Response {
    let page: usize = req
        .query("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let size: usize = req
        .query("page_size")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let start = (page - 1) * size;
    let body: Vec<_> = items.iter().skip(start).take(size).cloned().collect();
    let mut r = Response::json(200, &json!(body)).with("x-total-count", &items.len().to_string());
    if start + size < items.len() {
        let q: Vec<String> = req
            .target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
            .split('&')
            .filter(|kv| {
                !kv.is_empty() && !kv.starts_with("page=") && !kv.starts_with("page_size=")
            })
            .map(str::to_string)
            .collect();
        let mut link = format!("{}?page={}&page_size={size}", req.path(), page + 1);
        for kv in q {
            link.push('&');
            link.push_str(&kv);
        }
        r = r.with("link", &format!("<{link}>; rel=\"next\""));
    }
    r
}

/// Starts the fixture in front of the registry on `registry_port`.
pub fn start(projects: Vec<Project>, registry_port: u16) -> (Fixture, Arc<State>) {
    let state = Arc::new(State::default());
    *state.projects.lock().unwrap() = projects;
    let st = state.clone();
    let base: Arc<Mutex<String>> = Default::default();
    let b2 = base.clone();
    let fx = serve(move |req| {
        // The base is cloned first: holding its lock would answer one request at a time.
        let base = b2.lock().unwrap().clone();
        handle(req, &st, &base, registry_port)
    });
    *base.lock().unwrap() = fx.url.clone();
    (fx, state)
}

fn handle(req: &Request, st: &State, base: &str, registry_port: u16) -> Response {
    let path = req.path().to_string();
    if path == "/api/v2.0/ping" {
        return Response {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"Pong".to_vec(),
        };
    }
    if path == "/service/token" {
        let anonymous = req.header("authorization").is_none();
        if !anonymous && !logged_in(req) {
            return errors(401, "UNAUTHORIZED", "authentication failed");
        }
        let n = st.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("harbor-token-{n}");
        let uses = if n == 1 { TOKEN_USES } else { 10_000 };
        st.tokens.lock().unwrap().push((token.clone(), uses));
        return Response::json(
            200,
            &json!({"token": token, "expires_in": 1800, "issued_at": "2026-11-30T00:00:00Z"}),
        );
    }
    if path.starts_with("/v2/") {
        return v2(req, st, base, registry_port);
    }
    let Some(api) = path.strip_prefix("/api/v2.0/") else {
        return errors(404, "NOT_FOUND", "not found");
    };
    let user = logged_in(req);
    if api == "users/current/permissions" {
        return if user {
            Response::json(200, &json!([{"resource": "repository", "action": "pull"}]))
        } else {
            errors(401, "UNAUTHORIZED", "UnAuthorized")
        };
    }
    let mut projects = st.projects.lock().unwrap();
    if api == "projects" {
        let items = projects
            .iter()
            .filter(|p| p.public || user)
            .map(|p| json!({"name": p.name, "metadata": {"public": p.public.to_string()}}))
            .collect();
        return paged(req, items);
    }
    let Some(rest) = api.strip_prefix("projects/") else {
        return errors(404, "NOT_FOUND", "not found");
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let Some(project) = projects.iter_mut().find(|p| p.name == segs[0]) else {
        return errors(404, "NOT_FOUND", "project not found");
    };
    if !project.public && !user {
        return errors(401, "UNAUTHORIZED", "UnAuthorized");
    }
    let pname = project.name.clone();
    if segs.len() == 2 && segs[1] == "repositories" {
        let items = project
            .repos
            .iter()
            .map(|(n, a)| json!({"name": n, "artifact_count": a.len()}))
            .collect();
        return paged(req, items);
    }
    if segs.len() < 4 || segs[1] != "repositories" || segs[3] != "artifacts" {
        return errors(404, "NOT_FOUND", "not found");
    }
    // The repository segment is encoded twice: once for the path, once more for the router.
    let once = decode(segs[2]);
    if once.contains('/') {
        return errors(
            404,
            "NOT_FOUND",
            "a single-encoded / does not reach the repository",
        );
    }
    let full = format!("{pname}/{}", decode(&once));
    let Some((_, artifacts)) = project.repos.iter_mut().find(|(n, _)| *n == full) else {
        return errors(404, "NOT_FOUND", &format!("repository {full} not found"));
    };
    match (req.method.as_str(), &segs[4..]) {
        ("GET", []) => {
            if req.query("with_tag") != Some("true".into())
                || req.query("with_immutable_status") != Some("true".into())
            {
                return errors(
                    400,
                    "BAD_REQUEST",
                    "the fixture expects tags and immutability",
                );
            }
            if req.query("page").as_deref() == Some("2")
                && st.rate_limit_once.swap(false, Ordering::SeqCst)
            {
                return errors(429, "TOO_MANY_REQUESTS", "too many requests")
                    .with("retry-after", "1");
            }
            let with = req.query("with_accessory").as_deref() == Some("true");
            paged(
                req,
                artifacts.iter().map(|a| artifact_json(a, with)).collect(),
            )
        }
        ("GET", [reference]) => {
            let r = decode(reference);
            match artifacts
                .iter()
                .find(|a| a.digest == r || a.tags.iter().any(|t| t.name == r))
            {
                Some(a) => Response::json(
                    200,
                    &artifact_json(a, req.query("with_accessory").as_deref() == Some("true")),
                ),
                None => errors(404, "NOT_FOUND", &format!("artifact {full}:{r} not found")),
            }
        }
        ("DELETE", [digest]) => {
            if !user {
                return errors(401, "UNAUTHORIZED", "UnAuthorized");
            }
            let d = decode(digest);
            let Some(i) = artifacts.iter().position(|a| a.digest == d) else {
                return errors(404, "NOT_FOUND", &format!("artifact {full}@{d} not found"));
            };
            if let Some(t) = artifacts[i].tags.iter().find(|t| t.immutable) {
                return errors(
                    412,
                    "PRECONDITION",
                    &format!(
                        "the operation isn't allowed as the tag {} is immutable",
                        t.name
                    ),
                );
            }
            artifacts.remove(i);
            Response::empty(200)
        }
        ("DELETE", [digest, "tags", tag]) => {
            if !user {
                return errors(401, "UNAUTHORIZED", "UnAuthorized");
            }
            let (d, t) = (decode(digest), decode(tag));
            let Some(a) = artifacts.iter_mut().find(|a| a.digest == d) else {
                return errors(404, "NOT_FOUND", &format!("artifact {full}@{d} not found"));
            };
            match a.tags.iter().position(|x| x.name == t) {
                Some(i) if a.tags[i].immutable => errors(
                    412,
                    "PRECONDITION",
                    &format!("the operation isn't allowed as the tag {t} is immutable"),
                ),
                Some(i) => {
                    a.tags.remove(i);
                    Response::empty(200)
                }
                None => errors(404, "NOT_FOUND", &format!("tag {t} not found")),
            }
        }
        _ => errors(405, "METHOD_NOT_ALLOWED", "method not allowed"),
    }
}

/// v2 behind the token service: the first token expires after [`TOKEN_USES`] requests (401 again).
fn v2(req: &Request, st: &State, base: &str, registry_port: u16) -> Response {
    let challenge = || {
        errors(401, "UNAUTHORIZED", "authentication required").with(
            "www-authenticate",
            &format!("Bearer realm=\"{base}/service/token\",service=\"harbor-registry\""),
        )
    };
    let Some(token) = req.bearer() else {
        return challenge();
    };
    {
        let mut tokens = st.tokens.lock().unwrap();
        match tokens.iter_mut().find(|(t, _)| t == token) {
            Some((_, left)) if *left > 0 => *left -= 1,
            _ => return challenge(),
        }
    }
    if req.method == "DELETE" {
        return errors(
            400,
            "UNSUPPORTED",
            "The operation is unsupported: use the Harbor API",
        );
    }
    forward(req, registry_port)
}

fn artifact(i: &Image, tags: &[(&str, bool)], pushed: &str, pulled: &str) -> Artifact {
    Artifact {
        digest: i.digest.clone(),
        media_type: i.media_type.clone(),
        size: i.size(),
        pushed: pushed.into(),
        pulled: pulled.into(),
        tags: tags
            .iter()
            .map(|(n, immutable)| Tag {
                name: (*n).into(),
                immutable: *immutable,
                pushed: pushed.into(),
                pulled: pulled.into(),
            })
            .collect(),
        platform: Some(("linux".into(), "amd64".into())),
        created: i.created.clone(),
        accessories: Vec::new(),
    }
}

/// Harbor's never-pulled time.
pub const NEVER: &str = "0001-01-01T00:00:00.000Z";

/// The real registry holding `library/app` (v1; v2 and latest on one digest; stable, immutable),
/// `library/team/tool` (nested), the private `acme/db`, and `library/big` (1,000 tags in the API
/// only), with the Harbor fixture in front.
pub struct Scenario {
    pub reg: Registry,
    pub fx: Fixture,
    pub state: Arc<State>,
    pub a: Image,
    pub b: Image,
    pub c: Image,
}

/// Starts the Harbor scenario.
pub fn scenario() -> Scenario {
    let reg = Registry::start(Options::default());
    let a = img("harbor-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("harbor-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("harbor-c", "2024-02-01T00:00:00Z", &[900]);
    push_images(
        &reg.url,
        &[
            ("library/app", "v1", &a),
            ("library/app", "v2", &b),
            ("library/app", "latest", &b),
            ("library/app", "stable", &c),
            ("library/team/tool", "1.0", &c),
            ("acme/db", "x", &c),
        ],
    );
    let big: Vec<Artifact> = (0..1000)
        .map(|n| {
            let mut x = artifact(&c, &[], "2024-03-01T00:00:00.000Z", NEVER);
            x.digest = format!("sha256:{n:064x}");
            x.tags = vec![Tag {
                name: format!("t{n:04}"),
                immutable: false,
                pushed: format!("2024-03-01T00:{:02}:{:02}.000Z", n / 60 % 60, n % 60),
                pulled: NEVER.into(),
            }];
            x
        })
        .collect();
    let projects = vec![
        Project {
            name: "library".into(),
            public: true,
            repos: vec![
                (
                    "library/app".into(),
                    vec![
                        artifact(
                            &a,
                            &[("v1", false)],
                            "2024-01-02T10:00:00.000Z",
                            "2024-06-01T08:00:00.000Z",
                        ),
                        artifact(
                            &b,
                            &[("v2", false), ("latest", false)],
                            "2024-05-06T10:00:00.000Z",
                            NEVER,
                        ),
                        artifact(&c, &[("stable", true)], "2024-02-01T10:00:00.000Z", NEVER),
                    ],
                ),
                (
                    "library/team/tool".into(),
                    vec![artifact(
                        &c,
                        &[("1.0", false)],
                        "2024-02-01T10:00:00.000Z",
                        NEVER,
                    )],
                ),
                ("library/big".into(), big),
            ],
        },
        Project {
            name: "acme".into(),
            public: false,
            repos: vec![(
                "acme/db".into(),
                vec![artifact(
                    &c,
                    &[("x", false)],
                    "2024-02-01T10:00:00.000Z",
                    NEVER,
                )],
            )],
        },
    ];
    let (fx, state) = start(projects, reg.port);
    Scenario {
        reg,
        fx,
        state,
        a,
        b,
        c,
    }
}

impl Scenario {
    /// A harbor profile `name`; `extra` holds more lines (credentials, project).
    pub fn profile_toml(&self, name: &str, extra: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"harbor\"\nregistry = \"{}\"\n{extra}\n",
            self.fx.url
        )
    }

    /// Tags of `repo` as the fixture holds them.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let projects = self.state.projects.lock().unwrap();
        let mut t: Vec<String> = projects
            .iter()
            .flat_map(|p| p.repos.iter())
            .filter(|(n, _)| n == repo)
            .flat_map(|(_, a)| a.iter().flat_map(|a| a.tags.iter().map(|t| t.name.clone())))
            .collect();
        t.sort();
        t
    }
}
