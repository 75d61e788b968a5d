//! ECR profiles against moto (the ECR API, paged by a proxy as ECR documents) and the real
//! registry for v2 with moto's `AWS:<token>`.

#![cfg(feature = "ecr")]

mod support;

use serde_json::Value;
use support::bin::{regtui, write_config};
use support::moto::{AWS_ENV, Ecr, Moto};
use support::oci::{Image, simple as img};

struct Setup {
    ecr: Ecr,
    a: Image,
    b: Image,
    _dir: tempfile::TempDir,
    cfg: String,
}

fn setup(v2_password: &str) -> Setup {
    let ecr = Ecr::start(v2_password);
    let a = img("ecr-a", "2024-01-02T00:00:00Z", &[1500, 700]);
    let b = img("ecr-b", "2024-05-06T00:00:00Z", &[1600, 800]);
    let c = img("ecr-c", "2024-02-01T00:00:00Z", &[900]);
    ecr.put("team/api", "v1", &a);
    ecr.put("team/api", "v2", &b);
    ecr.put("team/api", "latest", &b);
    ecr.put("team/web", "1.0", &c);
    ecr.put("tools/x", "t", &c);
    // Three images in one repository: DescribeImages spans two pages of the proxy.
    ecr.put("tools/x", "a", &a);
    ecr.put("tools/x", "b", &b);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &ecr.profile_toml("ecr", ""));
    Setup {
        ecr,
        a,
        b,
        _dir: dir,
        cfg,
    }
}

fn run(s: &Setup, args: &[&str]) -> support::bin::Run {
    let mut a = vec!["-c", s.cfg.as_str(), "-p", "ecr"];
    a.extend(args);
    regtui(&a, AWS_ENV)
}

