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

/// Keys from the demo's first screen into the manifest pane: the third repository, its first
/// tag, then Enter on the second entry the manifest pane offers.
fn to_demo_platform() -> Vec<Msg> {
    vec![
        key('j'),
        key('j'),
        code(KeyCode::Enter),
        code(KeyCode::Enter),
        key('j'),
        code(KeyCode::Enter),
    ]
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
        page: vec!["old".into()].into(),
        done: true,
        fetching: vec![],
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
    assert_eq!(*h.app.view().tags.names, ["only"]);
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
    assert_eq!(*t.names, ["stable", "v1.2.0"]);
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
    // Hub records pulls too: PULLED beside PUSHED ("never" for a tag nobody pulled).
    assert!(
        s.contains("PUSHED") && s.contains("PULLED") && s.contains("never") && s.contains("8mo"),
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

// ---------- usability (issue 11) ----------

/// A tag row created `age` seconds before NOW.
fn dated_row(tag: &str, age: i64, i: u64) -> regtui::registry::model::TagRow {
    let created = regtui::fmt::utc_minute(NOW - age).replace(' ', "T") + ":00Z";
    regtui::registry::model::TagRow {
        locked: None,
        pulled: None,
        tag: tag.to_string(),
        digest: format!("sha256:{i:064x}"),
        media_type: regtui::registry::model::OCI_MANIFEST.into(),
        size: 1_000 + i,
        created: Some(created),
        pushed: None,
        platforms: vec![],
        blobs: vec![],
    }
}

/// An app on one profile `p` (no client task) with repository `r/a` open and its `names`
/// listed; returns the app and the first details request.
fn synthetic(names: &[String], size: (u16, u16)) -> (App, ReqId, Vec<String>) {
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, size, NOW);
    let Effect::Send(Command::ListRepos { req, .. }) = app.start().remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Repos {
        req,
        page: vec!["r/a".into(), "r/b".into()],
        done: true,
    }));
    let Effect::Send(Command::ListTags { req, .. }) = app.update(code(KeyCode::Enter)).remove(0)
    else {
        panic!()
    };
    let fx = app.update(Msg::Client(Event::Tags {
        req,
        page: names.to_vec().into(),
        done: true,
        fetching: vec![],
    }));
    let Some(Effect::Send(Command::TagDetails { req, tags, .. })) = fx.into_iter().next() else {
        panic!("no details request")
    };
    (app, req, tags)
}

fn detail(app: &mut App, req: ReqId, row: regtui::registry::model::TagRow) -> Vec<Effect> {
    app.update(Msg::Client(Event::Detail {
        req,
        tag: row.tag.clone(),
        result: Ok(Box::new(row)),
    }))
}

