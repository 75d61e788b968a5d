//! Issue #13 in the app: the files view, the copy / promote and add-tag dialogs, and the client
//! events that answer them.

use super::layout::Pane;
use super::overlay::{AddTag, CopyDialog, CopyField, CopyState, FilesView, Overlay};
use super::{App, Effect};
use crate::client_task::Event;
use crate::fmt::{human_size, plural};
use crate::registry::model::Desc;
use crate::sanitize::clean;

impl App {
    /// `(repo, reference, label)` of the manifest shown, or of the selected tag.
    fn content_target(&self) -> Option<(String, String, String)> {
        let v = self.view();
        if matches!(self.focus(), Pane::Manifest | Pane::Layers) {
            if let Some(t) = &v.manifest.target {
                return Some(t.clone());
            }
        }
        let repo = v.tags.repo.clone()?;
        let tag = v.tags.selected()?.to_string();
        Some((repo, tag.clone(), tag))
    }

    /// `f`: the files of the image shown in the layers pane (all layers merged; `[` `]` pick one).
    pub(super) fn open_files(&mut self) -> Vec<Effect> {
        let m = &self.view().manifest;
        let (Some(d), Some((repo, reference, label))) = (&m.data, &m.target) else {
            self.say("open an image first: its layers are listed in the layers pane");
            return vec![];
        };
        // From the tags pane, `f` would act on the selected row (as `c` and `T` do): when that
        // is not the image opened, say so rather than list another image's files.
        if self.focus() == Pane::Tags {
            let t = &self.view().tags;
            if let Some(sel) = t
                .selected()
                .filter(|s| t.repo.as_ref() != Some(repo) || (*s != reference && *s != label))
            {
                let text = format!(
                    "open {} first (Enter): f lists the opened image ({})",
                    clean(sel),
                    clean(label)
                );
                self.say(&text);
                return vec![];
            }
        }
        if d.layers.is_empty() {
            self.say("an index has no layers of its own: open one of its platforms first");
            return vec![];
        }
        let layers: Vec<Desc> = d
            .layers
            .iter()
            .map(|l| Desc {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                size: l.size,
            })
            .collect();
        let (repo, label) = (repo.clone(), label.clone());
        let profile = self.profile().to_string();
        let (view, cmd) = FilesView::open(
            &profile,
            &repo,
            &format!("{repo}:{label}"),
            layers,
            &mut self.ids,
        );
        self.overlay = Overlay::Files(Box::new(view));
        vec![Effect::Send(cmd)]
    }

