//! The delete confirmation for one tag: what goes, what stays, and a second confirmation when
//! the manifest is a platform of a tagged index.

use crossterm::event::KeyCode;

use super::{Key, Reply};
use crate::app::ReqIds;
use crate::client_task::{Command, ReqId};

/// The choices of the delete dialog, Cancel first (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteChoice {
    Cancel,
    /// Remove this tag only; sibling tags stay.
    ThisTag,
    /// Delete the manifest and every tag on it.
    All,
    /// Delete the manifest, its tags and everything that refers to it.
    WithReferrers,
}

/// The delete confirmation for one tag.
#[derive(Debug, Clone)]
pub struct ConfirmDelete {
    /// The profile the tag belongs to.
    pub profile: String,
    pub repo: String,
    pub tag: String,
    pub digest: String,
    pub size: u64,
    /// Other tags on the same digest.
    pub siblings: Vec<String>,
    /// Whether `siblings` comes from a full check of the repository (not just loaded rows).
    pub checked: bool,
    pub siblings_req: Option<ReqId>,
    pub choice: DeleteChoice,
    pub can_untag: bool,
    pub can_delete_digest: bool,
    /// Why an unavailable choice is missing (from the backend).
    pub limits: Vec<String>,
    /// Set while the delete runs.
    pub running: Option<ReqId>,
    /// `(tag, index digest)` of tagged indexes that list this manifest (from the full check).
    pub indexes: Vec<(String, String)>,
    /// Set once the user chose "delete manifest" and was warned that it breaks `indexes`: the
    /// next Enter confirms that too.
    pub index_warned: bool,
    /// Why the dialog asks again (the registry changed since the first confirmation).
    pub notice: Option<String>,
    /// What refers to the manifest (from the full check), offered for deletion with it.
    pub referrers: Vec<crate::registry::referrers::Referrer>,
}

impl ConfirmDelete {
    /// `tag (index 1a2b…)` of each index that lists this manifest.
    pub fn index_names(&self) -> Vec<String> {
        self.indexes
            .iter()
            .map(|(t, d)| format!("{t} (index {})", crate::registry::digest::short(d)))
            .collect()
    }

    /// The choices offered, in order.
    pub fn choices(&self) -> Vec<DeleteChoice> {
        let mut v = vec![DeleteChoice::Cancel];
        if self.can_untag {
            v.push(DeleteChoice::ThisTag);
        }
        if self.can_delete_digest {
            v.push(DeleteChoice::All);
            if !self.referrers.is_empty() {
                v.push(DeleteChoice::WithReferrers);
            }
        }
        v
    }

    /// The label of a choice's button.
    pub fn label(&self, choice: DeleteChoice) -> String {
        match choice {
            DeleteChoice::Cancel => "Cancel".into(),
            DeleteChoice::ThisTag => "Remove this tag only".into(),
            DeleteChoice::All if self.tag == self.digest && self.siblings.is_empty() => {
                "Delete this manifest".into()
            }
            DeleteChoice::All if self.siblings.is_empty() => "Delete manifest and its tag".into(),
            DeleteChoice::All => {
                format!("Delete manifest and all {} tags", self.siblings.len() + 1)
            }
            DeleteChoice::WithReferrers => format!(
                "…and its {}",
                crate::fmt::plural(self.referrers.len(), "referrer")
            ),
        }
    }

    /// Asks the registry again who uses the manifest (after it changed under the dialog): the
    /// dialog goes back to Cancel and says why.
    pub fn recheck(&mut self, why: String, ids: &mut ReqIds) -> Command {
        let req = ids.next();
        self.running = None;
        self.checked = false;
        self.index_warned = false;
        self.choice = DeleteChoice::Cancel;
        self.notice = Some(why);
        self.siblings_req = Some(req);
        Command::TagsOnDigest {
            req,
            profile: self.profile.clone(),
            repo: self.repo.clone(),
            digest: self.digest.clone(),
        }
    }

    /// ←/→ choose, Enter confirms the choice, Esc cancels; nothing while the delete runs.
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds) -> Option<Reply> {
        if self.running.is_some() {
            return None;
        }
        let choices = self.choices();
        let pos = choices.iter().position(|x| *x == self.choice).unwrap_or(0);
        match k.event.code {
            KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab => {
                self.choice = choices[pos.saturating_sub(1)];
                self.index_warned = false;
                None
            }
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab => {
                self.choice = choices[(pos + 1).min(choices.len() - 1)];
                self.index_warned = false;
                None
            }
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('n') => Some(Reply::Close),
            KeyCode::Enter => self.confirm(ids),
            _ => None,
        }
    }

    fn confirm(&mut self, ids: &mut ReqIds) -> Option<Reply> {
        match self.choice {
            DeleteChoice::Cancel => Some(Reply::Close),
            DeleteChoice::ThisTag => {
                let req = ids.next();
                self.running = Some(req);
                Some(Reply::Send(Command::DeleteTag {
                    req,
                    profile: self.profile.clone(),
                    repo: self.repo.clone(),
                    tag: self.tag.clone(),
                    digest: self.digest.clone(),
                }))
            }
            DeleteChoice::All | DeleteChoice::WithReferrers => {
                if !self.checked {
                    return Some(Reply::Say(
                        "still checking which tags share this digest…".into(),
                    ));
                }
                if !self.indexes.is_empty() && !self.index_warned {
                    // A second, explicit confirmation that names the indexes.
                    self.index_warned = true;
                    return None;
                }
                let req = ids.next();
                self.running = Some(req);
                // Opened by digest (an artifact): only the tags found on it.
                let mut tags = if self.tag == self.digest {
                    vec![]
                } else {
                    vec![self.tag.clone()]
                };
                tags.extend(self.siblings.iter().cloned());
                let (profile, repo, digest) =
                    (self.profile.clone(), self.repo.clone(), self.digest.clone());
                let indexes = self.indexes.iter().map(|(t, _)| t.clone()).collect();
                let referrers = if self.choice == DeleteChoice::WithReferrers {
                    self.referrers.iter().map(|r| r.digest.clone()).collect()
                } else {
                    vec![]
                };
                Some(Reply::Send(Command::DeleteManifest {
                    req,
                    profile,
                    repo,
                    digest,
                    tags,
                    indexes,
                    referrers,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog(siblings: &[&str]) -> ConfirmDelete {
        ConfirmDelete {
            profile: "p".into(),
            repo: "r".into(),
            tag: "t".into(),
            digest: "sha256:00".into(),
            size: 1,
            siblings: siblings.iter().map(|s| s.to_string()).collect(),
            checked: true,
            siblings_req: None,
            choice: DeleteChoice::Cancel,
            can_untag: true,
            can_delete_digest: true,
            limits: vec![],
            running: None,
            indexes: vec![],
            index_warned: false,
            notice: None,
            referrers: vec![],
        }
    }

    #[test]
    fn the_delete_button_counts_tags_in_words() {
        assert_eq!(
            dialog(&[]).label(DeleteChoice::All),
            "Delete manifest and its tag"
        );
        assert_eq!(
            dialog(&["a", "b"]).label(DeleteChoice::All),
            "Delete manifest and all 3 tags"
        );
    }
}
