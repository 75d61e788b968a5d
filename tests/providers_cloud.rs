//! Google Artifact Registry and Azure Container Registry profiles: their APIs from fixture
//! servers that follow the documented shapes (tests/support/gar.rs, acr.rs), manifests and
//! configs from the real registry behind them. Request counts hold the bulk-first target.

mod support;

use support::bin::{Run, regtui, write_config};
use support::{acr, gar};

/// A scenario with its config file.
struct Env<S> {
    sc: S,
    _dir: tempfile::TempDir,
    cfg: String,
}

fn env<S>(sc: S, toml: String) -> Env<S> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &toml);
    Env { sc, _dir: dir, cfg }
}

fn run<S>(e: &Env<S>, secret: &str, args: &[&str]) -> Run {
    let mut a = vec!["-c", e.cfg.as_str(), "-p", "p"];
    a.extend(args);
    regtui(&a, &[("CLOUD_SECRET", secret)])
}

fn tags_of(rows: &serde_json::Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"].as_str().unwrap().to_string())
        .collect()
}

fn count(seen: &[String], prefix: &str) -> usize {
    seen.iter().filter(|s| s.starts_with(prefix)).count()
}

// ---------------------------------------------------------------- GAR

fn gar_env(extra: &str) -> Env<gar::Scenario> {
    let sc = gar::scenario();
    let toml = sc.profile_toml(
        "p",
        &format!("username = \"oauth2accesstoken\"\npassword_env = \"CLOUD_SECRET\"\n{extra}"),
    );
    env(sc, toml)
}

#[test]
fn gar_lists_nested_repositories_of_a_project_and_every_tag_in_one_request() {
    let e = gar_env("project = \"acme\"");
    let repos: Vec<String> =
        serde_json::from_value(run(&e, gar::ACCESS_TOKEN, &["repos", "--json"]).json()).unwrap();
    assert_eq!(
        repos,
        [
            "acme/docker/app",
            "acme/docker/tools/cli",
            "acme/locked/app"
        ]
    );
    let rows = run(
        &e,
        gar::ACCESS_TOKEN,
        &["tags", "acme/docker/app", "--long", "--json"],
    )
    .json();
    assert_eq!(tags_of(&rows), ["latest", "v1", "v2"]);
    for r in rows.as_array().unwrap() {
        let (i, size, pushed) = if r["tag"] == "v1" {
            (&e.sc.a, 111_111, "2024-01-02T10:00:00.000Z")
        } else {
            (&e.sc.b, 222_222, "2024-05-01T10:00:00.000Z")
        };
        assert_eq!(r["digest"], i.digest.as_str());
        assert_eq!(r["size"], size, "the service's imageSizeBytes");
        assert_eq!(r["pushed"], pushed, "timeUploadedMs");
        assert!(r.get("protected").is_none(), "{r}");
    }
    let seen = e.sc.fx.seen();
    // One listing; the first try is the one answered with the token challenge.
    assert_eq!(
        count(&seen, "GET /v2/acme/docker/app/tags/list"),
        2,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, "GET /v2/acme/docker/app/manifests"),
        0,
        "{seen:?}"
    );
    // v2 details as for any registry.
    let i = run(
        &e,
        gar::ACCESS_TOKEN,
        &["inspect", "acme/docker/app:v1", "--json"],
    )
    .json();
    assert_eq!(i["digest"], e.sc.a.digest.as_str());
}

#[test]
fn gar_tag_delete_keeps_its_sibling() {
    let e = gar_env("");
    let r = run(
        &e,
        gar::ACCESS_TOKEN,
        &["rm", "acme/docker/app:v2", "--yes", "--json"],
    )
    .json();
    assert_eq!(r["kept_tags"], serde_json::json!(["latest"]));
    let seen = e.sc.fx.seen();
    assert!(
        seen.iter()
            .any(|s| s == "DELETE /v2/acme/docker/app/manifests/v2"),
        "{seen:?}"
    );
    let t: Vec<String> = serde_json::from_value(
        run(
            &e,
            gar::ACCESS_TOKEN,
            &["tags", "acme/docker/app", "--json"],
        )
        .json(),
    )
    .unwrap();
    assert_eq!(t, ["latest", "v1"]);
}

