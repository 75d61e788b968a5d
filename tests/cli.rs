//! The `regtui` binary end to end: JSON output against what the registry holds, deletes, profiles, config errors, credentials.

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::bin::{regtui, write_config};
use support::registry::{PASSWORD, USER};
use support::{Auth, Options, Registry, find, oci, standard};

/// The catalog straight from the registry, without regtui.
async fn raw_catalog(reg: &Registry) -> Vec<String> {
    let v: Value = reqwest::get(format!("{}/v2/_catalog", reg.url))
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    serde_json::from_value(v["repositories"].clone()).unwrap()
}

#[tokio::test]
async fn repos_and_tags_json_match_the_registry() {
    let reg = standard(Options::default());
    let r = regtui(&["--registry", &reg.url, "repos", "--json"], &[]);
    let repos: Vec<String> = serde_json::from_value(r.json()).unwrap();
    assert_eq!(repos, raw_catalog(&reg).await);

    let r = regtui(
        &["--registry", &reg.url, "tags", "team/app/api", "--json"],
        &[],
    );
    let mut tags: Vec<String> = serde_json::from_value(r.json()).unwrap();
    tags.sort();
    assert_eq!(tags, reg.tags("team/app/api"));

    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "tags",
            "team/app/api",
            "--long",
            "--json",
        ],
        &[],
    );
    let rows = r.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let tag = row["tag"].as_str().unwrap();
        let img = find("team/app/api", tag);
        assert_eq!(row["digest"], img.digest.as_str(), "{tag}");
        assert_eq!(row["media_type"], oci::OCI_MANIFEST);
        assert_eq!(row["size"], img.size(), "{tag}");
        assert_eq!(row["created"], img.created.as_str(), "{tag}");
        assert_eq!(row["platforms"][0]["platform"], "linux/amd64");
        assert_eq!(row["platforms"][0]["digest"], img.digest.as_str());
    }
    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "tags",
            "tools/multi",
            "--long",
            "--json",
        ],
        &[],
    );
    let rows = r.json();
    let list = &rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tag"] == "2.0")
        .unwrap();
    let img = find("tools/multi", "2.0");
    assert_eq!(list["media_type"], oci::DOCKER_LIST);
    assert_eq!(list["size"], oci::index_size(&img));
    let plats: Vec<&str> = list["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm/v7"]);

    // Table output: aligned columns, humanised sizes, a marker on shared digests.
    let r = regtui(
        &["--registry", &reg.url, "tags", "team/app/api", "--long"],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert!(out.starts_with("TAG"), "{out}");
    let latest = out.lines().find(|l| l.starts_with("latest")).unwrap();
    assert!(
        latest.contains("⇆") && latest.contains("KiB") && latest.contains("2024-06-01 12:00"),
        "{latest}"
    );
}

