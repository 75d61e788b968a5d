//! The files view over the panes: a progress bar while the layers stream, then mode, size, path
//! (→ link) and layer of each file, filtered with `/`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::dialogs::frame;
use super::theme::Theme;
use crate::app::overlay::{FilesState, FilesView, mode_string};
use crate::fmt::{ellipsize, human_size, plural};
use crate::registry::digest::short;
use crate::sanitize::clean;

/// A progress bar of `width` cells.
pub fn bar(done: u64, total: u64, width: usize) -> String {
    let full = if total == 0 {
        0
    } else {
        ((done.min(total) as f64 / total as f64) * width as f64) as usize
    };
    format!(
        "{}{}",
        "█".repeat(full),
        "·".repeat(width - full.min(width))
    )
}

/// Draws the files view.
pub fn render(v: &FilesView, f: &mut Frame, area: Rect, t: Theme) {
    let r = Rect::new(
        area.x + 2.min(area.width / 8),
        area.y + 1.min(area.height / 8),
        area.width.saturating_sub(4.min(area.width / 4)),
        area.height.saturating_sub(2.min(area.height / 4)),
    );
    let which = match v.layer {
        None => format!("{} merged", plural(v.layers.len(), "layer")),
        Some(i) => format!(
            "layer {}/{} {}",
            i + 1,
            v.layers.len(),
            v.layers.get(i).map(|d| short(&d.digest)).unwrap_or("")
        ),
    };
    let title = format!("Files · {} · {which}", clean(&v.label));
    let inner = frame(f, r, &title, t);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let head = match &v.state {
        FilesState::Loading { read, total } => {
            let pct = if *total == 0 {
                0
            } else {
                read.saturating_mul(100) / total
            };
            vec![
                Line::styled("reading the layers…", t.accent()),
                Line::from(vec![
                    Span::styled(bar(*read, *total, w.saturating_sub(30).min(50)), t.accent()),
                    Span::raw(format!(
                        " {pct:>3}% {} / {}",
                        human_size(*read),
                        human_size(*total)
                    )),
                ]),
                Line::styled("Esc cancels", t.dim()),
            ]
        }
        FilesState::Failed(e) => vec![Line::styled(clean(e).into_owned(), t.error())],
        FilesState::Loaded => {
            let shown = if v.view.len() < v.entries.len() {
                format!("{} of {}", v.view.len(), v.entries.len())
            } else {
                v.entries.len().to_string()
            };
            vec![Line::styled(
                format!(
                    "{shown} {}  ·  / filter  ·  [ ] layer  ·  Esc close{}",
                    if v.entries.len() == 1 {
                        "entry"
                    } else {
                        "entries"
                    },
                    if v.filter.is_empty() && !v.filtering {
                        String::new()
                    } else {
                        format!(
                            "  ·  filter: {}{}",
                            clean(&v.filter),
                            if v.filtering { "▏" } else { "" }
                        )
                    }
                ),
                t.dim(),
            )]
        }
    };
    lines.extend(head);
    let h = (inner.height as usize).saturating_sub(lines.len());
    if v.state == FilesState::Loaded {
        let sel = v.nav.selected;
        let start = if sel < h { 0 } else { sel + 1 - h };
        for (pos, i) in v.view.iter().enumerate().skip(start).take(h) {
            let e = &v.entries[*i];
            let mut path = clean(&e.path).into_owned();
            if let Some(l) = &e.link {
                path.push_str(" → ");
                path.push_str(&clean(l));
            }
            let text = format!(
                "{} {:>10} L{:<2} {}",
                mode_string(e),
                human_size(e.size),
                e.layer,
                path
            );
            let style = if pos == sel {
                t.selected(true)
            } else {
                Default::default()
            };
            lines.push(Line::styled(ellipsize(&text, w), style));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
