//! The application model: all state, and `update(msg) -> effects`. No I/O, no drawing.
//!
//! - [`view`]: one profile's panes and how they answer the client task;
//! - `events`: client events routed to the profile that asked (or to the open dialog);
//! - `actions`, `input`, `mouse`: keys, the `/` and `:` lines, clicks and the wheel;
//! - `cleanup`: marks, rules and the cleanup preview;
//! - [`overlay`]: the dialogs, each with its own `on_key`;
//! - [`messages`], [`keymap`], [`layout`], [`panes`].

mod actions;
pub mod badges;
mod cleanup;
mod content;
mod events;
mod input;
pub mod keymap;
pub mod layout;
pub mod messages;
mod mouse;
pub mod overlay;
pub mod panes;
pub mod view;

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;

use crate::client_task::{Command, ProfileSpec, ReqId};
use crate::fmt::Dates;
use crate::registry::prune::Protected;
use keymap::Action;
use layout::{Areas, Pane, Wants};
use messages::{Level, Messages, Topic};
use overlay::{Key, Notice, Overlay, Reply};
pub use view::ProfileView;

/// Input to `update`. Each message is built once and moved into `update`, so the size of a
/// client event costs nothing worth a box.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Key(KeyEvent),
    /// A mouse event and when it happened (milliseconds on any steady clock: double clicks).
    Mouse(MouseEvent, u64),
    Resize(u16, u16),
    /// Clock tick with the current Unix time.
    Tick(i64),
    Client(crate::client_task::Event),
}

/// What the main loop must do after an update.
#[derive(Debug)]
pub enum Effect {
    /// Send to the client task.
    Send(Command),
    /// Put text on the clipboard; `what` names it for the toast.
    Copy {
        text: String,
        what: String,
    },
    Quit,
}

/// A line being typed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Input {
    #[default]
    None,
    /// `/` filter of the focused list (applied live).
    Filter(String),
    /// `:` command.
    Command(String),
}

/// Hands out request ids: one counter for every request the app makes.
#[derive(Debug, Default)]
pub struct ReqIds(u64);

impl ReqIds {
    /// A fresh id, larger than every earlier one (never runs out, so not an `Iterator`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> ReqId {
        self.0 += 1;
        ReqId(self.0)
    }
}

/// A profile as the app knows it.
#[derive(Debug, Clone, Default)]
pub struct ProfileEntry {
    pub name: String,
    pub registry: String,
    /// Tags cleanup never marks and `d` refuses.
    pub protected: Protected,
    /// The configured username (filled into the login dialog).
    pub username: Option<String>,
}

impl ProfileEntry {
    /// A profile without protected tags.
    pub fn new(name: &str, registry: &str) -> Self {
        ProfileEntry {
            name: name.to_string(),
            registry: registry.to_string(),
            ..Default::default()
        }
    }
}

impl From<&ProfileSpec> for ProfileEntry {
    fn from(s: &ProfileSpec) -> Self {
        ProfileEntry {
            name: s.name.clone(),
            registry: s.registry.clone(),
            protected: s.protected(),
            username: s.username(),
        }
    }
}

/// The last click, to tell a double click.
#[derive(Debug, Clone, Copy)]
struct Click {
    x: u16,
    y: u16,
    at: u64,
    pane: Pane,
    row: Option<usize>,
}

/// The model root.
#[derive(Debug)]
pub struct App {
    pub profiles: Vec<ProfileEntry>,
    pub current: usize,
    pub views: Vec<ProfileView>,
    pub overlay: Overlay,
    pub input: Input,
    pub size: (u16, u16),
    /// Unix seconds, for relative dates.
    pub now: i64,
    /// Requests in flight, copied from the client handle before each frame.
    pub in_flight: usize,
    /// The toast and the message history.
    pub messages: Messages,
    /// How dates are shown (`t` switches).
    pub dates: Dates,
    /// Draw with colours (off with NO_COLOR).
    pub color: bool,
    /// Draw marks and badges in ASCII (a terminal without UTF-8, or REGTUI_ASCII=1).
    pub ascii: bool,
    pub quit: bool,
    ids: ReqIds,
    last_click: Option<Click>,
    /// Candidates of the last Tab in the `:` line and which one is shown.
    completion: Option<(Vec<String>, usize)>,
}