#[tokio::test]
async fn inspect_json_and_full_references() {
    let reg = standard(Options::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let reference = format!("{}/team/app/web:2024.01", reg.host);
    let r = regtui(&["-c", &cfg, "inspect", &reference, "--json"], &[]);
    let v = r.json();
    let img = find("team/app/web", "2024.01");
    assert_eq!(v["reference"], reference.as_str());
    assert_eq!(v["digest"], img.digest.as_str());
    assert_eq!(v["media_type"], oci::DOCKER_MANIFEST);
    assert_eq!(
        v["manifest"],
        serde_json::from_slice::<Value>(&img.manifest).unwrap()
    );
    assert_eq!(v["config"]["os"], "linux");
    assert_eq!(v["config"]["created"], "2024-01-15T00:00:00Z");
    assert_eq!(
        v["config"]["cmd"],
        serde_json::json!(["/bin/app", "--serve"])
    );
    assert_eq!(v["layers"].as_array().unwrap().len(), 2);
    assert_eq!(v["layers"][1]["created_by"], "RUN step-1 # web-2024.01");
    assert_eq!(v["layers"][0]["size"], 2500);

    let idx = find("tools/multi", "1.0");
    let r = regtui(
        &[
            "-c",
            &cfg,
            "inspect",
            &format!("tools/multi@{}", idx.digest),
            "--json",
        ],
        &[],
    );
    let v = r.json();
    assert_eq!(v["media_type"], oci::OCI_INDEX);
    assert_eq!(v["platforms"].as_array().unwrap().len(), 2);
    assert_eq!(v["platforms"][1]["digest"], idx.children[1].digest.as_str());

    // Without any config, a loopback host means plain HTTP (as crane does).
    let r = regtui(
        &[
            "inspect",
            &format!("{}/team/app/api:v1.0.0", reg.host),
            "--json",
        ],
        &[],
    );
    assert_eq!(
        r.json()["digest"],
        find("team/app/api", "v1.0.0").digest.as_str()
    );

    let r = regtui(&["-c", &cfg, "inspect", "team/app/api:nope"], &[]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("manifest not found"), "{}", r.stderr());
}

#[tokio::test]
async fn rm_refuses_without_yes_then_untags_or_deletes() {
    let reg = standard(Options::default());
    let d = find("team/app/api", "v1.2.0").digest;

    // Not a terminal and no --yes: refuse, change nothing.
    let r = regtui(&["--registry", &reg.url, "rm", "team/app/api:latest"], &[]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains("refusing to delete without --yes"),
        "{}",
        r.stderr()
    );
    assert_eq!(reg.tags("team/app/api").len(), 5);

    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "rm",
            "team/app/api:latest",
            "--dry-run",
            "--json",
        ],
        &[],
    );
    let v = r.json();
    assert_eq!(v["action"], "untag");
    assert_eq!(v["digest"], d.as_str());
    assert_eq!(v["kept_tags"], serde_json::json!(["stable", "v1.2.0"]));
    assert_eq!(reg.tags("team/app/api").len(), 5);

    let r = regtui(
        &["--registry", &reg.url, "rm", "team/app/api:latest", "--yes"],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("garbage collection"), "{}", r.stdout());
    assert_eq!(
        reg.tags("team/app/api"),
        ["stable", "v1.0.0", "v1.1.0", "v1.2.0"]
    );

    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "rm",
            &format!("team/app/api@{d}"),
            "--yes",
            "--json",
        ],
        &[],
    );
    let v = r.json();
    assert_eq!(v["action"], "delete-manifest");
    assert_eq!(v["removed_tags"], serde_json::json!(["stable", "v1.2.0"]));
    assert_eq!(reg.tags("team/app/api"), ["v1.0.0", "v1.1.0"]);

    // The demo is read-only and says so.
    let r = regtui(&["--demo", "rm", "library/hello:1.0", "--yes"], &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("cannot remove a single tag"),
        "{}",
        r.stderr()
    );
}

#[tokio::test]
async fn rm_on_a_delete_disabled_registry_explains() {
    let reg = standard(Options {
        delete: false,
        ..Default::default()
    });
    let r = regtui(
        &["--registry", &reg.url, "rm", "team/app/api:latest", "--yes"],
        &[],
    );
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .contains("deletion disabled (set storage.delete.enabled: true in its config"),
        "{}",
        r.stderr()
    );
    assert_eq!(reg.tags("team/app/api").len(), 5);
}

#[test]
fn profiles_and_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "default_profile = \"local\"\n[profiles.local]\nregistry = \"http://127.0.0.1:5000\"\n[profiles.lab]\nregistry = \"registry.local:5443\"\nusername = \"admin\"\npassword_env = \"LAB_PASSWORD\"\n",
    );
    let r = regtui(&["-c", &cfg, "profiles"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stdout().contains(&cfg)
            && r.stdout().contains("local *")
            && r.stdout().contains("registry.local:5443"),
        "{}",
        r.stdout()
    );
    let r = regtui(&["profiles", "--json"], &[("REGTUI_CONFIG", &cfg)]);
    let v = r.json();
    assert!(v["config"].as_str().unwrap().contains("REGTUI_CONFIG"));
    assert_eq!(v["profiles"].as_array().unwrap().len(), 2);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[profiles.x]\nregistry = \"h:1\"\npasword = \"typo\"\n",
    )
    .unwrap();
    let r = regtui(&["-c", bad.to_str().unwrap(), "repos"], &[]);
    assert_eq!(r.code(), 1);
    let e = r.stderr();
    assert!(
        e.contains(bad.to_str().unwrap()) && e.contains("line 3") && e.contains("pasword"),
        "{e}"
    );

    std::fs::write(&bad, "[profiles.x\nregistry = 1\n").unwrap();
    let r = regtui(&["-c", bad.to_str().unwrap(), "repos"], &[]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("line 1"), "{}", r.stderr());

    // A default_profile naming no profile: `profiles` lists them and warns; commands that need
    // a profile say which to pick.
    std::fs::write(
        &bad,
        "default_profile = \"gone\"\n[profiles.a]\nregistry = \"h:1\"\n[profiles.b]\nregistry = \"h:2\"\n",
    )
    .unwrap();
    let r = regtui(&["-c", bad.to_str().unwrap(), "profiles"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("h:1") && r.stdout().contains("h:2"));
    assert!(
        r.stderr().contains("warning:") && r.stderr().contains("\"gone\""),
        "{}",
        r.stderr()
    );
    let r = regtui(&["-c", bad.to_str().unwrap(), "repos"], &[]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("no profile selected"), "{}", r.stderr());

    let r = regtui(&["-c", "/nonexistent/regtui.toml", "repos"], &[]);
    assert!(
        r.stderr()
            .contains("cannot read config file /nonexistent/regtui.toml"),
        "{}",
        r.stderr()
    );

    let r = regtui(&["repos"], &[]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("no profile selected"), "{}", r.stderr());

    let r = regtui(&["-c", &cfg, "-p", "lab", "repos"], &[]);
    assert!(
        r.stderr().contains("$LAB_PASSWORD, which is not set"),
        "{}",
        r.stderr()
    );
}

