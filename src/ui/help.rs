//! The help screen, generated from the key table (the same one key lookup uses).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::app::keymap::{BINDINGS, keys_label};
use crate::app::overlay::Help;

/// Lines under the key table: the mouse, and what the marks in the tags pane mean.
const FOOTER: [&str; 3] = [
    " mouse: click selects, double click opens, the wheel scrolls",
    " tags: ● marked  ⊘ protected or locked  ⇆ shares its digest",
    " ✓ signed  ≡ SBOM  ◆ attested  ◇ other",
];

/// Draws the key table in a centred box: one column when it fits, else two; scrolls with ↑↓
/// when even two do not fit.
pub fn render(h: &Help, f: &mut Frame, area: Rect, t: Theme) {
    let n = BINDINGS.len();
    let chrome = 3 + FOOTER.len();
    let cols = if area.height as usize >= n + chrome || area.width < 80 {
        1
    } else {
        2
    };
    let per_col = n.div_ceil(cols);
    let room = (area.height as usize).saturating_sub(chrome).max(1);
    let scroll = h.scroll.min(per_col.saturating_sub(room));
    let r = super::dialogs::centered(
        area,
        if cols == 1 { 41 } else { 80 },
        (per_col.min(room) + chrome) as u16,
    );
    f.render_widget(Clear, r);
    let cell = |b: &crate::app::keymap::Binding| {
        [
            Span::styled(format!(" {:<13}", keys_label(b)), t.accent()),
            Span::raw(format!("{:<25}", b.label)),
        ]
    };
    let mut lines: Vec<Line> = (scroll..per_col.min(scroll + room))
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
    for l in FOOTER {
        lines.push(Line::styled(l, t.dim()));
    }
    lines.push(Line::styled(
        if room < per_col {
            " Esc closes · ↑↓ scroll"
        } else {
            " Esc closes"
        },
        t.dim(),
    ));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(" Help ");
    f.render_widget(Paragraph::new(lines).block(block), r);
}
