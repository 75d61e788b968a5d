//! The repositories pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::{LoadState, REPO_SIZE_COLUMNS, RepoSize};
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
                    reading: None,
                }
                .label(app.now)
            ),
            None => " Repositories ".to_string(),
        },
    };
    let title = super::fit_title(&title, area.width);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(title.clone());
    // TAGS and SIZE columns once sizes arrive: while the pane is focused (it is then as wide as
    // names and columns want, within bounds), or when every name fits beside them.
    let inner_w = (area.width as usize).saturating_sub(2);
    let columns = p.has_sizes()
        && inner_w >= REPO_SIZE_COLUMNS + MIN_NAME.min(p.name_width)
        && (focused || inner_w >= p.name_width + REPO_SIZE_COLUMNS);
    // Their legend, where it fits beside the title.
    if columns && area.width as usize >= width(&title) + COLUMNS_LEGEND.len() + 3 {
        block = block.title(Line::styled(COLUMNS_LEGEND, t.dim()).right_aligned());
    }
    let block = block.title_bottom(super::position(p.nav.selected, p.view.len(), p.names.len()));
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
        let cols = if columns {
            size_cells(p.sizes.get(&p.names[*i]))
        } else {
            String::new()
        };
        let name = ellipsize_start(&clean(&p.names[*i]), w.saturating_sub(width(&cols)));
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
        let pad = w.saturating_sub(width(&ns) + width(&leaf) + width(&cols));
        lines.push(Line::from(vec![
            Span::styled(ns, t.dim().patch(style)),
            Span::styled(leaf, style),
            Span::styled(" ".repeat(pad), style),
            Span::styled(cols, t.dim().patch(style)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The legend of the TAGS and SIZE columns on the pane's top border.
const COLUMNS_LEGEND: &str = " tags  size";

/// Cells a repository name keeps at least before the size columns are left out.
const MIN_NAME: usize = 8;

/// ` TAGS  SIZE` right-aligned in [`REPO_SIZE_COLUMNS`] cells: `…` while loading, `-` when
/// unknown.
fn size_cells(s: Option<&RepoSize>) -> String {
    let (tags, size) = match s {
        None | Some(RepoSize::Pending) => ("…".to_string(), "…".to_string()),
        Some(RepoSize::Failed) => ("-".to_string(), "-".to_string()),
        Some(RepoSize::Known { tags, bytes }) => (
            tags.to_string(),
            bytes.map(compact_size).unwrap_or_else(|| "-".into()),
        ),
    };
    let text = format!(" {tags:>5} {size:>5}");
    format!("{text:>REPO_SIZE_COLUMNS$}")
}

/// A size in at most five cells: `512B`, `9.5K`, `188M`, `1.9G` (binary units).
pub fn compact_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "K", "M", "G", "T", "P", "E"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes}B")
    } else if v < 9.95 {
        format!("{v:.1}{}", UNITS[u])
    } else {
        format!("{:.0}{}", v.min(999.0), UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::compact_size;

    #[test]
    fn compact_sizes_fit_five_cells() {
        assert_eq!(compact_size(0), "0B");
        assert_eq!(compact_size(999), "999B");
        assert_eq!(compact_size(1000), "1.0K");
        assert_eq!(compact_size(9 * 1024 + 512), "9.5K");
        assert_eq!(compact_size(187 * 1024 * 1024 + 900_000), "188M");
        assert_eq!(compact_size(2_040_000_000), "1.9G");
        assert_eq!(compact_size(u64::MAX), "16E");
        for n in [
            0,
            1,
            999,
            1000,
            1023,
            1024,
            10_235,
            1_048_575,
            1 << 40,
            u64::MAX,
        ] {
            assert!(compact_size(n).len() <= 5, "{n}: {}", compact_size(n));
        }
    }
}
