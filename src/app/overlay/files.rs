//! The files view (`f` in the layers pane): the files of the image (layers merged, whiteouts
//! applied) or of one layer, streamed by the client task with a progress bar; `/` filters,
//! `[` `]` step through the layers, Esc cancels a listing still running and closes.

use crossterm::event::KeyCode;

use super::{Key, Reply};
use crate::app::ReqIds;
use crate::app::keymap::Action;
use crate::app::panes::{ListNav, filter_indices};
use crate::client_task::{Command, ReqId};
use crate::registry::files::Entry;
use crate::registry::model::Desc;

/// Rows a page key moves.
const PAGE: isize = 20;

/// Where the listing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesState {
    /// Bytes of the blobs read so far, of `total`.
    Loading {
        read: u64,
        total: u64,
    },
    Loaded,
    Failed(String),
}

/// The files view.
#[derive(Debug, Clone)]
pub struct FilesView {
    pub profile: String,
    pub repo: String,
    /// What is listed, for the title (`shop/web:v1`).
    pub label: String,
    pub layers: Vec<Desc>,
    /// `None`: all layers merged; else this layer alone.
    pub layer: Option<usize>,
    pub req: Option<ReqId>,
    pub state: FilesState,
    pub entries: Vec<Entry>,
    /// Indices into `entries` shown (filtered).
    pub view: Vec<usize>,
    pub nav: ListNav,
    pub filter: String,
    /// `/` was pressed: keys go to the filter until Enter or Esc.
    pub filtering: bool,
}

impl FilesView {
    /// A view of `layers` (merged); returns it with the command that lists them.
    pub fn open(
        profile: &str,
        repo: &str,
        label: &str,
        layers: Vec<Desc>,
        ids: &mut ReqIds,
    ) -> (Self, Command) {
        let mut v = FilesView {
            profile: profile.to_string(),
            repo: repo.to_string(),
            label: label.to_string(),
            layers,
            layer: None,
            req: None,
            state: FilesState::Loaded,
            entries: vec![],
            view: vec![],
            nav: ListNav::default(),
            filter: String::new(),
            filtering: false,
        };
        let c = v.list(ids);
        (v, c)
    }

    /// Asks for the listing of the current choice (merged or one layer).
    fn list(&mut self, ids: &mut ReqIds) -> Command {
        let req = ids.next();
        self.req = Some(req);
        let total = match self.layer {
            Some(i) => self.layers.get(i).map_or(0, |d| d.size),
            None => self.layers.iter().map(|d| d.size).sum(),
        };
        self.state = FilesState::Loading { read: 0, total };
        self.entries.clear();
        self.view.clear();
        self.nav = ListNav::default();
        Command::ListFiles {
            req,
            profile: self.profile.clone(),
            repo: self.repo.clone(),
            layers: self.layers.clone(),
            layer: self.layer,
        }
    }

    /// Progress of the listing in flight.
    pub fn progress(&mut self, req: ReqId, read: u64, total: u64) {
        if self.req == Some(req) {
            self.state = FilesState::Loading { read, total };
        }
    }

    /// The listing arrived.
    pub fn done(&mut self, req: ReqId, result: Result<Vec<Entry>, String>) {
        if self.req != Some(req) {
            return;
        }
        self.req = None;
        match result {
            Ok(e) => {
                self.entries = e;
                self.state = FilesState::Loaded;
                self.refilter();
            }
            Err(e) => self.state = FilesState::Failed(e),
        }
    }

    fn refilter(&mut self) {
        self.view = filter_indices(self.entries.iter().map(|e| e.path.as_str()), &self.filter);
        if !self.filter.is_empty() {
            // Best match first is fuzzy's order; paths read better in order.
            self.view.sort_unstable();
        }
        self.nav.clamp(self.view.len(), PAGE as usize);
    }

    /// The selected entry.
    pub fn selected(&self) -> Option<&Entry> {
        self.view.get(self.nav.selected).map(|i| &self.entries[*i])
    }

    /// Esc with a listing running: stop it (the blob request is dropped) and close.
    fn close(&self) -> Reply {
        if self.req.is_some() {
            Reply::CloseAndSend(Command::StopFiles {
                profile: self.profile.clone(),
            })
        } else {
            Reply::Close
        }
    }

    /// Keys: ↑↓ PgUp PgDn g G move, `/` filters, `[` `]` previous / next layer (before the
    /// first: all merged), Esc or q closes (stopping a listing that runs).
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds) -> Option<Reply> {
        if self.filtering {
            match k.event.code {
                KeyCode::Esc => {
                    self.filtering = false;
                    self.filter.clear();
                }
                KeyCode::Enter => self.filtering = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() && self.filter.len() < 256 => {
                    self.filter.push(c)
                }
                _ => return None,
            }
            self.refilter();
            return None;
        }
        let n = self.view.len();
        match k.event.code {
            KeyCode::Char('[') | KeyCode::Char(']') => {
                let last = self.layers.len();
                // 0 = merged, 1..=last = layer i-1.
                let pos = self.layer.map_or(0, |i| i + 1);
                let next = if k.event.code == KeyCode::Char(']') {
                    (pos + 1) % (last + 1)
                } else {
                    (pos + last) % (last + 1)
                };
                self.layer = next.checked_sub(1);
                return Some(Reply::Send(self.list(ids)));
            }
            KeyCode::Char('q') | KeyCode::Esc => return Some(self.close()),
            _ => {}
        }
        match k.action? {
            Action::Up => self.nav.move_by(-1, n, PAGE as usize),
            Action::Down => self.nav.move_by(1, n, PAGE as usize),
            Action::PageUp => self.nav.move_by(-PAGE, n, PAGE as usize),
            Action::PageDown => self.nav.move_by(PAGE, n, PAGE as usize),
            Action::Top => self.nav.move_by(isize::MIN / 2, n, PAGE as usize),
            Action::Bottom => self.nav.move_by(isize::MAX / 2, n, PAGE as usize),
            Action::Filter => self.filtering = true,
            Action::Back | Action::Quit | Action::Files => return Some(self.close()),
            _ => {}
        }
        None
    }
}

/// `drwxr-xr-x` for an entry.
pub fn mode_string(e: &Entry) -> String {
    use crate::registry::files::EntryType;
    let t = match e.kind {
        EntryType::Dir => 'd',
        EntryType::Symlink => 'l',
        EntryType::Hardlink => 'h',
        EntryType::Char => 'c',
        EntryType::Block => 'b',
        EntryType::Fifo => 'p',
        EntryType::File | EntryType::Other => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    for shift in [6, 3, 0] {
        let bits = (e.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}
