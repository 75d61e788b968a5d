//! The application model: all state, and `update(msg) -> effects`. No I/O, no drawing.

mod cleanup;
pub mod keymap;
pub mod layout;
pub mod overlay;
pub mod panes;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use crate::client_task::{Command, Deleted, Event, ProfileSpec, ReqId};
use crate::fmt::GC_REMINDER;
use crate::registry::auth::Secret;
use crate::registry::prune::Protected;
use crate::registry::{BackendInfo, Error};
use crate::sanitize::clean;
use keymap::Action;
use layout::Pane;
use overlay::{ConfirmDelete, CopyMenu, DeleteChoice, Login, Overlay};
use panes::{LoadState, ManifestPane, ReposPane, RowState, TagsPane};

/// Input to `update`.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// Clock tick with the current Unix time.
    Tick(i64),
    Client(Event),
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

/// A profile as the app knows it.
#[derive(Debug, Clone, Default)]
pub struct ProfileEntry {
    pub name: String,
    pub registry: String,
    /// Tags cleanup never marks.
    pub protected: Protected,
}

impl ProfileEntry {
    /// A profile without protected tags.
    pub fn new(name: &str, registry: &str) -> Self {
        ProfileEntry {
            name: name.to_string(),
            registry: registry.to_string(),
            protected: Protected::default(),
        }
    }
}

impl From<&ProfileSpec> for ProfileEntry {
    fn from(s: &ProfileSpec) -> Self {
        ProfileEntry {
            name: s.name.clone(),
            registry: s.registry.clone(),
            protected: s.protected(),
        }
    }
}

