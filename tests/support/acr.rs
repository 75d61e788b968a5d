//! An Azure Container Registry fixture in front of the real registry, after:
//! - https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md and
//!   https://learn.microsoft.com/en-us/azure/container-registry/container-registry-authentication
//!   (challenge `Bearer realm="https://<host>/oauth2/token",service="<host>"`; `GET
//!   /oauth2/token` with Basic, or `POST` with `grant_type=refresh_token`; reply
//!   `{"access_token"}`; username `00000000-0000-0000-0000-000000000000` for refresh tokens);
//! - the same AAD-OAuth.md and
//!   https://learn.microsoft.com/en-us/rest/api/containerregistry/refresh-tokens/get-from-exchange
//!   (`POST /oauth2/exchange`, form `grant_type=access_token`, `service`, `tenant`,
//!   `access_token` (a Microsoft Entra ID access token) → `{"refresh_token"}`; refused: 401 with
//!   the ACR `errors` body);
//! - https://learn.microsoft.com/en-us/rest/api/containerregistry/manifests/get-list and
//!   …/tag/get-list, …/tag/delete, …/repository/get-properties (`/acr/v1/<repo>`,
//!   `/_manifests`, `/_tags`: `n` default 100 and at most 1000, `last`, `Link: <…>;
//!   rel="next"`; `imageSize`, `createdTime`, `lastUpdateTime`, `architecture`, `os`,
//!   `mediaType`, `tags`, `changeableAttributes`);
//! - https://learn.microsoft.com/en-us/azure/container-registry/container-registry-image-lock
//!   (`deleteEnabled` / `writeEnabled` false: deletes refused with 405).
//!
//! v2 passes through to the real registry once the token is valid; a v2 tag DELETE is refused
//! (400) as ACR does. Tokens last `State::token_uses` requests, and the first
//! `State::throttle` `/acr/v1` listing requests answer 429 with `Retry-After: 1`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::fixture::{Fixture, Request, Response, forward, proxy};
use super::oci::{Image, simple as img};
use super::{Options, Registry, push_images};

/// The admin user and its password.
pub const USER: &str = "acmeprod";
pub const PASSWORD: &str = "acr-admin-password";
/// A refresh token, for the zero-GUID username.
pub const REFRESH_TOKEN: &str = "acr-refresh-token";
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";
/// The Entra ID tenant whose access tokens the registry accepts.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// An Entra ID access token (a JWT as `az account get-access-token` prints, unsigned here)
/// issued by `iss` for `tenant`.
pub fn entra_token(iss: &str, tenant: &str) -> String {
    use base64::Engine as _;
    let enc = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc(json!({"alg": "RS256", "typ": "JWT"})),
        enc(
            json!({"aud": "https://management.azure.com/", "iss": iss, "tid": tenant,
                   "oid": "1b2c3d4e", "exp": 4_102_444_800u64})
        )
    )
}

/// The Entra ID token the fixture's tenant accepts.
pub fn good_entra_token() -> String {
    entra_token(&format!("https://sts.windows.net/{TENANT}/"), TENANT)
}

/// The real defaults: 100 entries when `n` is absent, 1000 at most.
pub const DEFAULT_N: usize = 100;
pub const MAX_N: usize = 1000;

/// One manifest of a repository.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    pub created: String,
    /// `(tag, locked)`: the tag's own `deleteEnabled: false`.
    pub tags: Vec<(String, bool)>,
    /// The manifest's `writeEnabled: false`.
    pub locked: bool,
}

/// What the fixture holds.
#[derive(Debug)]
pub struct State {
    pub repos: BTreeMap<String, Vec<Manifest>>,
    /// Requests each token is good for (0 = unlimited).
    pub token_uses: usize,
    pub tokens: HashMap<String, usize>,
    pub issued: usize,
    /// `/acr/v1` listings still to answer with 429.
    pub throttle: usize,
    /// Largest page (the service's 1000; smaller to see paging on a small repository).
    pub max_n: usize,
    /// Digests locked since the listing (the delete is refused, the listing does not say).
    pub locked_later: Vec<String>,
    /// `/oauth2/exchange` requests answered with a refresh token.
    pub exchanges: usize,
    /// How long `/oauth2/exchange` stalls before it answers.
    pub exchange_stall: std::time::Duration,
}

