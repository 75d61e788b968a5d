//! The profile picker.

use super::{Key, Reply};
use crate::app::keymap::Action;

/// The profile picker: which row is selected.
#[derive(Debug, Clone, Default)]
pub struct ProfilePicker {
    pub selected: usize,
}

impl ProfilePicker {
    /// ↑↓ g G choose, Enter switches, Esc or P closes; `n` profiles are listed.
    pub fn on_key(&mut self, k: Key, n: usize) -> Option<Reply> {
        let last = n.saturating_sub(1);
        match k.action? {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top | Action::PageUp => self.selected = 0,
            Action::Bottom | Action::PageDown => self.selected = last,
            Action::Enter => return Some(Reply::Switch(self.selected)),
            Action::Back | Action::Quit | Action::Profiles => return Some(Reply::Close),
            _ => {}
        }
        None
    }
}