/// Everything loaded for one profile; kept when switching profiles.
#[derive(Debug, Default)]
pub struct ProfileView {
    pub info: Option<BackendInfo>,
    pub repos: ReposPane,
    pub tags: TagsPane,
    pub manifest: ManifestPane,
    pub focus: Option<Pane>,
    pub login_prompted: bool,
    /// The backend's status note (Docker Hub's pull rate limit).
    pub note: Option<String>,
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
    pub toast: Option<String>,
    pub last_error: Option<String>,
    /// Draw with colours (off with NO_COLOR).
    pub color: bool,
    pub quit: bool,
    next_req: u64,
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
            toast: None,
            last_error: None,
            color: true,
            quit: false,
            next_req: 0,
        }
    }

    fn req(&mut self) -> ReqId {
        self.next_req += 1;
        ReqId(self.next_req)
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
        self.view().focus.unwrap_or(Pane::Repos)
    }

    fn area(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    fn height(&self, pane: Pane) -> usize {
        layout::list_height(self.area(), self.focus(), pane)
    }

    /// Effects to run at start: load the repositories of the current profile.
    pub fn start(&mut self) -> Vec<Effect> {
        self.load_repos()
    }

    fn load_repos(&mut self) -> Vec<Effect> {
        let req = self.req();
        let profile = self.profile().to_string();
        let v = self.view_mut();
        v.repos.state = LoadState::Loading;
        v.repos.names.clear();
        v.repos.view.clear();
        v.repos.req = Some(req);
        vec![Effect::Send(Command::ListRepos { req, profile })]
    }

    fn open_repo(&mut self, repo: String) -> Vec<Effect> {
        let req = self.req();
        let profile = self.profile().to_string();
        let v = self.view_mut();
        let sort = v.tags.sort;
        v.tags = TagsPane::default();
        v.tags.repo = Some(repo.clone());
        v.tags.state = LoadState::Loading;
        v.tags.list_req = Some(req);
        v.tags.sort = sort;
        v.manifest = ManifestPane::default();
        vec![Effect::Send(Command::ListTags { req, profile, repo })]
    }

    fn request_details(&mut self) -> Vec<Effect> {
        let h = self.height(Pane::Tags);
        let profile = self.profile().to_string();
        let tags = self.view().tags.pending_in_view_order(h);
        let Some(repo) = self.view().tags.repo.clone() else {
            return vec![];
        };
        if tags.is_empty() {
            self.view_mut().tags.details_req = None;
            return vec![];
        }
        let req = self.req();
        self.view_mut().tags.details_req = Some(req);
        vec![Effect::Send(Command::TagDetails {
            req,
            profile,
            repo,
            tags,
        })]
    }

    fn open_manifest(
        &mut self,
        repo: String,
        reference: String,
        label: String,
        parent: Option<Box<ManifestPane>>,
    ) -> Vec<Effect> {
        let req = self.req();
        let profile = self.profile().to_string();
        self.view_mut().manifest = ManifestPane {
            target: Some((repo.clone(), reference.clone(), label)),
            state: LoadState::Loading,
            req: Some(req),
            parent,
            ..Default::default()
        };
        vec![Effect::Send(Command::Inspect {
            req,
            profile,
            repo,
            reference,
        })]
    }

    /// Applies one message; returns what the main loop must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Resize(w, h) => {
                self.size = (w, h);
                let (ht, hr) = (self.height(Pane::Tags), self.height(Pane::Repos));
                let v = self.view_mut();
                v.tags.nav.clamp(v.tags.view.len(), ht);
                v.repos.nav.clamp(v.repos.view.len(), hr);
                vec![]
            }
            Msg::Tick(now) => {
                self.now = now;
                vec![]
            }
            Msg::Client(ev) => self.on_event(ev),
            Msg::Key(k) => self.on_key(k),
        }
    }

    fn fail_text(e: &Error) -> String {
        let hint = match e {
            Error::Unauthorized { .. } => " — press L to log in",
            Error::ConnectionRefused { .. } | Error::Timeout { .. } | Error::Network { .. } => {
                " — press r to retry"
            }
            _ => "",
        };
        format!("{e}{hint}")
    }

    /// The profile whose panes are waiting for `req`.
    fn owner(&self, req: ReqId) -> Option<usize> {
        let r = Some(req);
        self.views.iter().position(|v| {
            v.repos.req == r
                || v.tags.list_req == r
                || v.tags.details_req == r
                || v.manifest.req == r
        })
    }

    fn on_event(&mut self, ev: Event) -> Vec<Effect> {
        let pane_req = match &ev {
            Event::Repos { req, .. }
            | Event::Tags { req, .. }
            | Event::Detail { req, .. }
            | Event::Inspected { req, .. }
            | Event::Failed { req, .. } => Some(*req),
            _ => None,
        };
        let Some(req) = pane_req else {
            return self.on_app_event(ev);
        };
        // Replies go to the profile that asked, even when another one is shown now;
        // a reply nobody waits for any more is stale and dropped.
        let Some(owner) = self.owner(req) else {
            return vec![];
        };
        let shown = self.current;
        self.current = owner;
        let fx = self.on_pane_event(ev, owner == shown);
        self.current = shown;
        fx
    }

    fn on_app_event(&mut self, ev: Event) -> Vec<Effect> {
        match ev {
            Event::Connected { profile, info } => {
                if let Some(i) = self.profiles.iter().position(|p| p.name == profile) {
                    if let Some(w) = &info.warning {
                        self.toast = Some(format!("warning: {w}"));
                    }
                    self.views[i].info = Some(*info);
                }
                vec![]
            }
            Event::Siblings { req, result } => {
                if let Overlay::ConfirmDelete(c) = &mut self.overlay {
                    if c.siblings_req == Some(req) {
                        match result {
                            Ok(users) => {
                                let mut tags = users.tags;
                                tags.retain(|t| *t != c.tag);
                                c.siblings = tags;
                                c.indexes = users.indexes;
                                c.checked = true;
                            }
                            Err(e) => {
                                self.last_error = Some(format!("could not check other tags: {e}"))
                            }
                        }
                    }
                }
                vec![]
            }
            Event::Deleted {
                req,
                profile,
                repo,
                result,
            } => self.on_deleted(req, profile, repo, result),
            Event::Note { profile, text } => {
                if let Some(i) = self.profiles.iter().position(|p| p.name == profile) {
                    self.views[i].note = Some(text);
                }
                vec![]
            }
            ev
            @ (Event::Planned { .. } | Event::PruneProgress { .. } | Event::PruneDone { .. }) => {
                self.on_prune_event(ev)
            }
            Event::LoggedIn {
                req,
                profile,
                result,
            } => {
                let Overlay::Login(l) = &mut self.overlay else {
                    return vec![];
                };
                if l.running != Some(req) {
                    return vec![];
                }
                l.running = None;
                match result {
                    Ok((info, saved)) => {
                        let who = info.auth.clone();
                        if let Some(i) = self.profiles.iter().position(|p| p.name == profile) {
                            self.views[i].info = Some(*info);
                        }
                        self.overlay = Overlay::None;
                        self.toast = Some(match saved {
                            Some(s) => format!("logged in ({who}); saved to {s}"),
                            None => format!("logged in ({who}) for this session"),
                        });
                        self.last_error = None;
                        let mut fx = self.load_repos();
                        if let Some(repo) = self.view().tags.repo.clone() {
                            fx.extend(self.open_repo(repo));
                        }
                        fx
                    }
                    Err(e) => {
                        l.error = Some(e.to_string());
                        vec![]
                    }
                }
            }
            _ => vec![],
        }
    }

    /// A reply for the panes of the current profile (`current` is switched to the owner).
    fn on_pane_event(&mut self, ev: Event, foreground: bool) -> Vec<Effect> {
        match ev {
            Event::Repos { req, page, done } => {
                let v = self.view_mut();
                if v.repos.req != Some(req) {
                    return vec![];
                }
                v.repos.names.extend(page);
                if done {
                    v.repos.names.sort();
                    v.repos.names.dedup();
                    v.repos.state = LoadState::Loaded;
                }
                v.repos.refilter();
                let h = self.height(Pane::Repos);
                let v = self.view_mut();
                v.repos.nav.clamp(v.repos.view.len(), h);
                vec![]
            }
            Event::Tags { req, page, done } => {
                let h = self.height(Pane::Tags);
                let v = self.view_mut();
                if v.tags.list_req != Some(req) {
                    return vec![];
                }
                let mut names = std::mem::take(&mut v.tags.names);
                names.extend(page);
                v.tags.set_names(names, h);
                if done {
                    v.tags.state = LoadState::Loaded;
                    return self.request_details();
                }
                vec![]
            }
            Event::Detail { req, tag, result } => {
                let h = self.height(Pane::Tags);
                let v = self.view_mut();
                if v.tags.details_req != Some(req) || !v.tags.rows.contains_key(&tag) {
                    return vec![];
                }
                let row = match result {
                    Ok(r) => RowState::Loaded(r),
                    Err(e) => RowState::Failed(e.to_string()),
                };
                v.tags.set_row(&tag, row, h);
                vec![]
            }
            Event::Inspected { req, result } => {
                let v = self.view_mut();
                if v.manifest.req != Some(req) {
                    return vec![];
                }
                match *result {
                    Ok(i) => {
                        v.manifest.lines = serde_json::to_string_pretty(&i.manifest)
                            .unwrap_or_default()
                            .lines()
                            .map(str::to_string)
                            .collect();
                        v.manifest.data = Some(Box::new(i));
                        v.manifest.state = LoadState::Loaded;
                    }
                    Err(e) => {
                        let t = Self::fail_text(&e);
                        v.manifest.state = LoadState::Failed(t.clone());
                        return self.note_error(&e, t, foreground);
                    }
                }
                vec![]
            }
            Event::Failed { req, error } => {
                let t = Self::fail_text(&error);
                let v = self.view_mut();
                if v.repos.req == Some(req) {
                    v.repos.state = LoadState::Failed(t.clone());
                } else if v.tags.list_req == Some(req) {
                    v.tags.state = LoadState::Failed(t.clone());
                } else if v.tags.details_req == Some(req) {
                    v.tags.details_req = None;
                } else if v.manifest.req == Some(req) {
                    v.manifest.state = LoadState::Failed(t.clone());
                } else {
                    return vec![];
                }
                self.note_error(&error, t, foreground)
            }
            _ => vec![],
        }
    }

    /// Records an error for the shown profile; a 401 without credentials opens the login dialog
    /// once per profile.
    fn note_error(&mut self, e: &Error, text: String, foreground: bool) -> Vec<Effect> {
        if !foreground {
            return vec![];
        }
        self.last_error = Some(text);
        let anonymous = matches!(
            e,
            Error::Unauthorized {
                had_credentials: false,
                ..
            }
        );
        let is_registry = self.view().info.as_ref().is_some_and(|i| i.login);
        if anonymous
            && is_registry
            && !self.view().login_prompted
            && matches!(self.overlay, Overlay::None)
        {
            self.view_mut().login_prompted = true;
            let p = &self.profiles[self.current];
            self.overlay = Overlay::Login(Box::new(Login::new(
                &p.name,
                &p.registry,
                Some("the registry needs credentials".into()),
            )));
        }
        vec![]
    }

    fn on_deleted(
        &mut self,
        req: ReqId,
        profile: String,
        repo: String,
        result: Result<Deleted, Error>,
    ) -> Vec<Effect> {
        if let Overlay::ConfirmDelete(c) = &mut self.overlay {
            if c.running == Some(req) {
                // The manifest gained users since the confirmation: nothing was deleted; show the
                // dialog again with a fresh check, saying why.
                if let Err(e @ (Error::NewTags { .. } | Error::UsedByIndex { .. })) = &result {
                    let check = ReqId(self.next_req + 1);
                    self.next_req += 1;
                    c.running = None;
                    c.checked = false;
                    c.index_warned = false;
                    c.choice = DeleteChoice::Cancel;
                    c.notice = Some(e.to_string());
                    c.siblings_req = Some(check);
                    return vec![Effect::Send(Command::TagsOnDigest {
                        req: check,
                        profile,
                        repo,
                        digest: c.digest.clone(),
                    })];
                }
                self.overlay = Overlay::None;
            }
        }
        let Some(i) = self.profiles.iter().position(|p| p.name == profile) else {
            return vec![];
        };
        match result {
            Ok(d) => {
                let gone: Vec<String> = match &d {
                    Deleted::Tag { tag, .. } => vec![tag.clone()],
                    Deleted::Manifest { tags, .. } => tags.clone(),
                };
                self.drop_tags(i, &repo, &gone);
                self.toast = Some(match d {
                    Deleted::Tag { tag, .. } => {
                        format!("removed tag {}; {GC_REMINDER}", clean(&tag))
                    }
                    Deleted::Manifest { tags, .. } => {
                        format!(
                            "deleted the manifest and {} tag(s); {GC_REMINDER}",
                            tags.len()
                        )
                    }
                });
            }
            Err(e) => {
                // These say themselves what happened (nothing, or something uncertain).
                let unsure = matches!(
                    e,
                    Error::OutcomeUnknown { .. }
                        | Error::StillPresent { .. }
                        | Error::Placeholder { .. }
                );
                let t = match e {
                    Error::OutcomeUnknown { .. }
                    | Error::StillPresent { .. }
                    | Error::Placeholder { .. }
                    | Error::Moved { .. }
                    | Error::NewTags { .. }
                    | Error::UsedByIndex { .. } => e.to_string(),
                    e => format!("delete failed: {e}"),
                };
                self.toast = Some(t.clone());
                self.last_error = Some(t);
                // The registry may have changed in ways we cannot tell: show it as it is now.
                if unsure && i == self.current && self.view().tags.repo.as_deref() == Some(&repo) {
                    return self.open_repo(repo);
                }
            }
        }
        vec![]
    }

    /// Removes deleted tags from profile `i`'s panes (and the manifest pane if it showed one).
    fn drop_tags(&mut self, i: usize, repo: &str, gone: &[String]) {
        let h = layout::list_height(
            self.area(),
            self.views[i].focus.unwrap_or(Pane::Repos),
            Pane::Tags,
        );
        let v = &mut self.views[i];
        if v.tags.repo.as_deref() == Some(repo) {
            v.tags.remove(gone, h);
            if v.manifest
                .target
                .as_ref()
                .is_some_and(|(r, t, _)| r == repo && gone.contains(t))
            {
                v.manifest = ManifestPane::default();
            }
        }
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return vec![];
        }
        if !matches!(self.input, Input::None) {
            return self.on_input_key(k);
        }
        if !matches!(self.overlay, Overlay::None) {
            return self.on_overlay_key(k);
        }
        self.toast = None;
        match keymap::lookup(&k) {
            Some(a) => self.on_action(a),
            None => vec![],
        }
    }

    fn on_input_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let (text, is_filter) = match &mut self.input {
            Input::Filter(s) => (s, true),
            Input::Command(s) => (s, false),
            Input::None => return vec![],
        };
        match k.code {
            KeyCode::Esc => {
                self.input = Input::None;
                if is_filter {
                    self.set_filter(String::new());
                }
                vec![]
            }
            KeyCode::Enter => {
                let line = std::mem::take(text);
                self.input = Input::None;
                if is_filter {
                    vec![]
                } else {
                    self.run_command(&line)
                }
            }
            KeyCode::Backspace => {
                text.pop();
                let t = text.clone();
                if is_filter {
                    self.set_filter(t);
                }
                vec![]
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                text.push(c);
                let t = text.clone();
                if is_filter {
                    self.set_filter(t);
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn set_filter(&mut self, f: String) {
        let focus = self.focus();
        let (hr, ht) = (self.height(Pane::Repos), self.height(Pane::Tags));
        let v = self.view_mut();
        match focus {
            Pane::Repos => {
                v.repos.filter = f;
                v.repos.refilter();
                v.repos.nav = Default::default();
                v.repos.nav.clamp(v.repos.view.len(), hr);
            }
            Pane::Tags => {
                v.tags.filter = f;
                v.tags.nav = Default::default();
                v.tags.resort(ht);
            }
            _ => {}
        }
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
                        self.toast = Some(format!("no profile named {}", clean(name)));
                        vec![]
                    }
                }
            }
            (Some("repo" | "r"), Some(name)) => {
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
            _ => {
                self.toast = Some(format!(
                    "unknown command: {} (try :profile NAME, :repo NAME, :q)",
                    clean(line)
                ));
                vec![]
            }
        }
    }

    fn switch_profile(&mut self, i: usize) -> Vec<Effect> {
        self.overlay = Overlay::None;
        if i == self.current {
            return vec![];
        }
        self.current = i;
        self.last_error = None;
        self.toast = Some(format!("profile {}", self.profile()));
        if self.view().repos.state == LoadState::Idle {
            self.load_repos()
        } else {
            vec![]
        }
    }

    fn on_action(&mut self, a: Action) -> Vec<Effect> {
        let focus = self.focus();
        match a {
            Action::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                vec![]
            }
            Action::Profiles => {
                self.overlay = Overlay::Profiles {
                    selected: self.current,
                };
                vec![]
            }
            Action::Login => {
                let p = &self.profiles[self.current];
                self.overlay = Overlay::Login(Box::new(Login::new(&p.name, &p.registry, None)));
                vec![]
            }
            Action::Filter => {
                let f = match focus {
                    Pane::Repos => self.view().repos.filter.clone(),
                    Pane::Tags => self.view().tags.filter.clone(),
                    _ => return vec![],
                };
                self.input = Input::Filter(f);
                vec![]
            }
            Action::Command => {
                self.input = Input::Command(String::new());
                vec![]
            }
            Action::Sort => {
                let h = self.height(Pane::Tags);
                let t = &mut self.view_mut().tags;
                t.sort = t.sort.next();
                t.resort(h);
                self.toast = Some(format!("tags sorted {}", self.view().tags.sort.label()));
                vec![]
            }
            Action::Refresh => match focus {
                Pane::Repos => self.load_repos(),
                Pane::Tags => match self.view().tags.repo.clone() {
                    Some(r) => self.open_repo(r),
                    None => vec![],
                },
                Pane::Manifest | Pane::Layers => match self.view().manifest.target.clone() {
                    Some((r, t, l)) => {
                        let parent = self.view_mut().manifest.parent.take();
                        self.open_manifest(r, t, l, parent)
                    }
                    None => vec![],
                },
            },
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
                if focus == Pane::Manifest {
                    if let Some(parent) = self.view_mut().manifest.parent.take() {
                        self.view_mut().manifest = *parent;
                        return vec![];
                    }
                }
                let prev = match focus {
                    Pane::Repos => Pane::Repos,
                    Pane::Tags => Pane::Repos,
                    Pane::Manifest => Pane::Tags,
                    Pane::Layers => Pane::Manifest,
                };
                self.view_mut().focus = Some(prev);
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
            Action::Mark
            | Action::MarkRange
            | Action::InvertMarks
            | Action::ClearMarks
            | Action::Rules => self.on_mark_action(a),
        }
    }

    fn enter(&mut self) -> Vec<Effect> {
        match self.focus() {
            Pane::Repos => {
                let Some(repo) = self.view().repos.selected().map(str::to_string) else {
                    return vec![];
                };
                self.view_mut().focus = Some(Pane::Tags);
                if self.view().tags.repo.as_deref() == Some(repo.as_str())
                    && self.view().tags.state != LoadState::Idle
                {
                    return vec![];
                }
                self.open_repo(repo)
            }
            Pane::Tags => {
                let (Some(repo), Some(tag)) = (
                    self.view().tags.repo.clone(),
                    self.view().tags.selected().map(str::to_string),
                ) else {
                    return vec![];
                };
                self.view_mut().focus = Some(Pane::Manifest);
                self.open_manifest(repo, tag.clone(), tag, None)
            }
            Pane::Manifest => {
                let m = &self.view().manifest;
                let (Some(data), Some((repo, _, label))) = (&m.data, &m.target) else {
                    return vec![];
                };
                if !m.lines.is_empty() && data.platforms.len() > 1 {
                    if let Some(p) = data.platforms.get(m.platforms.selected) {
                        let (repo, digest) = (repo.clone(), p.digest.clone());
                        let label = format!("{label} › {}", p.platform);
                        let parent = Box::new(std::mem::take(&mut self.view_mut().manifest));
                        return self.open_manifest(repo, digest, label, Some(parent));
                    }
                }
                self.view_mut().focus = Some(Pane::Layers);
                vec![]
            }
            Pane::Layers => vec![],
        }
    }

    fn navigate(&mut self, a: Action) -> Vec<Effect> {
        let focus = self.focus();
        let h = self.height(focus);
        let delta: isize = match a {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -(h as isize),
            Action::PageDown => h as isize,
            Action::Top => isize::MIN / 2,
            _ => isize::MAX / 2,
        };
        let v = self.view_mut();
        match focus {
            Pane::Repos => {
                let len = v.repos.view.len();
                v.repos.nav.move_by(delta, len, h);
                vec![]
            }
            Pane::Tags => {
                let before = v.tags.nav.offset;
                let len = v.tags.view.len();
                v.tags.nav.move_by(delta, len, h);
                let moved = v.tags.nav.offset != before;
                let start = v.tags.nav.offset;
                let visible_pending =
                    v.tags.view.iter().skip(start).take(h).any(|i| {
                        matches!(v.tags.rows.get(&v.tags.names[*i]), Some(RowState::Pending))
                    });
                if moved && visible_pending && v.tags.details_req.is_some() {
                    // Reprioritise: rows now in view load first.
                    return self.request_details();
                }
                vec![]
            }
            Pane::Manifest => {
                let m = &mut v.manifest;
                let plats = m.data.as_ref().map(|d| d.platforms.len()).unwrap_or(0);
                if plats > 1 && matches!(a, Action::Up | Action::Down) {
                    m.platforms.move_by(delta, plats, plats);
                } else {
                    let max = m.lines.len().saturating_sub(1) as isize;
                    m.scroll = (m.scroll as isize + delta).clamp(0, max.max(0)) as usize;
                }
                vec![]
            }
            Pane::Layers => {
                let m = &mut v.manifest;
                let n = m.data.as_ref().map(|d| d.layers.len() + 12).unwrap_or(0) as isize;
                m.layers_scroll = (m.layers_scroll as isize + delta).clamp(0, n.max(0)) as usize;
                vec![]
            }
        }
    }

    fn selected_row(&self) -> Option<(String, crate::registry::model::TagRow)> {
        let t = &self.view().tags;
        let repo = t.repo.clone()?;
        let tag = t.selected()?;
        Some((repo, t.row(tag)?.clone()))
    }

    fn ask_delete(&mut self) -> Vec<Effect> {
        if self.focus() != Pane::Tags {
            self.toast = Some("select a tag in the tags pane to delete it".into());
            return vec![];
        }
        let Some(tag) = self.view().tags.selected().map(str::to_string) else {
            return vec![];
        };
        let Some((repo, row)) = self.selected_row() else {
            self.toast = Some(format!("details of {} are still loading", clean(&tag)));
            return vec![];
        };
        let caps = self.view().info.as_ref().map(|i| i.capabilities);
        let (can_untag, can_digest) = caps
            .map(|c| (c.delete_tag, c.delete_digest))
            .unwrap_or((false, false));
        if !can_untag && !can_digest {
            self.toast = Some(
                "this profile cannot delete (read-only demo or provider without delete)".into(),
            );
            return vec![];
        }
        let req = self.req();
        let siblings = self.view().tags.siblings(&tag);
        self.overlay = Overlay::ConfirmDelete(ConfirmDelete {
            repo: repo.clone(),
            tag: tag.clone(),
            digest: row.digest.clone(),
            size: row.size,
            siblings,
            checked: false,
            siblings_req: Some(req),
            choice: DeleteChoice::Cancel,
            can_untag,
            can_delete_digest: can_digest,
            indexes: Vec::new(),
            index_warned: false,
            notice: None,
            limits: self
                .view()
                .info
                .as_ref()
                .map(|i| i.limits())
                .unwrap_or_default(),
            running: None,
        });
        vec![Effect::Send(Command::TagsOnDigest {
            req,
            profile: self.profile().to_string(),
            repo,
            digest: row.digest,
        })]
    }

    fn copy_menu(&mut self) -> Vec<Effect> {
        let m = &self.view().manifest;
        let (repo, tag, digest) = match (self.focus(), self.selected_row(), &m.data, &m.target) {
            (Pane::Manifest | Pane::Layers, _, Some(d), Some((r, t, _))) => {
                (r.clone(), t.clone(), d.digest.clone())
            }
            (_, Some((r, row)), _, _) => (r, row.tag.clone(), row.digest.clone()),
            _ => {
                self.toast =
                    Some("nothing to copy yet: select a tag whose details have loaded".into());
                return vec![];
            }
        };
        let host = self
            .view()
            .info
            .as_ref()
            .map(|i| i.host.clone())
            .unwrap_or_default();
        let prefix = if host.is_empty() {
            String::new()
        } else {
            format!("{host}/")
        };
        let mut items = vec![
            ("digest".to_string(), digest.clone()),
            (
                "pull by digest".to_string(),
                format!("{prefix}{repo}@{digest}"),
            ),
        ];
        if !crate::registry::digest::is_digest(&tag) {
            items.push(("pull by tag".to_string(), format!("{prefix}{repo}:{tag}")));
        }
        self.overlay = Overlay::Copy(CopyMenu { items, selected: 0 });
        vec![]
    }

    fn on_overlay_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let action = keymap::lookup(&k);
        match &mut self.overlay {
            Overlay::None => vec![],
            Overlay::Rules(_) => self.on_rules_key(k),
            Overlay::Prune(_) => self.on_prune_key(k),
            Overlay::Help => {
                if matches!(
                    action,
                    Some(Action::Back | Action::Help | Action::Quit | Action::Enter)
                ) {
                    self.overlay = Overlay::None;
                }
                vec![]
            }
            Overlay::Copy(menu) => match action {
                Some(Action::Up) => {
                    menu.selected = menu.selected.saturating_sub(1);
                    vec![]
                }
                Some(Action::Down) => {
                    menu.selected = (menu.selected + 1).min(menu.items.len() - 1);
                    vec![]
                }
                Some(Action::Enter) => {
                    let (what, text) = menu.items[menu.selected].clone();
                    self.overlay = Overlay::None;
                    self.toast = Some(format!("copied {what}: {}", clean(&text)));
                    vec![Effect::Copy { text, what }]
                }
                Some(Action::Back | Action::Quit) => {
                    self.overlay = Overlay::None;
                    vec![]
                }
                _ => vec![],
            },
            Overlay::Profiles { selected } => match action {
                Some(Action::Up) => {
                    *selected = selected.saturating_sub(1);
                    vec![]
                }
                Some(Action::Down) => {
                    *selected = (*selected + 1).min(self.profiles.len() - 1);
                    vec![]
                }
                Some(Action::Enter) => {
                    let i = *selected;
                    self.switch_profile(i)
                }
                Some(Action::Back | Action::Quit | Action::Profiles) => {
                    self.overlay = Overlay::None;
                    vec![]
                }
                _ => vec![],
            },
            Overlay::ConfirmDelete(c) => {
                if c.running.is_some() {
                    return vec![];
                }
                let choices = c.choices();
                let pos = choices.iter().position(|x| *x == c.choice).unwrap_or(0);
                match k.code {
                    KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab => {
                        c.choice = choices[pos.saturating_sub(1)];
                        c.index_warned = false;
                        vec![]
                    }
                    KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab => {
                        c.choice = choices[(pos + 1).min(choices.len() - 1)];
                        c.index_warned = false;
                        vec![]
                    }
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('n') => {
                        self.overlay = Overlay::None;
                        vec![]
                    }
                    KeyCode::Enter => match c.choice {
                        DeleteChoice::Cancel => {
                            self.overlay = Overlay::None;
                            vec![]
                        }
                        DeleteChoice::ThisTag => {
                            self.next_req += 1;
                            let req = ReqId(self.next_req);
                            c.running = Some(req);
                            vec![Effect::Send(Command::DeleteTag {
                                req,
                                profile: self.profiles[self.current].name.clone(),
                                repo: c.repo.clone(),
                                tag: c.tag.clone(),
                                digest: c.digest.clone(),
                            })]
                        }
                        DeleteChoice::All => {
                            if !c.checked {
                                self.toast =
                                    Some("still checking which tags share this digest…".into());
                                return vec![];
                            }
                            if !c.indexes.is_empty() && !c.index_warned {
                                // A second, explicit confirmation that names the indexes.
                                c.index_warned = true;
                                return vec![];
                            }
                            self.next_req += 1;
                            let req = ReqId(self.next_req);
                            c.running = Some(req);
                            let mut tags = vec![c.tag.clone()];
                            tags.extend(c.siblings.iter().cloned());
                            vec![Effect::Send(Command::DeleteManifest {
                                req,
                                profile: self.profiles[self.current].name.clone(),
                                repo: c.repo.clone(),
                                digest: c.digest.clone(),
                                tags,
                                indexes: c.indexes.iter().map(|(t, _)| t.clone()).collect(),
                            })]
                        }
                    },
                    _ => vec![],
                }
            }
            Overlay::Login(l) => {
                if l.running.is_some() {
                    return vec![];
                }
                match k.code {
                    KeyCode::Esc => {
                        self.overlay = Overlay::None;
                        vec![]
                    }
                    KeyCode::Tab | KeyCode::Down => {
                        l.field = (l.field + 1) % 4;
                        vec![]
                    }
                    KeyCode::BackTab | KeyCode::Up => {
                        l.field = (l.field + 3) % 4;
                        vec![]
                    }
                    KeyCode::Char(' ') if l.field == 2 => {
                        l.save = !l.save;
                        vec![]
                    }
                    KeyCode::Enter if l.field == 0 => {
                        l.field = 1;
                        vec![]
                    }
                    KeyCode::Enter => {
                        let user = l.username.lines().join("");
                        let pass = l.password.lines().join("");
                        if user.is_empty() || pass.is_empty() {
                            l.error = Some("enter a username and a password".into());
                            return vec![];
                        }
                        self.next_req += 1;
                        let req = ReqId(self.next_req);
                        l.running = Some(req);
                        l.error = None;
                        vec![Effect::Send(Command::Login {
                            req,
                            profile: l.profile.clone(),
                            username: user,
                            password: Secret::new(pass),
                            save: l.save,
                        })]
                    }
                    _ => {
                        match l.field {
                            0 => {
                                l.username.input(k);
                            }
                            1 => {
                                l.password.input(k);
                            }
                            _ => {}
                        }
                        vec![]
                    }
                }
            }
        }
    }
}
