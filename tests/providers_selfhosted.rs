//! Harbor and GitLab profiles: their APIs from fixture servers that follow the documented
//! shapes (see the top of each fixture), manifests and configs from the real registry behind
//! the service's token endpoint.

mod support;

use std::sync::atomic::Ordering;

use support::bin::{regtui, write_config};
use support::harbor;

struct Hb {
    sc: harbor::Scenario,
    _dir: tempfile::TempDir,
    cfg: String,
}

fn harbor_profile(extra: &str) -> Hb {
    let sc = harbor::scenario();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &sc.profile_toml(
            "hb",
            &format!(
                "username = \"{}\"\npassword_env = \"HARBOR_PASSWORD\"\n{extra}",
                harbor::USER
            ),
        ),
    );
    Hb { sc, _dir: dir, cfg }
}

fn hb_run(h: &Hb, password: &str, args: &[&str]) -> support::bin::Run {
    let mut a = vec!["-c", h.cfg.as_str(), "-p", "hb"];
    a.extend(args);
    regtui(&a, &[("HARBOR_PASSWORD", password)])
}

fn names(v: serde_json::Value) -> Vec<String> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn harbor_lists_projects_repositories_and_tags_with_sizes_dates_pulls_and_locks() {
    let h = harbor_profile("");
    let repos = names(hb_run(&h, harbor::PASSWORD, &["repos", "--json"]).json());
    assert_eq!(
        repos,
        ["acme/db", "library/app", "library/big", "library/team/tool"]
    );
    // Only a project named in the profile.
    let only = harbor_profile("project = \"acme\"");
    let repos = names(hb_run(&only, harbor::PASSWORD, &["repos", "--json"]).json());
    assert_eq!(repos, ["acme/db"]);

    let before = h.sc.fx.seen().len();
    let rows = hb_run(
        &h,
        harbor::PASSWORD,
        &["tags", "library/app", "--long", "--json"],
    )
    .json();
    let rows = rows.as_array().unwrap();
    let tags: Vec<&str> = rows.iter().map(|r| r["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["latest", "stable", "v1", "v2"]);
    let row = |t: &str| rows.iter().find(|r| r["tag"] == t).unwrap();
    assert_eq!(row("v1")["digest"], h.sc.a.digest.as_str());
    assert_eq!(row("v1")["size"], h.sc.a.size());
    assert_eq!(row("v1")["pushed"], "2024-01-02T10:00:00.000Z");
    assert_eq!(row("v1")["created"], h.sc.a.created.as_str());
    assert_eq!(row("v1")["pulled"], "2024-06-01T08:00:00.000Z");
    assert_eq!(row("v1")["platforms"][0]["platform"], "linux/amd64");
    // Harbor's 0001-01-01 pull time is "never pulled": JSON null.
    assert!(row("v2")["pulled"].is_null(), "{}", row("v2"));
    assert!(row("v2").get("pulled").is_some(), "{}", row("v2"));
    assert!(
        row("stable")["locked"]
            .as_str()
            .is_some_and(|l| l.contains("immutable")),
        "{}",
        row("stable")
    );
    assert!(row("v1").get("locked").is_none());
    // Bulk first: the artifact listing alone, no manifest or config per tag.
    let during: Vec<String> = h.sc.fx.seen()[before..].to_vec();
    assert!(!during.iter().any(|s| s.contains("/v2/")), "{during:?}");
    let listing: Vec<&String> = during
        .iter()
        .filter(|s| s.starts_with("GET /api/v2.0/projects/library/repositories/app/artifacts?"))
        .collect();
    assert_eq!(listing.len(), 1, "{during:?}");
    assert!(
        listing[0].contains("page_size=100")
            && listing[0].contains("with_tag=true")
            && listing[0].contains("with_immutable_status=true"),
        "{listing:?}"
    );

    // A nested name: the project dropped, the `/` double-encoded.
    let t = names(
        hb_run(
            &h,
            harbor::PASSWORD,
            &["tags", "library/team/tool", "--json"],
        )
        .json(),
    );
    assert_eq!(t, ["1.0"]);
    assert!(
        h.sc.fx.seen().iter().any(|s| s
            .starts_with("GET /api/v2.0/projects/library/repositories/team%252Ftool/artifacts?")),
        "{:?}",
        h.sc.fx.seen()
    );
    // v2 through Harbor's token service.
    let i = hb_run(
        &h,
        harbor::PASSWORD,
        &["inspect", "library/app:v1", "--json"],
    )
    .json();
    assert_eq!(i["digest"], h.sc.a.digest.as_str());
    assert!(
        h.sc.fx
            .seen()
            .iter()
            .any(|s| s.starts_with("GET /service/token?")),
        "{:?}",
        h.sc.fx.seen()
    );
}

#[test]
fn harbor_lists_1000_tags_in_ten_pages_and_waits_out_a_429() {
    let h = harbor_profile("project = \"library\"");
    h.sc.state.rate_limit_once.store(true, Ordering::SeqCst);
    let before = h.sc.fx.seen().len();
    let started = std::time::Instant::now();
    let rows = hb_run(
        &h,
        harbor::PASSWORD,
        &["tags", "library/big", "--long", "--json"],
    )
    .json();
    let took = started.elapsed();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r["size"] == h.sc.c.size()));
    assert!(rows.iter().all(|r| r["pushed"].is_string()));
    let during: Vec<String> = h.sc.fx.seen()[before..].to_vec();
    let pages = during
        .iter()
        .filter(|s| s.contains("/repositories/big/artifacts?"))
        .count();
    // 10 pages of 100, one of them answered 429 first and asked again after Retry-After.
    assert_eq!(pages, 11, "{during:?}");
    assert!(
        during.len() <= 1000usize.div_ceil(100) + 4,
        "{} requests: {during:?}",
        during.len()
    );
    assert!(!h.sc.state.rate_limit_once.load(Ordering::SeqCst));
    assert!(
        took >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    eprintln!(
        "harbor: 1000 tags in {} requests, {took:?} (1 s of it the Retry-After)",
        during.len()
    );
}

#[test]
fn harbor_removes_one_tag_keeps_siblings_refuses_immutable_and_deletes_tagged_digests() {
    let h = harbor_profile("");
    let pw = harbor::PASSWORD;
    // Tag-only delete through the API; the sibling on the same digest stays.
    let done = hb_run(&h, pw, &["rm", "library/app:v2", "--yes", "--json"]).json();
    assert_eq!(done["method"], "provider-api", "{done}");
    let d = &h.sc.b.digest;
    assert!(
        h.sc.fx.seen().iter().any(|s| s
            == &format!(
                "DELETE /api/v2.0/projects/library/repositories/app/artifacts/sha256%3A{}/tags/v2",
                &d[7..]
            )),
        "{:?}",
        h.sc.fx.seen()
    );
    assert_eq!(h.sc.tags("library/app"), ["latest", "stable", "v1"]);

    // An immutable tag is refused and kept, with Harbor's rule named.
    let r = hb_run(&h, pw, &["rm", "library/app:stable", "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("immutable"), "{}", r.stderr());
    assert_eq!(h.sc.tags("library/app"), ["latest", "stable", "v1"]);

    // A digest that still has a tag: the artifact goes with its tags.
    let reference = format!("library/app@{}", h.sc.a.digest);
    let done = hb_run(&h, pw, &["rm", &reference, "--yes", "--json"]).json();
    assert_eq!(done["removed_tags"], serde_json::json!(["v1"]), "{done}");
    assert_eq!(h.sc.tags("library/app"), ["latest", "stable"]);
}

#[test]
fn harbor_reports_a_refused_login_although_harbor_answers_anonymously() {
    let h = harbor_profile("");
    let r = hb_run(&h, "wrong", &["repos"]);
    assert_ne!(r.code(), 0);
    let e = r.stderr();
    assert!(
        e.contains("login refused") && e.contains(harbor::USER),
        "{e}"
    );
    assert!(!e.contains("wrong"), "the password never shows: {e}");
    // Without credentials: anonymous, public projects only (no login to check).
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &h.sc.profile_toml("anon", ""));
    let r = regtui(&["-c", &cfg, "-p", "anon", "repos", "--json"], &[]);
    assert_eq!(
        names(r.json()),
        ["library/app", "library/big", "library/team/tool"]
    );
}

#[test]
fn harbor_renews_an_expired_registry_token_mid_inspect() {
    let h = harbor_profile("");
    // One token serves TOKEN_USES v2 requests; an inspect needs more (manifest, config).
    let i = hb_run(
        &h,
        harbor::PASSWORD,
        &["inspect", "library/app:v1", "--json"],
    )
    .json();
    assert_eq!(i["digest"], h.sc.a.digest.as_str());
    let v2: Vec<String> =
        h.sc.fx
            .seen()
            .into_iter()
            .filter(|s| s.contains(" /v2/") || s.contains("/service/token"))
            .collect();
    let issued = h.sc.state.tokens_issued.load(Ordering::SeqCst);
    assert!(issued >= 2, "tokens issued: {issued}: {v2:?}");
    // The expired token was answered with a fresh challenge, and the request then went through.
    let blob = v2.iter().rposition(|s| s.contains("/blobs/")).unwrap();
    assert!(
        v2[..blob]
            .iter()
            .filter(|s| s.contains("/service/token"))
            .count()
            >= 2,
        "{v2:?}"
    );
}

use support::gitlab;

struct Gl {
    sc: gitlab::Scenario,
    _dir: tempfile::TempDir,
    cfg: String,
}

fn gitlab_profile(scope: &str) -> Gl {
    let sc = gitlab::scenario();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &sc.profile_toml("gl", &format!("{scope}\ntoken_env = \"GL_TOKEN\"")),
    );
    Gl { sc, _dir: dir, cfg }
}

fn gl_run(g: &Gl, token: Option<&str>, args: &[&str]) -> support::bin::Run {
    let mut a = vec!["-c", g.cfg.as_str(), "-p", "gl"];
    a.extend(args);
    match token {
        Some(t) => regtui(&a, &[("GL_TOKEN", t)]),
        None => regtui(&a, &[]),
    }
}

#[test]
fn gitlab_lists_a_group_and_a_project_with_tag_details_locks_and_index_sizes() {
    let g = gitlab_profile("group = \"acme\"");
    let tok = Some(gitlab::TOKEN);
    let repos = names(gl_run(&g, tok, &["repos", "--json"]).json());
    assert_eq!(
        repos,
        ["acme/app", "acme/app/worker", "acme/big", "acme/sub/lib"]
    );
    assert!(
        g.sc.fx
            .seen()
            .iter()
            .any(|s| s == "GET /api/v4/groups/acme/registry/repositories?per_page=100"),
        "{:?}",
        g.sc.fx.seen()
    );
    let p = gitlab_profile("project = \"acme/app\"");
    let repos = names(gl_run(&p, tok, &["repos", "--json"]).json());
    assert_eq!(repos, ["acme/app", "acme/app/worker"]);
    assert!(
        p.sc.fx
            .seen()
            .iter()
            .any(|s| s.starts_with("GET /api/v4/projects/acme%2Fapp/registry/repositories?")),
        "{:?}",
        p.sc.fx.seen()
    );

    // Names alone: the tag list, no detail request per tag.
    let before = g.sc.fx.seen().len();
    let t = names(gl_run(&g, tok, &["tags", "acme/app", "--json"]).json());
    assert_eq!(t, ["latest", "multi", "release-1", "v1", "v2"]);
    let during = g.sc.fx.seen()[before..].to_vec();
    assert!(!during.iter().any(|s| s.contains("/tags/")), "{during:?}");

    let rows = gl_run(&g, tok, &["tags", "acme/app", "--long", "--json"]).json();
    let rows = rows.as_array().unwrap();
    let row = |t: &str| rows.iter().find(|r| r["tag"] == t).unwrap();
    assert_eq!(row("v1")["digest"], g.sc.a.digest.as_str());
    assert_eq!(row("v1")["size"], g.sc.a.size());
    assert_eq!(row("v1")["pushed"], "2024-01-02T10:00:00.000+00:00");
    assert!(row("v1").get("locked").is_none());
    assert!(
        row("release-1")["locked"]
            .as_str()
            .is_some_and(|l| l.contains("protected") && l.contains("^release-.*")),
        "{}",
        row("release-1")
    );
    // The index's total_size 0 is not shown: its size comes from v2.
    let multi = row("multi");
    assert_ne!(multi["size"], 0, "{multi}");
    assert_eq!(multi["digest"], g.sc.multi.digest.as_str());
    assert_eq!(
        multi["platforms"].as_array().map(Vec::len),
        Some(2),
        "{multi}"
    );
    let seen = g.sc.fx.seen();
    assert!(
        seen.iter()
            .any(|s| s.starts_with("GET /v2/acme/app/manifests/multi")),
        "{seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|s| s.starts_with("GET /v2/acme/app/manifests/v1")),
        "sized images need no v2: {seen:?}"
    );
    // A nested repository of the project.
    let t = names(gl_run(&g, tok, &["tags", "acme/app/worker", "--json"]).json());
    assert_eq!(t, ["1.0"]);
}

#[test]
fn gitlab_lists_1000_tags_with_concurrent_details_and_waits_out_a_429() {
    let g = gitlab_profile("project = \"acme/big\"");
    g.sc.state.rate_limit_once.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let rows = gl_run(
        &g,
        Some(gitlab::TOKEN),
        &["tags", "acme/big", "--long", "--json"],
    )
    .json();
    let took = started.elapsed();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r["size"].as_u64().unwrap() >= 1000));
    assert!(rows.iter().all(|r| r["pushed"].is_string()));
    let seen = g.sc.fx.seen();
    let pages = seen
        .iter()
        .filter(|s| s.contains("/repositories/4/tags?"))
        .count();
    assert_eq!(pages, 11, "10 pages of 100, one answered 429 first");
    let details = seen
        .iter()
        .filter(|s| s.contains("/repositories/4/tags/t"))
        .count();
    assert_eq!(details, 1000);
    assert!(seen.len() <= 11 + 1000 + 4, "{} requests", seen.len());
    assert!(took >= std::time::Duration::from_secs(1));
    eprintln!("gitlab: 1000 tags in {} requests, {took:?}", seen.len());
}

