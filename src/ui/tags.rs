//! The tags pane: name, short digest, size, date, platforms; columns sized from their content,
//! the name cut last; only the visible rows are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::layout::{DIGEST_FULL, tag_columns};
use crate::app::panes::{LoadState, RowState, platforms};
use crate::fmt::{Dates, ellipsize, human_size};
use crate::registry::digest::short;
use crate::sanitize::clean;

/// Marks in front of a name.
const MARKED: &str = "●";
const PROTECTED: &str = "⊘";
/// Width of the PULLED column.
const PULLED_W: usize = 10;

/// When a tag was last pulled, in the longest date form that fits: `never`, or `-` when the
/// service gave nothing for this tag.
fn pulled_cell(app: &App, r: &crate::registry::model::TagRow, w: usize) -> String {
    match &r.pulled {
        Some(None) => "never".into(),
        Some(Some(at)) => match crate::registry::model::unix_seconds(at) {
            Some(s) => {
                let forms = app.dates.forms(s, app.now);
                let fit = forms
                    .iter()
                    .find(|f| crate::fmt::width(f) <= w)
                    .or(forms.last());
                ellipsize(fit.map(String::as_str).unwrap_or("-"), w)
            }
            None => ellipsize(&clean(at), w),
        },
        None => "-".into(),
    }
}

