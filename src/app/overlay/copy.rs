//! The copy menu: digest, pull by digest, pull by tag.

use super::{Key, Reply};
use crate::app::keymap::Action;

/// A small menu of things to copy.
#[derive(Debug, Clone)]
pub struct CopyMenu {
    /// (label, text to copy)
    pub items: Vec<(String, String)>,
    pub selected: usize,
}

impl CopyMenu {
    /// ↑↓ choose, Enter copies, Esc closes.
    pub fn on_key(&mut self, k: Key) -> Option<Reply> {
        match k.action? {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(self.items.len() - 1),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = self.items.len() - 1,
            Action::Enter => {
                let (what, text) = self.items[self.selected].clone();
                return Some(Reply::Copy { text, what });
            }
            Action::Back | Action::Quit | Action::Copy => return Some(Reply::Close),
            _ => {}
        }
        None
    }
}