impl Default for State {
    fn default() -> Self {
        State {
            repos: BTreeMap::new(),
            token_uses: 0,
            tokens: HashMap::new(),
            issued: 0,
            throttle: 0,
            max_n: MAX_N,
            locked_later: Vec::new(),
            exchanges: 0,
            exchange_stall: std::time::Duration::ZERO,
        }
    }
}

pub type Shared = Arc<Mutex<State>>;

fn errors(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

fn authorized(st: &mut State, req: &Request) -> bool {
    let Some(t) = req.bearer() else {
        return false;
    };
    let uses = st.token_uses;
    match st.tokens.get_mut(t) {
        Some(_) if uses == 0 => true,
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

/// Whether the token request carries good credentials: Basic admin, Basic zero GUID + refresh
/// token, or the refresh-token grant.
fn credentials_ok(req: &Request) -> bool {
    use base64::Engine as _;
    if req.method == "POST" {
        let body = String::from_utf8_lossy(&req.body).to_string();
        let form: HashMap<&str, &str> = body
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        return form.get("grant_type") == Some(&"refresh_token")
            && form.get("refresh_token") == Some(&REFRESH_TOKEN);
    }
    let Some(b) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
        return false;
    };
    raw == format!("{USER}:{PASSWORD}").as_bytes()
        || raw == format!("{ZERO_GUID}:{REFRESH_TOKEN}").as_bytes()
}

fn attributes(delete: bool, write: bool) -> serde_json::Value {
    json!({"deleteEnabled": delete, "writeEnabled": write, "readEnabled": true, "listEnabled": true})
}

/// One page of `items` (sorted by `key`) after `last`, with the `Link` to the next.
fn page<T: Clone>(
    req: &Request,
    items: &[T],
    key: impl Fn(&T) -> String,
    max_n: usize,
    path: &str,
) -> (Vec<T>, Option<String>) {
    let n = req
        .query("n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(DEFAULT_N)
        .clamp(1, max_n);
    let last = req.query("last");
    let rest: Vec<T> = items
        .iter()
        .filter(|i| last.as_ref().is_none_or(|l| key(i).as_str() > l.as_str()))
        .cloned()
        .collect();
    let more = rest.len() > n;
    let out: Vec<T> = rest.into_iter().take(n).collect();
    let link = (more && !out.is_empty()).then(|| {
        format!(
            "<{path}?last={}&n={n}&orderby=>; rel=\"next\"",
            key(out.last().unwrap())
        )
    });
    (out, link)
}

/// Starts the fixture; v2 requests go on to the registry on `registry_port`.
pub fn start(state: State, registry_port: u16) -> (Fixture, Shared) {
    let st: Shared = Arc::new(Mutex::new(state));
    let s2 = st.clone();
    let host: Arc<Mutex<String>> = Default::default();
    let h2 = host.clone();
    let fx = proxy(registry_port, move |req| {
        let host = h2.lock().unwrap().clone();
        let path = req.path().to_string();
        if path == "/oauth2/exchange" {
            // Stalls without holding the state: other requests go on meanwhile.
            let stall = s2.lock().unwrap().exchange_stall;
            std::thread::sleep(stall);
        }
        let mut st = s2.lock().unwrap();
        let challenge = |scope: &str| {
            errors(
                401,
                "UNAUTHORIZED",
                "authentication required, visit https://aka.ms/acr/authorization for more information.",
            )
            .with(
                "www-authenticate",
                &format!(
                    "Bearer realm=\"http://{host}/oauth2/token\",service=\"{host}\"{scope}"
                ),
            )
        };
        if path == "/oauth2/exchange" {
            let body = String::from_utf8_lossy(&req.body).to_string();
            let form: HashMap<String, String> = body
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), super::fixture::percent_decode(v)))
                .collect();
            let get = |k: &str| form.get(k).map(String::as_str);
            let ok = req.method == "POST"
                && get("grant_type") == Some("access_token")
                && get("service") == Some(host.as_str())
                && get("tenant").is_none_or(|t| t == TENANT)
                && get("access_token") == Some(good_entra_token().as_str());
            if !ok {
                return Some(errors(
                    401,
                    "UNAUTHORIZED",
                    "invalid AAD access token or the identity has no access to this registry",
                ));
            }
            st.exchanges += 1;
            return Some(Response::json(
                200,
                &json!({"refresh_token": REFRESH_TOKEN}),
            ));
        }
        if path == "/oauth2/token" {
            if !credentials_ok(req) {
                return Some(errors(
                    401,
                    "UNAUTHORIZED",
                    "authentication required, visit https://aka.ms/acr/authorization for more information.",
                ));
            }
            st.issued += 1;
            let t = format!("acr-access-{}", st.issued);
            let uses = st.token_uses;
            st.tokens.insert(t.clone(), uses);
            return Some(Response::json(200, &json!({"access_token": t})));
        }
        if let Some(rest) = path.strip_prefix("/acr/v1/") {
            let (repo, what) = match rest.rsplit_once("/_") {
                Some((r, w)) => (r.to_string(), format!("_{w}")),
                None => (rest.to_string(), String::new()),
            };
            if !authorized(&mut st, req) {
                return Some(challenge(&format!(
                    ",scope=\"repository:{repo}:metadata_read\""
                )));
            }
            let max_n = st.max_n;
            if req.method == "GET" && st.throttle > 0 && !what.is_empty() {
                st.throttle -= 1;
                return Some(
                    errors(429, "TOOMANYREQUESTS", "too many requests").with("retry-after", "1"),
                );
            }
            let manifests = st.repos.get(&repo).cloned();
            let Some(manifests) = manifests else {
                return Some(errors(
                    404,
                    "NAME_UNKNOWN",
                    "repository name not known to registry",
                ));
            };
            let base = format!("/acr/v1/{repo}/{what}");
            if what.is_empty() {
                return Some(Response::json(
                    200,
                    &json!({"registry": host, "imageName": repo,
                            "manifestCount": manifests.len(),
                            "changeableAttributes": attributes(true, true)}),
                ));
            }
            if what == "_manifests" {
                let mut all = manifests.clone();
                all.sort_by(|a, b| a.digest.cmp(&b.digest));
                let (items, link) = page(req, &all, |m| m.digest.clone(), max_n, &base);
                let body = json!({"registry": host, "imageName": repo, "manifests":
                    items.iter().map(|m| json!({
                        "digest": m.digest, "imageSize": m.size, "createdTime": m.created,
                        "lastUpdateTime": m.created, "architecture": "amd64", "os": "linux",
                        "mediaType": m.media_type,
                        "tags": m.tags.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
                        "changeableAttributes": attributes(true, !m.locked),
                    })).collect::<Vec<_>>()});
                let mut r = Response::json(200, &body);
                if let Some(l) = link {
                    r = r.with("link", &l);
                }
                return Some(r);
            }
            if what == "_tags" && req.method == "GET" {
                let mut all: Vec<(String, String, String, bool)> = manifests
                    .iter()
                    .flat_map(|m| {
                        m.tags
                            .iter()
                            .map(|(t, l)| (t.clone(), m.digest.clone(), m.created.clone(), *l))
                    })
                    .collect();
                all.sort();
                let (items, link) = page(req, &all, |t| t.0.clone(), max_n, &base);
                let body = json!({"registry": host, "imageName": repo, "tags":
                    items.iter().map(|(t, d, c, l)| json!({
                        "name": t, "digest": d, "createdTime": c, "lastUpdateTime": c,
                        "signed": false, "changeableAttributes": attributes(!l, true),
                    })).collect::<Vec<_>>()});
                let mut r = Response::json(200, &body);
                if let Some(l) = link {
                    r = r.with("link", &l);
                }
                return Some(r);
            }
            if let (Some(tag), "DELETE") = (what.strip_prefix("_tags/"), req.method.as_str()) {
                let ms = st.repos.get_mut(&repo)?;
                let Some(m) = ms.iter_mut().find(|m| m.tags.iter().any(|(t, _)| t == tag)) else {
                    return Some(errors(
                        404,
                        "TAG_UNKNOWN",
                        "the specified tag does not exist",
                    ));
                };
                if m.locked || m.tags.iter().any(|(t, l)| t == tag && *l) {
                    return Some(errors(
                        405,
                        "UNSUPPORTED",
                        "The operation is disallowed on this registry, repository or image.",
                    ));
                }
                m.tags.retain(|(t, _)| t != tag);
                return Some(Response::empty(202));
            }
            return Some(errors(404, "NOT_FOUND", "not found"));
        }
        let v2 = path.strip_prefix("/v2/")?;
        if !authorized(&mut st, req) {
            let scope = v2
                .split_once("/manifests/")
                .or_else(|| v2.split_once("/blobs/"))
                .or_else(|| v2.split_once("/tags/"))
                .map(|(r, _)| format!(",scope=\"repository:{r}:pull\""))
                .unwrap_or_default();
            return Some(challenge(&scope));
        }
        if req.method == "DELETE" {
            let (repo, reference) = v2.split_once("/manifests/")?;
            if !reference.starts_with("sha256:") {
                return Some(errors(400, "UNSUPPORTED", "The operation is unsupported."));
            }
            let later = st.locked_later.iter().any(|d| d == reference);
            let ms = st.repos.get_mut(repo)?;
            if let Some(m) = ms.iter().find(|m| m.digest == reference) {
                if later || m.locked || m.tags.iter().any(|(_, l)| *l) {
                    return Some(errors(
                        405,
                        "UNSUPPORTED",
                        "The operation is disallowed on this registry, repository or image.",
                    ));
                }
            }
            ms.retain(|m| m.digest != reference);
            drop(st);
            return Some(forward(req, registry_port));
        }
        None
    });
    *host.lock().unwrap() = format!("127.0.0.1:{}", fx.port);
    (fx, st)
}

