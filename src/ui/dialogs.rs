//! Dialogs: delete confirmation, copy menu, profile picker, login, notices (message history,
//! first run).

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::messages::Level;
use crate::app::overlay::{ConfirmDelete, CopyMenu, Login, LoginField, Notice, SearchDialog};
use crate::fmt::{ellipsize, wrap};
use crate::sanitize::clean;

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Clears `r`, draws a titled border, returns the inside.
pub fn frame(f: &mut Frame, r: Rect, title: &str, t: Theme) -> Rect {
    f.render_widget(Clear, r);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(super::fit_title(&format!(" {title} "), r.width));
    let inner = b.inner(r);
    f.render_widget(b, r);
    inner
}

/// A button: bracketed and highlighted when focused.
pub fn button(label: &str, on: bool, t: Theme) -> Span<'static> {
    if on {
        Span::styled(format!("[ {label} ]"), t.selected(true))
    } else {
        Span::raw(format!("  {label}  "))
    }
}

/// The delete confirmation: tag, digest, size, every sibling tag, and the choices.
pub fn confirm_delete(c: &ConfirmDelete, f: &mut Frame, area: Rect, t: Theme) {
    let extra = 2 * c.limits.len()
        + 2 * usize::from(!c.indexes.is_empty())
        + 2 * usize::from(c.notice.is_some())
        + 2 * usize::from(c.index_warned)
        + c.referrers.len().min(6)
        + 2 * usize::from(!c.referrers.is_empty());
    // Wider than usual when the choices need it (and the terminal has the room): each on one line.
    let buttons_w: usize = c
        .choices()
        .iter()
        .map(|ch| crate::fmt::width(&c.label(*ch)) + 5)
        .sum();
    let w = (buttons_w + 1).max(78).min(area.width as usize);
    // The digest takes a second line unless the dialog is that wide.
    let digest_fits = w.saturating_sub(2) >= 7 + crate::fmt::width(&clean(&c.digest));
    let r = centered(
        area,
        w as u16,
        (11 + extra - usize::from(digest_fits)) as u16,
    );
    let inner = frame(f, r, "Delete", t);
    let mut lines = vec![
        if c.tag == c.digest {
            Line::from(vec![
                Span::styled("in     ", t.dim()),
                Span::raw(clean(&c.repo).into_owned()),
            ])
        } else {
            Line::from(vec![
                Span::styled("tag    ", t.dim()),
                Span::raw(format!("{}:{}", clean(&c.repo), clean(&c.tag))),
            ])
        },
        Line::from(vec![
            Span::styled("digest ", t.dim()),
            Span::raw(clean(&c.digest).into_owned()),
        ]),
        Line::from(vec![
            Span::styled("size   ", t.dim()),
            Span::raw(crate::fmt::human_size(c.size)),
        ]),
    ];
    let others = if c.siblings.is_empty() {
        "none".to_string()
    } else {
        c.siblings
            .iter()
            .map(|s| clean(s).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    lines.push(Line::from(vec![
        Span::styled("shares the digest with: ", t.dim()),
        Span::styled(others, t.warn()),
        Span::styled(if c.checked { "" } else { " (checking…)" }, t.dim()),
    ]));
    if !c.indexes.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("platform of the tagged index(es): ", t.dim()),
            Span::styled(clean(&c.index_names().join(", ")).into_owned(), t.warn()),
        ]));
    }
    if !c.referrers.is_empty() {
        // Listed so the separate choice "…and its referrers" says what goes with it.
        lines.push(Line::styled(
            format!(
                "referred to by {} (kept unless you choose \"…and its referrers\"):",
                crate::fmt::plural(c.referrers.len(), "artifact")
            ),
            t.dim(),
        ));
        for r in c.referrers.iter().take(5) {
            lines.push(Line::raw(format!(
                "  {} {} {}",
                clean(&r.kind.label()),
                crate::registry::digest::short(&r.digest),
                crate::fmt::human_size(r.size)
            )));
        }
        if c.referrers.len() > 5 {
            lines.push(Line::styled(
                format!("  and {} more", c.referrers.len() - 5),
                t.dim(),
            ));
        }
    }
    if let Some(n) = &c.notice {
        lines.push(Line::styled(clean(n).into_owned(), t.error()));
    }
    lines.push(Line::raw(""));
    if c.index_warned {
        lines.push(Line::styled(
            format!(
                "Deleting this manifest breaks {}: Enter again to delete it anyway",
                clean(&c.index_names().join(", "))
            ),
            t.error(),
        ));
    }
    if c.running.is_some() {
        lines.push(Line::styled("deleting…", t.accent()));
    } else {
        let mut spans = Vec::new();
        for ch in c.choices() {
            spans.push(button(&c.label(ch), c.choice == ch, t));
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
        lines.push(Line::styled(
            "←/→ choose · Enter confirm · Esc cancel",
            t.dim(),
        ));
        for l in &c.limits {
            lines.push(Line::styled(clean(l).into_owned(), t.dim()));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The copy menu.
pub fn copy_menu(m: &CopyMenu, f: &mut Frame, area: Rect, t: Theme) {
    let r = centered(area, 90, m.items.len() as u16 + 3);
    let inner = frame(f, r, "Copy", t);
    let mut lines: Vec<Line> = m
        .items
        .iter()
        .enumerate()
        .map(|(i, (label, text))| {
            let style = if i == m.selected {
                t.selected(true)
            } else {
                Default::default()
            };
            Line::styled(format!("{label:<15} {}", clean(text)), style)
        })
        .collect();
    lines.push(Line::styled(
        "Enter copies (OSC 52 + local clipboard) · Esc closes",
        t.dim(),
    ));
    f.render_widget(Paragraph::new(lines), inner);
}

/// The profile picker with registry and auth state.
pub fn profiles(app: &App, selected: usize, f: &mut Frame, area: Rect, t: Theme) {
    let r = centered(area, 90, app.profiles.len() as u16 + 4);
    let inner = frame(f, r, "Profiles", t);
    let w = inner.width as usize;
    let name_w = app
        .profiles
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .min(20);
    let mut lines: Vec<Line> = app
        .profiles
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let auth = match &app.views[i].info {
                Some(x) => match &x.credential_source {
                    Some(src) => format!("{} · {src}", x.auth),
                    None => x.auth.clone(),
                },
                None => "not connected".into(),
            };
            let mark = if i == app.current { "●" } else { " " };
            let style = if i == selected {
                t.selected(true)
            } else {
                Default::default()
            };
            let text = format!(
                "{mark} {:<name_w$} {:<32} {}",
                clean(&p.name),
                ellipsize(&clean(&p.registry), 32),
                clean(&auth)
            );
            Line::styled(ellipsize(&text, w), style)
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Enter switches (each profile keeps its state) · ↑↓ g G choose · Esc closes",
        t.dim(),
    ));
    f.render_widget(Paragraph::new(lines), inner);
}

/// The login dialog; the password is masked, and only the focused field shows a cursor.
pub fn login(l: &Login, f: &mut Frame, area: Rect, t: Theme) {
    let r = centered(area, 64, 13);
    let inner = frame(f, r, &format!("Log in to {}", clean(&l.registry)), t);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .split(inner);
    let msg = match (&l.error, l.running) {
        (_, Some(_)) => Line::styled("checking against /v2/…", t.accent()),
        (Some(e), _) => Line::styled(clean(e).into_owned(), t.error()),
        _ => Line::styled("credentials stay in memory unless saved", t.dim()),
    };
    f.render_widget(Paragraph::new(msg), rows[0]);
    let field = |title: &str, on: bool| {
        Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(on))
            .title(if on {
                format!("▸ {title}")
            } else {
                title.to_string()
            })
    };
    let cursor = |on: bool| {
        if on {
            ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            ratatui::style::Style::default()
        }
    };
    let on_user = l.field == LoginField::Username;
    let mut user = l.username.clone();
    user.set_block(field("username", on_user));
    user.set_cursor_line_style(Default::default());
    user.set_cursor_style(cursor(on_user));
    f.render_widget(&user, rows[1]);
    let on_pass = l.field == LoginField::Password;
    let mut pass = l.password.clone();
    pass.set_block(field("password", on_pass));
    pass.set_cursor_line_style(Default::default());
    pass.set_cursor_style(cursor(on_pass));
    f.render_widget(&pass, rows[2]);
    let check = if l.save { "[x]" } else { "[ ]" };
    let save_style = if l.field == LoginField::Save {
        t.selected(true)
    } else {
        Default::default()
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            format!("{check} save to docker's config.json (as docker login; Space ticks)"),
            save_style,
        )),
        rows[3],
    );
    f.render_widget(
        Paragraph::new(Line::from(vec![
            button("Log in", l.field == LoginField::Submit, t),
            Span::styled("  Enter logs in · Tab moves · Esc cancels", t.dim()),
        ])),
        rows[4],
    );
}

