//! The `R` dialog: retention rules that mark tags.

use crossterm::event::KeyCode;
use ratatui_textarea::TextArea;

use super::{Key, Reply};
use crate::registry::prune::Rules;

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

    /// Tab/↓ and Shift-Tab/↑ move, Enter moves on (on Apply: applies valid rules), Esc cancels;
    /// other keys edit the focused field.
    pub fn on_key(&mut self, k: Key) -> Option<Reply> {
        match k.event.code {
            KeyCode::Esc => return Some(Reply::Close),
            KeyCode::Tab | KeyCode::Down => self.field = (self.field + 1) % 5,
            KeyCode::BackTab | KeyCode::Up => self.field = (self.field + 4) % 5,
            KeyCode::Enter if self.field < 4 => self.field += 1,
            KeyCode::Enter => {
                return match self.rules() {
                    Ok(r) if !r.is_empty() => Some(Reply::Apply(r)),
                    _ => None,
                };
            }
            _ => {
                if self.field < 4 {
                    self.fields[self.field].input(*k.event);
                }
            }
        }
        None
    }
}

impl Default for RuleDialog {
    fn default() -> Self {
        Self::new()
    }
}
