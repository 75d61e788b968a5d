//! A box of text to read: the message history, the first-run notice.

use super::{Key, Reply};
use crate::app::keymap::Action;

/// Text shown until Esc or Enter; scrollable.
#[derive(Debug, Clone, Default)]
pub struct Notice {
    pub title: String,
    /// `None`: the message history (drawn from the app's messages, newest first).
    pub text: Option<String>,
    /// First line shown.
    pub scroll: usize,
    /// How many lines there are (the scroll stops at the last).
    pub len: usize,
}

impl Notice {
    /// The message history of `len` messages.
    pub fn history(len: usize) -> Self {
        Notice {
            title: "Messages (newest first)".into(),
            len,
            ..Default::default()
        }
    }

    /// A titled text.
    pub fn text(title: &str, text: String) -> Self {
        Notice {
            title: title.to_string(),
            len: text.lines().count(),
            text: Some(text),
            scroll: 0,
        }
    }

    /// ↑↓ scroll; Esc, Enter, q (or `m` for the history) close.
    pub fn on_key(&mut self, k: Key) -> Option<Reply> {
        match k.action? {
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = (self.scroll + 1).min(self.len.saturating_sub(1)),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::PageDown => self.scroll = (self.scroll + 10).min(self.len.saturating_sub(1)),
            Action::Top => self.scroll = 0,
            Action::Back | Action::Enter | Action::Quit | Action::Messages => {
                return Some(Reply::Close);
            }
            _ => {}
        }
        None
    }
}