#[test]
fn gar_immutable_tag_is_protected_and_refused_before_any_request() {
    let e = gar_env("");
    let rows = run(
        &e,
        gar::ACCESS_TOKEN,
        &["tags", "acme/locked/app", "--long", "--json"],
    )
    .json();
    assert_eq!(rows[0]["protected"], true);
    assert!(
        rows[0]["protected_reason"]
            .as_str()
            .unwrap()
            .contains("immutable"),
        "{rows}"
    );
    let r = run(
        &e,
        gar::ACCESS_TOKEN,
        &["rm", "acme/locked/app:v1", "--yes"],
    );
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("immutable tags"), "{}", r.stderr());
    let p = run(
        &e,
        gar::ACCESS_TOKEN,
        &[
            "prune",
            "acme/locked/app",
            "--keep",
            "0",
            "--dry-run",
            "--json",
        ],
    )
    .json();
    assert_eq!(p[0]["untag"], serde_json::json!([]), "{p}");
    assert_eq!(p[0]["delete"], serde_json::json!([]), "{p}");
    assert_eq!(p[0]["kept"], serde_json::json!(["v1"]), "{p}");
    assert!(
        !e.sc.fx.seen().iter().any(|s| s.starts_with("DELETE")),
        "{:?}",
        e.sc.fx.seen()
    );
    assert_eq!(e.sc.state.lock().unwrap().repos["acme/locked/app"].len(), 1);
    // Without the REST API (no location) the lock is unknown: the service refuses, verbatim.
    let sc = e.sc;
    let toml = format!(
        "[profiles.p]\nkind = \"gar\"\nregistry = \"{}\"\nusername = \"oauth2accesstoken\"\npassword_env = \"CLOUD_SECRET\"\n",
        sc.fx.url
    );
    let e2 = env(sc, toml);
    let r = run(
        &e2,
        gar::ACCESS_TOKEN,
        &["rm", "acme/locked/app:v1", "--yes"],
    );
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr()
            .contains("Cannot delete tag v1: the repository has immutable tags"),
        "{}",
        r.stderr()
    );
    assert_eq!(
        e2.sc.state.lock().unwrap().repos["acme/locked/app"].len(),
        1
    );
}

#[test]
fn gar_digest_delete_removes_its_tags_first() {
    let e = gar_env("");
    let reference = format!("acme/docker/app@{}", e.sc.b.digest);
    let r = run(
        &e,
        gar::ACCESS_TOKEN,
        &["rm", &reference, "--yes", "--json"],
    )
    .json();
    let mut gone: Vec<String> = serde_json::from_value(r["removed_tags"].clone()).unwrap();
    gone.sort();
    assert_eq!(gone, ["latest", "v2"]);
    let seen = e.sc.fx.seen();
    let deletes: Vec<&String> = seen.iter().filter(|s| s.starts_with("DELETE")).collect();
    assert_eq!(deletes.len(), 3, "{deletes:?}");
    assert_eq!(
        *deletes[2],
        format!("DELETE /v2/acme/docker/app/manifests/{}", e.sc.b.digest)
    );
    let t: Vec<String> = serde_json::from_value(
        run(
            &e,
            gar::ACCESS_TOKEN,
            &["tags", "acme/docker/app", "--json"],
        )
        .json(),
    )
    .unwrap();
    assert_eq!(t, ["v1"]);
}