/// Draws the tags table.
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let p = &app.view().tags;
    let mut title = String::from(" Tags ");
    if let Some(repo) = &p.repo {
        // When it does not fit the pane: the sort order goes first, then the long wording.
        let room = (area.width as usize).saturating_sub(2);
        let hidden = p.hidden_artifacts();
        for (sort, long) in [(true, true), (false, true), (false, false)] {
            title = format!(" Tags · {} ", clean(repo));
            // Cached rows say so first: their age, and whether they are being checked.
            if let Some(c) = &p.cache {
                title.push_str(&format!("· {} ", c.label(app.now)));
            }
            // The first screen shown before the whole list (opened cold).
            if p.partial {
                title.push_str("· listing… ");
            }
            if sort && !p.names.is_empty() {
                title.push_str(&format!("· {} ", p.sort.label()));
            }
            if !p.marked.is_empty() {
                title.push_str(&format!("· {} marked ", p.marked.len()));
            }
            if hidden > 0 && long {
                let s = if hidden == 1 { "" } else { "s" };
                title.push_str(&format!("· {hidden} artifact tag{s} hidden (a) "));
            } else if hidden > 0 {
                title.push_str(&format!("· {hidden} hidden (a) "));
            }
            if crate::fmt::width(&title) <= room {
                break;
            }
        }
    }
    let done = p.done();
    let progress = if !p.names.is_empty() && done < p.names.len() {
        format!(" details {done}/{} ", p.names.len())
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(super::fit_title(&title, area.width))
        .title_bottom(Line::styled(progress, t.dim()))
        .title_bottom(super::position(p.nav.selected, p.view.len(), p.names.len()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let msg = match &p.state {
        LoadState::Idle => Some(Line::styled("select a repository and press Enter", t.dim())),
        LoadState::Loading => Some(Line::styled("loading tags…", t.dim())),
        LoadState::Failed(e) => Some(Line::styled(clean(e).into_owned(), t.error())),
        LoadState::Loaded if p.names.is_empty() => Some(Line::styled("no tags", t.dim())),
        LoadState::Loaded if p.view.is_empty() => {
            Some(Line::styled("no tag matches the filter", t.dim()))
        }
        LoadState::Loaded => None,
    };
    if let Some(m) = msg {
        f.render_widget(Paragraph::new(m).wrap(Wrap { trim: false }), inner);
        return;
    }
    // PULLED where the service records pulls: its room comes off the other columns first.
    let pull_dates = app.view().info.as_ref().is_some_and(|i| i.pull_dates);
    let pulled_w = if pull_dates { PULLED_W } else { 0 };
    let cols = tag_columns(
        (inner.width as usize).saturating_sub(if pull_dates { pulled_w + 1 } else { 0 }),
        &p.column_widths(app.dates),
    );
    let protected = app.protected();
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
            // One row made whole per line drawn (the pane keeps them compact).
            let state = p.row_state(name);
            let loaded = match &state {
                Some(RowState::Loaded(r)) => Some(r),
                _ => None,
            };
            // The service's own lock shows like the profile's protected_tags.
            let locked = loaded.is_some_and(|r| r.locked.is_some());
            let mark = if p.marked.contains(name) {
                Span::styled(MARKED, t.warn())
            } else if protected.covers(name) || locked {
                Span::styled(PROTECTED, t.dim())
            } else {
                Span::raw(" ")
            };
            let shared = p.shares_digest(name);
            let shared_mark = Span::styled(if shared { "⇆" } else { " " }, t.warn());
            let mut first = vec![mark];
            // Signed / SBOM / attested after the name, taking room from it.
            let badges = p.badges_of(name).text(app.ascii);
            let badge_w = if badges.is_empty() {
                0
            } else {
                crate::fmt::width(&badges) + 1
            };
            if cols.digest == 0 {
                first.push(Span::raw(ellipsize(
                    &clean(&crate::app::badges::short_name(name)),
                    cols.name.saturating_sub(2 + badge_w),
                )));
            } else {
                first.push(Span::raw(ellipsize(
                    &clean(&crate::app::badges::short_name(name)),
                    cols.name.saturating_sub(1 + badge_w),
                )));
            }
            if badge_w > 0 && cols.name >= badge_w + 3 {
                first.push(Span::raw(" "));
                first.push(Span::styled(badges, t.ok()));
            }
            if cols.digest == 0 {
                first.push(shared_mark.clone());
            }
            let mut cells = vec![Cell::from(Line::from(first))];
            match &state {
                Some(RowState::Loaded(r)) => {
                    if cols.digest > 0 {
                        let d = short(&r.digest);
                        let d = if cols.digest >= DIGEST_FULL {
                            d
                        } else {
                            &d[..d.len().min(8)]
                        };
                        cells.push(Cell::from(Line::from(vec![
                            Span::raw(d.to_string()),
                            shared_mark,
                        ])));
                    }
                    cells.push(Cell::from(Text::from(human_size(r.size)).right_aligned()));
                    // The date rules and the sort use: pushed where the provider records it.
                    let date = r
                        .date()
                        .map(|s| {
                            let forms = app.dates.forms(s, app.now);
                            let form = forms.get(cols.date_form).or(forms.last());
                            ellipsize(form.map(String::as_str).unwrap_or("-"), cols.date)
                        })
                        .unwrap_or_else(|| "-".into());
                    cells.push(Cell::from(date));
                    if pull_dates {
                        cells.push(Cell::from(pulled_cell(app, r, pulled_w)));
                    }
                    if cols.platforms > 0 {
                        cells.push(Cell::from(ellipsize(&clean(&platforms(r)), cols.platforms)));
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
    let mut widths = vec![Constraint::Length(cols.name as u16)];
    let mut header = vec![Cell::from(" TAG")];
    if cols.digest > 0 {
        widths.push(Constraint::Length(cols.digest as u16));
        header.push(Cell::from("DIGEST"));
    }
    widths.push(Constraint::Length(cols.size as u16));
    header.push(Cell::from(Text::from("SIZE").right_aligned()));
    let source = app
        .view()
        .info
        .as_ref()
        .map(|i| i.date_source)
        .unwrap_or_default();
    let date_header = match app.dates {
        Dates::Absolute if cols.date >= 11 => format!("{} UTC", source.header()),
        _ => source.header().to_string(),
    };
    widths.push(Constraint::Length(cols.date as u16));
    header.push(Cell::from(date_header));
    if pull_dates {
        widths.push(Constraint::Length(pulled_w as u16));
        header.push(Cell::from("PULLED"));
    }
    if cols.platforms > 0 {
        widths.push(Constraint::Length(cols.platforms as u16));
        header.push(Cell::from("PLATFORMS"));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.accent()))
        .column_spacing(1);
    f.render_widget(table, inner);
}
