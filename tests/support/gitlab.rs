//! A GitLab fixture following GitLab's documented REST API v4 for the container registry, with
//! v2 passed through to the real registry behind GitLab's JWT endpoint.
//!
//! Shapes from:
//! - <https://docs.gitlab.com/api/container_registry/> (`/groups/:id/registry/repositories`,
//!   `/projects/:id/registry/repositories` with `:id` a number or URL-encoded path, a project's
//!   root repository with name "", `…/repositories/:repository_id/tags` (names only),
//!   `…/tags/:tag_name` (`digest`, `revision`, `created_at`, `total_size`), `DELETE …/tags/:tag_name`);
//! - <https://docs.gitlab.com/api/rest/#pagination> (`page`, `per_page` default 20 max 100,
//!   `X-Next-Page`, `X-Total`, `Link`);
//! - <https://docs.gitlab.com/api/rest/authentication/> (`PRIVATE-TOKEN`; a bad token is 401
//!   `{"message":"401 Unauthorized"}`; a private resource without access is 404);
//! - <https://docs.gitlab.com/user/packages/container_registry/protected_container_tags/> and
//!   `/projects/:id/registry/protection/tag/rules` (`tag_name_pattern`,
//!   `minimum_access_level_for_delete`; a protected tag's delete is 403);
//! - <https://docs.gitlab.com/administration/packages/container_registry/> (registry auth: the
//!   `Bearer realm="<gitlab>/jwt/auth",service="container_registry"` challenge; the reply
//!   carries `token` and no `expires_in`).

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::json;

use super::fixture::{Fixture, Request, Response, forward, percent_decode as decode, serve};
use super::oci::{Image, ImageSpec, image, index, simple as img};
use super::{Options, Registry, push_images};

/// The access token the fixture accepts.
pub const TOKEN: &str = "glpat-fixture";

/// A tag with its details.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub digest: String,
    pub total_size: u64,
    pub created_at: String,
}

/// A container repository of a project.
#[derive(Debug, Clone)]
pub struct Repo {
    pub id: u64,
    pub project_id: u64,
    pub project_path: String,
    /// "" for the project's root repository.
    pub name: String,
    pub tags: Vec<Tag>,
}

impl Repo {
    /// The full path, as in `docker pull <registry>/<path>`.
    pub fn path(&self) -> String {
        if self.name.is_empty() {
            self.project_path.clone()
        } else {
            format!("{}/{}", self.project_path, self.name)
        }
    }
}

/// The fixture's data and switches.
#[derive(Default)]
pub struct State {
    pub repos: Mutex<Vec<Repo>>,
    /// (project id, tag pattern) rules protecting tags from deletion by non-maintainers.
    pub protected: Mutex<Vec<(u64, String)>>,
    /// Answer the next tag listing's second page with 429 + Retry-After.
    pub rate_limit_once: AtomicBool,
    /// JWTs handed out by `/jwt/auth`.
    pub tokens_issued: AtomicUsize,
    /// Milliseconds each tag detail (`GET …/tags/:name`) takes to answer (a slow instance).
    pub detail_delay_ms: std::sync::atomic::AtomicU64,
    tokens: Mutex<Vec<(String, usize)>>,
}

fn message(status: u16, text: &str) -> Response {
    Response::json(status, &json!({"message": text}))
}

