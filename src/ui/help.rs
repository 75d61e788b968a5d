//! The help screen, generated from the key table (the same one key lookup uses).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::app::keymap::{BINDINGS, keys_label};
use crate::app::overlay::Help;
use crate::fmt::width;

/// Lines under the key table: the mouse, and what the marks in the tags pane mean.
const FOOTER: [&str; 3] = [
    " mouse: click selects, double click opens, the wheel scrolls",
    " tags: ● marked  ⊘ protected or locked  ⇆ shares its digest",
    " ✓ signed  ≡ SBOM  ◆ attested  ◇ other",
];

/// Blank cells between the end of one column's text and the next column's keys.
const GAP: usize = 2;

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
    // Each column as wide as its own keys and texts; a gap of GAP between columns.
    let column = |c: usize| BINDINGS.iter().skip(c * per_col).take(per_col);
    let widths: Vec<(usize, usize)> = (0..cols)
        .map(|c| {
            let keys = column(c).map(|b| width(&keys_label(b))).max().unwrap_or(0);
            let text = column(c).map(|b| width(b.label)).max().unwrap_or(0);
            (keys, text)
        })
        .collect();
    let table_w: usize =
        widths.iter().map(|(k, l)| 1 + k + 1 + l).sum::<usize>() + GAP * (cols - 1) + 1;
    // Wide enough for the footer too; two columns take the whole 80 cells, the rest going
    // between them.
    let footer_w = FOOTER.iter().map(|l| width(l) + 1).max().unwrap_or(0);
    let inner_w = if cols == 1 {
        table_w.max(footer_w)
    } else {
        table_w.max(footer_w).max(78)
    };
    let gap = GAP + inner_w - table_w;
    let r = super::dialogs::centered(
        area,
        (inner_w + 2) as u16,
        (per_col.min(room) + chrome) as u16,
    );
    f.render_widget(Clear, r);
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));
    let mut lines: Vec<Line> = (scroll..per_col.min(scroll + room))
        .map(|row| {
            let mut spans = Vec::new();
            for (c, (keys_w, text_w)) in widths.iter().enumerate() {
                if let Some(b) = BINDINGS.get(c * per_col + row) {
                    if c > 0 {
                        spans.push(Span::raw(" ".repeat(gap)));
                    }
                    spans.push(Span::styled(
                        format!(" {} ", pad(&keys_label(b), *keys_w)),
                        t.accent(),
                    ));
                    spans.push(Span::raw(pad(b.label, *text_w)));
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