#[test]
fn gitlab_removes_one_tag_keeps_siblings_refuses_protected_and_deletes_tagged_digests() {
    let g = gitlab_profile("group = \"acme\"");
    let tok = Some(gitlab::TOKEN);
    let done = gl_run(&g, tok, &["rm", "acme/app:v2", "--yes", "--json"]).json();
    assert_eq!(done["method"], "provider-api", "{done}");
    assert!(
        g.sc.fx
            .seen()
            .iter()
            .any(|s| s == "DELETE /api/v4/projects/10/registry/repositories/1/tags/v2"),
        "{:?}",
        g.sc.fx.seen()
    );
    assert_eq!(
        g.sc.tags("acme/app"),
        ["latest", "multi", "release-1", "v1"]
    );

    let r = gl_run(&g, tok, &["rm", "acme/app:release-1", "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("protected"), "{}", r.stderr());
    assert!(g.sc.tags("acme/app").contains(&"release-1".to_string()));

    // A digest with a tag on it: deleted through v2, its tag goes with it.
    let reference = format!("acme/app@{}", g.sc.a.digest);
    let done = gl_run(&g, tok, &["rm", &reference, "--yes", "--json"]).json();
    assert_eq!(done["removed_tags"], serde_json::json!(["v1"]), "{done}");
    assert!(
        g.sc.fx
            .seen()
            .iter()
            .any(|s| s == &format!("DELETE /v2/acme/app/manifests/{}", g.sc.a.digest)),
        "{:?}",
        g.sc.fx.seen()
    );
    assert_eq!(g.sc.tags("acme/app"), ["latest", "multi", "release-1"]);
}

#[test]
fn gitlab_tells_a_wrong_token_from_no_access() {
    let g = gitlab_profile("group = \"acme\"");
    let r = gl_run(&g, Some("glpat-wrong"), &["repos"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("401"), "{}", r.stderr());
    assert!(!r.stderr().contains("glpat-wrong"), "{}", r.stderr());
    let r = gl_run(&g, None, &["repos"]);
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("404") && r.stderr().contains("not found or no access"),
        "{}",
        r.stderr()
    );
}

#[test]
fn gitlab_renews_an_expired_registry_jwt_mid_inspect() {
    let g = gitlab_profile("group = \"acme\"");
    let i = gl_run(
        &g,
        Some(gitlab::TOKEN),
        &["inspect", "acme/app:v1", "--json"],
    )
    .json();
    assert_eq!(i["digest"], g.sc.a.digest.as_str());
    let issued = g.sc.state.tokens_issued.load(Ordering::SeqCst);
    assert!(issued >= 2, "JWTs issued: {issued}: {:?}", g.sc.fx.seen());
}

fn search_index() -> support::fixture::Fixture {
    let mut hits = vec![
        ("nginx", "Official build of Nginx.", 20_000, true),
        (
            "bitnami/nginx",
            "Bitnami container image for NGINX",
            200,
            false,
        ),
        (
            "evil/nginx",
            "bad \u{1b}]52;c;AAAA\u{7} description",
            1,
            false,
        ),
    ];
    let more: Vec<&'static str> = (0..40)
        .map(|i| &*Box::leak(format!("user{i}/nginx-x").into_boxed_str()))
        .collect();
    hits.extend(more.into_iter().map(|n| (n, "", 0, false)));
    support::hub_search::start(hits)
}

#[test]
fn search_asks_the_index_like_docker_search_and_marks_official_images() {
    let fx = search_index();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.hub]\nkind = \"dockerhub\"\nnamespace = \"acme\"\nindex_url = \"{}\"\n",
            fx.url
        ),
    );
    let run = |args: &[&str]| {
        let mut a = vec!["-c", cfg.as_str(), "-p", "hub", "search"];
        a.extend(args);
        regtui(&a, &[])
    };
    let v = run(&["nginx", "--json"]).json();
    let v = v.as_array().unwrap();
    assert_eq!(v.len(), 25, "docker's default limit");
    assert_eq!(
        v[0],
        serde_json::json!({"name": "nginx", "description": "Official build of Nginx.",
                           "stars": 20000, "official": true})
    );
    assert_eq!(v[1]["official"], false);
    assert!(
        fx.seen()
            .iter()
            .any(|s| s == "GET /v1/search?q=nginx&n=25&page=1"),
        "{:?}",
        fx.seen()
    );
    // More than one page's worth: pages of 100 at most, until the index runs out.
    let before = fx.seen().len();
    let v = run(&["nginx", "--limit", "150", "--json"]).json();
    assert_eq!(v.as_array().unwrap().len(), 43);
    assert_eq!(fx.seen()[before..], ["GET /v1/search?q=nginx&n=100&page=1"]);
    let v = run(&["nginx", "--limit", "2", "--json"]).json();
    assert_eq!(v.as_array().unwrap().len(), 2);
    // The table marks official images and strips terminal escapes from descriptions.
    let r = run(&["nginx"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    let first = out.lines().nth(1).unwrap();
    assert!(
        first.starts_with("nginx ") && first.ends_with("[OK]"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert_ne!(run(&["nginx", "--limit", "0"]).code(), 0);
}

fn tui_key(c: crossterm::event::KeyCode) -> regtui::app::Msg {
    regtui::app::Msg::Key(crossterm::event::KeyEvent::new(
        c,
        crossterm::event::KeyModifiers::NONE,
    ))
}

fn screen(app: &regtui::app::App) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let (w, h) = app.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| regtui::ui::render(app, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

#[tokio::test]
async fn tui_search_lists_hub_results_marks_official_and_enter_opens_library_tags() {
    use crossterm::event::KeyCode;
    use regtui::app::{App, Effect, Msg, ProfileEntry};
    use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec};

    let fx = search_index();
    let toml = format!(
        "[profiles.hub]\nkind = \"dockerhub\"\nnamespace = \"acme\"\nindex_url = \"{}\"\n",
        fx.url
    );
    let mut cfg = regtui::config::parse(&toml, std::path::Path::new("/test/config.toml")).unwrap();
    let spec = ProfileSpec {
        name: "hub".into(),
        registry: "hub".into(),
        source: ProfileSource::Registry {
            profile: Box::new(cfg.profiles.remove("hub").unwrap()),
            base_dir: ".".into(),
        },
        concurrency: 4,
    };
    let (etx, mut rx) = tokio::sync::mpsc::channel(64);
    let client = client_task::spawn(vec![spec], etx);

    let mut app = App::new(vec![ProfileEntry::new("hub", "hub")], 0, (100, 30), 0);
    app.color = false;
    let _ = app.start();
    let mut fxs = app.update(tui_key(KeyCode::Char(':')));
    for c in "search nginx".chars() {
        fxs = app.update(tui_key(KeyCode::Char(c)));
    }
    assert!(fxs.is_empty());
    let fxs = app.update(tui_key(KeyCode::Enter));
    let Some(Effect::Send(cmd @ Command::Search { .. })) = fxs.into_iter().next() else {
        panic!("no search sent")
    };
    let Command::Search { term, .. } = &cmd else {
        unreachable!()
    };
    assert_eq!(term, "nginx");
    assert!(screen(&app).contains("searching"));
    // The client task asks the profile's index_url.
    client.commands.send(cmd).await.unwrap();
    let found = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("search answered")
            .unwrap()
        {
            ev @ Event::Found { .. } => break ev,
            _ => continue,
        }
    };
    assert!(
        fx.seen()
            .iter()
            .any(|s| s == "GET /v1/search?q=nginx&n=100&page=1"),
        "{:?}",
        fx.seen()
    );
    let _ = app.update(Msg::Client(found));
    let s = screen(&app);
    assert!(s.contains("Docker Hub: nginx"), "{s}");
    let nginx = s
        .lines()
        .find(|l| l.contains("nginx ") && l.contains("20000"))
        .unwrap();
    assert!(nginx.contains("✓ official"), "{s}");
    let bitnami = s.lines().find(|l| l.contains("bitnami/nginx")).unwrap();
    assert!(!bitnami.contains("official"), "{s}");
    assert!(!s.contains('\u{1b}'), "escapes stripped");
    // Enter on the official image opens library/nginx in the tags pane.
    let fxs = app.update(tui_key(KeyCode::Enter));
    assert!(
        fxs.iter().any(|e| matches!(
            e,
            Effect::Send(Command::ListTags { repo, .. }) if repo == "library/nginx"
        )),
        "{fxs:?}"
    );
    assert!(matches!(app.overlay, regtui::app::overlay::Overlay::None));
}

#[test]
fn gitlab_without_group_or_project_opens_repositories_by_name() {
    let g = gitlab_profile("");
    let tok = Some(gitlab::TOKEN);
    let t = names(gl_run(&g, tok, &["tags", "acme/app/worker", "--json"]).json());
    assert_eq!(t, ["1.0"]);
    // The project is found from the name: the longest prefix first.
    let seen = g.sc.fx.seen();
    let probes: Vec<&String> = seen
        .iter()
        .filter(|s| s.contains("/registry/repositories?"))
        .collect();
    assert_eq!(
        probes,
        [
            "GET /api/v4/projects/acme%2Fapp%2Fworker/registry/repositories?per_page=100",
            "GET /api/v4/projects/acme%2Fapp/registry/repositories?per_page=100"
        ]
    );
    let r = gl_run(&g, tok, &["repos"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("group or a project"), "{}", r.stderr());
}

#[test]
fn a_distribution_profile_on_harbor_is_autodetected_by_its_ping() {
    let sc = harbor::scenario();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.d]\nregistry = \"{}\"\nusername = \"{}\"\npassword_env = \"HARBOR_PASSWORD\"\n",
            sc.fx.url,
            harbor::USER
        ),
    );
    let run = |args: &[&str]| {
        let mut a = vec!["-c", cfg.as_str(), "-p", "d"];
        a.extend(args);
        regtui(&a, &[("HARBOR_PASSWORD", harbor::PASSWORD)])
    };
    // v2's catalog is closed on Harbor; its API lists the projects' repositories.
    let repos = names(run(&["repos", "--json"]).json());
    assert_eq!(
        repos,
        ["acme/db", "library/app", "library/big", "library/team/tool"]
    );
    let seen = sc.fx.seen();
    assert_eq!(
        seen.iter().filter(|s| *s == "GET /api/v2.0/ping").count(),
        1,
        "{seen:?}"
    );
    assert!(!seen.iter().any(|s| s.contains("_catalog")), "{seen:?}");
    // Reads before a listing or delete go to v2 (Harbor serves it as any registry); a delete
    // asks the ping too and then goes through Harbor's API: a tag alone, an immutable one refused.
    let t = names(run(&["tags", "library/app", "--json"]).json());
    assert_eq!(t, ["latest", "stable", "v1", "v2"]);
    let done = run(&["rm", "library/app:v2", "--yes", "--json"]).json();
    assert_eq!(done["method"], "provider-api", "{done}");
    assert_eq!(sc.tags("library/app"), ["latest", "stable", "v1"]);
    let r = run(&["rm", "library/app:stable", "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("immutable"), "{}", r.stderr());
    assert_eq!(sc.tags("library/app"), ["latest", "stable", "v1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_opens_a_1000_tag_gitlab_repository_with_the_rows_in_view_first() {
    use crossterm::event::KeyCode;
    use regtui::app::{App, Effect, Msg, ProfileEntry};
    use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec};

    let sc = gitlab::scenario();
    // A slow instance: 1,000 details take seconds, the first screen's a fraction of that.
    sc.state.detail_delay_ms.store(40, Ordering::SeqCst);
    let toml = sc.profile_toml(
        "gl",
        &format!("project = \"acme/big\"\npassword = \"{}\"", gitlab::TOKEN),
    );
    let mut cfg = regtui::config::parse(&toml, std::path::Path::new("/test/config.toml")).unwrap();
    let spec = ProfileSpec {
        name: "gl".into(),
        registry: "gl".into(),
        source: ProfileSource::Registry {
            profile: Box::new(cfg.profiles.remove("gl").unwrap()),
            base_dir: ".".into(),
        },
        concurrency: regtui::config::DEFAULT_CONCURRENCY,
    };
    let (etx, mut rx) = tokio::sync::mpsc::channel(1024);
    let client = client_task::spawn(vec![spec], etx);
    let mut app = App::new(vec![ProfileEntry::new("gl", "gl")], 0, (120, 30), 0);
    app.color = false;
    let details = |seen: &[String]| -> Vec<String> {
        seen.iter()
            .filter(|s| s.starts_with("GET /api/v4/projects/12/registry/repositories/4/tags/"))
            .cloned()
            .collect()
    };
    let mut asked: Option<Vec<String>> = None;
    let mut fetching: Option<Vec<String>> = None;
    let mut fxs = app.start();
    let mut opened = false;
    let mut rows = 0;
    let send = async |fxs: &mut Vec<Effect>, asked: &mut Option<Vec<String>>| {
        for e in fxs.drain(..) {
            if let Effect::Send(c) = e {
                if let Command::TagDetails { tags, .. } = &c {
                    *asked = Some(tags.clone());
                }
                client.commands.send(c).await.unwrap();
            }
        }
    };
    let at_first_row = loop {
        send(&mut fxs, &mut asked).await;
        let ev = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
            .await
            .expect("an event")
            .unwrap();
        let first_row = matches!(&ev, Event::Detail { result: Ok(_), .. });
        let repos = matches!(&ev, Event::Repos { done: true, .. });
        if let Event::Tags { fetching: f, .. } = &ev {
            fetching.get_or_insert_with(|| f.clone());
        }
        fxs = app.update(Msg::Client(ev));
        if first_row {
            rows += 1;
            break details(&sc.fx.seen()).len();
        }
        if repos && !opened {
            opened = true;
            fxs.extend(app.update(tui_key(KeyCode::Enter)));
        }
    };
    // The rows in view came with the list, without the app asking.
    let fetching = fetching.expect("the tag list came");
    assert!((10..100).contains(&fetching.len()), "{}", fetching.len());
    assert!(
        at_first_row < 1000,
        "{at_first_row} tag details fetched before the first row showed"
    );
    // The first requests are for rows in view.
    let seen = details(&sc.fx.seen());
    let in_view: Vec<String> = fetching
        .iter()
        .map(|t| format!("GET /api/v4/projects/12/registry/repositories/4/tags/{t}"))
        .collect();
    for s in &seen[..16] {
        assert!(in_view.contains(s), "{s} before the rows in view");
    }
    let shown = screen(&app);
    assert!(shown.contains(&fetching[0]), "{shown}");
    // The rest are asked for once the first screen is in, and keep coming, each once.
    while rows < 1000 {
        send(&mut fxs, &mut asked).await;
        let ev = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
            .await
            .expect("more details")
            .unwrap();
        if let Event::Detail { result, .. } = &ev {
            assert!(result.is_ok(), "{result:?}");
            rows += 1;
        }
        fxs = app.update(Msg::Client(ev));
    }
    let asked = asked.expect("the rest of the details were asked for");
    assert_eq!(asked.len() + fetching.len(), 1000);
    assert!(asked.iter().all(|t| !fetching.contains(t)));
    assert_eq!(details(&sc.fx.seen()).len(), 1000);
    eprintln!("first row after {at_first_row} of 1000 tag details");
}

/// A client task and an app on one fixture profile (`toml` holds `[profiles.<name>]`), pumped
/// until `done` holds.
async fn pump_until(
    app: &mut regtui::app::App,
    client: &regtui::client_task::Client,
    rx: &mut tokio::sync::mpsc::Receiver<regtui::client_task::Event>,
    mut fxs: Vec<regtui::app::Effect>,
    done: impl Fn(&regtui::app::App) -> bool,
) {
    use regtui::app::{Effect, Msg};
    loop {
        for e in fxs.drain(..) {
            if let Effect::Send(c) = e {
                client.commands.send(c).await.unwrap();
            }
        }
        if done(app) {
            return;
        }
        let ev = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
            .await
            .expect("an event")
            .unwrap();
        fxs = app.update(Msg::Client(ev));
    }
}

fn spec_of(toml: &str, name: &str) -> regtui::client_task::ProfileSpec {
    use regtui::client_task::{ProfileSource, ProfileSpec};
    let mut cfg = regtui::config::parse(toml, std::path::Path::new("/test/config.toml")).unwrap();
    ProfileSpec {
        name: name.into(),
        registry: name.into(),
        source: ProfileSource::Registry {
            profile: Box::new(cfg.profiles.remove(name).unwrap()),
            base_dir: ".".into(),
        },
        concurrency: 8,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_rules_mark_tags_unpulled_for_a_while_on_harbor() {
    use crossterm::event::KeyCode;
    use regtui::app::overlay::Overlay;
    use regtui::app::{App, ProfileEntry};

    let sc = harbor::scenario();
    let toml = sc.profile_toml(
        "hb",
        &format!(
            "project = \"library\"\nusername = \"{}\"\npassword = \"{}\"",
            harbor::USER,
            harbor::PASSWORD
        ),
    );
    let (etx, mut rx) = tokio::sync::mpsc::channel(1024);
    let client = regtui::client_task::spawn(vec![spec_of(&toml, "hb")], etx);
    // 2024-07-15: v1 was pulled 44 days before, v2 and latest never; stable is immutable.
    let mut app = App::new(
        vec![ProfileEntry::new("hb", "hb")],
        0,
        (120, 30),
        1_721_001_600,
    );
    app.color = false;
    let fxs = app.start();
    pump_until(&mut app, &client, &mut rx, fxs, |a| {
        a.view().repos.names.len() == 3
    })
    .await;
    let fxs = app.update(tui_key(KeyCode::Enter));
    pump_until(&mut app, &client, &mut rx, fxs, |a| {
        let t = &a.view().tags;
        t.repo.as_deref() == Some("library/app")
            && ["latest", "stable", "v1", "v2"]
                .iter()
                .all(|n| t.row(n).is_some())
    })
    .await;
    assert!(app.view().info.as_ref().is_some_and(|i| i.pull_dates));
    app.update(tui_key(KeyCode::Char('R')));
    for _ in 0..4 {
        app.update(tui_key(KeyCode::Tab));
    }
    for c in "60d".chars() {
        app.update(tui_key(KeyCode::Char(c)));
    }
    let Overlay::Rules(d) = &app.overlay else {
        panic!("no rules dialog")
    };
    assert_eq!(d.field, 4, "the fifth field, unpulled for");
    assert_eq!(d.would_mark, 2, "{d:?}");
    let s = screen(&app);
    assert!(s.contains("unpulled for"), "{s}");
    assert!(s.contains("would mark 2 tags"), "{s}");
    app.update(tui_key(KeyCode::Enter));
    app.update(tui_key(KeyCode::Enter));
    assert!(matches!(app.overlay, Overlay::None), "{:?}", app.overlay);
    let mut marked: Vec<&String> = app.view().tags.marked.iter().collect();
    marked.sort();
    assert_eq!(
        marked,
        ["latest", "v2"],
        "never pulled; the immutable one stays"
    );
    // A longer while: v1 was pulled within it, so nothing more.
    app.update(tui_key(KeyCode::Char('R')));
    for _ in 0..4 {
        app.update(tui_key(KeyCode::Tab));
    }
    for c in "30d".chars() {
        app.update(tui_key(KeyCode::Char(c)));
    }
    let Overlay::Rules(d) = &app.overlay else {
        panic!("no rules dialog")
    };
    assert_eq!(d.would_mark, 3, "v1 was pulled 44 days ago: {d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_rules_do_not_offer_unpulled_for_where_pulls_are_not_recorded() {
    use crossterm::event::KeyCode;
    use regtui::app::overlay::Overlay;
    use regtui::app::{App, ProfileEntry};

    // GitLab records no pulls.
    let sc = gitlab::scenario();
    let toml = sc.profile_toml(
        "gl",
        &format!("project = \"acme/app\"\npassword = \"{}\"", gitlab::TOKEN),
    );
    let (etx, mut rx) = tokio::sync::mpsc::channel(1024);
    let client = regtui::client_task::spawn(vec![spec_of(&toml, "gl")], etx);
    let mut app = App::new(
        vec![ProfileEntry::new("gl", "gl")],
        0,
        (120, 30),
        1_721_001_600,
    );
    app.color = false;
    let fxs = app.start();
    pump_until(&mut app, &client, &mut rx, fxs, |a| {
        a.view().repos.names.len() == 2
    })
    .await;
    let fxs = app.update(tui_key(KeyCode::Enter));
    pump_until(&mut app, &client, &mut rx, fxs, |a| {
        a.view().tags.row("v1").is_some()
    })
    .await;
    assert!(app.view().info.as_ref().is_some_and(|i| !i.pull_dates));
    app.update(tui_key(KeyCode::Char('R')));
    let s = screen(&app);
    assert!(s.contains("not recorded by this registry"), "{s}");
    for _ in 0..4 {
        app.update(tui_key(KeyCode::Tab));
    }
    let Overlay::Rules(d) = &app.overlay else {
        panic!("no rules dialog")
    };
    assert_eq!(d.field, d.apply_index(), "four fields, then Apply");
    assert_eq!(d.apply_index(), 4);
    // Typing on Apply enters nothing.
    for c in "30d".chars() {
        app.update(tui_key(KeyCode::Char(c)));
    }
    let Overlay::Rules(d) = &app.overlay else {
        panic!("no rules dialog")
    };
    assert!(d.values().iter().all(String::is_empty), "{d:?}");
}

#[test]
fn harbor_accessories_are_listed_as_referrers() {
    let h = harbor_profile("");
    let sig = format!("sha256:{}", "c5".repeat(32));
    let notation = format!("sha256:{}", "a7".repeat(32));
    let sbom = format!("sha256:{}", "5b".repeat(32));
    {
        let mut projects = h.sc.state.projects.lock().unwrap();
        let lib = projects.iter_mut().find(|p| p.name == "library").unwrap();
        let app = lib
            .repos
            .iter_mut()
            .find(|(n, _)| n == "library/app")
            .unwrap();
        let v1 = app
            .1
            .iter_mut()
            .find(|a| a.digest == h.sc.a.digest)
            .unwrap();
        v1.accessories = vec![
            (sig.clone(), "signature.cosign".into(), 1234),
            (notation.clone(), "signature.notation".into(), 2345),
            (sbom.clone(), "sbom.harbor".into(), 3456),
            // Hostile: not a digest; dropped.
            ("sha256:nope".into(), "signature.cosign".into(), 1),
        ];
    }
    let r = hb_run(
        &h,
        harbor::PASSWORD,
        &["referrers", "library/app:v1", "--json"],
    )
    .json();
    let list = r.as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(list.len(), 3, "{r}");
    let by = |d: &str| list.iter().find(|x| x["digest"] == d).unwrap().clone();
    assert_eq!(by(&sig)["source"], "harbor-accessory");
    assert_eq!(by(&sig)["kind"], "signature");
    assert_eq!(by(&sig)["tool"], "cosign");
    assert_eq!(by(&sig)["size"], 1234);
    assert_eq!(by(&notation)["tool"], "notation");
    assert_eq!(by(&sbom)["kind"], "sbom");
    let seen = h.sc.fx.seen();
    assert!(
        seen.iter()
            .any(|s| s.contains("/repositories/app/artifacts/sha256%3A")
                && s.ends_with("?with_accessory=true")),
        "{seen:?}"
    );
    // inspect carries them too (the manifest pane shows the same list).
    let i = hb_run(
        &h,
        harbor::PASSWORD,
        &["inspect", "library/app:v1", "--json"],
    )
    .json();
    let refs = i["referrers"].as_array().unwrap_or_else(|| panic!("{i}"));
    assert_eq!(refs.len(), 3, "{i}");
    // An artifact without accessories has none.
    let none = hb_run(
        &h,
        harbor::PASSWORD,
        &["referrers", "library/app:v2", "--json"],
    )
    .json();
    assert_eq!(none, serde_json::json!([]));
}

#[tokio::test]
async fn tui_slash_in_the_repositories_pane_searches_docker_hub() {
    use crossterm::event::KeyCode;
    use regtui::app::overlay::Overlay;
    use regtui::app::{App, Effect, Msg, ProfileEntry};
    use regtui::client_task::{Command, Event};
    use regtui::registry::BackendInfo;

    let fx = search_index();
    let toml = format!(
        "[profiles.hub]\nkind = \"dockerhub\"\nnamespace = \"acme\"\nindex_url = \"{}\"\n",
        fx.url
    );
    let (etx, mut rx) = tokio::sync::mpsc::channel(64);
    let client = regtui::client_task::spawn(vec![spec_of(&toml, "hub")], etx);
    let app_on = |kind: &'static str| {
        let mut app = App::new(vec![ProfileEntry::new("hub", "hub")], 0, (100, 30), 0);
        app.color = false;
        let _ = app.start();
        app.update(Msg::Client(Event::Connected {
            profile: "hub".into(),
            info: Box::new(BackendInfo {
                kind,
                ..Default::default()
            }),
        }));
        app
    };
    let mut app = app_on("dockerhub");
    app.update(tui_key(KeyCode::Char('/')));
    assert!(screen(&app).contains("Enter searches Docker Hub"));
    for c in "nginx".chars() {
        assert!(app.update(tui_key(KeyCode::Char(c))).is_empty());
    }
    let fxs = app.update(tui_key(KeyCode::Enter));
    let Some(Effect::Send(cmd @ Command::Search { .. })) = fxs.into_iter().next() else {
        panic!("no search sent")
    };
    assert!(matches!(&cmd, Command::Search { term, .. } if term == "nginx"));
    assert!(matches!(app.overlay, Overlay::Search(_)));
    assert!(app.view().repos.filter.is_empty(), "the filter gave way");
    client.commands.send(cmd).await.unwrap();
    let found = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("search answered")
            .unwrap()
        {
            ev @ Event::Found { .. } => break ev,
            _ => continue,
        }
    };
    app.update(Msg::Client(found));
    assert!(screen(&app).contains("bitnami/nginx"), "{}", screen(&app));

    // Elsewhere `/` only filters.
    let mut plain = app_on("distribution");
    plain.update(tui_key(KeyCode::Char('/')));
    for c in "nginx".chars() {
        plain.update(tui_key(KeyCode::Char(c)));
    }
    assert!(plain.update(tui_key(KeyCode::Enter)).is_empty());
    assert!(matches!(plain.overlay, Overlay::None));
    assert_eq!(plain.view().repos.filter, "nginx");
}