/// One page as GitLab pages (`page`, `per_page` default 20, max 100): `X-Next-Page`, `X-Total`,
/// `X-Page` and an absolute `Link`.
fn paged(req: &Request, base: &str, items: Vec<serde_json::Value>) -> Response {
    let page: usize = req
        .query("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let per: usize = req
        .query("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let start = (page - 1) * per;
    let body: Vec<_> = items.iter().skip(start).take(per).cloned().collect();
    let more = start + per < items.len();
    let mut r = Response::json(200, &json!(body))
        .with("x-total", &items.len().to_string())
        .with("x-page", &page.to_string())
        .with("x-per-page", &per.to_string())
        .with(
            "x-next-page",
            &if more {
                (page + 1).to_string()
            } else {
                String::new()
            },
        );
    if more {
        r = r.with(
            "link",
            &format!(
                "<{base}{}?page={}&per_page={per}>; rel=\"next\"",
                req.path(),
                page + 1
            ),
        );
    }
    r
}

/// Starts the fixture in front of the registry on `registry_port`.
pub fn start(repos: Vec<Repo>, registry_port: u16) -> (Fixture, Arc<State>) {
    let state = Arc::new(State::default());
    *state.repos.lock().unwrap() = repos;
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

fn repo_json(r: &Repo) -> serde_json::Value {
    json!({
        "id": r.id, "name": r.name, "path": r.path(), "project_id": r.project_id,
        "location": format!("registry.example/{}", r.path()),
        "created_at": "2024-01-01T00:00:00.000Z", "cleanup_policy_started_at": null,
    })
}

fn handle(req: &Request, st: &State, base: &str, registry_port: u16) -> Response {
    let path = req.path().to_string();
    let delay = st.detail_delay_ms.load(Ordering::SeqCst);
    if delay > 0 && req.method == "GET" && path.starts_with("/api/v4/") && path.contains("/tags/") {
        std::thread::sleep(std::time::Duration::from_millis(delay));
    }
    if path == "/jwt/auth" {
        let ok = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|d| String::from_utf8_lossy(&d).ends_with(&format!(":{TOKEN}")));
        if !ok {
            return Response::json(
                401,
                &json!({"errors": [{"code": "UNAUTHORIZED",
                "message": "HTTP Basic: Access denied"}]}),
            );
        }
        let n = st.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("gitlab-jwt-{n}");
        // The first JWT "expires" after one request: the client must renew it mid-way.
        let uses = if n == 1 { 1 } else { 10_000 };
        st.tokens.lock().unwrap().push((token.clone(), uses));
        return Response::json(200, &json!({"token": token}));
    }
    if path.starts_with("/v2/") {
        return v2(req, st, base, registry_port);
    }
    let Some(api) = path.strip_prefix("/api/v4/") else {
        return message(404, "404 Not Found");
    };
    match req.header("private-token") {
        Some(TOKEN) => {}
        Some(_) => return message(401, "401 Unauthorized"),
        // Every project here is private: without a token it does not exist.
        None => {
            let what = if api.starts_with("groups/") {
                "Group"
            } else {
                "Project"
            };
            return message(404, &format!("404 {what} Not Found"));
        }
    }
    let segs: Vec<String> = api.split('/').map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let mut repos = st.repos.lock().unwrap();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["groups", group, "registry", "repositories"]) => {
            let items = repos
                .iter()
                .filter(|r| r.project_path.starts_with(&format!("{group}/")))
                .map(repo_json)
                .collect();
            paged(req, base, items)
        }
        ("GET", ["projects", project, "registry", "repositories"]) => {
            let items: Vec<_> = repos
                .iter()
                .filter(|r| r.project_path == *project || r.project_id.to_string() == *project)
                .map(repo_json)
                .collect();
            if items.is_empty() {
                return message(404, "404 Project Not Found");
            }
            paged(req, base, items)
        }
        ("GET", ["projects", pid, "registry", "protection", "tag", "rules"]) => {
            let rules: Vec<_> = st
                .protected
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| p.to_string() == *pid)
                .map(|(p, pat)| {
                    json!({"id": 1, "project_id": p, "tag_name_pattern": pat,
                           "minimum_access_level_for_push": "maintainer",
                           "minimum_access_level_for_delete": "maintainer"})
                })
                .collect();
            paged(req, base, rules)
        }
        (
            method,
            [
                "projects",
                pid,
                "registry",
                "repositories",
                rid,
                "tags",
                rest @ ..,
            ],
        ) => {
            let Some(repo) = repos
                .iter_mut()
                .find(|r| r.project_id.to_string() == *pid && r.id.to_string() == *rid)
            else {
                return message(404, "404 Repository Not Found");
            };
            match (method, rest) {
                ("GET", []) => {
                    if req.query("page").as_deref() == Some("2")
                        && st.rate_limit_once.swap(false, Ordering::SeqCst)
                    {
                        return message(429, "Retry later").with("retry-after", "1");
                    }
                    let items = repo
                        .tags
                        .iter()
                        .map(|t| json!({"name": t.name, "path": format!("{}:{}", repo.path(), t.name),
                                        "location": format!("registry.example/{}:{}", repo.path(), t.name)}))
                        .collect();
                    paged(req, base, items)
                }
                ("GET", [name]) => match repo.tags.iter().find(|t| t.name == *name) {
                    Some(t) => Response::json(
                        200,
                        &json!({"name": t.name, "path": format!("{}:{}", repo.path(), t.name),
                                "location": format!("registry.example/{}:{}", repo.path(), t.name),
                                "revision": t.digest.trim_start_matches("sha256:"),
                                "short_revision": &t.digest[7..16], "digest": t.digest,
                                "created_at": t.created_at, "total_size": t.total_size}),
                    ),
                    None => message(404, "404 Tag Not Found"),
                },
                ("DELETE", [name]) => {
                    let protected = st.protected.lock().unwrap().iter().any(|(p, pat)| {
                        *p == repo.project_id
                            && regex_lite::Regex::new(pat).is_ok_and(|re| re.is_match(name))
                    });
                    if protected {
                        return message(403, "403 Forbidden - protected tags can not be deleted");
                    }
                    let before = repo.tags.len();
                    repo.tags.retain(|t| t.name != *name);
                    if repo.tags.len() == before {
                        return message(404, "404 Tag Not Found");
                    }
                    Response::empty(200)
                }
                _ => message(405, "405 Method Not Allowed"),
            }
        }
        _ => message(404, "404 Not Found"),
    }
}

