//! GHCR and Docker Hub profiles: their APIs from fixture servers that follow the documented
//! shapes, manifests and configs from the real registry.

mod support;

use support::bin::{regtui, write_config};
use support::github::{self, ADMIN_TOKEN, READ_TOKEN};

struct Gh {
    sc: github::Scenario,
    _dir: tempfile::TempDir,
    cfg: String,
}

fn ghcr() -> Gh {
    let sc = github::scenario();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &sc.profile_toml("gh", "token_env = \"GH_FIXTURE_TOKEN\""),
    );
    Gh { sc, _dir: dir, cfg }
}

fn run(g: &Gh, token: Option<&str>, args: &[&str]) -> support::bin::Run {
    let mut a = vec!["-c", g.cfg.as_str(), "-p", "gh"];
    a.extend(args);
    match token {
        Some(t) => regtui(&a, &[("GH_FIXTURE_TOKEN", t)]),
        None => regtui(&a, &[]),
    }
}

#[test]
fn ghcr_lists_packages_and_versions_across_pages_with_v2_details() {
    let g = ghcr();
    let repos: Vec<String> =
        serde_json::from_value(run(&g, Some(READ_TOKEN), &["repos", "--json"]).json()).unwrap();
    assert_eq!(repos, ["octo/app", "octo/tools/cli", "octo/web"]);
    let pages =
        g.sc.fx
            .seen()
            .iter()
            .filter(|s| s.starts_with("GET /users/octo/packages?"))
            .count();
    assert_eq!(pages, 2, "3 packages at 2 per page: {:?}", g.sc.fx.seen());

    let rows = run(
        &g,
        Some(READ_TOKEN),
        &["tags", "octo/app", "--long", "--json"],
    )
    .json();
    let rows = rows.as_array().unwrap();
    let tags: Vec<&str> = rows.iter().map(|r| r["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["latest", "v1", "v2"]);
    for r in rows {
        let i = if r["tag"] == "v1" { &g.sc.a } else { &g.sc.b };
        assert_eq!(r["digest"], i.digest.as_str());
        // Sizes and created dates come from v2 (GitHub's API has none); pushed from the API.
        assert_eq!(r["size"], i.size());
        assert_eq!(r["created"], i.created.as_str());
        let pushed = if r["tag"] == "v1" {
            "2024-01-02T10:00:00Z"
        } else {
            "2024-05-06T10:00:00Z"
        };
        assert_eq!(r["pushed"], pushed);
    }
    // Versions of a package whose name holds a slash: percent-encoded in the URL.
    let t: Vec<String> = serde_json::from_value(
        run(&g, Some(READ_TOKEN), &["tags", "octo/tools/cli", "--json"]).json(),
    )
    .unwrap();
    assert_eq!(t, ["1.0"]);
    assert!(
        g.sc.fx
            .seen()
            .iter()
            .any(|s| s.starts_with("GET /users/octo/packages/container/tools%2Fcli/versions")),
        "{:?}",
        g.sc.fx.seen()
    );
    // The v2 part works as for any registry.
    let i = run(&g, Some(READ_TOKEN), &["inspect", "octo/app:v1", "--json"]).json();
    assert_eq!(i["digest"], g.sc.a.digest.as_str());
}

#[test]
fn ghcr_deletes_versions_only_and_says_why_not_tags() {
    let g = ghcr();
    let r = run(&g, Some(ADMIN_TOKEN), &["rm", "octo/app:v1", "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("no tag-only delete"), "{}", r.stderr());

    let reference = format!("octo/app@{}", g.sc.b.digest);
    let r = run(&g, Some(READ_TOKEN), &["rm", &reference, "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("delete:packages") && r.stderr().contains("403"),
        "{}",
        r.stderr()
    );
    let done = run(
        &g,
        Some(ADMIN_TOKEN),
        &["rm", &reference, "--yes", "--json"],
    )
    .json();
    let mut gone: Vec<String> = serde_json::from_value(done["removed_tags"].clone()).unwrap();
    gone.sort();
    assert_eq!(gone, ["latest", "v2"]);
    let state = g.sc.state.lock().unwrap().clone();
    let ids: Vec<u64> = state[0].versions.iter().map(|v| v.id).collect();
    assert_eq!(ids, [11], "version 12 deleted through the API");
    assert!(
        g.sc.fx
            .seen()
            .iter()
            .any(|s| s == "DELETE /users/octo/packages/container/app/versions/12")
    );
    let t: Vec<String> =
        serde_json::from_value(run(&g, Some(READ_TOKEN), &["tags", "octo/app", "--json"]).json())
            .unwrap();
    assert_eq!(t, ["v1"]);
    drop(g);
}

#[test]
fn ghcr_without_a_token_explains_the_scopes() {
    let g = ghcr();
    let r = run(&g, None, &["repos"]);
    assert_ne!(r.code(), 0);
    let e = r.stderr();
    assert!(e.contains("401") && e.contains("read:packages"), "{e}");
    let r = run(&g, Some("ghp_wrong"), &["repos"]);
    assert!(r.stderr().contains("Bad credentials"), "{}", r.stderr());
    // An unknown package is a 404 with the API's message.
    let r = run(&g, Some(READ_TOKEN), &["tags", "octo/nope"]);
    assert!(r.stderr().contains("Package not found"), "{}", r.stderr());
}

struct Hub {
    sc: support::hub::Scenario,
    _dir: tempfile::TempDir,
    cfg: String,
}

fn hub() -> Hub {
    let sc = support::hub::scenario();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &sc.profile_toml(
            "hub",
            &format!(
                "username = \"{}\"\npassword_env = \"HUB_PAT\"",
                support::hub::USER
            ),
        ),
    );
    Hub { sc, _dir: dir, cfg }
}

fn hub_run(h: &Hub, pat: &str, args: &[&str]) -> support::bin::Run {
    let mut a = vec!["-c", h.cfg.as_str(), "-p", "hub"];
    a.extend(args);
    regtui(&a, &[("HUB_PAT", pat)])
}

#[test]
fn dockerhub_lists_with_sizes_and_dates_from_the_api_and_reads_v2() {
    let h = hub();
    let pat = support::hub::PAT;
    let repos: Vec<String> =
        serde_json::from_value(hub_run(&h, pat, &["repos", "--json"]).json()).unwrap();
    assert_eq!(repos, ["acme/app", "acme/db", "acme/tool"]);
    let pages =
        h.sc.fx
            .seen()
            .iter()
            .filter(|s| s.starts_with("GET /v2/namespaces/acme/repositories?"))
            .count();
    assert_eq!(pages, 2, "{:?}", h.sc.fx.seen());

    let before = h.sc.fx.seen().len();
    let rows = hub_run(&h, pat, &["tags", "acme/app", "--long", "--json"]).json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let v1 = rows.iter().find(|r| r["tag"] == "v1").unwrap();
    assert_eq!(v1["size"], 111_111, "full_size from the Hub API");
    assert_eq!(v1["pushed"], "2024-01-02T10:00:00Z");
    assert_eq!(v1["digest"], h.sc.a.digest.as_str());
    assert_eq!(v1["platforms"][0]["platform"], "linux/amd64");
    // tag_last_pulled: null is "never pulled" (JSON null, present); a date is kept.
    assert!(v1.as_object().unwrap().contains_key("pulled"), "{v1}");
    assert_eq!(v1["pulled"], serde_json::Value::Null);
    let latest = rows.iter().find(|r| r["tag"] == "latest").unwrap();
    assert!(latest["pulled"].is_string(), "{latest}");
    // One API listing, no manifest per tag.
    let during: Vec<String> = h.sc.fx.seen()[before..].to_vec();
    assert!(
        !during.iter().any(|s| s.contains("/manifests/")),
        "{during:?}"
    );

    let r = hub_run(&h, pat, &["inspect", "acme/app:v2", "--json"]);
    let i = r.json();
    assert_eq!(i["digest"], h.sc.b.digest.as_str());
    assert!(
        r.stderr().contains("pulls left 76/100 per 6 h"),
        "{}",
        r.stderr()
    );

    let r = hub_run(&h, "wrong", &["repos"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("login refused"), "{}", r.stderr());
}

#[test]
fn dockerhub_deletes_tags_and_explains_digest_deletes() {
    let h = hub();
    let pat = support::hub::PAT;
    let reference = format!("acme/app@{}", h.sc.b.digest);
    let r = hub_run(&h, pat, &["rm", &reference, "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("only once no tag points at it"),
        "{}",
        r.stderr()
    );
    let done = hub_run(&h, pat, &["rm", "acme/app:v1", "--yes", "--json"]).json();
    assert_eq!(done["method"], "oci-tag-delete");
    assert!(
        h.sc.fx
            .seen()
            .iter()
            .any(|s| s == "DELETE /v2/acme/app/manifests/v1")
    );
    let t: Vec<String> =
        serde_json::from_value(hub_run(&h, pat, &["tags", "acme/app", "--json"]).json()).unwrap();
    assert_eq!(t, ["latest", "v2"]);

    // prune by push date: keep the newest (latest); v2 shares its digest, so it is untagged.
    let v = hub_run(
        &h,
        pat,
        &["prune", "acme/app", "--keep", "1", "--yes", "--json"],
    )
    .json();
    assert_eq!(v[0]["kept"], serde_json::json!(["latest"]));
    assert_eq!(v[0]["untag"][0]["tag"], "v2");
    let t: Vec<String> =
        serde_json::from_value(hub_run(&h, pat, &["tags", "acme/app", "--json"]).json()).unwrap();
    assert_eq!(t, ["latest"]);
}
