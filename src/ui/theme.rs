//! Styles: 16 basic colours, or none at all with NO_COLOR (then only bold/reverse/dim).

use ratatui::style::{Color, Modifier, Style};

/// Picks styles for the current colour mode.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    /// Border of a pane.
    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }
    /// The selected row.
    pub fn selected(self, focused: bool) -> Style {
        if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }
    /// Secondary text.
    pub fn dim(self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }
    /// Headings and highlights.
    pub fn accent(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    /// Errors.
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    /// Success and toasts.
    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    /// JSON keys.
    pub fn key(self) -> Style {
        self.fg(Color::Blue)
    }
    /// JSON strings.
    pub fn string(self) -> Style {
        self.fg(Color::Green)
    }
    /// JSON numbers and literals.
    pub fn number(self) -> Style {
        self.fg(Color::Yellow)
    }
    /// Warnings (shared digests, insecure TLS).
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }
}
