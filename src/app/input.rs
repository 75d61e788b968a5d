//! The line at the bottom: the `/` filter (applied live, starting empty) and `:` commands with
//! Tab completion of commands, profiles and repositories.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::layout::Pane;
use super::overlay::{Overlay, SearchDialog};
use super::{App, Effect, Input};
use crate::client_task::Command;
use crate::sanitize::clean;

/// The `:` commands, for completion.
const COMMANDS: [&str; 4] = ["profile", "repo", "search", "quit"];

/// The longest prefix all of `words` share.
fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for w in &words[1..] {
        end = first
            .char_indices()
            .zip(w.chars())
            .find(|((_, a), b)| a != b)
            .map(|((i, _), _)| i)
            .unwrap_or(end.min(w.len()))
            .min(end);
    }
    first[..end].to_string()
}

impl App {
    /// `/`: a fresh filter of the focused list.
    pub(super) fn start_filter(&mut self) -> Vec<Effect> {
        match self.focus() {
            Pane::Repos | Pane::Tags => {
                self.input = Input::Filter(String::new());
                self.set_filter(String::new())
            }
            _ => {
                self.say("/ filters the repositories or tags pane");
                vec![]
            }
        }
    }

    pub(super) fn on_input_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let is_filter = matches!(self.input, Input::Filter(_));
        if k.code != KeyCode::Tab {
            self.completion = None;
        }
        let (Input::Filter(text) | Input::Command(text)) = &mut self.input else {
            return vec![];
        };
        match k.code {
            KeyCode::Esc => {
                self.input = Input::None;
                if is_filter {
                    return self.set_filter(String::new());
                }
                vec![]
            }
            KeyCode::Enter => {
                let line = std::mem::take(text);
                self.input = Input::None;
                // Docker Hub has no catalog: Enter in the repositories filter searches the Hub.
                if is_filter && self.filter_searches_hub() {
                    let term = line.trim().to_string();
                    if term.is_empty() {
                        return vec![];
                    }
                    let mut fx = self.set_filter(String::new());
                    fx.extend(self.start_search(term));
                    fx
                } else if is_filter {
                    vec![]
                } else {
                    self.run_command(&line)
                }
            }
            KeyCode::Backspace => {
                text.pop();
                let t = text.clone();
                if is_filter {
                    return self.set_filter(t);
                }
                vec![]
            }
            KeyCode::Tab if !is_filter => {
                self.complete();
                vec![]
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                text.push(c);
                let t = text.clone();
                if is_filter {
                    return self.set_filter(t);
                }
                vec![]
            }
            _ => vec![],
        }
    }

    /// Whether Enter in the `/` filter searches Docker Hub: the repositories pane of a Docker
    /// Hub profile (Hub has no catalog to filter).
    pub fn filter_searches_hub(&self) -> bool {
        self.focus() == Pane::Repos
            && self
                .view()
                .info
                .as_ref()
                .is_some_and(|i| i.kind == "dockerhub")
    }

    /// Opens the search dialog and asks Docker Hub's index for `term`.
    fn start_search(&mut self, term: String) -> Vec<Effect> {
        let req = self.ids.next();
        let profile = self.profiles[self.current].name.clone();
        self.overlay = Overlay::Search(Box::new(SearchDialog {
            term: term.clone(),
            req: Some(req),
            results: None,
            selected: 0,
        }));
        vec![Effect::Send(Command::Search { req, profile, term })]
    }

    /// Applies a filter to the focused list; the tags it shows get their details first.
    fn set_filter(&mut self, f: String) -> Vec<Effect> {
        let focus = self.focus();
        let (hr, ht) = (self.height(Pane::Repos), self.height(Pane::Tags));
        let v = self.view_mut();
        match focus {
            Pane::Repos => {
                v.repos.filter = f;
                v.repos.refilter();
                v.repos.nav = Default::default();
                v.repos.nav.clamp(v.repos.view.len(), hr);
                vec![]
            }
            Pane::Tags => {
                v.tags.filter = f;
                v.tags.nav = Default::default();
                v.tags.pinned = true;
                v.tags.resort(ht);
                // Details load in view order: re-ask when matches in view still wait.
                if v.tags.details_loading() && v.tags.pending_in_view(ht) {
                    return self.request_details();
                }
                vec![]
            }
            _ => vec![],
        }
    }

    /// Tab in the `:` line: completes the word being typed (a command, a profile, a
    /// repository); when several fit, the common part first, then each in turn.
    fn complete(&mut self) {
        let Input::Command(text) = &self.input else {
            return;
        };
        let text = text.clone();
        if let Some((cands, i)) = &mut self.completion {
            *i = (*i + 1) % cands.len();
            let word = cands[*i].clone();
            self.replace_last_word(&text, &word);
            return;
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        let typing_first = words.len() <= 1 && !text.ends_with(' ');
        let last = if text.ends_with(' ') {
            ""
        } else {
            words.last().copied().unwrap_or("")
        };
        let pool: Vec<String> = if typing_first {
            COMMANDS.iter().map(|c| c.to_string()).collect()
        } else {
            match words.first().copied() {
                Some("profile" | "p") => self.profiles.iter().map(|p| p.name.clone()).collect(),
                Some("repo" | "r") => self.view().repos.names.clone(),
                _ => vec![],
            }
        };
        let cands: Vec<String> = pool.into_iter().filter(|c| c.starts_with(last)).collect();
        match cands.len() {
            0 => self.say(format!("nothing to complete for {}", clean(last))),
            1 => {
                let word = format!("{} ", cands[0]);
                self.replace_last_word(&text, &word);
            }
            n => {
                let prefix = common_prefix(&cands);
                self.replace_last_word(&text, &prefix);
                let shown: Vec<String> = cands
                    .iter()
                    .take(8)
                    .map(|c| clean(c).into_owned())
                    .collect();
                self.say(format!(
                    "{n} match: {}{} (Tab again cycles)",
                    shown.join(", "),
                    if n > 8 { ", …" } else { "" }
                ));
                if prefix == last {
                    self.completion = Some((cands, n - 1));
                }
            }
        }
    }

    fn replace_last_word(&mut self, text: &str, word: &str) {
        let keep = if text.ends_with(' ') {
            text
        } else {
            text.rsplit_once(' ').map(|(a, _)| a).unwrap_or("")
        };
        let sep = if keep.is_empty() || keep.ends_with(' ') {
            ""
        } else {
            " "
        };
        self.input = Input::Command(format!("{keep}{sep}{word}"));
    }

    fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("q" | "quit"), _) => {
                self.quit = true;
                vec![Effect::Quit]
            }
            (Some("profile" | "p"), Some(name)) => {
                match self.profiles.iter().position(|p| p.name == name) {
                    Some(i) => self.switch_profile(i),
                    None => {
                        let names: Vec<&str> =
                            self.profiles.iter().map(|p| p.name.as_str()).collect();
                        self.say(format!(
                            "no profile named {} (profiles: {})",
                            clean(name),
                            names.join(", ")
                        ));
                        vec![]
                    }
                }
            }
            (Some("repo" | "r"), Some(name)) => self.goto_repo(name),
            (Some("search"), Some(_)) => {
                let term = line
                    .trim_start()
                    .strip_prefix("search")
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                self.start_search(term)
            }
            (Some("search"), None) => {
                self.say("usage: :search TERM (Docker Hub, as docker search)");
                vec![]
            }
            _ => {
                self.say(format!(
                    "unknown command: {} (try :profile NAME, :repo NAME, :search TERM, :q; Tab \
                     completes)",
                    clean(line)
                ));
                vec![]
            }
        }
    }

    /// Opens `name`'s tags (`:repo NAME`, a search result), selecting it in the list if shown.
    pub(super) fn goto_repo(&mut self, name: &str) -> Vec<Effect> {
        if let Err(e) = crate::registry::reference::validate_repository(name) {
            self.say(e.to_string());
            return vec![];
        }
        let name = name.to_string();
        if let Some(pos) = self
            .view()
            .repos
            .view
            .iter()
            .position(|i| self.view().repos.names[*i] == name)
        {
            self.view_mut().repos.nav.selected = pos;
        }
        self.view_mut().focus = Some(Pane::Tags);
        self.open_repo(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            common_prefix(&w(&["team/app/api", "team/app/web"])),
            "team/app/"
        );
        assert_eq!(common_prefix(&w(&["a", "b"])), "");
        assert_eq!(common_prefix(&w(&["lab"])), "lab");
        assert_eq!(common_prefix(&w(&["läb1", "läb2"])), "läb");
    }
}