    /// `c`: the copy / promote dialog for the selected tag or the manifest shown.
    pub(super) fn open_copy(&mut self) -> Vec<Effect> {
        let Some((repo, reference, label)) = self.content_target() else {
            self.say("select a tag to copy");
            return vec![];
        };
        let profiles: Vec<(String, String)> = self
            .profiles
            .iter()
            .zip(&self.views)
            .map(|(p, v)| {
                let host = v
                    .info
                    .as_ref()
                    .map(|i| i.host.clone())
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| p.registry.clone());
                (p.name.clone(), host)
            })
            .collect();
        let to_tag = if crate::registry::digest::is_digest(&reference) {
            "latest".to_string()
        } else {
            reference.clone()
        };
        self.overlay = Overlay::CopyTo(Box::new(CopyDialog {
            profile: self.profile().to_string(),
            to_repo: repo.clone(),
            repo,
            reference,
            label,
            target: self.current,
            profiles,
            to_tag,
            referrers: false,
            field: CopyField::Profile,
            req: None,
            state: CopyState::Editing,
        }));
        vec![]
    }

    /// `T`: add a tag to the selected tag's manifest or the manifest shown.
    pub(super) fn open_add_tag(&mut self) -> Vec<Effect> {
        let Some((repo, reference, label)) = self.content_target() else {
            self.say("select a tag to add a tag to");
            return vec![];
        };
        self.overlay = Overlay::AddTag(Box::new(AddTag {
            profile: self.profile().to_string(),
            repo,
            reference,
            label,
            text: String::new(),
            req: None,
            state: CopyState::Editing,
        }));
        vec![]
    }

    /// Takes the events of the files view and the copy and tag dialogs; hands back the others
    /// (moved back once per event, as `update` moves it in: no box needed).
    #[allow(clippy::result_large_err)]
    pub(super) fn on_content_event(&mut self, ev: Event) -> Result<Vec<Effect>, Event> {
        match ev {
            Event::FilesProgress { req, read, total } => {
                if let Overlay::Files(f) = &mut self.overlay {
                    f.progress(req, read, total);
                }
            }
            Event::Files { req, result } => {
                if let Overlay::Files(f) = &mut self.overlay {
                    f.done(req, result.map_err(|e| e.to_string()));
                }
            }
            Event::CopyProgress {
                req,
                blobs,
                total,
                bytes,
            } => {
                if let Overlay::CopyTo(c) = &mut self.overlay {
                    if c.req == Some(req) {
                        c.state = CopyState::Running {
                            blobs,
                            total,
                            bytes,
                        };
                    }
                }
            }
            Event::Copied { req, result } => {
                let text = match &*result {
                    Ok(r) => {
                        let mut t = format!(
                            "copied {}: {} copied, {} mounted, {} already there ({})",
                            crate::registry::digest::short(&r.digest),
                            plural(r.blobs_copied, "blob"),
                            r.blobs_mounted,
                            r.blobs_present,
                            human_size(r.bytes_copied)
                        );
                        if r.referrers > 0 {
                            t.push_str(&format!(", {}", plural(r.referrers, "referrer")));
                        }
                        for w in &r.warnings {
                            t.push_str(&format!("; warning: {}", crate::sanitize::clean(w)));
                        }
                        Ok(t)
                    }
                    Err(e) => Err(format!("copy failed: {e}")),
                };
                if let (Err(e @ crate::registry::Error::TagsWouldMove { .. }), Overlay::CopyTo(c)) =
                    (&*result, &mut self.overlay)
                {
                    if c.req == Some(req) {
                        c.req = None;
                        c.state = CopyState::ConfirmMove(e.to_string());
                        return Ok(vec![]);
                    }
                }
                match &mut self.overlay {
                    Overlay::CopyTo(c) if c.req == Some(req) => {
                        c.req = None;
                        c.state = match &text {
                            Ok(t) => CopyState::Done(format!("{t} → {}", c.preview())),
                            Err(e) => CopyState::Failed(e.clone()),
                        };
                        // Copied into the repository in view: its new tag shows (the selection
                        // stays); into another repository of this registry: the list has it.
                        let into = c.profiles.get(c.target).map(|(p, _)| p.clone());
                        let to_repo = c.to_repo.clone();
                        if result.is_ok() && into.as_deref() == Some(self.profile()) {
                            if self.view().tags.repo.as_deref() == Some(to_repo.as_str()) {
                                return Ok(self.reload_repo(to_repo));
                            }
                            if !self.view().repos.names.contains(&to_repo) {
                                return Ok(self.load_repos());
                            }
                        }
                    }
                    // The dialog was closed: say it in the toast.
                    _ => match text {
                        Ok(t) => self.say(t),
                        Err(e) => self.alert(e),
                    },
                }
            }
            Event::Tagged {
                req,
                profile,
                repo,
                result,
            } => {
                let text = match &result {
                    Ok((d, tags)) => Ok(format!(
                        "tagged {} as {}",
                        crate::registry::digest::short(d),
                        clean(&tags.join(", "))
                    )),
                    Err(e) => Err(format!("tagging failed: {e}")),
                };
                if let (Err(e @ crate::registry::Error::TagsWouldMove { .. }), Overlay::AddTag(a)) =
                    (&result, &mut self.overlay)
                {
                    if a.req == Some(req) {
                        a.req = None;
                        a.state = CopyState::ConfirmMove(e.to_string());
                        return Ok(vec![]);
                    }
                }
                if let Overlay::AddTag(a) = &mut self.overlay {
                    if a.req == Some(req) {
                        a.req = None;
                        a.state = match &text {
                            Ok(t) => CopyState::Done(t.clone()),
                            Err(e) => CopyState::Failed(e.clone()),
                        };
                    }
                }
                // The new tags show in the list when it is this repository's.
                let shown = self.profile() == profile
                    && self.view().tags.repo.as_deref() == Some(repo.as_str());
                if result.is_ok() && shown {
                    return Ok(self.reload_repo(repo));
                }
            }
            ev => return Err(ev),
        }
        Ok(vec![])
    }
}
