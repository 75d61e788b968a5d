//! The layers/config pane: config summary, then each layer's size, share of the total, and the
//! command that made it; long values wrap under themselves.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::{InfoLine, KEY_WIDTH, LAYER_PREFIX};

fn bar(share: f64, width: usize) -> String {
    let full = (share * width as f64).round() as usize;
    let mut s = "█".repeat(full.min(width));
    s.push_str(&"·".repeat(width - full.min(width)));
    s
}

/// Draws config and layers of the manifest in view.
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let m = &app.view().manifest;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(super::fit_title(" Layers · config ", area.width));
    let inner = block.inner(area);
    if m.data.is_none() {
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Line::styled("no image selected", t.dim())),
            inner,
        );
        return;
    }
    let info = m.info_lines(app.now, app.dates, inner.width as usize);
    // Never past the content, whatever the scroll says (the screen may have grown).
    let h = inner.height as usize;
    let scroll = m.layers_scroll.min(info.len().saturating_sub(h));
    let block = if info.len() > h {
        block.title_bottom(
            Line::from(format!(" line {}/{} ", scroll + 1, info.len())).right_aligned(),
        )
    } else {
        block
    };
    f.render_widget(block, area);
    let lines: Vec<Line> = info
        .into_iter()
        .skip(scroll)
        .take(h)
        .map(|l| match l {
            InfoLine::Field { key, text } => Line::from(vec![
                Span::styled(format!("{key:<KEY_WIDTH$}"), t.dim()),
                Span::raw(text),
            ]),
            InfoLine::Blank => Line::raw(""),
            InfoLine::Heading(h) => Line::styled(h, t.accent()),
            InfoLine::Note(n) => Line::styled(n, t.dim()),
            InfoLine::Layer { size, share, text } => Line::from(vec![
                Span::raw(format!("{size:>10} ")),
                Span::styled(bar(share, 10), t.accent()),
                Span::raw(format!(" {:>3.0}% ", share * 100.0)),
                Span::raw(text),
            ]),
            InfoLine::More(text) => Line::raw(format!("{:LAYER_PREFIX$}{text}", "")),
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
