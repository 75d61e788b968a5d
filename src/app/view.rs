//! One profile's panes: what they ask the client task for, and how they take its replies.
//! Each profile keeps its own view when the user switches profiles.

use ratatui::layout::Rect;

use super::layout::{self, Pane};
use super::messages::Topic;
use super::panes::{
    CacheMark, Freshness, LoadState, ManifestPane, RepoSize, ReposPane, RowState, TagsPane,
};
use super::{Effect, ReqIds};
use crate::client_task::{Command, Event, ReqId};
use crate::registry::{BackendInfo, Error};

/// Waiting repositories at the head of a sizes request taken as being sized already (the client
/// sizes a few at a time): rows in view among them do not make the pane ask again.
const SIZES_HEAD: usize = 8;

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
    /// The last error and what it is about; cleared when that state ends.
    pub error: Option<(Topic, String)>,
    /// Connecting failed (no backend info): the status bar says "not connected".
    pub unconnected: bool,
}

/// A pane's request failed: what about, the error, and the text to show.
#[derive(Debug)]
pub struct Failure {
    pub topic: Topic,
    pub error: Error,
    pub text: String,
}

impl ProfileView {
    /// The focused pane.
    pub fn focus(&self) -> Pane {
        self.focus.unwrap_or(Pane::Repos)
    }

    /// Rows a list pane shows on a screen of `area`.
    pub fn height(&self, area: Rect, pane: Pane) -> usize {
        layout::list_height(area, self.focus(), pane)
    }

    /// Keeps selections inside their lists and visible after a resize.
    pub fn clamp(&mut self, area: Rect) {
        let (ht, hr) = (
            self.height(area, Pane::Tags),
            self.height(area, Pane::Repos),
        );
        self.tags.nav.clamp(self.tags.view.len(), ht);
        self.repos.nav.clamp(self.repos.view.len(), hr);
    }

    /// Drops the error about `topics` (the state it described ended).
    pub fn clear(&mut self, topics: &[Topic]) {
        if self.error.as_ref().is_some_and(|(t, _)| topics.contains(t)) {
            self.error = None;
        }
    }

    /// Loads the repository list.
    pub fn load_repos(&mut self, profile: &str, ids: &mut ReqIds) -> Vec<Effect> {
        let req = ids.next();
        self.clear(&[Topic::Repos, Topic::Connect]);
        self.repos.state = LoadState::Loading;
        self.repos.offline = None;
        self.repos.names.clear();
        self.repos.view.clear();
        self.repos.req = Some(req);
        self.repos.sizes.clear();
        self.repos.sizes_req = None;
        vec![Effect::Send(Command::ListRepos {
            req,
            profile: profile.to_string(),
        })]
    }

    /// Asks for the tag count and bytes of repositories still without them, rows in view first
    /// (in the background: the list never waits for them).
    pub fn request_sizes(&mut self, profile: &str, ids: &mut ReqIds, area: Rect) -> Vec<Effect> {
        let t = &self.tags;
        if t.list_req.is_some() && !t.fresh_list && !matches!(t.state, LoadState::Failed(_)) {
            self.repos.sizes_deferred = true;
            return vec![];
        }
        self.repos.sizes_deferred = false;
        let h = self.height(area, Pane::Repos);
        let repos = self.repos.unsized_in_view_order(h);
        if repos.is_empty() {
            return vec![];
        }
        let req = ids.next();
        self.repos.sizes_req = Some(req);
        self.repos.sizes_queue = repos.clone();
        for r in &repos {
            self.repos.sizes.insert(r.clone(), RepoSize::Pending);
        }
        vec![Effect::Send(Command::RepoSizes {
            req,
            profile: profile.to_string(),
            repos,
        })]
    }

    /// While sizes load, asks again rows in view first when scrolling or filtering brought
    /// rows into view that wait far down the queue (beyond the few being sized now).
    pub fn reprioritize_sizes(
        &mut self,
        profile: &str,
        ids: &mut ReqIds,
        area: Rect,
    ) -> Vec<Effect> {
        if self.repos.sizes_req.is_none() {
            return vec![];
        }
        let pending = |n: &String| matches!(self.repos.sizes.get(n), Some(RepoSize::Pending));
        let h = self.height(area, Pane::Repos);
        let start = self.repos.nav.offset.min(self.repos.view.len());
        let in_view: Vec<&String> = self.repos.view[start..]
            .iter()
            .take(h)
            .map(|i| &self.repos.names[*i])
            .filter(|n| pending(n))
            .collect();
        if in_view.is_empty() {
            return vec![];
        }
        // Replies come in queue order: fine while the waiting rows in view are next in line,
        // after at most the few being sized now.
        let next: Vec<&String> = self
            .repos
            .sizes_queue
            .iter()
            .filter(|n| pending(n))
            .take(in_view.len() + SIZES_HEAD)
            .collect();
        if in_view.iter().all(|n| next.contains(n)) {
            return vec![];
        }
        self.request_sizes(profile, ids, area)
    }