fn render(app: &App) -> String {
    let (w, h) = app.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| regtui::ui::render(app, f)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

#[tokio::test]
async fn the_cursor_starts_on_the_top_row_and_stays_steady_while_rows_reorder() {
    // Alphabetically first is the oldest: newest first, it ends at the bottom.
    let names: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
    let (mut app, req, _) = synthetic(&names, (80, 24));
    let h = 24 - 5;
    // Details arrive in a scrambled order; the top row stays selected whatever lands there.
    let order: Vec<usize> = (0..40).map(|i| (i * 17) % 40).collect();
    for (n, i) in order[..20].iter().enumerate() {
        detail(
            &mut app,
            req,
            dated_row(&names[*i], *i as i64 * 3600, *i as u64),
        );
        let t = &app.view().tags;
        assert_eq!(t.nav.selected, 0, "after {n} details");
        assert_eq!(t.selected(), Some(t.names[t.view[0]].as_str()));
    }
    // The user moves: from then on the selected tag stays on its screen row as rows reorder.
    app.update(key('j'));
    app.update(key('j'));
    let chosen = app.view().tags.selected().unwrap().to_string();
    let row = app.view().tags.nav.selected - app.view().tags.nav.offset;
    assert_eq!(row, 2);
    for i in &order[20..] {
        detail(
            &mut app,
            req,
            dated_row(&names[*i], *i as i64 * 3600, *i as u64),
        );
        let t = &app.view().tags;
        assert_eq!(t.selected(), Some(chosen.as_str()), "follows its tag");
        let pos = t.nav.selected;
        if pos >= 2 && pos + (h - 2) < t.view.len() {
            assert_eq!(pos - t.nav.offset, 2, "on the same screen row");
        }
        t.check_invariants(h).unwrap();
    }
    // The newest (t00) is on top; `d` and Enter would act on what is highlighted.
    let t = &app.view().tags;
    assert_eq!(t.names[t.view[0]], "t00");
    // r reopens with the top row selected again.
    app.update(key('r'));
    assert!(app.view().tags.pinned);
}

#[tokio::test]
async fn at_80x24_a_20_character_tag_and_every_size_unit_show_whole() {
    let names: Vec<String> = vec![
        "nightly-2024-06-01-a".into(),
        "release-candidate-20".into(),
        "v1".into(),
    ];
    let (mut app, req, _) = synthetic(&names, (80, 24));
    for (i, n) in names.iter().enumerate() {
        let mut row = dated_row(n, (i as i64 + 1) * 86_400 * 40, i as u64);
        row.size = 1_046_374 + i as u64;
        detail(&mut app, req, row);
    }
    let s = render(&app);
    for n in &names {
        assert!(s.contains(n.as_str()), "{n} cut:\n{s}");
    }
    assert_eq!(s.matches("1021.85 KiB").count(), 3, "{s}");
    assert!(!s.contains("Tags ·  ") && !s.contains("…"), "{s}");
    // Narrower still, the name is the last thing cut, with an ellipsis.
    app.update(Msg::Resize(40, 24));
    let s = render(&app);
    assert!(s.contains("1021.85 KiB") && s.contains('…'), "{s}");
}

#[tokio::test]
async fn a_filter_starts_fresh_and_its_matches_load_first() {
    let names: Vec<String> = (0..1000).map(|i| format!("build-{i:04}")).collect();
    let (mut app, _req, first) = synthetic(&names, (80, 24));
    assert_eq!(first.len(), 1000);
    assert_eq!(first[0], "build-0000", "rows in view first");
    let mut fx = Vec::new();
    for m in [key('/'), key('0'), key('9'), key('9')] {
        fx.extend(app.update(m));
    }
    // The last request asks for the matches first.
    let Some(Effect::Send(Command::TagDetails { tags, .. })) = fx.into_iter().last() else {
        panic!("no new details request for the filter")
    };
    let t = &app.view().tags;
    let shown: Vec<String> = t.view.iter().map(|i| t.names[*i].clone()).collect();
    assert!(shown.len() < 1000);
    assert_eq!(&tags[..shown.len().min(10)], &shown[..shown.len().min(10)]);
    assert_eq!(tags.len(), 1000, "the rest still loads, after the matches");
    app.update(code(KeyCode::Enter));
    assert_eq!(app.view().tags.filter, "099");
    // `/` again starts empty (no "099huge"); Backspace edits.
    app.update(key('/'));
    assert_eq!(app.input, regtui::app::Input::Filter(String::new()));
    assert_eq!(app.view().tags.view.len(), 1000);
    app.update(key('1'));
    app.update(key('2'));
    app.update(code(KeyCode::Backspace));
    assert_eq!(app.view().tags.filter, "1");
}

#[tokio::test]
async fn errors_clear_when_the_state_they_describe_ends() {
    let names: Vec<String> = vec!["v1".into()];
    let (mut app, _, _) = synthetic(&names, (80, 24));
    // The tags of another repository fail: shown until another repository opens.
    app.update(code(KeyCode::Esc));
    app.update(key('j'));
    let Effect::Send(Command::ListTags { req, .. }) = app.update(code(KeyCode::Enter)).remove(0)
    else {
        panic!()
    };
    app.update(Msg::Client(Event::Failed {
        req,
        error: regtui::registry::Error::NotFound {
            what: "r/b".into(),
            errors: vec![regtui::registry::error::RegistryError {
                code: "NAME_UNKNOWN".into(),
                message: String::new(),
            }],
        },
    }));
    assert!(app.error().unwrap().contains("repository not found"));
    assert!(render(&app).contains("repository not found"));
    app.update(code(KeyCode::Esc));
    app.update(key('k'));
    app.update(code(KeyCode::Enter));
    assert_eq!(app.error(), None, "another repository opened");
    // A refused connection, then a reload that works.
    app.update(code(KeyCode::Esc));
    let Effect::Send(Command::ListRepos { req, .. }) = app.update(key('r')).remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Failed {
        req,
        error: regtui::registry::Error::ConnectionRefused {
            registry: "http://r".into(),
        },
    }));
    assert!(app.error().unwrap().contains("connection refused"));
    let Effect::Send(Command::ListRepos { req, .. }) = app.update(key('r')).remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Repos {
        req,
        page: vec!["r/a".into()],
        done: true,
    }));
    assert_eq!(app.error(), None);
    assert!(!render(&app).contains("connection refused"));
    // Everything went to the history, newest first on `m`.
    app.update(key('m'));
    let s = render(&app);
    let refused = s.find("connection refused").unwrap();
    let not_found = s.find("repository not found").unwrap();
    assert!(refused < not_found, "{s}");
}

#[tokio::test]
async fn an_unset_password_env_says_not_connected() {
    let mut profile = Profile::ad_hoc("http://127.0.0.1:9").unwrap();
    profile.username = Some("admin".into());
    profile.password_env = Some("REGTUI_TEST_SURELY_UNSET_VAR".into());
    let spec = ProfileSpec::registry("lab", profile, std::path::Path::new("."));
    let mut h = Harness::new(vec![spec], &["http://lab.test"], (80, 24));
    h.settle().await;
    let s = h.screen();
    assert!(
        s.contains("not connected") && !s.contains("connecting…"),
        "{s}"
    );
    assert!(s.contains("REGTUI_TEST_SURELY_UNSET_VAR"), "{s}");
    // The login dialog names the configured user.
    h.press(vec![key('L')]).await;
    let Overlay::Login(l) = &h.app.overlay else {
        panic!("{:?}", h.app.overlay)
    };
    assert_eq!(l.username.lines().join(""), "admin");
}

