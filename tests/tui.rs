//! The terminal UI: state tests, render snapshots (80x24 and 160x48), and end-to-end runs in tmux
//! against the real registry.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regtui::app::overlay::Overlay;
use regtui::app::panes::{LoadState, SortKey};
use regtui::app::{App, Effect, Msg, ProfileEntry};
use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec, ReqId};
use regtui::config::Profile;
use support::{Options, Registry, find, standard};
use tokio::sync::mpsc;

/// 2025-01-01T00:00:00Z: relative dates in snapshots stay fixed.
const NOW: i64 = 1_735_689_600;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// An app wired to the real client task; `label` is what the status bar shows as the registry.
struct Harness {
    app: App,
    client: client_task::Client,
    rx: mpsc::Receiver<Event>,
    copied: Vec<String>,
}

fn demo_spec() -> ProfileSpec {
    ProfileSpec {
        registry: "demo".into(),
        concurrency: 4,
        ..ProfileSpec::demo()
    }
}

fn registry_spec(name: &str, url: &str) -> ProfileSpec {
    protected_spec(name, url, &[])
}

/// A registry profile with `protected_tags`.
fn protected_spec(name: &str, url: &str, protected: &[&str]) -> ProfileSpec {
    let mut profile = Profile::ad_hoc(url).unwrap();
    profile.protected_tags = protected.iter().map(|s| s.to_string()).collect();
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

impl Harness {
    fn new(specs: Vec<ProfileSpec>, labels: &[&str], size: (u16, u16)) -> Self {
        let entries = specs
            .iter()
            .zip(labels)
            .map(|(s, l)| ProfileEntry {
                registry: l.to_string(),
                ..ProfileEntry::from(s)
            })
            .collect();
        let (etx, rx) = mpsc::channel(1024);
        let client = client_task::spawn(specs, etx);
        let mut app = App::new(entries, 0, size, NOW);
        app.color = false;
        let mut h = Harness {
            app,
            client,
            rx,
            copied: vec![],
        };
        let fx = h.app.start();
        h.apply(fx);
        h
    }

    fn apply(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Send(c) => self.client.commands.try_send(c).unwrap(),
                Effect::Copy { text, .. } => self.copied.push(text),
                Effect::Quit => {}
            }
        }
    }

    /// Feeds client events until nothing is in flight and the queue stays empty.
    async fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
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

    /// Moves the tags pane's selection to `tag` with the keys a user would press.
    async fn select_tag(&mut self, tag: &str) {
        let t = &self.app.view().tags;
        let pos = t
            .view
            .iter()
            .position(|i| t.names[*i] == tag)
            .unwrap_or_else(|| panic!("{tag} not listed"));
        let mut keys = vec![key('g')];
        keys.extend((0..pos).map(|_| key('j')));
        self.press(keys).await;
        assert_eq!(self.app.view().tags.selected(), Some(tag));
    }

    /// Checks the tags pane's invariants for the current view.
    fn view_invariants(&self) {
        let t = &self.app.view().tags;
        t.check_invariants(t.nav.offset.max(1) + 200).unwrap();
    }

    fn buffer(&self) -> ratatui::buffer::Buffer {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| regtui::ui::render(&self.app, f)).unwrap();
        t.backend().buffer().clone()
    }

    fn screen(&self) -> String {
        let (w, h) = self.app.size;
        let buf = self.buffer();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }
}

/// A settled harness on one registry profile `local` at `url`.
async fn local(url: &str, size: (u16, u16)) -> Harness {
    let mut h = Harness::new(
        vec![registry_spec("local", url)],
        &["http://registry.test"],
        size,
    );
    h.settle().await;
    h
}

async fn demo(size: (u16, u16)) -> Harness {
    let mut h = Harness::new(vec![demo_spec()], &["demo"], size);
    h.settle().await;
    h
}

// ---------- state ----------

#[tokio::test]
async fn keys_produce_commands_and_stale_replies_are_dropped() {
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
    let fx = app.start();
    let repos_req = match &fx[..] {
        [Effect::Send(Command::ListRepos { req, profile })] if profile == "p" => *req,
        other => panic!("{other:?}"),
    };
    app.update(Msg::Client(Event::Repos {
        req: repos_req,
        page: vec!["b/x".into(), "a/y".into()],
        done: true,
    }));
    assert_eq!(app.view().repos.names, ["a/y", "b/x"]);
    // A stale reply (old request id) changes nothing.
    app.update(Msg::Client(Event::Repos {
        req: ReqId(999),
        page: vec!["evil".into()],
        done: true,
    }));
    assert_eq!(app.view().repos.names.len(), 2);
    let fx = app.update(key('j'));
    assert!(fx.is_empty());
    let fx = app.update(code(KeyCode::Enter));
    let tags_req = match &fx[..] {
        [Effect::Send(Command::ListTags { req, repo, .. })] if repo == "b/x" => *req,
        other => panic!("{other:?}"),
    };
    // Opening another repository makes the first one's reply stale.
    app.update(code(KeyCode::Esc));
    app.update(key('k'));
    app.update(code(KeyCode::Enter));
    app.update(Msg::Client(Event::Tags {
        req: tags_req,
        page: vec!["old".into()],
        done: true,
    }));
    assert!(app.view().tags.names.is_empty());
    assert_eq!(app.view().tags.repo.as_deref(), Some("a/y"));
    // q quits.
    let fx = app.update(key('q'));
    assert!(matches!(fx[..], [Effect::Quit]));
}

