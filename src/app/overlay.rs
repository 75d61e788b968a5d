//! Dialogs drawn over the panes: help, delete confirmation, copy menu, profile picker, login.

use ratatui_textarea::TextArea;

use crate::client_task::ReqId;

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
    /// Set while the delete runs.
    pub running: Option<ReqId>,
}

impl ConfirmDelete {
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
}
