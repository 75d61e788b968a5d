//! Docker Hub search results (`:search TERM`): official images marked, Enter opens the tags.

use super::{Key, Reply};
use crate::app::keymap::Action;
use crate::client_task::ReqId;
use crate::registry::providers::dockerhub::SearchResult;

/// The search dialog: the term, the request in flight, and the results once they came.
#[derive(Debug, Clone, Default)]
pub struct SearchDialog {
    pub term: String,
    /// The search in flight; a reply with another id is dropped.
    pub req: Option<ReqId>,
    /// `None` while searching; an error as the user should read it.
    pub results: Option<Result<Vec<SearchResult>, String>>,
    pub selected: usize,
}

impl SearchDialog {
    /// ↑↓ g G choose, Enter opens the selected repository's tags, Esc closes.
    pub fn on_key(&mut self, k: Key) -> Option<Reply> {
        let n = match &self.results {
            Some(Ok(r)) => r.len(),
            _ => 0,
        };
        let last = n.saturating_sub(1);
        match k.action? {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top | Action::PageUp => self.selected = 0,
            Action::Bottom | Action::PageDown => self.selected = last,
            Action::Enter => {
                if let Some(Ok(r)) = &self.results {
                    if let Some(hit) = r.get(self.selected) {
                        return Some(Reply::Open(hit.repository()));
                    }
                }
            }
            Action::Back | Action::Quit => return Some(Reply::Close),
            _ => {}
        }
        None
    }
}