#[tokio::test]
async fn replies_reach_the_profile_that_asked_after_a_switch() {
    let entries = vec![ProfileEntry::new("a", "ra"), ProfileEntry::new("b", "rb")];
    let mut app = App::new(entries, 0, (80, 24), NOW);
    let fx = app.start();
    let Effect::Send(Command::ListRepos { req: req_a, .. }) = fx[0] else {
        panic!()
    };
    // Switch to b before a's catalog arrives.
    let fx: Vec<Effect> = [key(':'), key('p'), key(' '), key('b'), code(KeyCode::Enter)]
        .into_iter()
        .flat_map(|m| app.update(m))
        .collect();
    let Some(Effect::Send(Command::ListRepos {
        req: req_b,
        profile,
    })) = fx.into_iter().next()
    else {
        panic!()
    };
    assert_eq!(profile, "b");
    app.update(Msg::Client(Event::Repos {
        req: req_a,
        page: vec!["only/in/a".into()],
        done: true,
    }));
    app.update(Msg::Client(Event::Repos {
        req: req_b,
        page: vec!["only/in/b".into()],
        done: true,
    }));
    assert_eq!(app.view().repos.names, ["only/in/b"]);
    assert_eq!(app.views[0].repos.names, ["only/in/a"]);
    assert_eq!(app.views[0].repos.state, LoadState::Loaded);
}

#[tokio::test]
async fn delete_happens_only_after_confirm() {
    let reg = standard(Options::default());
    let mut h = local(&reg.url, (160, 48)).await;
    // repos: solo, team/app/api, …
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.names.len(), 5);
    assert_eq!(h.app.view().tags.selected(), Some("latest"));
    let fx = h.app.update(key('d'));
    // Only the sibling check goes out; no delete yet.
    assert!(
        matches!(&fx[..], [Effect::Send(Command::TagsOnDigest { .. })]),
        "{fx:?}"
    );
    h.apply(fx);
    h.settle().await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("no dialog")
    };
    assert_eq!(c.siblings, ["stable", "v1.2.0"]);
    assert!(c.checked);
    // Enter on the default (Cancel) deletes nothing.
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(matches!(h.app.overlay, Overlay::None));
    // Again, choose "remove this tag only".
    h.press(vec![key('d')]).await;
    h.app.update(code(KeyCode::Right));
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::DeleteTag { tag, .. })] if tag == "latest"),
        "{fx:?}"
    );
    // The row stays until the registry confirmed.
    assert!(h.app.view().tags.names.contains(&"latest".to_string()));
    h.apply(fx);
    h.settle().await;
    assert!(!h.app.view().tags.names.contains(&"latest".to_string()));
    assert!(h.app.toast().unwrap().contains("garbage collection"));
    let tags = reg.tags("team/app/api");
    assert_eq!(tags, ["stable", "v1.0.0", "v1.1.0", "v1.2.0"]);
}

