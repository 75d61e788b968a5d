//! Network (issue #10): the certificates people really make (openssl's recipes), retries for
//! reads only, `Retry-After` for the whole host, the catalog page size, logs. Against the real
//! registry, with a fault-injecting server in front of it where a real one cannot fail on cue.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::bin::{regtui, write_config};
use support::fixture::{DROP, Response, proxy};
use support::registry::require;
use support::{Options, Registry, find, standard};

/// Runs `openssl` in `dir` and fails loudly when it is missing or refuses.
fn openssl(dir: &Path, args: &[&str]) {
    require("/usr/bin/openssl", "openssl");
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The three recipes of the lab guides; returns (certificate, key) paths.
fn recipe(dir: &Path, which: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{which}.crt"), format!("{which}.key"));
    // Docker's docs: self-signed, CA:TRUE, no subjectAltName; "san" adds an IP subjectAltName.
    let mut req = vec![
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-keyout",
        &key,
        "-x509",
        "-days",
        "365",
        "-out",
        &crt,
        "-subj",
        "/CN=localhost",
    ];
    if which == "san" {
        req.extend(["-addext", "subjectAltName = IP:127.0.0.1"]);
    }
    match which {
        "plain" | "san" => openssl(dir, &req),
        // genrsa, a request, then x509 -req -signkey: no extensions at all.
        _ => {
            openssl(dir, &["genrsa", "-out", &key, "2048"]);
            openssl(
                dir,
                &[
                    "req",
                    "-new",
                    "-key",
                    &key,
                    "-subj",
                    "/CN=localhost",
                    "-out",
                    "req.csr",
                ],
            );
            openssl(
                dir,
                &[
                    "x509", "-req", "-in", "req.csr", "-signkey", &key, "-days", "365", "-out",
                    &crt,
                ],
            );
        }
    }
    (dir.join(crt), dir.join(key))
}

/// `regtui repos` against `url` with `ca_cert` (when given) from a config file.
fn repos(url: &str, ca: Option<&Path>) -> support::bin::Run {
    let dir = tempfile::tempdir().unwrap();
    let mut toml = format!("[profiles.t]\nregistry = \"{url}\"\n");
    if let Some(ca) = ca {
        toml += &format!("ca_cert = \"{}\"\n", ca.display());
    }
    let cfg = write_config(dir.path(), &toml);
    regtui(&["-c", &cfg, "-p", "t", "repos"], &[])
}

fn has(s: &str, parts: &[&str]) {
    for p in parts {
        assert!(s.contains(p), "{p:?} missing from: {s}");
    }
}

#[test]
fn the_certificates_of_the_lab_guides_work_pinned_by_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["plain", "san", "signkey"] {
        let (crt, key) = recipe(dir.path(), which);
        let reg = Registry::start(Options {
            tls_pair: Some((crt.clone(), key)),
            ..Default::default()
        });
        let url = if which == "san" {
            format!("https://127.0.0.1:{}", reg.port)
        } else {
            reg.url.clone()
        };
        let r = repos(&url, Some(&crt));
        assert_eq!(r.code(), 0, "{which}: {}", r.stderr());
        // Without ca_cert: says it is self-signed and gives the line to add.
        let r = repos(&url, None);
        assert_ne!(r.code(), 0);
        let host = url.trim_start_matches("https://");
        has(
            &r.stderr(),
            &[
                "is self-signed and not trusted here",
                "subject CN=localhost",
                &format!("openssl s_client -connect {host} "),
                &format!("ca_cert = \"{}.crt\"", host.replace(':', "_")),
            ],
        );
        if which == "plain" {
            has(&r.stderr(), &["no subjectAltName"]);
        }
    }
}

#[test]
fn pinning_one_certificate_never_trusts_another() {
    let dir = tempfile::tempdir().unwrap();
    let (served, key) = recipe(dir.path(), "plain");
    let (other, _) = recipe(dir.path(), "san");
    let reg = Registry::start(Options {
        tls_pair: Some((served, key)),
        ..Default::default()
    });
    // Same subject (CN=localhost), another certificate.
    let r = repos(&reg.url, Some(&other));
    assert_ne!(r.code(), 0);
    has(
        &r.stderr(),
        &[
            &format!("neither in ca_cert {}", other.display()),
            "holds 1 certificate(s) (CN=localhost)",
        ],
    );
}

