//! Copy / promote (`c`) and add a tag (`T`): the destination picked (profile, repository, tag),
//! the full reference previewed, progress in blobs and bytes while the client task copies, then
//! the result. Both go through `registry::copy`.

use crossterm::event::KeyCode;

use super::{Key, Reply};
use crate::app::ReqIds;
use crate::client_task::{Command, ReqId};

/// The field of the copy dialog with the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyField {
    Profile,
    Repo,
    Tag,
    Referrers,
}

/// Where a copy (or a tag) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyState {
    Editing,
    /// Blobs done of total, bytes copied.
    Running {
        blobs: usize,
        total: usize,
        bytes: u64,
    },
    Done(String),
    Failed(String),
    /// Existing destination tags would move (the text says which): Enter moves them, Esc
    /// cancels.
    ConfirmMove(String),
}

/// The copy / promote dialog.
#[derive(Debug, Clone)]
pub struct CopyDialog {
    /// The source: profile, repository, reference (tag or digest) and how it is shown.
    pub profile: String,
    pub repo: String,
    pub reference: String,
    pub label: String,
    /// `(profile name, registry host)` of every profile, the destination choices.
    pub profiles: Vec<(String, String)>,
    pub target: usize,
    pub to_repo: String,
    pub to_tag: String,
    /// Copy the signatures, SBOMs and attestations too.
    pub referrers: bool,
    pub field: CopyField,
    pub req: Option<ReqId>,
    pub state: CopyState,
}

/// Longest text typed into a field.
const MAX_FIELD: usize = 256;

fn edit(text: &mut String, code: KeyCode) {
    match code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !c.is_control() && text.len() < MAX_FIELD => text.push(c),
        _ => {}
    }
}

impl CopyDialog {
    /// The destination as a reference: `host/repo:tag`.
    pub fn preview(&self) -> String {
        let host = self
            .profiles
            .get(self.target)
            .map(|(_, h)| h.as_str())
            .unwrap_or("");
        let host = host
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let sep = if host.is_empty() { "" } else { "/" };
        format!("{host}{sep}{}:{}", self.to_repo, self.to_tag)
    }

    /// What is wrong with the destination, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.to_repo.is_empty() {
            return Some("give a repository".into());
        }
        if let Err(e) = crate::registry::reference::validate_tag(&self.to_tag) {
            return Some(e.to_string());
        }
        let same = self.profiles.get(self.target).map(|(n, _)| n) == Some(&self.profile);
        if same && self.to_repo == self.repo && self.to_tag == self.reference {
            return Some("that is the image itself: change the repository or the tag".into());
        }
        None
    }

    /// Tab / ↓ next field, Shift-Tab / ↑ previous, ←→ change the profile, Space toggles the
    /// referrers, Enter starts (or closes when done), Esc closes.
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds) -> Option<Reply> {
        match &self.state {
            // The copy goes on without the dialog; its result comes as a message.
            CopyState::Running { .. } => {
                return (k.event.code == KeyCode::Esc).then_some(Reply::Close);
            }
            CopyState::Done(_) | CopyState::Failed(_) => {
                return matches!(k.event.code, KeyCode::Enter | KeyCode::Esc)
                    .then_some(Reply::Close);
            }
            CopyState::ConfirmMove(_) => {
                return match k.event.code {
                    KeyCode::Enter => Some(self.start(ids, true)),
                    KeyCode::Esc => Some(Reply::Close),
                    _ => None,
                };
            }
            CopyState::Editing => {}
        }
        let order = [
            CopyField::Profile,
            CopyField::Repo,
            CopyField::Tag,
            CopyField::Referrers,
        ];
        let pos = order.iter().position(|f| *f == self.field).unwrap_or(0);
        match k.event.code {
            KeyCode::Esc => return Some(Reply::Close),
            KeyCode::Tab | KeyCode::Down => self.field = order[(pos + 1) % order.len()],
            KeyCode::BackTab | KeyCode::Up => {
                self.field = order[(pos + order.len() - 1) % order.len()]
            }
            KeyCode::Enter => {
                if let Some(p) = self.problem() {
                    return Some(Reply::Say(p));
                }
                return Some(self.start(ids, false));
            }
            code => match self.field {
                CopyField::Profile => {
                    let n = self.profiles.len().max(1);
                    match code {
                        KeyCode::Left => self.target = (self.target + n - 1) % n,
                        KeyCode::Right | KeyCode::Char(' ') => self.target = (self.target + 1) % n,
                        _ => {}
                    }
                }
                CopyField::Repo => edit(&mut self.to_repo, code),
                CopyField::Tag => edit(&mut self.to_tag, code),
                CopyField::Referrers => {
                    if matches!(code, KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right) {
                        self.referrers = !self.referrers;
                    }
                }
            },
        }
        None
    }

    /// Sends the copy; `allow_move` once the user agreed to move an existing destination tag.
    fn start(&mut self, ids: &mut ReqIds, allow_move: bool) -> Reply {
        let req = ids.next();
        self.req = Some(req);
        self.state = CopyState::Running {
            blobs: 0,
            total: 0,
            bytes: 0,
        };
        Reply::Send(Command::CopyImage {
            req,
            profile: self.profile.clone(),
            repo: self.repo.clone(),
            reference: self.reference.clone(),
            to_profile: self.profiles[self.target].0.clone(),
            to_repo: self.to_repo.clone(),
            to_tag: self.to_tag.clone(),
            referrers: self.referrers,
            allow_move,
        })
    }
}