#[tokio::test]
async fn deleting_the_only_tag_or_the_last_row_keeps_the_app_alive() {
    let reg = standard(Options::default());
    let mut h = local(&reg.url, (80, 24)).await;
    // repos: solo first; its only tag, removed alone (the placeholder way on distribution 2.x).
    h.press(vec![code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.names, ["only"]);
    h.press(vec![key('d')]).await;
    h.app.update(code(KeyCode::Right));
    let fx = h.app.update(code(KeyCode::Enter));
    h.apply(fx);
    h.settle().await;
    assert!(h.app.view().tags.names.is_empty(), "{:?}", h.app.error());
    assert_eq!(h.app.view().tags.selected(), None);
    h.screen();
    h.press(vec![key('j'), key('k'), key('G'), key('d'), key('r')])
        .await;
    h.screen();
    // The last row selected, then every tag marked and deleted.
    h.press(vec![code(KeyCode::Esc), key('j'), code(KeyCode::Enter)])
        .await;
    assert_eq!(h.app.view().tags.repo.as_deref(), Some("team/app/api"));
    h.press(vec![key('G'), key('*'), key('d')]).await;
    h.app.update(code(KeyCode::Right));
    let fx = h.app.update(code(KeyCode::Enter));
    h.apply(fx);
    h.settle().await;
    h.press(vec![code(KeyCode::Enter)]).await;
    assert!(h.app.view().tags.names.is_empty(), "{:?}", h.app.error());
    h.view_invariants();
    h.screen();
    assert!(reg.tags("team/app/api").is_empty());
}

#[tokio::test]
async fn a_tag_moved_after_loading_is_not_untagged_and_new_tags_ask_again() {
    let reg = standard(Options::default());
    let mut h = local(&reg.url, (160, 48)).await;
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.selected(), Some("latest"));
    h.press(vec![key('d')]).await;
    h.app.update(code(KeyCode::Right));
    // Someone moves `latest` to v1.0.0 while the dialog is open.
    let v100 = find("team/app/api", "v1.0.0");
    let pusher = support::oci::Pusher::new(&reg.url);
    pusher
        .manifest("team/app/api", "latest", &v100.media_type, &v100.manifest)
        .await;
    let fx = h.app.update(code(KeyCode::Enter));
    h.apply(fx);
    h.settle().await;
    let err = h.app.error().map(str::to_string).unwrap_or_default();
    assert!(err.contains("latest now points at"), "{err}");
    assert!(reg.tags("team/app/api").contains(&"latest".into()));
    // v1.2.0's manifest (stable, v1.2.0): "delete manifest and all 2 tags", but a tag lands first.
    h.press(vec![key('r')]).await;
    h.select_tag("stable").await;
    h.press(vec![key('d')]).await;
    h.app.update(code(KeyCode::Right));
    h.app.update(code(KeyCode::Right));
    let v120 = find("team/app/api", "v1.2.0");
    pusher
        .manifest("team/app/api", "hotfix", &v120.media_type, &v120.manifest)
        .await;
    let fx = h.app.update(code(KeyCode::Enter));
    h.apply(fx);
    h.settle().await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("the dialog asks again: {:?}", h.app.error())
    };
    assert!(
        c.notice.as_deref().unwrap().contains("hotfix"),
        "{:?}",
        c.notice
    );
    assert!(
        c.siblings.contains(&"hotfix".to_string()),
        "{:?}",
        c.siblings
    );
    assert!(h.screen().contains("confirm again"));
    assert!(reg.tags("team/app/api").contains(&"hotfix".into()));
    // Confirmed again with the new tag shown: all three go.
    h.app.update(code(KeyCode::Right));
    h.app.update(code(KeyCode::Right));
    let fx = h.app.update(code(KeyCode::Enter));
    h.apply(fx);
    h.settle().await;
    assert_eq!(reg.tags("team/app/api"), ["latest", "v1.0.0", "v1.1.0"]);
}

#[tokio::test]
async fn deleting_a_platform_of_a_tagged_index_asks_a_second_time_naming_it() {
    let reg = standard(Options::default());
    // A tag on the amd64 platform of tools/multi:1.0.
    let idx = find("tools/multi", "1.0");
    let amd = idx.children[0].clone();
    support::oci::Pusher::new(&reg.url)
        .manifest("tools/multi", "amd", &amd.media_type, &amd.manifest)
        .await;
    let mut h = local(&reg.url, (160, 48)).await;
    // repos: solo, team/app/api, team/app/web, tools/multi
    h.press(vec![key('G'), code(KeyCode::Enter)]).await;
    h.select_tag("amd").await;
    h.press(vec![key('d')]).await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("no dialog")
    };
    assert_eq!(c.indexes.len(), 1, "{:?}", c.indexes);
    assert_eq!(c.indexes[0].0, "1.0");
    h.app.update(code(KeyCode::Right));
    h.app.update(code(KeyCode::Right));
    // The first Enter only warns.
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(h.screen().contains("breaks 1.0 (index"), "{}", h.screen());
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::DeleteManifest { indexes, .. })] if indexes == &["1.0"]),
        "{fx:?}"
    );
    h.apply(fx);
    h.settle().await;
    assert_eq!(reg.tags("tools/multi"), ["1.0", "2.0"]);
}

