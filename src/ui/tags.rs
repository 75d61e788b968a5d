//! The tags pane: name, short digest, size, created (pushed for providers), platforms; only the visible rows are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::{LoadState, RowState};
use crate::fmt::relative_time;
use crate::registry::digest::short;
use crate::sanitize::clean;

fn arches(row: &crate::registry::model::TagRow) -> String {
    row.platforms
        .iter()
        .map(|p| {
            let mut parts = p.platform.splitn(2, '/');
            let os = parts.next().unwrap_or("");
            let rest = parts.next().unwrap_or(os);
            if os == "linux" {
                rest.to_string()
            } else {
                p.platform.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Draws the tags table.
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let p = &app.view().tags;
    let repo = p
        .repo
        .as_deref()
        .map(|r| clean(r).into_owned())
        .unwrap_or_default();
    let mut title = format!(" Tags · {repo}");
    if !p.names.is_empty() {
        if p.filter.is_empty() {
            title.push_str(&format!(" · {}", p.names.len()));
        } else {
            title.push_str(&format!(" · {}/{}", p.view.len(), p.names.len()));
        }
        let done = p.done();
        if done < p.names.len() {
            title.push_str(&format!(" · details {done}/{}", p.names.len()));
        }
        title.push_str(&format!(" · {} ", p.sort.label()));
        if !p.marked.is_empty() {
            title.push_str(&format!("· {} marked ", p.marked.len()));
        }
    } else {
        title.push(' ');
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let msg = match &p.state {
        LoadState::Idle => Some(Line::styled("select a repository and press Enter", t.dim())),
        LoadState::Loading => Some(Line::styled("loading tags…", t.dim())),
        LoadState::Failed(e) => Some(Line::styled(clean(e).into_owned(), t.error())),
        LoadState::Loaded if p.names.is_empty() => Some(Line::styled("no tags", t.dim())),
        LoadState::Loaded => None,
    };
    if let Some(m) = msg {
        f.render_widget(Paragraph::new(m).wrap(Wrap { trim: false }), inner);
        return;
    }
    // Columns by width: platforms from 70 cells, the digest from 48.
    let wide = inner.width >= 70;
    let digest_col = inner.width >= 48;
    let h = inner.height.saturating_sub(1) as usize;
    let rows: Vec<Row> = p
        .view
        .iter()
        .enumerate()
        .skip(p.nav.offset)
        .take(h)
        .map(|(pos, i)| {
            let name = &p.names[*i];
            let style = if pos == p.nav.selected {
                t.selected(focused)
            } else {
                Default::default()
            };
            let marked = p.marked.contains(name);
            let mark = if marked { "●" } else { " " };
            let label = format!("{mark}{}", clean(name));
            let mut cells = vec![Cell::from(label.clone())];
            match p.rows.get(name) {
                Some(RowState::Loaded(r)) => {
                    let shared = p.per_digest.get(&r.digest).copied().unwrap_or(0) > 1;
                    let mark = Span::styled(if shared { "⇆" } else { " " }, t.warn());
                    if digest_col {
                        cells.push(Cell::from(Line::from(vec![
                            Span::raw(short(&r.digest).to_string()),
                            mark,
                        ])));
                    } else {
                        cells[0] = Cell::from(Line::from(vec![Span::raw(label), mark]));
                    }
                    cells.push(Cell::from(crate::fmt::human_size(r.size)));
                    // The date rules and the sort use: pushed where the provider records it.
                    let created = r
                        .date()
                        .map(|s| relative_time(s, app.now))
                        .unwrap_or_else(|| "-".into());
                    cells.push(Cell::from(created));
                    if wide {
                        cells.push(Cell::from(clean(&arches(r)).into_owned()));
                    }
                }
                Some(RowState::Failed(e)) => {
                    cells.push(Cell::from(Span::styled(clean(e).into_owned(), t.error())));
                }
                _ => cells.push(Cell::from(Span::styled("…", t.dim()))),
            }
            Row::new(cells).style(style)
        })
        .collect();
    let mut widths = vec![Constraint::Fill(1)];
    let mut header = vec![" TAG"];
    if digest_col {
        widths.push(Constraint::Length(13));
        header.push("DIGEST");
    }
    widths.extend([Constraint::Length(10), Constraint::Length(14)]);
    let dates = app
        .view()
        .info
        .as_ref()
        .map(|i| i.date_source)
        .unwrap_or_default();
    header.extend(["SIZE", dates.header()]);
    if wide {
        widths.push(Constraint::Length(16));
        header.push("PLATFORMS");
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.accent()))
        .column_spacing(1);
    f.render_widget(table, inner);
}
