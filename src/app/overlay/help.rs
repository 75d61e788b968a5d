//! The help screen's state: generated from the key map, scrollable when the screen is short.

use super::{Key, Reply};
use crate::app::keymap::{Action, BINDINGS};

/// The help screen.
#[derive(Debug, Clone, Default)]
pub struct Help {
    /// First binding shown.
    pub scroll: usize,
}

impl Help {
    /// Esc, ?, q or Enter close; ↑↓ scroll.
    pub fn on_key(&mut self, k: Key) -> Option<Reply> {
        match k.action? {
            Action::Back | Action::Help | Action::Quit | Action::Enter => Some(Reply::Close),
            Action::Up | Action::PageUp => {
                self.scroll = self.scroll.saturating_sub(1);
                None
            }
            Action::Down | Action::PageDown => {
                self.scroll = (self.scroll + 1).min(BINDINGS.len().saturating_sub(1));
                None
            }
            _ => None,
        }
    }
}