#[tokio::test]
async fn filter_and_sort() {
    let mut h = demo((160, 48)).await;
    // ci/builds is first; open it.
    h.press(vec![code(KeyCode::Enter)]).await;
    let t = &h.app.view().tags;
    assert_eq!(t.names.len(), 30);
    assert_eq!(t.done(), 30);
    assert_eq!(t.sort, SortKey::Created);
    let created: Vec<i64> = t
        .view
        .iter()
        .map(|i| {
            regtui::registry::model::unix_seconds(
                t.row(&t.names[*i]).unwrap().created.as_deref().unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    h.press(vec![key('s')]).await;
    let t = &h.app.view().tags;
    assert_eq!(t.sort, SortKey::Name);
    assert_eq!(t.names[t.view[0]], "build-001");
    assert_eq!(t.names[t.view[29]], "build-030");
    h.press(vec![key('s')]).await;
    let t = &h.app.view().tags;
    let sizes: Vec<u64> = t
        .view
        .iter()
        .map(|i| t.row(&t.names[*i]).unwrap().size)
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest first");
    // Fuzzy filter.
    h.press(vec![
        key('/'),
        key('0'),
        key('2'),
        key('5'),
        code(KeyCode::Enter),
    ])
    .await;
    let t = &h.app.view().tags;
    assert_eq!(t.names[t.view[0]], "build-025");
    assert!(t.view.len() < 30);
    // Esc in the filter line clears it.
    h.press(vec![key('/'), code(KeyCode::Esc)]).await;
    assert_eq!(h.app.view().tags.view.len(), 30);
}

#[tokio::test]
async fn profiles_keep_their_state_and_copy_offers_references() {
    let reg = standard(Options::default());
    let mut h = Harness::new(
        vec![registry_spec("local", &reg.url), demo_spec()],
        &["http://registry.test", "demo"],
        (160, 48),
    );
    h.settle().await;
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    h.press(vec![key('P'), key('j'), code(KeyCode::Enter)])
        .await;
    assert_eq!(h.app.profile(), "demo");
    assert_eq!(h.app.view().repos.names.len(), 5);
    h.press(vec![
        key(':'),
        key('p'),
        key(' '),
        key('l'),
        key('o'),
        key('c'),
        key('a'),
        key('l'),
        code(KeyCode::Enter),
    ])
    .await;
    assert_eq!(h.app.profile(), "local");
    assert_eq!(
        h.app.view().tags.repo.as_deref(),
        Some("team/app/api"),
        "state kept"
    );
    h.press(vec![key('y')]).await;
    let Overlay::Copy(m) = &h.app.overlay else {
        panic!("no copy menu")
    };
    let d = find("team/app/api", "latest").digest;
    let host = reg.host.clone();
    assert_eq!(m.items[0].1, d);
    assert_eq!(m.items[1].1, format!("{host}/team/app/api@{d}"));
    assert_eq!(m.items[2].1, format!("{host}/team/app/api:latest"));
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    assert_eq!(h.copied, [format!("{host}/team/app/api@{d}")]);
}

#[tokio::test]
async fn anonymous_401_opens_the_login_dialog_and_login_works() {
    let reg = standard(Options {
        auth: support::Auth::Htpasswd,
        ..Default::default()
    });
    let mut h = Harness::new(
        vec![registry_spec("lab", &reg.url)],
        &["http://lab.test"],
        (80, 24),
    );
    h.settle().await;
    assert!(matches!(h.app.view().repos.state, LoadState::Failed(_)));
    let Overlay::Login(_) = &h.app.overlay else {
        panic!("no login dialog: {:?}", h.app.overlay)
    };
    let mut keys: Vec<Msg> = support::registry::USER.chars().map(key).collect();
    keys.push(code(KeyCode::Tab));
    keys.extend(support::registry::PASSWORD.chars().map(key));
    for k in keys {
        let fx = h.app.update(k);
        h.apply(fx);
    }
    assert!(
        !h.screen().contains(support::registry::PASSWORD),
        "password must be masked"
    );
    h.press(vec![code(KeyCode::Enter)]).await;
    assert!(
        matches!(h.app.overlay, Overlay::None),
        "{:?}",
        h.app.overlay
    );
    assert_eq!(h.app.view().repos.names.len(), 4);
    assert!(h.app.toast().unwrap().contains("logged in"));
}

#[tokio::test]
async fn sixteen_colours_at_most_and_none_with_no_color() {
    use ratatui::style::Color;
    let mut h = demo((160, 48)).await;
    h.press(vec![
        key('j'),
        key('j'),
        code(KeyCode::Enter),
        code(KeyCode::Enter),
    ])
    .await;
    h.app.color = true;
    let basic = |c: Color| !matches!(c, Color::Rgb(..) | Color::Indexed(_));
    let buf = h.buffer();
    assert!(buf.content.iter().all(|c| basic(c.fg) && basic(c.bg)));
    assert!(
        buf.content.iter().any(|c| c.fg != Color::Reset),
        "colours are used"
    );
    h.app.color = false;
    let buf = h.buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
}

#[tokio::test]
async fn registry_strings_are_sanitized_on_screen() {
    let reg = Registry::start(Options::default());
    let img = support::oci::image(&support::oci::ImageSpec {
        seed: "evil\u{1b}[2J\u{1b}]0;title\u{7}",
        labels: &[("title", "nice\u{1b}]52;c;cGF3bmVk\u{7}name")],
        ..Default::default()
    });
    support::oci::Pusher::new(&reg.url)
        .image("evil/app", "v1", &img)
        .await;
    // 80x24: the layers pane is the wide one once focused.
    let mut h = local(&reg.url, (80, 24)).await;
    h.press(vec![
        code(KeyCode::Enter),
        code(KeyCode::Enter),
        code(KeyCode::Tab),
    ])
    .await;
    let screen = h.screen();
    assert!(screen.contains("title=nicename"), "{screen}");
    assert!(screen.contains("RUN step-0 # evil"), "{screen}");
    let buf = h.buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| !c.symbol().chars().any(|ch| ch.is_control())),
        "a control character reached the screen"
    );
}

#[tokio::test]
async fn tiny_terminals_do_not_panic() {
    let mut h = demo((160, 48)).await;
    h.press(vec![
        key('j'),
        key('j'),
        code(KeyCode::Enter),
        code(KeyCode::Enter),
    ])
    .await;
    for (w, hh) in [(1, 1), (10, 3), (20, 5), (40, 8), (79, 23)] {
        h.app.update(Msg::Resize(w, hh));
        h.screen();
        for m in [
            key('?'),
            code(KeyCode::Esc),
            key('y'),
            code(KeyCode::Esc),
            key('P'),
            code(KeyCode::Esc),
            key('L'),
        ] {
            h.app.update(m);
            h.screen();
        }
        h.app.update(code(KeyCode::Esc));
    }
}

// ---------- snapshots ----------

async fn snap_demo(size: (u16, u16), suffix: &str) {
    let mut h = demo(size).await;
    insta::assert_snapshot!(format!("repos_{suffix}"), h.screen());
    // team/app/api: third repository.
    h.press(vec![key('j'), key('j'), code(KeyCode::Enter)])
        .await;
    insta::assert_snapshot!(format!("tags_{suffix}"), h.screen());
    // latest is a multi-arch index.
    h.press(vec![code(KeyCode::Enter)]).await;
    insta::assert_snapshot!(format!("manifest_index_{suffix}"), h.screen());
    // Open the arm64 platform.
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    insta::assert_snapshot!(format!("manifest_image_{suffix}"), h.screen());
    h.press(vec![code(KeyCode::Tab)]).await;
    insta::assert_snapshot!(format!("layers_{suffix}"), h.screen());
    h.press(vec![key('?')]).await;
    insta::assert_snapshot!(format!("help_{suffix}"), h.screen());
    h.press(vec![code(KeyCode::Esc), key('P')]).await;
    insta::assert_snapshot!(format!("profiles_{suffix}"), h.screen());
}

#[tokio::test]
async fn snapshots_demo_80x24() {
    snap_demo((80, 24), "80x24").await;
}

#[tokio::test]
async fn snapshots_demo_160x48() {
    snap_demo((160, 48), "160x48").await;
}

async fn snap_registry(size: (u16, u16), suffix: &str) {
    let reg = standard(Options::default());
    let mut h = Harness::new(
        vec![registry_spec("local", &reg.url)],
        &["http://registry.test"],
        size,
    );
    h.settle().await;
    h.press(vec![key('j'), code(KeyCode::Enter), key('d')])
        .await;
    insta::assert_snapshot!(format!("confirm_delete_{suffix}"), h.screen());
    h.press(vec![code(KeyCode::Esc), key('L')]).await;
    insta::assert_snapshot!(format!("login_{suffix}"), h.screen());

    let port = support::registry::free_port();
    let mut down = Harness::new(
        vec![registry_spec("down", &format!("http://127.0.0.1:{port}"))],
        &["http://down.test"],
        size,
    );
    down.settle().await;
    let screen = down.screen().replace(&port.to_string(), "PORT");
    insta::assert_snapshot!(format!("error_{suffix}"), screen);
}

#[tokio::test]
async fn snapshots_registry_80x24() {
    snap_registry((80, 24), "80x24").await;
}

#[tokio::test]
async fn snapshots_registry_160x48() {
    snap_registry((160, 48), "160x48").await;
}

// ---------- cleanup ----------

fn marked(h: &Harness) -> Vec<String> {
    h.app.view().tags.marked.iter().cloned().collect()
}

/// Marking by hand and by rules, the preview, Cancel, then a confirmed cleanup; snapshots of
/// the rules dialog and the preview.
async fn cleanup_flow(size: (u16, u16), suffix: &str) {
    let reg = standard(Options::default());
    let mut h = Harness::new(
        vec![protected_spec("local", &reg.url, &["stable"])],
        &["http://registry.test"],
        size,
    );
    h.settle().await;
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    let t = &h.app.view().tags;
    let shown: Vec<&str> = t.view.iter().map(|i| t.names[*i].as_str()).collect();
    assert_eq!(shown, ["latest", "stable", "v1.2.0", "v1.1.0", "v1.0.0"]);
    // Space marks and moves down; the protected tag refuses.
    h.press(vec![key(' '), key(' ')]).await;
    assert_eq!(marked(&h), ["latest"]);
    assert!(h.app.toast().unwrap().contains("protected"));
    // V marks the range from the anchor to the cursor, skipping protected tags.
    h.press(vec![key('j'), key('j'), key('V')]).await;
    assert_eq!(marked(&h), ["latest", "v1.1.0", "v1.2.0"]);
    h.press(vec![key('u')]).await;
    assert!(marked(&h).is_empty());
    h.press(vec![key('*')]).await;
    assert_eq!(marked(&h), ["latest", "v1.0.0", "v1.1.0", "v1.2.0"]);
    h.press(vec![key('u')]).await;

    // Rules: keep the newest 2 (by created date).
    h.press(vec![key('R'), key('2')]).await;
    let Overlay::Rules(d) = &h.app.overlay else {
        panic!("no rules dialog")
    };
    assert_eq!(d.would_mark, 2, "{d:?}");
    insta::assert_snapshot!(format!("rules_dialog_{suffix}"), h.screen());
    h.press((0..5).map(|_| code(KeyCode::Enter)).collect())
        .await;
    assert!(matches!(h.app.overlay, Overlay::None));
    assert_eq!(marked(&h), ["v1.0.0", "v1.1.0"]);
    // Add latest by hand: it shares its digest with stable and v1.2.0, so it is only untagged.
    h.press(vec![key('g'), key(' ')]).await;
    let fx = h.app.update(key('d'));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::PlanPrune { marked, .. })] if marked.len() == 3),
        "{fx:?}"
    );
    h.apply(fx);
    h.settle().await;
    let Overlay::Prune(d) = &h.app.overlay else {
        panic!("no preview")
    };
    let regtui::app::overlay::PruneStage::Ready(plan) = &d.stage else {
        panic!("{:?}", d.stage)
    };
    assert_eq!(plan.untag.len(), 1);
    assert_eq!(plan.untag[0].tag, "latest");
    assert_eq!(plan.delete.len(), 2);
    let own = |tag: &str| {
        let i = find("team/app/api", tag);
        i.manifest.len() as u64 + i.size()
    };
    assert_eq!(plan.bytes_freed, own("v1.0.0") + own("v1.1.0"));
    insta::assert_snapshot!(format!("prune_preview_{suffix}"), h.screen());
    // Enter on the default (Cancel) deletes nothing.
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(matches!(h.app.overlay, Overlay::None));
    // Again, and confirm.
    h.press(vec![key('d')]).await;
    h.app.update(code(KeyCode::Right));
    let fx = h.app.update(code(KeyCode::Enter));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::RunPrune { .. })]),
        "{fx:?}"
    );
    h.apply(fx);
    h.settle().await;
    let Overlay::Prune(d) = &h.app.overlay else {
        panic!("dialog closed early")
    };
    let regtui::app::overlay::PruneStage::Done { results, .. } = &d.stage else {
        panic!("{:?}", d.stage)
    };
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|o| o.ok()), "{results:?}");
    assert!(h.app.toast().unwrap().contains("garbage-collect"));
    let t = &h.app.view().tags;
    assert_eq!(t.names, ["stable", "v1.2.0"]);
    assert!(t.marked.is_empty());
    let tags = reg.tags("team/app/api");
    assert_eq!(tags, ["stable", "v1.2.0"]);
}