/// A CA in `ca.crt` and a leaf it signs, for `names`, valid until `not_after` (y, m, d).
fn ca_signed(dir: &Path, names: &[&str], not_after: (i32, u8, u8)) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "lab CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    leaf.not_before = rcgen::date_time_ymd(2019, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let leaf = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    let (c, k, a) = (
        dir.join("leaf.crt"),
        dir.join("leaf.key"),
        dir.join("ca.crt"),
    );
    std::fs::write(&c, leaf.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    std::fs::write(&a, ca_cert.pem()).unwrap();
    (c, k, a)
}

#[test]
fn expired_and_misnamed_certificates_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k, ca) = ca_signed(dir.path(), &["localhost"], (2020, 6, 1));
    let reg = Registry::start(Options {
        tls_pair: Some((c, k)),
        ..Default::default()
    });
    let r = repos(&reg.url, Some(&ca));
    assert_ne!(r.code(), 0);
    has(&r.stderr(), &["expired on 2020-06-01 00:00 UTC"]);

    let dir = tempfile::tempdir().unwrap();
    let (c, k, ca) = ca_signed(dir.path(), &["registry.example"], (2099, 1, 1));
    let reg = Registry::start(Options {
        tls_pair: Some((c, k)),
        ..Default::default()
    });
    let r = repos(&reg.url, Some(&ca));
    assert_ne!(r.code(), 0);
    has(
        &r.stderr(),
        &["is for DNS:registry.example but the registry is localhost"],
    );
    // With the CA and the right name it works through the chain.
    let dir = tempfile::tempdir().unwrap();
    let (c, k, ca) = ca_signed(dir.path(), &["localhost"], (2099, 1, 1));
    let reg = Registry::start(Options {
        tls_pair: Some((c, k)),
        ..Default::default()
    });
    let r = repos(&reg.url, Some(&ca));
    assert_eq!(r.code(), 0, "{}", r.stderr());
}

#[test]
fn the_wrong_scheme_for_the_port_is_named() {
    let plain = Registry::start(Options::default());
    let r = regtui(
        &[
            "--registry",
            &format!("https://127.0.0.1:{}", plain.port),
            "repos",
        ],
        &[],
    );
    assert_ne!(r.code(), 0);
    has(
        &r.stderr(),
        &[&format!(
            "serves plain HTTP on that port, so write http://127.0.0.1:{}",
            plain.port
        )],
    );
    let tls = Registry::start(Options {
        tls: true,
        ..Default::default()
    });
    let r = regtui(
        &["--registry", &format!("http://{}", tls.host), "repos"],
        &[],
    );
    assert_ne!(r.code(), 0);
    has(
        &r.stderr(),
        &[&format!(
            "speaks TLS on that port but was asked in plain HTTP: write https://{}",
            tls.host
        )],
    );
}

// ---------- retries ----------

#[test]
fn reads_are_retried_through_faults_and_deletes_never() {
    let reg = standard(Options::default());
    let tries: Arc<Mutex<HashMap<String, usize>>> = Default::default();
    let deletes = Arc::new(AtomicUsize::new(0));
    let (t2, d2) = (tries.clone(), deletes.clone());
    let faults = [500u16, 502, 503, 504, 408, DROP];
    let px = proxy(reg.port, move |req| {
        if req.method == "DELETE" {
            d2.fetch_add(1, Ordering::SeqCst);
            return Some(Response::json(
                503,
                &json!({"errors": [{"code": "UNAVAILABLE", "message": "try later"}]}),
            ));
        }
        let key = format!("{} {}", req.method, req.target);
        let mut t = t2.lock().unwrap();
        let n = t.entry(key.clone()).or_default();
        *n += 1;
        // The first try of every read fails, each with another fault.
        (*n == 1).then(|| {
            let i = key.bytes().map(usize::from).sum::<usize>() % faults.len();
            Response::empty(faults[i])
        })
    });
    let r = regtui(
        &[
            "--registry",
            &px.url,
            "tags",
            "team/app/api",
            "--long",
            "--json",
        ],
        &[],
    );
    let rows = r.json();
    assert_eq!(rows.as_array().unwrap().len(), 5, "{}", r.stderr());
    assert_eq!(rows[0]["size"], find("team/app/api", "latest").size());
    let t = tries.lock().unwrap().clone();
    // Every read failed once and was tried again (a blob several tags share may be fetched by
    // more than one of them).
    assert!(t.values().all(|n| *n >= 2), "every read tried again: {t:?}");
    assert!(t.len() >= 6, "{t:?}");
    // A DELETE answered 503 is reported, never sent again.
    let d = find("solo", "only").digest;
    let r = regtui(
        &["--registry", &px.url, "rm", &format!("solo@{d}"), "--yes"],
        &[],
    );
    assert_ne!(r.code(), 0);
    has(&r.stderr(), &["503"]);
    assert_eq!(deletes.load(Ordering::SeqCst), 1);
    assert_eq!(reg.tags("solo"), ["only"]);
}

