//! Cleanup in the app: marking tags, the rules dialog, the preview/confirm/progress dialog.

use super::keymap::Action;
use super::layout::Pane;
use super::messages::Topic;
use super::overlay::{Overlay, PruneDialog, PruneStage, RuleDialog};
use super::panes::LoadState;
use super::{App, Effect};
use crate::client_task::{Command, Event};
use crate::fmt::{GC_AFTER_PRUNE, human_size, plural};
use crate::registry::prune::{Outcome, Protected, Rules};
use crate::sanitize::clean;

impl App {
    /// The current profile's protected tag globs.
    pub fn protected(&self) -> &Protected {
        &self.profiles[self.current].protected
    }

    fn can_delete(&self) -> bool {
        self.view()
            .info
            .as_ref()
            .is_some_and(|i| i.capabilities.delete_tag || i.capabilities.delete_digest)
    }

    /// Space, V, *, u and R in the tags pane.
    pub(super) fn on_mark_action(&mut self, a: Action) -> Vec<Effect> {
        if self.focus() != Pane::Tags || self.view().tags.repo.is_none() {
            self.say("marking works in the tags pane");
            return vec![];
        }
        let protected = self.protected().clone();
        let h = self.height(Pane::Tags);
        let t = &mut self.view_mut().tags;
        match a {
            Action::Mark => {
                let Some(tag) = t.selected().map(str::to_string) else {
                    return vec![];
                };
                if let Err(e) = t.toggle_mark(&tag, &protected) {
                    self.say(e);
                    return vec![];
                }
                t.move_by(1, h);
            }
            Action::MarkRange => {
                if t.anchor.is_none() {
                    self.say("mark a tag with Space first, then V marks up to here");
                    return vec![];
                }
                t.mark_range(&protected);
            }
            Action::InvertMarks => t.invert_marks(&protected),
            Action::ClearMarks => {
                t.marked.clear();
                t.anchor = None;
            }
            Action::Rules => {
                let pull_dates = self.view().info.as_ref().is_some_and(|i| i.pull_dates);
                let mut d = RuleDialog::with_pull_dates(pull_dates);
                d.error = Some("fill in at least one rule".into());
                self.overlay = Overlay::Rules(Box::new(d));
                return vec![];
            }
            _ => {}
        }
        // The status bar shows the count and size.
        self.messages.toast = None;
        vec![]
    }

    /// "3 marked · 12 MiB …" for the toast after rules are applied.
    pub fn marked_summary(&self) -> String {
        let t = &self.view().tags;
        format!(
            "{} marked · {} (each blob counted once; d previews what is freed)",
            t.marked.len(),
            human_size(t.marked_size())
        )
    }

    /// `d` with marked tags: ask the client task for the preview.
    pub(super) fn ask_prune(&mut self) -> Vec<Effect> {
        if self.view().offline() {
            self.say("offline: the registry is unreachable, and cleaning up needs it (r retries)");
            return vec![];
        }
        if !self.can_delete() {
            self.say("this profile cannot delete (read-only demo or provider without delete)");
            return vec![];
        }
        let Some(repo) = self.view().tags.repo.clone() else {
            return vec![];
        };
        let req = self.ids.next();
        let profile = self.profile().to_string();
        let marked: Vec<String> = self.view().tags.marked.iter().cloned().collect();
        let gc_note = self.view().info.as_ref().is_some_and(|i| i.needs_gc);
        self.overlay = Overlay::Prune(Box::new(PruneDialog {
            profile: profile.clone(),
            repo: repo.clone(),
            req,
            stage: PruneStage::Planning,
            confirm: false,
            scroll: 0,
            gc_note,
        }));
        vec![Effect::Send(Command::PlanPrune {
            req,
            profile,
            repo,
            marked,
            protected: self.protected().clone(),
        })]
    }

    /// How many tags the rules dialog's rules would mark now.
    pub(super) fn refresh_rule_count(&mut self) {
        let now = self.now;
        let protected = self.protected().clone();
        let dates = self.view().tags.dates();
        if let Overlay::Rules(d) = &mut self.overlay {
            match d.rules() {
                Ok(r) if r.is_empty() => {
                    d.error = Some("fill in at least one rule".into());
                    d.would_mark = 0;
                }
                Ok(r) => {
                    d.error = None;
                    d.would_mark =
                        select(&r, &self.views[self.current].tags, &dates, &protected, now).len();
                }
                Err(e) => {
                    d.error = Some(e);
                    d.would_mark = 0;
                }
            }
        }
    }