#[tokio::test]
async fn cleanup_marks_rules_preview_confirm_80x24() {
    cleanup_flow((80, 24), "80x24").await;
}

#[tokio::test]
async fn cleanup_marks_rules_preview_confirm_160x48() {
    cleanup_flow((160, 48), "160x48").await;
}

#[tokio::test]
async fn the_demo_cannot_clean_up() {
    let mut h = demo((80, 24)).await;
    h.press(vec![code(KeyCode::Enter), key(' '), key(' ')])
        .await;
    assert_eq!(marked(&h).len(), 2);
    let fx = h.app.update(key('d'));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(h.app.toast().unwrap().contains("cannot delete"));
}

// ---------- providers ----------

fn provider_spec(name: &str, toml: &str) -> ProfileSpec {
    let mut cfg = regtui::config::parse(toml, std::path::Path::new("/test/config.toml")).unwrap();
    let profile = cfg.profiles.remove(name).unwrap();
    ProfileSpec {
        name: name.into(),
        registry: name.into(),
        source: ProfileSource::Registry {
            profile: Box::new(profile),
            base_dir: PathBuf::from("."),
        },
        concurrency: 4,
    }
}

#[tokio::test]
async fn providers_offer_only_what_they_can_and_say_why() {
    let gh = support::github::scenario();
    let hub = support::hub::scenario();
    // Credentials through commands: no environment changes inside a threaded test.
    let specs = vec![
        provider_spec(
            "gh",
            &gh.profile_toml(
                "gh",
                &format!(
                    "password_command = \"echo {}\"",
                    support::github::READ_TOKEN
                ),
            ),
        ),
        provider_spec(
            "hub",
            &hub.profile_toml(
                "hub",
                &format!(
                    "username = \"{}\"\npassword_command = \"echo {}\"",
                    support::hub::USER,
                    support::hub::PAT
                ),
            ),
        ),
    ];
    let mut h = Harness::new(specs, &["ghcr.test", "hub.test"], (160, 48));
    h.settle().await;
    assert_eq!(
        h.app.view().repos.names,
        ["octo/app", "octo/tools/cli", "octo/web"]
    );
    h.press(vec![code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.selected(), Some("latest"));
    h.press(vec![key('d')]).await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("no dialog: {:?}", h.app.overlay)
    };
    // GitHub: no tag-only delete; the dialog says so and names the tags that go.
    assert_eq!(
        c.choices(),
        [
            regtui::app::overlay::DeleteChoice::Cancel,
            regtui::app::overlay::DeleteChoice::All
        ]
    );
    assert_eq!(c.siblings, ["v2"]);
    assert!(c.limits[0].contains("no tag-only delete"), "{:?}", c.limits);
    let s = h.screen();
    assert!(s.contains("GitHub has no tag-only delete"), "{s}");
    assert!(s.contains("Delete manifest and all 2 tags"), "{s}");

    h.press(vec![code(KeyCode::Esc)]).await;
    h.press(
        ":profile hub"
            .chars()
            .map(key)
            .chain([code(KeyCode::Enter)])
            .collect(),
    )
    .await;
    assert_eq!(
        h.app.view().repos.names,
        ["acme/app", "acme/db", "acme/tool"]
    );
    h.press(vec![code(KeyCode::Enter)]).await;
    let t = &h.app.view().tags;
    assert_eq!(t.row("v1").unwrap().size, 111_111, "size from the Hub API");
    let s = h.screen();
    // Wide enough for the day and the age.
    assert!(
        s.contains("PUSHED") && s.contains("2024-05-02 (8mo)"),
        "{s}"
    );
    h.press(vec![key('d')]).await;
    let Overlay::ConfirmDelete(c) = &h.app.overlay else {
        panic!("no dialog")
    };
    // Docker Hub: tag deletes only.
    assert_eq!(
        c.choices(),
        [
            regtui::app::overlay::DeleteChoice::Cancel,
            regtui::app::overlay::DeleteChoice::ThisTag
        ]
    );
    assert!(c.limits[0].contains("only once no tag points at it"));
    // Reading a manifest through v2 brings Hub's rate limit into the status bar.
    h.press(vec![code(KeyCode::Esc), code(KeyCode::Enter)])
        .await;
    assert!(
        h.screen().contains("pulls left 76/100 per 6 h"),
        "{}",
        h.screen()
    );
    // The GHCR profile kept its state.
    h.press(vec![key('P'), key('k'), code(KeyCode::Enter)])
        .await;
    assert_eq!(h.app.profile(), "gh");
    assert_eq!(h.app.view().tags.repo.as_deref(), Some("octo/app"));
}

