//! The breadcrumb line on top and the status bar at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::keymap::{Action, key_for};
use crate::app::messages::Level;
use crate::app::panes::LoadState;
use crate::app::{App, Input};
use crate::fmt::{ellipsize, human_size, width};
use crate::sanitize::clean;

/// `regtui  profile › repo › tag`.
pub fn header(app: &App, f: &mut Frame, area: Rect, t: Theme) {
    let v = app.view();
    let mut spans = vec![
        Span::styled(" regtui ", t.accent()),
        Span::raw(clean(app.profile()).into_owned()),
    ];
    if let Some(r) = &v.tags.repo {
        spans.push(Span::styled(" › ", t.dim()));
        spans.push(Span::raw(clean(r).into_owned()));
    }
    if let Some((_, _, label)) = &v.manifest.target {
        spans.push(Span::styled(" › ", t.dim()));
        spans.push(Span::raw(clean(label).into_owned()));
    }
    spans.push(Span::styled(
        format!("   {} help", key_for(Action::Help)),
        t.dim(),
    ));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// How the status bar shows who we are: the backend's auth, or where connecting stands.
fn auth(app: &App) -> String {
    let v = app.view();
    match &v.info {
        Some(i) => i.auth.clone(),
        None if v.unconnected => "not connected".into(),
        None if v.repos.state == LoadState::Loading => "connecting…".into(),
        None => "not connected".into(),
    }
}

/// Profile, registry, auth, requests in flight, marks, and the toast or the current error; or
/// the input line. A message too long for the line is cut, with the key of the history.
pub fn status(app: &App, f: &mut Frame, area: Rect, t: Theme) {
    let line = match &app.input {
        Input::Filter(s) => Line::from(vec![
            Span::styled("/", t.accent()),
            Span::raw(clean(s).into_owned()),
            Span::raw("▏"),
            Span::styled(
                if app.filter_searches_hub() {
                    "  Enter searches Docker Hub · Esc clears"
                } else {
                    "  Enter keeps · Esc clears"
                },
                t.dim(),
            ),
        ]),
        Input::Command(s) => Line::from(vec![
            Span::styled(":", t.accent()),
            Span::raw(clean(s).into_owned()),
            Span::raw("▏"),
            Span::styled("  Tab completes · Enter runs · Esc cancels", t.dim()),
        ]),
        Input::None => {
            let p = &app.profiles[app.current];
            let mut spans = vec![
                Span::styled(format!(" {} ", clean(&p.name)), t.accent()),
                Span::raw(format!(
                    "│ {} │ {} │ ⇅ {} ",
                    clean(&p.registry),
                    clean(&auth(app)),
                    app.in_flight
                )),
            ];
            if let Some(n) = &app.view().note {
                spans.push(Span::styled(format!("│ {} ", clean(n)), t.dim()));
            }
            let marked = &app.view().tags.marked;
            if !marked.is_empty() {
                spans.push(Span::styled(
                    format!(
                        "│ ● {} marked · {} ",
                        marked.len(),
                        human_size(app.view().tags.marked_size())
                    ),
                    t.warn(),
                ));
            }
            let message = match (&app.messages.toast, &app.view().error) {
                (Some(m), _) => Some((
                    m.text.clone(),
                    match m.level {
                        Level::Info => t.ok(),
                        Level::Warning => t.warn(),
                        Level::Error => t.error(),
                    },
                )),
                (None, Some((_, e))) => Some((e.clone(), t.error())),
                _ => None,
            };
            if let Some((text, style)) = message {
                push_message(&mut spans, &clean(&text), style, area.width as usize, t);
            }
            Line::from(spans)
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

/// Adds `│ message` to the line, cut to what is left of `total` cells, with a pointer to the
/// message history when it is cut.
fn push_message(spans: &mut Vec<Span<'static>>, text: &str, style: Style, total: usize, t: Theme) {
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    let room = total.saturating_sub(used + 2);
    if width(text) <= room {
        spans.push(Span::styled(format!("│ {text}"), style));
        return;
    }
    let more = format!(" [{}: all]", key_for(Action::Messages));
    let keep = room.saturating_sub(width(&more));
    if keep < 8 {
        // No room beside the rest: the message alone.
        spans.clear();
        spans.push(Span::styled(
            ellipsize(text, total.saturating_sub(width(&more))),
            style,
        ));
    } else {
        spans.push(Span::styled(format!("│ {}", ellipsize(text, keep)), style));
    }
    spans.push(Span::styled(more, t.dim()));
}
