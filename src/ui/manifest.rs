//! The manifest pane: media type, digest, platforms of an index, and the JSON, highlighted,
//! wrapped at token boundaries and scrollable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::panes::LoadState;
use crate::fmt::{ellipsize, human_size, wrap, wrap_widths};
use crate::sanitize::clean;

/// The style of a JSON value by its first character.
fn value_style(v: &str, t: Theme) -> Style {
    let v = v.trim_start();
    if v.starts_with('"') {
        t.string()
    } else if v.starts_with(['{', '[', '}', ']']) || v.is_empty() {
        Style::default()
    } else {
        t.number()
    }
}

/// Colours one line of pretty-printed JSON: keys, strings, numbers and literals.
pub fn highlight(line: &str, t: Theme) -> Line<'static> {
    highlight_wrapped(line, usize::MAX, t)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// One line of pretty-printed JSON in lines of at most `width` cells: broken after `": "`,
/// `,`, `/`, `:` and spaces rather than inside a word; continuations are indented by two more
/// cells and keep the value's colour.
pub fn highlight_wrapped(line: &str, width: usize, t: Theme) -> Vec<Line<'static>> {
    let line = clean(line).into_owned();
    let indent = line.len() - line.trim_start().len();
    let body = &line[indent..];
    let (key, value) = match body.find("\": ") {
        Some(pos) if body.starts_with('"') => (Some(&body[..pos + 1]), &body[pos + 3..]),
        _ => (None, body),
    };
    let pad = " ".repeat(indent);
    let head = indent + key.map(|k| crate::fmt::width(k) + 2).unwrap_or(0);
    let style = value_style(value, t);
    if head + crate::fmt::width(value) <= width {
        let mut spans = vec![Span::raw(pad)];
        if let Some(k) = key {
            spans.push(Span::styled(k.to_string(), t.key()));
            spans.push(Span::raw(": "));
        }
        spans.push(Span::styled(value.to_string(), style));
        return vec![Line::from(spans)];
    }
    let mut out = Vec::new();
    let cont = " ".repeat(indent + 2);
    let room = width.saturating_sub(indent + 2).max(8);
    let pieces: Vec<String> = match key {
        // The key on its own line when the value does not fit beside it.
        Some(k) if head + 8 > width || crate::fmt::width(value) > room => {
            out.push(Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(k.to_string(), t.key()),
                Span::raw(":"),
            ]));
            wrap(value, room)
        }
        Some(k) => {
            let mut all = wrap_widths(value, width.saturating_sub(head).max(8), room);
            let first = all.remove(0);
            out.push(Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(k.to_string(), t.key()),
                Span::raw(": "),
                Span::styled(first, style),
            ]));
            all
        }
        None => {
            let mut all = wrap_widths(value, width.saturating_sub(indent).max(8), room);
            let first = all.remove(0);
            out.push(Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(first, style),
            ]));
            all
        }
    };
    out.extend(
        pieces
            .into_iter()
            .map(|p| Line::from(vec![Span::raw(cont.clone()), Span::styled(p, style)])),
    );
    out
}

/// Draws the manifest of the selected tag (or platform).
pub fn render(app: &App, f: &mut Frame, area: Rect, focused: bool, t: Theme) {
    let m = &app.view().manifest;
    let label = m
        .target
        .as_ref()
        .map(|(_, _, l)| format!("· {} ", clean(l)))
        .unwrap_or_default();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(super::fit_title(&format!(" Manifest {label}"), area.width));
    if !m.lines.is_empty() {
        block = block.title_bottom(
            Line::from(format!(" line {}/{} ", m.scroll + 1, m.lines.len())).right_aligned(),
        );
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<7}"), t.dim()),
            Span::raw(ellipsize(&v, w.saturating_sub(7))),
        ])
    };
    match (&m.state, &m.data) {
        (LoadState::Idle, _) => lines.push(Line::styled("select a tag and press Enter", t.dim())),
        (LoadState::Loading, _) => lines.push(Line::styled("loading manifest…", t.dim())),
        (LoadState::Failed(e), _) => {
            let p = Paragraph::new(Line::styled(clean(e).into_owned(), t.error()))
                .wrap(Wrap { trim: false });
            f.render_widget(p, inner);
            return;
        }
        (LoadState::Loaded, Some(d)) => {
            lines.push(field("type", clean(&d.media_type).into_owned()));
            lines.push(field("digest", clean(&d.digest).into_owned()));
            lines.push(field(
                "size",
                format!("{} ({} bytes)", human_size(d.size), d.size),
            ));
            let plats = m.platform_choices();
            for (i, r) in d.referrers.iter().enumerate() {
                // Selectable like the platforms of an index (Enter opens the artifact).
                let style = if plats + i == m.platforms.selected {
                    t.selected(focused)
                } else {
                    t.ok()
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<7}", "refers"), t.dim()),
                    Span::styled(
                        ellipsize(
                            &format!(
                                "{} {} {}",
                                clean(&r.kind.label()),
                                crate::registry::digest::short(&r.digest),
                                human_size(r.size)
                            ),
                            w.saturating_sub(7),
                        ),
                        style,
                    ),
                ]));
            }
            if d.platforms.len() > 1 {
                lines.push(Line::styled("platforms (Enter opens one)", t.accent()));
                for (i, p) in d.platforms.iter().enumerate() {
                    let style = if i == m.platforms.selected {
                        t.selected(focused)
                    } else {
                        Default::default()
                    };
                    let text = format!(
                        "  {:<16} {}  {}",
                        clean(&p.platform),
                        crate::registry::digest::short(&p.digest),
                        human_size(p.size)
                    );
                    lines.push(Line::styled(ellipsize(&text, w), style));
                }
            }
            lines.push(Line::raw(""));
            for l in m.lines.iter().skip(m.scroll) {
                if lines.len() >= inner.height as usize {
                    break;
                }
                lines.extend(highlight_wrapped(l, w, t));
            }
        }
        (LoadState::Loaded, None) => {}
    }
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn json_wraps_at_token_boundaries() {
        let t = Theme { color: false };
        let line =
            r#"      "org.opencontainers.image.source": "https://github.com/acme/app/tree/main","#;
        let out = text(&highlight_wrapped(line, 40, t));
        assert!(out.iter().all(|l| crate::fmt::width(l) <= 40), "{out:?}");
        assert_eq!(out[0].trim(), r#""org.opencontainers.image.source":"#);
        assert!(out[1].trim_start().starts_with("\"https:"), "{out:?}");
        // No word is split: every piece ends at a break character or the end.
        for l in &out[1..out.len() - 1] {
            assert!(l.ends_with(['/', ':', ',', ' ']), "{out:?}");
        }
        let short = text(&highlight_wrapped(r#"  "size": 1234,"#, 40, t));
        assert_eq!(short, [r#"  "size": 1234,"#]);
    }
}