fn manifest(i: &Image, size: u64, created: &str, tags: &[(&str, bool)]) -> Manifest {
    Manifest {
        digest: i.digest.clone(),
        size,
        media_type: i.media_type.clone(),
        created: created.into(),
        tags: tags.iter().map(|(t, l)| (t.to_string(), *l)).collect(),
        locked: false,
    }
}

/// The real registry holding `team/app` (v1; v2 and latest on one digest; `stable` locked on
/// its own digest), `team/tools/cli` and `base`, with the fixture in front.
pub struct Scenario {
    pub reg: Registry,
    pub fx: Fixture,
    pub state: Shared,
    pub a: Image,
    pub b: Image,
    pub c: Image,
}

/// Starts the ACR scenario.
pub fn scenario() -> Scenario {
    let reg = Registry::start(Options::default());
    let a = img("acr-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("acr-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("acr-c", "2024-02-01T00:00:00Z", &[900]);
    push_images(
        &reg.url,
        &[
            ("team/app", "v1", &a),
            ("team/app", "v2", &b),
            ("team/app", "latest", &b),
            ("team/app", "stable", &c),
            ("team/tools/cli", "1.0", &c),
            ("base", "x", &c),
        ],
    );
    let mut state = State::default();
    state.repos.insert(
        "team/app".into(),
        vec![
            manifest(
                &a,
                111_111,
                "2024-01-02T10:00:00.1234567Z",
                &[("v1", false)],
            ),
            manifest(
                &b,
                222_222,
                "2024-05-01T10:00:00.5Z",
                &[("v2", false), ("latest", false)],
            ),
            manifest(&c, 5, "2024-02-01T10:00:00Z", &[("stable", true)]),
        ],
    );
    state.repos.insert(
        "team/tools/cli".into(),
        vec![manifest(&c, 5, "2024-02-01T10:00:00Z", &[("1.0", false)])],
    );
    state.repos.insert(
        "base".into(),
        vec![manifest(&c, 5, "2024-02-01T10:00:00Z", &[("x", false)])],
    );
    let (fx, state) = start(state, reg.port);
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
    /// An acr profile `name` for this scenario; `extra` holds the credential lines.
    pub fn profile_toml(&self, name: &str, extra: &str) -> String {
        format!(
            "[profiles.{name}]\nkind = \"acr\"\nregistry = \"{}\"\n{extra}\n",
            self.fx.url
        )
    }
}
