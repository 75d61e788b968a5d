//! Dialogs drawn over the panes: help, delete confirmation, copy menu, profile picker, login,
//! cleanup rules and the cleanup preview.

use ratatui_textarea::TextArea;

use crate::client_task::ReqId;
use crate::registry::prune::{Outcome, Plan, Rules};

/// The choices of the delete dialog, Cancel first (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteChoice {
    Cancel,
    /// Remove this tag only; sibling tags stay.
    ThisTag,
    /// Delete the manifest and every tag on it.
    All,
}

/// The delete confirmation for one tag.
#[derive(Debug, Clone)]
pub struct ConfirmDelete {
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
        }
        v
    }
}

/// A small menu of things to copy.
#[derive(Debug, Clone)]
pub struct CopyMenu {
    /// (label, text to copy)
    pub items: Vec<(String, String)>,
    pub selected: usize,
}

/// The login dialog.
pub struct Login {
    pub profile: String,
    pub registry: String,
    pub username: TextArea<'static>,
    pub password: TextArea<'static>,
    /// 0 username, 1 password, 2 save checkbox, 3 log in button.
    pub field: usize,
    pub save: bool,
    pub error: Option<String>,
    pub running: Option<ReqId>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("profile", &self.profile)
            .field("field", &self.field)
            .field("save", &self.save)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// A fresh dialog; the password field masks its input.
    pub fn new(profile: &str, registry: &str, error: Option<String>) -> Self {
        let mut password = TextArea::default();
        password.set_mask_char('•');
        Login {
            profile: profile.to_string(),
            registry: registry.to_string(),
            username: TextArea::default(),
            password,
            field: 0,
            save: false,
            error,
            running: None,
        }
    }
}

/// The `R` dialog: retention rules that mark tags.
pub struct RuleDialog {
    /// keep newest N, older than, match, exclude.
    pub fields: [TextArea<'static>; 4],
    /// 0–3 the fields, 4 the Apply button.
    pub field: usize,
    /// Why the rules do not parse.
    pub error: Option<String>,
    /// How many tags the rules would mark now.
    pub would_mark: usize,
}

impl std::fmt::Debug for RuleDialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleDialog")
            .field("values", &self.values())
            .field("field", &self.field)
            .field("error", &self.error)
            .finish()
    }
}

impl RuleDialog {
    /// Labels of the fields, in order.
    pub const LABELS: [&'static str; 4] = [
        "keep newest N",
        "older than (90d, 12w, 6m)",
        "name matches (regex)",
        "name excludes (regex)",
    ];

    /// An empty dialog.
    pub fn new() -> Self {
        RuleDialog {
            fields: Default::default(),
            field: 0,
            error: None,
            would_mark: 0,
        }
    }

    /// The text of each field.
    pub fn values(&self) -> [String; 4] {
        std::array::from_fn(|i| self.fields[i].lines().join("").trim().to_string())
    }

    /// The rules the fields describe, or why they do not parse.
    pub fn rules(&self) -> Result<Rules, String> {
        let v = self.values();
        let keep = if v[0].is_empty() {
            None
        } else {
            Some(
                v[0].parse::<usize>()
                    .map_err(|_| format!("keep: {:?} is not a whole number", v[0]))?,
            )
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Rules::parse(
            keep,
            opt(&v[1]).as_deref(),
            opt(&v[2]).as_deref(),
            opt(&v[3]).as_deref(),
        )
    }
}

impl Default for RuleDialog {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the cleanup dialog is.
#[derive(Debug, Clone)]
pub enum PruneStage {
    /// The client task is surveying the repository.
    Planning,
    /// The preview, waiting for confirmation.
    Ready(Box<Plan>),
    /// Deleting; results so far.
    Running {
        plan: Box<Plan>,
        done: usize,
        results: Vec<Outcome>,
    },
    /// Finished; every result.
    Done {
        plan: Box<Plan>,
        results: Vec<Outcome>,
    },
    Failed(String),
}

/// The cleanup preview, confirmation, progress and summary.
#[derive(Debug, Clone)]
pub struct PruneDialog {
    pub profile: String,
    pub repo: String,
    pub req: ReqId,
    pub stage: PruneStage,
    /// The Delete button has focus (Cancel is the default).
    pub confirm: bool,
    /// First list line shown.
    pub scroll: usize,
    /// The registry needs garbage collection to return the space (distribution).
    pub gc_note: bool,
}

/// What is drawn over the panes.
#[derive(Debug, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    ConfirmDelete(ConfirmDelete),
    Copy(CopyMenu),
    Profiles {
        selected: usize,
    },
    Login(Box<Login>),
    Rules(Box<RuleDialog>),
    Prune(Box<PruneDialog>),
}
