//! The TUI's handling of what a provider reports per tag (issue 15 "Everywhere"): a tag the
//! service locks shows ⊘ like a `protected_tags` one, cannot be marked, and `d` refuses it
//! before any request; PULLED shows where the service records pulls.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regtui::app::overlay::Overlay;
use regtui::app::{App, Effect, Msg, ProfileEntry};
use regtui::client_task::{Command, Event};
use regtui::registry::BackendInfo;
use regtui::registry::model::TagRow;

const NOW: i64 = 1_735_689_600;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn row(tag: &str, i: u64, pushed: &str) -> TagRow {
    TagRow {
        tag: tag.into(),
        digest: format!("sha256:{i:064x}"),
        media_type: regtui::registry::model::OCI_MANIFEST.into(),
        size: 1000 + i,
        created: None,
        pushed: Some(pushed.into()),
        platforms: vec![],
        blobs: vec![],
        locked: None,
        pulled: None,
    }
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

/// An app on a profile whose service records pulls, with `r/a` open: `locked` (locked by the
/// service, never pulled, the older) and `free` (pulled, the newer).
fn app() -> App {
    let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (140, 30), NOW);
    let Effect::Send(Command::ListRepos { req, .. }) = app.start().remove(0) else {
        panic!("no repository listing")
    };
    app.update(Msg::Client(Event::Connected {
        profile: "p".into(),
        info: Box::new(BackendInfo {
            pull_dates: true,
            capabilities: regtui::registry::Capabilities {
                list_repos: true,
                delete_digest: true,
                delete_tag: true,
            },
            ..Default::default()
        }),
    }));
    app.update(Msg::Client(Event::Repos {
        req,
        page: vec!["r/a".into()],
        done: true,
    }));
    let fx = app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let Some(Effect::Send(Command::ListTags { req, .. })) = fx.into_iter().next() else {
        panic!("no tag listing")
    };
    let fx = app.update(Msg::Client(Event::Tags {
        req,
        page: vec!["free".into(), "locked".into(), "twin".into()].into(),
        done: true,
        fetching: vec![],
    }));
    let Some(Effect::Send(Command::TagDetails { req, .. })) = fx.into_iter().next() else {
        panic!("no details request")
    };
    let mut locked = row("locked", 1, "2024-01-01T00:00:00Z");
    locked.locked = Some("tag locked has deleteEnabled: false".into());
    locked.pulled = Some(None);
    let mut free = row("free", 2, "2024-06-01T00:00:00Z");
    free.pulled = Some(Some("2024-12-30T00:00:00Z".into()));
    // On the locked tag's manifest.
    let twin = row("twin", 1, "2024-01-01T00:00:00Z");
    for r in [locked, free, twin] {
        app.update(Msg::Client(Event::Detail {
            req,
            tag: r.tag.clone(),
            result: Ok(Box::new(r)),
        }));
    }
    app
}

/// Moves the selection onto `tag`.
fn select(app: &mut App, tag: &str) {
    for k in ['j', 'j', 'j', 'k', 'k', 'k', 'k'] {
        if app.view().tags.selected() == Some(tag) {
            return;
        }
        app.update(key(k));
    }
    assert_eq!(app.view().tags.selected(), Some(tag));
}

#[test]
fn a_locked_tag_shows_protected_and_pulled_dates_show_in_their_column() {
    let app = app();
    let screen = render(&app);
    assert!(screen.contains("PULLED"), "{screen}");
    assert!(screen.contains("never"), "{screen}");
    let line = screen
        .lines()
        .find(|l| l.contains("locked"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(line.contains('⊘'), "{line}");
    let free = screen.lines().find(|l| l.contains("free")).unwrap();
    assert!(!free.contains('⊘'), "{free}");
}

#[test]
fn a_locked_tag_is_neither_marked_nor_deleted() {
    let mut app = app();
    select(&mut app, "locked");
    app.update(key(' '));
    assert!(!app.view().tags.marked.contains("locked"));
    let fx = app.update(key('d'));
    assert!(fx.is_empty(), "no request: {fx:?}");
    assert!(matches!(app.overlay, Overlay::None));
    let screen = render(&app);
    assert!(screen.contains("locked by the registry"), "{screen}");
    // The other tag still can be.
    select(&mut app, "free");
    app.update(key('d'));
    assert!(matches!(app.overlay, Overlay::ConfirmDelete(_)));
}

#[test]
fn a_tag_sharing_a_locked_tags_manifest_may_only_be_untagged() {
    let mut app = app();
    select(&mut app, "twin");
    app.update(key('d'));
    let Overlay::ConfirmDelete(c) = &app.overlay else {
        panic!("no confirmation")
    };
    assert!(c.can_untag);
    assert!(!c.can_delete_digest);
    assert!(
        c.limits.iter().any(|l| l.contains("would remove locked")),
        "{:?}",
        c.limits
    );
}