#[tokio::test]
async fn the_login_dialog_moves_on_says_what_is_missing_and_shows_one_cursor() {
    use regtui::app::overlay::LoginField;
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
    app.start();
    app.update(key('L'));
    let field = |app: &App| match &app.overlay {
        Overlay::Login(l) => (l.field, l.error.clone()),
        o => panic!("{o:?}"),
    };
    // Enter on an empty username says so.
    assert!(app.update(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        field(&app),
        (LoginField::Username, Some("enter a username".into()))
    );
    for c in "bob".chars() {
        app.update(key(c));
    }
    // Enter in the username goes on to the password (nothing sent).
    assert!(app.update(code(KeyCode::Enter)).is_empty());
    assert_eq!(field(&app).0, LoginField::Password);
    let s = render(&app);
    assert_eq!(s.matches('▸').count(), 1, "one focused field:\n{s}");
    assert!(s.contains("▸ password"), "{s}");
    // An empty password says so; then Enter logs in.
    app.update(key('j'));
    app.update(code(KeyCode::Backspace));
    assert!(app.update(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        field(&app).1.as_deref(),
        Some("enter the password (or token)")
    );
    app.update(key('s'));
    let fx = app.update(code(KeyCode::Enter));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::Login { username, .. })] if username == "bob"),
        "{fx:?}"
    );
    // A pull-only account: the catalog refused although the login worked.
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
    let Effect::Send(Command::ListRepos { req, .. }) = app.start().remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Failed {
        req,
        error: regtui::registry::Error::Unauthorized {
            registry: "http://r".into(),
            had_credentials: true,
            errors: vec![],
        },
    }));
    let e = app.error().unwrap();
    assert!(
        e.contains("registry:catalog:*") && e.contains(":repo NAME"),
        "{e}"
    );
}

#[tokio::test]
async fn the_mouse_focuses_selects_opens_and_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let click = |x, y, at| Msg::Mouse(mouse(MouseEventKind::Down(MouseButton::Left), x, y), at);
    let names: Vec<String> = (0..60).map(|i| format!("t{i:02}")).collect();
    let (mut app, req, _) = synthetic(&names, (120, 30));
    for (i, n) in names.iter().enumerate() {
        detail(&mut app, req, dated_row(n, i as i64 * 60, i as u64));
    }
    // Back to the repositories; a click on the second row selects it.
    app.update(code(KeyCode::Esc));
    let areas = app.areas();
    let repos = areas.get(regtui::app::layout::Pane::Repos).unwrap();
    assert!(app.update(click(repos.x + 2, repos.y + 2, 1000)).is_empty());
    assert_eq!(app.view().repos.selected(), Some("r/b"));
    // A double click opens it.
    let fx = app.update(click(repos.x + 2, repos.y + 2, 1200));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::ListTags { repo, .. })] if repo == "r/b"),
        "{fx:?}"
    );
    // Clicks far apart in time are two single clicks.
    app.update(click(repos.x + 2, repos.y + 1, 5000));
    let fx = app.update(click(repos.x + 2, repos.y + 1, 9000));
    assert!(fx.is_empty());
    // Back on r/a's tags: a click on the fourth row of the table selects it and focuses tags.
    let fx = app.update(click(repos.x + 2, repos.y + 1, 20_000));
    let fx2 = app.update(click(repos.x + 2, repos.y + 1, 20_100));
    assert!(fx.is_empty() && !fx2.is_empty());
    let Effect::Send(Command::ListTags { req, .. }) = &fx2[0] else {
        panic!()
    };
    let fx = app.update(Msg::Client(Event::Tags {
        req: *req,
        page: names.clone().into(),
        done: true,
        fetching: vec![],
    }));
    let Some(Effect::Send(Command::TagDetails { req, .. })) = fx.into_iter().next() else {
        panic!()
    };
    for (i, n) in names.iter().enumerate() {
        detail(&mut app, req, dated_row(n, i as i64 * 60, i as u64));
    }
    let tags = app.areas().get(regtui::app::layout::Pane::Tags).unwrap();
    app.update(click(tags.x + 3, tags.y + 2 + 3, 30_000));
    assert_eq!(app.focus(), regtui::app::layout::Pane::Tags);
    assert_eq!(app.view().tags.nav.selected, 3);
    // The wheel moves the selection of the pane under the pointer by three rows.
    app.update(Msg::Mouse(
        mouse(MouseEventKind::ScrollDown, tags.x + 3, tags.y + 5),
        31_000,
    ));
    assert_eq!(app.view().tags.nav.selected, 6);
    // A double click on a tag opens its manifest.
    let fx = app.update(click(tags.x + 3, tags.y + 2 + 6, 32_000));
    assert!(fx.is_empty());
    let fx = app.update(click(tags.x + 3, tags.y + 2 + 6, 32_200));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::Inspect { reference, .. })] if reference == "t06"),
        "{fx:?}"
    );
    // With a dialog open, clicks do nothing and the wheel scrolls it.
    app.update(key('?'));
    assert!(app.update(click(1, 1, 40_000)).is_empty());
    app.update(Msg::Mouse(mouse(MouseEventKind::ScrollDown, 1, 1), 40_100));
    assert!(matches!(&app.overlay, Overlay::Help(h) if h.scroll <= 1));
}