/// The add-tag dialog: one field, the new tag (several separated by spaces).
#[derive(Debug, Clone)]
pub struct AddTag {
    pub profile: String,
    pub repo: String,
    /// The manifest: a tag or a digest.
    pub reference: String,
    pub label: String,
    pub text: String,
    pub req: Option<ReqId>,
    pub state: CopyState,
}

impl AddTag {
    /// The tags typed.
    pub fn tags(&self) -> Vec<String> {
        self.text.split_whitespace().map(str::to_string).collect()
    }

    /// Enter adds the tags (or closes when done), Esc closes.
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds) -> Option<Reply> {
        match &self.state {
            CopyState::Running { .. } => return None,
            CopyState::Done(_) | CopyState::Failed(_) => {
                return matches!(k.event.code, KeyCode::Enter | KeyCode::Esc)
                    .then_some(Reply::Close);
            }
            CopyState::ConfirmMove(_) => {
                return match k.event.code {
                    KeyCode::Enter => Some(self.start(ids, self.tags(), true)),
                    KeyCode::Esc => Some(Reply::Close),
                    _ => None,
                };
            }
            CopyState::Editing => {}
        }
        match k.event.code {
            KeyCode::Esc => Some(Reply::Close),
            KeyCode::Enter => {
                let tags = self.tags();
                if tags.is_empty() {
                    return Some(Reply::Say("type a tag".into()));
                }
                for t in &tags {
                    if let Err(e) = crate::registry::reference::validate_tag(t) {
                        return Some(Reply::Say(e.to_string()));
                    }
                }
                Some(self.start(ids, tags, false))
            }
            code => {
                edit(&mut self.text, code);
                None
            }
        }
    }

    /// Sends the tagging; `allow_move` once the user agreed to move existing tags.
    fn start(&mut self, ids: &mut ReqIds, tags: Vec<String>, allow_move: bool) -> Reply {
        let req = ids.next();
        self.req = Some(req);
        self.state = CopyState::Running {
            blobs: 0,
            total: 0,
            bytes: 0,
        };
        Reply::Send(Command::AddTags {
            req,
            profile: self.profile.clone(),
            repo: self.repo.clone(),
            reference: self.reference.clone(),
            tags,
            allow_move,
        })
    }
}
