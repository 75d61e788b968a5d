//! Issue #13 in the TUI against the real registry: badges on tag rows, referrers opened from the
//! manifest pane, deleting with referrers, the files view, copy and tag dialogs.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regtui::app::{App, Effect, Msg, ProfileEntry};
use regtui::client_task::{self, Event, ProfileSource, ProfileSpec};
use regtui::config::Profile;
use regtui::registry::referrers;
use serde_json::json;
use support::oci::{Blob, Image, Pusher, sha256, simple};
use support::{Options, Registry, block_on};
use tokio::sync::mpsc;

/// 2025-01-01T00:00:00Z: relative dates in snapshots stay fixed.
const NOW: i64 = 1_735_689_600;
const REPO: &str = "shop/web";

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn spec(name: &str, url: &str) -> ProfileSpec {
    let profile = Profile::ad_hoc(url).unwrap();
    ProfileSpec {
        name: name.into(),
        registry: url.into(),
        source: ProfileSource::Registry {
            profile: Box::new(profile),
            base_dir: PathBuf::from("."),
        },
        concurrency: 4,
    }
}

/// The app wired to the real client task.
struct Harness {
    app: App,
    client: client_task::Client,
    rx: mpsc::Receiver<Event>,
}

impl Harness {
    async fn new(profiles: &[(&str, &str)], size: (u16, u16)) -> Self {
        let specs: Vec<ProfileSpec> = profiles.iter().map(|(n, u)| spec(n, u)).collect();
        let entries = specs
            .iter()
            .map(|s| ProfileEntry {
                registry: "http://registry.test".into(),
                ..ProfileEntry::from(s)
            })
            .collect();
        let (etx, rx) = mpsc::channel(1024);
        let client = client_task::spawn(specs, etx);
        let mut app = App::new(entries, 0, size, NOW);
        app.color = false;
        let mut h = Harness { app, client, rx };
        let fx = h.app.start();
        h.apply(fx);
        h.settle().await;
        h
    }

    fn apply(&mut self, fx: Vec<Effect>) {
        for e in fx {
            if let Effect::Send(c) = e {
                self.client.commands.try_send(c).unwrap();
            }
        }
    }

    /// Feeds client events until nothing is in flight and the queue stays empty.
    async fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut idle_since: Option<Instant> = None;
        loop {
            assert!(Instant::now() < deadline, "client did not settle");
            match tokio::time::timeout(Duration::from_millis(30), self.rx.recv()).await {
                Ok(Some(ev)) => {
                    idle_since = None;
                    let fx = self.app.update(Msg::Client(ev));
                    self.apply(fx);
                }
                _ => {
                    self.app.in_flight = self
                        .client
                        .in_flight
                        .load(std::sync::atomic::Ordering::SeqCst);
                    if self.app.in_flight == 0 {
                        let t = *idle_since.get_or_insert_with(Instant::now);
                        if t.elapsed() > Duration::from_millis(60) {
                            return;
                        }
                    }
                }
            }
        }
    }

    async fn press(&mut self, msgs: Vec<Msg>) {
        for m in msgs {
            let fx = self.app.update(m);
            self.apply(fx);
            self.settle().await;
        }
    }

    /// Opens `repo` from the repositories pane.
    async fn open_repo(&mut self, repo: &str) {
        let pos = {
            let r = &self.app.view().repos;
            r.view
                .iter()
                .position(|i| r.names[*i] == repo)
                .unwrap_or_else(|| panic!("{repo} not listed"))
        };
        let mut keys = vec![key('g')];
        keys.extend((0..pos).map(|_| key('j')));
        keys.push(code(KeyCode::Enter));
        self.press(keys).await;
    }

    /// Selects `tag` in the tags pane.
    async fn select_tag(&mut self, tag: &str) {
        let pos = {
            let t = &self.app.view().tags;
            t.view
                .iter()
                .position(|i| t.names[*i] == tag)
                .unwrap_or_else(|| panic!("{tag} not listed"))
        };
        let mut keys = vec![key('g')];
        keys.extend((0..pos).map(|_| key('j')));
        self.press(keys).await;
        assert_eq!(self.app.view().tags.selected(), Some(tag));
    }

    fn screen(&self) -> String {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| regtui::ui::render(&self.app, f)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
            .collect()
    }

    /// The screen line that shows `text`.
    fn line_with(&self, text: &str) -> String {
        self.screen()
            .lines()
            .find(|l| l.contains(text))
            .unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", self.screen()))
            .to_string()
    }
}

/// Pushes an OCI artifact manifest about `subject` and returns its bytes and digest.
async fn artifact(p: &Pusher, repo: &str, artifact_type: &str, subject: &str) -> (Vec<u8>, String) {
    let empty = Blob::new("application/vnd.oci.empty.v1+json", b"{}".to_vec());
    let layer = Blob::new(
        artifact_type,
        format!("{artifact_type} of {subject}").into_bytes(),
    );
    p.blob(repo, &empty).await;
    p.blob(repo, &layer).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1},
    }))
    .unwrap();
    let d = sha256(&m);
    p.manifest(repo, &d, "application/vnd.oci.image.manifest.v1+json", &m)
        .await;
    (m, d)
}

