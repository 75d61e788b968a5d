//! The login dialog: username (filled in from the profile), masked password, "save", Log in.

use crossterm::event::KeyCode;
use ratatui_textarea::TextArea;

use super::{Key, Reply};
use crate::app::ReqIds;
use crate::client_task::{Command, ReqId};
use crate::registry::auth::Secret;

/// The parts of the login dialog that take focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginField {
    Username,
    Password,
    /// The "save to docker's config.json" checkbox.
    Save,
    /// The Log in button.
    Submit,
}

impl LoginField {
    const ORDER: [LoginField; 4] = [
        LoginField::Username,
        LoginField::Password,
        LoginField::Save,
        LoginField::Submit,
    ];

    fn step(self, by: usize) -> Self {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + by) % Self::ORDER.len()]
    }
}

/// The login dialog.
pub struct Login {
    pub profile: String,
    pub registry: String,
    pub username: TextArea<'static>,
    pub password: TextArea<'static>,
    pub field: LoginField,
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
    /// A fresh dialog with the profile's username filled in (focus then starts on the
    /// password); the password field masks its input.
    pub fn new(
        profile: &str,
        registry: &str,
        username: Option<&str>,
        error: Option<String>,
    ) -> Self {
        let mut password = TextArea::default();
        password.set_mask_char('•');
        let mut user = TextArea::default();
        let field = match username.filter(|u| !u.is_empty()) {
            Some(u) => {
                user.insert_str(u);
                LoginField::Password
            }
            None => LoginField::Username,
        };
        Login {
            profile: profile.to_string(),
            registry: registry.to_string(),
            username: user,
            password,
            field,
            save: false,
            error,
            running: None,
        }
    }

    fn user(&self) -> String {
        self.username.lines().join("")
    }

    fn pass(&self) -> String {
        self.password.lines().join("")
    }

    /// Tab/↓ and Shift-Tab/↑ move, Space ticks "save", Enter goes on to the password or logs in
    /// (saying what is missing), Esc cancels; other keys edit the focused field.
    pub fn on_key(&mut self, k: Key, ids: &mut ReqIds) -> Option<Reply> {
        if self.running.is_some() {
            return None;
        }
        match k.event.code {
            KeyCode::Esc => return Some(Reply::Close),
            KeyCode::Tab | KeyCode::Down => self.field = self.field.step(1),
            KeyCode::BackTab | KeyCode::Up => self.field = self.field.step(3),
            KeyCode::Char(' ') if self.field == LoginField::Save => self.save = !self.save,
            KeyCode::Enter if self.field == LoginField::Username && self.pass().is_empty() => {
                if self.user().is_empty() {
                    self.error = Some("enter a username".into());
                } else {
                    self.error = None;
                    self.field = LoginField::Password;
                }
            }
            KeyCode::Enter => return self.submit(ids),
            _ => match self.field {
                LoginField::Username => {
                    self.username.input(*k.event);
                }
                LoginField::Password => {
                    self.password.input(*k.event);
                }
                _ => {}
            },
        }
        None
    }

    fn submit(&mut self, ids: &mut ReqIds) -> Option<Reply> {
        let (user, pass) = (self.user(), self.pass());
        if user.is_empty() {
            self.field = LoginField::Username;
            self.error = Some("enter a username".into());
            return None;
        }
        if pass.is_empty() {
            self.field = LoginField::Password;
            self.error = Some("enter the password (or token)".into());
            return None;
        }
        let req = ids.next();
        self.running = Some(req);
        self.error = None;
        Some(Reply::Send(Command::Login {
            req,
            profile: self.profile.clone(),
            username: user,
            password: Secret::new(pass),
            save: self.save,
        }))
    }
}
