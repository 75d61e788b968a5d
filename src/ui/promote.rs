//! The copy / promote dialog and the add-tag dialog.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::dialogs::{centered, frame};
use super::files::bar;
use super::theme::Theme;
use crate::app::overlay::{AddTag, CopyDialog, CopyField, CopyState};
use crate::fmt::human_size;
use crate::sanitize::clean;

fn state_lines(s: &CopyState, t: Theme) -> Vec<Line<'static>> {
    match s {
        CopyState::Editing => vec![],
        CopyState::Running {
            blobs,
            total,
            bytes,
        } => vec![Line::from(vec![
            Span::styled(bar(*blobs as u64, *total as u64, 30), t.accent()),
            Span::raw(format!(
                " {blobs}/{total} blobs · {} copied",
                human_size(*bytes)
            )),
        ])],
        CopyState::Done(d) => vec![
            Line::styled(format!("done: {}", clean(d)), t.ok()),
            Line::styled("Enter closes", t.dim()),
        ],
        CopyState::Failed(e) => vec![
            Line::styled(clean(e).into_owned(), t.error()),
            Line::styled("Enter closes", t.dim()),
        ],
        CopyState::ConfirmMove(m) => vec![
            Line::styled(clean(m).into_owned(), t.error()),
            Line::styled("Enter moves it · Esc cancels", t.dim()),
        ],
    }
}

/// Draws the copy / promote dialog.
pub fn copy(c: &CopyDialog, f: &mut Frame, area: Rect, t: Theme) {
    let r = centered(area, 84, 14);
    let inner = frame(f, r, "Copy / promote", t);
    let field = |name: &str, value: String, which: CopyField| {
        let on = c.field == which && c.state == CopyState::Editing;
        Line::from(vec![
            Span::styled(format!("{name:<11}"), t.dim()),
            Span::styled(
                value,
                if on {
                    t.selected(true)
                } else {
                    Default::default()
                },
            ),
        ])
    };
    let target = c
        .profiles
        .get(c.target)
        .map(|(n, _)| clean(n).into_owned())
        .unwrap_or_default();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:<11}", "from"), t.dim()),
            Span::raw(format!("{}:{}", clean(&c.repo), clean(&c.label))),
        ]),
        field("profile", format!("‹ {target} ›"), CopyField::Profile),
        field(
            "repository",
            clean(&c.to_repo).into_owned(),
            CopyField::Repo,
        ),
        field("tag", clean(&c.to_tag).into_owned(), CopyField::Tag),
        field(
            "referrers",
            if c.referrers {
                "[x] signatures, SBOMs, attestations too".into()
            } else {
                "[ ] signatures, SBOMs, attestations too".into()
            },
            CopyField::Referrers,
        ),
        Line::raw(""),
        Line::from(vec![
            Span::styled(format!("{:<11}", "to"), t.dim()),
            Span::styled(clean(&c.preview()).into_owned(), t.accent()),
        ]),
    ];
    if c.state == CopyState::Editing {
        if let Some(p) = c.problem() {
            lines.push(Line::styled(p, t.warn()));
        }
        lines.push(Line::styled(
            "Tab/↑↓ field · ←→ profile · Space toggles · Enter copy · Esc cancel",
            t.dim(),
        ));
    }
    lines.extend(state_lines(&c.state, t));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Draws the add-tag dialog.
pub fn add_tag(a: &AddTag, f: &mut Frame, area: Rect, t: Theme) {
    let r = centered(area, 72, 9);
    let inner = frame(f, r, "Add a tag", t);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("to      ", t.dim()),
            Span::raw(format!("{}:{}", clean(&a.repo), clean(&a.label))),
        ]),
        Line::from(vec![
            Span::styled("new tag ", t.dim()),
            Span::styled(format!("{}▏", clean(&a.text)), t.selected(true)),
        ]),
    ];
    if a.state == CopyState::Editing {
        lines.push(Line::styled(
            "several separated by spaces · Enter add (pushes the manifest only) · Esc cancel",
            t.dim(),
        ));
    } else if matches!(a.state, CopyState::Running { .. }) {
        lines.push(Line::styled("tagging…", t.accent()));
    }
    lines.extend(state_lines(&a.state, t));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
