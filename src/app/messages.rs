//! Messages for the status bar: a short-lived toast, an error that stays while the state it
//! describes lasts (cleared when that state ends), and a history of both (`m` shows it).

use std::collections::VecDeque;

/// How the status bar colours a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// What an error is about; it is cleared when that state ends (a reload, another repository).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Connecting: credentials, the address.
    Connect,
    /// The repository list.
    Repos,
    /// The open repository's tags.
    Tags,
    /// The manifest shown.
    Manifest,
    /// The last delete or cleanup.
    Delete,
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Unix seconds.
    pub at: i64,
    pub level: Level,
    pub text: String,
}

/// How many messages the history keeps.
const KEEP: usize = 200;

/// The toast and the history (errors themselves live with each profile's view).
#[derive(Debug, Clone, Default)]
pub struct Messages {
    /// Shown until the next key.
    pub toast: Option<Message>,
    /// Oldest first.
    pub history: VecDeque<Message>,
}

impl Messages {
    /// Records `text` in the history.
    pub fn record(&mut self, at: i64, level: Level, text: &str) {
        // The same message again (a retry failing the same way) is not repeated.
        if self
            .history
            .back()
            .is_some_and(|m| m.text == text && m.level == level)
        {
            return;
        }
        if self.history.len() == KEEP {
            self.history.pop_front();
        }
        self.history.push_back(Message {
            at,
            level,
            text: text.to_string(),
        });
    }

    /// Shows `text` until the next key, and records it.
    pub fn toast(&mut self, at: i64, level: Level, text: String) {
        self.record(at, level, &text);
        self.toast = Some(Message { at, level, text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_bounded_and_skips_repeats() {
        let mut m = Messages::default();
        for i in 0..(KEEP + 10) {
            m.record(i as i64, Level::Info, &format!("m{i}"));
            m.record(i as i64, Level::Info, &format!("m{i}"));
        }
        assert_eq!(m.history.len(), KEEP);
        assert_eq!(m.history.front().unwrap().text, "m10");
        m.toast(1, Level::Error, "boom".into());
        assert_eq!(m.toast.as_ref().unwrap().text, "boom");
        assert_eq!(m.history.back().unwrap().text, "boom");
    }
}