#[tokio::test]
async fn colon_completes_profiles_and_repositories_and_the_picker_takes_g() {
    let entries = vec![
        ProfileEntry::new("lab", "r1"),
        ProfileEntry::new("local", "r2"),
        ProfileEntry::new("demo", "r3"),
    ];
    let mut app = App::new(entries, 0, (80, 24), NOW);
    let Effect::Send(Command::ListRepos { req, .. }) = app.start().remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Repos {
        req,
        page: vec![
            "team/app/api".into(),
            "team/app/web".into(),
            "tools/x".into(),
        ],
        done: true,
    }));
    let line = |app: &App| match &app.input {
        regtui::app::Input::Command(s) => s.clone(),
        i => panic!("{i:?}"),
    };
    for m in [key(':'), key('p'), code(KeyCode::Tab)] {
        app.update(m);
    }
    assert_eq!(line(&app), "profile ");
    app.update(key('l'));
    app.update(code(KeyCode::Tab));
    assert_eq!(line(&app), "profile l");
    assert!(
        app.toast().unwrap().contains("lab, local"),
        "{:?}",
        app.toast()
    );
    app.update(code(KeyCode::Tab));
    assert_eq!(line(&app), "profile lab");
    app.update(code(KeyCode::Tab));
    assert_eq!(line(&app), "profile local");
    app.update(code(KeyCode::Esc));
    for m in [
        key(':'),
        key('r'),
        key(' '),
        key('t'),
        key('e'),
        code(KeyCode::Tab),
    ] {
        app.update(m);
    }
    assert_eq!(line(&app), "r team/app/");
    app.update(key('w'));
    app.update(code(KeyCode::Tab));
    assert_eq!(line(&app), "r team/app/web ");
    let fx = app.update(code(KeyCode::Enter));
    assert!(
        matches!(&fx[..], [Effect::Send(Command::ListTags { repo, .. })] if repo == "team/app/web"),
        "{fx:?}"
    );
    // g and G in the profile picker.
    app.update(key('P'));
    app.update(key('G'));
    assert!(matches!(&app.overlay, Overlay::Profiles(p) if p.selected == 2));
    app.update(key('g'));
    assert!(matches!(&app.overlay, Overlay::Profiles(p) if p.selected == 0));
}

#[tokio::test]
async fn protected_tags_are_marked_and_d_says_why_it_refuses() {
    let reg = standard(Options::default());
    let mut h = Harness::new(
        vec![protected_spec("local", &reg.url, &["stable"])],
        &["http://registry.test"],
        (80, 24),
    );
    h.settle().await;
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    assert!(h.screen().contains("⊘stable"), "{}", h.screen());
    h.select_tag("stable").await;
    let fx = h.app.update(key('d'));
    assert!(fx.is_empty(), "{fx:?}");
    let toast = h.app.toast().unwrap();
    assert!(
        toast.contains("stable is protected") && toast.contains("protected_tags"),
        "{toast}"
    );
    // Tags on one digest count once in the marked size.
    h.select_tag("latest").await;
    h.press(vec![key(' ')]).await;
    let one = h.app.view().tags.marked_size();
    h.select_tag("v1.2.0").await;
    h.press(vec![key(' ')]).await;
    assert_eq!(
        h.app.view().tags.marked_size(),
        one,
        "latest and v1.2.0 share a digest"
    );
    assert_eq!(one, find("team/app/api", "latest").size());
}

#[tokio::test]
async fn marked_sizes_count_each_blob_once() {
    let mut h = demo((160, 48)).await;
    // team/app/api: tags share digests, and the platforms of an index their layers.
    h.press(vec![key('j'), key('j'), code(KeyCode::Enter), key('*')])
        .await;
    let t = &h.app.view().tags;
    assert_eq!(t.marked.len(), 6);
    let per_tag: u64 = t.marked.iter().map(|n| t.row(n).unwrap().size).sum();
    let mut blobs = std::collections::HashMap::new();
    for n in &t.marked {
        for (d, s) in &t.row(n).unwrap().blobs {
            blobs.insert(d.clone(), *s);
        }
    }
    let once: u64 = blobs.values().sum();
    assert_eq!(t.marked_size(), once);
    assert!(once < per_tag, "{once} < {per_tag}");
    assert!(h.screen().contains(&regtui::fmt::human_size(once)));
}

#[tokio::test]
async fn dates_switch_between_relative_and_absolute() {
    let mut h = demo((80, 24)).await;
    h.press(vec![key('j'), key('j'), code(KeyCode::Enter)])
        .await;
    assert!(h.screen().contains("2024-09-18 (3mo)"), "{}", h.screen());
    h.press(vec![key('t')]).await;
    assert_eq!(h.app.dates, regtui::fmt::Dates::Absolute);
    insta::assert_snapshot!("tags_absolute_80x24", h.screen());
    h.app.update(Msg::Resize(160, 48));
    insta::assert_snapshot!("tags_absolute_160x48", h.screen());
    h.press(vec![key('t')]).await;
    assert_eq!(h.app.dates, regtui::fmt::Dates::Relative);
}