#[test]
fn retry_after_pauses_the_whole_host_and_says_so() {
    let reg = standard(Options::default());
    let log: Arc<Mutex<Vec<(Instant, String)>>> = Default::default();
    let once = Arc::new(AtomicUsize::new(0));
    let (l2, o2) = (log.clone(), once.clone());
    let px = proxy(reg.port, move |req| {
        l2.lock()
            .unwrap()
            .push((Instant::now(), format!("{} {}", req.method, req.target)));
        (req.method == "GET"
            && req.path().contains("/manifests/")
            && o2.fetch_add(1, Ordering::SeqCst) == 0)
            .then(|| {
                Response::json(
                    429,
                    &json!({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}),
                )
                .with("Retry-After", "2")
            })
    });
    let started = Instant::now();
    let r = regtui(
        &[
            "--registry",
            &px.url,
            "tags",
            "team/app/api",
            "--long",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 5);
    assert!(started.elapsed() >= Duration::from_secs(2));
    has(
        &r.stderr(),
        &["rate limited by the registry, retrying in 2 s"],
    );
    // Nothing but what was already on its way reached the host during the pause.
    let log = log.lock().unwrap().clone();
    let limited = log
        .iter()
        .position(|(_, what)| what.contains("/manifests/"))
        .unwrap();
    let t0 = log[limited].0;
    let during: Vec<&String> = log
        .iter()
        .filter(|(t, _)| {
            *t > t0 + Duration::from_millis(300) && *t < t0 + Duration::from_millis(1900)
        })
        .map(|(_, w)| w)
        .collect();
    assert!(during.is_empty(), "requests during the pause: {during:?}");
}

#[test]
fn a_small_catalog_page_limit_is_followed() {
    let reg = standard(Options {
        catalog_max: Some(3),
        ..Default::default()
    });
    let r = regtui(&["--registry", &reg.url, "repos", "--json"], &[]);
    assert_eq!(
        r.json(),
        json!(["solo", "team/app/api", "team/app/web", "tools/multi"])
    );
}

#[test]
fn the_log_has_one_line_per_request_and_no_secret() {
    let reg = standard(Options {
        auth: support::Auth::Htpasswd,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let log = dir.path().join("regtui.log");
    let r = regtui(
        &[
            "-c",
            &cfg,
            "--log-file",
            log.to_str().unwrap(),
            "tags",
            "team/app/api",
            "--long",
        ],
        &[("REGTUI_TEST_PASSWORD", support::registry::PASSWORD)],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let text = std::fs::read_to_string(&log).unwrap();
    has(
        &text,
        &[
            "GET /v2/team/app/api/tags/list",
            " 200 ",
            "retry=0",
            "limit=",
        ],
    );
    assert!(!text.contains(support::registry::PASSWORD), "{text}");
    assert!(!text.to_lowercase().contains("basic "), "{text}");
    // -v shows the same lines on stderr.
    let r = regtui(
        &["-c", &cfg, "-v", "tags", "team/app/api"],
        &[("REGTUI_TEST_PASSWORD", support::registry::PASSWORD)],
    );
    has(&r.stderr(), &["GET /v2/team/app/api/tags/list"]);
    assert!(!r.stderr().contains(support::registry::PASSWORD));
}

#[test]
fn the_tui_is_told_while_the_host_is_paused() {
    use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec, ReqId};
    let reg = standard(Options::default());
    let once = Arc::new(AtomicUsize::new(0));
    let o2 = once.clone();
    let px = proxy(reg.port, move |req| {
        (req.path().contains("/manifests/") && o2.fetch_add(1, Ordering::SeqCst) == 0).then(|| {
            Response::json(429, &json!({"errors": [{"code": "TOOMANYREQUESTS"}]}))
                .with("Retry-After", "3")
        })
    });
    let notes = support::block_on(async move {
        let spec = ProfileSpec {
            name: "p".into(),
            registry: px.url.clone(),
            source: ProfileSource::Registry {
                profile: Box::new(regtui::config::Profile::ad_hoc(&px.url).unwrap()),
                base_dir: ".".into(),
            },
            concurrency: 4,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let client = client_task::spawn(vec![spec], tx);
        client
            .commands
            .send(Command::Inspect {
                req: ReqId(1),
                profile: "p".into(),
                repo: "team/app/api".into(),
                reference: "latest".into(),
            })
            .await
            .unwrap();
        let mut notes = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(Event::Note { text, .. })) => notes.push(text),
                Ok(Some(Event::Inspected { result, .. })) => {
                    assert!(result.is_ok(), "{result:?}");
                    break;
                }
                Ok(Some(_)) => {}
                other => panic!("no answer: {other:?}"),
            }
        }
        // The note after the command clears it.
        if let Ok(Some(Event::Note { text, .. })) =
            tokio::time::timeout(Duration::from_secs(2), rx.recv()).await
        {
            notes.push(text);
        }
        notes
    });
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("rate limited by the registry, retrying in")),
        "{notes:?}"
    );
    assert_eq!(notes.last().map(String::as_str), Some(""), "{notes:?}");
}