#[tokio::test]
async fn credentials_from_profile_docker_config_and_helpers() {
    let reg = standard(Options {
        auth: Auth::Htpasswd,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();

    // Profile with password_env.
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let r = regtui(
        &["-c", &cfg, "repos", "--json"],
        &[("REGTUI_TEST_PASSWORD", PASSWORD)],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 4);
    let r = regtui(
        &["-c", &cfg, "repos"],
        &[("REGTUI_TEST_PASSWORD", "wrong-secret-value")],
    );
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("refused the credentials"),
        "{}",
        r.stderr()
    );
    assert!(!r.stderr().contains("wrong-secret-value"));

    // Plain password: warned about when others can read the file.
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        format!(
            "[profiles.p]\nregistry = \"{}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
            reg.url
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = regtui(&["-c", plain.to_str().unwrap(), "repos"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stderr().contains("plain-text password") && r.stderr().contains("chmod 600"),
        "{}",
        r.stderr()
    );
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = regtui(&["-c", plain.to_str().unwrap(), "repos"], &[]);
    assert!(
        !r.stderr().contains("plain-text password"),
        "{}",
        r.stderr()
    );

    // docker config.json `auths`.
    let docker = dir.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let dc = docker.display().to_string();
    let r = regtui(
        &["--registry", &reg.url, "repos", "--json"],
        &[("DOCKER_CONFIG", &dc)],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 4);

    // A credential helper (credHelpers), speaking the docker-credential protocol.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-regtuitest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread url\necho \"$url\" > \"{}/asked\"\nif [ \"$url\" = \"{}\" ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$url\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
            dir.path().display(),
            reg.host
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"regtuitest"}}}}"#, reg.host),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = regtui(
        &["--registry", &reg.url, "repos", "--json"],
        &[("DOCKER_CONFIG", &dc), ("PATH", &path)],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 4);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("asked"))
            .unwrap()
            .trim(),
        reg.host
    );

    // credsStore that does not know this registry: anonymous, then a clear 401.
    std::fs::write(docker.join("config.json"), r#"{"credsStore":"regtuitest"}"#).unwrap();
    let other = format!("http://localhost:{}", reg.port);
    let r = regtui(
        &["--registry", &other, "repos"],
        &[("DOCKER_CONFIG", &dc), ("PATH", &path)],
    );
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("needs credentials"), "{}", r.stderr());
}