#[test]
fn gar_wrong_credentials_are_refused() {
    let e = gar_env("");
    let r = run(&e, "ya29.wrong", &["tags", "acme/docker/app"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("401"), "{}", r.stderr());
    assert!(!r.stderr().contains("ya29.wrong"), "never the secret");
}

#[test]
fn gar_renews_an_expiring_token_and_waits_out_a_429() {
    let e = gar_env("project = \"acme\"");
    {
        let mut st = e.sc.state.lock().unwrap();
        st.token_uses = 1;
        st.throttle = 1;
    }
    let rows = run(
        &e,
        gar::ACCESS_TOKEN,
        &["tags", "acme/docker/app", "--long", "--json"],
    )
    .json();
    assert_eq!(tags_of(&rows), ["latest", "v1", "v2"]);
    let st = e.sc.state.lock().unwrap();
    assert!(st.issued >= 2, "a token per request: {}", st.issued);
    assert_eq!(st.throttle, 0);
    let seen = e.sc.fx.seen();
    // Challenge, 429, the token used up (401), then the renewed token's answer.
    assert_eq!(
        count(&seen, "GET /v2/acme/docker/app/tags/list"),
        4,
        "{seen:?}"
    );
}

#[test]
fn gar_lists_1000_tags_in_one_request() {
    let e = gar_env("");
    {
        let mut st = e.sc.state.lock().unwrap();
        let entries = (0..1000)
            .map(|i| gar::Entry {
                tag: format!("t{i:04}"),
                digest: format!("sha256:{i:064x}"),
                size: 1000 + i as u64,
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                uploaded_ms: 1_700_000_000_000 + i,
            })
            .collect();
        st.repos.insert("acme/docker/many".into(), entries);
    }
    let started = std::time::Instant::now();
    let rows = run(
        &e,
        gar::ACCESS_TOKEN,
        &["tags", "acme/docker/many", "--long", "--json"],
    )
    .json();
    let took = started.elapsed();
    assert_eq!(rows.as_array().unwrap().len(), 1000);
    assert_eq!(rows[999]["size"], 1999);
    let seen = e.sc.fx.seen();
    eprintln!(
        "GAR 1000 tags: {} requests in {took:?}: {seen:?}",
        seen.len()
    );
    // ⌈1000/10000⌉ = 1 listing (tried once more for the challenge), the token, the
    // repository's settings: 4.
    assert!(seen.len() <= 1 + 3, "{seen:?}");
    assert_eq!(count(&seen, "GET /v2/acme/docker/many/tags/list"), 2);
}

// ---------------------------------------------------------------- ACR

fn acr_env(user: &str) -> Env<acr::Scenario> {
    let sc = acr::scenario();
    let toml = sc.profile_toml(
        "p",
        &format!("username = \"{user}\"\npassword_env = \"CLOUD_SECRET\""),
    );
    env(sc, toml)
}

#[test]
fn acr_lists_nested_repositories_and_every_tag_across_pages() {
    let e = acr_env(acr::USER);
    e.sc.state.lock().unwrap().max_n = 2;
    let repos: Vec<String> =
        serde_json::from_value(run(&e, acr::PASSWORD, &["repos", "--json"]).json()).unwrap();
    assert_eq!(repos, ["base", "team/app", "team/tools/cli"]);
    let rows = run(&e, acr::PASSWORD, &["tags", "team/app", "--long", "--json"]).json();
    assert_eq!(tags_of(&rows), ["latest", "stable", "v1", "v2"]);
    for r in rows.as_array().unwrap() {
        let (i, size) = match r["tag"].as_str().unwrap() {
            "v1" => (&e.sc.a, 111_111),
            "stable" => (&e.sc.c, 5),
            _ => (&e.sc.b, 222_222),
        };
        assert_eq!(r["digest"], i.digest.as_str());
        assert_eq!(r["size"], size, "the service's imageSize");
        assert_eq!(r["platforms"][0]["platform"], "linux/amd64");
    }
    assert_eq!(rows[2]["pushed"], "2024-01-02T10:00:00.1234567Z");
    let seen = e.sc.fx.seen();
    // 3 manifests and 4 tags at 2 a page.
    assert_eq!(
        count(&seen, "GET /acr/v1/team/app/_manifests"),
        2,
        "{seen:?}"
    );
    assert_eq!(count(&seen, "GET /acr/v1/team/app/_tags"), 2, "{seen:?}");
    assert_eq!(count(&seen, "GET /v2/team/app/manifests"), 0, "{seen:?}");
    let i = run(&e, acr::PASSWORD, &["inspect", "team/app:v1", "--json"]).json();
    assert_eq!(i["digest"], e.sc.a.digest.as_str());
}

#[test]
fn acr_tag_delete_keeps_its_sibling() {
    let e = acr_env(acr::USER);
    let r = run(&e, acr::PASSWORD, &["rm", "team/app:v2", "--yes", "--json"]).json();
    assert_eq!(r["kept_tags"], serde_json::json!(["latest"]));
    assert_eq!(r["method"], "provider-api");
    let seen = e.sc.fx.seen();
    assert!(
        seen.iter().any(|s| s == "DELETE /acr/v1/team/app/_tags/v2"),
        "{seen:?}"
    );
    let t: Vec<String> =
        serde_json::from_value(run(&e, acr::PASSWORD, &["tags", "team/app", "--json"]).json())
            .unwrap();
    assert_eq!(t, ["latest", "stable", "v1"]);
}

#[test]
fn acr_locked_tag_is_protected_and_refused_before_any_request() {
    let e = acr_env(acr::USER);
    let rows = run(&e, acr::PASSWORD, &["tags", "team/app", "--long", "--json"]).json();
    let stable = &rows[1];
    assert_eq!(stable["tag"], "stable");
    assert_eq!(stable["protected"], true);
    assert!(
        stable["protected_reason"]
            .as_str()
            .unwrap()
            .contains("deleteEnabled: false"),
        "{stable}"
    );
    let text = run(&e, acr::PASSWORD, &["tags", "team/app", "--long"]).stdout();
    assert!(text.contains("stable ⊘"), "{text}");
    assert!(!text.contains("v1 ⊘"), "{text}");
    let r = run(&e, acr::PASSWORD, &["rm", "team/app:stable", "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("deleteEnabled: false"),
        "{}",
        r.stderr()
    );
    let reference = format!("team/app@{}", e.sc.c.digest);
    let r = run(&e, acr::PASSWORD, &["rm", &reference, "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("locked"), "{}", r.stderr());
    // prune never marks it: only v1 (older than the rest, unlocked) goes.
    let p = run(
        &e,
        acr::PASSWORD,
        &["prune", "team/app", "--keep", "0", "--dry-run", "--json"],
    )
    .json();
    let gone: Vec<String> = p[0]["delete"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p[0]["untag"].as_array().unwrap())
        .flat_map(|d| match d.get("tags") {
            Some(t) => serde_json::from_value::<Vec<String>>(t.clone()).unwrap(),
            None => vec![d["tag"].as_str().unwrap().to_string()],
        })
        .collect();
    assert!(!gone.contains(&"stable".to_string()), "{p}");
    assert_eq!(gone.len(), 3, "every unlocked tag: {p}");
    assert!(
        !e.sc.fx.seen().iter().any(|s| s.starts_with("DELETE")),
        "{:?}",
        e.sc.fx.seen()
    );
}

#[test]
fn acr_digest_delete_goes_through_v2_with_its_tags() {
    let e = acr_env(acr::USER);
    let reference = format!("team/app@{}", e.sc.b.digest);
    let r = run(&e, acr::PASSWORD, &["rm", &reference, "--yes", "--json"]).json();
    let mut gone: Vec<String> = serde_json::from_value(r["removed_tags"].clone()).unwrap();
    gone.sort();
    assert_eq!(gone, ["latest", "v2"]);
    let seen = e.sc.fx.seen();
    assert!(
        seen.iter()
            .any(|s| *s == format!("DELETE /v2/team/app/manifests/{}", e.sc.b.digest)),
        "{seen:?}"
    );
    let t: Vec<String> =
        serde_json::from_value(run(&e, acr::PASSWORD, &["tags", "team/app", "--json"]).json())
            .unwrap();
    assert_eq!(t, ["stable", "v1"]);
}

#[test]
fn acr_wrong_credentials_are_refused() {
    let e = acr_env(acr::USER);
    let r = run(&e, "not-the-password", &["tags", "team/app"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("401"), "{}", r.stderr());
    assert!(!r.stderr().contains("not-the-password"), "never the secret");
}

#[test]
fn acr_refresh_token_renewed_mid_listing_and_429_waited_out() {
    let e = acr_env(acr::ZERO_GUID);
    {
        let mut st = e.sc.state.lock().unwrap();
        st.max_n = 1;
        st.token_uses = 1;
        st.throttle = 1;
    }
    let rows = run(
        &e,
        acr::REFRESH_TOKEN,
        &["tags", "team/app", "--long", "--json"],
    )
    .json();
    assert_eq!(tags_of(&rows), ["latest", "stable", "v1", "v2"]);
    let seen = e.sc.fx.seen();
    assert!(
        seen.iter().any(|s| s == "POST /oauth2/token"),
        "the refresh-token grant: {seen:?}"
    );
    let st = e.sc.state.lock().unwrap();
    assert!(st.issued >= 4, "renewed between pages: {}", st.issued);
    assert_eq!(st.throttle, 0);
}

#[test]
fn acr_lists_1000_tags_in_a_few_requests() {
    let e = acr_env(acr::USER);
    {
        let mut st = e.sc.state.lock().unwrap();
        let manifests = (0..1000)
            .map(|i| acr::Manifest {
                digest: format!("sha256:{i:064x}"),
                size: 1000 + i as u64,
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                created: format!("2024-01-01T00:{:02}:{:02}.{i:03}Z", i / 60 % 60, i % 60),
                tags: vec![(format!("t{i:04}"), false)],
                locked: false,
            })
            .collect();
        st.repos.insert("many".into(), manifests);
    }
    let started = std::time::Instant::now();
    let rows = run(&e, acr::PASSWORD, &["tags", "many", "--long", "--json"]).json();
    let took = started.elapsed();
    assert_eq!(rows.as_array().unwrap().len(), 1000);
    let seen = e.sc.fx.seen();
    eprintln!(
        "ACR 1000 tags: {} requests in {took:?}: {seen:?}",
        seen.len()
    );
    // ⌈1000/1000⌉ pages of _manifests and of _tags, the repository, challenges and tokens.
    assert_eq!(count(&seen, "GET /acr/v1/many/_manifests"), 1, "{seen:?}");
    assert_eq!(count(&seen, "GET /acr/v1/many/_tags"), 1, "{seen:?}");
    assert!(seen.len() <= 2 + 6, "{seen:?}");
}

#[test]
fn an_azurecr_host_is_detected_for_a_distribution_profile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[profiles.p]\nregistry = \"https://acmeprod.azurecr.io:1\"\n",
    );
    let r = regtui(&["-c", &cfg, "-p", "p", "profiles", "--json"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    // Connecting says which provider it took (the port refuses: no network needed).
    let r = regtui(&["-c", &cfg, "-p", "p", "tags", "x"], &[]);
    assert!(
        r.stderr().contains("Azure Container Registry") && r.stderr().contains("kind = \"acr\""),
        "{}",
        r.stderr()
    );
}

#[test]
fn unpulled_for_is_refused_where_the_service_records_no_pulls() {
    let e = gar_env("");
    let r = run(
        &e,
        gar::ACCESS_TOKEN,
        &[
            "prune",
            "acme/docker/app",
            "--unpulled-for",
            "30d",
            "--dry-run",
        ],
    );
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("does not record when tags are pulled"),
        "{}",
        r.stderr()
    );
    assert!(
        !e.sc.fx.seen().iter().any(|s| s.contains("tags/list")),
        "refused before listing: {:?}",
        e.sc.fx.seen()
    );
}

#[test]
fn acr_still_refusing_a_delete_is_shown_verbatim() {
    let e = acr_env(acr::USER);
    e.sc.state
        .lock()
        .unwrap()
        .locked_later
        .push(e.sc.a.digest.clone());
    let reference = format!("team/app@{}", e.sc.a.digest);
    let r = run(&e, acr::PASSWORD, &["rm", &reference, "--yes"]);
    assert_ne!(r.code(), 0);
    let err = r.stderr();
    assert!(
        err.contains("The operation is disallowed on this registry, repository or image."),
        "{err}"
    );
    assert!(err.contains("locked"), "{err}");
    assert!(!err.contains("storage.delete.enabled"), "{err}");
    assert_eq!(e.sc.state.lock().unwrap().repos["team/app"].len(), 3);
}

#[test]
fn an_artifact_registry_host_is_detected_for_an_ad_hoc_registry() {
    // The port refuses: what matters is the provider chosen before any request.
    let r = regtui(
        &[
            "--registry",
            "https://europe-docker.pkg.dev:1",
            "tags",
            "p/r/app",
        ],
        &[],
    );
    assert!(
        r.stderr().contains("Artifact Registry") && r.stderr().contains("kind = \"gar\""),
        "{}",
        r.stderr()
    );
    let plain = regtui(&["--registry", "127.0.0.1:1", "tags", "x"], &[]);
    assert!(!plain.stderr().contains("detected"), "{}", plain.stderr());
}

#[test]
fn acr_exchanges_an_entra_id_token_for_a_refresh_token() {
    // `az account get-access-token` prints an Entra ID token; any username goes with it.
    let e = acr_env("someone@example.com");
    let token = acr::good_entra_token();
    let rows = run(&e, &token, &["tags", "team/app", "--long", "--json"]).json();
    assert_eq!(tags_of(&rows), ["latest", "stable", "v1", "v2"]);
    let seen = e.sc.fx.seen();
    let exchange = seen
        .iter()
        .position(|s| s == "POST /oauth2/exchange")
        .unwrap_or_else(|| panic!("no exchange: {seen:?}"));
    // Then the refresh-token grant with what the exchange gave.
    let grant = seen
        .iter()
        .position(|s| s == "POST /oauth2/token")
        .unwrap_or_else(|| panic!("no refresh-token grant: {seen:?}"));
    assert!(exchange < grant, "{seen:?}");
    assert!(
        !seen.iter().any(|s| s.starts_with("GET /oauth2/token")),
        "the Entra token is never sent as a Basic password: {seen:?}"
    );
    assert_eq!(e.sc.state.lock().unwrap().exchanges, 1);
}

#[test]
fn acr_refused_entra_id_exchange_says_so_without_the_token() {
    let e = acr_env("someone@example.com");
    // Another tenant's token: the registry refuses the exchange.
    let other = "0000aaaa-1111-2222-3333-444455556666";
    let token = acr::entra_token(
        &format!("https://login.microsoftonline.com/{other}/v2.0"),
        other,
    );
    let r = run(&e, &token, &["tags", "team/app", "--long", "--json"]);
    assert_ne!(r.code(), 0);
    let err = r.stderr();
    eprintln!("{err}");
    assert!(err.contains("Entra ID"), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(&token), "never the token: {err}");
    assert!(!r.stdout().contains(&token));
    assert_eq!(e.sc.state.lock().unwrap().exchanges, 0);
    let seen = e.sc.fx.seen();
    assert!(
        !seen
            .iter()
            .any(|s| s.contains("/acr/v1/") || s.contains("/oauth2/token")),
        "nothing listed: {seen:?}"
    );
}

#[test]
fn gar_with_a_project_lists_repositories_through_the_rest_api_page_by_page() {
    let e = gar_env("project = \"acme\"");
    {
        let mut st = e.sc.state.lock().unwrap();
        st.rest_page_max = 1;
        st.other_formats.push("acme/jars".into());
    }
    let repos: Vec<String> =
        serde_json::from_value(run(&e, gar::ACCESS_TOKEN, &["repos", "--json"]).json()).unwrap();
    assert_eq!(
        repos,
        [
            "acme/docker/app",
            "acme/docker/tools/cli",
            "acme/locked/app"
        ],
        "Docker repositories only, nested image names whole"
    );
    let seen = e.sc.fx.seen();
    assert!(!seen.iter().any(|s| s.contains("_catalog")), "{seen:?}");
    let base = "GET /v1/projects/acme/locations/europe/repositories";
    // Three repositories (docker, jars, locked) one a page.
    assert_eq!(
        count(&seen, &format!("{base}?pageSize=1000")),
        3,
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|s| s == &format!("{base}?pageSize=1000&pageToken=tok-2")),
        "{seen:?}"
    );
    // docker holds three images (app's two digests, cli's one) one a page; jars none asked.
    assert_eq!(
        count(&seen, &format!("{base}/docker/dockerImages")),
        3,
        "{seen:?}"
    );
    assert_eq!(count(&seen, &format!("{base}/jars/")), 0, "{seen:?}");
    assert_eq!(
        count(&seen, &format!("{base}/locked/dockerImages")),
        1,
        "{seen:?}"
    );
    // A refused token says what the REST API needs, never the token.
    let r = run(&e, "ya29.wrong", &["repos", "--json"]);
    assert_ne!(r.code(), 0);
    assert!(!r.stderr().contains("ya29.wrong"), "{}", r.stderr());
}

#[test]
fn gar_rest_listing_paging_on_across_many_repositories_is_cut_off_by_one_budget() {
    // 100 repositories of 20 000 images each: no one repository is over the budget, the
    // listing (2 000 000 images) is.
    let e = gar_env("project = \"acme\"");
    e.sc.state.lock().unwrap().flood = Some((100, 20));
    let r = run(&e, gar::ACCESS_TOKEN, &["repos", "--json"]);
    assert_ne!(r.code(), 0, "{}", r.stdout());
    let err = r.stderr();
    assert!(
        err.contains("1000000 entries") && err.contains("stopped reading"),
        "{err}"
    );
    let seen = e.sc.fx.seen();
    let pages = count(
        &seen,
        "GET /v1/projects/acme/locations/europe/repositories/flood-",
    );
    // A million entries is a thousand full pages: the 51st repository is never asked.
    assert!((1000..=1001).contains(&pages), "{pages} pages");
    assert_eq!(
        count(
            &seen,
            "GET /v1/projects/acme/locations/europe/repositories/flood-51/"
        ),
        0
    );
}

#[test]
fn acr_entra_id_renewal_exchanges_without_stalling_the_runtime() {
    use regtui::registry::connect::{ConnectOptions, Notes};
    use regtui::registry::credentials::ProfileSecrets;
    use regtui::registry::providers::acr as provider;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    let sc = acr::scenario();
    let dir = tempfile::tempdir().unwrap();
    // `az account get-access-token` run again at each renewal.
    let token = dir.path().join("token");
    std::fs::write(&token, acr::good_entra_token()).unwrap();
    let opts = ConnectOptions {
        registry: Some(sc.fx.url.clone()),
        secrets: ProfileSecrets {
            username: Some("someone@example.com".into()),
            password_command: Some(format!("cat '{}'", token.display())),
            ..Default::default()
        },
        base_dir: dir.path().into(),
        ..Default::default()
    };
    // Renewed on every use; the first exchange is the connect's (off the runtime).
    let backend = provider::connect_renewing(
        &Default::default(),
        &opts,
        None,
        &mut Notes::default(),
        Duration::ZERO,
    )
    .unwrap();
    let exchanges = || sc.state.lock().unwrap().exchanges;
    assert_eq!(exchanges(), 1);

    // One thread: a blocked thread would stop every other task.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let m = backend.get_manifest("team/app", "v1").await.unwrap();
        assert_eq!(m.digest, sc.a.digest);
        assert_eq!(exchanges(), 2, "renewed with a fresh exchange");

        sc.state.lock().unwrap().exchange_stall = Duration::from_secs(2);
        let ticks = Arc::new(AtomicUsize::new(0));
        let t2 = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                t2.fetch_add(1, Ordering::Relaxed);
            }
        });
        let b2 = backend.clone();
        let job = tokio::spawn(async move { b2.get_manifest("team/app", "v2").await });
        tokio::time::sleep(Duration::from_millis(600)).await;
        let during = ticks.load(Ordering::Relaxed);
        assert!(!job.is_finished(), "the exchange stalls for 2 s");
        assert!(
            during >= 10,
            "the runtime went on meanwhile: {during} ticks"
        );
        let m = job.await.unwrap().unwrap();
        assert_eq!(m.digest, sc.b.digest, "the stalled exchange still renews");
        assert_eq!(exchanges(), 3);
        ticker.abort();
    });
}