#[test]
fn a_body_cut_short_is_fetched_again_and_deletes_go_once_whatever_the_answer() {
    let reg = standard(Options::default());
    let cut = Arc::new(AtomicUsize::new(0));
    let deletes = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(Mutex::new(500u16));
    let (c2, d2, a2) = (cut.clone(), deletes.clone(), answer.clone());
    let reg_port = reg.port;
    let px = proxy(reg.port, move |req| {
        if req.method == "DELETE" {
            d2.fetch_add(1, Ordering::SeqCst);
            let status = *a2.lock().unwrap();
            return Some(Response::empty(status).with("Retry-After", "1"));
        }
        // The first blob GET: the body stops half-way (the length promises more).
        if req.path().contains("/blobs/") && c2.fetch_add(1, Ordering::SeqCst) == 0 {
            let full = support::fixture::forward(req, reg_port);
            let half = full.body[..full.body.len() / 2].to_vec();
            return Some(Response {
                status: 200,
                headers: vec![("content-length".into(), full.body.len().to_string())],
                body: half,
            });
        }
        None
    });
    let r = regtui(
        &[
            "--registry",
            &px.url,
            "inspect",
            "team/app/web:2024.01",
            "--json",
        ],
        &[],
    );
    assert_eq!(
        r.json()["config"]["created"],
        json!("2024-01-15T00:00:00Z"),
        "the config was read whole"
    );
    assert!(
        cut.load(Ordering::SeqCst) >= 2,
        "the blob was fetched again"
    );
    let d = find("team/app/web", "2024.06").digest;
    for status in [500u16, 502, 429, 504, 408] {
        *answer.lock().unwrap() = status;
        deletes.store(0, Ordering::SeqCst);
        let r = regtui(
            &[
                "--registry",
                &px.url,
                "rm",
                &format!("team/app/web@{d}"),
                "--yes",
            ],
            &[],
        );
        assert_ne!(r.code(), 0, "{status}");
        assert_eq!(
            deletes.load(Ordering::SeqCst),
            1,
            "DELETE answered {status} sent once"
        );
    }
    assert_eq!(reg.tags("team/app/web"), ["2024.01", "2024.06"]);
}

#[test]
fn insecure_accepts_even_a_version_1_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (crt, key) = recipe(dir.path(), "signkey");
    let reg = Registry::start(Options {
        tls_pair: Some((crt, key)),
        ..Default::default()
    });
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        cfg_dir.path(),
        &format!(
            "[profiles.t]\nregistry = \"{}\"\ninsecure = true\n",
            reg.url
        ),
    );
    let r = regtui(&["-c", &cfg, "-p", "t", "repos"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
}

#[test]
fn long_link_urls_count_against_the_listing_budget() {
    let pages = Arc::new(AtomicUsize::new(0));
    let p2 = pages.clone();
    let fx = support::fixture::serve(move |req| {
        if req.path() == "/v2/" {
            return Response::json(200, &json!({}));
        }
        let n = p2.fetch_add(1, Ordering::SeqCst);
        // Empty pages whose next link is 60 KB long and new every time: over the 8 KiB link limit.
        let pad = "x".repeat(60_000);
        Response::json(200, &json!({"name": "x", "tags": []})).with(
            "Link",
            &format!("</v2/x/tags/list?last={n}{pad}>; rel=\"next\""),
        )
    });
    let r = regtui(&["--registry", &fx.url, "tags", "x"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(
        pages.load(Ordering::SeqCst),
        1,
        "an oversized Link is not followed"
    );
}
