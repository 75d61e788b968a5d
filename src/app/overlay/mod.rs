//! Dialogs drawn over the panes, one file each: help, delete confirmation, copy menu, profile
//! picker, login, cleanup rules, the cleanup preview, and notices (message history, first run).
//!
//! Each takes its keys in its own `on_key` and answers with a [`Reply`] for the app to carry out;
//! none of them touches the rest of the app.

mod copy;
mod delete;
mod files;
mod help;
mod login;
mod notice;
mod profiles;
mod promote;
mod prune;
mod rules;
mod search;

pub use copy::CopyMenu;
pub use delete::{ConfirmDelete, DeleteChoice};
pub use files::{FilesState, FilesView, mode_string};
pub use help::Help;
pub use login::{Login, LoginField};
pub use notice::Notice;
pub use profiles::ProfilePicker;
pub use promote::{AddTag, CopyDialog, CopyField, CopyState};
pub use prune::{PruneDialog, PruneStage};
pub use rules::RuleDialog;
pub use search::SearchDialog;

use crossterm::event::KeyEvent;

use super::ReqIds;
use super::keymap::Action;
use crate::client_task::Command;
use crate::registry::prune::Rules;

/// What a key in a dialog asks the app to do.
#[derive(Debug)]
pub enum Reply {
    /// Close the dialog.
    Close,
    /// Send a command; the dialog stays open and shows its progress.
    Send(Command),
    /// Close the dialog and put `text` on the clipboard.
    Copy { text: String, what: String },
    /// Close the dialog and switch to this profile.
    Switch(usize),
    /// Mark the tags these rules select (the app closes the dialog when it can).
    Apply(Rules),
    /// Tell the user, keeping the dialog open.
    Say(String),
    /// Close the dialog and open this repository's tags.
    Open(String),
    /// Close the dialog and send a command (stop what it started).
    CloseAndSend(Command),
}

/// A key as a dialog sees it: the event (for text fields) and its action in the key map.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub event: &'a KeyEvent,
    pub action: Option<Action>,
}

/// What is drawn over the panes.
#[derive(Debug, Default)]
pub enum Overlay {
    #[default]
    None,
    Help(Help),
    ConfirmDelete(ConfirmDelete),
    Copy(CopyMenu),
    Profiles(ProfilePicker),
    Login(Box<Login>),
    Rules(Box<RuleDialog>),
    Prune(Box<PruneDialog>),
    /// The message history, the first-run notice.
    Notice(Notice),
    /// Docker Hub search results.
    Search(Box<SearchDialog>),
    /// The files of an image or a layer.
    Files(Box<FilesView>),
    /// Copy / promote an image to another profile or repository.
    CopyTo(Box<CopyDialog>),
    /// Add a tag to the manifest shown.
    AddTag(Box<AddTag>),
}

impl Overlay {
    /// Passes a key to the open dialog; `profiles` is how many profiles the picker lists.
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds, profiles: usize) -> Option<Reply> {
        match self {
            Overlay::None => None,
            Overlay::Help(h) => h.on_key(k),
            Overlay::ConfirmDelete(c) => c.on_key(k, ids),
            Overlay::Copy(m) => m.on_key(k),
            Overlay::Profiles(p) => p.on_key(k, profiles),
            Overlay::Login(l) => l.on_key(k, ids),
            Overlay::Rules(r) => r.on_key(k),
            Overlay::Prune(p) => p.on_key(k, ids),
            Overlay::Notice(n) => n.on_key(k),
            Overlay::Search(s) => s.on_key(k),
            Overlay::Files(f) => f.on_key(k, ids),
            Overlay::CopyTo(c) => c.on_key(k, ids),
            Overlay::AddTag(a) => a.on_key(k, ids),
        }
    }

    /// Whether a dialog is open.
    pub fn is_open(&self) -> bool {
        !matches!(self, Overlay::None)
    }
}