#[tokio::test]
async fn the_layers_pane_stops_at_its_last_line() {
    let mut h = demo((80, 14)).await;
    let mut keys = to_demo_platform();
    keys.push(code(KeyCode::Tab));
    h.press(keys).await;
    for _ in 0..10 {
        h.app.update(code(KeyCode::PageDown));
    }
    let s = h.screen();
    // The last layer's command is on screen and nothing below it is blank space scrolled in.
    assert!(s.contains("673.83 KiB"), "{s}");
    let scroll = h.app.view().manifest.layers_scroll;
    h.app.update(code(KeyCode::Up));
    assert_eq!(
        h.app.view().manifest.layers_scroll,
        scroll - 1,
        "one key back up"
    );
}

#[tokio::test]
async fn welcome_and_warnings_reach_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let sel = regtui::session::Selection {
        config: Some(dir.path().join("none.toml")),
        ..Default::default()
    };
    // A named config file that does not exist is an error; no file at all is the first run.
    assert!(regtui::session::start(&sel).is_err());
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    let start = regtui::session::start(&regtui::session::Selection {
        config: Some(cfg),
        ..Default::default()
    })
    .unwrap();
    let text = start.first_run.expect("the first run says so");
    assert!(text.contains("regtui --registry") && text.contains("example-config"));
    assert_eq!(start.specs[start.current].name, "demo");
    let mut app = App::new(vec![ProfileEntry::new("demo", "demo")], 0, (80, 24), NOW);
    app.notice("Welcome to regtui", text);
    app.warn("plain-text password in /x/config.toml, which other users can read");
    let s = render(&app);
    assert!(
        s.contains("Welcome to regtui") && s.contains("example-config"),
        "{s}"
    );
    app.update(code(KeyCode::Enter));
    let s = render(&app);
    assert!(s.contains("plain-text password"), "{s}");
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

    /// Where `text` first shows on screen, as 1-based (column, row) for mouse sequences.
    fn locate(&self, text: &str) -> (usize, usize) {
        let s = self.screen();
        for (y, line) in s.lines().enumerate() {
            if let Some(i) = line.find(text) {
                return (line[..i].chars().count() + 1, y + 1);
            }
        }
        panic!("{text:?} not on screen:\n{s}");
    }

    /// Sends what a terminal sends for a mouse event in SGR mode (button 0: left, 65: wheel down).
    fn mouse(&self, button: u8, (x, y): (usize, usize)) {
        let press = format!("\u{1b}[<{button};{x};{y}M");
        assert!(
            self.tmux(&["send-keys", "-t", "e2e", "-l", &press])
                .status
                .success()
        );
        if button < 64 {
            let release = format!("\u{1b}[<{button};{x};{y}m");
            assert!(
                self.tmux(&["send-keys", "-t", "e2e", "-l", &release])
                    .status
                    .success()
            );
        }
    }

    /// Whether the program in the pane asked for mouse events.
    fn mouse_on(&self) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", "e2e", "#{mouse_any_flag}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// regtui with an empty home (no config file, no docker config) and no colours.
fn regtui_fresh(dir: &std::path::Path, args: &str) -> String {
    format!(
        "env HOME={d} XDG_CONFIG_HOME={d}/.config DOCKER_CONFIG={d}/docker REGTUI_CONFIG= NO_COLOR=1 {bin} {args}; echo EXIT:$?",
        d = dir.display(),
        bin = env!("CARGO_BIN_EXE_regtui"),
    )
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
        .find(|l| l.contains("regtui::tui: first frame after"))
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

#[test]
fn the_cursor_is_on_the_top_row_when_a_repository_opens_in_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(80, 24);
    t.type_line(&regtui_fresh(dir.path(), "--demo"));
    t.wait_for("ci/builds");
    // ci/builds, newest first: the alphabetically first build is at the bottom.
    t.keys(&["Enter"]);
    let s = t.wait_for("build-001");
    let top = s
        .lines()
        .skip_while(|l| !l.contains("TAG"))
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("{s}"))
        .to_string();
    assert_ne!(top, "build-001", "{s}");
    // Enter opens the highlighted top row.
    t.keys(&["Enter"]);
    t.wait_for(&format!("ci/builds › {top}"));
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
}