    /// Marks what `rules` select, unless "keep newest N" would decide on dates still loading.
    pub(super) fn apply_rules(&mut self, rules: Rules) {
        let t = &self.view().tags;
        let pending = t.names.len() - t.done();
        if rules.keep.is_some() && (pending > 0 || t.state != LoadState::Loaded) {
            if let Overlay::Rules(d) = &mut self.overlay {
                d.error = Some(format!(
                    "keep newest N needs every tag's date: {pending} still loading, try again in a moment"
                ));
            }
            return;
        }
        self.overlay = Overlay::None;
        let now = self.now;
        let protected = self.protected().clone();
        let t = &mut self.view_mut().tags;
        let marks = select(&rules, t, &t.dates(), &protected, now);
        t.marked = marks.into_iter().collect();
        let mut msg = self.marked_summary();
        if pending > 0 {
            msg.push_str(&format!(
                "; {} still loading were left unmarked",
                plural(pending, "tag")
            ));
        }
        self.say(msg);
    }

    /// Replies for the cleanup dialog.
    pub(super) fn on_prune_event(&mut self, ev: Event) -> Vec<Effect> {
        let dialog = match &mut self.overlay {
            Overlay::Prune(d) => Some(d),
            _ => None,
        };
        match ev {
            Event::Planned { req, result } => {
                if let Some(d) = dialog.filter(|d| d.req == req) {
                    d.stage = match *result {
                        Ok(p) => PruneStage::Ready(Box::new(p)),
                        Err(e) => PruneStage::Failed(format!("could not prepare the cleanup: {e}")),
                    };
                }
                vec![]
            }
            Event::PruneProgress {
                req, done, outcome, ..
            } => {
                if let Some(d) = dialog.filter(|d| d.req == req) {
                    if let PruneStage::Running {
                        done: n, results, ..
                    } = &mut d.stage
                    {
                        *n = done;
                        results.push(outcome);
                    }
                }
                vec![]
            }
            Event::PruneDone {
                req,
                profile,
                repo,
                results,
            } => {
                let gone: Vec<String> = results
                    .iter()
                    .flat_map(|o| match o {
                        Outcome::Untagged { tag, .. } => vec![tag.clone()],
                        Outcome::Deleted { tags, .. } => tags.clone(),
                        _ => vec![],
                    })
                    .collect();
                let ok = results.iter().filter(|o| o.ok()).count();
                let mut gc = false;
                if let Some(d) = dialog.filter(|d| d.req == req) {
                    gc = d.gc_note;
                    let plan = match &d.stage {
                        PruneStage::Running { plan, .. } => plan.clone(),
                        _ => Default::default(),
                    };
                    d.stage = PruneStage::Done {
                        plan,
                        results: results.clone(),
                    };
                }
                let mut fx = vec![];
                if let Some(i) = self.profiles.iter().position(|p| p.name == profile) {
                    fx = self.drop_tags(i, &repo, &gone);
                    if self.views[i].tags.repo.as_deref() == Some(repo.as_str()) {
                        self.views[i].tags.marked.clear();
                    }
                    self.views[i].clear(&[Topic::Delete]);
                    // The repositories pane's size of it is out of date.
                    let area = self.area();
                    fx.extend(self.views[i].resize_repo(&profile, &mut self.ids, area, &repo));
                }
                let mut msg = format!(
                    "cleanup of {}: {ok} of {} done",
                    clean(&repo),
                    results.len()
                );
                if gc {
                    msg.push_str(&format!("; {GC_AFTER_PRUNE}"));
                }
                self.say(msg);
                fx
            }
            _ => vec![],
        }
    }
}

/// What `rules` mark among the loaded tags: by date as [`Rules::select`], and with
/// "unpulled for", only tags not pulled since `now - unpulled_for` (never pulled counts; a tag
/// whose details are still loading is not marked).
fn select(
    rules: &Rules,
    tags: &super::panes::TagsPane,
    dates: &[(String, Option<i64>)],
    protected: &Protected,
    now: i64,
) -> Vec<String> {
    let mut out = rules.select(dates, protected, now);
    if let Some(age) = rules.unpulled_for {
        out.retain(|t| match tags.pulled_of(t) {
            Some(Some(None)) => true,
            Some(Some(Some(at))) => {
                crate::registry::model::unix_seconds(at).is_some_and(|d| d <= now - age)
            }
            _ => false,
        });
    }
    out
}