// ---------- end to end in tmux ----------

struct Tmux {
    socket: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is needed for the end-to-end tests: apt-get install tmux")
    }

    /// A tmux server with one shell window of `w`×`h` and `set-clipboard on`.
    fn start(w: u16, h: u16) -> Tmux {
        let t = Tmux {
            socket: format!(
                "regtui-e2e-{}-{}",
                std::process::id(),
                support::registry::free_port()
            ),
        };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            "sh",
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t.tmux(&["set-option", "-g", "set-clipboard", "on"]);
        t
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    fn type_line(&self, line: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "e2e", "-l", line])
                .status
                .success()
        );
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout)
            .into_owned()
    }

    /// Waits until the screen shows `needle` and the frame is stable.
    fn wait_for(&self, needle: &str) -> String {
        let timeout = Duration::from_secs(
            std::env::var("REGTUI_E2E_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(20),
        );
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            let s = self.screen();
            if s.contains(needle) && s == last {
                return s;
            }
            last = s;
            std::thread::sleep(Duration::from_millis(80));
        }
        panic!("screen never showed {needle:?}; last frame:\n{last}");
    }

    fn alternate_on(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"])
                .stdout,
        )
        .trim()
        .to_string()
    }

    fn buffer(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["show-buffer"]).stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn regtui_cmd(dir: &std::path::Path, cfg: &str) -> String {
    format!(
        "env HOME={d} DOCKER_CONFIG={d}/docker NO_COLOR=1 {bin} -c {cfg} --log-file {d}/regtui.log; echo EXIT:$?",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_regtui"),
    )
}

