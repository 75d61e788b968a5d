//! The repositories pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::LoadState;
use crate::sanitize::clean;

/// Draws the repository list (only the visible rows).
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let p = &app.view().repos;
    let status = match &p.state {
        LoadState::Loading => format!("{} · loading…", p.names.len()),
        _ if !p.filter.is_empty() => format!("{}/{}", p.view.len(), p.names.len()),
        _ => p.names.len().to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(format!(" Repositories · {status} "));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let h = inner.height as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let LoadState::Failed(e) = &p.state {
        lines.push(Line::styled(clean(e).into_owned(), t.error()));
    } else if p.state == LoadState::Loaded && p.names.is_empty() {
        let hint = "no repositories (if the catalog is closed, list them under `repositories` in \
                    the profile, or open one with :repo NAME)";
        lines.push(Line::styled(hint, t.dim()));
    }
    for (row, i) in p
        .view
        .iter()
        .enumerate()
        .skip(p.nav.offset)
        .take(h.saturating_sub(lines.len()))
    {
        let name = clean(&p.names[*i]).into_owned();
        let style = if row == p.nav.selected {
            t.selected(focused)
        } else {
            Default::default()
        };
        let (ns, leaf) = match name.rsplit_once('/') {
            Some((a, b)) => (format!("{a}/"), b.to_string()),
            None => (String::new(), name),
        };
        lines.push(Line::from(vec![
            Span::styled(ns, t.dim().patch(style)),
            Span::styled(leaf, style),
        ]));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