/// v2 behind GitLab's JWT: the first JWT expires after one request (401 again).
fn v2(req: &Request, st: &State, base: &str, registry_port: u16) -> Response {
    let challenge = || {
        Response::json(
            401,
            &json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
        )
        .with(
            "www-authenticate",
            &format!("Bearer realm=\"{base}/jwt/auth\",service=\"container_registry\""),
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
    let resp = forward(req, registry_port);
    // A digest delete removes every tag on it, in the API's view too.
    if req.method == "DELETE" && resp.status == 202 {
        if let Some((repo, digest)) = req.path()["/v2/".len()..].split_once("/manifests/") {
            let mut repos = st.repos.lock().unwrap();
            if let Some(r) = repos.iter_mut().find(|r| r.path() == repo) {
                r.tags.retain(|t| t.digest != digest);
            }
        }
    }
    resp
}

fn tag(name: &str, i: &Image, total_size: u64, created_at: &str) -> Tag {
    Tag {
        name: name.into(),
        digest: i.digest.clone(),
        total_size,
        created_at: created_at.into(),
    }
}

/// The real registry holding `acme/app` (root repository: v1; v2 and latest on one digest;
/// release-1 protected; multi, an index), `acme/app/worker` (nested), `acme/sub/lib` (a
/// subgroup's project) and `acme/big` (1,000 tags in the API only), with the fixture in front.
pub struct Scenario {
    pub reg: Registry,
    pub fx: Fixture,
    pub state: Arc<State>,
    pub a: Image,
    pub b: Image,
    pub c: Image,
    pub multi: Image,
}

/// Starts the GitLab scenario.
pub fn scenario() -> Scenario {
    let reg = Registry::start(Options::default());
    let a = img("gitlab-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("gitlab-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("gitlab-c", "2024-02-01T00:00:00Z", &[900]);
    let plat = |seed: &'static str, arch: &'static str| {
        image(&ImageSpec {
            seed,
            arch,
            created: "2024-05-20T10:00:00Z",
            layer_sizes: &[1800, 400],
            ..Default::default()
        })
    };
    let multi = index(
        vec![plat("gl-amd64", "amd64"), plat("gl-arm64", "arm64")],
        false,
    );
    push_images(
        &reg.url,
        &[
            ("acme/app", "v1", &a),
            ("acme/app", "v2", &b),
            ("acme/app", "latest", &b),
            ("acme/app", "release-1", &c),
            ("acme/app", "multi", &multi),
            ("acme/app/worker", "1.0", &c),
            ("acme/sub/lib", "0.1", &c),
        ],
    );
    let big: Vec<Tag> = (0..1000)
        .map(|n| Tag {
            name: format!("t{n:04}"),
            digest: format!("sha256:{n:064x}"),
            total_size: 1000 + n,
            created_at: format!("2024-03-01T00:{:02}:{:02}.000+00:00", n / 60 % 60, n % 60),
        })
        .collect();
    let repos = vec![
        Repo {
            id: 1,
            project_id: 10,
            project_path: "acme/app".into(),
            name: String::new(),
            tags: vec![
                tag("v1", &a, a.size(), "2024-01-02T10:00:00.000+00:00"),
                tag("v2", &b, b.size(), "2024-05-06T10:00:00.000+00:00"),
                tag("latest", &b, b.size(), "2024-05-06T10:00:00.000+00:00"),
                tag("release-1", &c, c.size(), "2024-02-01T10:00:00.000+00:00"),
                // GitLab reports an index's size as 0.
                tag("multi", &multi, 0, "2024-05-20T10:00:00.000+00:00"),
            ],
        },
        Repo {
            id: 2,
            project_id: 10,
            project_path: "acme/app".into(),
            name: "worker".into(),
            tags: vec![tag("1.0", &c, c.size(), "2024-02-01T10:00:00.000+00:00")],
        },
        Repo {
            id: 3,
            project_id: 11,
            project_path: "acme/sub/lib".into(),
            name: String::new(),
            tags: vec![tag("0.1", &c, c.size(), "2024-02-01T10:00:00.000+00:00")],
        },
        Repo {
            id: 4,
            project_id: 12,
            project_path: "acme/big".into(),
            name: String::new(),
            tags: big,
        },
    ];
    let (fx, state) = start(repos, reg.port);
    state
        .protected
        .lock()
        .unwrap()
        .push((10, "^release-.*".into()));
    Scenario {
        reg,
        fx,
        state,
        a,
        b,
        c,
        multi,
    }
}

impl Scenario {
    /// A gitlab profile `name`; `extra` holds more lines (group or project, token source).
    pub fn profile_toml(&self, name: &str, extra: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"gitlab\"\napi_url = \"{0}\"\nregistry = \"{0}\"\n{extra}\n",
            self.fx.url
        )
    }

    /// Tags of `repo` as the fixture holds them.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let repos = self.state.repos.lock().unwrap();
        let mut t: Vec<String> = repos
            .iter()
            .filter(|r| r.path() == repo)
            .flat_map(|r| r.tags.iter().map(|t| t.name.clone()))
            .collect();
        t.sort();
        t
    }
}