/// The standard registry, regtui on it in tmux (120x40), with team/app/api opened.
fn regtui_on_team_app_api() -> (Registry, tempfile::TempDir, Tmux) {
    let reg: Registry = standard(Options::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, reg.profile_toml("")).unwrap();
    let t = Tmux::start(120, 40);
    t.type_line(&regtui_cmd(dir.path(), cfg.to_str().unwrap()));
    t.wait_for("team/app/api");
    t.keys(&["j", "Enter"]);
    (reg, dir, t)
}

#[test]
fn end_to_end_browse_copy_delete_quit_in_tmux() {
    let (reg, dir, t) = regtui_on_team_app_api();
    let img = find("team/app/api", "v1.2.0");
    let size = humansize::format_size(img.size(), humansize::BINARY);
    let s = t.wait_for(&size);
    assert!(
        s.contains("latest") && s.contains("stable") && s.contains("v1.0.0"),
        "{s}"
    );
    assert!(
        s.contains(&regtui::registry::digest::short(&img.digest).to_string()),
        "{s}"
    );
    // Manifest of latest.
    t.keys(&["Enter"]);
    let s = t.wait_for(&img.digest[..30]);
    // The media type, in the JSON (wrapped at its `/` when the pane is narrow).
    assert!(s.contains("vnd.oci.image.manifest.v1+json"), "{s}");
    // Copy the digest: the OSC 52 sequence reaches tmux, which puts it in its buffer.
    t.keys(&["y"]);
    t.wait_for("pull by digest");
    t.keys(&["Enter"]);
    t.wait_for("copied digest");
    assert_eq!(t.buffer(), img.digest);
    // Delete latest only; stable and v1.2.0 share its digest and must survive.
    // Esc and d apart: sent together they read as Alt-d.
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["d"]);
    t.wait_for("shares the digest with: stable, v1.2.0");
    t.keys(&["Right", "Enter"]);
    t.wait_for("removed tag latest");
    let tags = reg.tags("team/app/api");
    assert_eq!(tags, ["stable", "v1.0.0", "v1.1.0", "v1.2.0"]);
    // Quit restores the terminal.
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
    assert_eq!(t.alternate_on(), "0");
    let log = std::fs::read_to_string(dir.path().join("regtui.log")).unwrap();
    let first = log
        .lines()
        .find(|l| l.starts_with("first frame after"))
        .expect("first frame logged");
    eprintln!("e2e: {first}");
}

