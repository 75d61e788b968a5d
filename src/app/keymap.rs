//! Actions and their key bindings: one table of `(keys, action, label)` drives both the key
//! lookup and the help screen, so they cannot disagree.

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
    /// Command line (:profile NAME, :repo NAME, :search TERM, :q).
    Command,
    /// Reload the focused pane.
    Refresh,
    /// Cycle the tag sort: created, name, size.
    Sort,
    /// Switch dates between relative and absolute.
    Dates,
    /// Show or hide the `sha256-…` signature, SBOM and attestation tags.
    Artifacts,
    /// Show the message history.
    Messages,
    /// Show the help.
    Help,
    /// Pick a profile.
    Profiles,
    /// Log in to the current registry.
    Login,
    /// The files of the image or a layer (from the layers pane).
    Files,
    /// Copy / promote the image to another profile, repository or tag.
    CopyTo,
    /// Add a tag to the manifest (pushes the manifest only).
    AddTag,
    /// Quit.
    Quit,
}

/// One key: a code, with or without Ctrl (Shift is in the character itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn c(ch: char) -> Key {
    Key {
        code: KeyCode::Char(ch),
        ctrl: false,
    }
}

const fn ctrl(ch: char) -> Key {
    Key {
        code: KeyCode::Char(ch),
        ctrl: true,
    }
}

impl Key {
    /// How the help screen writes the key: `↑`, `^u`, `Esc`, `Space`, `G`.
    pub fn label(self) -> String {
        let base = match self.code {
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Char(' ') => "Space".into(),
            KeyCode::Char(ch) => ch.to_string(),
            other => format!("{other:?}"),
        };
        if self.ctrl { format!("^{base}") } else { base }
    }
}

/// A row of the table: the keys, what they do, and the help text.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub label: &'static str,
}

const fn b(keys: &'static [Key], action: Action, label: &'static str) -> Binding {
    Binding {
        keys,
        action,
        label,
    }
}

/// Every binding, in the order the help screen lists them.
pub const BINDINGS: &[Binding] = &[
    b(&[k(KeyCode::Up), c('k')], Action::Up, "move up"),
    b(&[k(KeyCode::Down), c('j')], Action::Down, "move down"),
    b(&[k(KeyCode::PageUp), ctrl('u')], Action::PageUp, "page up"),
    b(
        &[k(KeyCode::PageDown), ctrl('d')],
        Action::PageDown,
        "page down",
    ),
    b(&[k(KeyCode::Home), c('g')], Action::Top, "first row"),
    b(&[k(KeyCode::End), c('G')], Action::Bottom, "last row"),
    b(
        &[k(KeyCode::Enter), c('l'), k(KeyCode::Right)],
        Action::Enter,
        "open / drill in",
    ),
    b(
        &[
            k(KeyCode::Esc),
            c('h'),
            k(KeyCode::Left),
            k(KeyCode::Backspace),
        ],
        Action::Back,
        "back",
    ),
    b(&[k(KeyCode::Tab)], Action::NextPane, "next pane"),
    b(&[c('d')], Action::Delete, "delete tag / marked tags"),
    b(&[c(' ')], Action::Mark, "mark / unmark for cleanup"),
    b(&[c('V')], Action::MarkRange, "mark range up to here"),
    b(&[c('*')], Action::InvertMarks, "invert marks"),
    b(&[c('u')], Action::ClearMarks, "clear marks"),
    b(&[c('R')], Action::Rules, "mark by rules (keep, age)"),
    b(&[c('y')], Action::Copy, "copy digest or pull ref"),
    b(&[c('/')], Action::Filter, "filter the list (fuzzy)"),
    b(&[c(':')], Action::Command, ":profile :repo :search :q"),
    b(&[c('r')], Action::Refresh, "reload"),
    b(&[c('s')], Action::Sort, "sort: created, name, size"),
    b(&[c('t')], Action::Dates, "dates relative/absolute"),
    b(&[c('a')], Action::Artifacts, "artifact tags on/off"),
    b(&[c('m')], Action::Messages, "message history"),
    b(&[c('P')], Action::Profiles, "switch profile"),
    b(&[c('L')], Action::Login, "log in"),
    b(&[c('f')], Action::Files, "files in the layers"),
    b(&[c('c')], Action::CopyTo, "copy / promote image"),
    b(&[c('T')], Action::AddTag, "add a tag"),
    b(&[c('?')], Action::Help, "help"),
    b(&[c('q'), ctrl('c')], Action::Quit, "quit"),
];

/// The keys of a binding as the help screen shows them: `Esc h ← Bksp`.
pub fn keys_label(b: &Binding) -> String {
    b.keys
        .iter()
        .map(|k| k.label())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The action bound to a key, if any.
pub fn lookup(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if key
        .modifiers
        .intersects(KeyModifiers::ALT | KeyModifiers::SUPER | KeyModifiers::META)
    {
        return None;
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|k| k.code == key.code && k.ctrl == ctrl))
        .map(|b| b.action)
}

/// The keys shown for `action` (the first binding's), e.g. `m` for the message history.
pub fn key_for(action: Action) -> String {
    BINDINGS
        .iter()
        .find(|b| b.action == action)
        .and_then(|b| b.keys.first())
        .map(|k| k.label())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn every_key_of_the_table_finds_its_action_and_nothing_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert((k.code, k.ctrl)), "{k:?} bound twice");
                let m = if k.ctrl {
                    KeyModifiers::CONTROL
                } else {
                    KeyModifiers::NONE
                };
                assert_eq!(lookup(&ev(k.code, m)), Some(b.action), "{k:?}");
            }
        }
        assert_eq!(
            lookup(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(lookup(&ev(KeyCode::Char('d'), KeyModifiers::ALT)), None);
        assert_eq!(lookup(&ev(KeyCode::Char('x'), KeyModifiers::CONTROL)), None);
    }

    #[test]
    fn the_help_names_backspace_and_ctrl_c() {
        let back = BINDINGS.iter().find(|b| b.action == Action::Back).unwrap();
        assert_eq!(keys_label(back), "Esc h ← Bksp");
        let quit = BINDINGS.iter().find(|b| b.action == Action::Quit).unwrap();
        assert_eq!(keys_label(quit), "q ^c");
        assert_eq!(key_for(Action::Messages), "m");
        // Two columns of help fit 80 cells.
        for b in BINDINGS {
            assert!(b.label.chars().count() <= 25, "{}", b.label);
            assert!(keys_label(b).chars().count() <= 12, "{}", keys_label(b));
        }
    }
}