#[tokio::test]
async fn table_output_sanitizes_registry_strings() {
    let reg = Registry::start(Options::default());
    let img = oci::image(&oci::ImageSpec {
        seed: "evil",
        labels: &[
            ("title", "nice\u{1b}]52;c;cGF3bmVk\u{7}\u{1b}[2Jname"),
            ("x", "a\nb"),
        ],
        ..Default::default()
    });
    oci::Pusher::new(&reg.url)
        .image("evil/app", "v1", &img)
        .await;
    let r = regtui(&["--registry", &reg.url, "inspect", "evil/app:v1"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("title=nicename"), "{out}");
    assert!(out.contains("x=a b"), "{out}");
    // JSON keeps the data exactly (escaped by the encoder).
    let r = regtui(
        &["--registry", &reg.url, "inspect", "evil/app:v1", "--json"],
        &[],
    );
    assert_eq!(r.json()["config"]["labels"]["x"], "a\nb");
    assert!(!r.stdout().contains('\u{1b}'));
}

#[test]
fn demo_works_without_a_server() {
    let r = regtui(&["--demo", "repos", "--json"], &[]);
    let repos: Vec<String> = serde_json::from_value(r.json()).unwrap();
    assert!(
        repos.contains(&"team/app/api".to_string()) && repos.contains(&"tools/busybox".to_string()),
        "{repos:?}"
    );
    let r = regtui(
        &["--demo", "tags", "tools/busybox", "--long", "--json"],
        &[],
    );
    let rows = r.json();
    assert_eq!(rows[0]["platforms"].as_array().unwrap().len(), 3);
    let r = regtui(&["--demo"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("team/app/api"));
    // The table's CREATED keeps the time zone the image was stamped with.
    let r = regtui(&["--demo", "tags", "team/app/api", "--long"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    let created = out
        .lines()
        .find(|l| l.starts_with("latest"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        created
            .split_whitespace()
            .any(|w| w.ends_with('Z') || w.contains('+')),
        "{created}"
    );
}

#[test]
fn example_config_is_built_in_and_help_describes_arguments() {
    let r = regtui(&["example-config"], &[]);
    assert_eq!(r.code(), 0);
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example"),
    )
    .unwrap();
    assert_eq!(r.stdout(), example);
    for (cmd, arg, words) in [
        ("tags", "<REPO>", "Repository"),
        ("inspect", "<REFERENCE>", "Image reference"),
        ("rm", "<REFERENCE>", "that tag only"),
        ("prune", "<REPO>", "globs allowed"),
    ] {
        let r = regtui(&[cmd, "--help"], &[]);
        let help = r.stdout();
        let args: String = help
            .lines()
            .skip_while(|l| !l.contains("Arguments:"))
            .take_while(|l| !l.contains("Options:"))
            .collect();
        assert!(args.contains(arg) && args.contains(words), "{cmd}: {help}");
    }
}

#[tokio::test]
async fn thousand_tags_listed_with_sizes_and_dates() {
    let reg = Registry::start(Options::default());
    let base = reg.url.clone();
    let pushed =
        support::block_on(async move { support::fill_many(&base, "bench/many", 1000).await });
    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "tags",
            "bench/many",
            "--long",
            "--json",
        ],
        &[],
    );
    let rows = r.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1000);
    let want: std::collections::HashMap<&str, &oci::Image> =
        pushed.iter().map(|(t, i)| (t.as_str(), i)).collect();
    for row in rows {
        let img = want[row["tag"].as_str().unwrap()];
        assert_eq!(row["digest"], img.digest.as_str());
        assert_eq!(row["size"], img.size());
        assert_eq!(row["created"], img.created.as_str());
    }
}

#[test]
fn config_example_parses() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example");
    let r = regtui(
        &["-c", example.to_str().unwrap(), "profiles", "--json"],
        &[],
    );
    let v = r.json();
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "acr", "ecr", "gar", "ghcr", "gitlab", "harbor", "hub", "lab", "local"
        ]
    );
    let kinds: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "acr",
            "ecr",
            "gar",
            "ghcr",
            "gitlab",
            "harbor",
            "dockerhub",
            "distribution",
            "distribution"
        ]
    );
}

#[test]
fn provider_keys_are_checked_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // The line of the key itself, or the table's when the key is missing.
        (
            "[profiles.a]\nregistry = \"x\"\nregion = \"eu-west-1\"\n",
            "`region`: applies to kind = ecr only",
            "line 3",
        ),
        (
            "[profiles.a]\nkind = \"dockerhub\"\n",
            "`namespace`: missing",
            "line 1",
        ),
        (
            "[profiles.a]\nkind = \"ghcr\"\nowner_type = \"org\"\n",
            "owner_type is set but owner is not",
            "line 1",
        ),
        (
            "[profiles.a]\nkind = \"ghcr\"\nnamespace = \"x\"\n",
            "`namespace`: applies to kind = dockerhub only",
            "line 3",
        ),
    ];
    for (text, want, line) in cases {
        let cfg = write_config(dir.path(), text);
        let r = regtui(&["-c", &cfg, "profiles"], &[]);
        assert_ne!(r.code(), 0, "{text}");
        assert!(r.stderr().contains(want), "{text}: {}", r.stderr());
        assert!(r.stderr().contains(line), "{}", r.stderr());
    }
}