    /// Sizes `repo` again (after deletes in it), if the pane had sized it.
    pub fn resize_repo(
        &mut self,
        profile: &str,
        ids: &mut ReqIds,
        area: Rect,
        repo: &str,
    ) -> Vec<Effect> {
        if self.repos.sizes.remove(repo).is_none() {
            return vec![];
        }
        self.request_sizes(profile, ids, area)
    }

    /// Opens `repo` in the tags pane (the sort order stays; the selection starts on the top row).
    pub fn open_repo(
        &mut self,
        profile: &str,
        ids: &mut ReqIds,
        area: Rect,
        repo: String,
    ) -> Vec<Effect> {
        let req = ids.next();
        self.clear(&[Topic::Tags, Topic::Manifest, Topic::Delete]);
        let sort = self.tags.sort;
        self.tags = TagsPane::default();
        self.tags.repo = Some(repo.clone());
        self.tags.state = LoadState::Loading;
        self.tags.list_req = Some(req);
        self.tags.sort = sort;
        self.tags.pinned = true;
        self.manifest = ManifestPane::default();
        vec![Effect::Send(Command::ListTags {
            req,
            profile: profile.to_string(),
            repo,
            // As tall as the pane is once focused (opening a repository focuses it).
            first: layout::list_height(area, Pane::Tags, Pane::Tags),
        })]
    }

    /// Lists `repo` again after a change made here (tags added, an image copied in), selecting
    /// the same tag again once it is listed.
    pub fn reload_repo(
        &mut self,
        profile: &str,
        ids: &mut ReqIds,
        area: Rect,
        repo: String,
    ) -> Vec<Effect> {
        let selected = self.tags.selected().map(str::to_string);
        let fx = self.open_repo(profile, ids, area, repo);
        self.tags.reselect = selected;
        fx
    }

    /// Asks for the details of tags still without them: rows in view first, then the rest of
    /// the (filtered) view, then the tags the filter hides.
    pub fn request_details(&mut self, profile: &str, ids: &mut ReqIds, area: Rect) -> Vec<Effect> {
        let h = self.height(area, Pane::Tags);
        let tags = self.tags.pending_in_view_order(h);
        let Some(repo) = self.tags.repo.clone() else {
            return vec![];
        };
        if tags.is_empty() {
            self.tags.details_req = None;
            return vec![];
        }
        let req = ids.next();
        self.tags.details_req = Some(req);
        vec![Effect::Send(Command::TagDetails {
            req,
            profile: profile.to_string(),
            repo,
            tags,
        })]
    }

    /// Shows `reference` of `repo` in the manifest pane (`parent`: the index it was opened from).
    pub fn open_manifest(
        &mut self,
        profile: &str,
        ids: &mut ReqIds,
        target: (String, String, String),
        parent: Option<Box<ManifestPane>>,
    ) -> Vec<Effect> {
        let req = ids.next();
        self.clear(&[Topic::Manifest]);
        let (repo, reference) = (target.0.clone(), target.1.clone());
        self.manifest = ManifestPane {
            target: Some(target),
            state: LoadState::Loading,
            req: Some(req),
            parent,
            ..Default::default()
        };
        vec![Effect::Send(Command::Inspect {
            req,
            profile: profile.to_string(),
            repo,
            reference,
        })]
    }

    /// Whether this view waits for `req`.
    pub fn waits_for(&self, req: ReqId) -> bool {
        let r = Some(req);
        self.repos.req == r
            || self.repos.sizes_req == r
            || self.tags.list_req == r
            || self.tags.details_req == r
            || self.manifest.req == r
    }