/// Stores referrers the way oras does without the referrers API: `(artifact type, manifest,
/// digest)` listed in the fallback index tag `sha256-<hex>` of `subject`.
async fn fallback_index(p: &Pusher, repo: &str, subject: &str, items: &[(&str, &[u8], &str)]) {
    let manifests: Vec<_> = items
        .iter()
        .map(|(t, m, d)| {
            json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": d, "size": m.len(), "artifactType": t,
            })
        })
        .collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .unwrap();
    p.manifest(
        repo,
        &referrers::fallback_tag(subject),
        "application/vnd.oci.image.index.v1+json",
        &index,
    )
    .await;
}

/// What [`signed_shop`] pushed.
struct Shop {
    v1: Image,
    v2: Image,
    /// v1's cosign signature (tag `sha256-<hex>.sig`).
    sig: String,
    /// v1's and v2's SBOMs (in their fallback indexes).
    sbom1: String,
    sbom2: String,
}

/// `shop/web`: `v1` signed (cosign tag) with an SBOM (fallback index), `v2` with an SBOM in its
/// fallback index only, `v3` with nothing.
fn signed_shop(url: &str) -> Shop {
    let v1 = simple("shop-v1", "2024-06-01T00:00:00Z", &[3000, 500]);
    let v2 = simple("shop-v2", "2024-05-01T00:00:00Z", &[2000]);
    let v3 = simple("shop-v3", "2024-04-01T00:00:00Z", &[1000]);
    let (d1, d2) = (v1.digest.clone(), v2.digest.clone());
    let url = url.to_string();
    let (i1, i2, i3) = (v1.clone(), v2.clone(), v3);
    let (sig, sbom1, sbom2) = block_on(async move {
        let p = Pusher::new(&url);
        p.image(REPO, "v1", &i1).await;
        p.image(REPO, "v2", &i2).await;
        p.image(REPO, "v3", &i3).await;
        let (sig_m, sig) = artifact(
            &p,
            REPO,
            "application/vnd.dev.cosign.simplesigning.v1+json",
            &d1,
        )
        .await;
        p.manifest(
            REPO,
            &format!("{}.sig", referrers::fallback_tag(&d1)),
            "application/vnd.oci.image.manifest.v1+json",
            &sig_m,
        )
        .await;
        let (m1, sbom1) = artifact(&p, REPO, "application/spdx+json", &d1).await;
        fallback_index(&p, REPO, &d1, &[("application/spdx+json", &m1, &sbom1)]).await;
        let (m2, sbom2) = artifact(&p, REPO, "application/vnd.cyclonedx+json", &d2).await;
        fallback_index(
            &p,
            REPO,
            &d2,
            &[("application/vnd.cyclonedx+json", &m2, &sbom2)],
        )
        .await;
        (sig, sbom1, sbom2)
    });
    Shop {
        v1,
        v2,
        sig,
        sbom1,
        sbom2,
    }
}

// ---------- 1. badges ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_rows_show_signed_sbom_attested_badges_refined_when_opened() {
    let reg = Registry::start(Options::default());
    let shop = signed_shop(&reg.url);
    let mut h = Harness::new(&[("local", &reg.url)], (100, 16)).await;
    h.open_repo(REPO).await;
    // From the tag names alone: v1 signed (.sig) with referrers in its fallback index (kind
    // unknown until opened, but the signature already says something), v2 other referrers.
    let t = &h.app.view().tags;
    assert_eq!(t.hidden_artifacts(), 3);
    assert_eq!(t.badges_of("v1").text(false), "✓");
    assert_eq!(t.badges_of("v2").text(false), "◇");
    assert!(t.badges_of("v3").is_empty());
    assert!(h.line_with("│ v1 ").contains("v1 ✓"));
    insta::assert_snapshot!("badges_from_tags_100x16", h.screen());
    // Opening v2 reads its referrers: the fallback index holds a CycloneDX SBOM.
    h.select_tag("v2").await;
    h.press(vec![code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.badges_of("v2").text(false), "≡");
    // v1 opened: signature and SPDX SBOM.
    h.press(vec![code(KeyCode::Esc)]).await;
    h.select_tag("v1").await;
    h.press(vec![code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.badges_of("v1").text(false), "✓≡");
    h.press(vec![code(KeyCode::Esc)]).await;
    insta::assert_snapshot!("badges_refined_100x16", h.screen());
    // Without Unicode.
    h.app.ascii = true;
    let line = h.line_with("│ v1 ");
    assert!(line.contains("v1 SB"), "{line}");
    assert!(h.line_with("│ v2 ").contains("v2 B"));
    let _ = (shop.v1, shop.v2, shop.sig, shop.sbom1, shop.sbom2);
}

// ---------- 2. Enter on a referrer ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_on_a_referrer_opens_the_artifact_and_esc_comes_back() {
    let reg = Registry::start(Options::default());
    let shop = signed_shop(&reg.url);
    let mut h = Harness::new(&[("local", &reg.url)], (100, 24)).await;
    h.open_repo(REPO).await;
    h.select_tag("v1").await;
    h.press(vec![code(KeyCode::Enter)]).await;
    let m = &h.app.view().manifest;
    let refs: Vec<String> = m
        .data
        .as_ref()
        .unwrap()
        .referrers
        .iter()
        .map(|r| r.digest.clone())
        .collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    assert_eq!(m.choices(), 2);
    // The second referrer: ↓ then Enter opens it in the panes, as an image.
    let pos = refs.iter().position(|d| *d == shop.sig).unwrap();
    let mut keys: Vec<Msg> = (0..pos).map(|_| key('j')).collect();
    keys.push(code(KeyCode::Enter));
    h.press(keys).await;
    let m = &h.app.view().manifest;
    let (_, reference, label) = m.target.clone().unwrap();
    assert_eq!(reference, shop.sig);
    assert_eq!(label, "v1 › signature (cosign)");
    let d = m.data.as_ref().expect("the signature's manifest loaded");
    assert_eq!(d.digest, shop.sig);
    assert_eq!(d.layers.len(), 1, "its layer listed in the layers pane");
    assert!(h.screen().contains("1 layer"), "{}", h.screen());
    assert!(h.line_with("Manifest ·").contains("signature (cosign)"));
    // Esc: back to v1 with its referrers.
    h.press(vec![code(KeyCode::Esc)]).await;
    let m = &h.app.view().manifest;
    assert_eq!(m.data.as_ref().unwrap().digest, shop.v1.digest);
    // The SBOM the same way.
    h.press(vec![key('k'), code(KeyCode::Enter)]).await;
    let sel = h.app.view().manifest.target.clone().unwrap().1;
    assert_eq!(sel, refs[0]);
    assert!(sel == shop.sbom1);
}

