//! Actions and their default key bindings; the help screen is generated from this table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Move up one page.
    PageUp,
    /// Move down one page.
    PageDown,
    /// Jump to the first row.
    Top,
    /// Jump to the last row.
    Bottom,
    /// Open the selection (drill in).
    Enter,
    /// Go back one pane.
    Back,
    /// Focus the next pane.
    NextPane,
    /// Delete the selected tag, or the marked ones (asks first).
    Delete,
    /// Mark or unmark the selected tag for cleanup.
    Mark,
    /// Mark the tags from the last marked one to the selection.
    MarkRange,
    /// Invert the marks of the tags shown.
    InvertMarks,
    /// Clear every mark.
    ClearMarks,
    /// Mark tags by rules: keep newest N, older than, name patterns.
    Rules,
    /// Copy digest or pull reference.
    Copy,
    /// Filter the focused list.
    Filter,
    /// Command line (:profile NAME, :repo NAME, :q).
    Command,
    /// Reload the focused pane.
    Refresh,
    /// Cycle the tag sort: created, name, size.
    Sort,
    /// Show this help.
    Help,
    /// Pick a profile.
    Profiles,
    /// Log in to the current registry.
    Login,
    /// Quit.
    Quit,
}

impl Action {
    /// One line for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Enter => "open / drill in",
            Action::Back => "back",
            Action::NextPane => "next pane",
            Action::Delete => "delete tag / marked tags",
            Action::Mark => "mark / unmark for cleanup",
            Action::MarkRange => "mark range up to here",
            Action::InvertMarks => "invert marks",
            Action::ClearMarks => "clear marks",
            Action::Rules => "mark by rules (keep, age)",
            Action::Copy => "copy digest or pull ref",
            Action::Filter => "filter the list (fuzzy)",
            Action::Command => ":profile NAME, :repo, :q",
            Action::Refresh => "reload",
            Action::Sort => "sort: created, name, size",
            Action::Help => "help",
            Action::Profiles => "switch profile",
            Action::Login => "log in",
            Action::Quit => "quit",
        }
    }
}

/// The default bindings: (keys as shown, action).
pub const BINDINGS: &[(&str, Action)] = &[
    ("↑ k", Action::Up),
    ("↓ j", Action::Down),
    ("PgUp ^u", Action::PageUp),
    ("PgDn ^d", Action::PageDown),
    ("Home g", Action::Top),
    ("End G", Action::Bottom),
    ("Enter l →", Action::Enter),
    ("Esc h ←", Action::Back),
    ("Tab", Action::NextPane),
    ("d", Action::Delete),
    ("Space", Action::Mark),
    ("V", Action::MarkRange),
    ("*", Action::InvertMarks),
    ("u", Action::ClearMarks),
    ("R", Action::Rules),
    ("y", Action::Copy),
    ("/", Action::Filter),
    (":", Action::Command),
    ("r", Action::Refresh),
    ("s", Action::Sort),
    ("P", Action::Profiles),
    ("L", Action::Login),
    ("?", Action::Help),
    ("q", Action::Quit),
];

/// The action bound to a key, if any.
pub fn lookup(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        KeyCode::Char('u') if ctrl => Action::PageUp,
        KeyCode::Char('d') if ctrl => Action::PageDown,
        _ if ctrl => return None,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => Action::Enter,
        KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') | KeyCode::Backspace => Action::Back,
        KeyCode::Tab => Action::NextPane,
        KeyCode::Char('d') => Action::Delete,
        KeyCode::Char(' ') => Action::Mark,
        KeyCode::Char('V') => Action::MarkRange,
        KeyCode::Char('*') => Action::InvertMarks,
        KeyCode::Char('u') => Action::ClearMarks,
        KeyCode::Char('R') => Action::Rules,
        KeyCode::Char('y') => Action::Copy,
        KeyCode::Char('/') => Action::Filter,
        KeyCode::Char(':') => Action::Command,
        KeyCode::Char('r') => Action::Refresh,
        KeyCode::Char('s') => Action::Sort,
        KeyCode::Char('P') => Action::Profiles,
        KeyCode::Char('L') => Action::Login,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}
