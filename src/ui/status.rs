//! The breadcrumb line on top and the status bar at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::{App, Input};
use crate::sanitize::clean;

/// `regtui  profile › repo › tag`.
pub fn header(app: &App, f: &mut Frame, area: Rect, t: Theme) {
    let v = app.view();
    let mut spans = vec![
        Span::styled(" regtui ", t.accent()),
        Span::raw(app.profile().to_string()),
    ];
    if let Some(r) = &v.tags.repo {
        spans.push(Span::styled(" › ", t.dim()));
        spans.push(Span::raw(clean(r).into_owned()));
    }
    if let Some((_, _, label)) = &v.manifest.target {
        spans.push(Span::styled(" › ", t.dim()));
        spans.push(Span::raw(clean(label).into_owned()));
    }
    spans.push(Span::styled("   ? help", t.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Profile, registry, auth, requests in flight, and the last error or a toast; or the input line.
pub fn status(app: &App, f: &mut Frame, area: Rect, t: Theme) {
    let line = match &app.input {
        Input::Filter(s) => Line::from(vec![
            Span::styled("/", t.accent()),
            Span::raw(clean(s).into_owned()),
            Span::raw("▏"),
        ]),
        Input::Command(s) => Line::from(vec![
            Span::styled(":", t.accent()),
            Span::raw(clean(s).into_owned()),
            Span::raw("▏"),
        ]),
        Input::None => {
            let p = &app.profiles[app.current];
            let auth = app
                .view()
                .info
                .as_ref()
                .map(|i| i.auth.clone())
                .unwrap_or_else(|| "connecting…".into());
            let mut spans = vec![
                Span::styled(format!(" {} ", p.name), t.accent()),
                Span::raw(format!(
                    "│ {} │ {} │ ⇅ {} ",
                    clean(&p.registry),
                    auth,
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
                        crate::fmt::human_size(app.view().tags.marked_size())
                    ),
                    t.warn(),
                ));
            }
            if let Some(toast) = &app.toast {
                spans.push(Span::styled(format!("│ {}", clean(toast)), t.ok()));
            } else if let Some(e) = &app.last_error {
                spans.push(Span::styled(format!("│ {}", clean(e)), t.error()));
            }
            Line::from(spans)
        }
    };
    f.render_widget(Paragraph::new(line), area);
}
