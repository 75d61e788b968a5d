//! The help screen, generated from the key bindings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::app::keymap::BINDINGS;

/// Draws the key table in a centred box: one column when it fits, else two.
pub fn render(f: &mut Frame, area: Rect, t: Theme) {
    let n = BINDINGS.len();
    let cols = if area.height as usize >= n + 3 { 1 } else { 2 };
    let per_col = n.div_ceil(cols);
    let h = (per_col as u16 + 3).min(area.height);
    let r = super::dialogs::centered(area, if cols == 1 { 44 } else { 80 }, h);
    f.render_widget(Clear, r);
    let cell = |(keys, a): &(&str, crate::app::keymap::Action)| {
        [
            Span::styled(format!(" {keys:<10}"), t.accent()),
            Span::raw(format!("{:<28}", a.describe())),
        ]
    };
    let mut lines: Vec<Line> = (0..per_col)
        .map(|row| {
            let mut spans = Vec::new();
            for c in 0..cols {
                if let Some(b) = BINDINGS.get(c * per_col + row) {
                    spans.extend(cell(b));
                }
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::styled(" Esc closes", t.dim()));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(" Help ");
    f.render_widget(Paragraph::new(lines).block(block), r);
}
