//! The repositories pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::LoadState;
use crate::fmt::{ellipsize_start, width};
use crate::sanitize::clean;

/// Draws the repository list (only the visible rows), the row position on the bottom border.
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let p = &app.view().repos;
    let title = match &p.state {
        LoadState::Loading => format!(" Repositories · {} · loading… ", p.names.len()),
        _ => match p.offline {
            Some(seen) => format!(
                " Repositories · {} ",
                crate::app::panes::CacheMark {
                    seen,
                    state: crate::app::panes::Freshness::Offline,
                }
                .label(app.now)
            ),
            None => " Repositories ".to_string(),
        },
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(title)
        .title_bottom(super::position(p.nav.selected, p.view.len(), p.names.len()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let h = inner.height as usize;
    let w = inner.width as usize;
    if let LoadState::Failed(e) = &p.state {
        let line = Line::styled(clean(e).into_owned(), t.error());
        f.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), inner);
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    if p.state == LoadState::Loaded && p.names.is_empty() {
        let hint = "no repositories (if the catalog is closed, list them under `repositories` \
                    in the profile, or open one with :repo NAME)";
        f.render_widget(
            Paragraph::new(Line::styled(hint, t.dim())).wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    for (row, i) in p.view.iter().enumerate().skip(p.nav.offset).take(h) {
        // The end of a long name (the repository itself) matters most.
        let name = ellipsize_start(&clean(&p.names[*i]), w);
        let style = if row == p.nav.selected {
            t.selected(focused)
        } else {
            Default::default()
        };
        let (ns, leaf) = match name.rsplit_once('/') {
            Some((a, b)) => (format!("{a}/"), b.to_string()),
            None => (String::new(), name),
        };
        // The selection spans the whole row.
        let pad = w.saturating_sub(width(&ns) + width(&leaf));
        lines.push(Line::from(vec![
            Span::styled(ns, t.dim().patch(style)),
            Span::styled(leaf, style),
            Span::styled(" ".repeat(pad), style),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