#[test]
fn the_mouse_selects_opens_and_scrolls_in_tmux_and_mouse_false_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(120, 30);
    t.type_line(&regtui_fresh(dir.path(), "--demo"));
    t.wait_for("tools/busybox");
    assert!(t.mouse_on(), "regtui asks for the mouse by default");
    // A double click on a repository opens it.
    let at = t.locate("team/app/api");
    t.mouse(0, at);
    t.mouse(0, at);
    let s = t.wait_for("Tags · team/app/api");
    assert!(s.contains("v1.0.0"), "{s}");
    // A click on a tag selects it; a double click opens its manifest.
    let at = t.locate("v1.1.0");
    t.mouse(0, at);
    t.mouse(0, at);
    t.wait_for("team/app/api › v1.1.0");
    // The wheel over the manifest scrolls it.
    let at = t.locate("\"schemaVersion\"");
    t.mouse(65, at);
    t.wait_for("line 4/");
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
    // mouse = false leaves the mouse to the terminal (selection by mouse works); mouse input
    // that still arrives is ignored.
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "mouse = false\n").unwrap();
    t.type_line(&regtui_fresh(
        dir.path(),
        &format!("--demo -c {}", cfg.display()),
    ));
    t.wait_for("tools/busybox");
    assert!(!t.mouse_on(), "mouse = false");
    let at = t.locate("team/app/api");
    t.mouse(0, at);
    t.mouse(0, at);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!t.screen().contains("Tags · team/app/api"));
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
}

#[test]
fn the_first_run_says_why_it_shows_the_demo_and_config_warnings_show_in_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::start(100, 30);
    t.type_line(&regtui_fresh(dir.path(), ""));
    let s = t.wait_for("Welcome to regtui");
    assert!(
        s.contains("regtui --registry") && s.contains("example-config"),
        "{s}"
    );
    t.keys(&["Enter"]);
    t.wait_for("ci/builds");
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
    // A plain-text password in a file others can read: the TUI says so too.
    let reg = standard(Options::default());
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.lab]\nregistry = \"{}\"\nusername = \"u\"\npassword = \"p\"\n",
            reg.url
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&cfg).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&cfg, perms).unwrap();
    t.type_line(&regtui_fresh(dir.path(), &format!("-c {}", cfg.display())));
    t.wait_for("plain-text password");
    t.keys(&["m"]);
    t.wait_for("chmod 600");
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
}

#[test]
fn the_demo_runs_from_a_copied_binary_without_the_source_tree() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("regtui");
    std::fs::copy(env!("CARGO_BIN_EXE_regtui"), &bin).unwrap();
    let source = env!("CARGO_MANIFEST_DIR");
    // Nothing in the binary points at the source tree's demo files.
    let bytes = std::fs::read(&bin).unwrap();
    let needle = format!("{source}/assets/demo");
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
        "the binary names {needle}"
    );
    // Hide the source tree where the system allows it (a user and mount namespace).
    let hide = std::process::Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            &format!("mount -t tmpfs none {source} && test ! -e {source}/assets"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    let wrap = |cmd: &str| {
        if hide {
            format!(
                "unshare -rm sh -c 'mount -t tmpfs none {source} && cd {} && {cmd}'",
                dir.path().display()
            )
        } else {
            eprintln!(
                "note: cannot hide the source tree here (no user namespaces); running from a copy only"
            );
            format!("cd {} && {cmd}", dir.path().display())
        }
    };
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            &wrap(
                "env -u REGTUI_DEMO_DIR HOME=/nonexistent ./regtui --demo tags team/app/api --json",
            ),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tags: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(tags.contains(&"latest".to_string()), "{tags:?}");
    // The terminal UI too.
    let t = Tmux::start(80, 24);
    t.type_line(&format!(
        "{}; echo EXIT:$?",
        wrap("env -u REGTUI_DEMO_DIR HOME=/nonexistent NO_COLOR=1 ./regtui --demo")
    ));
    t.wait_for("tools/busybox");
    t.keys(&["j", "j", "Enter"]);
    t.wait_for("77.62 MiB");
    t.keys(&["q"]);
    t.wait_for("EXIT:0");
}

#[tokio::test]
async fn artifact_tags_are_hidden_until_a_shows_them() {
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (120, 30), NOW);
    let fx = app.start();
    let Effect::Send(Command::ListRepos { req, .. }) = &fx[0] else {
        panic!("{fx:?}")
    };
    app.update(Msg::Client(Event::Repos {
        req: *req,
        page: vec!["a/b".into()],
        done: true,
    }));
    let fx = app.update(code(KeyCode::Enter));
    let Effect::Send(Command::ListTags { req, .. }) = &fx[0] else {
        panic!("{fx:?}")
    };
    let sig = format!("sha256-{}.sig", "c".repeat(64));
    let fallback = format!("sha256-{}", "d".repeat(64));
    app.update(Msg::Client(Event::Tags {
        req: *req,
        page: vec!["v1".into(), sig.clone(), fallback.clone(), "v2".into()].into(),
        done: true,
        fetching: vec![],
    }));
    let shown = |app: &App| -> Vec<String> {
        let t = &app.view().tags;
        let mut v: Vec<String> = t.view.iter().map(|i| t.names[*i].clone()).collect();
        v.sort();
        v
    };
    assert_eq!(shown(&app), ["v1", "v2"]);
    assert_eq!(app.view().tags.hidden_artifacts(), 2);
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    term.draw(|f| regtui::ui::render(&app, f)).unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("2 artifact tags hidden (a)"), "{screen}");
    app.update(key('a'));
    assert_eq!(shown(&app).len(), 4);
    assert_eq!(app.view().tags.hidden_artifacts(), 0);
    app.update(key('a'));
    assert_eq!(shown(&app), ["v1", "v2"]);
}

