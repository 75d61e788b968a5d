//! The manifest pane: media type, digest, platforms of an index, and the JSON, highlighted and scrollable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::LoadState;
use crate::sanitize::clean;

/// Colours one line of pretty-printed JSON: keys, strings, numbers and literals.
pub fn highlight(line: &str, t: Theme) -> Line<'static> {
    let line = clean(line).into_owned();
    let indent = line.len() - line.trim_start().len();
    let body = &line[indent..];
    let mut spans = vec![Span::raw(line[..indent].to_string())];
    let value = |v: &str| -> Span<'static> {
        let trimmed = v.trim_end_matches(',');
        let style = if trimmed.starts_with('"') {
            t.string()
        } else if trimmed.starts_with(['{', '[', '}', ']']) {
            Default::default()
        } else {
            t.number()
        };
        Span::styled(v.to_string(), style)
    };
    if body.starts_with('"') {
        if let Some(pos) = body.find("\": ") {
            spans.push(Span::styled(body[..pos + 1].to_string(), t.key()));
            spans.push(Span::raw(": "));
            spans.push(value(&body[pos + 3..]));
            return Line::from(spans);
        }
    }
    spans.push(value(body));
    Line::from(spans)
}

/// Draws the manifest of the selected tag (or platform).
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let m = &app.view().manifest;
    let label = m
        .target
        .as_ref()
        .map(|(_, _, l)| clean(l).into_owned())
        .unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(format!(" Manifest {label} "));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    match (&m.state, &m.data) {
        (LoadState::Idle, _) => lines.push(Line::styled("select a tag and press Enter", t.dim())),
        (LoadState::Loading, _) => lines.push(Line::styled("loading manifest…", t.dim())),
        (LoadState::Failed(e), _) => lines.push(Line::styled(clean(e).into_owned(), t.error())),
        (LoadState::Loaded, Some(d)) => {
            lines.push(Line::from(vec![
                Span::styled("type   ", t.dim()),
                Span::raw(clean(&d.media_type).into_owned()),
            ]));
            lines.push(Line::from(vec![
                Span::styled("digest ", t.dim()),
                Span::raw(clean(&d.digest).into_owned()),
            ]));
            lines.push(Line::from(vec![
                Span::styled("size   ", t.dim()),
                Span::raw(format!(
                    "{} ({} bytes)",
                    crate::fmt::human_size(d.size),
                    d.size
                )),
            ]));
            if d.platforms.len() > 1 {
                lines.push(Line::styled("platforms (Enter opens one)", t.accent()));
                for (i, p) in d.platforms.iter().enumerate() {
                    let style = if i == m.platforms.selected {
                        t.selected(focused)
                    } else {
                        Default::default()
                    };
                    lines.push(Line::styled(
                        format!(
                            "  {:<16} {}  {}",
                            clean(&p.platform),
                            crate::registry::digest::short(&p.digest),
                            crate::fmt::human_size(p.size)
                        ),
                        style,
                    ));
                }
            }
            lines.push(Line::raw(""));
            for l in m.lines.iter().skip(m.scroll) {
                if lines.len() >= inner.height as usize {
                    break;
                }
                lines.push(highlight(l, t));
            }
        }
        (LoadState::Loaded, None) => {}
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
