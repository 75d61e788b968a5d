//! Keys in the panes: drilling in and out, moving and scrolling, reload, copy and delete.

use super::keymap::Action;
use super::layout::Pane;
use super::overlay::{ConfirmDelete, CopyMenu, DeleteChoice, Overlay};
use super::panes::{LoadState, ManifestPane};
use super::{App, Effect};
use crate::client_task::Command;
use crate::sanitize::clean;

impl App {
    /// Enter: open the repository, the tag's manifest, an index's platform, the layers.
    pub(super) fn enter(&mut self) -> Vec<Effect> {
        let i = self.current;
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
                let v = &mut self.views[i];
                v.open_manifest(
                    &self.profiles[i].name,
                    &mut self.ids,
                    (repo, tag.clone(), tag),
                    None,
                )
            }
            Pane::Manifest => {
                let m = &self.view().manifest;
                let (Some(data), Some((repo, _, label))) = (&m.data, &m.target) else {
                    return vec![];
                };
                if !m.lines.is_empty() && m.choices() > 0 {
                    // The platforms of an index, then the referrers: each opens as an image does.
                    let plats = m.platform_choices();
                    let sel = m.platforms.selected;
                    let picked = match data.platforms.get(sel).filter(|_| sel < plats) {
                        Some(p) => Some((p.digest.clone(), p.platform.clone())),
                        None => data
                            .referrers
                            .get(sel - plats)
                            .map(|r| (r.digest.clone(), r.kind.label())),
                    };
                    if let Some((digest, what)) = picked {
                        let target = (repo.clone(), digest, format!("{label} › {what}"));
                        let v = &mut self.views[i];
                        let parent = Box::new(std::mem::take(&mut v.manifest));
                        return v.open_manifest(
                            &self.profiles[i].name,
                            &mut self.ids,
                            target,
                            Some(parent),
                        );
                    }
                }
                self.view_mut().focus = Some(Pane::Layers);
                vec![]
            }
            Pane::Layers => vec![],
        }
    }

    /// Esc: back to the index a platform was opened from, else to the pane on the left.
    pub(super) fn back(&mut self, focus: Pane) {
        if focus == Pane::Manifest {
            if let Some(parent) = self.view_mut().manifest.parent.take() {
                self.view_mut().manifest = *parent;
                return;
            }
        }
        let prev = match focus {
            Pane::Repos | Pane::Tags => Pane::Repos,
            Pane::Manifest => Pane::Tags,
            Pane::Layers => Pane::Manifest,
        };
        self.view_mut().focus = Some(prev);
    }

    /// `r`: reload the focused pane.
    pub(super) fn refresh(&mut self, focus: Pane) -> Vec<Effect> {
        match focus {
            Pane::Repos => self.load_repos(),
            Pane::Tags => match self.view().tags.repo.clone() {
                Some(r) => self.open_repo(r),
                None => vec![],
            },
            Pane::Manifest | Pane::Layers => match self.view().manifest.target.clone() {
                Some(target) => {
                    let i = self.current;
                    let v = &mut self.views[i];
                    let parent = v.manifest.parent.take();
                    v.open_manifest(&self.profiles[i].name, &mut self.ids, target, parent)
                }
                None => vec![],
            },
        }
    }

    /// ↑↓, PgUp/PgDn, g/G in the focused pane.
    pub(super) fn navigate(&mut self, a: Action) -> Vec<Effect> {
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
        let platforms = matches!(a, Action::Up | Action::Down);
        self.move_in(focus, delta, platforms)
    }

    /// Moves the selection of a list pane (or scrolls a text pane) by `delta` rows;
    /// `platforms`: in the manifest pane, move in an index's platform list.
    pub(super) fn move_in(&mut self, pane: Pane, delta: isize, platforms: bool) -> Vec<Effect> {
        let area = self.area();
        let layers_width = self
            .areas()
            .get(Pane::Layers)
            .map(|r| r.width.saturating_sub(2) as usize);
        let layers_height = self
            .areas()
            .get(Pane::Layers)
            .map(|r| r.height.saturating_sub(2) as usize)
            .unwrap_or(1);
        let (now, dates) = (self.now, self.dates);
        let v = self.view_mut();
        let h = v.height(area, pane);
        match pane {
            Pane::Repos => {
                let len = v.repos.view.len();
                v.repos.nav.move_by(delta, len, h);
                vec![]
            }
            Pane::Tags => {
                let before = v.tags.nav.offset;
                v.tags.move_by(delta, h);
                let moved = v.tags.nav.offset != before;
                if moved && v.tags.pending_in_view(h) && v.tags.details_loading() {
                    // Reprioritise: rows now in view load first.
                    return self.request_details();
                }
                vec![]
            }
            Pane::Manifest => {
                let m = &mut v.manifest;
                let choices = m.choices();
                if choices > 0 && platforms {
                    m.platforms.move_by(delta, choices, choices);
                } else {
                    let max = m.lines.len().saturating_sub(1) as isize;
                    m.scroll = (m.scroll as isize)
                        .saturating_add(delta)
                        .clamp(0, max.max(0)) as usize;
                }
                vec![]
            }
            Pane::Layers => {
                let m = &mut v.manifest;
                // The last line stops at the bottom: never scrolled past the content.
                let lines = layers_width
                    .map(|w| m.info_lines(now, dates, w).len())
                    .unwrap_or(0);
                let max = lines.saturating_sub(layers_height) as isize;
                m.layers_scroll = (m.layers_scroll as isize)
                    .saturating_add(delta)
                    .clamp(0, max.max(0)) as usize;
                vec![]
            }
        }
    }

    fn selected_row(&self) -> Option<(String, crate::registry::model::TagRow)> {
        let t = &self.view().tags;
        let repo = t.repo.clone()?;
        let tag = t.selected()?;
        Some((repo, t.row(tag)?))
    }

    /// `d` on one tag: the confirmation dialog, and a check of which tags share its digest.
    pub(super) fn ask_delete(&mut self) -> Vec<Effect> {
        if self.view().offline() {
            self.say("offline: the registry is unreachable, and deleting needs it (r retries)");
            return vec![];
        }
        if self.focus() == Pane::Manifest {
            if let Some(fx) = self.ask_delete_opened() {
                return fx;
            }
        }
        if self.focus() != Pane::Tags {
            self.say("select a tag in the tags pane to delete it");
            return vec![];
        }
        let Some(tag) = self.view().tags.selected().map(str::to_string) else {
            return vec![];
        };
        let protected = &self.profiles[self.current].protected;
        if protected.covers(&tag) {
            let text = format!(
                "{} is protected: protected_tags of profile {} ({}) keeps it from d and cleanup",
                clean(&tag),
                clean(self.profile()),
                clean(&protected.0.join(", "))
            );
            self.say(text);
            return vec![];
        }
        let Some((repo, row)) = self.selected_row() else {
            self.say(format!("details of {} are still loading", clean(&tag)));
            return vec![];
        };
        if let Some(lock) = &row.locked {
            self.say(format!(
                "{} is locked by the registry ({lock}): it refuses to delete it",
                clean(&tag),
                lock = clean(lock)
            ));
            return vec![];
        }
        let info = self.view().info.clone().unwrap_or_default();
        let (can_untag, can_digest) = (
            info.capabilities.delete_tag,
            info.capabilities.delete_digest,
        );
        if !can_untag && !can_digest {
            self.say("this profile cannot delete (read-only demo or provider without delete)");
            return vec![];
        }
        let req = self.ids.next();
        let siblings = self.view().tags.siblings(&tag);
        // A sibling the service locks goes with the manifest: only the tag may go.
        let mut limits = info.limits();
        let locked_sibling = siblings.iter().find_map(|s| {
            let lock = self.view().tags.lock_of(s)?;
            Some(format!(
                "deleting the manifest would remove {}, locked by the registry ({})",
                clean(s),
                clean(lock)
            ))
        });
        let can_digest = can_digest && locked_sibling.is_none();
        limits.extend(locked_sibling);
        let profile = self.profile().to_string();
        self.overlay = Overlay::ConfirmDelete(ConfirmDelete {
            profile: profile.clone(),
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
            limits,
            running: None,
            referrers: Vec::new(),
        });
        vec![Effect::Send(Command::TagsOnDigest {
            req,
            profile,
            repo,
            digest: row.digest,
        })]
    }

    /// `d` in the manifest pane on an artifact (or platform) opened by digest: delete that
    /// manifest (a referrer leaves its subject's fallback index with it).
    fn ask_delete_opened(&mut self) -> Option<Vec<Effect>> {
        let m = &self.view().manifest;
        let (repo, reference, _) = m.target.clone()?;
        let d = m.data.as_ref()?;
        if m.parent.is_none() || !crate::registry::digest::is_digest(&reference) {
            return None;
        }
        let (digest, size) = (d.digest.clone(), d.size);
        let info = self.view().info.clone().unwrap_or_default();
        if !info.capabilities.delete_digest {
            self.say(info.why_no_digest_delete());
            return Some(vec![]);
        }
        let req = self.ids.next();
        let profile = self.profile().to_string();
        self.overlay = Overlay::ConfirmDelete(ConfirmDelete {
            profile: profile.clone(),
            repo: repo.clone(),
            tag: digest.clone(),
            digest: digest.clone(),
            size,
            siblings: vec![],
            checked: false,
            siblings_req: Some(req),
            choice: DeleteChoice::Cancel,
            can_untag: false,
            can_delete_digest: true,
            indexes: Vec::new(),
            index_warned: false,
            notice: None,
            limits: vec![],
            running: None,
            referrers: Vec::new(),
        });
        Some(vec![Effect::Send(Command::TagsOnDigest {
            req,
            profile,
            repo,
            digest,
        })])
    }

    /// After a manifest opened by digest was deleted: back to what it was opened from, reloaded
    /// (its referrers changed).
    pub(super) fn after_delete(&mut self, profile: &str, digest: &str) -> Vec<Effect> {
        let Some(i) = self.profiles.iter().position(|p| p.name == profile) else {
            return vec![];
        };
        let v = &mut self.views[i];
        if v.manifest.target.as_ref().map(|t| t.1.as_str()) != Some(digest) {
            return vec![];
        }
        let Some(parent) = v.manifest.parent.take() else {
            return vec![];
        };
        let Some(target) = parent.target.clone() else {
            return vec![];
        };
        let grand = parent.parent;
        v.open_manifest(&self.profiles[i].name, &mut self.ids, target, grand)
    }

    /// `y`: the copy menu for the selected tag, or the manifest shown.
    pub(super) fn copy_menu(&mut self) -> Vec<Effect> {
        let m: &ManifestPane = &self.view().manifest;
        let (repo, tag, digest) = match (self.focus(), self.selected_row(), &m.data, &m.target) {
            (Pane::Manifest | Pane::Layers, _, Some(d), Some((r, t, _))) => {
                (r.clone(), t.clone(), d.digest.clone())
            }
            (_, Some((r, row)), _, _) => (r, row.tag.clone(), row.digest.clone()),
            _ => {
                self.say("nothing to copy yet: select a tag whose details have loaded");
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
}

impl ManifestPane {
    /// Rows of an index's platform list that Enter opens (none for a single image).
    pub fn platform_choices(&self) -> usize {
        match &self.data {
            Some(d) if d.platforms.len() > 1 => d.platforms.len(),
            _ => 0,
        }
    }

    /// Rows ↑↓ select and Enter opens: the platforms of an index, then the referrers.
    pub fn choices(&self) -> usize {
        self.platform_choices() + self.data.as_ref().map_or(0, |d| d.referrers.len())
    }
}