impl App {
    /// A new app over these profiles, showing `current`.
    pub fn new(profiles: Vec<ProfileEntry>, current: usize, size: (u16, u16), now: i64) -> Self {
        let views = profiles.iter().map(|_| ProfileView::default()).collect();
        App {
            current: current.min(profiles.len().saturating_sub(1)),
            profiles,
            views,
            overlay: Overlay::None,
            input: Input::None,
            size,
            now,
            in_flight: 0,
            messages: Messages::default(),
            dates: Dates::default(),
            color: true,
            ascii: false,
            quit: false,
            ids: ReqIds::default(),
            last_click: None,
            completion: None,
        }
    }

    /// The current profile's name.
    pub fn profile(&self) -> &str {
        &self.profiles[self.current].name
    }

    /// The current profile's state.
    pub fn view(&self) -> &ProfileView {
        &self.views[self.current]
    }

    fn view_mut(&mut self) -> &mut ProfileView {
        &mut self.views[self.current]
    }

    /// The focused pane.
    pub fn focus(&self) -> Pane {
        self.view().focus()
    }

    /// The toast shown until the next key.
    pub fn toast(&self) -> Option<&str> {
        self.messages.toast.as_ref().map(|m| m.text.as_str())
    }

    /// The current profile's error, while the state it describes lasts.
    pub fn error(&self) -> Option<&str> {
        self.view().error.as_ref().map(|(_, e)| e.as_str())
    }