fn tags_in_moto(s: &Setup, repo: &str) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = s
        .ecr
        .moto
        .images(repo)
        .iter()
        .map(|i| {
            let mut t: Vec<String> =
                serde_json::from_value(i["imageTags"].clone()).unwrap_or_default();
            t.sort();
            (i["imageDigest"].as_str().unwrap().to_string(), t)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn ecr_lists_across_pages_with_sizes_and_push_dates_and_reads_v2() {
    let s = setup(&Ecr::token());
    let repos: Vec<String> = serde_json::from_value(run(&s, &["repos", "--json"]).json()).unwrap();
    assert_eq!(repos, ["team/api", "team/web", "tools/x"]);
    let pages = s
        .ecr
        .proxy
        .seen()
        .iter()
        .filter(|r| r.ends_with(" DescribeRepositories"))
        .count();
    assert_eq!(
        pages,
        2,
        "3 repositories at 2 per page: {:?}",
        s.ecr.proxy.seen()
    );

    let rows = run(&s, &["tags", "team/api", "--long", "--json"]).json();
    let rows = rows.as_array().unwrap();
    let tags: Vec<&str> = rows.iter().map(|r| r["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["latest", "v1", "v2"]);
    let moto = s.ecr.moto.images("team/api");
    for r in rows {
        let m = moto
            .iter()
            .find(|i| i["imageDigest"] == r["digest"])
            .expect("row digest known to ECR");
        // Size and push date as DescribeImages reports them (one call for all tags).
        assert_eq!(r["size"], m["imageSizeInBytes"]);
        // ECR records pulls: lastRecordedPullTime, null when none was recorded.
        assert_eq!(
            r["pulled"].as_str(),
            m["lastRecordedPullTime"].as_str(),
            "{r}"
        );
        assert!(r.get("pulled").is_some(), "{r}");
        let pushed = r["pushed"].as_str().unwrap();
        let secs = regtui::registry::model::unix_seconds(pushed).unwrap();
        assert_eq!(
            secs,
            m["imagePushedAt"].as_f64().unwrap() as i64,
            "{pushed}"
        );
        assert_eq!(
            r["media_type"],
            "application/vnd.oci.image.manifest.v1+json"
        );
    }
    let describe = s
        .ecr
        .proxy
        .seen()
        .iter()
        .filter(|r| r.ends_with(" DescribeImages"))
        .count();
    assert_eq!(
        describe, 1,
        "one DescribeImages gives names, sizes and dates of every tag"
    );
    // Three images, two per page: the listing follows nextToken.
    let before = s.ecr.proxy.seen().len();
    let rows = run(&s, &["tags", "tools/x", "--long", "--json"]).json();
    let tags: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["a", "b", "t"]);
    let pages = s.ecr.proxy.seen()[before..]
        .iter()
        .filter(|r| r.ends_with(" DescribeImages"))
        .count();
    assert_eq!(pages, 2, "3 images at 2 per page");
    // Manifests and configs through v2 with the token from GetAuthorizationToken.
    let i = run(&s, &["inspect", "team/api:v1", "--json"]).json();
    assert_eq!(i["digest"], s.a.digest.as_str());
    assert_eq!(i["config"]["created"], s.a.created.as_str());
}

#[test]
fn ecr_deletes_one_tag_or_the_image_with_all_its_tags() {
    let s = setup(&Ecr::token());
    let done = run(&s, &["rm", "team/api:v2", "--yes", "--json"]).json();
    assert_eq!(done["method"], "provider-api");
    assert_eq!(done["kept_tags"], serde_json::json!(["latest"]));
    assert_eq!(tags_in_moto(&s, "team/api"), {
        let mut v = vec![
            (s.a.digest.clone(), vec!["v1".to_string()]),
            (s.b.digest.clone(), vec!["latest".to_string()]),
        ];
        v.sort();
        v
    });
    let reference = format!("team/api@{}", s.a.digest);
    let done = run(&s, &["rm", &reference, "--yes", "--json"]).json();
    assert_eq!(done["removed_tags"], serde_json::json!(["v1"]));
    assert_eq!(
        tags_in_moto(&s, "team/api"),
        [(s.b.digest.clone(), vec!["latest".to_string()])]
    );
    // A tag that is not there: BatchDeleteImage reports a per-id failure.
    let r = run(&s, &["rm", "team/web:nope", "--yes"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("not found"), "{}", r.stderr());
}

#[test]
fn ecr_prune_by_push_date_uses_batch_delete() {
    let s = setup(&Ecr::token());
    // ECR records pulls: --unpulled-for is accepted (nothing was pulled: every tag qualifies).
    let v = run(
        &s,
        &[
            "prune",
            "team/api",
            "--unpulled-for",
            "30d",
            "--dry-run",
            "--json",
        ],
    )
    .json();
    assert_eq!(v[0]["kept"], serde_json::json!([]), "{v:#}");
    // Every image was pushed just now, in order; keep the newest tag's image.
    let v = run(
        &s,
        &["prune", "team/api", "--match", "^v1$", "--yes", "--json"],
    )
    .json();
    assert_eq!(v[0]["delete"][0]["tags"], serde_json::json!(["v1"]));
    assert!(
        v[0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r: &Value| r["result"] == "deleted"),
        "{v:#}"
    );
    assert_eq!(
        tags_in_moto(&s, "team/api"),
        [(
            s.b.digest.clone(),
            vec!["latest".to_string(), "v2".to_string()]
        )]
    );
}

#[test]
fn a_refused_ecr_token_and_denied_aws_credentials_give_clear_errors() {
    // The registry does not accept moto's token (as after expiry, or for a principal without pull rights).
    let s = setup("some-other-password");
    let r = run(&s, &["inspect", "team/api:v1"]);
    assert_ne!(r.code(), 0);
    let e = r.stderr();
    assert!(
        e.contains("refused the ECR authorization token") && e.contains("expired"),
        "{e}"
    );
    assert!(!e.contains(&Ecr::token()), "the token never shows: {e}");

    // moto with IAM checks on: our keys are unknown to it.
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.ecr]\nkind = \"ecr\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\n",
            moto.url
        ),
    );
    let r = regtui(&["-c", &cfg, "repos"], AWS_ENV);
    assert_ne!(r.code(), 0);
    let e = r.stderr();
    assert!(
        e.contains("AWS ECR") && e.contains("DescribeRepositories"),
        "{e}"
    );
    assert!(e.contains("aws sts get-caller-identity"), "{e}");
}