    /// Takes a reply for these panes; a failure is handed back for the app to show.
    pub fn on_event(
        &mut self,
        profile: &str,
        ids: &mut ReqIds,
        area: Rect,
        ev: Event,
    ) -> (Vec<Effect>, Option<Failure>) {
        let (ht, hr) = (
            self.height(area, Pane::Tags),
            self.height(area, Pane::Repos),
        );
        match ev {
            Event::Repos { req, page, done } if self.repos.req == Some(req) => {
                self.repos.names.extend(page);
                self.repos.refilter();
                self.repos.nav.clamp(self.repos.view.len(), hr);
                if done {
                    self.repos.names.sort();
                    self.repos.names.dedup();
                    self.repos.refilter();
                    self.repos.state = LoadState::Loaded;
                    self.unconnected = false;
                    return (self.request_sizes(profile, ids, area), None);
                }
            }
            Event::RepoSize { req, repo, result } if self.repos.sizes_req == Some(req) => {
                let size = match (result, self.repos.sizes.get(&repo)) {
                    (Ok((tags, bytes)), _) => RepoSize::Known { tags, bytes },
                    // The cache's figure stays when the registry cannot be asked.
                    (Err(_), Some(known @ RepoSize::Known { .. })) => *known,
                    (Err(_), _) => RepoSize::Failed,
                };
                self.repos.sizes.insert(repo, size);
            }
            Event::CachedTags {
                req,
                seen,
                table,
                total,
            } if self.tags.list_req == Some(req) => {
                // Stale-while-revalidate: the rows as last seen, marked, until the registry
                // answers. The head of the list comes first (a first screen), then all of it.
                let whole = table.len() >= total;
                // The client sends the registry's list after the cached rows; were it ever
                // first, its rows (being detailed) would win over the cache's.
                if !self.tags.fresh_list {
                    self.tags.load_table(*table, ht);
                    self.tags.mark_all_stale();
                }
                let state = match self.tags.cache {
                    Some(c) if c.state != Freshness::Refreshing => c.state,
                    _ => Freshness::Refreshing,
                };
                self.tags.cache = Some(CacheMark {
                    seen,
                    state,
                    reading: (!whole).then_some(total),
                });
                self.tags.state = LoadState::Loaded;
                self.check_current();
            }
            Event::Tags {
                req,
                page,
                done,
                fetching,
            } if self.tags.list_req == Some(req) => {
                // The registry's list (or its head, the whole following) replaces what was
                // shown, the cached list included: tags that went away disappear, rows known
                // stay.
                self.tags.fresh_list = true;
                self.tags.set_list(page, ht);
                self.tags.mark_coming(&fetching);
                self.tags.partial = !done;
                self.tags.state = LoadState::Loaded;
                if done {
                    self.check_current();
                    // The first screen's details come with the list: the rest is asked for
                    // once they are in (see the `Detail` arm), unless rows in view need more.
                    let mut fx = if self.tags.coming() > 0 && !self.tags.pending_in_view(ht) {
                        vec![]
                    } else {
                        self.request_details(profile, ids, area)
                    };
                    if self.repos.sizes_deferred {
                        fx.extend(self.request_sizes(profile, ids, area));
                    }
                    return (fx, None);
                }
            }
            Event::Detail { req, tag, result }
                if (self.tags.details_req == Some(req) || self.tags.list_req == Some(req))
                    && self.tags.has(&tag) =>
            {
                let was_stale = self.tags.take_stale(&tag);
                let coming = self.tags.coming();
                match result {
                    Ok(r) => self.tags.set_row(&tag, RowState::Loaded(*r), ht),
                    // A cached row stays when checking it failed.
                    Err(_) if was_stale => {}
                    Err(e) => self.tags.set_row(&tag, RowState::Failed(e.to_string()), ht),
                }
                self.check_current();
                // The first screen is in: now the rest (unless already asked for, or the whole
                // list is still on its way: then it asks).
                if coming == 1
                    && self.tags.coming() == 0
                    && self.tags.details_req.is_none()
                    && !self.tags.partial
                {
                    return (self.request_details(profile, ids, area), None);
                }
            }
            Event::CachedRepos {
                req,
                seen,
                names,
                error,
            } if self.repos.req == Some(req) => {
                self.repos.names = names;
                self.repos.names.sort();
                self.repos.names.dedup();
                self.repos.state = LoadState::Loaded;
                self.repos.offline = Some(seen);
                self.repos.refilter();
                self.repos.nav.clamp(self.repos.view.len(), hr);
                let text = format!(
                    "offline: {error} — showing the repositories last seen (cached); r retries"
                );
                // Their sizes as last seen come from the cache too.
                let fx = self.request_sizes(profile, ids, area);
                return (fx, Some(self.failed(Topic::Repos, error, text)));
            }
            Event::Inspected { req, result } if self.manifest.req == Some(req) => match *result {
                Ok(i) => {
                    if self.manifest.target.as_ref().map(|t| &t.0) == self.tags.repo.as_ref() {
                        self.tags.refine_badges(&i.digest, &i.referrers);
                    }
                    self.manifest.lines = serde_json::to_string_pretty(&i.manifest)
                        .unwrap_or_default()
                        .lines()
                        .map(str::to_string)
                        .collect();
                    self.manifest.data = Some(Box::new(i));
                    self.manifest.state = LoadState::Loaded;
                }
                Err(error) => {
                    let text = fail_text(&error);
                    self.manifest.state = LoadState::Failed(text.clone());
                    return (vec![], Some(self.failed(Topic::Manifest, error, text)));
                }
            },
            Event::Failed { req, .. } if self.repos.sizes_req == Some(req) => {
                // Sizes are extras: the rows stay without them.
                self.repos.sizes_req = None;
                self.repos.sizes.retain(|_, s| *s != RepoSize::Pending);
            }
            Event::Failed { req, error }
                if self.tags.cache.is_some()
                    && (self.tags.list_req == Some(req) || self.tags.details_req == Some(req))
                    && offline_error(&error) =>
            {
                // Unreachable: the cached rows stay, marked offline.
                if let Some(c) = &mut self.tags.cache {
                    c.state = Freshness::Offline;
                }
                self.tags.clear_stale();
                self.tags.details_req = None;
                self.tags.state = LoadState::Loaded;
                let text =
                    format!("offline: {error} — showing the tags last seen (cached); r retries");
                let fx = if self.repos.sizes_deferred {
                    self.request_sizes(profile, ids, area)
                } else {
                    vec![]
                };
                return (fx, Some(self.failed(Topic::Tags, error, text)));
            }
            Event::Failed { req, error } => {
                let topic = if self.repos.req == Some(req) {
                    Topic::Repos
                } else if self.tags.list_req == Some(req) {
                    Topic::Tags
                } else if self.tags.details_req == Some(req) {
                    self.tags.details_req = None;
                    Topic::Tags
                } else if self.manifest.req == Some(req) {
                    Topic::Manifest
                } else {
                    return (vec![], None);
                };
                let text = match topic {
                    Topic::Repos => catalog_refused(&error).unwrap_or_else(|| fail_text(&error)),
                    _ => fail_text(&error),
                };
                match topic {
                    Topic::Repos => self.repos.state = LoadState::Failed(text.clone()),
                    Topic::Manifest => self.manifest.state = LoadState::Failed(text.clone()),
                    _ if self.tags.list_req == Some(req) => {
                        self.tags.state = LoadState::Failed(text.clone());
                    }
                    _ => {}
                }
                // Before the first answer, a failure means the registry could not be reached
                // (or credentials not found): say so where "connecting…" was.
                let topic = if self.info.is_none() && self.repos.state != LoadState::Loaded {
                    self.unconnected = true;
                    Topic::Connect
                } else {
                    topic
                };
                // Sizes held back for the tag list go now that it failed.
                let fx = if self.repos.sizes_deferred {
                    self.request_sizes(profile, ids, area)
                } else {
                    vec![]
                };
                return (fx, Some(self.failed(topic, error, text)));
            }
            _ => {}
        }
        (vec![], None)
    }