#[tokio::test]
async fn the_manifest_pane_lists_what_refers_to_the_image() {
    use support::oci::{Blob, Pusher, sha256};
    let reg = standard(Options::default());
    let latest = find("team/app/api", "latest");
    // A cosign-style signature under the sha256-<hex>.sig tag.
    let p = Pusher::new(&reg.url);
    let empty = Blob::new("application/vnd.oci.empty.v1+json", b"{}".to_vec());
    let sig = Blob::new(
        "application/vnd.dev.cosign.simplesigning.v1+json",
        b"{\"critical\":{}}".to_vec(),
    );
    p.blob("team/app/api", &empty).await;
    p.blob("team/app/api", &sig).await;
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": empty.descriptor(),
        "layers": [sig.descriptor()],
    }))
    .unwrap();
    let tag = format!("{}.sig", latest.digest.replacen(':', "-", 1));
    p.manifest(
        "team/app/api",
        &tag,
        "application/vnd.oci.image.manifest.v1+json",
        &m,
    )
    .await;
    let mut h = local(&reg.url, (160, 48)).await;
    h.press(vec![key('j'), code(KeyCode::Enter)]).await;
    assert_eq!(h.app.view().tags.selected(), Some("latest"));
    assert_eq!(h.app.view().tags.hidden_artifacts(), 1);
    h.press(vec![code(KeyCode::Enter)]).await;
    let s = h.screen();
    assert!(
        s.contains(&format!(
            "refers signature (cosign) {}",
            &regtui::registry::digest::short(&sha256(&m))[..7]
        )),
        "{s}"
    );
}

// ---------- fitting text in the space it has ----------

/// The top border of the box whose title starts with `start`: from `┌ start` to its `┐`.
fn border_title(screen: &str, start: &str) -> String {
    let open = format!("┌ {start}");
    let line = screen
        .lines()
        .find(|l| l.contains(&open))
        .unwrap_or_else(|| panic!("no {open:?} in\n{screen}"));
    let rest = &line[line.find(&open).unwrap()..];
    let end = rest.find('┐').expect("the border closes") + '┐'.len_utf8();
    rest[..end].to_string()
}

#[tokio::test]
async fn a_cut_pane_title_ends_in_an_ellipsis_at_80x24() {
    let repo = "team/platform-services/payments-gateway-api";
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
    let Effect::Send(Command::ListRepos { req, .. }) = app.start().remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Repos {
        req,
        page: vec![repo.into()],
        done: true,
    }));
    let Effect::Send(Command::ListTags { req, .. }) = app.update(code(KeyCode::Enter)).remove(0)
    else {
        panic!()
    };
    app.update(Msg::Client(Event::Tags {
        req,
        page: vec!["v1".into(), "v2".into()].into(),
        done: true,
        fetching: vec![],
    }));
    let screen = render(&app);
    let title = border_title(&screen, "Tags · ");
    assert!(title.starts_with("┌ Tags · team/platform"), "{screen}");
    assert!(title.ends_with("…┐"), "cut without an ellipsis: {title}");
    // A title that fits stays whole, with no ellipsis.
    app.size = (160, 24);
    let screen = render(&app);
    let title = border_title(&screen, "Repositories");
    assert!(title.starts_with("┌ Repositories ─"), "{screen}");
    assert!(!title.contains('…'), "{title}");
}

#[tokio::test]
async fn the_demo_manifest_title_is_cut_with_an_ellipsis_at_80x24() {
    let mut h = demo((80, 24)).await;
    h.press(to_demo_platform()).await;
    let screen = h.screen();
    let title = border_title(&screen, "Manifest · ");
    assert!(title.starts_with("┌ Manifest · latest"), "{screen}");
    assert!(title.ends_with("…┐"), "cut without an ellipsis: {title}");
}

#[tokio::test]
async fn the_help_columns_keep_a_gap_at_80x24() {
    use regtui::app::keymap::{BINDINGS, keys_label};
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
    app.start();
    app.update(key('?'));
    let screen = render(&app);
    assert!(screen.contains("┌ Help"), "{screen}");
    let per_col = BINDINGS.len().div_ceil(2);
    for (left, right) in BINDINGS.iter().zip(&BINDINGS[per_col..]) {
        let line = screen
            .lines()
            .find(|l| l.contains(left.label) && l.contains(right.label))
            .unwrap_or_else(|| {
                panic!(
                    "{:?} and {:?} not on one row:\n{screen}",
                    left.label, right.label
                )
            });
        // From the end of the left text to the right column's keys: spaces only, two or more.
        let after = &line[line.find(left.label).unwrap() + left.label.len()..];
        let keys = keys_label(right);
        let gap = &after[..after.find(&keys).unwrap()];
        assert!(
            gap.len() >= 2 && gap.chars().all(|c| c == ' '),
            "{:?} runs into {keys:?}: {line}",
            left.label
        );
        // The right text does not touch the border.
        let tail = &after[after.find(right.label).unwrap() + right.label.len()..];
        assert!(
            tail.starts_with(' '),
            "{:?} touches the border: {line}",
            right.label
        );
    }
}