// ---------- 3. deleting with referrers ----------

fn distribution(url: &str) -> regtui::registry::distribution::Distribution {
    use regtui::registry::distribution::{Distribution, DistributionOptions};
    Distribution::new(DistributionOptions::new(
        regtui::registry::reference::RegistryAddr::parse(url).unwrap(),
        regtui::registry::auth::Credential::Anonymous,
    ))
    .unwrap()
}

async fn tags_of(url: &str) -> Vec<String> {
    let b = distribution(url);
    regtui::registry::ops::all_tags(&b, REPO).await.unwrap()
}

#[test]
fn deleting_a_referrer_updates_the_fallback_index_and_rm_with_referrers_takes_them_all() {
    use regtui::registry::Backend;
    use regtui::registry::ops::{self, Confirmed};
    let reg = Registry::start(Options::default());
    let shop = signed_shop(&reg.url);
    let url = reg.url.clone();
    block_on(async move {
        let p = Pusher::new(&url);
        let b = distribution(&url);
        let v3 = b.head_manifest(REPO, "v3").await.unwrap().digest;
        // Two attestations of v3 in one fallback index.
        let (ma, a) = artifact(&p, REPO, "application/vnd.in-toto+json", &v3).await;
        let (mb, bb) = artifact(&p, REPO, "application/vnd.dsse.envelope.v1+json", &v3).await;
        fallback_index(
            &p,
            REPO,
            &v3,
            &[
                ("application/vnd.in-toto+json", &ma, &a),
                ("application/vnd.dsse.envelope.v1+json", &mb, &bb),
            ],
        )
        .await;
        let fb = referrers::fallback_tag(&v3);
        // Deleting one referrer: the index is stored again without it (not refused as an
        // index "using" it).
        let tags = ops::delete_manifest_checked(&b, REPO, &a, &Confirmed::default(), 4)
            .await
            .unwrap()
            .tags;
        assert!(tags.is_empty(), "{tags:?}");
        let b = distribution(&url);
        let left = referrers::referrers(&b, REPO, &v3, None).await.unwrap();
        assert_eq!(
            left.iter().map(|r| r.digest.clone()).collect::<Vec<_>>(),
            std::slice::from_ref(&bb)
        );
        assert!(tags_of(&url).await.contains(&fb));
        // The last one: the index goes with its tag.
        let tags = ops::delete_manifest_checked(&b, REPO, &bb, &Confirmed::default(), 4)
            .await
            .unwrap()
            .tags;
        assert_eq!(tags, std::slice::from_ref(&fb));
        assert!(!tags_of(&url).await.contains(&fb));
        let b = distribution(&url);
        assert!(
            referrers::referrers(&b, REPO, &v3, None)
                .await
                .unwrap()
                .is_empty()
        );
        // v1 with its signature (cosign tag) and SBOM (fallback index): all of it goes.
        let v1 = b.head_manifest(REPO, "v1").await.unwrap().digest;
        let shown = referrers::referrers(&b, REPO, &v1, None).await.unwrap();
        let confirmed = Confirmed {
            tags: vec!["v1".into()],
            indexes: vec![],
            referrers: shown.iter().map(|r| r.digest.clone()).collect(),
        };
        let done = ops::delete_with_referrers(&b, REPO, &v1, &confirmed, 4)
            .await
            .unwrap();
        assert!(done.warnings.is_empty(), "{:?}", done.warnings);
        let (tags, refs) = (done.tags, done.referrers);
        let fb1 = referrers::fallback_tag(&v1);
        assert!(
            tags.contains(&"v1".to_string()) && tags.contains(&fb1),
            "{tags:?}"
        );
        assert!(tags.contains(&format!("{fb1}.sig")), "{tags:?}");
        assert_eq!(refs.len(), 2);
        let now = tags_of(&url).await;
        assert!(
            !now.iter().any(|t| t == "v1" || t.starts_with(&fb1)),
            "{now:?}"
        );
        let b = distribution(&url);
        for d in refs {
            assert!(matches!(
                b.head_manifest(REPO, &d).await,
                Err(regtui::registry::Error::NotFound { .. })
            ));
        }
    });
    // The CLI: rm --with-referrers on v2 (SBOM in its fallback index).
    let reg_url = reg.url.as_str();
    let target = format!("{REPO}@{}", shop.v2.digest);
    let r = support::bin::regtui(
        &[
            "--registry",
            reg_url,
            "rm",
            &target,
            "--yes",
            "--json",
            "--with-referrers",
        ],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let j = r.json();
    assert_eq!(j["referrers"][0], shop.sbom2.as_str(), "{j}");
    let url = reg.url.clone();
    let now = block_on(async move { tags_of(&url).await });
    assert!(
        !now.iter()
            .any(|t| t == "v2" || t.starts_with(&referrers::fallback_tag(&shop.v2.digest))),
        "{now:?}"
    );
    let _ = (shop.v1, shop.sig, shop.sbom1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delete_dialog_lists_referrers_and_deletes_them_only_when_chosen() {
    use regtui::app::overlay::{DeleteChoice, Overlay};
    let reg = Registry::start(Options::default());
    let shop = signed_shop(&reg.url);
    let mut h = Harness::new(&[("local", &reg.url)], (100, 30)).await;
    h.open_repo(REPO).await;
    h.select_tag("v1").await;
    h.press(vec![key('d')]).await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("no dialog")
    };
    assert_eq!(c.referrers.len(), 2);
    assert_eq!(
        c.choices(),
        [
            DeleteChoice::Cancel,
            DeleteChoice::ThisTag,
            DeleteChoice::All,
            DeleteChoice::WithReferrers
        ]
    );
    let screen = h.screen();
    assert!(screen.contains("referred to by 2 artifacts"), "{screen}");
    assert!(screen.contains("signature (cosign)") && screen.contains("SBOM (SPDX)"));
    insta::assert_snapshot!("delete_with_referrers_100x30", screen);
    // The separate choice: the image, its signature and SBOM, the artifact tags.
    h.press((0..3).map(|_| code(KeyCode::Right)).collect())
        .await;
    h.press(vec![code(KeyCode::Enter)]).await;
    assert!(!h.app.overlay.is_open());
    let t = &h.app.view().tags;
    assert!(!t.names.iter().any(|n| n == "v1"), "{:?}", t.names);
    assert_eq!(t.hidden_artifacts(), 1, "only v2's fallback tag is left");
    let url = reg.url.clone();
    let now = tags_of(&url).await;
    assert_eq!(now.len(), 3, "{now:?}");
    // v2 with the plain "delete manifest" choice keeps its SBOM (and its fallback index).
    h.select_tag("v2").await;
    h.press(vec![
        key('d'),
        code(KeyCode::Right),
        code(KeyCode::Right),
        code(KeyCode::Enter),
    ])
    .await;
    let now = tags_of(&url).await;
    assert!(!now.contains(&"v2".to_string()));
    assert!(
        now.contains(&referrers::fallback_tag(&shop.v2.digest)),
        "{now:?}"
    );
    let _ = (shop.sig, shop.sbom1, shop.sbom2, shop.v1);
}

// ---------- 4. files view ----------

/// A tar archive of `(path, content)` files (`None` content: a directory).
fn tarball(files: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, path, *c).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                h.set_cksum();
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Pushes `files/app:v1` with these layers to `url`.
fn push_layers(url: &str, layers: Vec<Vec<u8>>) -> Image {
    let blobs: Vec<Blob> = layers.into_iter().map(|l| Blob::new(GZ, l)).collect();
    let img = support::with_layers(simple("files-base", "2024-06-01T00:00:00Z", &[10]), &blobs);
    let (url, i2) = (url.to_string(), img.clone());
    block_on(async move {
        Pusher::new(&url).image("files/app", "v1", &i2).await;
    });
    img
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_view_lists_merged_and_per_layer_files_and_filters() {
    use regtui::app::overlay::{FilesState, Overlay};
    let reg = Registry::start(Options::default());
    push_layers(
        &reg.url,
        vec![
            gzip(&tarball(&[
                ("etc", None),
                ("etc/a", Some(b"a1")),
                ("etc/b", Some(b"b1")),
                ("usr/bin/tool", Some(&[1u8; 5000])),
            ])),
            gzip(&tarball(&[
                ("etc/.wh.a", Some(b"")),
                ("etc/c", Some(b"c2")),
            ])),
        ],
    );
    let mut h = Harness::new(&[("local", &reg.url)], (100, 24)).await;
    h.open_repo("files/app").await;
    h.press(vec![code(KeyCode::Enter), code(KeyCode::Tab), key('f')])
        .await;
    let paths = |h: &Harness| -> Vec<String> {
        let Overlay::Files(v) = &h.app.overlay else {
            panic!("no files view")
        };
        assert_eq!(v.state, FilesState::Loaded);
        v.view.iter().map(|i| v.entries[*i].path.clone()).collect()
    };
    // Merged: etc/a whited out by the second layer.
    let merged = paths(&h);
    assert!(merged.contains(&"etc/c".to_string()), "{merged:?}");
    assert!(merged.contains(&"usr/bin/tool".to_string()));
    assert!(!merged.contains(&"etc/a".to_string()), "{merged:?}");
    assert!(!merged.iter().any(|p| p.contains(".wh.")));
    insta::assert_snapshot!("files_merged_100x24", h.screen());
    // `/` filters.
    h.press(vec![
        key('/'),
        key('e'),
        key('t'),
        key('c'),
        code(KeyCode::Enter),
    ])
    .await;
    let filtered = paths(&h);
    assert!(
        filtered.iter().all(|p| p.starts_with("etc")),
        "{filtered:?}"
    );
    assert!(h.screen().contains("filter: etc"));
    // `]`: the first layer alone still has etc/a.
    h.press(vec![key(']')]).await;
    let first = paths(&h);
    assert!(first.contains(&"etc/a".to_string()), "{first:?}");
    assert!(h.screen().contains("layer 1/2"));
    // Esc closes.
    h.press(vec![code(KeyCode::Esc)]).await;
    assert!(!h.app.overlay.is_open());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_in_the_tags_pane_on_another_row_says_to_open_it_first() {
    use regtui::app::overlay::Overlay;
    let reg = Registry::start(Options::default());
    push_layers(&reg.url, vec![gzip(&tarball(&[("a", Some(b"1"))]))]);
    let older = simple("files-older", "2020-01-01T00:00:00Z", &[20]);
    let url = reg.url.clone();
    block_on(async move {
        Pusher::new(&url).image("files/app", "v0", &older).await;
    });
    let mut h = Harness::new(&[("local", &reg.url)], (120, 24)).await;
    h.open_repo("files/app").await;
    // Open the top row (v1, the newest), then back to the tags pane and one row down.
    h.press(vec![code(KeyCode::Enter)]).await;
    let opened = h.app.view().manifest.target.clone().unwrap().1;
    assert_eq!(opened, "v1");
    h.press(vec![code(KeyCode::Esc), key('j')]).await;
    assert_eq!(h.app.view().tags.selected(), Some("v0"));
    h.press(vec![key('f')]).await;
    assert!(!h.app.overlay.is_open(), "no files of another image");
    let screen = h.screen();
    assert!(
        screen.contains("open v0 first (Enter): f lists the opened image (v1)"),
        "{screen}"
    );
    // On the opened row, f lists its files.
    h.press(vec![key('k'), key('f')]).await;
    assert!(matches!(h.app.overlay, Overlay::Files(_)));
}

/// A TCP proxy to `upstream` that sends answers slowly (16 KiB per 10 ms) and counts the bytes;
/// `closed` turns true once the client dropped a connection in the middle of an answer.
struct Slow {
    port: u16,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn slow_proxy(upstream: u16) -> Slow {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s2, c2) = (sent.clone(), closed.clone());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut s_in, mut c_out) = (server, client);
            let (sent, closed) = (s2.clone(), c2.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match s_in.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if c_out.write_all(&buf[..n]).is_err() {
                                closed.store(true, Ordering::SeqCst);
                                break;
                            }
                            sent.fetch_add(n as u64, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                let _ = c_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    Slow { port, sent, closed }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_in_the_files_view_stops_the_blob_transfer() {
    use std::sync::atomic::Ordering;
    let reg = Registry::start(Options::default());
    // 16 MiB that do not compress: about 10 s through the slow proxy.
    let noise = support::oci::noise("files-big", 16 << 20);
    let big = gzip(&tarball(&[("big.bin", Some(&noise))]));
    let big_len = big.len() as u64;
    push_layers(&reg.url, vec![big]);
    let upstream: u16 = reg.url.rsplit(':').next().unwrap().parse().unwrap();
    let slow = slow_proxy(upstream);
    let url = format!("http://127.0.0.1:{}", slow.port);
    let mut h = Harness::new(&[("local", &url)], (100, 24)).await;
    h.open_repo("files/app").await;
    h.press(vec![code(KeyCode::Enter)]).await;
    let fx = h.app.update(key('f'));
    h.apply(fx);
    // Wait for the progress bar to move.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no progress");
        let ev = tokio::time::timeout(Duration::from_secs(5), h.rx.recv())
            .await
            .unwrap()
            .unwrap();
        let progress = matches!(ev, Event::FilesProgress { read, .. } if read > 0);
        let fx = h.app.update(Msg::Client(ev));
        h.apply(fx);
        if progress {
            break;
        }
    }
    assert!(h.screen().contains("Esc cancels"), "{}", h.screen());
    // Esc: the dialog closes and the client task drops the request.
    let fx = h.app.update(code(KeyCode::Esc));
    assert!(
        matches!(
            &fx[..],
            [Effect::Send(regtui::client_task::Command::StopFiles { .. })]
        ),
        "{fx:?}"
    );
    h.apply(fx);
    assert!(!h.app.overlay.is_open());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !slow.closed.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the blob connection was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let at_stop = slow.sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        slow.sent.load(Ordering::SeqCst),
        at_stop,
        "still transferring"
    );
    assert!(at_stop < big_len / 2, "{at_stop} of {big_len} sent");
    // Nothing in flight any more.
    h.settle().await;
    assert_eq!(h.app.in_flight, 0);
}

// ---------- 5 and 6. copy / promote, add a tag, referrers copied ----------

/// The digest skopeo sees for `reference` on `reg` (raw manifest, hashed).
fn skopeo_digest(reg: &Registry, reference: &str) -> String {
    support::registry::require("/usr/bin/skopeo", "skopeo");
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{reference}", reg.host))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sha256(&out.stdout)
}

/// Types `text` into the dialog field after clearing `clear` characters.
fn typing(clear: usize, text: &str) -> Vec<Msg> {
    let mut v: Vec<Msg> = (0..clear).map(|_| code(KeyCode::Backspace)).collect();
    v.extend(text.chars().map(key));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_dialog_promotes_to_another_registry_with_referrers_and_t_adds_a_tag() {
    use regtui::app::overlay::{CopyState, Overlay};
    let src = Registry::start(Options::default());
    let dst = Registry::start(Options::default());
    let shop = signed_shop(&src.url);
    let mut h = Harness::new(&[("src", &src.url), ("dst", &dst.url)], (100, 24)).await;
    h.open_repo(REPO).await;
    h.select_tag("v1").await;
    h.press(vec![key('c')]).await;
    // Profile → dst; repository promoted/web; tag stable; referrers on.
    let mut keys = vec![code(KeyCode::Right), code(KeyCode::Tab)];
    keys.extend(typing(REPO.len(), "promoted/web"));
    keys.push(code(KeyCode::Tab));
    keys.extend(typing(2, "stable"));
    keys.extend([code(KeyCode::Tab), key(' ')]);
    h.press(keys).await;
    let Overlay::CopyTo(c) = &h.app.overlay else {
        panic!("no copy dialog")
    };
    assert_eq!(c.preview(), "registry.test/promoted/web:stable");
    assert!(c.referrers);
    insta::assert_snapshot!("copy_dialog_100x24", h.screen());
    // Enter: the copy runs in the client task; progress, then the result.
    let fx = h.app.update(code(KeyCode::Enter));
    h.apply(fx);
    let mut progress = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "copy did not finish");
        let ev = tokio::time::timeout(Duration::from_secs(10), h.rx.recv())
            .await
            .unwrap()
            .unwrap();
        let end = matches!(ev, Event::Copied { .. });
        if matches!(ev, Event::CopyProgress { .. }) {
            progress += 1;
            let fx = h.app.update(Msg::Client(ev));
            h.apply(fx);
            let Overlay::CopyTo(c) = &h.app.overlay else {
                panic!()
            };
            assert!(
                matches!(c.state, CopyState::Running { blobs, total, .. } if blobs <= total && total == 3)
            );
            assert!(h.screen().contains("blobs"));
            continue;
        }
        let fx = h.app.update(Msg::Client(ev));
        h.apply(fx);
        if end {
            break;
        }
    }
    assert_eq!(
        progress, 3,
        "one progress event per blob (config and two layers)"
    );
    let Overlay::CopyTo(c) = &h.app.overlay else {
        panic!()
    };
    let CopyState::Done(text) = &c.state else {
        panic!("{:?}", c.state)
    };
    assert!(
        text.contains("3 blobs") && text.contains("2 referrers"),
        "{text}"
    );
    assert!(h.screen().contains("done: copied"));
    h.press(vec![code(KeyCode::Enter)]).await;
    assert!(!h.app.overlay.is_open());
    // The destination: same digest (skopeo agrees), and the signature and SBOM found there the
    // way tools look for them without the referrers API.
    assert_eq!(skopeo_digest(&dst, "promoted/web:stable"), shop.v1.digest);
    let (durl, d1) = (dst.url.clone(), shop.v1.digest.clone());
    let list = block_on(async move {
        let b = distribution(&durl);
        referrers::referrers(&b, "promoted/web", &d1, None)
            .await
            .unwrap()
    });
    let mut found: Vec<(String, referrers::Source)> =
        list.iter().map(|r| (r.digest.clone(), r.source)).collect();
    found.sort();
    let mut want = vec![
        (shop.sbom1.clone(), referrers::Source::FallbackTag),
        (shop.sig.clone(), referrers::Source::CosignTag),
    ];
    want.sort();
    assert_eq!(found, want);
    // T adds a tag to v2 (the manifest pushed again; the list reloads with it).
    h.select_tag("v2").await;
    h.press(vec![key('T')]).await;
    h.press(typing(0, "prod")).await;
    insta::assert_snapshot!("add_tag_100x24", h.screen());
    h.press(vec![code(KeyCode::Enter)]).await;
    let Overlay::AddTag(a) = &h.app.overlay else {
        panic!()
    };
    assert!(
        matches!(&a.state, CopyState::Done(t) if t.contains("prod")),
        "{:?}",
        a.state
    );
    h.press(vec![code(KeyCode::Enter)]).await;
    assert!(h.app.view().tags.names.iter().any(|t| t == "prod"));
    // The reload keeps the selection where the user was, so a `d` next acts on v2.
    assert_eq!(h.app.view().tags.selected(), Some("v2"));
    assert_eq!(skopeo_digest(&src, &format!("{REPO}:prod")), shop.v2.digest);
    // A bad tag is refused before any request.
    h.press(vec![key('T')]).await;
    h.press(typing(0, "-bad")).await;
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    let _ = shop.sbom2;
}

#[test]
fn cli_copy_with_referrers_to_an_htpasswd_registry_keeps_signature_and_sbom() {
    use support::bin::{regtui, write_config};
    let from = Registry::start(Options::default());
    let to = Registry::start(Options {
        auth: support::Auth::Htpasswd,
        ..Default::default()
    });
    let shop = signed_shop(&from.url);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.a]\nregistry = \"{}\"\n[profiles.b]\nregistry = \"{}\"\nusername = \"{}\"\npassword_env = \"PW\"\n",
            from.url,
            to.url,
            support::registry::USER
        ),
    );
    let pw = [("PW", support::registry::PASSWORD)];
    let copy = |referrers: bool, dst: &str| {
        let src = format!("{}/{REPO}:v1", from.host);
        let dst = format!("{}/{dst}", to.host);
        let mut args = vec!["-c", cfg.as_str(), "copy", &src, &dst, "--json"];
        if referrers {
            args.push("--referrers");
        }
        regtui(&args, &pw)
    };
    // Without --referrers: the image only.
    let r = copy(false, "plain/web:v1");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.json().get("referrers").is_none());
    let r = copy(true, "signed/web:v1");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(r.json()["referrers"], 2, "{}", r.json());
    let skopeo_raw = |reference: &str| -> Vec<u8> {
        let out = std::process::Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", "--creds"])
            .arg(format!(
                "{}:{}",
                support::registry::USER,
                support::registry::PASSWORD
            ))
            .arg(format!("docker://{}/{reference}", to.host))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    support::registry::require("/usr/bin/skopeo", "skopeo");
    let fb = referrers::fallback_tag(&shop.v1.digest);
    assert_eq!(sha256(&skopeo_raw("signed/web:v1")), shop.v1.digest);
    // cosign's tag under the same name, the same signature manifest.
    assert_eq!(
        sha256(&skopeo_raw(&format!("signed/web:{fb}.sig"))),
        shop.sig
    );
    // The fallback index lists the SBOM.
    let index: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("signed/web:{fb}"))).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        shop.sbom1.as_str(),
        "{index}"
    );
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/spdx+json"
    );
    assert_eq!(
        sha256(&skopeo_raw(&format!("signed/web@{}", shop.sbom1))),
        shop.sbom1
    );
    // Copied again: the index is not duplicated.
    let r = copy(true, "signed/web:v1");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let index: serde_json::Value =
        serde_json::from_slice(&skopeo_raw(&format!("signed/web:{fb}"))).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");
}

