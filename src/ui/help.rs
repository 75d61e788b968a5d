//! The help screen, generated from the key bindings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::app::keymap::BINDINGS;

/// Draws the key table in a centred box.
pub fn render(f: &mut Frame, area: Rect, t: Theme) {
    let h = (BINDINGS.len() as u16 + 4).min(area.height);
    let r = super::dialogs::centered(area, 60, h);
    f.render_widget(Clear, r);
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|(keys, a)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<12}"), t.accent()),
                Span::raw(a.describe()),
            ])
        })
        .collect();
    lines.push(Line::styled(" Esc closes", t.dim()));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(" Help ");
    f.render_widget(Paragraph::new(lines).block(block), r);
}
