//! Replies from the client task: pane replies go to the profile that asked (stale ones are
//! dropped), the rest to the dialog waiting for them.

use super::layout::Pane;
use super::messages::{Level, Topic};
use super::overlay::Overlay;
use super::panes::ManifestPane;
use super::{App, Effect};
use crate::client_task::{Deleted, Event, ReqId};
use crate::fmt::{GC_REMINDER, plural};
use crate::registry::Error;
use crate::sanitize::clean;

impl App {
    /// The profile whose panes are waiting for `req`.
    fn owner(&self, req: ReqId) -> Option<usize> {
        self.views.iter().position(|v| v.waits_for(req))
    }

    fn index_of(&self, profile: &str) -> Option<usize> {
        self.profiles.iter().position(|p| p.name == profile)
    }

    pub(super) fn on_event(&mut self, ev: Event) -> Vec<Effect> {
        let pane_req = match &ev {
            Event::Repos { req, .. }
            | Event::Tags { req, .. }
            | Event::Detail { req, .. }
            | Event::Inspected { req, .. }
            | Event::RepoSize { req, .. }
            | Event::CachedTags { req, .. }
            | Event::CachedRepos { req, .. }
            | Event::Failed { req, .. } => Some(*req),
            _ => None,
        };
        let Some(req) = pane_req else {
            return self.on_app_event(ev);
        };
        // Replies go to the profile that asked, even when another one is shown now; a reply
        // nobody waits for any more is stale and dropped.
        let Some(i) = self.owner(req) else {
            return vec![];
        };
        let area = self.area();
        let (fx, failure) = self.views[i].on_event(&self.profiles[i].name, &mut self.ids, area, ev);
        if let Some(f) = failure {
            self.fail(i, f.topic, f.text);
            if i == self.current {
                self.maybe_login(&f.error);
            }
        }
        fx
    }

    /// A 401 without credentials opens the login dialog, once per profile.
    fn maybe_login(&mut self, e: &Error) {
        let anonymous = matches!(
            e,
            Error::Unauthorized {
                had_credentials: false,
                ..
            }
        );
        let takes_login = self.view().info.as_ref().is_some_and(|i| i.login);
        if anonymous && takes_login && !self.view().login_prompted && !self.overlay.is_open() {
            self.view_mut().login_prompted = true;
            self.ask_login(Some("the registry needs credentials".into()));
        }
    }

    fn on_app_event(&mut self, ev: Event) -> Vec<Effect> {
        match ev {
            Event::Connected { profile, info } => {
                if let Some(i) = self.index_of(&profile) {
                    if let Some(w) = &info.warning {
                        if self.views[i].info.as_ref().and_then(|x| x.warning.as_ref()) != Some(w) {
                            self.warn(w.clone());
                        }
                    }
                    let v = &mut self.views[i];
                    v.info = Some(*info);
                    v.unconnected = false;
                    v.clear(&[Topic::Connect]);
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
                                c.referrers = users.referrers;
                                c.checked = true;
                            }
                            Err(e) => {
                                let text = format!("could not check other tags: {e}");
                                let i = self.current;
                                self.fail(i, Topic::Delete, text);
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
                if let Some(i) = self.index_of(&profile) {
                    self.views[i].note = (!text.is_empty()).then_some(text);
                }
                vec![]
            }
            ev
            @ (Event::Planned { .. } | Event::PruneProgress { .. } | Event::PruneDone { .. }) => {
                self.on_prune_event(ev)
            }
            Event::Found { req, result } => {
                if let Overlay::Search(s) = &mut self.overlay {
                    if s.req == Some(req) {
                        s.req = None;
                        s.selected = 0;
                        s.results = Some(result.map_err(|e| e.to_string()));
                    }
                }
                vec![]
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
                        if let Some(i) = self.index_of(&profile) {
                            self.views[i].info = Some(*info);
                            self.views[i].unconnected = false;
                            self.views[i].error = None;
                        }
                        self.overlay = Overlay::None;
                        self.say(match saved {
                            Some(s) => format!("logged in ({who}); saved to {s}"),
                            None => format!("logged in ({who}) for this session"),
                        });
                        let mut fx = self.load_repos();
                        if let Some(repo) = self.view().tags.repo.clone() {
                            fx.extend(self.open_repo(repo));
                        }
                        fx
                    }
                    Err(e) => {
                        l.error = Some(e.to_string());
                        self.messages
                            .record(self.now, Level::Error, &format!("login: {e}"));
                        vec![]
                    }
                }
            }
            _ => vec![],
        }
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
                    let check = c.recheck(e.to_string(), &mut self.ids);
                    return vec![Effect::Send(check)];
                }
                self.overlay = Overlay::None;
            }
        }
        let Some(i) = self.index_of(&profile) else {
            return vec![];
        };
        match result {
            Ok(d) => {
                let gone: Vec<String> = match &d {
                    Deleted::Tag { tag, .. } => vec![tag.clone()],
                    Deleted::Manifest { tags, .. } => tags.clone(),
                };
                let mut resize = self.drop_tags(i, &repo, &gone);
                self.views[i].clear(&[Topic::Delete]);
                let area = self.area();
                let profile = self.profiles[i].name.clone();
                resize.extend(self.views[i].resize_repo(&profile, &mut self.ids, area, &repo));
                self.say(match d {
                    Deleted::Tag { tag, .. } => {
                        format!("removed tag {}; {GC_REMINDER}", clean(&tag))
                    }
                    Deleted::Manifest { tags, warnings, .. } => {
                        let mut t = format!(
                            "deleted the manifest and {}; {GC_REMINDER}",
                            plural(tags.len(), "tag")
                        );
                        for w in &warnings {
                            t.push_str(&format!("; warning: {}", clean(w)));
                        }
                        t
                    }
                });
                return resize;
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
                self.fail(i, Topic::Delete, t.clone());
                // The registry may have changed in ways we cannot tell: show it as it is now.
                if unsure && i == self.current && self.view().tags.repo.as_deref() == Some(&repo) {
                    let fx = self.open_repo(repo);
                    // Reopening clears the delete's error; it still has to be read.
                    self.views[i].error = Some((Topic::Delete, t));
                    return fx;
                }
            }
        }
        vec![]
    }

    /// Removes deleted tags from profile `i`'s panes (and the manifest pane if it showed one).
    /// When the last row coming with the list went, the rest of the details are asked for
    /// here (its detail, which would have asked, is for a tag no longer listed).
    pub(super) fn drop_tags(&mut self, i: usize, repo: &str, gone: &[String]) -> Vec<Effect> {
        let area = self.area();
        let v = &mut self.views[i];
        let h = v.height(area, Pane::Tags);
        if v.tags.repo.as_deref() != Some(repo) {
            return vec![];
        }
        let coming = v.tags.coming();
        v.tags.remove(gone, h);
        if v.manifest
            .target
            .as_ref()
            .is_some_and(|(r, t, _)| r == repo && gone.contains(t))
        {
            v.manifest = ManifestPane::default();
        }
        if coming > 0 && v.tags.coming() == 0 && v.tags.details_req.is_none() && !v.tags.partial {
            let profile = self.profiles[i].name.clone();
            return v.request_details(&profile, &mut self.ids, area);
        }
        vec![]
    }
}
