//! Dialogs: delete confirmation, copy menu, profile picker, login.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::overlay::{ConfirmDelete, CopyMenu, DeleteChoice, Login};
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
        .title(format!(" {title} "));
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
        + 2 * usize::from(c.index_warned);
    let r = centered(area, 78, 11 + extra as u16);
    let inner = frame(f, r, "Delete", t);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("tag    ", t.dim()),
            Span::raw(format!("{}:{}", clean(&c.repo), clean(&c.tag))),
        ]),
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
        let n = c.siblings.len() + 1;
        let mut spans = Vec::new();
        for ch in c.choices() {
            let label = match ch {
                DeleteChoice::Cancel => "Cancel".to_string(),
                DeleteChoice::ThisTag => "Remove this tag only".to_string(),
                DeleteChoice::All if n == 1 => "Delete manifest and its tag".to_string(),
                DeleteChoice::All => format!("Delete manifest and all {n} tags"),
            };
            spans.push(button(&label, c.choice == ch, t));
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
    let r = centered(area, 80, app.profiles.len() as u16 + 3);
    let inner = frame(f, r, "Profiles", t);
    let mut lines: Vec<Line> = app
        .profiles
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let auth = app.views[i]
                .info
                .as_ref()
                .map(|x| x.auth.clone())
                .unwrap_or_else(|| "not connected".into());
            let mark = if i == app.current { "●" } else { " " };
            let style = if i == selected {
                t.selected(true)
            } else {
                Default::default()
            };
            Line::styled(
                format!("{mark} {:<14} {:<40} {auth}", p.name, clean(&p.registry)),
                style,
            )
        })
        .collect();
    lines.push(Line::styled(
        "Enter switches (each profile keeps its state) · Esc closes",
        t.dim(),
    ));
    f.render_widget(Paragraph::new(lines), inner);
}

/// The login dialog; the password is masked.
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
            .title(title.to_string())
    };
    let mut user = l.username.clone();
    user.set_block(field("username", l.field == 0));
    user.set_cursor_line_style(Default::default());
    f.render_widget(&user, rows[1]);
    let mut pass = l.password.clone();
    pass.set_block(field("password", l.field == 1));
    pass.set_cursor_line_style(Default::default());
    f.render_widget(&pass, rows[2]);
    let check = if l.save { "[x]" } else { "[ ]" };
    let save_style = if l.field == 2 {
        t.selected(true)
    } else {
        Default::default()
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            format!("{check} save to docker's config.json (as docker login)"),
            save_style,
        )),
        rows[3],
    );
    f.render_widget(
        Paragraph::new(Line::from(vec![
            button("Log in", l.field == 3, t),
            Span::styled("  Tab moves · Esc cancels", t.dim()),
        ])),
        rows[4],
    );
}