/// A notice: the first-run text, or the message history (newest first), wrapped and scrollable.
pub fn notice(app: &App, n: &Notice, f: &mut Frame, area: Rect, t: Theme) {
    let w = area.width.saturating_sub(4).min(96);
    let text_w = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    match &n.text {
        Some(text) => {
            for l in text.lines() {
                for piece in wrap(&clean(l), text_w) {
                    lines.push(Line::raw(piece));
                }
            }
        }
        None if app.messages.history.is_empty() => {
            lines.push(Line::styled("no messages yet", t.dim()));
        }
        None => {
            for m in app.messages.history.iter().rev() {
                let style = match m.level {
                    Level::Info => t.ok(),
                    Level::Warning => t.warn(),
                    Level::Error => t.error(),
                };
                let when = crate::fmt::utc_minute(m.at);
                let when = when.get(11..).unwrap_or(&when).to_string();
                for (i, piece) in wrap(&clean(&m.text), text_w.saturating_sub(6))
                    .into_iter()
                    .enumerate()
                {
                    let head = if i == 0 { when.clone() } else { String::new() };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{head:<6}"), t.dim()),
                        Span::styled(piece, style),
                    ]));
                }
            }
        }
    }
    let h = (lines.len() as u16 + 3)
        .min(area.height.saturating_sub(2))
        .max(5);
    let r = centered(area, w, h);
    let inner = frame(f, r, &n.title, t);
    let body = inner.height.saturating_sub(1) as usize;
    let scroll = n.scroll.min(lines.len().saturating_sub(body));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(body).collect();
    let mut all = shown;
    while all.len() < body {
        all.push(Line::raw(""));
    }
    all.push(Line::styled("Enter or Esc closes · ↑↓ scroll", t.dim()));
    f.render_widget(Paragraph::new(all), inner);
}

