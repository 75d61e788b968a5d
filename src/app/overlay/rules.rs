//! The `R` dialog: retention rules that mark tags.

use crossterm::event::KeyCode;
use ratatui_textarea::TextArea;

use super::{Key, Reply};
use crate::registry::prune::Rules;

/// The `R` dialog: retention rules that mark tags.
pub struct RuleDialog {
    /// keep newest N, older than, match, exclude, unpulled for (only with pull dates).
    pub fields: [TextArea<'static>; 5],
    /// The fields in use, then the Apply button ([`RuleDialog::apply_index`]).
    pub field: usize,
    /// Whether the profile's service records pulls: only then is "unpulled for" offered.
    pub pull_dates: bool,
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
    pub const LABELS: [&'static str; 5] = [
        "keep newest N",
        "older than (90d, 12w, 6m)",
        "name matches (regex)",
        "name excludes (regex)",
        "unpulled for (30d, 12w)",
    ];

    /// Why "unpulled for" is not offered on a profile without pull dates.
    pub const NO_PULL_DATES: &'static str = "unpulled for: this registry does not record pulls \
        (Harbor, Docker Hub and ECR do), so tags cannot be chosen by their last pull";

    /// An empty dialog.
    pub fn new() -> Self {
        RuleDialog {
            fields: Default::default(),
            field: 0,
            pull_dates: false,
            error: None,
            would_mark: 0,
        }
    }

    /// An empty dialog; `pull_dates` adds the "unpulled for" field.
    pub fn with_pull_dates(pull_dates: bool) -> Self {
        RuleDialog {
            pull_dates,
            ..Self::new()
        }
    }

    /// How many fields are in use (the fifth, "unpulled for", only with pull dates).
    pub fn field_count(&self) -> usize {
        if self.pull_dates { 5 } else { 4 }
    }

    /// The position of the Apply button (after the fields).
    pub fn apply_index(&self) -> usize {
        self.field_count()
    }

    /// The text of each field.
    pub fn values(&self) -> [String; 5] {
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
        let mut rules = Rules::parse(
            keep,
            opt(&v[1]).as_deref(),
            opt(&v[2]).as_deref(),
            opt(&v[3]).as_deref(),
        )?;
        if !v[4].is_empty() {
            if !self.pull_dates {
                return Err(Self::NO_PULL_DATES.into());
            }
            rules.unpulled_for = Some(
                crate::registry::prune::parse_duration(&v[4])
                    .map_err(|e| format!("unpulled for: {e}"))?,
            );
        }
        Ok(rules)
    }

    /// Tab/↓ and Shift-Tab/↑ move, Enter moves on (on Apply: applies valid rules), Esc cancels;
    /// other keys edit the focused field.
    pub fn on_key(&mut self, k: Key) -> Option<Reply> {
        let stops = self.field_count() + 1;
        match k.event.code {
            KeyCode::Esc => return Some(Reply::Close),
            KeyCode::Tab | KeyCode::Down => self.field = (self.field + 1) % stops,
            KeyCode::BackTab | KeyCode::Up => self.field = (self.field + stops - 1) % stops,
            KeyCode::Enter if self.field < self.apply_index() => self.field += 1,
            KeyCode::Enter => {
                return match self.rules() {
                    Ok(r) if !r.is_empty() => Some(Reply::Apply(r)),
                    _ => None,
                };
            }
            _ => {
                if self.field < self.apply_index() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(d: &mut RuleDialog, field: usize, text: &str) {
        for c in text.chars() {
            d.fields[field].insert_char(c);
        }
    }

    #[test]
    fn unpulled_for_is_a_field_only_with_pull_dates() {
        let mut d = RuleDialog::with_pull_dates(true);
        assert_eq!(d.apply_index(), 5);
        typed(&mut d, 4, "30d");
        assert_eq!(d.rules().unwrap().unpulled_for, Some(30 * 86_400));
        let mut bad = RuleDialog::with_pull_dates(true);
        typed(&mut bad, 4, "soon");
        assert!(bad.rules().unwrap_err().starts_with("unpulled for:"));
        // Without pull dates the field is not offered, and a value is refused, saying why.
        let mut no = RuleDialog::new();
        assert_eq!(no.apply_index(), 4);
        typed(&mut no, 4, "30d");
        assert!(no.rules().unwrap_err().contains("does not record pulls"));
    }
}