    fn area(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// How wide the list panes would like to be, from what they show.
    ///
    /// The repositories pane adds [`panes::REPO_SIZE_COLUMNS`] cells once sizes arrive, while
    /// it is focused.
    pub fn wants(&self) -> Wants {
        let v = self.view();
        let rich = v.tags.column_widths(self.dates);
        let mut plain = rich.clone();
        plain.platforms = 0;
        if plain.dates.len() > 2 {
            plain.dates.remove(0);
        }
        let cells = |w: &layout::TagWidths| {
            (layout::tag_columns(usize::MAX, w).total() + 2).min(u16::MAX as usize) as u16
        };
        // Room for a sentence while the list says why it is empty.
        let repos = if v.repos.names.is_empty() {
            40
        } else {
            // The TAGS and SIZE columns once sizes arrive, while the pane is focused.
            let cols = v.repos.has_sizes() && v.focus() == Pane::Repos;
            v.repos.name_width + 3 + if cols { panes::REPO_SIZE_COLUMNS } else { 0 }
        };
        Wants {
            repos: repos.min(u16::MAX as usize) as u16,
            tags: cells(&rich),
            tags_plain: cells(&plain),
        }
    }

    /// Where everything goes on screen now (what ui draws and clicks hit).
    pub fn areas(&self) -> Areas {
        layout::areas(self.area(), self.focus(), self.wants())
    }

    fn height(&self, pane: Pane) -> usize {
        layout::list_height(self.area(), self.focus(), pane)
    }

    /// Shows `text` until the next key and records it.
    pub fn say(&mut self, text: impl Into<String>) {
        self.messages.toast(self.now, Level::Info, text.into());
    }

    /// Shows an error until the next key and records it.
    pub fn alert(&mut self, text: impl Into<String>) {
        self.messages.toast(self.now, Level::Error, text.into());
    }

    /// Shows a warning until the next key and records it.
    pub fn warn(&mut self, text: impl Into<String>) {
        self.messages.toast(
            self.now,
            Level::Warning,
            format!("warning: {}", text.into()),
        );
    }

    /// Opens a notice (e.g. the first-run text); Esc or Enter closes it.
    pub fn notice(&mut self, title: &str, text: String) {
        self.messages.record(self.now, Level::Info, &text);
        self.overlay = Overlay::Notice(Notice::text(title, text));
    }

    /// Records an error of profile `i` about `topic`; shown while that state lasts.
    fn fail(&mut self, i: usize, topic: Topic, text: String) {
        let shown = if i == self.current {
            text.clone()
        } else {
            format!("{}: {text}", self.profiles[i].name)
        };
        self.messages.record(self.now, Level::Error, &shown);
        self.views[i].error = Some((topic, text));
    }

    /// Effects to run at start: load the repositories of the current profile.
    pub fn start(&mut self) -> Vec<Effect> {
        self.load_repos()
    }

    fn load_repos(&mut self) -> Vec<Effect> {
        let i = self.current;
        let v = &mut self.views[i];
        v.load_repos(&self.profiles[i].name, &mut self.ids)
    }

    fn open_repo(&mut self, repo: String) -> Vec<Effect> {
        let i = self.current;
        let area = self.area();
        let v = &mut self.views[i];
        v.open_repo(&self.profiles[i].name, &mut self.ids, area, repo)
    }

    fn reload_repo(&mut self, repo: String) -> Vec<Effect> {
        let i = self.current;
        let area = self.area();
        let v = &mut self.views[i];
        v.reload_repo(&self.profiles[i].name, &mut self.ids, area, repo)
    }

    fn request_details(&mut self) -> Vec<Effect> {
        let i = self.current;
        let area = self.area();
        let v = &mut self.views[i];
        v.request_details(&self.profiles[i].name, &mut self.ids, area)
    }

    /// Applies one message; returns what the main loop must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Resize(w, h) => {
                self.size = (w, h);
                let area = self.area();
                for v in &mut self.views {
                    v.clamp(area);
                }
                vec![]
            }
            Msg::Tick(now) => {
                self.now = now;
                vec![]
            }
            Msg::Client(ev) => match self.on_content_event(ev) {
                Ok(fx) => fx,
                Err(ev) => {
                    let gone = match &ev {
                        crate::client_task::Event::Deleted {
                            profile,
                            result: Ok(crate::client_task::Deleted::Manifest { digest, .. }),
                            ..
                        } => Some((profile.clone(), digest.clone())),
                        _ => None,
                    };
                    let mut fx = self.on_event(ev);
                    if let Some((profile, digest)) = gone {
                        fx.extend(self.after_delete(&profile, &digest));
                    }
                    fx
                }
            },
            Msg::Key(k) => {
                let mut fx = self.on_key(k);
                fx.extend(self.reprioritize_sizes());
                fx
            }
            Msg::Mouse(m, at) => {
                let mut fx = self.on_mouse(m, at);
                fx.extend(self.reprioritize_sizes());
                fx
            }
        }
    }

    /// Rows scrolled or filtered into view get their sizes first (see `ProfileView`).
    fn reprioritize_sizes(&mut self) -> Vec<Effect> {
        let i = self.current;
        let area = self.area();
        let v = &mut self.views[i];
        v.reprioritize_sizes(&self.profiles[i].name, &mut self.ids, area)
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return vec![];
        }
        if !matches!(self.input, Input::None) {
            return self.on_input_key(k);
        }
        let action = keymap::lookup(&k);
        if self.overlay.is_open() {
            return self.on_overlay_key(Key { event: &k, action });
        }
        self.messages.toast = None;
        match action {
            Some(a) => self.on_action(a),
            None => vec![],
        }
    }

    /// A key for the open dialog, and what its reply asks for.
    fn on_overlay_key(&mut self, k: Key) -> Vec<Effect> {
        let n = self.profiles.len();
        let reply = self.overlay.on_key(k, &mut self.ids, n);
        let fx = match reply {
            None => vec![],
            Some(Reply::Close) => {
                self.overlay = Overlay::None;
                vec![]
            }
            Some(Reply::Send(c)) => vec![Effect::Send(c)],
            Some(Reply::Copy { text, what }) => {
                self.overlay = Overlay::None;
                self.say(format!("copied {what}: {}", crate::sanitize::clean(&text)));
                vec![Effect::Copy { text, what }]
            }
            Some(Reply::Switch(i)) => self.switch_profile(i),
            Some(Reply::Apply(rules)) => {
                self.apply_rules(rules);
                vec![]
            }
            Some(Reply::Say(text)) => {
                self.say(text);
                vec![]
            }
            Some(Reply::Open(repo)) => {
                self.overlay = Overlay::None;
                self.goto_repo(&repo)
            }
            Some(Reply::CloseAndSend(c)) => {
                self.overlay = Overlay::None;
                vec![Effect::Send(c)]
            }
        };
        if matches!(self.overlay, Overlay::Rules(_)) {
            self.refresh_rule_count();
        }
        fx
    }

    fn switch_profile(&mut self, i: usize) -> Vec<Effect> {
        self.overlay = Overlay::None;
        if i == self.current || i >= self.profiles.len() {
            return vec![];
        }
        self.current = i;
        self.say(format!("profile {}", self.profile()));
        if self.view().repos.state == panes::LoadState::Idle {
            self.load_repos()
        } else {
            vec![]
        }
    }

    /// Opens the help screen (`?`).
    fn help(&mut self) {
        self.overlay = Overlay::Help(overlay::Help::default());
    }

    /// Action `a` in the panes (no dialog open).
    fn on_action(&mut self, a: Action) -> Vec<Effect> {
        let focus = self.focus();
        match a {
            Action::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                self.help();
                vec![]
            }
            Action::Messages => {
                self.overlay = Overlay::Notice(Notice::history(self.messages.history.len()));
                vec![]
            }
            Action::Profiles => {
                self.overlay = Overlay::Profiles(overlay::ProfilePicker {
                    selected: self.current,
                });
                vec![]
            }
            Action::Login => {
                self.ask_login(None);
                vec![]
            }
            Action::Filter => self.start_filter(),
            Action::Command => {
                self.input = Input::Command(String::new());
                self.completion = None;
                vec![]
            }
            Action::Sort => {
                let h = self.height(Pane::Tags);
                let t = &mut self.view_mut().tags;
                t.sort = t.sort.next();
                t.resort(h);
                self.say(format!("tags sorted {}", self.view().tags.sort.label()));
                vec![]
            }
            Action::Artifacts => {
                let h = self.height(Pane::Tags);
                let t = &mut self.view_mut().tags;
                t.show_artifacts = !t.show_artifacts;
                t.rewidth();
                t.resort(h);
                let msg = if self.view().tags.show_artifacts {
                    "artifact tags (sha256-…: signatures, SBOMs, attestations) shown (a: hide)"
                } else {
                    "artifact tags hidden (a: show)"
                };
                self.say(msg);
                vec![]
            }
            Action::Dates => {
                self.dates = self.dates.toggled();
                self.say(match self.dates {
                    Dates::Relative => "dates: relative (t: absolute)",
                    Dates::Absolute => "dates: absolute, in UTC (t: relative)",
                });
                vec![]
            }
            Action::Refresh => self.refresh(focus),
            Action::NextPane => {
                let next = match focus {
                    Pane::Repos => Pane::Tags,
                    Pane::Tags => Pane::Manifest,
                    Pane::Manifest => Pane::Layers,
                    Pane::Layers => Pane::Repos,
                };
                self.view_mut().focus = Some(next);
                vec![]
            }
            Action::Back => {
                self.back(focus);
                vec![]
            }
            Action::Enter => self.enter(),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.navigate(a),
            Action::Delete if focus == Pane::Tags && !self.view().tags.marked.is_empty() => {
                self.ask_prune()
            }
            Action::Delete => self.ask_delete(),
            Action::Copy => self.copy_menu(),
            Action::Files => self.open_files(),
            Action::CopyTo => self.open_copy(),
            Action::AddTag => self.open_add_tag(),
            Action::Mark
            | Action::MarkRange
            | Action::InvertMarks
            | Action::ClearMarks
            | Action::Rules => self.on_mark_action(a),
        }
    }

    /// Opens the login dialog for the current profile, when it takes credentials.
    fn ask_login(&mut self, why: Option<String>) {
        let login = self.view().info.as_ref().is_none_or(|i| i.login);
        if !login {
            self.say(
                "this profile takes no login here (local files, or credentials from its \
                 provider's own chain such as AWS)",
            );
            return;
        }
        let p = &self.profiles[self.current];
        self.overlay = Overlay::Login(Box::new(overlay::Login::new(
            &p.name,
            &p.registry,
            p.username.as_deref(),
            why,
        )));
    }
}