#[test]
fn end_to_end_mark_two_tags_and_delete_them_in_tmux() {
    let (reg, _dir, t) = regtui_on_team_app_api();
    let size = humansize::format_size(find("team/app/api", "v1.0.0").size(), humansize::BINARY);
    t.wait_for(&size);
    // Newest first: latest, stable, v1.2.0, v1.1.0, v1.0.0. Mark the two oldest.
    t.keys(&["j", "j", "j", "Space", "Space"]);
    t.wait_for("2 marked");
    t.keys(&["d"]);
    let s = t.wait_for("Delete 2 items");
    assert!(s.contains("2 manifests deleted"), "{s}");
    t.keys(&["Right", "Enter"]);
    t.wait_for("done: 2 of 2 succeeded");
    let tags = reg.tags("team/app/api");
    assert_eq!(tags, ["latest", "stable", "v1.2.0"]);
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
}

#[cfg(feature = "ecr")]
#[test]
fn ecr_and_local_profiles_switch_and_keep_their_state_in_tmux() {
    use support::moto::{AWS_ENV, Ecr};
    let ecr = Ecr::start(&Ecr::token());
    let a = find("team/app/api", "v1.0.0");
    let b = find("team/app/api", "v1.2.0");
    ecr.put("team/api", "v1", &a);
    ecr.put("team/api", "v2", &b);
    ecr.put("team/api", "latest", &b);
    let local = standard(Options::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "default_profile = \"ecr\"\n{}\n[profiles.local]\nregistry = \"{}\"\n",
            ecr.profile_toml("ecr", ""),
            local.url
        ),
    )
    .unwrap();
    let env: String = AWS_ENV.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let t = Tmux::start(120, 40);
    t.type_line(&format!(
        "env {env}{}",
        regtui_cmd(dir.path(), cfg.to_str().unwrap())
    ));
    t.wait_for("team/api");
    t.keys(&["Enter"]);
    let s = t.wait_for("latest");
    assert!(s.contains("v1") && s.contains("v2"), "{s}");
    // ECR can remove one tag: the delete dialog offers it.
    t.keys(&["d"]);
    t.wait_for("Remove this tag only");
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.type_line(":profile local");
    t.wait_for("team/app/api");
    t.type_line(":profile ecr");
    let s = t.wait_for("Tags · team/api");
    assert!(s.contains("latest") && s.contains("v2"), "state kept: {s}");
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let t = Tmux::start(80, 24);
        t.type_line(&regtui_cmd(dir.path(), cfg.to_str().unwrap()).replace(" -c ", " --demo -c "));
        t.wait_for("ci/builds");
        assert_eq!(t.alternate_on(), "1");
        let out = std::process::Command::new("pkill")
            .args([
                &format!("-{signal}"),
                "-f",
                &format!(
                    "{} --demo -c {}",
                    env!("CARGO_BIN_EXE_regtui"),
                    cfg.display()
                ),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "pkill found no regtui");
        t.wait_for(&format!("EXIT:{code}"));
        assert_eq!(t.alternate_on(), "0");
    }
}