// ---------- hostile and failing ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_to_a_registry_that_is_down_ends_failed_in_the_dialog() {
    use regtui::app::overlay::{CopyState, Overlay};
    let src = Registry::start(Options::default());
    signed_shop(&src.url);
    // Nothing listens there.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let mut h = Harness::new(&[("src", &src.url), ("dead", &dead)], (100, 24)).await;
    h.open_repo(REPO).await;
    h.select_tag("v3").await;
    h.press(vec![key('c'), code(KeyCode::Right), code(KeyCode::Enter)])
        .await;
    let Overlay::CopyTo(c) = &h.app.overlay else {
        panic!("no copy dialog")
    };
    let CopyState::Failed(e) = &c.state else {
        panic!("{:?}", c.state)
    };
    assert!(e.starts_with("copy failed"), "{e}");
    assert!(h.screen().contains("copy failed"));
    h.press(vec![code(KeyCode::Enter)]).await;
    assert!(!h.app.overlay.is_open());
}

#[test]
fn a_fallback_tag_that_is_not_an_index_is_left_alone_when_a_referrer_goes() {
    use regtui::registry::Backend;
    use regtui::registry::ops::{self, Confirmed};
    let reg = Registry::start(Options::default());
    let url = reg.url.clone();
    block_on(async move {
        let p = Pusher::new(&url);
        let img = simple("odd-subject", "2024-01-01T00:00:00Z", &[100]);
        let other = simple("odd-other", "2024-01-01T00:00:00Z", &[100]);
        p.image(REPO, "v1", &img).await;
        // Someone pushed an ordinary image under the fallback tag name.
        p.image(REPO, &referrers::fallback_tag(&img.digest), &other)
            .await;
        let (_, sig) = artifact(
            &p,
            REPO,
            "application/vnd.dev.cosign.artifact.sig.v1+json",
            &img.digest,
        )
        .await;
        let b = distribution(&url);
        let tags = ops::delete_manifest_checked(&b, REPO, &sig, &Confirmed::default(), 4)
            .await
            .unwrap()
            .tags;
        assert!(tags.is_empty(), "{tags:?}");
        let b = distribution(&url);
        let still = b
            .head_manifest(REPO, &referrers::fallback_tag(&img.digest))
            .await
            .unwrap();
        assert_eq!(still.digest, other.digest, "the odd tag is untouched");
        // unlist on it directly says there was nothing to do.
        assert_eq!(
            ops::unlist_referrers(&b, REPO, &img.digest, &[sig], 4)
                .await
                .unwrap(),
            None
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_on_an_opened_referrer_deletes_it_and_its_fallback_index_entry() {
    use regtui::app::overlay::{DeleteChoice, Overlay};
    let reg = Registry::start(Options::default());
    let shop = signed_shop(&reg.url);
    let mut h = Harness::new(&[("local", &reg.url)], (100, 30)).await;
    h.open_repo(REPO).await;
    h.select_tag("v1").await;
    h.press(vec![code(KeyCode::Enter)]).await;
    let refs: Vec<String> = h
        .app
        .view()
        .manifest
        .data
        .as_ref()
        .unwrap()
        .referrers
        .iter()
        .map(|r| r.digest.clone())
        .collect();
    let pos = refs.iter().position(|d| *d == shop.sbom1).unwrap();
    let mut keys: Vec<Msg> = (0..pos).map(|_| key('j')).collect();
    keys.extend([code(KeyCode::Enter), key('d')]);
    h.press(keys).await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("no dialog")
    };
    assert_eq!(c.digest, shop.sbom1);
    assert_eq!(c.choices(), [DeleteChoice::Cancel, DeleteChoice::All]);
    assert!(
        h.screen().contains("Delete this manifest"),
        "{}",
        h.screen()
    );
    h.press(vec![code(KeyCode::Right), code(KeyCode::Enter)])
        .await;
    assert!(!h.app.overlay.is_open());
    // Back on v1, reloaded: only the signature is left; the fallback tag went with its last entry.
    let m = &h.app.view().manifest;
    let d = m.data.as_ref().unwrap();
    assert_eq!(d.digest, shop.v1.digest);
    assert_eq!(
        d.referrers
            .iter()
            .map(|r| r.digest.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&shop.sig)
    );
    let now = tags_of(&reg.url).await;
    assert!(
        !now.contains(&referrers::fallback_tag(&shop.v1.digest)),
        "{now:?}"
    );
    assert_eq!(h.app.view().tags.badges_of("v1").text(false), "✓");
    let _ = (shop.sbom2, shop.v2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t_and_copy_onto_an_existing_tag_say_which_tag_moves_and_ask_again() {
    use regtui::app::overlay::{CopyState, Overlay};
    let reg = Registry::start(Options::default());
    let shop = signed_shop(&reg.url);
    let mut h = Harness::new(&[("src", &reg.url)], (100, 24)).await;
    h.open_repo(REPO).await;
    // T on v2 with the tag v1 (which names v1): nothing pushed, the dialog says what moves.
    h.select_tag("v2").await;
    h.press(vec![key('T')]).await;
    h.press(typing(0, "v1")).await;
    h.press(vec![code(KeyCode::Enter)]).await;
    let Overlay::AddTag(a) = &h.app.overlay else {
        panic!("no add-tag dialog")
    };
    let want = format!(
        "this moves tag v1, now on {}, to this image",
        regtui::registry::digest::short(&shop.v1.digest)
    );
    assert!(
        matches!(&a.state, CopyState::ConfirmMove(t) if t.contains(&want)),
        "{:?}",
        a.state
    );
    assert!(h.screen().contains(&want), "{}", h.screen());
    assert_eq!(skopeo_digest(&reg, &format!("{REPO}:v1")), shop.v1.digest);
    // Enter again: it moves.
    h.press(vec![code(KeyCode::Enter)]).await;
    let Overlay::AddTag(a) = &h.app.overlay else {
        panic!()
    };
    assert!(matches!(&a.state, CopyState::Done(_)), "{:?}", a.state);
    assert_eq!(skopeo_digest(&reg, &format!("{REPO}:v1")), shop.v2.digest);
    h.press(vec![code(KeyCode::Enter)]).await;
    // The copy dialog: v2 onto v3 asks, and Esc leaves v3 where it was.
    let v3 = skopeo_digest(&reg, &format!("{REPO}:v3"));
    h.select_tag("v2").await;
    h.press(vec![key('c')]).await;
    let mut keys = vec![code(KeyCode::Tab), code(KeyCode::Tab)];
    keys.extend(typing(2, "v3"));
    h.press(keys).await;
    h.press(vec![code(KeyCode::Enter)]).await;
    let Overlay::CopyTo(c) = &h.app.overlay else {
        panic!("no copy dialog")
    };
    let want = format!(
        "this moves tag v3, now on {}, to this image",
        regtui::registry::digest::short(&v3)
    );
    assert!(
        matches!(&c.state, CopyState::ConfirmMove(t) if t.contains(&want)),
        "{:?}",
        c.state
    );
    h.press(vec![code(KeyCode::Esc)]).await;
    assert!(!h.app.overlay.is_open());
    assert_eq!(skopeo_digest(&reg, &format!("{REPO}:v3")), v3);
}