#[tokio::test]
async fn the_delete_choices_stay_on_one_line_when_the_terminal_is_wide() {
    use regtui::app::overlay::{ConfirmDelete, DeleteChoice};
    use regtui::registry::referrers::{Kind, Referrer, Source};
    let referrer = |n: u64, kind: Kind| Referrer {
        digest: format!("sha256:{n:064x}"),
        artifact_type: String::new(),
        media_type: regtui::registry::model::OCI_MANIFEST.into(),
        size: 600,
        annotations: Default::default(),
        source: Source::Api,
        kind,
        tag: None,
    };
    let dialog = ConfirmDelete {
        profile: "p".into(),
        repo: "team/app/api".into(),
        tag: "latest".into(),
        digest: format!("sha256:{:064x}", 7),
        size: 6_500,
        siblings: vec!["stable".into(), "v1.2.0".into()],
        checked: true,
        siblings_req: None,
        choice: DeleteChoice::Cancel,
        can_untag: true,
        can_delete_digest: true,
        limits: vec![],
        running: None,
        indexes: vec![],
        index_warned: false,
        notice: None,
        referrers: vec![
            referrer(
                1,
                Kind::Signature {
                    tool: "cosign".into(),
                },
            ),
            referrer(
                2,
                Kind::Sbom {
                    format: "SPDX".into(),
                },
            ),
        ],
    };
    let labels: Vec<String> = dialog.choices().iter().map(|c| dialog.label(*c)).collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (200, 50), NOW);
    app.start();
    app.overlay = Overlay::ConfirmDelete(dialog);
    let screen = render(&app);
    let line = screen
        .lines()
        .find(|l| l.contains("[ Cancel ]"))
        .unwrap_or_else(|| panic!("no buttons:\n{screen}"));
    for l in &labels {
        assert!(
            line.contains(l.as_str()),
            "{l:?} is not whole on the buttons' line:\n{screen}"
        );
    }
    assert!(screen.contains("←/→ choose"), "{screen}");
}

/// Opened cold, the first screen comes with the list (its head first): those rows are not
/// asked for again, the rest is asked for once they are in, and a delete that takes away the
/// last of them asks for the rest itself (its detail, which would have, is for a tag gone).
#[test]
fn rows_coming_with_the_list_are_not_asked_again_and_the_rest_follows() {
    let names: Vec<String> = (0..60).map(|i| format!("t{i:02}")).collect();
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (120, 20), NOW);
    let Effect::Send(Command::ListRepos { req, .. }) = app.start().remove(0) else {
        panic!()
    };
    app.update(Msg::Client(Event::Repos {
        req,
        page: vec!["r/a".into()],
        done: true,
    }));
    let Effect::Send(Command::ListTags { req, first, .. }) =
        app.update(code(KeyCode::Enter)).remove(0)
    else {
        panic!()
    };
    assert!((3..60).contains(&first), "{first}");
    let head = names[..first].to_vec();
    // The head: shown at once, marked as listing, nothing asked for.
    let fx = app.update(Msg::Client(Event::Tags {
        req,
        page: head.clone().into(),
        done: false,
        fetching: head.clone(),
    }));
    assert!(fx.is_empty(), "{fx:?}");
    let screen = render(&app);
    assert!(
        screen.contains("listing…") && screen.contains("t00"),
        "{screen}"
    );
    // Rows arrive before and after the whole list.
    for n in &head[..2] {
        assert!(detail(&mut app, req, dated_row(n, 60, 1)).is_empty());
    }
    let fx = app.update(Msg::Client(Event::Tags {
        req,
        page: names.clone().into(),
        done: true,
        fetching: vec![],
    }));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Send(Command::TagDetails { .. }))),
        "the rows in view are on their way: {fx:?}"
    );
    assert!(!render(&app).contains("listing…"));
    for n in &head[2..first - 1] {
        assert!(detail(&mut app, req, dated_row(n, 60, 1)).is_empty());
    }
    // The last one is deleted before its detail comes: the rest is asked for then.
    let last = head[first - 1].clone();
    let fx = app.update(Msg::Client(Event::Deleted {
        req: ReqId(9999),
        profile: "p".into(),
        repo: "r/a".into(),
        result: Ok(client_task::Deleted::Tag {
            tag: last.clone(),
            method: regtui::registry::model::TagDeleteMethod::OciTagDelete,
        }),
    }));
    let rest = fx
        .iter()
        .find_map(|e| match e {
            Effect::Send(Command::TagDetails { tags, .. }) => Some(tags.clone()),
            _ => None,
        })
        .expect("the rest asked for");
    let mut want: Vec<String> = names[first..].to_vec();
    let mut got = rest.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "neither the rows that came nor the tag deleted");
    assert!(detail(&mut app, req, dated_row(&last, 60, 1)).is_empty());
    assert!(!app.view().tags.has(&last));
}
