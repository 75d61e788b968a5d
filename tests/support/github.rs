//! A GitHub packages API fixture following the documented shapes: packages and versions of a
//! user, `Link` pagination, bearer tokens with scopes, 401/403/404 with `{"message": …}`.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::fixture::{Fixture, Request, Response, percent_decode as decode, serve};
use super::oci::{Image, Pusher, simple as img};
use super::{Options, Registry, block_on};

/// A token allowed to read packages.
pub const READ_TOKEN: &str = "ghp_read_only_fixture";
/// A token allowed to read and delete packages.
pub const ADMIN_TOKEN: &str = "ghp_admin_fixture";
/// Items per page the fixture serves at most (small, so lists span pages).
pub const PAGE: usize = 2;

/// One package version: its id, digest and tags.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: u64,
    pub digest: String,
    pub tags: Vec<String>,
    pub created_at: String,
}

/// A container package of the fixture's user.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub versions: Vec<Version>,
}

/// The fixture's state, shared with the test.
pub type State = Arc<Mutex<Vec<Package>>>;

fn page<T: Clone>(items: &[T], req: &Request, base: &str) -> (Vec<T>, Option<String>) {
    let per = req
        .query("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, PAGE);
    let n = req
        .query("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (n - 1) * per;
    let slice = items.iter().skip(start).take(per).cloned().collect();
    let next = (start + per < items.len()).then(|| {
        let mut q: Vec<String> = req
            .target
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter(|kv| !kv.starts_with("page="))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        q.push(format!("page={}", n + 1));
        format!("<{base}{}?{}>; rel=\"next\"", req.path(), q.join("&"))
    });
    (slice, next)
}

fn message(status: u16, text: &str) -> Response {
    Response::json(
        status,
        &json!({"message": text, "documentation_url": "https://docs.github.com/rest/packages"}),
    )
}

/// Starts the fixture for user `owner` holding `packages`.
pub fn start(owner: &'static str, packages: Vec<Package>) -> (Fixture, State) {
    let state: State = Arc::new(Mutex::new(packages));
    let st = state.clone();
    let base: Arc<Mutex<String>> = Default::default();
    let b2 = base.clone();
    let fx = serve(move |req| {
        let base = b2.lock().unwrap().clone();
        let can_delete = match req.bearer() {
            Some(READ_TOKEN) => false,
            Some(ADMIN_TOKEN) => true,
            Some(_) => return message(401, "Bad credentials"),
            None => return message(401, "Requires authentication"),
        };
        let prefix = format!("/users/{owner}/packages");
        let path = req.path().to_string();
        let Some(rest) = path.strip_prefix(&prefix) else {
            return message(404, "Not Found");
        };
        let packages = st.lock().unwrap().clone();
        if rest.is_empty() {
            if req.query("package_type").as_deref() != Some("container") {
                return message(400, "package_type is required");
            }
            let all: Vec<serde_json::Value> = packages
                .iter()
                .map(|p| {
                    json!({"id": p.name.len(), "name": p.name, "package_type": "container",
                           "owner": {"login": owner, "type": "User"}, "visibility": "private"})
                })
                .collect();
            let (items, next) = page(&all, req, &base);
            let mut r = Response::json(200, &json!(items));
            if let Some(l) = next {
                r = r.with("link", &l);
            }
            return r;
        }
        let Some(rest) = rest.strip_prefix("/container/") else {
            return message(404, "Not Found");
        };
        let (name, tail) = match rest.split_once("/versions") {
            Some((n, t)) => (decode(n), t.to_string()),
            None => return message(404, "Not Found"),
        };
        let Some(pkg) = packages.iter().find(|p| p.name == name) else {
            return message(404, "Package not found.");
        };
        match (req.method.as_str(), tail.as_str()) {
            ("GET", "") => {
                let all: Vec<serde_json::Value> = pkg
                    .versions
                    .iter()
                    .map(|v| {
                        json!({"id": v.id, "name": v.digest, "created_at": v.created_at,
                               "updated_at": v.created_at,
                               "metadata": {"package_type": "container",
                                            "container": {"tags": v.tags}}})
                    })
                    .collect();
                let (items, next) = page(&all, req, &base);
                let mut r = Response::json(200, &json!(items));
                if let Some(l) = next {
                    r = r.with("link", &l);
                }
                r
            }
            ("DELETE", id) => {
                let id: u64 = id.trim_start_matches('/').parse().unwrap_or(0);
                if !can_delete {
                    return message(
                        403,
                        "You must have admin permissions and a token with delete:packages",
                    );
                }
                let mut all = st.lock().unwrap();
                let p = all.iter_mut().find(|p| p.name == name).unwrap();
                let before = p.versions.len();
                p.versions.retain(|v| v.id != id);
                if p.versions.len() == before {
                    return message(404, "Package version not found.");
                }
                Response::empty(204)
            }
            _ => message(404, "Not Found"),
        }
    });
    *base.lock().unwrap() = fx.url.clone();
    (fx, state)
}

/// The real registry holding `octo/app` (v1; v2 and latest on one digest), `octo/tools/cli` and
/// `octo/web`, and the API fixture describing them as packages of user `octo` (3 packages: 2 pages).
pub struct Scenario {
    pub reg: Registry,
    pub fx: Fixture,
    pub state: State,
    /// `octo/app:v1`.
    pub a: Image,
    /// `octo/app:v2` and `:latest`.
    pub b: Image,
}

/// Starts the GHCR scenario.
pub fn scenario() -> Scenario {
    let reg = Registry::start(Options::default());
    let a = img("gh-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("gh-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("gh-c", "2024-02-01T00:00:00Z", &[900]);
    let d = img("gh-d", "2024-03-01T00:00:00Z", &[500]);
    let url = reg.url.clone();
    let (a2, b2, c2, d2) = (a.clone(), b.clone(), c.clone(), d.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("octo/app", "v1", &a2).await;
        p.image("octo/app", "v2", &b2).await;
        p.image("octo/app", "latest", &b2).await;
        p.image("octo/tools/cli", "1.0", &c2).await;
        p.image("octo/web", "x", &d2).await;
    });
    let v = |id, i: &Image, tags: &[&str], created: &str| Version {
        id,
        digest: i.digest.clone(),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        created_at: created.into(),
    };
    let (fx, state) = start(
        "octo",
        vec![
            Package {
                name: "app".into(),
                versions: vec![
                    v(11, &a, &["v1"], "2024-01-02T10:00:00Z"),
                    v(12, &b, &["v2", "latest"], "2024-05-06T10:00:00Z"),
                ],
            },
            Package {
                name: "tools/cli".into(),
                versions: vec![v(21, &c, &["1.0"], "2024-02-01T10:00:00Z")],
            },
            Package {
                name: "web".into(),
                versions: vec![v(31, &d, &["x"], "2024-03-01T10:00:00Z")],
            },
        ],
    );
    Scenario {
        reg,
        fx,
        state,
        a,
        b,
    }
}

impl Scenario {
    /// A ghcr profile `name` for this scenario; `auth` is the token line(s).
    pub fn profile_toml(&self, name: &str, auth: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"ghcr\"\nowner = \"octo\"\nregistry = \"{}\"\napi_url = \"{}\"\n{auth}\n",
            self.reg.url, self.fx.url
        )
    }
}