/// Docker Hub search results: official images marked, the selected one highlighted, scrolled
/// to keep it in view. Everything from the index passes through the sanitizer.
pub fn search(s: &SearchDialog, f: &mut Frame, area: Rect, t: Theme) {
    let hits: &[crate::registry::providers::dockerhub::SearchResult] = match &s.results {
        Some(Ok(r)) => r,
        _ => &[],
    };
    let h = (hits.len().max(1) as u16 + 4).min(area.height.saturating_sub(2).max(5));
    let r = centered(area, 100, h);
    let title = format!("Docker Hub: {}", clean(&s.term));
    let inner = frame(f, r, &ellipsize(&title, 60), t);
    let w = inner.width as usize;
    let rows = inner.height.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    match &s.results {
        None => lines.push(Line::styled("searching…", t.dim())),
        Some(Err(e)) => lines.push(Line::raw(ellipsize(&clean(e), w))),
        Some(Ok(r)) if r.is_empty() => lines.push(Line::styled("no results", t.dim())),
        Some(Ok(_)) => {
            let name_w = hits
                .iter()
                .map(|h| h.name.chars().count())
                .max()
                .unwrap_or(4)
                .min(36);
            let first = s.selected.saturating_sub(rows.saturating_sub(1));
            for (i, hit) in hits.iter().enumerate().skip(first).take(rows.max(1)) {
                let mark = if hit.official {
                    "✓ official"
                } else {
                    "          "
                };
                let text = format!(
                    "{:<name_w$} {mark} {:>7}★  {}",
                    ellipsize(&clean(&hit.name), name_w),
                    hit.stars,
                    clean(&hit.description)
                );
                let style = if i == s.selected {
                    t.selected(true)
                } else {
                    Default::default()
                };
                lines.push(Line::styled(ellipsize(&text, w), style));
            }
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Enter opens its tags (official images as library/NAME) · ↑↓ g G choose · Esc closes",
        t.dim(),
    ));
    f.render_widget(Paragraph::new(lines), inner);
}