    /// Cached rows become "current" once the registry's list arrived and every row was checked.
    fn check_current(&mut self) {
        let t = &mut self.tags;
        let checked =
            t.fresh_list && t.none_stale() && t.cache.is_some_and(|c| c.reading.is_none());
        if let Some(c) = &mut t.cache {
            if checked && c.state == Freshness::Refreshing {
                c.state = Freshness::Current;
            }
        }
    }

    /// Whether the registry was unreachable when last asked (the panes show cached data).
    pub fn offline(&self) -> bool {
        self.repos.offline.is_some()
            || self
                .tags
                .cache
                .is_some_and(|c| c.state == Freshness::Offline)
    }

    fn failed(&self, topic: Topic, error: Error, text: String) -> Failure {
        Failure { topic, error, text }
    }
}

/// The registry could not be reached at all (as opposed to answering with an error).
fn offline_error(e: &Error) -> bool {
    matches!(e, Error::ConnectionRefused { .. }) || e.is_transient()
}

/// The error text with what to do next.
pub fn fail_text(e: &Error) -> String {
    let hint = match e {
        Error::Unauthorized { .. } => " — press L to log in",
        Error::ConnectionRefused { .. } | Error::Timeout { .. } | Error::Network { .. } => {
            " — press r to retry"
        }
        _ => "",
    };
    format!("{e}{hint}")
}

/// A repository listing refused although credentials were accepted (a pull-only account): which
/// scope, and how to go on without the catalog.
pub fn catalog_refused(e: &Error) -> Option<String> {
    let registry = match e {
        Error::Unauthorized {
            registry,
            had_credentials: true,
            ..
        }
        | Error::Forbidden { registry, .. } => registry,
        _ => return None,
    };
    Some(format!(
        "{registry} refused the repository list (the catalog, scope registry:catalog:*) to these \
         credentials; a pull-only account cannot list: open a repository by name with :repo NAME \
         (or list them under `repositories` in the profile); if the password is wrong, press L"
    ))
}
